# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: parsed OVS state (``_ovs_state.build_state``) → what ovs_info returns.

Lists, not dicts keyed by name, as ``_info`` modules return them; sorted by
name so two runs on the same switch return the same document.
"""

from __future__ import annotations

# Interface columns ovs_info returns, in this order; uuids stay internal.
_INTERFACE_KEYS = (
    "name",
    "port",
    "bridge",
    "type",
    "options",
    "mtu",
    "mtu_request",
    "ofport",
    "error",
    "admin_state",
    "link_state",
    "link_speed",
    "mac_in_use",
    "lacp_current",
    "external_ids",
)


def _bond(port, interfaces):
    """Bond status from what ovs-vswitchd writes back into the database."""
    members = [interfaces[name] for name in port["interfaces"] if name in interfaces]
    active = port["bond_active_slave"]
    active_member = next(
        (member["name"] for member in members if active and member["mac_in_use"] == active),
        None,
    )
    return {
        "mode": port["bond_mode"],
        "lacp": port["lacp"] or "off",
        "updelay": port["bond_updelay"],
        "downdelay": port["bond_downdelay"],
        "active_member": active_member,
        "members": [
            {
                "name": member["name"],
                "link_state": member["link_state"],
                "admin_state": member["admin_state"],
                "lacp_current": member["lacp_current"],
                "mtu": member["mtu"],
                "error": member["error"],
            }
            for member in members
        ],
        "lacp_time": port["other_config"].get("lacp-time", "slow"),
        "detect_mode": port["other_config"].get("bond-detect-mode", "carrier"),
    }


def _port(port, interfaces):
    is_bond = len(port["interfaces"]) > 1
    single = interfaces.get(port["interfaces"][0]) if len(port["interfaces"]) == 1 else None
    return {
        "name": port["name"],
        "bridge": port["bridge"],
        "type": "bond" if is_bond else (single["type"] if single else None),
        "interfaces": list(port["interfaces"]),
        "tag": port["tag"],
        "trunks": list(port["trunks"]),
        "vlan_mode": port["vlan_mode"],
        "bond": _bond(port, interfaces) if is_bond else None,
        "other_config": port["other_config"],
        "external_ids": port["external_ids"],
    }


def _bridge(bridge, interfaces):
    local = interfaces.get(bridge["name"]) or {}
    return {
        "name": bridge["name"],
        "datapath_type": bridge["datapath_type"],
        "datapath_id": bridge["datapath_id"],
        "fail_mode": bridge["fail_mode"],
        "stp": bridge["stp"],
        "rstp": bridge["rstp"],
        "mtu": local.get("mtu"),
        "mtu_request": local.get("mtu_request"),
        "other_config": bridge["other_config"],
        "external_ids": bridge["external_ids"],
        "ports": list(bridge["ports"]),
    }


def _vlans(ports):
    """Which ports carry each VLAN named in a tag or trunk list, per bridge.

    A port with a tag and no (or the access) vlan_mode is an access port; a
    native-tagged/-untagged port is a trunk port for its trunks and its native
    VLAN. Ports without tag and trunks carry every VLAN and are not listed.
    """
    table = {}
    for port in ports:
        bridge, mode = port["bridge"], port["vlan_mode"]
        if port["tag"] is not None and mode in (None, "access", "dot1q-tunnel"):
            table.setdefault((bridge, port["tag"]), {"access": [], "trunk": []})["access"].append(port["name"])
            continue
        carried = set(port["trunks"])
        if port["tag"] is not None:
            carried.add(port["tag"])
        for vid in carried:
            table.setdefault((bridge, vid), {"access": [], "trunk": []})["trunk"].append(port["name"])
    return [
        {"bridge": bridge, "id": vid, "access_ports": sorted(ports["access"]), "trunk_ports": sorted(ports["trunk"])}
        for (bridge, vid), ports in sorted(table.items(), key=lambda item: (item[0][0] or "", item[0][1]))
    ]


def summarise(state, bridge=None):
    """The ovs_info result; ``bridge`` limits bridges, ports, interfaces, VLANs and bonds to one bridge."""
    interfaces = state["interfaces"]
    bridges = [b for name, b in sorted(state["bridges"].items()) if bridge is None or name == bridge]
    ports = [p for name, p in sorted(state["ports"].items()) if bridge is None or p["bridge"] == bridge]
    ifaces = [i for name, i in sorted(interfaces.items()) if bridge is None or i["bridge"] == bridge]
    port_results = [_port(port, interfaces) for port in ports]
    return {
        **state["system"],
        "bridges": [_bridge(b, interfaces) for b in bridges],
        "ports": port_results,
        "interfaces": [{key: iface[key] for key in _INTERFACE_KEYS} for iface in ifaces],
        "vlans": _vlans(ports),
        "bonds": [{"name": p["name"], "bridge": p["bridge"], **p["bond"]} for p in port_results if p["bond"]],
    }
