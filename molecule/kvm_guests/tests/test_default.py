"""What kvmops.kvm.kvm_guests leaves on a hypervisor, read back with virsh, ovs-vsctl and rbd.

The lab VM has two NUMA nodes of two CPUs (node 0: 0,2; node 1: 1,3); CPUs 0
and 1 are reserved for the host. guest-db is dedicated (one whole CPU, memory
bound to that CPU's node on 2 MiB pages, its emulator thread on the reserved
CPU of the same node), guest-web shares whatever neither the host nor
guest-db holds.
"""

import os
import xml.etree.ElementTree as ET

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")


def dumpxml(host, name, inactive=False):
    flag = " --inactive" if inactive else ""
    return ET.fromstring(host.check_output(f"virsh dumpxml{flag} {name}"))


def cpuset(text):
    """'1-3,5' -> {1, 2, 3, 5}."""
    cpus = set()
    for part in text.split(","):
        low, _sep, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def node_of(host, cpu):
    for entry in host.file(f"/sys/devices/system/cpu/cpu{cpu}").listdir():
        if entry.startswith("node"):
            return int(entry[4:])
    raise AssertionError(f"CPU {cpu} has no NUMA node in sysfs")


@pytest.mark.parametrize("name", ["guest-db", "guest-web"])
def test_guest_running(host, name):
    assert host.check_output(f"virsh domstate {name}") == "running"


def test_guest_db_autostarts(host):
    assert "Autostart:      enable" in host.check_output("virsh dominfo guest-db")


def test_dedicated_pinning_and_memory_binding(host):
    db = dumpxml(host, "guest-db")
    pins = db.findall("cputune/vcpupin")
    assert len(pins) == 1
    (cpu,) = cpuset(pins[0].get("cpuset"))
    assert cpu in {2, 3}, "CPUs 0 and 1 are reserved for the host"
    node = node_of(host, cpu)
    emulator = cpuset(db.find("cputune/emulatorpin").get("cpuset"))
    assert {node_of(host, c) for c in emulator} == {node} and emulator <= {0, 1}, emulator
    memory = db.find("numatune/memory")
    assert memory.get("mode") == "strict"
    assert cpuset(memory.get("nodeset")) == {node}


def test_shared_guest_avoids_dedicated_and_reserved_cpus(host):
    db_cpu = cpuset(dumpxml(host, "guest-db").find("cputune/vcpupin").get("cpuset"))
    web_pins = dumpxml(host, "guest-web").findall("cputune/vcpupin")
    assert web_pins
    for pin in web_pins:
        cpus = cpuset(pin.get("cpuset"))
        assert cpus and not cpus & db_cpu and not cpus & {0, 1}


def test_guest_db_on_hugepages_of_its_node(host):
    db = dumpxml(host, "guest-db")
    page = db.find("memoryBacking/hugepages/page")
    assert (page.get("size"), page.get("unit")) == ("2048", "KiB")
    node = int(db.find("numatune/memory").get("nodeset"))
    base = f"/sys/devices/system/node/node{node}/hugepages/hugepages-2048kB"
    total = int(host.file(f"{base}/nr_hugepages").content_string)
    free = int(host.file(f"{base}/free_hugepages").content_string)
    assert total - free >= 32, "64 MiB of guest memory is 32 pages of 2 MiB"


def test_rbd_disk_with_cephx_secret_has_a_watcher(host):
    disk = next(d for d in dumpxml(host, "guest-db").findall("devices/disk") if d.get("type") == "network")
    source = disk.find("source")
    assert (source.get("protocol"), source.get("name")) == ("rbd", "vms/guest-db-data")
    assert source.find("host").get("name") == "198.51.100.1"
    # libvirt shows <auth> inside <source> in the live XML.
    auth = source.find("auth") if source.find("auth") is not None else disk.find("auth")
    assert auth.get("username") == "libvirt"
    assert auth.find("secret").get("usage") == "client.libvirt secret"
    status = host.check_output("rbd --id libvirt status vms/guest-db-data")
    assert "watcher=" in status


def test_root_disk_is_an_overlay_of_the_base_image(host):
    info = host.check_output("qemu-img info -U /var/lib/libvirt/images/guest-db-root.qcow2")
    assert "backing file: /var/lib/libvirt/images/tiny-base.qcow2" in info


@pytest.mark.parametrize(("name", "vlan"), [("guest-db", 120), ("guest-web", 130)])
def test_nic_is_an_ovs_access_port(host, name, vlan):
    iface = dumpxml(host, name).find("devices/interface")
    assert iface.find("virtualport").get("type") == "openvswitch"
    assert iface.find("vlan/tag").get("id") == str(vlan)
    port = iface.find("target").get("dev")
    assert host.check_output(f"ovs-vsctl port-to-br {port}") == "br-guests"
    assert host.check_output(f"ovs-vsctl get port {port} tag") == str(vlan)


def test_mac_from_inventory_kept(host):
    iface = dumpxml(host, "guest-db", inactive=True).find("devices/interface")
    assert iface.find("mac").get("address") == "52:54:00:00:71:20"


def test_cloud_init_seed(host):
    seed = host.file("/var/lib/libvirt/images/cloud-init/guest-db-seed.iso")
    assert seed.exists and seed.mode == 0o600
    # ISO 9660 primary volume descriptor: the volume id NoCloud looks for.
    label = host.check_output("dd if=%s bs=1 skip=32808 count=6 status=none", seed.path)
    assert label == "cidata"
    cdrom = next(d for d in dumpxml(host, "guest-db").findall("devices/disk") if d.get("device") == "cdrom")
    assert cdrom.find("source").get("file") == seed.path
    assert cdrom.find("readonly") is not None


def test_guest_web_has_no_seed(host):
    assert not host.file("/var/lib/libvirt/images/cloud-init/guest-web-seed.iso").exists
