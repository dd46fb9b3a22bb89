# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_network: validate, read, plan purely, apply.

The other networks' subnets are read first, so an overlapping address fails
before anything changes. A network this run defined is undefined again when
starting it fails (a bridge name or subnet already in use on the host).
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils import _network as nw
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt, libvirt_connection
from ansible_collections.kvmops.kvm.plugins.module_utils._network_spec import NETWORK, check_overlap, normalise_params

_COMMANDS = {
    "add-last": "VIR_NETWORK_UPDATE_COMMAND_ADD_LAST",
    "delete": "VIR_NETWORK_UPDATE_COMMAND_DELETE",
    "modify": "VIR_NETWORK_UPDATE_COMMAND_MODIFY",
}
_SECTIONS = {
    "ip-dhcp-host": "VIR_NETWORK_SECTION_IP_DHCP_HOST",
    "ip-dhcp-range": "VIR_NETWORK_SECTION_IP_DHCP_RANGE",
    "portgroup": "VIR_NETWORK_SECTION_PORTGROUP",
}


def _errors(name):
    return reraise_as(libvirt.libvirtError, NETWORK, name)


def read_networks(conn, name):
    """``(handle, current, live_xml, others)``: this network (None when undefined) and the others' subnets."""
    handle = current = live_xml = None
    others = []
    with _errors(name):
        for net in conn.raw.listAllNetworks(0):
            if net.name() != name:
                # The persistent definition, or the running one of a transient network.
                flags = libvirt.VIR_NETWORK_XML_INACTIVE if net.isPersistent() else 0
                others.append((net.name(), nw.defined_subnets(net.XMLDesc(flags))))
                continue
            handle = net
            active = bool(net.isActive())
            current = {
                "xml": net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE),
                "active": active,
                "autostart": bool(net.autostart()),
            }
            live_xml = net.XMLDesc(0) if active else None
    return handle, current, live_xml, others


def _update(handle, update):
    handle.update(
        getattr(libvirt, _COMMANDS[update["command"]]),
        getattr(libvirt, _SECTIONS[update["section"]]),
        update["index"],
        update["xml"],
        libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE,
    )


def apply_plan(conn, handle, desired, plan):
    name = desired["name"]
    for action in plan["actions"]:
        op = action["op"]
        try:
            with _errors(name):
                if op == "define":
                    handle = conn.raw.networkDefineXML(action["xml"])
                elif op == "start":
                    handle.create()
                elif op == "destroy":
                    handle.destroy()
                elif op == "undefine":
                    handle.undefine()
                elif op == "autostart":
                    handle.setAutostart(1 if action["value"] else 0)
                elif op == "update":
                    _update(handle, action["update"])
        except KvmopsError as exc:
            if not plan["created"] or handle is None:
                raise KvmopsError(NETWORK, name, f"{action['text']} failed: {exc.cause}") from exc
            try:
                if handle.isActive():
                    handle.destroy()
                handle.undefine()
            except libvirt.libvirtError as cleanup:
                raise KvmopsError(
                    NETWORK,
                    name,
                    f"{action['text']} failed: {exc.cause}; removing the half-made network failed too: {cleanup}",
                ) from exc
            raise KvmopsError(
                NETWORK, name, f"{action['text']} failed, network definition removed again: {exc.cause}"
            ) from exc
    return handle


def manage_network(uri, params, check_mode, want_diff):
    """The whole run of libvirt_network: returns the module's result keys, raises KvmopsError."""
    desired = normalise_params(params)
    name = desired["name"]
    with libvirt_connection(uri) as conn:
        handle, current, live_xml, others = read_networks(conn, name)
        if desired["state"] != "absent" and desired["ips"]:
            problems = check_overlap(desired["ips"], others)
            if problems:
                raise KvmopsError(NETWORK, name, "; ".join(problems))
        plan = nw.plan_network(desired, current, live_xml)
        result = {
            "changed": plan["changed"],
            "actions": [action["text"] for action in plan["actions"]],
            "changes": plan["changes"],
            "restart_required": plan["restart_required"],
            "pending_changes": plan["pending"],
        }
        if want_diff:
            result["diff"] = nw.build_diff(desired, plan)
        if plan["changed"] and not check_mode:
            apply_plan(conn, handle, desired, plan)
            handle, current, live_xml, _others = read_networks(conn, name)
        result["network"] = _result(current, live_xml)
    return result


def _result(current, live_xml):
    if current is None:
        return None
    return {
        **nw.summary(live_xml or current["xml"]),
        "state": "active" if current["active"] else "inactive",
        "autostart": current["autostart"],
    }
