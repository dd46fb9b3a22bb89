# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""systemd_units' pure side: parsing `systemctl show` and planning the calls."""

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _systemd_units as su
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

# As systemd 252 prints it for a loaded running socket, a known disabled
# service, and a name no unit file has.
SHOW = """Id=libvirtd.socket
LoadState=loaded
ActiveState=active
SubState=listening
UnitFileState=enabled

Id=virtlogd.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=disabled

Id=virtqemud.service
LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
"""
NAMES = ["libvirtd.socket", "virtlogd.service", "virtqemud.service"]


def state(unit_file="enabled", active="active", load="loaded"):
    return {"exists": load != "not-found", "load_state": load, "active_state": active, "sub_state": "",
            "unit_file_state": unit_file}  # fmt: skip


def test_show_blocks_map_to_the_names_in_order():
    states = su.parse_show(SHOW, NAMES)
    assert states["libvirtd.socket"]["active_state"] == "active"
    assert states["virtlogd.service"]["unit_file_state"] == "disabled"
    assert states["virtqemud.service"]["exists"] is False


def test_a_block_count_that_does_not_match_is_an_error_not_a_guess():
    with pytest.raises(KvmopsError, match="2 blocks for 3 units"):
        su.parse_show(SHOW.split("\n\nId=virtqemud", maxsplit=1)[0], NAMES)


def test_converged_unit_has_no_actions():
    plan = su.plan_unit({"name": "a.service", "enabled": True, "state": "started"}, state())
    assert plan.actions == []
    assert plan.as_result()["changed"] is False


def test_disabled_stopped_unit_is_enabled_then_started():
    plan = su.plan_unit({"name": "a.service", "enabled": True, "state": "started"}, state("disabled", "inactive"))
    assert plan.actions == ["enable", "start"]


@pytest.mark.parametrize("unit_file", ["static", "indirect", "generated", "alias", "enabled-runtime"])
def test_units_systemd_counts_as_enabled_are_not_enabled_again(unit_file):
    assert su.plan_unit({"name": "a.socket", "enabled": True}, state(unit_file)).actions == []


@pytest.mark.parametrize("active", ["activating", "reloading"])
def test_a_unit_on_its_way_up_counts_as_started(active):
    assert su.plan_unit({"name": "a.service", "state": "started"}, state(active=active)).actions == []


def test_failed_unit_is_started_again():
    assert su.plan_unit({"name": "a.service", "state": "started"}, state(active="failed")).actions == ["start"]


def test_stop_and_disable():
    plan = su.plan_unit({"name": "a.service", "enabled": False, "state": "stopped"}, state())
    assert plan.actions == ["disable", "stop"]


def test_a_static_unit_is_not_disabled():
    # `systemctl disable` cannot change a static unit; asking would report a change forever.
    assert su.plan_unit({"name": "a.service", "enabled": False}, state("static")).actions == []


def test_omitted_options_leave_the_unit_alone():
    assert su.plan_unit({"name": "a.service"}, state("disabled", "inactive")).actions == []


def test_unknown_unit_fails_naming_it_unless_if_exists():
    with pytest.raises(KvmopsError, match="virtqemud.service.*not-found"):
        su.plan_unit({"name": "virtqemud.service", "state": "stopped"}, state("", "inactive", "not-found"))
    plan = su.plan_unit(
        {"name": "virtqemud.service", "state": "stopped", "if_exists": True}, state("", "inactive", "not-found")
    )
    assert plan.skipped and plan.actions == []
    assert plan.as_result()["skipped"] is True


def test_masked_unit_cannot_be_started_unless_unmasked():
    with pytest.raises(KvmopsError, match="masked"):
        su.plan_unit({"name": "a.service", "state": "started"}, state("masked", "inactive", "masked"))
    plan = su.plan_unit(
        {"name": "a.service", "masked": False, "enabled": True, "state": "started"},
        state("masked", "inactive", "masked"),
    )
    assert plan.actions == ["unmask", "enable", "start"]


def test_mask_a_running_unit_stops_it_after_masking():
    plan = su.plan_unit({"name": "a.service", "masked": True, "state": "stopped"}, state())
    assert plan.actions == ["mask", "stop"]


def test_a_unit_listed_twice_is_refused():
    with pytest.raises(KvmopsError, match="more than once"):
        su.plan_units([{"name": "a.service"}, {"name": "a.service"}], {"a.service": state()})


def test_calls_group_units_per_action_in_order():
    items = [
        {"name": "old.service", "enabled": False, "state": "stopped"},
        {"name": "a.socket", "enabled": True, "state": "started"},
        {"name": "b.service", "enabled": True, "state": "started"},
    ]
    states = {
        "old.service": state(),
        "a.socket": state("disabled", "inactive"),
        "b.service": state("enabled", "inactive"),
    }
    assert su.calls(su.plan_units(items, states)) == [
        ("enable", ["a.socket"]),
        ("disable", ["old.service"]),
        ("stop", ["old.service"]),
        ("start", ["a.socket", "b.service"]),
    ]


def test_diff_shows_the_state_after_the_actions():
    plan = su.plan_unit({"name": "a.service", "enabled": True, "state": "started"}, state("disabled", "inactive"))
    diff = su.diff_of(plan)
    assert diff["before"] == "enabled: disabled\nactive: inactive\n"
    assert diff["after"] == "enabled: enabled\nactive: active\n"


def test_would_act_on_probed_state():
    item = {"name": "a.service", "enabled": True, "state": "started"}
    assert su.would_act(item, state()) is False
    assert su.would_act(item, state("disabled", "inactive")) is True
    # Not read, or refused by the module (unknown unit): the module decides.
    assert su.would_act(item, None) is True
    assert su.would_act(item, state("", "inactive", "not-found")) is True
    assert su.would_act(dict(item, if_exists=True), state("", "inactive", "not-found")) is False
