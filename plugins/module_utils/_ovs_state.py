# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: the JSON that ``ovs-vsctl --format=json list TABLE`` prints → one state dict.

``_ovs.py`` runs one read-only ``ovs-vsctl`` call listing the tables in
:data:`READ_TABLES` and hands its stdout to :func:`parse_state`. Nothing here
runs a command, so the parsing is unit-tested on output captured from a real
ovsdb-server.

OVSDB's JSON wraps values: ``["uuid", U]``, ``["set", [...]]``,
``["map", [[k, v], ...]]``. A set with exactly one element is printed bare, so
whether a column holds a list or an optional scalar is knowledge of the schema
(:data:`LIST_COLUMNS`), not of the value.
"""

from __future__ import annotations

import json

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

READ_TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")
# Columns that are sets of any size; every other set column is optional (0 or 1).
LIST_COLUMNS = {
    "Open_vSwitch": {"bridges", "datapath_types", "iface_types", "manager_options", "datapaths"},
    "Bridge": {"ports", "controller", "flood_vlans", "mirrors", "protocols", "flow_tables"},
    "Port": {"interfaces", "trunks", "cvlans"},
    "Interface": {"cfm_remote_mpids", "cfm_remote_opstate"},
}
# OVS stores the default interface type and datapath type as "" and means "system".
DEFAULT_TYPE = "system"


class OvsStateError(ValueError):
    """ovs-vsctl printed something that is not the expected table JSON."""


def decode_value(value, is_list=False):
    """One OVSDB JSON value → Python: sets become lists (or one optional scalar), maps dicts, uuids strings."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        tag, payload = value
        if tag == "set":
            items = [decode_value(item) for item in payload]
            if is_list:
                return items
            if not items:
                return None
            return items[0] if len(items) == 1 else items
        if tag == "map":
            return {decode_value(key): decode_value(item) for key, item in payload}
        if tag in ("uuid", "named-uuid"):
            return [payload] if is_list else payload
    return [value] if is_list else value


def parse_tables(stdout, tables=READ_TABLES):
    """stdout of one ``ovs-vsctl --format=json -- list A -- list B ...`` → ``{table: [row dicts]}``.

    ovs-vsctl prints one JSON document per ``list`` command, one per line, in
    the order of the commands.
    """
    documents = [line for line in stdout.splitlines() if line.strip()]
    if len(documents) != len(tables):
        raise OvsStateError(f"expected {len(tables)} JSON tables from ovs-vsctl, got {len(documents)}")
    result = {}
    for table, document in zip(tables, documents):
        try:
            listing = json.loads(document)
            headings, data = listing["headings"], listing["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise OvsStateError(f"table {table}: not ovs-vsctl JSON ({exc})") from exc
        lists = LIST_COLUMNS.get(table, set())
        result[table] = [
            {column: decode_value(cell, column in lists) for column, cell in zip(headings, row)} for row in data
        ]
    return result


def _type(value):
    return value or DEFAULT_TYPE


def _bool(value):
    return bool(value) if value is not None else False


def _bridge(row, port_names):
    return {
        "uuid": row["_uuid"],
        "name": row["name"],
        "datapath_type": _type(row.get("datapath_type")),
        "datapath_id": row.get("datapath_id"),
        "fail_mode": row.get("fail_mode"),
        "stp": _bool(row.get("stp_enable")),
        "rstp": _bool(row.get("rstp_enable")),
        "mcast_snooping": _bool(row.get("mcast_snooping_enable")),
        "other_config": row.get("other_config") or {},
        "external_ids": row.get("external_ids") or {},
        "ports": sorted(port_names),
    }


def _port(row, bridge, iface_names):
    return {
        "uuid": row["_uuid"],
        "name": row["name"],
        "bridge": bridge,
        "interfaces": sorted(iface_names),
        "tag": row.get("tag"),
        "trunks": sorted(row.get("trunks") or []),
        "vlan_mode": row.get("vlan_mode"),
        "bond_mode": row.get("bond_mode"),
        "lacp": row.get("lacp"),
        "bond_updelay": row.get("bond_updelay") or 0,
        "bond_downdelay": row.get("bond_downdelay") or 0,
        "bond_active_slave": row.get("bond_active_slave"),
        "other_config": row.get("other_config") or {},
        "external_ids": row.get("external_ids") or {},
        "status": row.get("status") or {},
    }


def _interface(row, port, bridge):
    return {
        "uuid": row["_uuid"],
        "name": row["name"],
        "port": port,
        "bridge": bridge,
        "type": _type(row.get("type")),
        "options": row.get("options") or {},
        "mtu": row.get("mtu"),
        "mtu_request": row.get("mtu_request"),
        "ofport": row.get("ofport"),
        "error": row.get("error"),
        "admin_state": row.get("admin_state"),
        "link_state": row.get("link_state"),
        "link_speed": row.get("link_speed"),
        "mac_in_use": row.get("mac_in_use"),
        "lacp_current": row.get("lacp_current"),
        "external_ids": row.get("external_ids") or {},
    }


def build_state(tables):
    """``{table: rows}`` → ``{"system", "bridges", "ports", "interfaces"}``, each keyed by name.

    References (a bridge's ports, a port's interfaces) are resolved to names,
    and every port and interface knows its bridge. Rows no bridge refers to
    (possible between two ovs-vsctl transactions of other tools) keep
    ``bridge: None``.
    """
    ports_by_uuid = {row["_uuid"]: row for row in tables.get("Port", [])}
    ifaces_by_uuid = {row["_uuid"]: row for row in tables.get("Interface", [])}
    bridge_of_port, port_of_iface = {}, {}
    bridges = {}
    for row in tables.get("Bridge", []):
        names = []
        for uuid in row.get("ports") or []:
            if uuid in ports_by_uuid:
                names.append(ports_by_uuid[uuid]["name"])
                bridge_of_port[uuid] = row["name"]
        bridges[row["name"]] = _bridge(row, names)
    ports = {}
    for uuid, row in ports_by_uuid.items():
        names = []
        for iface_uuid in row.get("interfaces") or []:
            if iface_uuid in ifaces_by_uuid:
                names.append(ifaces_by_uuid[iface_uuid]["name"])
                port_of_iface[iface_uuid] = uuid
        ports[row["name"]] = _port(row, bridge_of_port.get(uuid), names)
    interfaces = {}
    for uuid, row in ifaces_by_uuid.items():
        port_uuid = port_of_iface.get(uuid)
        port_name = ports_by_uuid[port_uuid]["name"] if port_uuid else None
        interfaces[row["name"]] = _interface(row, port_name, bridge_of_port.get(port_uuid))
    system_rows = tables.get("Open_vSwitch") or [{}]
    system = system_rows[0]
    return {
        "system": {
            "ovs_version": system.get("ovs_version"),
            "db_version": system.get("db_version"),
            "datapath_types": sorted(system.get("datapath_types") or []),
            "iface_types": sorted(system.get("iface_types") or []),
            "system_id": (system.get("external_ids") or {}).get("system-id"),
        },
        "bridges": bridges,
        "ports": ports,
        "interfaces": interfaces,
    }


def parse_state(stdout, db_label="Open vSwitch"):
    """stdout of the read call → state; a malformed answer becomes a KvmopsError naming the database."""
    try:
        return build_state(parse_tables(stdout))
    except OvsStateError as exc:
        raise KvmopsError("Open vSwitch database", db_label, f"unexpected answer from ovs-vsctl: {exc}") from exc
