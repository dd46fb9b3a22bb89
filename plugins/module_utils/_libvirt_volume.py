# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_volume: read the pool and volume, plan purely, apply the plan.

Every libvirt call here runs inside :func:`reraise_as`, so a failure leaves as
a KvmopsError naming ``pool/volume`` (or the pool) and libvirt's own message.
"""

from __future__ import annotations

import os

from ansible_collections.kvmops.kvm.plugins.module_utils import _pool as pl
from ansible_collections.kvmops.kvm.plugins.module_utils import _volume as vol
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt, libvirt_connection
from ansible_collections.kvmops.kvm.plugins.module_utils._monitor_probe import require_monitors

POOL = "libvirt pool"
# libvirt-python's sendAll asks for this much at a time; reading more only costs memory.
UPLOAD_CHUNK = 256 * 1024


def _pool_errors(pool_name):
    return reraise_as(libvirt.libvirtError, POOL, pool_name)


def _volume_errors(pool_name, name):
    return reraise_as(libvirt.libvirtError, vol.VOLUME, vol.volume_label(pool_name, name))


def _lookup_pool(conn, pool_name):
    """The active pool ``pool_name`` and its summary (type, target path, Ceph pool); checks an rbd pool's monitors."""
    with _pool_errors(pool_name):
        pool = conn.raw.storagePoolLookupByName(pool_name)
        if not pool.isActive():
            raise KvmopsError(POOL, pool_name, "is not active: start it before managing its volumes")
        xml = pool.XMLDesc(0)
    summary = pl.parse_pool(xml)[1]
    if summary["type"] == "rbd":
        # Reading libvirt's volume list does not touch Ceph, but a refresh,
        # create, resize or delete would wait 30 s per call on a dead cluster.
        require_monitors(POOL, pool_name, summary["source_name"], pl.monitors_of({}, summary))
    return pool, summary


def _refresh(pool, pool_name):
    with _pool_errors(pool_name):
        pool.refresh(0)


def _pool_missing(conn, pool_name):
    """Why the pool cannot hold volumes now ("does not exist", "is not active"), or None when it can."""
    with _pool_errors(pool_name):
        try:
            pool = conn.raw.storagePoolLookupByName(pool_name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
                return "does not exist"
            raise
        return None if pool.isActive() else "is not active"


def _check_mode_without_pool(desired, why, want_diff):
    absent = desired["state"] == "absent"
    result = {
        "changed": not absent,
        "actions": [] if absent else [f"create (pool {desired['pool']} {why} yet)"],
        "volume": None,
        # Where a missing pool would put it is unknown.
        "path": None,
    }
    if want_diff:
        before = vol.diff_state(desired, False)
        after = before if absent else vol.diff_state(desired, True, desired.get("capacity"), desired.get("format"))
        result["diff"] = vol.build_diff(desired, {"before": before, "after": after})
    return result


def find_volume(pool, pool_name, name):
    """``(virStorageVol, parsed XML)`` of volume ``name``, or ``(None, None)`` when the pool has none."""
    with _volume_errors(pool_name, name):
        try:
            handle = pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return None, None
            raise
        return handle, vol.parse_volume_xml(handle.XMLDesc(0))


def _require_volume(pool, pool_name, name, role):
    handle, parsed = find_volume(pool, pool_name, name)
    if handle is None:
        raise KvmopsError(vol.VOLUME, vol.volume_label(pool_name, name), f"{role} does not exist")
    return handle, parsed


def _backing_source(conn, pool, desired):
    """Path, format and capacity of the image the overlay should sit on (format/capacity None if unknown)."""
    pool_name = desired["pool"]
    if desired["backing_volume"]:
        parsed = _require_volume(pool, pool_name, desired["backing_volume"], "the backing volume")[1]
        return {"path": parsed["path"], "format": parsed["format"], "capacity": parsed["capacity"]}
    path = desired["backing_path"]
    with reraise_as(libvirt.libvirtError, vol.VOLUME, path):
        try:
            handle = conn.raw.storageVolLookupByPath(path)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                return {"path": path, "format": None, "capacity": None}
            raise
        parsed = vol.parse_volume_xml(handle.XMLDesc(0))
    return {"path": path, "format": parsed["format"], "capacity": parsed["capacity"]}


def read_upload_head(desired):
    """The local upload file's format and sizes (:func:`_volume.inspect_image`), read without changing anything."""
    path = desired["upload_src"]
    label = vol.volume_label(desired["pool"], desired["name"])
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(vol.IMAGE_HEAD_BYTES)
    except OSError as exc:
        raise KvmopsError(vol.VOLUME, label, f"upload_src {path!r}: {exc.strerror or exc}") from exc
    try:
        return vol.inspect_image(head, size)
    except vol.ImageError as exc:
        raise KvmopsError(vol.VOLUME, label, f"upload_src {path!r} {exc}") from exc


def gather_sources(conn, pool, desired, current):
    """What the plan needs besides the volume itself, read only when the plan can use it."""
    sources = {}
    if desired["state"] != "present":
        return sources
    if current is None and desired["clone_from"]:
        sources["clone"] = _require_volume(pool, desired["pool"], desired["clone_from"], "the clone source")[1]
    if desired["backing_volume"] or desired["backing_path"]:
        sources["backing"] = _backing_source(conn, pool, desired)
    if desired["upload_src"] and (current is None or desired["force"]):
        sources["upload"] = read_upload_head(desired)
    return sources


class _ShortRead(OSError):
    """The file ended before the length announced to libvirt (it shrank since it was inspected)."""


def _upload(conn, handle, path, length):
    stream = conn.raw.newStream(0)
    handle.upload(stream, 0, length, 0)
    sent = 0

    def read_chunk(_stream, nbytes, source):
        nonlocal sent
        data = source.read(min(nbytes, UPLOAD_CHUNK, length - sent))
        sent += len(data)
        if not data and sent < length:
            raise _ShortRead(f"the file ended after {sent} of {length} bytes")
        return data

    with open(path, "rb") as source:
        # sendAll aborts the stream itself when the handler raises; libvirt would
        # otherwise accept a short upload as complete.
        stream.sendAll(read_chunk, source)
    stream.finish()


def _delete(handle, with_snapshots):
    handle.delete(libvirt.VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS if with_snapshots else 0)


def apply_plan(conn, pool, desired, plan):
    """Carry out the plan's actions in order; a failed upload deletes the volume this run created."""
    pool_name, name = desired["pool"], desired["name"]
    label = vol.volume_label(pool_name, name)
    handle = find_volume(pool, pool_name, name)[0]
    for action in plan["actions"]:
        op = action["op"]
        with _volume_errors(pool_name, name):
            if op == "delete":
                _delete(handle, action["with_snapshots"])
                handle = None
            elif op == "create":
                handle = pool.createXML(action["xml"], 0)
            elif op == "clone":
                source = _require_volume(pool, pool_name, action["source"], "the clone source")[0]
                handle = pool.createXMLFrom(action["xml"], source, 0)
            elif op == "resize":
                handle.resize(action["capacity"], libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK if action["shrink"] else 0)
        if op == "upload":
            try:
                with reraise_as((libvirt.libvirtError, OSError), vol.VOLUME, label):
                    _upload(conn, handle, action["path"], action["length"])
            except KvmopsError as exc:
                # Half-written content would pass for a finished volume on the next run.
                failure = f"upload of {action['path']!r} failed"
                try:
                    _delete(handle, False)
                except libvirt.libvirtError as cleanup:
                    raise KvmopsError(
                        vol.VOLUME,
                        label,
                        f"{failure}: {exc.cause}; deleting the half-made volume failed too: {cleanup}",
                    ) from exc
                raise KvmopsError(vol.VOLUME, label, f"{failure}, volume deleted again: {exc.cause}") from exc


class PoolCache:
    """The pools one connection has opened: each looked up (and refreshed) once per module run."""

    def __init__(self, conn, check_mode):
        self.conn = conn
        self.check_mode = check_mode
        self._pools = {}

    def get(self, pool_name, refresh):
        """``{"pool", "summary"}`` of the active pool, or ``{"missing": why}`` in check mode."""
        entry = self._pools.get(pool_name)
        if entry is None:
            missing = _pool_missing(self.conn, pool_name) if self.check_mode else None
            if missing:
                entry = {"missing": missing}
            else:
                pool, summary = _lookup_pool(self.conn, pool_name)
                entry = {"pool": pool, "summary": summary, "refreshed": False}
            self._pools[pool_name] = entry
        if refresh and "pool" in entry and not entry["refreshed"]:
            _refresh(entry["pool"], pool_name)
            entry["refreshed"] = True
        return entry


def _path_after(desired, current, pool_summary, check_mode):
    """Where the volume is after the run; in check mode, where a volume still to be made will be."""
    if desired["state"] == "absent":
        return None
    if current is not None:
        # A forced re-upload recreates the volume under the same name, so at the same path.
        return current["path"]
    return vol.planned_path(pool_summary, desired["name"]) if check_mode else None


def converge_volume(pools, desired, check_mode, want_diff):
    """One volume over an open connection (``pools``): returns its result keys, raises KvmopsError."""
    pool_name, name = desired["pool"], desired["name"]
    conn = pools.conn
    entry = pools.get(pool_name, desired["refresh_pool"])
    if "missing" in entry:
        # A playbook predicted in check mode makes the pool in an earlier
        # task (kvm_ceph's RBD pool before kvm_guests' disks) that check
        # mode did not run: the volume would then be created. A real run
        # still fails on a missing pool.
        return _check_mode_without_pool(desired, entry["missing"], want_diff)
    pool, summary = entry["pool"], entry["summary"]
    current = find_volume(pool, pool_name, name)[1]
    sources = gather_sources(conn, pool, desired, current)
    plan = vol.plan_volume(desired, summary["type"], current, sources)
    result = {"changed": plan["changed"], "actions": [action["text"] for action in plan["actions"]]}
    if want_diff:
        result["diff"] = vol.build_diff(desired, plan)
    if plan["changed"] and not check_mode:
        apply_plan(conn, pool, desired, plan)
        current = find_volume(pool, pool_name, name)[1]
    result["volume"] = vol.volume_result(current, pool_name)
    result["path"] = _path_after(desired, current, summary, check_mode)
    return result


def manage_volume(uri, params, check_mode, want_diff):
    """The whole run of libvirt_volume: returns the module's result keys, raises KvmopsError."""
    desired = vol.normalise_params(params)
    with libvirt_connection(uri) as conn:
        return converge_volume(PoolCache(conn, check_mode), desired, check_mode, want_diff)


def manage_volumes(uri, items, check_mode, want_diff):
    """libvirt_volume with ``volumes``: every item validated first, then each converged in list order.

    Returns ``(results, failures)``: one result per item (``pool``, ``name``
    and the single form's keys); an item whose libvirt work or plan failed
    has ``failed: true`` and ``msg``, and the items after it still run.
    Raises KvmopsError, changing nothing, when an item's options are invalid
    or a volume is listed twice.
    """
    desired_all, errors, seen = [], [], set()
    for item in items:
        try:
            desired = vol.normalise_params(item)
        except KvmopsError as exc:
            errors.append(str(exc))
            continue
        key = (desired["pool"], desired["name"])
        if key in seen:
            errors.append(f"{vol.VOLUME} '{vol.volume_label(*key)}': listed twice")
        seen.add(key)
        desired_all.append(desired)
    if errors:
        raise KvmopsError(vol.VOLUME, "volumes", "invalid input, nothing was changed: " + " | ".join(errors))
    results = []
    with libvirt_connection(uri) as conn:
        pools = PoolCache(conn, check_mode)
        for desired in desired_all:
            result = {"pool": desired["pool"], "name": desired["name"]}
            try:
                result.update(converge_volume(pools, desired, check_mode, want_diff))
            except KvmopsError as exc:
                result.update(changed=False, failed=True, msg=str(exc), actions=[], volume=None, path=None)
            results.append(result)
    failures = [result["msg"] for result in results if result.get("failed")]
    return results, failures
