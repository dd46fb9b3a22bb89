# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: a whole switch (bridges, bonds, ports) + current OVS state → one transaction.

The batched form of ``_ovs_plan.plan_bridge`` and ``_ovs_port_plan.plan_port``:
each item is planned by those planners, in the order bridges, bonds, ports,
against the state as the items before it leave it (:func:`project`), so a
port on a bridge the same run creates is planned exactly, with no
assumption and no warning. The items' commands, concatenated, are one
ovs-vsctl transaction: ovs-vsctl applies its commands in order and each
sees the effect of the ones before it.

Validation is the single-item planners' own (``normalise_bridge``,
``normalise_port``); :func:`normalise_switch` adds what only a list can
get wrong (a name declared twice) and collects every problem instead of
stopping at the first, so one message names them all.
"""

from __future__ import annotations

import copy

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_plan import (
    build_diff,
    normalise_bridge,
    plan_bridge,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_port_plan import (
    normalise_port,
    plan_port,
)

SWITCH = "Open vSwitch switch"


def _bond_params(item):
    """A ``bonds:`` item (members and bond settings at the top level) → ovs_port parameters."""
    params = {key: item.get(key) for key in ("bridge", "name", "state", "tag", "trunks", "vlan_mode", "mtu")}
    params["external_ids"] = item.get("external_ids")
    if (item.get("state") or "present") == "present":
        params["bond"] = {
            key: item.get(key) for key in ("interfaces", "mode", "lacp", "updelay", "downdelay", "other_config")
        }
    return params


def collect_switch(bridges, bonds, ports):
    """The three lists → ``([(kind, desired)] in apply order, [problems])``; nothing raised."""
    problems, items, seen = [], [], {}
    sources = [("bridge", normalise_bridge, dict(item)) for item in bridges or []]
    sources += [("bond", normalise_port, _bond_params(item)) for item in bonds or []]
    sources += [("port", normalise_port, dict(item)) for item in ports or []]
    for kind, normalise, params in sources:
        name = params.get("name")
        if name in seen:
            problems.append(f"{name} is declared more than once ({seen[name]} and {kind})")
            continue
        seen[name] = kind
        try:
            items.append((kind, normalise(params)))
        except KvmopsError as exc:
            problems.append(str(exc))
    return items, problems


def normalise_switch(bridges, bonds, ports):
    """The three lists → ``[(kind, desired)]`` in apply order; raises one KvmopsError naming every problem."""
    items, problems = collect_switch(bridges, bonds, ports)
    if problems:
        raise KvmopsError(SWITCH, "items", "; ".join(problems))
    return items


# --- projection: the state as the planned commands leave it -----------------


def _drop_port(state, name):
    port = state["ports"].pop(name, None)
    if port is None:
        return
    for iface in port["interfaces"]:
        state["interfaces"].pop(iface, None)
    bridge = state["bridges"].get(port["bridge"])
    if bridge is not None:
        bridge["ports"] = [other for other in bridge["ports"] if other != name]


def _iface_row(name, port, bridge, view):
    return {
        "uuid": None,
        "name": name,
        "port": port,
        "bridge": bridge,
        "type": view["type"],
        "options": dict(view["options"]),
        "mtu": None,
        "mtu_request": view["mtu"],
        "error": None,
    }


def _project_bridge(state, name, after):
    if after["state"] == "absent":
        bridge = state["bridges"].pop(name, None)
        for port in list((bridge or {}).get("ports") or []):
            _drop_port(state, port)
        return
    bridge = state["bridges"].get(name)
    if bridge is None:
        bridge = {"uuid": None, "name": name, "datapath_id": None, "mcast_snooping": False, "ports": [name]}
        state["bridges"][name] = bridge
        state["ports"][name] = _port_row(name, name, [name], {})
        state["interfaces"][name] = _iface_row(name, name, name, {"type": "internal", "options": {}, "mtu": None})
    for key in ("datapath_type", "fail_mode", "stp", "rstp", "other_config", "external_ids"):
        bridge[key] = copy.deepcopy(after[key])
    state["interfaces"][name]["mtu_request"] = after["mtu"]


def _port_row(name, bridge, interfaces, after):
    return {
        "uuid": None,
        "name": name,
        "bridge": bridge,
        "interfaces": sorted(interfaces),
        "tag": after.get("tag"),
        "trunks": list(after.get("trunks") or []),
        "vlan_mode": after.get("vlan_mode"),
        "bond_mode": after.get("bond_mode"),
        "lacp": after.get("lacp"),
        "bond_updelay": after.get("bond_updelay") or 0,
        "bond_downdelay": after.get("bond_downdelay") or 0,
        "bond_active_slave": None,
        "other_config": dict(after.get("other_config") or {}),
        "external_ids": dict(after.get("external_ids") or {}),
        "status": {},
    }


def _project_port(state, name, after):
    old = state["ports"].get(name)
    if after["state"] == "absent":
        _drop_port(state, name)
        return
    kept = {
        iface: state["interfaces"][iface] for iface in (old or {}).get("interfaces", []) if iface in after["interfaces"]
    }
    _drop_port(state, name)
    bridge = after["bridge"]
    state["ports"][name] = _port_row(name, bridge, list(after["interfaces"]), after)
    state["bridges"][bridge]["ports"] = sorted(set(state["bridges"][bridge]["ports"]) | {name})
    for iface, view in after["interfaces"].items():
        row = kept.get(iface) or _iface_row(iface, name, bridge, view)
        row.update({"port": name, "bridge": bridge, "type": view["type"], "options": dict(view["options"])})
        row["mtu_request"] = view["mtu"]
        state["interfaces"][iface] = row


def project(state, kind, desired, plan):
    """Change ``state`` in place to what ``plan``'s commands leave (only when it changes something)."""
    if not plan["changed"]:
        return
    if kind == "bridge":
        _project_bridge(state, desired["name"], plan["after"])
    else:
        _project_port(state, desired["name"], plan["after"])


# --- the plan ---------------------------------------------------------------


def item_label(kind, desired):
    return desired["name"] if kind == "bridge" else desired["label"]


def plan_switch(items, state):
    """``[(kind, desired)]`` (from :func:`normalise_switch`) + state → the switch plan.

    ``{"changed", "commands", "items": [{kind, name, label, changed, commands, before, after}]}``;
    ``state`` is not modified.
    """
    projected = copy.deepcopy(state)
    planned = []
    for kind, desired in items:
        plan = plan_bridge(desired, projected) if kind == "bridge" else plan_port(desired, projected)
        project(projected, kind, desired, plan)
        planned.append(
            {
                "kind": kind,
                "name": desired["name"],
                "label": item_label(kind, desired),
                "changed": plan["changed"],
                "commands": plan["commands"],
                "before": plan["before"],
                "after": plan["after"],
            }
        )
    commands = [command for item in planned for command in item["commands"]]
    return {"changed": bool(commands), "commands": commands, "items": planned}


def switch_diff(plan):
    """One diff entry per changed item (Ansible shows a list of diffs one after the other)."""
    return [build_diff(item, f"{item['kind']} {item['label']}") for item in plan["items"] if item["changed"]]
