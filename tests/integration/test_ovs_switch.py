# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.ovs_switch through Ansible against the test bed's real Open vSwitch.

A whole switch (two userspace bridges, an LACP bond over veth pairs the fixture
creates, an internal access port, a trunk port, a patch pair) converged in one
run; check mode must predict exactly the commands and diff of the real run,
and the rerun must run no command. Checked with ovs-vsctl, not with the
module's own reading code.
"""

from __future__ import annotations

import subprocess

import pytest

MODULE = "kvmops.kvm.ovs_switch"
BR_A, BR_B = "kvsw-a", "kvsw-b"
VETHS = ("kvsw-v0", "kvsw-v1", "kvsw-v2")


def run(*args, check=True):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
    return proc


def _remove_links():
    for name in VETHS:
        run("ip", "link", "del", f"{name}a", check=False)


@pytest.fixture
def clean(ovs):
    ovs.del_br(BR_A, BR_B)
    _remove_links()
    for name in VETHS:
        run("ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
        run("ip", "link", "set", f"{name}a", "up")
        run("ip", "link", "set", f"{name}b", "up")
    try:
        yield ovs
    finally:
        ovs.del_br(BR_A, BR_B)
        _remove_links()


SWITCH = {
    "bridges": [
        {"name": BR_A, "datapath_type": "netdev", "fail_mode": "standalone", "mtu": 1600, "external_ids": {"r": "1"}},
        {"name": BR_B, "datapath_type": "netdev"},
    ],
    "bonds": [
        {
            "name": "kvsw-bond0",
            "bridge": BR_A,
            "interfaces": ["kvsw-v0a", "kvsw-v1a"],
            "mode": "balance-tcp",
            "lacp": "active",
            "other_config": {"lacp-time": "fast"},
            "trunks": [10, 20, 30],
            "mtu": 1600,
        }
    ],
    "ports": [
        {"name": "kvsw-mgmt", "bridge": BR_A, "type": "internal", "tag": 20, "mtu": 1600},
        {"name": "kvsw-v2a", "bridge": BR_A, "tag": 10, "trunks": [20], "vlan_mode": "native-untagged"},
        {"name": "kvsw-pa", "bridge": BR_A, "type": "patch", "peer": "kvsw-pb"},
        {"name": "kvsw-pb", "bridge": BR_B, "type": "patch", "peer": "kvsw-pa"},
    ],
}


def test_whole_switch_check_mode_exact_then_one_transaction_then_no_op(run_module, clean):
    ovs = clean
    predicted = run_module(MODULE, {**SWITCH, "info": True}, check=True, diff=True)
    assert not predicted.failed, predicted.result
    assert predicted["changed"]
    # Check mode changed nothing.
    assert BR_A not in ovs.vsctl("list-br").split()
    assert "datapath_types" in predicted["info"]
    assert [(item["kind"], item["name"], item["changed"]) for item in predicted["objects"]] == [
        ("bridge", BR_A, True),
        ("bridge", BR_B, True),
        ("bond", "kvsw-bond0", True),
        ("port", "kvsw-mgmt", True),
        ("port", "kvsw-v2a", True),
        ("port", "kvsw-pa", True),
        ("port", "kvsw-pb", True),
    ]

    applied = run_module(MODULE, SWITCH, diff=True)
    assert not applied.failed, applied.result
    assert applied["changed"]
    assert applied["commands"] == predicted["commands"]
    assert applied["diff"] == predicted["diff"]
    assert applied["changed_items"] == predicted["changed_items"]

    assert sorted(ovs.vsctl("list-ports", BR_A).split()) == ["kvsw-bond0", "kvsw-mgmt", "kvsw-pa", "kvsw-v2a"]
    assert ovs.get("Bridge", BR_A, "fail_mode") == "standalone"
    assert ovs.get("Interface", BR_A, "mtu_request") == "1600"
    assert ovs.get("Port", "kvsw-bond0", "bond_mode") == "balance-tcp"
    assert ovs.get("Port", "kvsw-bond0", "lacp") == "active"
    assert ovs.get("Port", "kvsw-bond0", "trunks") == "[10, 20, 30]"
    assert ovs.get("Interface", "kvsw-v0a", "mtu_request") == "1600"
    assert ovs.get("Port", "kvsw-mgmt", "tag") == "20"
    assert ovs.get("Interface", "kvsw-mgmt", "type") == "internal"
    assert ovs.get("Port", "kvsw-v2a", "vlan_mode") == "native-untagged"
    assert ovs.get("Interface", "kvsw-pb", "options") == "{peer=kvsw-pa}"
    # ovs-vswitchd made the internal port: a real device, not only a database row.
    assert int(ovs.get("Interface", "kvsw-mgmt", "ofport")) > 0

    again = run_module(MODULE, SWITCH)
    assert not again.failed, again.result
    assert not again["changed"]
    assert again["commands"] == []
    again_check = run_module(MODULE, SWITCH, check=True)
    assert not again_check["changed"]


def test_change_of_some_items_touches_only_those(run_module, clean):
    assert not run_module(MODULE, SWITCH).failed
    changed = {
        **SWITCH,
        "bonds": [{**SWITCH["bonds"][0], "trunks": [10, 20]}],
        "ports": [*SWITCH["ports"][:1], {"name": "kvsw-v2a", "bridge": BR_A, "state": "absent"}, *SWITCH["ports"][2:]],
    }
    predicted = run_module(MODULE, changed, check=True)
    assert predicted["changed_items"] == ["kvsw-bond0", "kvsw-v2a"]
    applied = run_module(MODULE, changed)
    assert applied["commands"] == predicted["commands"]
    assert clean.get("Port", "kvsw-bond0", "trunks") == "[10, 20]"
    assert "kvsw-v2a" not in clean.vsctl("list-ports", BR_A).split()


def test_every_invalid_item_named_before_anything_runs(run_module, clean):
    bad = {
        "bridges": [{"name": BR_A, "datapath_type": "netdev"}, {"name": "kvsw-much-too-long"}],
        "ports": [{"name": "kvsw-p1", "bridge": BR_A, "tag": 5000}, {"name": BR_A, "bridge": BR_A}],
    }
    result = run_module(MODULE, bad)
    assert result.failed
    assert "kvsw-much-too-long" in result["msg"]
    assert "tag 5000 is outside 0-4095" in result["msg"]
    assert f"{BR_A} is declared more than once" in result["msg"]
    assert BR_A not in clean.vsctl("list-br").split()


def test_failed_transaction_changes_nothing(run_module, clean):
    # The second bridge's port takes a member of the first bridge's bond: refused while
    # planning, so the first bridge is not created either.
    bad = {
        "bridges": [{"name": BR_A, "datapath_type": "netdev"}, {"name": BR_B, "datapath_type": "netdev"}],
        "bonds": [{"name": "kvsw-bond0", "bridge": BR_A, "interfaces": ["kvsw-v0a", "kvsw-v1a"]}],
        "ports": [{"name": "kvsw-v0a", "bridge": BR_B}],
    }
    result = run_module(MODULE, bad)
    assert result.failed
    assert "already belongs to port 'kvsw-bond0'" in result["msg"]
    assert BR_A not in clean.vsctl("list-br").split()
