# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.ovs_port through Ansible against the test bed's real Open vSwitch.

Two userspace (netdev) bridges; bonds are built over veth pairs the fixture
creates (``kvit-*``, deleted afterwards). Results are checked with ovs-vsctl
and ovs-appctl, and VLAN access ports are checked with real traffic between
network namespaces (addresses from 203.0.113.0/24, nothing leaves the machine).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time

import pytest

MODULE = "kvmops.kvm.ovs_port"
BR_A, BR_B = "kvit-pa", "kvit-pb"
# veth pairs: the "a" end goes into OVS, the "b" end stays outside.
VETHS = ("kvit-v0", "kvit-v1", "kvit-v2")
# Namespaces for the traffic test: (namespace, OVS-side veth, address, VLAN).
HOSTS = (
    ("kvitns1", "kvit-n1", "203.0.113.31", 31),
    ("kvitns2", "kvit-n2", "203.0.113.32", 31),
    ("kvitns3", "kvit-n3", "203.0.113.33", 32),
)


def run(*args, check=True):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{shlex.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def _remove_links():
    for name in VETHS:
        run("ip", "link", "del", f"{name}a", check=False)
    for namespace, veth, _address, _vlan in HOSTS:
        run("ip", "link", "del", f"{veth}o", check=False)
        run("ip", "netns", "del", namespace, check=False)


@pytest.fixture(scope="module")
def bridges(ovs):
    ovs.del_br(BR_A, BR_B)
    _remove_links()
    for bridge in (BR_A, BR_B):
        ovs.vsctl("add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev")
    for name in VETHS:
        run("ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
        run("ip", "link", "set", f"{name}a", "up")
        run("ip", "link", "set", f"{name}b", "up")
    try:
        yield ovs
    finally:
        ovs.del_br(BR_A, BR_B)
        _remove_links()


def port_row(ovs, name):
    return ovs.rows("Port").get(name)


def test_access_port_then_trunk_then_untagged(run_module, bridges):
    ovs = bridges
    access = {"bridge": BR_A, "name": "kvit-ia", "type": "internal", "tag": 20, "mtu": 1600}
    first = run_module(MODULE, access)
    assert not first.failed, first.result
    assert first["changed"]
    assert ovs.get("Port", "kvit-ia", "tag") == "20"
    assert ovs.get("Interface", "kvit-ia", "type") == "internal"
    assert ovs.get("Interface", "kvit-ia", "mtu_request") == "1600"
    assert int(ovs.get("Interface", "kvit-ia", "ofport")) > 0
    assert ovs.vsctl("port-to-br", "kvit-ia").strip() == BR_A
    assert not run_module(MODULE, access)["changed"]

    trunk = {**access, "tag": 10, "trunks": [20, "30-32"], "vlan_mode": "native-untagged"}
    result = run_module(MODULE, trunk, diff=True)
    assert result["changed"]
    assert ovs.get("Port", "kvit-ia", "tag") == "10"
    assert ovs.get("Port", "kvit-ia", "trunks") == "[20, 30, 31, 32]"
    assert ovs.get("Port", "kvit-ia", "vlan_mode") == "native-untagged"
    assert result["diff"]["before"]["tag"] == 20
    assert result["diff"]["after"]["trunks"] == [20, 30, 31, 32]
    assert not run_module(MODULE, trunk)["changed"]

    # The VLAN settings are owned: declared without them, the port carries every VLAN.
    untagged = {"bridge": BR_A, "name": "kvit-ia"}
    assert run_module(MODULE, untagged)["changed"]
    assert ovs.get("Port", "kvit-ia", "tag") == "[]"
    assert ovs.get("Port", "kvit-ia", "trunks") == "[]"
    assert ovs.get("Port", "kvit-ia", "vlan_mode") == "[]"
    # Type and MTU left out are kept.
    assert ovs.get("Interface", "kvit-ia", "type") == "internal"
    assert ovs.get("Interface", "kvit-ia", "mtu_request") == "1600"

    assert run_module(MODULE, {"name": "kvit-ia", "state": "absent"})["changed"]
    assert port_row(ovs, "kvit-ia") is None


BOND = {
    "bridge": BR_A,
    "name": "kvit-bond",
    "bond": {
        "interfaces": ["kvit-v0a", "kvit-v1a"],
        "mode": "balance-tcp",
        "lacp": "active",
        "updelay": 200,
        "other_config": {"lacp-time": "fast", "bond-detect-mode": "miimon", "bond-miimon-interval": 100},
    },
    "trunks": [10, 20],
    "mtu": 1600,
}


def test_lacp_bond_over_veths(run_module, bridges):
    ovs = bridges
    first = run_module(MODULE, BOND)
    assert not first.failed, first.result
    assert first["changed"]
    assert first["commands"][0] == ["add-bond", BR_A, "kvit-bond", "kvit-v0a", "kvit-v1a"]
    assert ovs.get("Port", "kvit-bond", "bond_mode") == "balance-tcp"
    assert ovs.get("Port", "kvit-bond", "lacp") == "active"
    assert ovs.get("Port", "kvit-bond", "bond_updelay") == "200"
    assert ovs.get("Port", "kvit-bond", "trunks") == "[10, 20]"
    assert ovs.get("Port", "kvit-bond", "other_config") == (
        '{bond-detect-mode=miimon, bond-miimon-interval="100", lacp-time=fast}'
    )
    for member in ("kvit-v0a", "kvit-v1a"):
        assert ovs.get("Interface", member, "mtu_request") == "1600"
        assert ovs.get("Interface", member, "error") == "[]"
    # ovs-vswitchd runs the bond (not just the database rows).
    show = run("ovs-appctl", "bond/show", "kvit-bond").stdout
    assert "bond_mode: balance-tcp" in show
    assert "member kvit-v0a" in show and "member kvit-v1a" in show
    lacp = run("ovs-appctl", "lacp/show", "kvit-bond").stdout
    assert "active" in lacp and "fast" in lacp

    again = run_module(MODULE, BOND)
    assert not again["changed"], again["commands"]

    # Swap a member: changed in place, the port row (and its settings) stay.
    uuid = ovs.get("Port", "kvit-bond", "_uuid")
    swapped = {**BOND, "bond": {**BOND["bond"], "interfaces": ["kvit-v0a", "kvit-v2a"]}}
    result = run_module(MODULE, swapped)
    assert not result.failed, result.result
    assert result["changed"]
    assert ovs.get("Port", "kvit-bond", "_uuid") == uuid
    assert sorted(ovs.vsctl("list-ifaces", BR_A).split()) == ["kvit-v0a", "kvit-v2a"]
    assert ovs.get("Interface", "kvit-v2a", "mtu_request") == "1600"
    assert ovs.get("Port", "kvit-bond", "lacp") == "active"
    assert not run_module(MODULE, swapped)["changed"]

    assert run_module(MODULE, {"bridge": BR_A, "name": "kvit-bond", "state": "absent"})["changed"]
    assert port_row(ovs, "kvit-bond") is None


def _bridge_snapshot(ovs):
    return [ovs.vsctl("--format=json", "list", table) for table in ("Bridge", "Port", "Interface")]


def test_check_mode_makes_no_change(run_module, bridges):
    ovs = bridges
    ovs.vsctl("add-port", BR_A, "kvit-ck", "tag=5", "--", "set", "Interface", "kvit-ck", "type=internal")
    try:
        before = _bridge_snapshot(ovs)
        cases = [
            BOND,
            {"bridge": BR_A, "name": "kvit-ck2", "type": "internal", "tag": 7},
            {"bridge": BR_A, "name": "kvit-ck", "trunks": [1, 2], "mtu": 1400, "external_ids": {"a": "b"}},
            {"bridge": BR_B, "name": "kvit-ck", "type": "internal"},
            {"name": "kvit-ck", "state": "absent"},
        ]
        for params in cases:
            result = run_module(MODULE, params, check=True, diff=True)
            assert not result.failed, result.result
            assert result["changed"], params
            assert result["commands"], params
        # Independent of the module: the database is byte for byte what it was.
        assert _bridge_snapshot(ovs) == before
    finally:
        ovs.vsctl("--if-exists", "del-port", "kvit-ck")


def test_check_mode_predicts_the_real_run(run_module, bridges):
    params = {"bridge": BR_B, "name": "kvit-pr", "type": "internal", "tag": 9, "external_ids": {"k": "v"}}
    predicted = run_module(MODULE, params, check=True)
    real = run_module(MODULE, params)
    assert (predicted["changed"], predicted["commands"]) == (real["changed"], real["commands"])
    assert predicted["port"] == real["port"]
    assert run_module(MODULE, {"name": "kvit-pr", "state": "absent"})["changed"]


def test_patch_pair_and_vxlan(run_tasks, bridges):
    ovs = bridges
    tasks = [
        {MODULE: {"bridge": BR_A, "name": "kvit-pab", "type": "patch", "peer": "kvit-pba"}},
        {MODULE: {"bridge": BR_B, "name": "kvit-pba", "type": "patch", "peer": "kvit-pab"}},
        {
            MODULE: {
                "bridge": BR_A,
                "name": "kvit-vx",
                "type": "vxlan",
                "remote_ip": "203.0.113.250",
                "tunnel_key": "5001",
                "interface_options": {"dst_port": 4790},
            }
        },
    ]
    results = run_tasks(tasks)
    assert [r["changed"] for r in results] == [True, True, True], [r.result for r in results]
    assert ovs.get("Interface", "kvit-pab", "options") == "{peer=kvit-pba}"
    assert ovs.get("Interface", "kvit-pba", "type") == "patch"
    assert ovs.get("Interface", "kvit-vx", "options") == '{dst_port="4790", key="5001", remote_ip="203.0.113.250"}'
    for name in ("kvit-pab", "kvit-pba", "kvit-vx"):
        assert ovs.get("Interface", name, "error") == "[]", name
    assert [r["changed"] for r in run_tasks(tasks)] == [False, False, False]
    for name in ("kvit-pab", "kvit-pba", "kvit-vx"):
        ovs.vsctl("del-port", name)


def test_port_moves_between_bridges(run_module, bridges):
    ovs = bridges
    ovs.vsctl("add-port", BR_A, "kvit-mv", "tag=3", "--", "set", "Interface", "kvit-mv", "type=internal")
    result = run_module(MODULE, {"bridge": BR_B, "name": "kvit-mv", "tag": 3})
    assert not result.failed, result.result
    assert result["commands"][:2] == [["del-port", BR_A, "kvit-mv"], ["add-port", BR_B, "kvit-mv"]]
    assert ovs.vsctl("port-to-br", "kvit-mv").strip() == BR_B
    assert ovs.get("Port", "kvit-mv", "tag") == "3"
    ovs.vsctl("del-port", "kvit-mv")


def test_clear_errors_name_bridge_and_port(run_tasks, bridges):
    ovs = bridges
    ovs.vsctl("add-bond", BR_B, "kvit-ob", "kvit-v0a", "kvit-v1a")
    try:
        tasks = [
            {MODULE: {"bridge": "kvit-nobr", "name": "kvit-e1"}, "ignore_errors": True},
            {MODULE: {"bridge": BR_A, "name": "kvit-v1a"}, "ignore_errors": True},
            {
                MODULE: {"bridge": BR_A, "name": "kvit-e2", "tag": 5, "trunks": [6], "vlan_mode": "access"},
                "ignore_errors": True,
            },
            {MODULE: {"bridge": BR_A, "name": "kvit-e3", "type": "patch"}, "ignore_errors": True},
        ]
        messages = [r["msg"] for r in run_tasks(tasks)]
    finally:
        ovs.vsctl("del-port", "kvit-ob")
    assert messages[0] == "Open vSwitch port 'kvit-nobr/kvit-e1': bridge 'kvit-nobr' does not exist"
    assert messages[1] == (
        f"Open vSwitch port '{BR_A}/kvit-v1a': "
        f"interface 'kvit-v1a' already belongs to port 'kvit-ob' on bridge '{BR_B}'"
    )
    assert messages[2] == (
        f"Open vSwitch port '{BR_A}/kvit-e2': "
        "an access port carries one VLAN: trunks is not allowed with vlan_mode access"
    )
    # Caught by the argument spec before the module runs.
    assert messages[3] == "type is patch but all of the following are missing: peer"
    for name in ("kvit-e1", "kvit-e2", "kvit-e3"):
        assert port_row(ovs, name) is None


def _ns(namespace, *args, check=True):
    return run("ip", "netns", "exec", namespace, *args, check=check)


def _mac(namespace, dev):
    return json.loads(_ns(namespace, "ip", "-j", "link", "show", dev).stdout)[0]["address"]


def _resolves(namespace, dev, address):
    """The MAC ARP finds for ``address`` from ``namespace``, or None (no ping on these machines;
    ARP is plain layer 2, so it shows exactly what the switch lets through)."""
    _ns(namespace, "ip", "neigh", "flush", "dev", dev)
    send = f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ({address!r}, 9))"
    for _attempt in range(6):
        _ns(namespace, sys.executable, "-c", send, check=False)
        time.sleep(0.5)
        entries = json.loads(_ns(namespace, "ip", "-j", "neigh", "show", "to", address, "dev", dev).stdout or "[]")
        for entry in entries:
            if entry.get("lladdr") and "FAILED" not in entry.get("state", []):
                return entry["lladdr"]
    return None


@pytest.fixture
def hosts(bridges):
    """Three namespaces, each behind a veth whose other end the test makes an OVS port."""
    for namespace, veth, address, _vlan in HOSTS:
        run("ip", "netns", "add", namespace)
        run("ip", "link", "add", f"{veth}o", "type", "veth", "peer", "name", f"{veth}i")
        run("ip", "link", "set", f"{veth}i", "netns", namespace)
        _ns(namespace, "ip", "addr", "add", f"{address}/24", "dev", f"{veth}i")
        _ns(namespace, "ip", "link", "set", f"{veth}i", "up")
        run("ip", "link", "set", f"{veth}o", "up")
    yield HOSTS
    for _namespace, veth, _address, _vlan in HOSTS:
        bridges.vsctl("--if-exists", "del-port", f"{veth}o")
    _remove_links()


def test_access_vlans_switch_real_traffic(run_tasks, hosts):
    tasks = [{MODULE: {"bridge": BR_A, "name": f"{veth}o", "tag": vlan}} for _n, veth, _a, vlan in hosts]
    results = run_tasks(tasks)
    assert all(r["changed"] for r in results), [r.result for r in results]
    (ns1, _v1, _a1, _l1), (ns2, _v2, addr2, _l2), (ns3, _v3, addr3, _l3) = hosts
    # Same VLAN: reachable. Other VLAN, same subnet: the switch keeps them apart.
    assert _resolves(ns1, "kvit-n1i", addr2) == _mac(ns2, "kvit-n2i")
    assert _resolves(ns1, "kvit-n1i", addr3) is None
    # Moving the third host onto VLAN 31 connects it.
    moved = run_tasks([{MODULE: {"bridge": BR_A, "name": "kvit-n3o", "tag": 31}}])
    assert moved[0]["changed"]
    assert _resolves(ns1, "kvit-n1i", addr3) == _mac(ns3, "kvit-n3i")
