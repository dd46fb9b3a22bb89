# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing ``ovs-vsctl --format=json list`` output, and the ovs_info summary built from it.

``fixtures/ovs/state_lab.json`` was captured from the test bed's Open vSwitch
3.1.0 (userspace datapath) with
``ovs-vsctl --format=json -- list Open_vSwitch -- list Bridge -- list Port -- list Interface``
after building: bridge kvx-fx (netdev, fail_mode secure, RSTP, other_config
mac-aging-time=600, external_ids owner=kvmops, local MTU 1600) with an internal
access port kvx-mgmt (tag 20, MTU 1600), an internal native-untagged trunk
kvx-trunk (tag 10, trunks 20,30,40), an internal trunk kvx-t1 (trunks 100, a
one-element set), a balance-slb LACP bond kvx-bond0 over veths kvx-m1/kvx-m2
(lacp-time fast, miimon, updelay 100, trunks 20,30, MTU 1600), a patch port
kvx-px to kvx-py on bridge kvx-fx2, a VXLAN port kvx-vx (remote 203.0.113.9,
key 5001) and a port kvx-nodev for a device that does not exist; bridge kvx-fx3
has only its local port. kvmops-exp-br belonged to another experiment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_info import summarise
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_state import (
    OvsStateError,
    build_state,
    decode_value,
    parse_state,
    parse_tables,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ovs"
LAB_JSON = (FIXTURES / "state_lab.json").read_text()


@pytest.fixture(scope="module")
def state():
    return parse_state(LAB_JSON)


@pytest.mark.parametrize(
    ("value", "is_list", "expected"),
    [
        (["set", []], False, None),
        (["set", []], True, []),
        (["set", [1, 2]], True, [1, 2]),
        (5, True, [5]),
        (5, False, 5),
        (["uuid", "u-1"], False, "u-1"),
        (["uuid", "u-1"], True, ["u-1"]),
        (["set", [["uuid", "a"], ["uuid", "b"]]], True, ["a", "b"]),
        (["map", [["k", "v"], ["n", 1]]], False, {"k": "v", "n": 1}),
        (["map", []], False, {}),
        ("secure", False, "secure"),
        (False, False, False),
    ],
)
def test_decode_value(value, is_list, expected):
    assert decode_value(value, is_list) == expected


def test_parse_tables_wants_one_document_per_table():
    with pytest.raises(OvsStateError, match="expected 4 JSON tables"):
        parse_tables('{"data": [], "headings": []}\n')


def test_parse_tables_rejects_non_json():
    with pytest.raises(OvsStateError, match="table Open_vSwitch"):
        parse_tables("x\ny\nz\nw\n")


def test_parse_state_names_the_database_on_garbage():
    with pytest.raises(KvmopsError) as info:
        parse_state("", "unix:/run/x.sock")
    assert str(info.value).startswith("Open vSwitch database 'unix:/run/x.sock': unexpected answer")


def test_empty_switch():
    empty = {"data": [], "headings": ["_uuid", "name"]}
    stdout = "\n".join([json.dumps(empty)] * 4)
    parsed = parse_state(stdout)
    assert parsed["bridges"] == parsed["ports"] == parsed["interfaces"] == {}
    assert parsed["system"]["datapath_types"] == []


def test_system_row(state):
    assert state["system"]["ovs_version"] == "3.1.0"
    assert state["system"]["db_version"] == "8.3.1"
    assert state["system"]["datapath_types"] == ["netdev", "system"]
    assert "vxlan" in state["system"]["iface_types"]


def test_bridge_columns(state):
    bridge = state["bridges"]["kvx-fx"]
    assert bridge["datapath_type"] == "netdev"
    assert bridge["fail_mode"] == "secure"
    assert (bridge["stp"], bridge["rstp"]) == (False, True)
    assert bridge["other_config"] == {"mac-aging-time": "600"}
    assert bridge["external_ids"] == {"owner": "kvmops"}
    assert bridge["ports"] == sorted(
        ["kvx-bond0", "kvx-fx", "kvx-mgmt", "kvx-nodev", "kvx-px", "kvx-t1", "kvx-trunk", "kvx-vx"]
    )


def test_bridge_with_only_its_local_port(state):
    # One port is printed as a bare ["uuid", ...], not a set.
    assert state["bridges"]["kvx-fx3"]["ports"] == ["kvx-fx3"]


def test_default_types_read_as_system(state):
    assert state["bridges"]["kvx-fx2"]["datapath_type"] == "netdev"
    assert state["interfaces"]["kvx-m1"]["type"] == "system"
    assert state["interfaces"]["kvx-nodev"]["type"] == "system"


def test_ports_resolved_to_bridges_and_interfaces(state):
    assert state["ports"]["kvx-bond0"]["interfaces"] == ["kvx-m1", "kvx-m2"]
    assert state["ports"]["kvx-py"]["bridge"] == "kvx-fx2"
    assert state["interfaces"]["kvx-m2"]["port"] == "kvx-bond0"
    assert state["interfaces"]["kvx-m2"]["bridge"] == "kvx-fx"
    assert state["interfaces"]["kvx-vx"]["port"] == "kvx-vx"


def test_vlan_columns(state):
    ports = state["ports"]
    assert (ports["kvx-mgmt"]["tag"], ports["kvx-mgmt"]["trunks"], ports["kvx-mgmt"]["vlan_mode"]) == (20, [], None)
    assert (ports["kvx-trunk"]["tag"], ports["kvx-trunk"]["trunks"]) == (10, [20, 30, 40])
    assert ports["kvx-trunk"]["vlan_mode"] == "native-untagged"
    # A one-element set is printed bare: still a list.
    assert ports["kvx-t1"]["trunks"] == [100]


def test_bond_columns(state):
    bond = state["ports"]["kvx-bond0"]
    assert (bond["bond_mode"], bond["lacp"], bond["bond_updelay"], bond["bond_downdelay"]) == (
        "balance-slb",
        "active",
        100,
        0,
    )
    assert bond["other_config"] == {"lacp-time": "fast", "bond-detect-mode": "miimon"}


def test_interface_columns(state):
    ifaces = state["interfaces"]
    assert ifaces["kvx-px"]["options"] == {"peer": "kvx-py"}
    assert ifaces["kvx-vx"]["options"] == {"remote_ip": "203.0.113.9", "key": "5001"}
    assert ifaces["kvx-mgmt"]["mtu_request"] == 1600
    assert ifaces["kvx-fx"]["mtu_request"] == 1600
    assert ifaces["kvx-trunk"]["mtu_request"] is None
    assert ifaces["kvx-nodev"]["error"] == "could not open network device kvx-nodev (No such device)"
    assert ifaces["kvx-nodev"]["ofport"] == -1
    assert ifaces["kvx-mgmt"]["error"] is None


def test_info_limited_to_a_bridge(state):
    info = summarise(state, "kvx-fx2")
    assert [b["name"] for b in info["bridges"]] == ["kvx-fx2"]
    assert [p["name"] for p in info["ports"]] == ["kvx-fx2", "kvx-py"]
    assert [i["name"] for i in info["interfaces"]] == ["kvx-fx2", "kvx-py"]
    assert info["bonds"] == info["vlans"] == []
    assert info["ovs_version"] == "3.1.0"


def test_info_missing_bridge_gives_empty_lists(state):
    info = summarise(state, "nope")
    assert info["bridges"] == info["ports"] == info["interfaces"] == info["vlans"] == info["bonds"] == []


def test_info_port_types(state):
    ports = {p["name"]: p for p in summarise(state)["ports"]}
    assert ports["kvx-bond0"]["type"] == "bond"
    assert ports["kvx-px"]["type"] == "patch"
    assert ports["kvx-mgmt"]["type"] == "internal"
    assert ports["kvx-mgmt"]["bond"] is None


def test_info_bridge_mtu(state):
    bridges = {b["name"]: b for b in summarise(state)["bridges"]}
    assert bridges["kvx-fx"]["mtu_request"] == 1600
    assert bridges["kvx-fx3"]["mtu_request"] is None


def test_info_vlans(state):
    vlans = {(v["bridge"], v["id"]): v for v in summarise(state, "kvx-fx")["vlans"]}
    assert sorted(vlans) == [("kvx-fx", 10), ("kvx-fx", 20), ("kvx-fx", 30), ("kvx-fx", 40), ("kvx-fx", 100)]
    assert vlans[("kvx-fx", 20)] == {
        "bridge": "kvx-fx",
        "id": 20,
        "access_ports": ["kvx-mgmt"],
        "trunk_ports": ["kvx-bond0", "kvx-trunk"],
    }
    # The native VLAN of a native-untagged trunk counts as carried on that trunk.
    assert vlans[("kvx-fx", 10)]["trunk_ports"] == ["kvx-trunk"]
    assert vlans[("kvx-fx", 100)]["trunk_ports"] == ["kvx-t1"]


def test_info_bonds(state):
    (bond,) = summarise(state)["bonds"]
    assert bond["name"] == "kvx-bond0"
    assert (bond["mode"], bond["lacp"], bond["lacp_time"], bond["detect_mode"]) == (
        "balance-slb",
        "active",
        "fast",
        "miimon",
    )
    assert bond["updelay"] == 100
    assert [m["name"] for m in bond["members"]] == ["kvx-m1", "kvx-m2"]
    assert {m["link_state"] for m in bond["members"]} == {"up"}
    assert {m["mtu"] for m in bond["members"]} == {1600}


def test_info_active_member_from_mac():
    tables = {
        "Bridge": [{"_uuid": "b", "name": "br", "ports": ["p"]}],
        "Port": [
            {"_uuid": "p", "name": "bond", "interfaces": ["i1", "i2"], "bond_active_slave": "aa:bb:cc:dd:ee:02"},
        ],
        "Interface": [
            {"_uuid": "i1", "name": "e1", "mac_in_use": "aa:bb:cc:dd:ee:01"},
            {"_uuid": "i2", "name": "e2", "mac_in_use": "aa:bb:cc:dd:ee:02"},
        ],
    }
    (bond,) = summarise(build_state(tables))["bonds"]
    assert bond["active_member"] == "e2"
    assert bond["lacp"] == "off"
    assert bond["detect_mode"] == "carrier"
