# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure storage volume logic: options → desired state, XML in and out, and the plan.

Nothing here talks to libvirt or reads files; ``_libvirt_volume.py`` gathers
the current state (volume XML, pool type, the clone/backing source, the head
of an upload file) and hands it to :func:`plan_volume`, which decides every
action up front. Check mode returns that plan unapplied, so it predicts the
real run exactly.
"""

from __future__ import annotations

import traceback

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._units import SizeError, format_bytes, parse_size

try:
    from lxml import etree
    from lxml.builder import E
except ImportError:
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LXML = True
    LXML_IMPORT_ERROR = None

VOLUME = "libvirt volume"
FORMATS = ("raw", "qcow2")
# Pools whose volumes are files, where qemu-img formats (and so overlays) work;
# every other pool type (rbd, logical, disk, iscsi...) holds raw volumes only.
FILE_POOL_TYPES = ("dir", "fs", "netfs")
# Network pools whose libvirt backend has no volume upload (libvirt answers
# "storage pool doesn't support volume upload" only after the volume exists).
NO_UPLOAD_POOL_TYPES = ("rbd", "gluster", "iscsi-direct")
# qemu-img rounds qcow2 sizes up to whole sectors; a size that is not one would
# read back larger and look like a shrink on the next run.
SECTOR = 512
# Enough of an image file to recognise its format and read a qcow2 header.
IMAGE_HEAD_BYTES = 512

QCOW2_MAGIC = b"QFI\xfb"
# Formats a volume of this module cannot hold: uploaded as "raw", the guest
# would see the container instead of the disk.
_FOREIGN_MAGICS = (
    (0, b"KDMV", "vmdk"),
    (0, b"conectix", "vpc (VHD)"),
    (0, b"vhdxfile", "vhdx"),
    (0, b"QED\x00", "qed"),
    (0x40, b"\x7f\x10\xda\xbe", "vdi"),
)


class ImageError(ValueError):
    """An upload file this module will not put into a volume; the message says why."""


def volume_label(pool, name):
    """How every message names a volume: ``pool/name``."""
    return f"{pool}/{name}"


def _refuse(desired, cause):
    return KvmopsError(VOLUME, volume_label(desired["pool"], desired["name"]), cause)


def _size_option(params, option):
    value = params.get(option)
    if value is None:
        return None
    try:
        return parse_size(value, default_unit="MiB")
    except SizeError as exc:
        raise KvmopsError(VOLUME, volume_label(params["pool"], params["name"]), f"invalid {option}: {exc}") from exc


def normalise_params(params):
    """Module parameters → the desired state with sizes in bytes; raises KvmopsError naming the volume."""
    desired = {
        "pool": params["pool"],
        "name": params["name"],
        "state": params.get("state") or "present",
        "capacity": _size_option(params, "capacity"),
        "allocation": _size_option(params, "allocation"),
        "format": params.get("format"),
        "backing_volume": params.get("backing_volume"),
        "backing_path": params.get("backing_path"),
        "backing_format": params.get("backing_format"),
        "clone_from": params.get("clone_from"),
        "upload_src": params.get("upload_src"),
        "force": bool(params.get("force")),
        "delete_snapshots": bool(params.get("delete_snapshots")),
        "refresh_pool": bool(params.get("refresh_pool")),
    }
    capacity = desired["capacity"]
    if capacity is not None and (capacity == 0 or capacity % SECTOR):
        raise _refuse(
            desired, f"invalid capacity: {params['capacity']!r} is not a positive whole number of 512-byte sectors"
        )
    if desired["backing_path"] is not None and not desired["backing_path"].startswith("/"):
        raise _refuse(desired, f"backing_path {desired['backing_path']!r} is not an absolute path")
    if desired["clone_from"] is not None and desired["clone_from"] == desired["name"]:
        raise _refuse(desired, "clone_from names the volume itself")
    if desired["backing_volume"] is not None and desired["backing_volume"] == desired["name"]:
        raise _refuse(desired, "backing_volume names the volume itself")
    return desired


def _bytes(element):
    """A libvirt size element (``<capacity unit='bytes'>``) → int bytes, None when absent."""
    if element is None or element.text is None:
        return None
    unit = element.get("unit") or "bytes"
    if unit.lower() in ("b", "bytes"):
        return int(element.text)
    return parse_size(f"{element.text.strip()}{unit}")


def _format_of(element):
    fmt = element.find("format") if element is not None else None
    return fmt.get("type") if fmt is not None else None


def parse_volume_xml(xml_text):
    """``virStorageVolGetXMLDesc`` output → name, key, path, sizes in bytes, format and backing."""
    root = etree.fromstring(xml_text.encode() if isinstance(xml_text, str) else xml_text)
    target = root.find("target")
    backing = root.find("backingStore")
    backing_path = backing.findtext("path") if backing is not None else None
    return {
        "name": root.findtext("name"),
        "key": root.findtext("key"),
        "path": target.findtext("path") if target is not None else None,
        "capacity": _bytes(root.find("capacity")),
        "allocation": _bytes(root.find("allocation")),
        "format": _format_of(target),
        # An empty <backingStore/> is how some libvirt versions say "none".
        "backing": {"path": backing_path, "format": _format_of(backing)} if backing_path else None,
    }


def planned_path(pool_summary, name):
    """Path volume ``name`` gets when created in the pool ``pool_summary`` describes; None when unknown.

    libvirt names file volumes ``<target path>/<name>`` (``dir``, ``fs``,
    ``netfs``) and LVM volumes ``/dev/<vg>/<name>`` (the target path), and
    RBD images ``<ceph pool>/<name>``. Check mode reports this for a volume
    still to be created, so a caller can plan what will use that path.
    ``pool_summary`` holds ``type``, ``path`` (target) and ``source_name``.
    """
    pool_type = pool_summary.get("type")
    if pool_type in FILE_POOL_TYPES + ("logical",) and pool_summary.get("path"):
        return f"{pool_summary['path'].rstrip('/')}/{name}"
    if pool_type == "rbd" and pool_summary.get("source_name"):
        return f"{pool_summary['source_name']}/{name}"
    return None


def build_volume_xml(name, capacity, fmt, allocation=None, backing=None):
    """The ``<volume>`` document libvirt creates (or clones into) a volume from.

    ``capacity`` None leaves the size to libvirt (an overlay then takes its
    backing image's size); ``backing`` is ``{"path": ..., "format": ...}``.
    """
    volume = E.volume(E.name(name))
    if capacity is not None:
        volume.append(E.capacity(str(capacity), unit="bytes"))
    if allocation is not None:
        volume.append(E.allocation(str(allocation), unit="bytes"))
    volume.append(E.target(E.format(type=fmt)))
    if backing is not None:
        volume.append(E.backingStore(E.path(backing["path"]), E.format(type=backing["format"])))
    return etree.tostring(volume, pretty_print=True, encoding="unicode")


def inspect_image(head, file_size):
    """First bytes and size of an upload file → ``{"format", "virtual_size", "size"}``.

    Only raw and standalone qcow2 images are accepted: a qcow2 with a backing
    file would point at a path on the uploader's machine, and other containers
    would be handed to the guest as if they were the disk.
    """
    if file_size == 0:
        raise ImageError("is empty")
    if head[:4] == QCOW2_MAGIC:
        if len(head) < 32:
            raise ImageError("is a truncated qcow2 image (header shorter than 32 bytes)")
        if int.from_bytes(head[8:16], "big"):
            raise ImageError("is a qcow2 image with a backing file; flatten it first (qemu-img convert -O qcow2)")
        return {"format": "qcow2", "virtual_size": int.from_bytes(head[24:32], "big"), "size": file_size}
    for offset, magic, fmt in _FOREIGN_MAGICS:
        if head[offset : offset + len(magic)] == magic:
            raise ImageError(f"is a {fmt} image; convert it to qcow2 or raw first (qemu-img convert)")
    return {"format": "raw", "virtual_size": file_size, "size": file_size}


def _state(desired, present, capacity=None, fmt=None, backing=None):
    """One side of the diff: what the volume looks like, sizes exact and readable."""
    if not present:
        return {"name": desired["name"], "pool": desired["pool"], "state": "absent"}
    return {
        "name": desired["name"],
        "pool": desired["pool"],
        "state": "present",
        "capacity": capacity,
        "capacity_human": format_bytes(capacity) if capacity is not None else None,
        "format": fmt,
        "backing": backing,
    }


def diff_state(desired, present, capacity=None, fmt=None):
    """:func:`_state` for callers outside the plan (check mode without the pool)."""
    return _state(desired, present, capacity, fmt)


def _current_format(current, pool_type):
    # Volumes of raw-only pools (rbd, logical) often carry no <format> at all.
    return current["format"] or ("raw" if pool_type not in FILE_POOL_TYPES else None)


def _check_format_allowed(desired, pool_type, fmt):
    if pool_type not in FILE_POOL_TYPES and fmt != "raw":
        raise _refuse(desired, f"pool type {pool_type!r} holds raw volumes only, not {fmt}")


def _resize_action(desired, have, want, allocation):
    """The action taking an existing volume from ``have`` bytes to ``want``; None when equal.

    A shrink needs ``force``, and libvirt refuses to shrink below the space the
    volume occupies (``allocation``): a fully allocated raw file cannot shrink at all.
    """
    if want is None or want == have:
        return None
    if want < have and not desired["force"]:
        raise _refuse(
            desired,
            f"capacity {format_bytes(want)} is smaller than the current {format_bytes(have)}; shrinking cuts off "
            "the end of the disk and the data on it: set force: true to shrink",
        )
    if want < have and allocation is not None and want < allocation:
        raise _refuse(
            desired,
            f"cannot shrink to {format_bytes(want)}: libvirt does not shrink a volume below the space it "
            f"occupies ({format_bytes(allocation)} allocated)",
        )
    return {
        "op": "resize",
        "capacity": want,
        "shrink": want < have,
        "text": f"resize {format_bytes(have)} -> {format_bytes(want)}",
    }


def _grow_new_volume(desired, size, smaller_cause):
    """The resize growing a volume this run creates at ``size`` to ``capacity``; None when it fits.

    A smaller ``capacity`` is refused even with ``force``: how much a new clone
    or upload occupies (and so whether libvirt can shrink it) is unknown before
    it exists, and check mode must not promise what the run cannot do.
    """
    want = desired["capacity"]
    if want is None or want == size:
        return None
    if want < size:
        raise _refuse(desired, f"capacity {format_bytes(want)} is smaller than {smaller_cause}")
    return {
        "op": "resize",
        "capacity": want,
        "shrink": False,
        "text": f"resize {format_bytes(size)} -> {format_bytes(want)}",
    }


def _resolve_backing(desired, backing):
    """The backing image to write into the overlay, its format settled and checked."""
    fmt = backing.get("format")
    wanted = desired["backing_format"]
    if wanted and fmt and wanted != fmt:
        raise _refuse(desired, f"backing_format {wanted} does not match {backing['path']!r}, which is {fmt}")
    fmt = wanted or fmt
    if not fmt:
        raise _refuse(
            desired,
            f"the format of backing_path {backing['path']!r} is unknown (it is in no libvirt pool): set backing_format",
        )
    return {"path": backing["path"], "format": fmt}


def _plan_upload(desired, pool_type, upload, fmt):
    """Create at the image's virtual size, upload, then grow to ``capacity`` if asked."""
    if pool_type in NO_UPLOAD_POOL_TYPES:
        raise _refuse(
            desired,
            f"pool type {pool_type!r} does not support uploads through libvirt; import the image with the "
            "storage's own tools (for rbd: rbd import) and use refresh_pool",
        )
    if fmt != upload["format"]:
        raise _refuse(desired, f"upload_src {desired['upload_src']!r} is a {upload['format']} image, not {fmt}")
    size = upload["virtual_size"]
    grow = _grow_new_volume(
        desired, size, f"the virtual size {format_bytes(size)} of upload_src {desired['upload_src']!r}"
    )
    actions = [
        {"op": "create", "xml": build_volume_xml(desired["name"], size, fmt, desired["allocation"]), "text": "create"},
        {"op": "upload", "path": desired["upload_src"], "length": upload["size"], "text": "upload"},
    ]
    return actions + ([grow] if grow else []), desired["capacity"] or size, None


def _plan_create(desired, pool_type, sources):
    """Actions creating a missing volume, plus its predicted capacity and backing."""
    name, capacity = desired["name"], desired["capacity"]
    if desired["clone_from"]:
        source = sources["clone"]
        fmt = desired["format"] or _current_format(source, pool_type) or "raw"
        _check_format_allowed(desired, pool_type, fmt)
        # createXMLFrom gives the copy the source's size whatever the XML asks, so any change is a resize after it.
        xml = build_volume_xml(name, source["capacity"], fmt, desired["allocation"])
        clone = {
            "op": "clone",
            "source": desired["clone_from"],
            "xml": xml,
            "text": f"clone from {desired['clone_from']}",
        }
        resize = _grow_new_volume(
            desired,
            source["capacity"],
            f"the size {format_bytes(source['capacity'])} of the source volume {desired['clone_from']!r}; "
            "a clone starts at its source's size (shrink it with force in a later run)",
        )
        return [clone] + ([resize] if resize else []), capacity or source["capacity"], fmt, None
    if desired["upload_src"]:
        fmt = desired["format"] or sources["upload"]["format"]
        _check_format_allowed(desired, pool_type, fmt)
        actions, final, backing = _plan_upload(desired, pool_type, sources["upload"], fmt)
        return actions, final, fmt, backing
    if sources.get("backing") and pool_type not in FILE_POOL_TYPES:
        raise _refuse(desired, f"pool type {pool_type!r} cannot hold qcow2 overlays on a backing image")
    default_format = "qcow2" if pool_type in FILE_POOL_TYPES else "raw"
    fmt = desired["format"] or default_format
    _check_format_allowed(desired, pool_type, fmt)
    backing = None
    if sources.get("backing"):
        if fmt != "qcow2":
            raise _refuse(desired, f"an overlay on a backing image must be qcow2, not {fmt}")
        backing = _resolve_backing(desired, sources["backing"])
        capacity = capacity or sources["backing"].get("capacity")
        if capacity is None:
            raise _refuse(
                desired, f"capacity is required: the size of backing_path {backing['path']!r} is unknown to libvirt"
            )
    elif capacity is None:
        raise _refuse(desired, "capacity is required to create the volume")
    xml = build_volume_xml(name, capacity, fmt, desired["allocation"], backing)
    return [{"op": "create", "xml": xml, "text": "create"}], capacity, fmt, backing


def _plan_existing(desired, pool_type, current, sources):
    """Actions bringing an existing volume to the desired state; refuses what only recreating could do."""
    have_format = _current_format(current, pool_type)
    if desired["upload_src"] and desired["force"]:
        upload = sources["upload"]
        fmt = desired["format"] or upload["format"]
        if have_format and fmt != have_format:
            raise _refuse(desired, f"format is {have_format}, not {fmt}; changing it would need recreating the volume")
        actions, final, backing = _plan_upload(desired, pool_type, upload, fmt)
        # delete_snapshots belongs to state=absent; here only what the pool type needs.
        delete = {"op": "delete", "with_snapshots": pool_type == "rbd", "text": "delete"}
        return [delete] + actions, final, fmt, backing
    if desired["format"] and have_format and desired["format"] != have_format:
        raise _refuse(
            desired,
            f"format is {have_format}, not {desired['format']}; changing it would need recreating the volume "
            "(delete it first, or convert it with qemu-img)",
        )
    wanted_backing = sources.get("backing")
    if wanted_backing:
        have_path = (current["backing"] or {}).get("path")
        if have_path != wanted_backing["path"]:
            have = repr(have_path) if have_path else "no backing image"
            raise _refuse(
                desired,
                f"has {have}, not {wanted_backing['path']!r}; changing the backing image would need "
                "recreating the volume (delete it first)",
            )
    resize = _resize_action(desired, current["capacity"], desired["capacity"], current["allocation"])
    final = resize["capacity"] if resize else current["capacity"]
    return ([resize] if resize else []), final, have_format, current["backing"]


def _delete_with_snapshots(desired, pool_type):
    # Only the rbd backend knows the flag (others reject it); an RBD image that was
    # cloned from keeps a snapshot and cannot be deleted without it.
    return pool_type == "rbd" or desired["delete_snapshots"]


def plan_volume(desired, pool_type, current, sources):
    """Decide everything a run does. Pure: the same inputs give the same plan.

    ``current`` is :func:`parse_volume_xml` of the existing volume or None;
    ``sources`` holds what the plan may need from elsewhere: ``clone`` (the
    parsed source volume), ``backing`` (``path``, ``format``, ``capacity``,
    the last two None when unknown) and ``upload`` (:func:`inspect_image`).
    Returns ``{"changed", "actions", "before", "after"}``; each action is a
    dict with an ``op`` for the applier and a ``text`` for the user.
    """
    sources = sources or {}
    have_format = _current_format(current, pool_type) if current else None
    before = (
        _state(desired, True, current["capacity"], have_format, current["backing"])
        if current
        else _state(desired, False)
    )
    if desired["state"] == "absent":
        if current is None:
            return {"changed": False, "actions": [], "before": before, "after": before}
        if desired["delete_snapshots"] and pool_type != "rbd":
            raise _refuse(
                desired, f"delete_snapshots applies to rbd pools only; pool {desired['pool']!r} is {pool_type}"
            )
        delete = {"op": "delete", "with_snapshots": _delete_with_snapshots(desired, pool_type), "text": "delete"}
        return {"changed": True, "actions": [delete], "before": before, "after": _state(desired, False)}
    if current is None:
        actions, capacity, fmt, backing = _plan_create(desired, pool_type, sources)
    else:
        actions, capacity, fmt, backing = _plan_existing(desired, pool_type, current, sources)
    after = _state(desired, True, capacity, fmt, backing)
    return {"changed": bool(actions), "actions": actions, "before": before, "after": after}


def build_diff(desired, plan):
    """Ansible's ``diff`` for the plan; built only when the user asked for ``--diff``."""
    header = volume_label(desired["pool"], desired["name"])
    return {
        "before": plan["before"],
        "after": plan["after"],
        "before_header": header,
        "after_header": header,
    }


def volume_result(parsed, pool):
    """The ``volume`` the module returns: a parsed volume, or None when it does not exist."""
    if parsed is None:
        return None
    return {
        "name": parsed["name"],
        "pool": pool,
        "path": parsed["path"],
        "key": parsed["key"],
        "capacity": parsed["capacity"],
        "allocation": parsed["allocation"],
        "format": parsed["format"],
        "backing": parsed["backing"],
    }
