# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_pool: read the pool, plan purely, probe Ceph if needed, apply.

Before any call that makes libvirt talk to Ceph (start, restart, refresh of
an rbd pool), the monitors are probed with a short TCP timeout, so a dead
cluster fails the task in seconds, naming monitor and pool, instead of
libvirt waiting 30 s per call. A pool this run defined is removed again when
building or starting it fails (a wrong cephx key, a missing directory), so no
half-made pool stays behind.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils import _pool as pl
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt, libvirt_connection
from ansible_collections.kvmops.kvm.plugins.module_utils._monitor_probe import DEFAULT_PROBE_TIMEOUT, require_monitors

_SIZES = ("capacity", "allocation", "available")


def _errors(name):
    return reraise_as(libvirt.libvirtError, pl.POOL, name)


def read_pool(conn, name):
    """``(handle, current, summary)``; ``current`` is what :func:`_pool.plan_pool` takes, None when undefined."""
    with _errors(name):
        try:
            handle = conn.raw.storagePoolLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
                return None, None, None
            raise
        xml = handle.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE)
        active = bool(handle.isActive())
        autostart = bool(handle.autostart())
        # libvirt lists the volumes it found at the last start/refresh; no storage (or Ceph) is touched.
        volumes = handle.numOfVolumes() if active else None
    summary = pl.parse_pool(xml)[1]
    if active:
        # Sizes are only known while the pool runs.
        with _errors(name):
            summary.update({k: v for k, v in pl.parse_pool(handle.XMLDesc(0))[1].items() if k in _SIZES})
    return handle, {"xml": xml, "active": active, "autostart": autostart, "volumes": volumes}, summary


def check_monitors(desired, summary):
    """Fail fast, naming monitor and pool, when no Ceph monitor answers; warnings for the ones that do not."""
    rbd = desired.get("rbd") or {}
    ceph_pool = rbd.get("pool") or (summary or {}).get("source_name")
    timeout = rbd.get("probe_timeout") or DEFAULT_PROBE_TIMEOUT
    failures = require_monitors(pl.POOL, desired["name"], ceph_pool, pl.monitors_of(desired, summary), timeout)
    return [f"pool '{desired['name']}': Ceph monitor {failure} does not answer" for failure in failures]


def check_secret(conn, desired):
    """The rbd pool's secret must exist before the pool is defined; returns an error text or None."""
    rbd = desired.get("rbd") or {}
    if not rbd.get("username"):
        return None
    with _errors(desired["name"]):
        try:
            if rbd.get("secret_uuid"):
                conn.raw.secretLookupByUUIDString(rbd["secret_uuid"])
            else:
                conn.raw.secretLookupByUsage(libvirt.VIR_SECRET_USAGE_TYPE_CEPH, rbd["secret_usage"])
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_SECRET:
                raise
            ref = rbd.get("secret_uuid") or f"with usage '{rbd['secret_usage']}'"
            return f"libvirt secret {ref} is not defined: create it first (kvmops.kvm.libvirt_secret)"
    return None


def _explain(desired, cause):
    """Add what a failed rbd start most likely means: the monitors answered, so it is the credentials."""
    rbd = desired.get("rbd") or {}
    text = str(cause)
    if (desired.get("type") == "rbd" or rbd) and "RADOS" in text:
        user = f"client.{rbd['username']}" if rbd.get("username") else "the client"
        ref = rbd.get("secret_uuid") or rbd.get("secret_usage") or "(none)"
        return (
            f"{text}. The monitors answer, so the cephx key in libvirt secret {ref} is probably wrong, or {user} "
            f"lacks access to Ceph pool '{rbd.get('pool')}'"
        )
    return text


def _run(handle, op, action, pool_type):
    if op == "build":
        # For dir and netfs pools the flag would mean "format a file system"; they only create a directory.
        handle.build(libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE if pool_type == "logical" else 0)
    elif op == "start":
        handle.create(0)
    elif op == "destroy":
        handle.destroy()
    elif op == "undefine":
        handle.undefine()
    elif op == "autostart":
        handle.setAutostart(1 if action["value"] else 0)
    elif op == "refresh":
        handle.refresh(0)


def _roll_back(handle):
    """Remove a pool this run defined; returns what went wrong doing so, or None."""
    try:
        if handle.isActive():
            handle.destroy()
        handle.undefine()
    except libvirt.libvirtError as exc:
        return str(exc)
    return None


def apply_plan(conn, handle, desired, plan):
    name = desired["name"]
    for action in plan["actions"]:
        op = action["op"]
        try:
            with _errors(name):
                if op == "define":
                    handle = conn.raw.storagePoolDefineXML(action["xml"], 0)
                else:
                    _run(handle, op, action, desired["type"])
        except KvmopsError as exc:
            cause = _explain(desired, exc.cause)
            if not plan["created"] or handle is None:
                raise KvmopsError(pl.POOL, name, f"{action['text']} failed: {cause}") from exc
            problem = _roll_back(handle)
            if problem:
                raise KvmopsError(
                    pl.POOL,
                    name,
                    f"{action['text']} failed: {cause}; removing the half-made pool failed too: {problem}",
                ) from exc
            raise KvmopsError(
                pl.POOL, name, f"{action['text']} failed, pool definition removed again: {cause}"
            ) from exc
    return handle


def manage_pool(uri, params, check_mode, want_diff):
    """The whole run of libvirt_pool: returns the module's result keys, raises KvmopsError."""
    desired = pl.normalise_params(params)
    name = desired["name"]
    warnings = []
    with libvirt_connection(uri) as conn:
        handle, current, summary = read_pool(conn, name)
        plan = pl.plan_pool(desired, current)
        if pl.needs_ceph(desired, (summary or {}).get("type"), plan):
            warnings += check_monitors(desired, summary)
        if desired["type"] == "rbd" and any(a["op"] == "define" for a in plan["actions"]):
            problem = check_secret(conn, desired)
            if problem and not check_mode:
                raise KvmopsError(pl.POOL, name, problem)
            if problem:
                # An earlier task of the same check run may be the one that creates it.
                warnings.append(f"pool '{name}': {problem}")
        result = {
            "changed": plan["changed"],
            "actions": [action["text"] for action in plan["actions"]],
            "changes": plan["changes"],
        }
        if want_diff:
            result["diff"] = pl.build_diff(desired, plan)
        if plan["actions"] and not check_mode:
            handle = apply_plan(conn, handle, desired, plan)
            if desired["state"] == "absent":
                current = summary = None
            else:
                _handle, current, summary = read_pool(conn, name)
        result["pool"] = (
            pl.pool_result(summary, current["active"], current["autostart"], current["volumes"]) if current else None
        )
    if warnings:
        result["warnings"] = warnings
    return result
