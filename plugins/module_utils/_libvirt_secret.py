# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_secret: read the secret, plan purely, apply the plan.

libvirt's messages about secrets name the uuid and usage only, never the
value, so they are safe to pass on. A secret this run defined is undefined
again when writing its value fails, so no half-made secret stays behind.
"""

from __future__ import annotations

import hmac

from ansible_collections.kvmops.kvm.plugins.module_utils import _secret as sec
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt, libvirt_connection

_USAGE_TYPES = {"ceph": "VIR_SECRET_USAGE_TYPE_CEPH", "volume": "VIR_SECRET_USAGE_TYPE_VOLUME"}


def _errors(label):
    return reraise_as(libvirt.libvirtError, sec.SECRET, label)


def _missing(exc):
    return exc.get_error_code() == libvirt.VIR_ERR_NO_SECRET


def lookup(conn, desired):
    """``(handle, parsed)`` of the secret with the desired uuid and of the one with its usage."""
    label = sec.secret_label(desired)
    found = []
    with _errors(label):
        for attempt in ("uuid", "usage"):
            handle = None
            try:
                if attempt == "uuid" and desired["uuid"]:
                    handle = conn.raw.secretLookupByUUIDString(desired["uuid"])
                elif attempt == "usage" and desired["usage_name"]:
                    usage_type = getattr(libvirt, _USAGE_TYPES[desired["usage_type"]])
                    handle = conn.raw.secretLookupByUsage(usage_type, desired["usage_name"])
            except libvirt.libvirtError as exc:
                if not _missing(exc):
                    raise
            found.append((handle, sec.parse_secret_xml(handle.XMLDesc(0)) if handle is not None else None))
    return found


def value_matches(handle, label, wanted):
    """For a readable (non-private) secret: does its value equal ``wanted``? None when it has none."""
    with _errors(label):
        try:
            stored = handle.value()
        except libvirt.libvirtError as exc:
            if _missing(exc) or exc.get_error_code() == libvirt.VIR_ERR_INVALID_SECRET:
                return None
            raise
    return hmac.compare_digest(bytes(stored), wanted)


def apply_plan(conn, handle, desired, plan):
    """Carry out the plan; a secret defined by this run is undefined again if its value cannot be set."""
    label = sec.secret_label({**desired, "uuid": (plan["after"] or plan["before"] or {}).get("uuid")})
    defined_now = False
    for action in plan["actions"]:
        op = action["op"]
        if op == "undefine":
            with _errors(label):
                handle.undefine()
            handle = None
        elif op == "define":
            with _errors(label):
                new_handle = conn.raw.secretDefineXML(action["xml"], 0)
            defined_now = handle is None
            handle = new_handle
        elif op == "set value":
            try:
                with _errors(label):
                    handle.setValue(action["value"], 0)
            except KvmopsError as exc:
                if not defined_now:
                    raise
                try:
                    with _errors(label):
                        handle.undefine()
                except KvmopsError as cleanup:
                    raise KvmopsError(
                        sec.SECRET,
                        label,
                        f"setting the value failed: {exc.cause}; undefining the half-made secret failed too: "
                        f"{cleanup.cause}",
                    ) from exc
                raise KvmopsError(
                    sec.SECRET, label, f"setting the value failed, secret undefined again: {exc.cause}"
                ) from exc
    return handle


def manage_secret(uri, params, check_mode, want_diff):
    """The whole run of libvirt_secret: returns the module's result keys, raises KvmopsError."""
    desired = sec.normalise_params(params)
    with libvirt_connection(uri) as conn:
        (uuid_handle, by_uuid), (usage_handle, by_usage) = lookup(conn, desired)
        current = sec.check_identity(desired, by_uuid, by_usage)
        handle = uuid_handle if desired["uuid"] else usage_handle
        matches = None
        if current is not None and not current["private"] and desired["value"] is not None:
            matches = value_matches(handle, sec.secret_label(desired), desired["value"])
        plan = sec.plan_secret(desired, current, matches)
        result = {
            "changed": plan["changed"],
            "actions": [action["text"] for action in plan["actions"]],
            "value_written": plan["value_written"],
        }
        if want_diff:
            result["diff"] = sec.build_diff(desired, plan)
        if plan["changed"] and not check_mode:
            handle = apply_plan(conn, handle, desired, plan)
        if check_mode:
            result["secret"] = sec.secret_result(current)
        elif handle is not None:
            with _errors(sec.secret_label(desired)):
                result["secret"] = sec.secret_result(sec.parse_secret_xml(handle.XMLDesc(0)))
        else:
            result["secret"] = None
    return result
