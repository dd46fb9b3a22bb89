# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: desired bridge + current OVS state → the ovs-vsctl commands that converge it.

A plan is ``{"changed", "commands", "before", "after", "warnings"}``. Each
command is one ovs-vsctl command as an argument list (``["add-br", "br0"]``);
``_ovs.py`` joins them with ``--`` into a single transaction, so a run changes
everything or nothing. An empty command list is the no-op: check mode and the
real run both return the plan's ``changed``, so check mode predicts the run.

Shared by the port planner (``_ovs_port_plan.py``): value quoting for
ovs-vsctl's own parser, map (``other_config``, ``external_ids``) changes and
the validation of names that become Linux network devices.
"""

from __future__ import annotations

import json
import re

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

BRIDGE = "Open vSwitch bridge"
DATAPATH_TYPES = ("system", "netdev")
FAIL_MODES = ("standalone", "secure")
# Linux limits interface names to IFNAMSIZ - 1; OVS would accept a longer name
# and then fail to create the device, leaving a port with ofport -1.
IFNAME_MAX = 15
MTU_MIN, MTU_MAX = 68, 65535
# Bare words ovs-vsctl parses as the string itself; anything else is quoted.
_BARE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")
_IFNAME = re.compile(r"^[^\s/:]+$")


def quote(value):
    """A string as ovs-vsctl's value parser reads it: bare when unambiguous, else a JSON/C string."""
    text = str(value)
    if _BARE.match(text):
        return text
    return json.dumps(text)


def _quote_key(key):
    # Inside column:key=value a bare ':' or '=' in the key would split it wrongly.
    return key if re.match(r"^[A-Za-z0-9_.-]+$", key) else json.dumps(key)


def map_value(value):
    """OVSDB maps hold strings: true/false for booleans (what OVS itself writes), digits for numbers."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalise_map(value, what, kind, label):
    """A dict option → ``{str: str or None}``; None values mean "remove this key"."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KvmopsError(kind, label, f"{what} must be a dict, not {type(value).__name__}")
    result = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise KvmopsError(
                kind, label, f"{what}.{key} must be a string, number or boolean (OVSDB maps hold strings)"
            )
        result[str(key)] = map_value(item)
    return result


def map_commands(table, record, column, current, wanted):
    """Set the keys of ``wanted`` that differ, remove those set to None; keys not named stay."""
    sets = {key: value for key, value in sorted(wanted.items()) if value is not None and current.get(key) != value}
    removes = [key for key, value in sorted(wanted.items()) if value is None and key in current]
    commands = []
    if sets:
        commands.append(
            ["set", table, record] + [f"{column}:{_quote_key(key)}={quote(value)}" for key, value in sets.items()]
        )
    if removes:
        commands.append(["remove", table, record, column] + [quote(key) for key in removes])
    return commands


def merge_map(current, wanted):
    """The map after :func:`map_commands` ran."""
    merged = dict(current)
    for key, value in wanted.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return dict(sorted(merged.items()))


def check_ifname(name, kind, label, what="name"):
    """Refuse a name Linux cannot give a network device."""
    if not name or not _IFNAME.match(name) or name in (".", ".."):
        raise KvmopsError(kind, label, f"{what} {name!r} is not a valid interface name (no spaces, '/' or ':')")
    if len(name) > IFNAME_MAX:
        raise KvmopsError(
            kind,
            label,
            f"{what} {name!r} is {len(name)} characters long; Linux interface names have at most {IFNAME_MAX}",
        )


def check_mtu(mtu, kind, label):
    if mtu is not None and not MTU_MIN <= mtu <= MTU_MAX:
        raise KvmopsError(kind, label, f"mtu {mtu} is outside {MTU_MIN}-{MTU_MAX}")


def finish(commands, before, after, warnings=None):
    return {
        "changed": bool(commands),
        "commands": commands,
        "before": before,
        "after": after,
        "warnings": list(warnings or []),
    }


# --- bridges ---------------------------------------------------------------


def normalise_bridge(params):
    """ovs_bridge parameters → desired bridge; raises KvmopsError naming the bridge."""
    name = params["name"]
    check_ifname(name, BRIDGE, name)
    desired = {
        "name": name,
        "state": params.get("state") or "present",
        "datapath_type": params.get("datapath_type"),
        "fail_mode": params.get("fail_mode"),
        "mtu": params.get("mtu"),
        "stp": params.get("stp"),
        "rstp": params.get("rstp"),
        "other_config": normalise_map(params.get("other_config"), "other_config", BRIDGE, name),
        "external_ids": normalise_map(params.get("external_ids"), "external_ids", BRIDGE, name),
    }
    check_mtu(desired["mtu"], BRIDGE, name)
    if desired["datapath_type"] not in (None,) + DATAPATH_TYPES:
        raise KvmopsError(BRIDGE, name, f"datapath_type must be one of {', '.join(DATAPATH_TYPES)}")
    if desired["fail_mode"] not in (None,) + FAIL_MODES:
        raise KvmopsError(BRIDGE, name, f"fail_mode must be one of {', '.join(FAIL_MODES)}")
    if desired["stp"] and desired["rstp"]:
        raise KvmopsError(BRIDGE, name, "stp and rstp exclude each other; enable one of them")
    return desired


def bridge_view(name, state):
    """The bridge as the diff shows it; ``state: absent`` when it does not exist."""
    bridge = state["bridges"].get(name)
    if bridge is None:
        return {"name": name, "state": "absent"}
    local = state["interfaces"].get(name) or {}
    return {
        "name": name,
        "state": "present",
        "datapath_type": bridge["datapath_type"],
        "fail_mode": bridge["fail_mode"],
        "stp": bridge["stp"],
        "rstp": bridge["rstp"],
        "mtu": local.get("mtu_request"),
        "other_config": dict(sorted(bridge["other_config"].items())),
        "external_ids": dict(sorted(bridge["external_ids"].items())),
        "ports": [port for port in bridge["ports"] if port != name],
    }


def _empty_bridge_view(name):
    return {
        "name": name,
        "state": "present",
        "datapath_type": "system",
        "fail_mode": None,
        "stp": False,
        "rstp": False,
        "mtu": None,
        "other_config": {},
        "external_ids": {},
        "ports": [],
    }


def _same_fail_mode(current, wanted, new):
    # An unset fail_mode is standalone: OVS documents that as the default, so
    # an existing bridge without one is not changed for it. A new bridge gets
    # the mode asked for written out, so ovs-vsctl get-fail-mode shows it.
    if new:
        return current == wanted
    return (current or "standalone") == wanted


def _bridge_settings(desired, current, new=False):
    """Commands and resulting view for the settings of an existing (or, ``new``, just added) bridge."""
    name = desired["name"]
    after = dict(current)
    columns = []
    if desired["datapath_type"] is not None and current["datapath_type"] != desired["datapath_type"]:
        columns.append(f"datapath_type={desired['datapath_type']}")
        after["datapath_type"] = desired["datapath_type"]
    if desired["fail_mode"] is not None and not _same_fail_mode(current["fail_mode"], desired["fail_mode"], new):
        columns.append(f"fail_mode={desired['fail_mode']}")
        after["fail_mode"] = desired["fail_mode"]
    for option, column in (("stp", "stp_enable"), ("rstp", "rstp_enable")):
        if desired[option] is not None and current[option] != desired[option]:
            columns.append(f"{column}={map_value(desired[option])}")
            after[option] = desired[option]
    commands = [["set", "Bridge", name] + columns] if columns else []
    if desired["mtu"] is not None and current["mtu"] != desired["mtu"]:
        commands.append(["set", "Interface", name, f"mtu_request={desired['mtu']}"])
        after["mtu"] = desired["mtu"]
    for column in ("other_config", "external_ids"):
        commands += map_commands("Bridge", name, column, current[column], desired[column])
        after[column] = merge_map(current[column], desired[column])
    return commands, after


def plan_bridge(desired, state):
    """Everything an ovs_bridge run does, decided before anything changes."""
    name = desired["name"]
    before = bridge_view(name, state)
    exists = before["state"] == "present"
    if desired["state"] == "absent":
        if not exists:
            return finish([], before, before)
        return finish([["del-br", name]], before, {"name": name, "state": "absent"})
    if not exists:
        if name in state["ports"]:
            other = state["ports"][name]["bridge"]
            raise KvmopsError(BRIDGE, name, f"a port of that name already exists on bridge {other!r}")
        commands, after = _bridge_settings(desired, _empty_bridge_view(name), new=True)
        return finish([["add-br", name]] + commands, before, after)
    commands, after = _bridge_settings(desired, before)
    return finish(commands, before, after)


def build_diff(plan, header):
    return {"before": plan["before"], "after": plan["after"], "before_header": header, "after_header": header}
