# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Managers of ovs_bridge, ovs_port and ovs_info: read the switch, plan purely, apply once.

Want → have → plan → apply: the plan is computed from one read of the
database before anything changes. Check mode returns it unapplied (after
letting ovs-vsctl validate it with ``--dry-run`` against the live database),
the real run applies all its commands in one ``ovs-vsctl`` transaction and
reads the switch again for the result.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_info import summarise
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_plan import (
    BRIDGE,
    bridge_view,
    build_diff,
    normalise_bridge,
    plan_bridge,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_port_plan import (
    PORT,
    normalise_port,
    plan_port,
    port_view,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_switch import (
    SWITCH,
    normalise_switch,
    plan_switch,
    switch_diff,
)


def interface_errors(state, names):
    """Errors ovs-vswitchd recorded for these interfaces (for example a NIC that does not exist)."""
    errors = []
    for name in names:
        iface = state["interfaces"].get(name)
        if iface and iface["error"]:
            errors.append(f"interface {name!r}: {iface['error']}")
    return errors


def _apply(vsctl, plan, kind, label, check_mode):
    """Run the plan (check mode: ``--dry-run``); returns ovs-vsctl's setup warnings."""
    if not plan["changed"]:
        return []
    if check_mode:
        # A plan resting on an assumption (a bridge an earlier task creates) cannot be dry-run.
        if not plan["warnings"]:
            vsctl.transact(plan["commands"], kind, label, dry_run=True)
        return []
    return vsctl.transact(plan["commands"], kind, label)


def manage_bridge(vsctl, params, check_mode, diff):
    """One ovs_bridge run: returns the module result (``warnings`` for module.warn)."""
    desired = normalise_bridge(params)
    name = desired["name"]
    plan = plan_bridge(desired, vsctl.read_state())
    setup = _apply(vsctl, plan, BRIDGE, name, check_mode)
    bridge, errors = plan["after"], []
    if plan["changed"] and not check_mode:
        state = vsctl.read_state()
        bridge = bridge_view(name, state)
        errors = interface_errors(state, [name] if bridge["state"] == "present" else [])
    # The database's per-interface errors say the same as ovs-vsctl's setup lines, with names.
    warnings = plan["warnings"] + (errors or setup)
    result = {"changed": plan["changed"], "commands": plan["commands"], "bridge": bridge, "warnings": warnings}
    if diff:
        result["diff"] = build_diff(plan, f"bridge {name}")
    return result


def manage_port(vsctl, params, check_mode, diff):
    """One ovs_port run: returns the module result (``warnings`` for module.warn)."""
    desired = normalise_port(params)
    label = desired["label"]
    plan = plan_port(desired, vsctl.read_state(), assume_missing_bridge=check_mode)
    setup = _apply(vsctl, plan, PORT, label, check_mode)
    port, errors = plan["after"], []
    if plan["changed"] and not check_mode:
        state = vsctl.read_state()
        port = port_view(desired["name"], state)
        errors = interface_errors(state, list(port.get("interfaces") or []))
    warnings = plan["warnings"] + (errors or setup)
    result = {"changed": plan["changed"], "commands": plan["commands"], "port": port, "warnings": warnings}
    if diff:
        result["diff"] = build_diff(plan, f"port {label}")
    return result


def _switch_item_result(item, state):
    """One item of the ovs_switch result; ``state`` (re-read after a real change) replaces the planned view."""
    after = item["after"]
    if state is not None:
        after = bridge_view(item["name"], state) if item["kind"] == "bridge" else port_view(item["name"], state)
    return {
        "kind": item["kind"],
        "name": item["name"],
        "changed": item["changed"],
        "commands": item["commands"],
        "state": after["state"],
        "after": after,
    }


def manage_switch(vsctl, params, check_mode, diff):
    """One ovs_switch run: every bridge, bond and port read once, planned together, one transaction."""
    items = normalise_switch(params.get("bridges"), params.get("bonds"), params.get("ports"))
    before = vsctl.read_state()
    plan = plan_switch(items, before)
    setup, errors, state = [], [], None
    if plan["changed"]:
        # Check mode lets ovs-vsctl validate the whole transaction against the live database.
        setup = vsctl.transact(plan["commands"], SWITCH, "items", dry_run=check_mode)
        if not check_mode:
            state = vsctl.read_state()
            names = []
            for item in plan["items"]:
                if item["changed"] and item["name"] in state["ports"]:
                    names += state["ports"][item["name"]]["interfaces"]
            errors = interface_errors(state, names)
    result = {
        "changed": plan["changed"],
        "commands": plan["commands"],
        "objects": [_switch_item_result(item, state) for item in plan["items"]],
        "changed_items": [item["name"] for item in plan["items"] if item["changed"]],
        "warnings": [] if check_mode else (errors or setup),
    }
    if params.get("info"):
        # The switch as it was before this run: what a caller (the kvm_ovs guard) compares against.
        result["info"] = summarise(before)
    if diff:
        result["diff"] = switch_diff(plan)
    return result


def gather_info(vsctl, params):
    """The ovs_info result."""
    return summarise(vsctl.read_state(), params.get("bridge"))
