# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bridge planning (every ovs_bridge parameter, no-op detection) and the shared value helpers.

The current state comes from ``fixtures/ovs/state_lab.json`` (captured from
the test bed's real ovs-vsctl; see test_ovs_state.py for what it holds).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_plan import (
    build_diff,
    map_commands,
    map_value,
    merge_map,
    normalise_bridge,
    normalise_map,
    plan_bridge,
    quote,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_state import parse_state

STATE = parse_state((Path(__file__).parent / "fixtures" / "ovs" / "state_lab.json").read_text())
EMPTY = {"system": {}, "bridges": {}, "ports": {}, "interfaces": {}}

# kvx-fx exactly as captured: declaring it must change nothing.
FX = {
    "name": "kvx-fx",
    "datapath_type": "netdev",
    "fail_mode": "secure",
    "mtu": 1600,
    "stp": False,
    "rstp": True,
    "other_config": {"mac-aging-time": 600},
    "external_ids": {"owner": "kvmops"},
}


def bridge(**params):
    return normalise_bridge({"state": "present", **params})


def plan(state=None, **params):
    return plan_bridge(bridge(**params), STATE if state is None else state)


# --- helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("netdev", "netdev"),
        ("203.0.113.9", "203.0.113.9"),
        ("aa:bb:cc:dd:ee:ff", '"aa:bb:cc:dd:ee:ff"'),
        ("two words", '"two words"'),
        ("", '""'),
        ("-x", '"-x"'),
        ('say "hi"', '"say \\"hi\\""'),
        (600, "600"),
    ],
)
def test_quote(value, expected):
    assert quote(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(True, "true"), (False, "false"), (5, "5"), ("x", "x"), (None, None)])
def test_map_value(value, expected):
    assert map_value(value) == expected


def test_normalise_map_rejects_nested_values():
    with pytest.raises(KvmopsError, match=r"other_config.k must be a string"):
        normalise_map({"k": [1]}, "other_config", "Open vSwitch bridge", "br0")


def test_map_commands_sets_changed_removes_null_keeps_others():
    current = {"keep": "1", "same": "a", "old": "x", "gone": "y"}
    wanted = {"same": "a", "old": "z", "new": "n v", "gone": None, "absent": None}
    assert map_commands("Bridge", "br0", "other_config", current, wanted) == [
        ["set", "Bridge", "br0", 'other_config:new="n v"', "other_config:old=z"],
        ["remove", "Bridge", "br0", "other_config", "gone"],
    ]
    assert merge_map(current, wanted) == {"keep": "1", "same": "a", "old": "z", "new": "n v"}


def test_map_commands_quotes_keys_with_separators():
    assert map_commands("Port", "p", "external_ids", {}, {"a:b": "1"}) == [
        ["set", "Port", "p", 'external_ids:"a:b"=1'],
    ]


def test_map_commands_noop():
    assert map_commands("Bridge", "b", "external_ids", {"a": "1"}, {"a": "1", "b": None}) == []


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"name": "a-very-long-bridge"}, "is 18 characters long; Linux interface names have at most 15"),
        ({"name": "br 0"}, "not a valid interface name"),
        ({"name": "br/0"}, "not a valid interface name"),
        ({"name": "br0", "stp": True, "rstp": True}, "stp and rstp exclude each other"),
        ({"name": "br0", "mtu": 67}, "mtu 67 is outside 68-65535"),
        ({"name": "br0", "mtu": 70000}, "outside"),
        ({"name": "br0", "datapath_type": "dpdk"}, "datapath_type must be one of"),
        ({"name": "br0", "fail_mode": "open"}, "fail_mode must be one of"),
        ({"name": "br0", "external_ids": "x"}, "external_ids must be a dict"),
    ],
)
def test_invalid_bridge(params, message):
    with pytest.raises(KvmopsError, match=message) as info:
        bridge(**params)
    assert str(info.value).startswith(f"Open vSwitch bridge '{params['name']}'")


# --- creation -------------------------------------------------------------------


def test_create_with_name_only():
    result = plan(EMPTY, name="br0")
    assert result["changed"]
    assert result["commands"] == [["add-br", "br0"]]
    assert result["before"] == {"name": "br0", "state": "absent"}
    assert result["after"]["state"] == "present"
    assert result["after"]["datapath_type"] == "system"


def test_create_with_every_parameter():
    result = plan(
        EMPTY,
        name="br0",
        datapath_type="netdev",
        fail_mode="secure",
        mtu=9000,
        stp=True,
        other_config={"mac-aging-time": 300, "forward-bpdu": True},
        external_ids={"owner": "kvmops", "drop": None},
    )
    assert result["commands"] == [
        ["add-br", "br0"],
        ["set", "Bridge", "br0", "datapath_type=netdev", "fail_mode=secure", "stp_enable=true"],
        ["set", "Interface", "br0", "mtu_request=9000"],
        ["set", "Bridge", "br0", "other_config:forward-bpdu=true", "other_config:mac-aging-time=300"],
        ["set", "Bridge", "br0", "external_ids:owner=kvmops"],
    ]
    assert result["after"] == {
        "name": "br0",
        "state": "present",
        "datapath_type": "netdev",
        "fail_mode": "secure",
        "stp": True,
        "rstp": False,
        "mtu": 9000,
        "other_config": {"forward-bpdu": "true", "mac-aging-time": "300"},
        "external_ids": {"owner": "kvmops"},
        "ports": [],
    }


def test_create_writes_a_requested_standalone_fail_mode():
    # Unset means standalone to OVS, but a new bridge gets the mode asked for written out.
    result = plan(EMPTY, name="br0", fail_mode="standalone")
    assert result["commands"] == [["add-br", "br0"], ["set", "Bridge", "br0", "fail_mode=standalone"]]
    assert result["after"]["fail_mode"] == "standalone"


def test_create_refuses_a_name_a_port_has():
    with pytest.raises(KvmopsError, match="a port of that name already exists on bridge 'kvx-fx'"):
        plan(name="kvx-mgmt")


# --- no-op detection and single changes --------------------------------------------


def test_captured_bridge_declared_as_it_is_changes_nothing():
    result = plan(**FX)
    assert result == {
        "changed": False,
        "commands": [],
        "before": result["after"],
        "after": result["before"],
        "warnings": [],
    }


def test_settings_left_out_are_kept():
    assert not plan(name="kvx-fx")["changed"]


def test_before_view_of_the_captured_bridge():
    before = plan(name="kvx-fx")["before"]
    assert before == {
        "name": "kvx-fx",
        "state": "present",
        "datapath_type": "netdev",
        "fail_mode": "secure",
        "stp": False,
        "rstp": True,
        "mtu": 1600,
        "other_config": {"mac-aging-time": "600"},
        "external_ids": {"owner": "kvmops"},
        "ports": ["kvx-bond0", "kvx-mgmt", "kvx-nodev", "kvx-px", "kvx-t1", "kvx-trunk", "kvx-vx"],
    }


@pytest.mark.parametrize(
    ("change", "commands"),
    [
        ({"datapath_type": "system"}, [["set", "Bridge", "kvx-fx", "datapath_type=system"]]),
        ({"fail_mode": "standalone"}, [["set", "Bridge", "kvx-fx", "fail_mode=standalone"]]),
        ({"rstp": False}, [["set", "Bridge", "kvx-fx", "rstp_enable=false"]]),
        ({"rstp": False, "stp": True}, [["set", "Bridge", "kvx-fx", "stp_enable=true", "rstp_enable=false"]]),
        ({"mtu": 9000}, [["set", "Interface", "kvx-fx", "mtu_request=9000"]]),
        ({"other_config": {"mac-aging-time": 300}}, [["set", "Bridge", "kvx-fx", "other_config:mac-aging-time=300"]]),
        (
            {"other_config": {"mac-aging-time": None}},
            [["remove", "Bridge", "kvx-fx", "other_config", "mac-aging-time"]],
        ),
        ({"external_ids": {"site": "a"}}, [["set", "Bridge", "kvx-fx", "external_ids:site=a"]]),
        ({"external_ids": {"owner": None}}, [["remove", "Bridge", "kvx-fx", "external_ids", "owner"]]),
    ],
)
def test_each_setting_changes_alone(change, commands):
    result = plan(**{**FX, **change})
    assert result["commands"] == commands
    assert result["changed"]


def test_unset_fail_mode_counts_as_standalone():
    # kvx-fx2 has no fail_mode: standalone is OVS's default, so nothing to do.
    assert not plan(name="kvx-fx2", fail_mode="standalone")["changed"]
    assert plan(name="kvx-fx2", fail_mode="secure")["commands"] == [
        ["set", "Bridge", "kvx-fx2", "fail_mode=secure"],
    ]


def test_after_reflects_the_change():
    result = plan(**{**FX, "mtu": 9000, "external_ids": {"owner": None}})
    assert result["after"]["mtu"] == 9000
    assert result["after"]["external_ids"] == {}
    assert result["before"]["external_ids"] == {"owner": "kvmops"}


# --- absent -------------------------------------------------------------------


def test_absent_deletes_bridge_with_its_ports():
    result = plan_bridge(normalise_bridge({"name": "kvx-fx", "state": "absent"}), STATE)
    assert result["commands"] == [["del-br", "kvx-fx"]]
    assert result["after"] == {"name": "kvx-fx", "state": "absent"}
    assert "kvx-bond0" in result["before"]["ports"]


def test_absent_missing_bridge_is_a_noop():
    result = plan_bridge(normalise_bridge({"name": "nope", "state": "absent"}), STATE)
    assert not result["changed"]
    assert result["commands"] == []


def test_diff_has_headers():
    result = plan(EMPTY, name="br0")
    diff = build_diff(result, "bridge br0")
    assert diff["before_header"] == diff["after_header"] == "bridge br0"
    assert diff["before"] == {"name": "br0", "state": "absent"}
