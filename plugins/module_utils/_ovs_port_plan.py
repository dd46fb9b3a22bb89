# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: desired port (single interface or bond) + current OVS state → ovs-vsctl commands.

Same plan shape as ``_ovs_plan.plan_bridge``. Semantics the planner encodes:

- The VLAN settings (``tag``, ``trunks``, ``vlan_mode``) are owned as a group:
  what the task leaves out is cleared, so a port declared without them is an
  untagged trunk carrying every VLAN, as OVS defines it.
- A bond's member list is owned: members added and removed in place (the port
  row, its ofport and its settings stay); other scalars left out are kept.
- ``other_config``/``external_ids``/``interface_options`` keys given are set,
  keys set to null removed, keys not named kept (libvirt writes its own
  ``external_ids`` on the interfaces of guest ports).
- A port that exists on another bridge is moved: deleted and added again, in
  the same transaction.
"""

from __future__ import annotations

import re

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_plan import (
    check_ifname,
    check_mtu,
    finish,
    map_commands,
    map_value,
    merge_map,
    normalise_map,
    quote,
)

PORT = "Open vSwitch port"
PORT_TYPES = ("system", "internal", "patch", "vxlan", "geneve")
TUNNEL_TYPES = ("vxlan", "geneve")
# Types whose interface is a Linux network device (so IFNAMSIZ applies).
NETDEV_TYPES = ("system", "internal")
VLAN_MODES = ("trunk", "access", "native-tagged", "native-untagged", "dot1q-tunnel")
BOND_MODES = ("active-backup", "balance-slb", "balance-tcp")
LACP_MODES = ("active", "passive", "off")
VLAN_MAX = 4095


def port_label(bridge, name):
    """How every message names a port: ``bridge/port`` (just the port when the bridge is unknown)."""
    return f"{bridge}/{name}" if bridge else name


def _vlan(value, what, label):
    try:
        vid = int(value)
    except (TypeError, ValueError):
        raise KvmopsError(PORT, label, f"{what} {value!r} is not a VLAN number") from None
    if not 0 <= vid <= VLAN_MAX:
        raise KvmopsError(PORT, label, f"{what} {vid} is outside 0-{VLAN_MAX}")
    return vid


def parse_trunks(items, label):
    """``[10, "20", "100-110"]`` → sorted unique VLAN ids; ranges are inclusive."""
    result = set()
    for item in items or []:
        text = str(item).strip()
        if "-" in text.lstrip("-"):
            low, high = (_vlan(part, "trunks range bound", label) for part in text.split("-", 1))
            if low > high:
                raise KvmopsError(PORT, label, f"trunks range {text!r} runs backwards")
            result.update(range(low, high + 1))
        else:
            result.add(_vlan(text, "trunks entry", label))
    return sorted(result)


def _check_vlan(vlan, label):
    tag, trunks, mode = vlan["tag"], vlan["trunks"], vlan["vlan_mode"]
    if mode == "access" and trunks:
        raise KvmopsError(PORT, label, "an access port carries one VLAN: trunks is not allowed with vlan_mode access")
    if mode in ("native-tagged", "native-untagged", "dot1q-tunnel") and tag is None:
        raise KvmopsError(PORT, label, f"vlan_mode {mode} needs tag (the native or outer VLAN)")
    if mode == "trunk" and tag is not None:
        raise KvmopsError(
            PORT, label, "vlan_mode trunk ignores tag: use native-tagged or native-untagged for a native VLAN"
        )
    if mode is None and tag is not None and trunks:
        raise KvmopsError(
            PORT, label, "tag with trunks needs vlan_mode native-tagged or native-untagged (else OVS ignores trunks)"
        )


def _normalise_bond(bond, label):
    members = list(bond.get("interfaces") or [])
    if len(members) < 2 or len(set(members)) != len(members):
        raise KvmopsError(PORT, label, f"a bond needs at least two distinct interfaces, got {members}")
    for member in members:
        check_ifname(member, PORT, label, "bond interface")
    mode, lacp = bond.get("mode"), bond.get("lacp")
    if mode is not None and mode not in BOND_MODES:
        raise KvmopsError(PORT, label, f"bond mode must be one of {', '.join(BOND_MODES)}")
    if lacp is not None and lacp not in LACP_MODES:
        raise KvmopsError(PORT, label, f"bond lacp must be one of {', '.join(LACP_MODES)}")
    if mode == "balance-tcp" and lacp == "off":
        raise KvmopsError(PORT, label, "bond mode balance-tcp needs LACP (lacp active or passive)")
    for delay in ("updelay", "downdelay"):
        if bond.get(delay) is not None and bond[delay] < 0:
            raise KvmopsError(PORT, label, f"bond {delay} must be 0 or more milliseconds")
    return {
        "interfaces": sorted(members),
        "mode": mode,
        "lacp": lacp,
        "updelay": bond.get("updelay"),
        "downdelay": bond.get("downdelay"),
        "other_config": normalise_map(bond.get("other_config"), "bond.other_config", PORT, label),
    }


def _interface_options(params, label):
    port_type = params.get("type")
    options = normalise_map(params.get("interface_options"), "interface_options", PORT, label)
    named = {"peer": params.get("peer"), "remote_ip": params.get("remote_ip"), "key": params.get("tunnel_key")}
    if named["peer"] is not None and port_type != "patch":
        raise KvmopsError(PORT, label, "peer is only for type patch")
    if port_type == "patch" and not named["peer"]:
        raise KvmopsError(PORT, label, "a patch port needs peer (the patch port it connects to)")
    if (named["remote_ip"] is not None or named["key"] is not None) and port_type not in TUNNEL_TYPES:
        raise KvmopsError(PORT, label, "remote_ip and tunnel_key are only for type vxlan or geneve")
    if port_type in TUNNEL_TYPES and not named["remote_ip"]:
        raise KvmopsError(PORT, label, f"a {port_type} port needs remote_ip")
    for key, value in named.items():
        if value is not None:
            if key in options and options[key] != map_value(value):
                raise KvmopsError(PORT, label, f"interface_options.{key} contradicts the {key} option")
            options[key] = map_value(value)
    return options


def normalise_port(params):
    """ovs_port parameters → desired port; raises KvmopsError naming ``bridge/port``."""
    bridge, name = params.get("bridge"), params["name"]
    label = port_label(bridge, name)
    if bridge:
        check_ifname(bridge, PORT, label, "bridge")
    if not name or any(char.isspace() for char in name) or "/" in name:
        raise KvmopsError(PORT, label, f"port name {name!r} is not valid (no spaces or '/')")
    desired = {"bridge": bridge, "name": name, "state": params.get("state") or "present", "label": label}
    if desired["state"] == "absent":
        return desired
    if not bridge:
        raise KvmopsError(PORT, label, "bridge is required with state present")
    bond = params.get("bond")
    foreign = ("type", "peer", "remote_ip", "tunnel_key", "interface_options")
    if bond and any(params.get(option) for option in foreign):
        raise KvmopsError(
            PORT, label, "a bond's members are system interfaces: type and interface options do not apply"
        )
    if params.get("type") is not None and params["type"] not in PORT_TYPES:
        raise KvmopsError(PORT, label, f"type must be one of {', '.join(PORT_TYPES)}")
    vlan = {
        "tag": _vlan(params["tag"], "tag", label) if params.get("tag") is not None else None,
        "trunks": parse_trunks(params.get("trunks"), label),
        "vlan_mode": params.get("vlan_mode"),
    }
    if vlan["vlan_mode"] not in (None,) + VLAN_MODES:
        raise KvmopsError(PORT, label, f"vlan_mode must be one of {', '.join(VLAN_MODES)}")
    _check_vlan(vlan, label)
    other_config = normalise_map(params.get("other_config"), "other_config", PORT, label)
    desired.update(
        {
            "type": params.get("type"),
            "interface_options": _interface_options(params, label),
            "vlan": vlan,
            "bond": _normalise_bond(bond, label) if bond else None,
            "mtu": params.get("mtu"),
            "external_ids": normalise_map(params.get("external_ids"), "external_ids", PORT, label),
        }
    )
    check_mtu(desired["mtu"], PORT, label)
    if desired["bond"]:
        if name in desired["bond"]["interfaces"]:
            raise KvmopsError(PORT, label, "a bond port cannot have itself as a member interface")
        for key, value in desired["bond"]["other_config"].items():
            if key in other_config and other_config[key] != value:
                raise KvmopsError(PORT, label, f"other_config.{key} and bond.other_config.{key} differ")
        other_config.update(desired["bond"]["other_config"])
    desired["other_config"] = other_config
    return desired


# --- views -----------------------------------------------------------------


def _iface_view(iface):
    return {"type": iface["type"], "options": dict(sorted(iface["options"].items())), "mtu": iface["mtu_request"]}


def _empty_iface_view():
    return {"type": "system", "options": {}, "mtu": None}


def port_view(name, state):
    """The port as the diff shows it; bond settings only for ports with several interfaces."""
    port = state["ports"].get(name)
    if port is None:
        return {"name": name, "state": "absent"}
    view = {
        "name": name,
        "bridge": port["bridge"],
        "state": "present",
        "interfaces": {
            iface: _iface_view(state["interfaces"][iface])
            for iface in port["interfaces"]
            if iface in state["interfaces"]
        },
        "tag": port["tag"],
        "trunks": list(port["trunks"]),
        "vlan_mode": port["vlan_mode"],
        "other_config": dict(sorted(port["other_config"].items())),
        "external_ids": dict(sorted(port["external_ids"].items())),
    }
    if len(port["interfaces"]) > 1:
        view.update(_bond_view(port))
    return view


def _bond_view(port):
    return {
        "bond_mode": port["bond_mode"],
        "lacp": port["lacp"],
        "bond_updelay": port["bond_updelay"],
        "bond_downdelay": port["bond_downdelay"],
    }


def _empty_port_view(desired, members):
    view = {
        "name": desired["name"],
        "bridge": desired["bridge"],
        "state": "present",
        "interfaces": {member: _empty_iface_view() for member in members},
        "tag": None,
        "trunks": [],
        "vlan_mode": None,
        "other_config": {},
        "external_ids": {},
    }
    if desired["bond"]:
        view.update({"bond_mode": None, "lacp": None, "bond_updelay": 0, "bond_downdelay": 0})
    return view


# --- planning --------------------------------------------------------------


def _members(desired):
    return desired["bond"]["interfaces"] if desired["bond"] else [desired["name"]]


def _check_members_free(desired, state):
    """Each wanted interface may only belong to this port already; OVS refuses duplicates."""
    for member in _members(desired):
        iface = state["interfaces"].get(member)
        if iface and iface["port"] not in (None, desired["name"]):
            raise KvmopsError(
                PORT,
                desired["label"],
                f"interface {member!r} already belongs to port {iface['port']!r} on bridge {iface['bridge']!r}",
            )
    if desired["bond"] and desired["name"] in state["bridges"]:
        raise KvmopsError(PORT, desired["label"], "a bond cannot take the name of a bridge")


def _check_names(desired, current_type):
    port_type = desired["type"] or current_type or "system"
    if not desired["bond"] and port_type in ("system", "internal"):
        check_ifname(desired["name"], PORT, desired["label"])


def _membership_commands(desired, view, state):
    """Add and remove interfaces of an existing port in place; returns commands and new members."""
    name = desired["name"]
    have, want = set(view["interfaces"]), set(_members(desired))
    commands = []
    # Symbolic row names are unique per port, so several ports' plans can share one transaction.
    prefix = "@" + re.sub(r"[^A-Za-z0-9_]", "_", name)
    for index, member in enumerate(sorted(want - have)):
        ref = f"{prefix}_if{index}"
        commands.append([f"--id={ref}", "create", "Interface", f"name={quote(member)}"])
        commands.append(["add", "Port", name, "interfaces", ref])
    for member in sorted(have - want):
        commands.append(["remove", "Port", name, "interfaces", state["interfaces"][member]["uuid"]])
    return commands, sorted(want - have), sorted(have - want)


def _interface_commands(desired, ifaces):
    """Type, options and MTU of each wanted interface; ``ifaces`` is the view's dict (updated)."""
    commands = []
    for member in _members(desired):
        iface = ifaces.setdefault(member, _empty_iface_view())
        if desired["type"] is not None and iface["type"] != desired["type"]:
            commands.append(["set", "Interface", member, f"type={desired['type']}"])
            iface["type"] = desired["type"]
        if desired["interface_options"]:
            commands += map_commands("Interface", member, "options", iface["options"], desired["interface_options"])
            iface["options"] = merge_map(iface["options"], desired["interface_options"])
        if desired["mtu"] is not None and iface["mtu"] != desired["mtu"]:
            commands.append(["set", "Interface", member, f"mtu_request={desired['mtu']}"])
            iface["mtu"] = desired["mtu"]
    return commands


def _vlan_commands(desired, after):
    """The VLAN group is owned: values left out are cleared."""
    name, vlan = desired["name"], desired["vlan"]
    wanted = {
        "tag": vlan["tag"],
        "trunks": "[" + ",".join(map(str, vlan["trunks"])) + "]" if vlan["trunks"] else None,
        "vlan_mode": vlan["vlan_mode"],
    }
    have = {
        "tag": after["tag"],
        "trunks": "[" + ",".join(map(str, after["trunks"])) + "]" if after["trunks"] else None,
        "vlan_mode": after["vlan_mode"],
    }
    sets = [f"{column}={value}" for column, value in wanted.items() if value is not None and have[column] != value]
    clears = [column for column, value in wanted.items() if value is None and have[column] is not None]
    after.update({"tag": vlan["tag"], "trunks": list(vlan["trunks"]), "vlan_mode": vlan["vlan_mode"]})
    commands = [["set", "Port", name] + sets] if sets else []
    return commands + ([["clear", "Port", name] + clears] if clears else [])


# Column, bond option, and what an empty column means to OVS.
_BOND_COLUMNS = (
    ("bond_mode", "mode", None),
    ("lacp", "lacp", "off"),
    ("bond_updelay", "updelay", 0),
    ("bond_downdelay", "downdelay", 0),
)


def _bond_commands(desired, after):
    bond = desired["bond"]
    if not bond:
        return []
    columns = []
    for column, option, default in _BOND_COLUMNS:
        have = after.get(column)
        if bond[option] is not None and (default if have is None else have) != bond[option]:
            columns.append(f"{column}={bond[option]}")
            after[column] = bond[option]
    return [["set", "Port", desired["name"]] + columns] if columns else []


def _unbond_commands(desired, after, was_bond):
    """A bond that became a single-interface port drops its bond settings."""
    if desired["bond"] or not was_bond:
        return []
    for column in ("bond_mode", "lacp", "bond_updelay", "bond_downdelay"):
        after.pop(column, None)
    return [["clear", "Port", desired["name"], "bond_mode", "lacp"]]


def _settings_commands(desired, view, state, existing):
    """Commands that take ``view`` (the port now, or an empty one just added) to the desired settings."""
    after = {**view, "interfaces": {k: dict(v) for k, v in view["interfaces"].items()}}
    commands = []
    was_bond = len(view["interfaces"]) > 1
    if existing:
        membership, added, removed = _membership_commands(desired, view, state)
        commands += membership
        for member in removed:
            after["interfaces"].pop(member)
        for member in added:
            after["interfaces"][member] = _empty_iface_view()
        if desired["bond"] and not was_bond:
            after.update({"bond_mode": None, "lacp": None, "bond_updelay": 0, "bond_downdelay": 0})
    commands += _interface_commands(desired, after["interfaces"])
    commands += _vlan_commands(desired, after)
    commands += _bond_commands(desired, after)
    if existing:
        commands += _unbond_commands(desired, after, was_bond)
    for column in ("other_config", "external_ids"):
        commands += map_commands("Port", desired["name"], column, view[column], desired[column])
        after[column] = merge_map(view[column], desired[column])
    after["interfaces"] = dict(sorted(after["interfaces"].items()))
    return commands, after


def plan_port(desired, state, assume_missing_bridge=False):
    """Everything an ovs_port run does, decided before anything changes.

    ``assume_missing_bridge`` (check mode) plans a port on a bridge that does
    not exist yet as if an earlier task of the same run had created it, and
    says so in ``warnings``; a real run fails instead.
    """
    name, bridge = desired["name"], desired["bridge"]
    before = port_view(name, state)
    current = state["ports"].get(name)
    if desired["state"] == "absent":
        if current is None or (bridge and current["bridge"] != bridge):
            return finish([], before, before)
        return finish([["del-port", current["bridge"], name]], before, {"name": name, "state": "absent"})
    warnings = []
    if bridge not in state["bridges"]:
        if not assume_missing_bridge:
            raise KvmopsError(PORT, desired["label"], f"bridge {bridge!r} does not exist")
        warnings.append(f"bridge {bridge!r} does not exist yet; planned as if an earlier task created it")
    current_type = state["interfaces"].get(name, {}).get("type") if current else None
    _check_names(desired, current_type)
    _check_members_free(desired, state)
    if current is not None and current["bridge"] == bridge:
        commands, after = _settings_commands(desired, before, state, existing=True)
        return finish(commands, before, after, warnings)
    commands = [["del-port", current["bridge"], name]] if current is not None else []
    members = _members(desired)
    if desired["bond"]:
        commands.append(["add-bond", bridge, name] + members)
    else:
        commands.append(["add-port", bridge, name])
    settings, after = _settings_commands(desired, _empty_port_view(desired, members), state, existing=False)
    return finish(commands + settings, before, after, warnings)
