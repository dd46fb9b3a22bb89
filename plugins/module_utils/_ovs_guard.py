# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: which interfaces carry the Ansible connection, and which kvm_ovs items touch them.

Used by the ``kvmops.kvm.ovs_connection_guard`` filter that the kvm_ovs role
runs before any change. Inputs are Ansible's network facts, the result of
``ovs_info`` and the role's bridge, bond and port lists; nothing here talks
to the host.
"""

from __future__ import annotations

import ipaddress

# What a port of these kinds adds to a bridge that carries the connection can
# loop or steal its traffic; internal and patch ports cannot.
_UPLINK_TYPES = (None, "system")


def fact_key(name):
    """The key of an interface's facts in ``ansible_facts`` (Ansible turns '-' and ':' into '_')."""
    return name.replace("-", "_").replace(":", "_")


def _addresses_of(iface_facts):
    found = []
    ipv4 = iface_facts.get("ipv4")
    for entry in ipv4 if isinstance(ipv4, list) else [ipv4 or {}]:
        if isinstance(entry, dict) and entry.get("address"):
            found.append(entry["address"])
    for key in ("ipv4_secondaries", "ipv6"):
        found += [entry.get("address") for entry in iface_facts.get(key) or [] if isinstance(entry, dict)]
    return {address for address in found if address}


def _is_ip(value):
    try:
        ipaddress.ip_address(str(value).split("%", maxsplit=1)[0])
    except ValueError:
        return False
    return True


def connection_interfaces(facts, addresses):
    """Interfaces holding one of ``addresses`` (the ones Ansible connects to), plus the default route's."""
    wanted = {str(address) for address in addresses or [] if address and _is_ip(address)}
    found = set()
    for name in facts.get("interfaces") or []:
        if _addresses_of(facts.get(fact_key(name)) or {}) & wanted:
            found.add(name)
    default = (facts.get("default_ipv4") or {}).get("interface")
    if default:
        found.add(default)
    return sorted(found)


def protected_interfaces(facts, ovs_info, connection, extra=()):
    """The connection's interfaces and everything under them: their OVS bridge and its uplinks, Linux bond
    members and Linux bridge ports, followed transitively."""
    ovs_info = ovs_info or {}
    ifaces = {iface["name"]: iface for iface in ovs_info.get("interfaces") or []}
    ports = list(ovs_info.get("ports") or [])
    protected = set(connection) | set(extra or [])
    queue = sorted(protected)
    while queue:
        name = queue.pop()
        related = []
        bridge = (ifaces.get(name) or {}).get("bridge")
        if bridge:
            related.append(bridge)
            for port in ports:
                if port.get("bridge") == bridge and port.get("type") in ("system", "bond"):
                    related += [port["name"]] + list(port.get("interfaces") or [])
        iface_facts = facts.get(fact_key(name)) or {}
        related += list(iface_facts.get("slaves") or []) + list(iface_facts.get("interfaces") or [])
        for other in related:
            if other not in protected:
                protected.add(other)
                queue.append(other)
    return sorted(protected)


def risky_items(bridges, bonds, ports, protected):
    """The role's items that change something the connection depends on, each with what it touches."""
    protected = set(protected)
    risky = []
    for bridge in bridges or []:
        if bridge["name"] in protected:
            risky.append({"kind": "bridge", "name": bridge["name"], "touches": [bridge["name"]]})
    for bond in bonds or []:
        names = {bond["name"], *bond.get("interfaces", [])}
        if bond.get("bridge") in protected:
            names.add(bond["bridge"])
        touches = sorted(names & protected)
        if touches:
            risky.append({"kind": "bond", "name": bond["name"], "touches": touches})
    for port in ports or []:
        names = {port["name"]}
        if port.get("type") in _UPLINK_TYPES and port.get("bridge") in protected:
            names.add(port["bridge"])
        touches = sorted(names & protected)
        if touches:
            risky.append({"kind": "port", "name": port["name"], "touches": touches})
    return risky


def connection_guard(facts, ovs_info, bridges, bonds, ports, addresses, extra=()):
    """Everything the role's safety check needs, in one dict."""
    connection = connection_interfaces(facts, addresses)
    protected = protected_interfaces(facts, ovs_info, connection, extra)
    return {
        "addresses": sorted({str(address) for address in addresses or [] if address and _is_ip(address)}),
        "connection_interfaces": connection,
        "protected": protected,
        "risky": risky_items(bridges, bonds, ports, protected),
    }
