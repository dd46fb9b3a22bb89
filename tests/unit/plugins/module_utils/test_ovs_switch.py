# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The batched switch plan: items planned in order against the state the earlier ones leave.

The captured switch (``fixtures/ovs/state_lab.json``) declared as it was built
must plan no command; a new bridge with its bond and ports must plan exactly the
commands the single-item planners give, with no assumption about missing bridges.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_plan import normalise_bridge, plan_bridge
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_port_plan import normalise_port, plan_port
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_state import parse_state
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_switch import (
    collect_switch,
    normalise_switch,
    plan_switch,
    switch_diff,
)

STATE = parse_state((Path(__file__).parent / "fixtures" / "ovs" / "state_lab.json").read_text())
EMPTY = {"system": {}, "bridges": {}, "ports": {}, "interfaces": {}}

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
BOND0 = {
    "bridge": "kvx-fx",
    "name": "kvx-bond0",
    "interfaces": ["kvx-m1", "kvx-m2"],
    "mode": "balance-slb",
    "lacp": "active",
    "updelay": 100,
    "downdelay": 0,
    "other_config": {"lacp-time": "fast", "bond-detect-mode": "miimon"},
    "trunks": [20, 30],
    "mtu": 1600,
}
PORTS = [
    {"bridge": "kvx-fx", "name": "kvx-mgmt", "type": "internal", "tag": 20, "mtu": 1600},
    {"bridge": "kvx-fx", "name": "kvx-t1", "type": "internal", "trunks": [100]},
    {"bridge": "kvx-fx", "name": "kvx-px", "type": "patch", "peer": "kvx-py"},
]


def plan(bridges=(), bonds=(), ports=(), state=None):
    return plan_switch(normalise_switch(list(bridges), list(bonds), list(ports)), STATE if state is None else state)


def test_captured_switch_plans_nothing():
    result = plan([FX], [BOND0], PORTS)
    assert result["changed"] is False
    assert result["commands"] == []
    assert [(item["kind"], item["name"], item["changed"]) for item in result["items"]] == [
        ("bridge", "kvx-fx", False),
        ("bond", "kvx-bond0", False),
        ("port", "kvx-mgmt", False),
        ("port", "kvx-t1", False),
        ("port", "kvx-px", False),
    ]
    assert switch_diff(result) == []


def test_new_bridge_with_bond_and_port_in_one_transaction():
    bridge = {"name": "br-vm", "datapath_type": "system", "mtu": 1600}
    bond = {**BOND0, "bridge": "br-vm", "name": "bond0", "interfaces": ["eno1", "eno2"]}
    port = {"bridge": "br-vm", "name": "mgmt20", "type": "internal", "tag": 20, "mtu": 1600}
    result = plan([bridge], [bond], [port], state=EMPTY)
    assert result["changed"] is True
    # Each item's commands are the single-item planner's for a bridge that exists by then.
    single_bridge = plan_bridge(normalise_bridge({**bridge, "state": "present"}), EMPTY)
    single_port = plan_port(normalise_port({**port, "state": "present"}), EMPTY, assume_missing_bridge=True)
    assert result["items"][0]["commands"] == single_bridge["commands"]
    assert result["items"][2]["commands"] == single_port["commands"]
    assert result["items"][1]["commands"][0] == ["add-bond", "br-vm", "bond0", "eno1", "eno2"]
    assert result["commands"] == [command for item in result["items"] for command in item["commands"]]
    assert result["commands"][0] == ["add-br", "br-vm"]
    assert [entry["before_header"] for entry in switch_diff(result)] == [
        "bridge br-vm",
        "bond br-vm/bond0",
        "port br-vm/mgmt20",
    ]


def test_state_is_not_modified():
    before = repr(STATE)
    plan([{"name": "br-new"}], [], [{"bridge": "br-new", "name": "p-new"}])
    assert repr(STATE) == before


def test_port_moved_between_bridges_declared_in_the_same_run():
    # kvx-mgmt leaves kvx-fx for a bridge the run creates: delete and add in one transaction.
    result = plan([{"name": "br-new"}], [], [{"bridge": "br-new", "name": "kvx-mgmt", "type": "internal", "tag": 20}])
    assert result["commands"][0] == ["add-br", "br-new"]
    assert ["del-port", "kvx-fx", "kvx-mgmt"] in result["commands"]
    assert ["add-port", "br-new", "kvx-mgmt"] in result["commands"]


def test_absent_bridge_takes_its_ports_so_later_absent_ports_plan_nothing():
    result = plan([{"name": "kvx-fx2", "state": "absent"}], [], [{"name": "kvx-py", "state": "absent"}])
    assert result["commands"] == [["del-br", "kvx-fx2"]]
    assert [item["changed"] for item in result["items"]] == [True, False]


def test_port_on_a_bridge_removed_earlier_fails():
    with pytest.raises(KvmopsError, match="bridge 'kvx-fx2' does not exist"):
        plan([{"name": "kvx-fx2", "state": "absent"}], [], [{"bridge": "kvx-fx2", "name": "p9"}])


def test_member_taken_by_an_earlier_item_is_refused():
    bond = {"bridge": "kvx-fx3", "name": "b9", "interfaces": ["kvz-a", "kvz-b"]}
    with pytest.raises(KvmopsError, match="already belongs to port 'b9'"):
        plan([], [bond], [{"bridge": "kvx-fx3", "name": "kvz-a"}])


def test_bond_members_changed_in_place_then_port_reuses_the_freed_one():
    bond = {**BOND0, "interfaces": ["kvx-m1", "kvx-m3"]}
    result = plan([], [bond], [{"bridge": "kvx-fx", "name": "kvx-m2"}])
    removed = STATE["interfaces"]["kvx-m2"]["uuid"]
    assert ["remove", "Port", "kvx-bond0", "interfaces", removed] in result["commands"]
    assert ["add-port", "kvx-fx", "kvx-m2"] in result["commands"]


def test_every_problem_in_one_message():
    items, problems = collect_switch(
        [{"name": "a-very-long-bridge-name"}, {"name": "br0"}],
        [{"bridge": "br0", "name": "bond0", "interfaces": ["eth0"]}],
        [
            {"bridge": "br0", "name": "p0", "tag": 4096},
            {"bridge": "br0", "name": "br0"},
            {"name": "p1"},
        ],
    )
    assert [kind for kind, _desired in items] == ["bridge"]
    assert len(problems) == 5, problems
    assert "is 23 characters long" in problems[0]
    assert "a bond needs at least two distinct interfaces" in problems[1]
    assert "tag 4096 is outside 0-4095" in problems[2]
    assert problems[3] == "br0 is declared more than once (bridge and port)"
    assert "bridge is required with state present" in problems[4]
    with pytest.raises(KvmopsError) as raised:
        normalise_switch([{"name": "a-very-long-bridge-name"}], [], [{"bridge": "br0", "name": "p0", "tag": -1}])
    assert "is 23 characters long" in str(raised.value)
    assert "tag -1 is outside 0-4095" in str(raised.value)


def test_absent_bond_needs_no_members():
    result = plan([], [{"bridge": "kvx-fx", "name": "kvx-bond0", "state": "absent"}], [])
    assert result["commands"] == [["del-port", "kvx-fx", "kvx-bond0"]]
