# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: the kvm_ovs role's inventory lists → validation, ovs_switch options and the plan of writes.

The role reads the host once (kvmops.kvm.host_probe, one ovs_switch check-mode
run) and decides here, on the controller, what differs:

- :func:`role_problems`: every inventory problem in one list. The switch items
  are checked by the OVS modules' own validators (``normalise_bridge``,
  ``normalise_port`` through ``_ovs_switch.collect_switch``), so the role and
  the modules cannot disagree about a name, a VLAN or a bond.
- :func:`switch_options`: the role's items → kvmops.kvm.ovs_switch options,
  with the role-wide defaults (datapath type, MTU) filled in.
- :func:`files_plan`: the host_files items whose file differs from what the
  probe read (with the host_files planner itself), plus removals of the role's
  files no longer declared.
- :func:`connection_changes`: which guarded items the run would change.
- :func:`missing_addresses`: host addresses the interfaces do not carry yet.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_files as host_files
from ansible_collections.kvmops.kvm.plugins.module_utils import _systemd_units as systemd_units
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_guard import fact_key
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_plan import check_ifname
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_port_plan import (
    NETDEV_TYPES,
    PORT,
    VLAN_MAX,
    port_label,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_switch import collect_switch

BRIDGE_KEYS = ("name", "state", "datapath_type", "fail_mode", "mtu", "stp", "rstp", "other_config", "external_ids")
BOND_KEYS = (
    "name",
    "bridge",
    "state",
    "interfaces",
    "mode",
    "lacp",
    "updelay",
    "downdelay",
    "other_config",
    "tag",
    "trunks",
    "vlan_mode",
    "mtu",
    "external_ids",
)
PORT_KEYS = (
    "name",
    "bridge",
    "state",
    "type",
    "peer",
    "remote_ip",
    "tunnel_key",
    "interface_options",
    "tag",
    "trunks",
    "vlan_mode",
    "mtu",
    "other_config",
    "external_ids",
)


def _pick(item, keys):
    return {key: item[key] for key in keys if item.get(key) is not None}


def switch_options(bridges, bonds, ports, datapath_type="system", mtu=None):
    """The role's items → ``{bridges, bonds, ports}`` for kvmops.kvm.ovs_switch.

    An item's own ``mtu`` wins over the role-wide one; patch and tunnel ports
    have no MTU of their own, so they never get the role-wide one.
    """
    result = {"bridges": [], "bonds": [], "ports": []}
    for item in bridges or []:
        option = _pick(item, BRIDGE_KEYS)
        option.setdefault("datapath_type", datapath_type)
        if not option.get("mtu") and mtu:
            option["mtu"] = mtu
        result["bridges"].append(option)
    for item in bonds or []:
        option = _pick(item, BOND_KEYS)
        if not option.get("mtu") and mtu:
            option["mtu"] = mtu
        result["bonds"].append(option)
    for item in ports or []:
        option = _pick(item, PORT_KEYS)
        if not option.get("mtu") and mtu and (item.get("type") or "system") in NETDEV_TYPES:
            option["mtu"] = mtu
        result["ports"].append(option)
    return result


def _address_problems(item):
    problems = []
    for address in item.get("addresses") or []:
        text = str(address)
        try:
            if "/" not in text:
                raise ValueError(text)
            ipaddress.ip_interface(text)
        except ValueError:
            problems.append(f"{item['name']} address {text} is not ADDRESS/PREFIX")
    return problems


def _network_problems(networks):
    problems = []
    names = [item.get("name") for item in networks]
    for item in networks:
        name = item.get("name")
        label = f"libvirt network {name}"
        if names.count(name) > 1 and f"{label} is declared more than once" not in problems:
            problems.append(f"{label} is declared more than once")
        if (item.get("state") or "present") == "present" and not item.get("bridge"):
            problems.append(f"{label} needs a bridge")
        vlans = list(item.get("vlans") or [])
        for vlan in vlans:
            if not isinstance(vlan, int) or isinstance(vlan, bool) or not 0 <= vlan <= VLAN_MAX:
                problems.append(f"{label} VLAN {vlan} is outside 0-{VLAN_MAX}")
        if len(set(map(str, vlans))) != len(vlans):
            problems.append(f"{label} lists a VLAN twice")
        if item.get("default_vlan") is not None and item["default_vlan"] not in vlans:
            problems.append(f"{label} default_vlan {item['default_vlan']} is not in its vlans")
    return problems


def role_problems(bridges, bonds, ports, networks, settings):
    """Every problem of the role's inventory, in one list (empty when it is valid).

    ``settings``: ``datapath_type``, ``mtu``, ``reconnect_timeout``, ``rollback_timeout``.
    """
    bridges, bonds, ports, networks = (list(value or []) for value in (bridges, bonds, ports, networks))
    options = switch_options(bridges, bonds, ports, settings.get("datapath_type") or "system", settings.get("mtu"))
    _items, problems = collect_switch(options["bridges"], options["bonds"], options["ports"])
    for item in ports:
        # ovs_port checks a device name when it plans (an existing port may keep
        # another type); the role's items are system ports unless they say otherwise.
        if (item.get("state") or "present") == "present" and (item.get("type") or "system") in NETDEV_TYPES:
            try:
                check_ifname(item["name"], PORT, port_label(item.get("bridge"), item["name"]))
            except KvmopsError as exc:
                problems.append(str(exc))
        if item.get("addresses") and (item.get("type") or "system") != "internal":
            problems.append(f"port {item['name']} has addresses but is not of type internal")
    for item in bridges + ports:
        problems += _address_problems(item)
    problems += _network_problems(networks)
    reconnect, rollback = settings.get("reconnect_timeout"), settings.get("rollback_timeout")
    if reconnect is not None and rollback is not None and reconnect >= rollback:
        problems.append("kvm_ovs_reconnect_timeout must be shorter than kvm_ovs_rollback_timeout")
    unique = []
    for problem in problems:
        if problem not in unique:
            unique.append(problem)
    return unique


# --- files -------------------------------------------------------------------


def file_differs(found, item):
    """Whether kvmops.kvm.host_files would change ``item`` on a host where the probe found ``found``."""
    return host_files.differs_from_probe(host_files.wanted_from_item(dict(item)), found)


def files_plan(probe_files, wanted, owned):
    """The host_files items to write: wanted ones that differ, then removals of owned paths not wanted.

    ``probe_files``: host_probe's ``files`` (path → found); ``owned``: the
    role's files on the host now (host_probe's ``globs`` matches).
    """
    probe_files = dict(probe_files or {})
    items = [dict(item) for item in wanted or [] if file_differs(probe_files.get(item["path"]), item)]

    keep = {item["path"] for item in wanted or []}
    items += [{"path": path, "state": "absent"} for path in sorted(set(owned or [])) if path not in keep]
    return items


def unit_needs_action(state, item):
    """Whether kvmops.kvm.systemd_units would act on ``item`` (its own planner on the probed state)."""
    return systemd_units.would_act(item, state)


def host_plan(probe, packages, units, files, owned):
    """One host_probe result + what the role wants → ``{packages, units, files}`` that differ.

    ``packages``: names (missing ones returned); ``units``: systemd_units items
    (those it would act on returned); ``files``/``owned``: as :func:`files_plan`.
    A probe that did not run (skipped, no keys) plans everything.
    """
    probe = dict(probe or {})
    found_packages = probe.get("packages") or {}
    found_units = probe.get("units") or {}
    return {
        "packages": [name for name in packages or [] if not found_packages.get(name)],
        "units": [dict(item) for item in units or [] if unit_needs_action(found_units.get(item["name"]), item)],
        "files": files_plan(probe.get("files"), files, owned),
    }


# --- safety and addresses ------------------------------------------------------


def connection_changes(guard, switch_items, file_items, file_names):
    """Names of the guarded items this run changes: risky switch items and protected interfaces' files.

    ``switch_items``: ovs_switch's ``items`` (check mode); ``file_items``: the
    :func:`files_plan` items; ``file_names``: path → interface of each
    interface file.
    """
    guard = dict(guard or {})
    risky = {item["name"] for item in guard.get("risky") or []}
    protected = set(guard.get("protected") or [])
    names = [item["name"] for item in switch_items or [] if item.get("changed") and item["name"] in risky]
    for item in file_items or []:
        name = (file_names or {}).get(item["path"])
        if name in protected and item.get("state", "file") != "absent":
            names.append(name)
    unique = []
    for name in names:
        if name not in unique:
            unique.append(name)
    return unique


def missing_addresses(interfaces, facts):
    """``["mgmt20 203.0.113.23/24"]`` for each wanted address an interface does not carry (setup's facts)."""
    missing = []
    facts = dict(facts or {})
    for iface in interfaces or []:
        found = facts.get(fact_key(iface["name"])) or facts.get("ansible_" + fact_key(iface["name"])) or {}
        have = set()
        for entry in (
            [found.get("ipv4") or {}] + list(found.get("ipv4_secondaries") or []) + list(found.get("ipv6") or [])
        ):
            if entry.get("address"):
                have.add(entry["address"])
        for address in iface.get("addresses") or []:
            if str(address).split("/", maxsplit=1)[0] not in have:
                missing.append(f"{iface['name']} {address}")
    return missing
