"""What kvmops.kvm.kvm_ovs leaves on a host, checked on the lab VM after a reboot and the guard tests.

The expected values are those of molecule/kvm_ovs/vars/scenario.yml and side_effect.yml.
Open vSwitch's own tools (ovs-vsctl, ovs-appctl) and the kernel (ip) are asked,
not the role's modules.
"""

import json
import os
import re
from xml.etree import ElementTree

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")


def vsctl(host, *args):
    return host.check_output("ovs-vsctl --timeout=10 " + " ".join(args)).strip()


@pytest.mark.parametrize("unit", ["openvswitch-switch", "systemd-networkd"])
def test_unit_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running, f"{unit} is not running"
    assert service.is_enabled, f"{unit} is not enabled"


def test_bridges_use_the_kernel_datapath(host):
    assert vsctl(host, "list-br").split() == ["br-peer", "br-vm"]
    for bridge in ("br-vm", "br-peer"):
        assert vsctl(host, "get", "Bridge", bridge, "datapath_type") in ('""', "system")
        assert vsctl(host, "get", "Interface", bridge, "mtu_request") == "1600"
    assert vsctl(host, "get", "Bridge", "br-vm", "fail_mode") == "standalone"
    assert vsctl(host, "get", "Bridge", "br-vm", "external_ids") == "{role=guests}"
    assert "openvswitch" in host.check_output("lsmod")


def test_lacp_bond_negotiated_over_the_veths(host):
    assert vsctl(host, "get", "Port", "bond0", "bond_mode") == "balance-tcp"
    assert vsctl(host, "get", "Port", "bond0", "lacp") == "active"
    assert vsctl(host, "get", "Port", "bond0", "trunks") == "[10, 20, 30]"
    assert vsctl(host, "get", "Port", "bond0", "other_config") == (
        '{bond-detect-mode=miimon, bond-miimon-interval="100", lacp-time=fast}'
    )
    # The two bonds really speak LACP to each other over the veth pairs.
    lacp = host.check_output("ovs-appctl lacp/show bond0")
    assert "status: active negotiated" in lacp
    bond = host.check_output("ovs-appctl bond/show bond0")
    assert "lacp_status: negotiated" in bond
    assert bond.count(": enabled") == 2, bond


@pytest.mark.parametrize("member", ["kvlacp-a", "kvlacp-b", "kvpeer-a", "kvpeer-b"])
def test_mtu_end_to_end_on_bond_members(host, member):
    link = json.loads(host.check_output(f"ip -j link show {member}"))[0]
    assert link["mtu"] == 1600
    assert link["master"] == "ovs-system"


def test_trunk_port_with_native_vlan(host):
    assert vsctl(host, "get", "Port", "kvtrunk0", "tag") == "10"
    assert vsctl(host, "get", "Port", "kvtrunk0", "trunks") == "[20, 30]"
    assert vsctl(host, "get", "Port", "kvtrunk0", "vlan_mode") == "native-untagged"


def test_internal_port_address_survived_the_reboot(host):
    assert vsctl(host, "get", "Port", "mgmt20", "tag") == "20"
    link = json.loads(host.check_output("ip -j addr show mgmt20"))[0]
    assert link["mtu"] == 1600
    addresses = [(a["local"], a["prefixlen"]) for a in link["addr_info"] if a["family"] == "inet"]
    assert addresses == [("203.0.113.23", 24)]
    # The VM booted since the converge: the address came back from the persisted configuration.
    assert float(host.file("/proc/uptime").content_string.split()[0]) < 1800
    network = host.file("/etc/systemd/network/50-kvm-ovs-mgmt20.network")
    assert network.mode == 0o644
    assert "Address=203.0.113.23/24" in network.content_string
    assert "MTUBytes=1600" in network.content_string
    dropin = host.file("/etc/systemd/networkd.conf.d/50-kvm-ovs.conf").content_string
    assert "ManageForeignRoutes=no" in dropin


def virsh(host, *args):
    return host.check_output("virsh -c qemu:///system " + " ".join(args))


def test_libvirt_network_on_ovs_with_a_portgroup_per_vlan(host):
    info = virsh(host, "net-info", "ovs-guests")
    assert re.search(r"^Active:\s+yes$", info, re.M), info
    assert re.search(r"^Autostart:\s+yes$", info, re.M), info
    network = ElementTree.fromstring(virsh(host, "net-dumpxml", "--inactive", "ovs-guests"))
    assert network.find("forward").get("mode") == "bridge"
    assert network.find("bridge").get("name") == "br-vm"
    assert network.find("virtualport").get("type") == "openvswitch"
    groups = {
        group.get("name"): ([tag.get("id") for tag in group.findall("vlan/tag")], group.get("default"))
        for group in network.findall("portgroup")
    }
    assert groups == {"vlan10": (["10"], "yes"), "vlan20": (["20"], None), "vlan30": (["30"], None)}


def test_guest_nic_on_vlan_20_after_reboot(host):
    assert "running" in virsh(host, "domstate", "kvovs-guest")
    # Defined with the network and portgroup name; the VLAN comes from the network.
    defined = ElementTree.fromstring(virsh(host, "dumpxml", "--inactive", "kvovs-guest"))
    (nic,) = defined.findall("devices/interface")
    assert nic.get("type") == "network"
    assert (nic.find("source").get("network"), nic.find("source").get("portgroup")) == ("ovs-guests", "vlan20")
    assert nic.find("vlan") is None
    # Running, libvirt shows the port it made: type bridge on br-vm, tag 20 from the portgroup.
    live = ElementTree.fromstring(virsh(host, "dumpxml", "kvovs-guest"))
    (nic,) = live.findall("devices/interface")
    assert nic.get("type") == "bridge"
    assert nic.find("source").get("network") == "ovs-guests"
    assert nic.find("source").get("portgroup") == "vlan20"
    assert nic.find("source").get("bridge") == "br-vm"
    assert [tag.get("id") for tag in nic.findall("vlan/tag")] == ["20"]
    vnet = nic.find("target").get("dev")
    assert vsctl(host, "port-to-br", vnet) == "br-vm"
    assert vsctl(host, "get", "Port", vnet, "tag") == "20"
    assert "52:54:00:c0:ff:20" in vsctl(host, "get", "Interface", vnet, "external_ids")
    # The tap device takes the bridge's MTU: jumbo frames reach the guest too.
    link = json.loads(host.check_output(f"ip -j link show {vnet}"))[0]
    assert link["mtu"] == 1600


def test_refused_and_rolled_back_changes_left_nothing(host):
    assert host.run("ovs-vsctl --timeout=10 port-to-br eth0").rc != 0
    assert "br-cut" not in vsctl(host, "list-br").split()


def test_confirmed_guarded_change_stayed(host):
    assert vsctl(host, "port-to-br", "kvguard0") == "br-vm"
    assert vsctl(host, "get", "Port", "kvguard0", "tag") == "40"
    assert host.file("/var/lib/kvm-ovs/guard/status").content_string.strip() == "confirmed"
    log = host.file("/var/lib/kvm-ovs/guard/guard.log").content_string
    assert "rolling back" in log  # the earlier, cut-off run
