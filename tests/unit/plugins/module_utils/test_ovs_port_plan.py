# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Port planning: every ovs_port parameter, bonds, VLAN ownership, moves, no-op detection.

The current state comes from ``fixtures/ovs/state_lab.json`` (captured from
the test bed's real ovs-vsctl; see test_ovs_state.py for what it holds).
Every port of that capture, declared the way it was built, must plan no
command at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_port_plan import (
    normalise_port,
    parse_trunks,
    plan_port,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_state import parse_state

STATE = parse_state((Path(__file__).parent / "fixtures" / "ovs" / "state_lab.json").read_text())
UUID_M2 = STATE["interfaces"]["kvx-m2"]["uuid"]

BOND0 = {
    "bridge": "kvx-fx",
    "name": "kvx-bond0",
    "bond": {
        "interfaces": ["kvx-m1", "kvx-m2"],
        "mode": "balance-slb",
        "lacp": "active",
        "updelay": 100,
        "downdelay": 0,
        "other_config": {"lacp-time": "fast", "bond-detect-mode": "miimon"},
    },
    "trunks": [20, 30],
    "mtu": 1600,
}

# Each captured port as it was built.
CAPTURED = [
    {"bridge": "kvx-fx", "name": "kvx-mgmt", "type": "internal", "tag": 20, "mtu": 1600},
    {
        "bridge": "kvx-fx",
        "name": "kvx-trunk",
        "type": "internal",
        "tag": 10,
        "trunks": ["20", 30, "40-40"],
        "vlan_mode": "native-untagged",
    },
    {"bridge": "kvx-fx", "name": "kvx-t1", "type": "internal", "trunks": [100]},
    BOND0,
    {"bridge": "kvx-fx", "name": "kvx-px", "type": "patch", "peer": "kvx-py"},
    {"bridge": "kvx-fx2", "name": "kvx-py", "type": "patch", "peer": "kvx-px"},
    {"bridge": "kvx-fx", "name": "kvx-vx", "type": "vxlan", "remote_ip": "203.0.113.9", "tunnel_key": "5001"},
    {"bridge": "kvx-fx", "name": "kvx-nodev", "external_ids": {"role": "uplink"}},
]


def port(**params):
    return normalise_port({"state": "present", **params})


def plan(state=None, check_mode=False, **params):
    return plan_port(port(**params), STATE if state is None else state, assume_missing_bridge=check_mode)


def with_bond(**changes):
    return {**BOND0, "bond": {**BOND0["bond"], **changes}}


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"name": "p0"}, "bridge is required with state present"),
        ({"bridge": "br0", "name": "p 0"}, "not valid"),
        ({"bridge": "a-very-long-bridge", "name": "p0"}, "bridge 'a-very-long-bridge' is 18 characters"),
        ({"bridge": "br0", "name": "p0", "type": "patch"}, "a patch port needs peer"),
        ({"bridge": "br0", "name": "p0", "peer": "x"}, "peer is only for type patch"),
        ({"bridge": "br0", "name": "p0", "type": "vxlan"}, "a vxlan port needs remote_ip"),
        ({"bridge": "br0", "name": "p0", "type": "internal", "remote_ip": "203.0.113.1"}, "only for type vxlan"),
        ({"bridge": "br0", "name": "p0", "tunnel_key": "5"}, "only for type vxlan or geneve"),
        (
            {
                "bridge": "br0",
                "name": "p0",
                "type": "vxlan",
                "remote_ip": "203.0.113.1",
                "interface_options": {"remote_ip": "x"},
            },
            "contradicts the remote_ip option",
        ),
        ({"bridge": "br0", "name": "p0", "type": "bogus"}, "type must be one of"),
        ({"bridge": "br0", "name": "p0", "tag": 4096}, "tag 4096 is outside 0-4095"),
        ({"bridge": "br0", "name": "p0", "trunks": [5000]}, "trunks entry 5000 is outside"),
        ({"bridge": "br0", "name": "p0", "trunks": ["x"]}, "not a VLAN number"),
        ({"bridge": "br0", "name": "p0", "trunks": ["30-20"]}, "runs backwards"),
        ({"bridge": "br0", "name": "p0", "tag": 5, "vlan_mode": "access", "trunks": [6]}, "trunks is not allowed"),
        ({"bridge": "br0", "name": "p0", "vlan_mode": "native-untagged"}, "needs tag"),
        ({"bridge": "br0", "name": "p0", "vlan_mode": "trunk", "tag": 5}, "vlan_mode trunk ignores tag"),
        ({"bridge": "br0", "name": "p0", "tag": 5, "trunks": [6]}, "needs vlan_mode native-tagged or native-untagged"),
        ({"bridge": "br0", "name": "p0", "vlan_mode": "sideways"}, "vlan_mode must be one of"),
        ({"bridge": "br0", "name": "p0", "mtu": 10}, "mtu 10 is outside"),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1"]}}, "at least two distinct interfaces"),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1", "e1"]}}, "at least two distinct"),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1", "an-overlong-nic-name"]}}, "bond interface"),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["b0", "e1"]}}, "itself as a member"),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1", "e2"], "mode": "x"}}, "bond mode must be"),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1", "e2"], "lacp": "on"}}, "bond lacp must be"),
        (
            {"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1", "e2"], "mode": "balance-tcp", "lacp": "off"}},
            "balance-tcp needs LACP",
        ),
        ({"bridge": "br0", "name": "b0", "bond": {"interfaces": ["e1", "e2"], "updelay": -1}}, "updelay must be 0"),
        (
            {"bridge": "br0", "name": "b0", "type": "internal", "bond": {"interfaces": ["e1", "e2"]}},
            "type and interface",
        ),
        (
            {
                "bridge": "br0",
                "name": "b0",
                "other_config": {"lacp-time": "slow"},
                "bond": {"interfaces": ["e1", "e2"], "other_config": {"lacp-time": "fast"}},
            },
            "other_config.lacp-time and bond.other_config.lacp-time differ",
        ),
    ],
)
def test_invalid_port(params, message):
    with pytest.raises(KvmopsError, match=message) as info:
        port(**params)
    assert str(info.value).startswith("Open vSwitch port ")


def test_error_names_bridge_and_port():
    with pytest.raises(KvmopsError) as info:
        port(bridge="br-vm", name="p0", tag=9999)
    assert str(info.value) == "Open vSwitch port 'br-vm/p0': tag 9999 is outside 0-4095"


def test_trunk_ranges():
    assert parse_trunks([10, "20-22", "10", " 5 "], "x") == [5, 10, 20, 21, 22]
    assert parse_trunks(None, "x") == []


def test_long_name_refused_for_netdev_ports_only():
    with pytest.raises(KvmopsError, match="Linux interface names have at most 15"):
        plan(bridge="kvx-fx", name="a-port-name-too-long", type="internal")
    # Patch ports and bond ports are no Linux devices.
    assert plan(bridge="kvx-fx", name="patch-to-the-other-bridge", type="patch", peer="x")["changed"]
    assert plan(bridge="kvx-fx", name="uplink-bond-of-two", bond={"interfaces": ["kvx-n1", "kvx-n2"]})["changed"]


# --- no-op detection ---------------------------------------------------------------


@pytest.mark.parametrize("params", CAPTURED, ids=lambda p: p["name"])
def test_captured_port_declared_as_built_changes_nothing(params):
    result = plan(**params)
    assert result["commands"] == []
    assert not result["changed"]
    assert result["before"] == result["after"]


def test_bond_member_order_does_not_matter():
    assert not plan(**with_bond(interfaces=["kvx-m2", "kvx-m1"]))["changed"]


def test_lacp_off_equals_unset():
    state = parse_state((Path(__file__).parent / "fixtures" / "ovs" / "state_lab.json").read_text())
    state["ports"]["kvx-bond0"]["lacp"] = None
    assert not plan(state, **with_bond(lacp="off"))["changed"]


# --- creation -------------------------------------------------------------------


def test_new_system_port():
    result = plan(bridge="kvx-fx", name="kvit-a")
    assert result["commands"] == [["add-port", "kvx-fx", "kvit-a"]]
    assert result["after"]["interfaces"] == {"kvit-a": {"type": "system", "options": {}, "mtu": None}}
    assert result["before"] == {"name": "kvit-a", "state": "absent"}


def test_new_internal_access_port_with_everything():
    result = plan(
        bridge="kvx-fx",
        name="kvit-i",
        type="internal",
        tag=30,
        mtu=9000,
        other_config={"priority-tags": True},
        external_ids={"owner": "kvmops"},
    )
    assert result["commands"] == [
        ["add-port", "kvx-fx", "kvit-i"],
        ["set", "Interface", "kvit-i", "type=internal"],
        ["set", "Interface", "kvit-i", "mtu_request=9000"],
        ["set", "Port", "kvit-i", "tag=30"],
        ["set", "Port", "kvit-i", "other_config:priority-tags=true"],
        ["set", "Port", "kvit-i", "external_ids:owner=kvmops"],
    ]
    assert result["after"]["tag"] == 30


def test_new_trunk_port():
    result = plan(bridge="kvx-fx", name="kvit-t", tag=10, trunks=["20-21"], vlan_mode="native-tagged")
    assert result["commands"][1:] == [["set", "Port", "kvit-t", "tag=10", "trunks=[20,21]", "vlan_mode=native-tagged"]]


def test_new_patch_port():
    result = plan(bridge="kvx-fx2", name="kvit-p", type="patch", peer="kvit-q")
    assert result["commands"] == [
        ["add-port", "kvx-fx2", "kvit-p"],
        ["set", "Interface", "kvit-p", "type=patch"],
        ["set", "Interface", "kvit-p", "options:peer=kvit-q"],
    ]


@pytest.mark.parametrize("kind", ["vxlan", "geneve"])
def test_new_tunnel_port(kind):
    result = plan(
        bridge="kvx-fx",
        name="kvit-tun",
        type=kind,
        remote_ip="203.0.113.7",
        tunnel_key="42",
        interface_options={"dst_port": 4790, "csum": True},
    )
    assert result["commands"][1:] == [
        ["set", "Interface", "kvit-tun", f"type={kind}"],
        [
            "set",
            "Interface",
            "kvit-tun",
            "options:csum=true",
            "options:dst_port=4790",
            "options:key=42",
            "options:remote_ip=203.0.113.7",
        ],
    ]


def test_new_bond_with_every_bond_setting():
    result = plan(
        bridge="kvx-fx2",
        name="kvit-bond",
        bond={
            "interfaces": ["kvit-b", "kvit-a"],
            "mode": "balance-tcp",
            "lacp": "active",
            "updelay": 200,
            "downdelay": 100,
            "other_config": {"lacp-time": "fast", "bond-miimon-interval": 100},
        },
        trunks=[10, 20],
        mtu=9000,
    )
    assert result["commands"] == [
        ["add-bond", "kvx-fx2", "kvit-bond", "kvit-a", "kvit-b"],
        ["set", "Interface", "kvit-a", "mtu_request=9000"],
        ["set", "Interface", "kvit-b", "mtu_request=9000"],
        ["set", "Port", "kvit-bond", "trunks=[10,20]"],
        ["set", "Port", "kvit-bond", "bond_mode=balance-tcp", "lacp=active", "bond_updelay=200", "bond_downdelay=100"],
        ["set", "Port", "kvit-bond", "other_config:bond-miimon-interval=100", "other_config:lacp-time=fast"],
    ]
    after = result["after"]
    assert (after["bond_mode"], after["lacp"], after["bond_updelay"], after["bond_downdelay"]) == (
        "balance-tcp",
        "active",
        200,
        100,
    )
    assert sorted(after["interfaces"]) == ["kvit-a", "kvit-b"]


def test_missing_bridge_fails_a_real_run():
    with pytest.raises(KvmopsError, match=r"'br-new/p0': bridge 'br-new' does not exist"):
        plan(bridge="br-new", name="p0")


def test_missing_bridge_is_assumed_in_check_mode():
    result = plan(check_mode=True, bridge="br-new", name="p0", type="internal")
    assert result["changed"]
    assert result["commands"][0] == ["add-port", "br-new", "p0"]
    assert result["warnings"] == ["bridge 'br-new' does not exist yet; planned as if an earlier task created it"]


def test_interface_of_another_port_is_refused():
    with pytest.raises(KvmopsError, match="interface 'kvx-m1' already belongs to port 'kvx-bond0' on bridge 'kvx-fx'"):
        plan(bridge="kvx-fx2", name="kvit-b2", bond={"interfaces": ["kvx-m1", "kvit-x"]})
    with pytest.raises(KvmopsError, match="already belongs to port 'kvx-bond0'"):
        plan(bridge="kvx-fx", name="kvx-m1")


def test_bond_cannot_take_a_bridge_name():
    with pytest.raises(KvmopsError, match="a bond cannot take the name of a bridge"):
        plan(bridge="kvx-fx", name="kvx-fx2", bond={"interfaces": ["kvit-a", "kvit-b"]})


# --- changes to existing ports ------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "commands"),
    [
        # Access VLAN change.
        ({"type": "internal", "tag": 21, "mtu": 1600}, [["set", "Port", "kvx-mgmt", "tag=21"]]),
        # VLAN settings are owned: leaving tag out clears it.
        ({"type": "internal", "mtu": 1600}, [["clear", "Port", "kvx-mgmt", "tag"]]),
        # Access port becomes a trunk.
        (
            {"type": "internal", "mtu": 1600, "trunks": [20, 21]},
            [["set", "Port", "kvx-mgmt", "trunks=[20,21]"], ["clear", "Port", "kvx-mgmt", "tag"]],
        ),
        ({"type": "internal", "tag": 20, "mtu": 9000}, [["set", "Interface", "kvx-mgmt", "mtu_request=9000"]]),
        # MTU left out is kept.
        ({"type": "internal", "tag": 20}, []),
        # Type left out is kept; a different type is set.
        ({"tag": 20}, []),
        ({"type": "system", "tag": 20}, [["set", "Interface", "kvx-mgmt", "type=system"]]),
        ({"tag": 20, "vlan_mode": "access"}, [["set", "Port", "kvx-mgmt", "vlan_mode=access"]]),
        ({"tag": 20, "external_ids": {"a": "b"}}, [["set", "Port", "kvx-mgmt", "external_ids:a=b"]]),
        ({"tag": 20, "other_config": {"a": None}}, []),
    ],
)
def test_single_port_changes(params, commands):
    assert plan(bridge="kvx-fx", name="kvx-mgmt", **params)["commands"] == commands


def test_trunk_loses_native_vlan():
    result = plan(bridge="kvx-fx", name="kvx-trunk", trunks=[20, 30, 40])
    assert result["commands"] == [["clear", "Port", "kvx-trunk", "tag", "vlan_mode"]]
    assert (result["after"]["tag"], result["after"]["vlan_mode"]) == (None, None)


def test_patch_peer_change():
    result = plan(bridge="kvx-fx", name="kvx-px", type="patch", peer="elsewhere")
    assert result["commands"] == [["set", "Interface", "kvx-px", "options:peer=elsewhere"]]
    assert result["after"]["interfaces"]["kvx-px"]["options"] == {"peer": "elsewhere"}


def test_tunnel_option_removed():
    result = plan(
        bridge="kvx-fx", name="kvx-vx", type="vxlan", remote_ip="203.0.113.9", interface_options={"key": None}
    )
    assert result["commands"] == [["remove", "Interface", "kvx-vx", "options", "key"]]


@pytest.mark.parametrize(
    ("bond", "extra", "commands"),
    [
        ({"mode": "active-backup"}, {}, [["set", "Port", "kvx-bond0", "bond_mode=active-backup"]]),
        ({"lacp": "passive"}, {}, [["set", "Port", "kvx-bond0", "lacp=passive"]]),
        ({"updelay": 0, "downdelay": 50}, {}, [["set", "Port", "kvx-bond0", "bond_updelay=0", "bond_downdelay=50"]]),
        ({"other_config": {"lacp-time": "slow"}}, {}, [["set", "Port", "kvx-bond0", "other_config:lacp-time=slow"]]),
        (
            {"other_config": {"bond-detect-mode": None}},
            {},
            [["remove", "Port", "kvx-bond0", "other_config", "bond-detect-mode"]],
        ),
        # Bond settings left out are kept.
        ({"mode": None, "lacp": None, "updelay": None, "other_config": None}, {}, []),
        ({}, {"mtu": 9000}, [["set", "Interface", n, "mtu_request=9000"] for n in ("kvx-m1", "kvx-m2")]),
        ({}, {"trunks": [20]}, [["set", "Port", "kvx-bond0", "trunks=[20]"]]),
        ({}, {"trunks": None}, [["clear", "Port", "kvx-bond0", "trunks"]]),
    ],
)
def test_bond_changes(bond, extra, commands):
    params = {**with_bond(**bond), **extra}
    assert plan(**params)["commands"] == commands


def test_bond_member_swapped_in_place():
    result = plan(**with_bond(interfaces=["kvx-m1", "kvit-m3"]))
    assert result["commands"] == [
        ["--id=@kvx_bond0_if0", "create", "Interface", "name=kvit-m3"],
        ["add", "Port", "kvx-bond0", "interfaces", "@kvx_bond0_if0"],
        ["remove", "Port", "kvx-bond0", "interfaces", UUID_M2],
        ["set", "Interface", "kvit-m3", "mtu_request=1600"],
    ]
    assert sorted(result["after"]["interfaces"]) == ["kvit-m3", "kvx-m1"]
    assert result["after"]["interfaces"]["kvit-m3"] == {"type": "system", "options": {}, "mtu": 1600}


def test_bond_becomes_single_interface_port():
    result = plan(bridge="kvx-fx", name="kvx-bond0", trunks=[20, 30])
    ops = [command[:2] for command in result["commands"]]
    assert ops == [
        ["--id=@kvx_bond0_if0", "create"],
        ["add", "Port"],
        ["remove", "Port"],
        ["remove", "Port"],
        ["clear", "Port"],
    ]
    assert result["commands"][-1] == ["clear", "Port", "kvx-bond0", "bond_mode", "lacp"]
    assert list(result["after"]["interfaces"]) == ["kvx-bond0"]
    assert "bond_mode" not in result["after"]


def test_single_port_becomes_bond():
    result = plan(
        bridge="kvx-fx", name="kvx-t1", trunks=[100], bond={"interfaces": ["kvit-a", "kvit-b"], "lacp": "active"}
    )
    assert result["commands"][:5] == [
        ["--id=@kvx_t1_if0", "create", "Interface", "name=kvit-a"],
        ["add", "Port", "kvx-t1", "interfaces", "@kvx_t1_if0"],
        ["--id=@kvx_t1_if1", "create", "Interface", "name=kvit-b"],
        ["add", "Port", "kvx-t1", "interfaces", "@kvx_t1_if1"],
        ["remove", "Port", "kvx-t1", "interfaces", STATE["interfaces"]["kvx-t1"]["uuid"]],
    ]
    assert result["commands"][5:] == [["set", "Port", "kvx-t1", "lacp=active"]]
    assert result["after"]["lacp"] == "active"


def test_port_moves_to_another_bridge():
    result = plan(bridge="kvx-fx2", name="kvx-mgmt", type="internal", tag=20, mtu=1600)
    assert result["commands"] == [
        ["del-port", "kvx-fx", "kvx-mgmt"],
        ["add-port", "kvx-fx2", "kvx-mgmt"],
        ["set", "Interface", "kvx-mgmt", "type=internal"],
        ["set", "Interface", "kvx-mgmt", "mtu_request=1600"],
        ["set", "Port", "kvx-mgmt", "tag=20"],
    ]
    assert (result["before"]["bridge"], result["after"]["bridge"]) == ("kvx-fx", "kvx-fx2")


def test_bond_moves_to_another_bridge_with_its_members():
    result = plan(**{**BOND0, "bridge": "kvx-fx2"})
    assert result["commands"][:2] == [
        ["del-port", "kvx-fx", "kvx-bond0"],
        ["add-bond", "kvx-fx2", "kvx-bond0", "kvx-m1", "kvx-m2"],
    ]


# --- absent -------------------------------------------------------------------


def absent(**params):
    return plan_port(normalise_port({"state": "absent", **params}), STATE)


def test_absent_deletes_from_its_bridge():
    result = absent(name="kvx-bond0")
    assert result["commands"] == [["del-port", "kvx-fx", "kvx-bond0"]]
    assert result["after"] == {"name": "kvx-bond0", "state": "absent"}


def test_absent_on_the_named_bridge():
    assert absent(bridge="kvx-fx", name="kvx-mgmt")["commands"] == [["del-port", "kvx-fx", "kvx-mgmt"]]


def test_absent_on_another_bridge_is_a_noop():
    assert not absent(bridge="kvx-fx2", name="kvx-mgmt")["changed"]


def test_absent_missing_port_is_a_noop():
    result = absent(name="kvit-none")
    assert (result["changed"], result["commands"]) == (False, [])
