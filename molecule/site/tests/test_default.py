"""The lab hypervisor after playbooks/site.yml with inventories/lab's group_vars.

Guests are checked in `virsh dumpxml` (pinning by the planner, hugepages, VLAN
ports, RBD disks with the cephx secret kvm_ceph made) and in the host's own
tools; a few checks per earlier role show the guests sit on what those roles
built (host CPU partitioning, OVS host port, Ceph secret, hardened qemu.conf).
"""

import os
import xml.etree.ElementTree as ET

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")

DB = "kvmlab-mol-site-db"
WEB = "kvmlab-mol-site-web"


def dumpxml(host, name):
    return ET.fromstring(host.check_output(f"virsh dumpxml {name}"))


def cpuset(text):
    cpus = set()
    for part in text.split(","):
        low, _sep, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


@pytest.mark.parametrize("name", [DB, WEB])
def test_guest_running(host, name):
    assert host.check_output(f"virsh domstate {name}") == "running"


def test_planner_pins_dedicated_guest_alone_and_off_host_cpu(host):
    db = dumpxml(host, DB)
    (pin,) = db.findall("cputune/vcpupin")
    db_cpus = cpuset(pin.get("cpuset"))
    assert len(db_cpus) == 1 and db_cpus <= {1, 2}
    # kvm_tuning keeps machine.slice off CPU 0: the emulator thread goes to
    # the shared guest CPU, where guest-web floats.
    assert cpuset(db.find("cputune/emulatorpin").get("cpuset")) == {1, 2} - db_cpus
    assert db.find("numatune/memory").get("nodeset") == "0"
    for web_pin in dumpxml(host, WEB).findall("cputune/vcpupin"):
        assert cpuset(web_pin.get("cpuset")) == {1, 2} - db_cpus


def test_dedicated_guest_on_2m_hugepages(host):
    page = dumpxml(host, DB).find("memoryBacking/hugepages/page")
    assert (page.get("size"), page.get("unit")) == ("2048", "KiB")
    base = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB"
    used = int(host.file(f"{base}/nr_hugepages").content_string) - int(
        host.file(f"{base}/free_hugepages").content_string
    )
    assert used >= 32


@pytest.mark.parametrize(("name", "vlan"), [(DB, 120), (WEB, 130)])
def test_guest_nic_on_ovs_vlan(host, name, vlan):
    iface = dumpxml(host, name).find("devices/interface")
    assert iface.find("source").get("bridge") == "br-guests"
    assert iface.find("virtualport").get("type") == "openvswitch"
    port = iface.find("target").get("dev")
    assert host.check_output(f"ovs-vsctl get port {port} tag") == str(vlan)


@pytest.mark.parametrize("name", [DB, WEB])
def test_guest_root_disk_is_rbd_with_a_watcher(host, name):
    disk = dumpxml(host, name).find("devices/disk[@type='network']")
    source = disk.find("source")
    assert (source.get("protocol"), source.get("name")) == ("rbd", f"vms/{name}-root")
    # libvirt shows <auth> inside <source> in the live XML.
    secret = source.find("auth/secret") if source.find("auth") is not None else disk.find("auth/secret")
    assert secret.get("usage") == "client.libvirt secret"
    assert "watcher=" in host.check_output(f"rbd --id libvirt status vms/{name}-root")


def test_host_port_on_vlan_120_has_its_address(host):
    assert host.check_output("ovs-vsctl get port vlan120 tag") == "120"
    assert "203.0.113.29/24" in host.check_output("ip -o -4 addr show dev vlan120")


def test_host_processes_on_host_cpu(host):
    assert "Cpus_allowed_list:\t0\n" in host.file("/proc/1/status").content_string


def test_qemu_not_root_and_confined(host):
    for pid in host.check_output("pgrep -f qemu-system-x86_64").split():
        assert host.check_output(f"ps -o user= -p {pid}") == "libvirt-qemu"
        label = host.file(f"/proc/{pid}/attr/current").content_string.strip()
        assert label.startswith("libvirt-"), label


def test_cloud_init_seed_only_for_db(host):
    assert host.file(f"/var/lib/libvirt/images/cloud-init/{DB}-seed.iso").mode == 0o600
    assert not host.file(f"/var/lib/libvirt/images/cloud-init/{WEB}-seed.iso").exists
