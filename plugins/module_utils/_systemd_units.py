# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure side of systemd_units and host_probe's units: parse ``systemctl show``, plan actions.

``systemctl show -p ... a b c`` prints one block of ``Key=Value`` lines per
unit, in argument order, blocks separated by a blank line: one process reads
the state of every unit a role manages. The plan below turns that state and the
wanted items into the few ``systemctl`` calls that make them true.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

KIND = "systemd unit"
PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState")
# `systemctl is-enabled` exits 0 for these: the unit starts at boot or is
# pulled in by another, and `enable` could not do more.
ENABLED_STATES = frozenset({"enabled", "enabled-runtime", "static", "indirect", "generated", "alias"})
# As ansible.builtin.systemd_service: a unit on its way up counts as started.
RUNNING_STATES = frozenset({"active", "activating", "reloading"})
# The order the calls are made in: unmask before enable, stop before start.
ACTION_ORDER = ("unmask", "enable", "disable", "mask", "stop", "start")


def parse_show(text, names):
    """``systemctl show`` output for ``names`` (in that order) -> {name: state dict}.

    State keys: exists, load_state, active_state, sub_state, unit_file_state.
    A block count that does not match the names is an error, never a guess.
    """
    blocks = []
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    if len(blocks) != len(names):
        raise KvmopsError(
            KIND,
            ", ".join(names),
            f"systemctl show printed {len(blocks)} blocks for {len(names)} units",
        )
    states = {}
    for name, block in zip(names, blocks):
        load = block.get("LoadState", "")
        states[name] = {
            "exists": load not in ("not-found", ""),
            "load_state": load,
            "active_state": block.get("ActiveState", ""),
            "sub_state": block.get("SubState", ""),
            "unit_file_state": block.get("UnitFileState", ""),
        }
    return states


@dataclass
class UnitPlan:
    name: str
    state: dict
    actions: list = field(default_factory=list)
    skipped: bool = False

    def as_result(self):
        out = dict(self.state)
        out["changed"] = bool(self.actions)
        out["actions"] = list(self.actions)
        if self.skipped:
            out["skipped"] = True
        return out


def _masked(state):
    return state["unit_file_state"] == "masked" or state["load_state"] == "masked"


def plan_unit(item, state):
    """The actions (in :data:`ACTION_ORDER`) that give one unit the wanted item's enabled/state/masked."""
    name = item["name"]
    plan = UnitPlan(name=name, state=state)
    if not state["exists"] and not _masked(state):
        if item.get("if_exists"):
            plan.skipped = True
            return plan
        raise KvmopsError(KIND, name, "systemd does not know this unit (not-found): is its package installed?")
    masked_now = _masked(state)
    want_masked = item.get("masked")
    actions = set()
    if want_masked is True and not masked_now:
        actions.add("mask")
    if want_masked is False and masked_now:
        actions.add("unmask")
    will_be_masked = (masked_now and want_masked is not False) or want_masked is True
    enabled = item.get("enabled")
    wanted_state = item.get("state")
    if will_be_masked and (enabled is True or wanted_state == "started"):
        raise KvmopsError(KIND, name, "is masked: it cannot be enabled or started unless masked is false")
    if enabled is True and (state["unit_file_state"] not in ENABLED_STATES or "unmask" in actions):
        actions.add("enable")
    if enabled is False and state["unit_file_state"] in ("enabled", "enabled-runtime"):
        actions.add("disable")
    running = state["active_state"] in RUNNING_STATES
    if wanted_state == "started" and not running:
        actions.add("start")
    if wanted_state == "stopped" and running:
        actions.add("stop")
    plan.actions = [action for action in ACTION_ORDER if action in actions]
    return plan


def plan_units(items, states):
    """Plans for every item, in item order. A unit named twice is refused: two wishes for one unit."""
    seen = set()
    for item in items:
        if item["name"] in seen:
            raise KvmopsError(KIND, item["name"], "is listed more than once in units")
        seen.add(item["name"])
    return [plan_unit(item, states[item["name"]]) for item in items]


def calls(plans):
    """``(action, [unit names])`` in :data:`ACTION_ORDER`, one systemctl call per action."""
    out = []
    for action in ACTION_ORDER:
        names = [plan.name for plan in plans if action in plan.actions]
        if names:
            out.append((action, names))
    return out


def diff_of(plan):
    """One Ansible diff entry for a unit with actions: unit file state and active state, before and after."""

    def line(state):
        return f"enabled: {state['unit_file_state']}\nactive: {state['active_state']}\n"

    after = dict(plan.state)
    if "enable" in plan.actions:
        after["unit_file_state"] = "enabled"
    if "disable" in plan.actions:
        after["unit_file_state"] = "disabled"
    if "mask" in plan.actions:
        after["unit_file_state"] = "masked"
    if "start" in plan.actions:
        after["active_state"] = "active"
    if "stop" in plan.actions:
        after["active_state"] = "inactive"
    return {"before_header": plan.name, "after_header": plan.name, "before": line(plan.state), "after": line(after)}


def would_act(item, state):
    """Whether systemd_units would act on ``item`` where host_probe read ``state`` (None: not read).

    A unit not read, or one the module would refuse (unknown without
    ``if_exists``, masked), counts as acting: the module then runs and
    decides, or fails with its own message.
    """
    if not state:
        return True
    try:
        return bool(plan_unit(dict(item), dict(state)).actions)
    except KvmopsError:
        return True
