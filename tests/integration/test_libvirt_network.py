# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_network through Ansible against the test bed's real libvirtd and Open vSwitch.

Subnets are small slices of 203.0.113.0/24 (documentation addresses, nothing
routed anywhere); bridges are made by the fixtures and removed after. Live
updates are told apart from restarts by dnsmasq's PID and the bridge's
interface index.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

MODULE = "kvmops.kvm.libvirt_network"
NET = "kvmops-it-net"
OTHER = "kvmops-it-net-other"
LINUX_BRIDGE = "kvmops-it-lbr"
OVS_BRIDGE = "kvmops-it-ovs"
DOMAIN = "kvmops-it-net-dom"
NAMES = [NET, OTHER, f"{NET}-nat", f"{NET}-route", f"{NET}-open", f"{NET}-lbr", f"{NET}-ovs"]


def run(*args, check=True):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def virsh(uri, *args, check=True):
    return run("virsh", "--connect", uri, *args, check=check)


def defined(uri, name):
    return virsh(uri, "net-info", name, check=False).returncode == 0


def ifindex(bridge):
    return int(Path(f"/sys/class/net/{bridge}/ifindex").read_text())


def dnsmasq_pid(name):
    path = Path(f"/run/libvirt/network/{name}.pid")
    return int(path.read_text()) if path.exists() else None


def drop(uri, name):
    if defined(uri, name):
        virsh(uri, "net-destroy", name, check=False)
        virsh(uri, "net-undefine", name, check=False)


@pytest.fixture
def nets(libvirtd):
    for name in NAMES:
        drop(libvirtd, name)
    yield libvirtd
    virsh(libvirtd, "destroy", DOMAIN, check=False)
    virsh(libvirtd, "undefine", DOMAIN, check=False)
    for name in NAMES:
        drop(libvirtd, name)


@pytest.fixture
def linux_bridge():
    run("ip", "link", "del", LINUX_BRIDGE, check=False)
    run("ip", "link", "add", LINUX_BRIDGE, "type", "bridge")
    run("ip", "link", "set", LINUX_BRIDGE, "up")
    yield LINUX_BRIDGE
    run("ip", "link", "del", LINUX_BRIDGE, check=False)


@pytest.fixture
def ovs_bridge():
    if shutil.which("ovs-vsctl") is None:
        pytest.fail("ovs-vsctl missing: the test bed needs openvswitch-switch", pytrace=False)
    made = run(
        "ovs-vsctl", "--timeout=10", "--may-exist", "add-br", OVS_BRIDGE,
        "--", "set", "bridge", OVS_BRIDGE, "datapath_type=netdev",
        check=False,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.fail(f"Open vSwitch not usable ({made.stderr.strip()}): run tests/testbed/ovs.sh start", pytrace=False)
    yield OVS_BRIDGE
    run("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", OVS_BRIDGE, check=False)


def isolated(uri, **extra):
    args = {
        "uri": uri,
        "name": NET,
        "mode": "isolated",
        "bridge": "kvmops-it-iso0",
        "domain": "it.test",
        "mtu": 1500,
        "ips": [
            {
                "address": "203.0.113.193/28",
                "dhcp_ranges": [{"start": "203.0.113.200", "end": "203.0.113.206"}],
                "dhcp_hosts": [{"mac": "52:54:00:69:74:01", "name": "guest1", "ip": "203.0.113.194"}],
            }
        ],
        "state": "active",
        "autostart": True,
    }
    args.update(extra)
    return args


def test_isolated_network_with_dhcp_predicted_then_idempotent(nets, run_module):
    predicted = run_module(MODULE, isolated(nets), check=True, diff=True)
    assert predicted["actions"] == ["define", "start", "autostart on"]
    assert not defined(nets, NET)
    made = run_module(MODULE, isolated(nets), diff=True)
    assert made["actions"] == predicted["actions"]
    assert made["diff"]["after"] == predicted["diff"]["after"]
    live = virsh(nets, "net-dumpxml", NET).stdout
    assert "<range start='203.0.113.200' end='203.0.113.206'/>" in live
    assert "<host mac='52:54:00:69:74:01' name='guest1' ip='203.0.113.194'/>" in live
    assert "<forward" not in live
    assert made["network"]["state"] == "active" and made["network"]["autostart"] is True
    assert dnsmasq_pid(NET), "libvirt's dnsmasq serves the network"
    again = run_module(MODULE, isolated(nets))
    assert (again["changed"], again["restart_required"]) == (False, False)


def test_dhcp_hosts_and_ranges_change_live_without_restart(nets, run_module):
    run_module(MODULE, isolated(nets))
    index = ifindex("kvmops-it-iso0")
    ips = [
        {
            "address": "203.0.113.193/28",
            "dhcp_ranges": [{"start": "203.0.113.201", "end": "203.0.113.206"}],
            "dhcp_hosts": [
                {"mac": "52:54:00:69:74:01", "name": "guest1", "ip": "203.0.113.195"},
                {"mac": "52:54:00:69:74:02", "name": "guest2", "ip": "203.0.113.196"},
            ],
        }
    ]
    predicted = run_module(MODULE, isolated(nets, ips=ips), check=True)
    changed = run_module(MODULE, isolated(nets, ips=ips))
    assert changed["actions"] == predicted["actions"]
    assert changed["actions"] == [
        "update definition",
        "live: remove dhcp range start=203.0.113.200 end=203.0.113.206",
        "live: change dhcp host name=guest1 mac=52:54:00:69:74:01 ip=203.0.113.195",
        "live: add dhcp host name=guest2 mac=52:54:00:69:74:02 ip=203.0.113.196",
        "live: add dhcp range start=203.0.113.201 end=203.0.113.206",
    ]
    assert changed["restart_required"] is False
    for flags in ((), ("--inactive",)):
        xml = virsh(nets, "net-dumpxml", *flags, NET).stdout
        assert "<host mac='52:54:00:69:74:02' name='guest2' ip='203.0.113.196'/>" in xml
        assert "<range start='203.0.113.201' end='203.0.113.206'/>" in xml
    # Same bridge: the network was not restarted (libvirt restarts only dnsmasq for a new range).
    assert ifindex("kvmops-it-iso0") == index
    assert not run_module(MODULE, isolated(nets, ips=ips))["changed"]


def test_mtu_change_is_reported_then_applied_only_when_restart_is_allowed(nets, run_module):
    run_module(MODULE, isolated(nets))
    index = ifindex("kvmops-it-iso0")
    pending = run_module(MODULE, isolated(nets, mtu=1400))
    assert pending["actions"] == ["update definition"]
    assert (pending["restart_required"], pending["pending_changes"]) == (True, ["network/mtu@size: '1500' -> '1400'"])
    assert "<mtu size='1400'/>" in virsh(nets, "net-dumpxml", "--inactive", NET).stdout
    assert "<mtu size='1500'/>" in virsh(nets, "net-dumpxml", NET).stdout
    assert ifindex("kvmops-it-iso0") == index
    # Still pending on the next run: the running network has not changed.
    assert run_module(MODULE, isolated(nets, mtu=1400))["restart_required"] is True
    restarted = run_module(MODULE, isolated(nets, mtu=1400, restart_on_change=True))
    assert restarted["actions"] == ["stop (restart to apply changes)", "start"]
    assert restarted["restart_required"] is False
    assert "<mtu size='1400'/>" in virsh(nets, "net-dumpxml", NET).stdout
    assert Path("/sys/class/net/kvmops-it-iso0/mtu").read_text().strip() == "1400"


@pytest.mark.parametrize(
    ("mode", "subnet"), [("nat", "203.0.113.209/29"), ("route", "203.0.113.217/29"), ("open", "203.0.113.225/29")]
)
def test_forwarding_modes_start(nets, run_module, mode, subnet):
    name = f"{NET}-{mode}"
    args = {"uri": nets, "name": name, "mode": mode, "bridge": f"kvmops-it-{mode}", "ips": [{"address": subnet}]}
    made = run_module(MODULE, {**args, "state": "active"})
    assert not made.failed, made.result
    assert f"<forward mode='{mode}'" in virsh(nets, "net-dumpxml", name).stdout
    assert not run_module(MODULE, {**args, "state": "active"})["changed"]
    assert run_module(MODULE, {"uri": nets, "name": name, "state": "absent"})["actions"] == ["destroy", "undefine"]
    assert not defined(nets, name)


def test_linux_bridge_mode(nets, linux_bridge, run_module):
    args = {"uri": nets, "name": f"{NET}-lbr", "mode": "bridge", "bridge": linux_bridge, "state": "active"}
    made = run_module(MODULE, args)
    assert not made.failed, made.result
    xml = virsh(nets, "net-dumpxml", f"{NET}-lbr").stdout
    assert "<forward mode='bridge'/>" in xml and f"<bridge name='{linux_bridge}'/>" in xml
    assert "<virtualport" not in xml
    assert not run_module(MODULE, args)["changed"]
    refused = run_module(MODULE, {**args, "portgroups": [{"name": "v42", "vlan": 42}]})
    assert refused.failed
    assert refused["msg"] == (
        f"libvirt network '{NET}-lbr': portgroups[0] (v42): VLAN tags need an Open vSwitch bridge (openvswitch: true)"
    )


def test_ovs_portgroups_tag_the_guest_port(nets, ovs_bridge, run_module):
    groups = [
        {"name": "v42", "vlan": 42, "default": True},
        {"name": "trunk", "trunk": [10, 20], "native_vlan": 10},
    ]
    args = {
        "uri": nets,
        "name": f"{NET}-ovs",
        "mode": "bridge",
        "bridge": ovs_bridge,
        "openvswitch": True,
        "portgroups": groups,
        "state": "active",
    }
    made = run_module(MODULE, args)
    assert not made.failed, made.result
    xml = virsh(nets, "net-dumpxml", f"{NET}-ovs").stdout
    assert "<virtualport type='openvswitch'/>" in xml
    assert "<tag id='10' nativeMode='untagged'/>" in xml
    assert not run_module(MODULE, args)["changed"]

    # A portgroup added to the running network is there at once.
    more = run_module(MODULE, {**args, "portgroups": [*groups, {"name": "v43", "vlan": 43}]})
    assert more["actions"] == ["update definition", "live: add portgroup name=v43"]
    assert "<portgroup name='v43'>" in virsh(nets, "net-dumpxml", f"{NET}-ovs").stdout

    # A TCG guest on portgroup v43: its OVS port carries tag 43.
    domain = run_module(
        "kvmops.kvm.libvirt_domain",
        {
            "uri": nets,
            "name": DOMAIN,
            "type": "qemu",
            "memory": "64MiB",
            "vcpus": 1,
            "interfaces": [{"network": f"{NET}-ovs", "portgroup": "v43"}],
            "state": "running",
        },
    )
    assert not domain.failed, domain.result
    iface = next(line.split()[0] for line in virsh(nets, "domiflist", DOMAIN).stdout.splitlines()[2:] if line.strip())
    deadline = time.monotonic() + 20
    tag = ""
    while time.monotonic() < deadline and tag != "43":
        tag = run("ovs-vsctl", "--timeout=10", "get", "port", iface, "tag", check=False).stdout.strip()
        time.sleep(0.5)
    assert tag == "43"


def test_invalid_addresses_fail_before_anything_is_defined(nets, run_module):
    outside = isolated(
        nets, ips=[{"address": "203.0.113.193/28", "dhcp_ranges": [{"start": "203.0.113.200", "end": "203.0.113.220"}]}]
    )
    result = run_module(MODULE, outside)
    assert result.failed
    assert result["msg"] == (
        f"libvirt network '{NET}': ips[0].dhcp_ranges[0].end: 203.0.113.220 is outside the subnet 203.0.113.192/28"
    )
    host_outside = isolated(
        nets, ips=[{"address": "203.0.113.193/28", "dhcp_hosts": [{"mac": "52:54:00:69:74:09", "ip": "203.0.113.1"}]}]
    )
    assert "is outside the subnet" in run_module(MODULE, host_outside)["msg"]
    assert not defined(nets, NET)


def test_overlap_with_another_defined_network_is_refused(nets, run_module):
    other = {"uri": nets, "name": OTHER, "mode": "isolated", "ips": [{"address": "203.0.113.161/27"}]}
    assert not run_module(MODULE, other).failed
    clash = isolated(nets, ips=[{"address": "203.0.113.177/28"}])
    result = run_module(MODULE, clash)
    assert result.failed
    assert result["msg"] == (
        f"libvirt network '{NET}': 203.0.113.176/28 overlaps 203.0.113.160/27 of network '{OTHER}'"
    )
    assert not defined(nets, NET)


def test_absent_predicted_then_done(nets, run_module):
    run_module(MODULE, isolated(nets))
    predicted = run_module(MODULE, {"uri": nets, "name": NET, "state": "absent"}, check=True)
    assert predicted["actions"] == ["destroy", "undefine"] and defined(nets, NET)
    assert run_module(MODULE, {"uri": nets, "name": NET, "state": "absent"})["changed"]
    assert not defined(nets, NET)
    assert not run_module(MODULE, {"uri": nets, "name": NET, "state": "absent"})["changed"]
