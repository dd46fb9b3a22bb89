# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.ovs_bridge through Ansible against the test bed's real Open vSwitch.

Every bridge uses the userspace datapath (``netdev``): this machine has no OVS
kernel module. Results are checked with ovs-vsctl, not with the module's own
reading code.
"""

from __future__ import annotations

import pytest

MODULE = "kvmops.kvm.ovs_bridge"
BRIDGE = "kvit-br"


@pytest.fixture
def clean(ovs):
    ovs.del_br(BRIDGE)
    yield ovs
    ovs.del_br(BRIDGE)


FULL = {
    "name": BRIDGE,
    "datapath_type": "netdev",
    "fail_mode": "secure",
    "mtu": 1600,
    "rstp": True,
    "other_config": {"mac-aging-time": 600},
    "external_ids": {"owner": "kvmops", "rack": "r1"},
}


def test_create_converge_and_idempotence(run_module, clean):
    ovs = clean
    first = run_module(MODULE, FULL, diff=True)
    assert not first.failed, first.result
    assert first["changed"]
    assert first["commands"][0] == ["add-br", BRIDGE]
    assert first["diff"]["before"] == {"name": BRIDGE, "state": "absent"}
    assert first["bridge"]["mtu"] == 1600

    assert ovs.get("Bridge", BRIDGE, "datapath_type") == "netdev"
    assert ovs.get("Bridge", BRIDGE, "fail_mode") == "secure"
    assert ovs.get("Bridge", BRIDGE, "rstp_enable") == "true"
    assert ovs.get("Bridge", BRIDGE, "other_config") == '{mac-aging-time="600"}'
    assert ovs.get("Bridge", BRIDGE, "external_ids") == "{owner=kvmops, rack=r1}"
    assert ovs.get("Interface", BRIDGE, "mtu_request") == "1600"
    # ovs-vswitchd really made the local port, not just the database row.
    assert int(ovs.get("Interface", BRIDGE, "ofport")) > 0

    again = run_module(MODULE, FULL)
    assert not again.failed, again.result
    assert not again["changed"]
    assert again["commands"] == []


def test_check_mode_changes_nothing(run_module, clean):
    ovs = clean
    predicted = run_module(MODULE, FULL, check=True, diff=True)
    assert not predicted.failed, predicted.result
    assert predicted["changed"]
    assert predicted["diff"]["after"]["datapath_type"] == "netdev"
    assert BRIDGE not in ovs.vsctl("list-br").split()

    ovs.vsctl("add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev")
    change = {"name": BRIDGE, "mtu": 9000, "fail_mode": "secure", "external_ids": {"owner": "x"}}
    predicted = run_module(MODULE, change, check=True)
    assert predicted["changed"]
    assert ovs.get("Interface", BRIDGE, "mtu_request") == "[]"
    assert ovs.get("Bridge", BRIDGE, "fail_mode") == "[]"
    assert ovs.get("Bridge", BRIDGE, "external_ids") == "{}"

    # Check mode predicted exactly the commands the real run then executes.
    real = run_module(MODULE, change)
    assert real["changed"]
    assert real["commands"] == predicted["commands"]

    gone = run_module(MODULE, {"name": BRIDGE, "state": "absent"}, check=True)
    assert gone["changed"]
    assert BRIDGE in ovs.vsctl("list-br").split()


def test_keys_removed_and_settings_kept(run_module, clean):
    ovs = clean
    assert not run_module(MODULE, FULL).failed
    result = run_module(MODULE, {"name": BRIDGE, "external_ids": {"rack": None}, "rstp": False}, diff=True)
    assert not result.failed, result.result
    assert result["changed"]
    assert ovs.get("Bridge", BRIDGE, "external_ids") == "{owner=kvmops}"
    assert ovs.get("Bridge", BRIDGE, "rstp_enable") == "false"
    # Left out: kept.
    assert ovs.get("Bridge", BRIDGE, "fail_mode") == "secure"
    assert ovs.get("Interface", BRIDGE, "mtu_request") == "1600"
    assert result["diff"]["before"]["external_ids"] == {"owner": "kvmops", "rack": "r1"}
    assert result["diff"]["after"]["external_ids"] == {"owner": "kvmops"}


def test_absent_removes_bridge_and_ports(run_module, clean):
    ovs = clean
    ovs.vsctl(
        "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev",
        "--", "add-port", BRIDGE, "kvit-brp", "--", "set", "Interface", "kvit-brp", "type=internal",
    )  # fmt: skip
    result = run_module(MODULE, {"name": BRIDGE, "state": "absent"}, diff=True)
    assert result["changed"]
    assert result["diff"]["before"]["ports"] == ["kvit-brp"]
    assert BRIDGE not in ovs.vsctl("list-br").split()
    assert "kvit-brp" not in ovs.rows("Port")
    assert not run_module(MODULE, {"name": BRIDGE, "state": "absent"})["changed"]


def test_invalid_name_fails_before_any_change(run_module, clean):
    result = run_module(MODULE, {"name": "kvit-bridge-too-long", "datapath_type": "netdev"})
    assert result.failed
    assert result["msg"] == (
        "Open vSwitch bridge 'kvit-bridge-too-long': name 'kvit-bridge-too-long' is 20 characters long; "
        "Linux interface names have at most 15"
    )
    assert "kvit-bridge-too-long" not in clean.vsctl("list-br").split()
