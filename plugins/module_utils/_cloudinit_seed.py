# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cloud-init NoCloud seed ISOs: pure builder, reader, planner and diff, then the file edge.

The seed is an ISO 9660 image with volume label ``cidata`` holding
``user-data``, ``meta-data`` and optionally ``network-config`` (Rock Ridge and
Joliet names, so every kernel and blkid see the real file names). It is built
with pycdlib in memory, so the hypervisor needs no genisoimage/xorriso.

Idempotence compares *contents*, not bytes: an ISO carries timestamps, so two
builds of the same files never match byte for byte. The existing image is read
back and its label and files compared with what is wanted.

Everything above :func:`manage_seed` is pure (bytes in, bytes out) and unit
tested; :func:`manage_seed` reads and writes the file on the host.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
import traceback

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as

try:
    import pycdlib
    from pycdlib.pycdlibexception import PyCdlibException
except ImportError:  # the module reports missing_required_lib
    pycdlib = None
    PyCdlibException = Exception
    PYCDLIB_IMPORT_ERROR = traceback.format_exc()
else:
    PYCDLIB_IMPORT_ERROR = None

SEED = "cloud-init seed"
LABEL = "cidata"
# Order of the files in the image and in the diff.
FILE_NAMES = ("meta-data", "user-data", "network-config")
# ISO 9660 level 3 names (d-characters only); Rock Ridge and Joliet carry the real names.
_ISO_NAMES = {"user-data": "/USER_DATA.;1", "meta-data": "/META_DATA.;1", "network-config": "/NETWORK_CONFIG.;1"}
_MAX_FILE_BYTES = 16 * 1024 * 1024
PYCDLIB_HINT = (
    "install python3-pycdlib on the hypervisor (Debian/Ubuntu: python3-pycdlib; RHEL 9: python3-pycdlib from EPEL)"
)


class SeedFormatError(ValueError):
    """A file at the seed path that is not a readable ISO 9660 image."""


def render_content(name, value):
    """A file's wanted text: strings as given, dicts as JSON (valid YAML), user-data dicts as #cloud-config."""
    if value is None:
        return None
    if isinstance(value, dict):
        text = json.dumps(value, indent=2, sort_keys=True) + "\n"
        return "#cloud-config\n" + text if name == "user-data" else text
    return str(value)


def desired_files(user_data, meta_data, network_config=None):
    """The seed's files as ``{name: bytes}``; ``network-config`` only when given."""
    files = {
        "meta-data": render_content("meta-data", meta_data),
        "user-data": render_content("user-data", user_data),
        "network-config": render_content("network-config", network_config),
    }
    return {name: text.encode("utf-8") for name, text in files.items() if text is not None}


def build_iso(files, label=LABEL):
    """``{name: bytes}`` → the bytes of a NoCloud seed ISO."""
    unknown = sorted(set(files) - set(_ISO_NAMES))
    if unknown:
        raise ValueError(f"unknown seed files {unknown}; allowed: {', '.join(FILE_NAMES)}")
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, vol_ident=label, joliet=3, rock_ridge="1.09")
    for name in FILE_NAMES:
        if name in files:
            data = files[name]
            iso.add_fp(io.BytesIO(data), len(data), _ISO_NAMES[name], rr_name=name, joliet_path="/" + name)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def read_iso(data):
    """Bytes of an ISO → ``(label, {name: bytes})`` with the Rock Ridge (else Joliet, else ISO) names of its files.

    Directories are ignored; a file larger than 16 MiB is refused (no seed is that big).
    Raises :class:`SeedFormatError` when the bytes are not an ISO 9660 image pycdlib can read.
    """
    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(io.BytesIO(data))
    except (PyCdlibException, ValueError, IndexError, struct.error) as exc:
        raise SeedFormatError(f"not an ISO 9660 image ({exc})") from exc
    try:
        label = iso.pvd.volume_identifier.decode("ascii", "replace").rstrip(" \x00")
        files = {}
        for child in iso.list_children(iso_path="/"):
            if child.is_dir():
                continue
            name = _entry_name(iso, child)
            if child.get_data_length() > _MAX_FILE_BYTES:
                raise SeedFormatError(f"file {name} is larger than 16 MiB")
            buf = io.BytesIO()
            iso.get_file_from_iso_fp(buf, iso_path="/" + child.file_identifier().decode("ascii", "replace"))
            files[name] = buf.getvalue()
        return label, files
    except PyCdlibException as exc:
        raise SeedFormatError(f"unreadable ISO 9660 image ({exc})") from exc
    finally:
        iso.close()


def _entry_name(iso, child):
    if child.rock_ridge is not None and child.rock_ridge.name():
        return child.rock_ridge.name().decode("utf-8", "replace")
    name = child.file_identifier().decode("ascii", "replace")
    return name.split(";", 1)[0].rstrip(".").lower()


def plan(desired, current):
    """What turns ``current`` (``(label, files)`` or None) into the wanted seed; a list of action strings."""
    if current is None:
        return ["create"]
    label, files = current
    actions = []
    if label != LABEL:
        actions.append(f"label {label or '(none)'} -> {LABEL}")
    for name in FILE_NAMES:
        if name in desired and name not in files:
            actions.append(f"add {name}")
        elif name in desired and files[name] != desired[name]:
            actions.append(f"update {name}")
    for name in sorted(set(files) - set(desired)):
        actions.append(f"remove {name}")
    return actions


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def render_seed(label, files, show_user_data=False):
    """A readable text of a seed for the diff; user-data only as size and checksum unless asked."""
    if label is None:
        return ""
    lines = [f"# volume label: {label}\n"]
    names = [n for n in FILE_NAMES if n in files] + sorted(set(files) - set(FILE_NAMES))
    for name in names:
        data = files[name]
        lines.append(f"# --- {name}\n")
        if name == "user-data" and not show_user_data:
            lines.append(f"# ({len(data)} bytes, sha256 {_digest(data)}; diff_user_data shows the text)\n")
            continue
        text = data.decode("utf-8", "replace")
        lines.append(text if text.endswith("\n") or not text else text + "\n")
    return "".join(lines)


# -- the file on the host -------------------------------------------------------------


def _read_current(path):
    with reraise_as(OSError, SEED, path):
        if not os.path.lexists(path):
            return None
        if not os.path.isfile(path):
            raise KvmopsError(SEED, path, "exists and is not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(_MAX_FILE_BYTES * 4 + 1)
    try:
        return read_iso(data)
    except SeedFormatError as exc:
        raise KvmopsError(SEED, path, f"exists but is {exc}; remove it or choose another path") from exc


def _write(module, path, data):
    with reraise_as(OSError, SEED, path):
        directory = os.path.dirname(path) or "."
        if not os.path.isdir(directory):
            raise KvmopsError(SEED, path, f"directory {directory} does not exist")
        fd, tmp = tempfile.mkstemp(prefix=".ansible-cloudinit-seed-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            os.unlink(tmp)
            raise
        module.atomic_move(tmp, path, unsafe_writes=module.params["unsafe_writes"])


def manage_seed(module):
    """Run cloudinit_seed for ``module.params``; returns the result dict for exit_json."""
    params = module.params
    path = params["path"]
    current = _read_current(path)
    show = params["diff_user_data"]
    result = {"path": path}
    if params["state"] == "absent":
        result["actions"] = ["remove"] if current is not None else []
        if module._diff:
            result["diff"] = {
                "before_header": path,
                "after_header": path,
                "before": render_seed(*(current or (None, {})), show_user_data=show),
                "after": "",
            }
        if current is not None and not module.check_mode:
            with reraise_as(OSError, SEED, path):
                os.unlink(path)
        result["changed"] = bool(result["actions"])
        return result

    meta_data = params["meta_data"]
    if meta_data is None:
        meta_data = {"instance-id": params["instance_id"]} if params["instance_id"] else None
    if meta_data is None:
        raise KvmopsError(SEED, path, "needs meta_data or instance_id (cloud-init requires an instance-id)")
    desired = desired_files(params["user_data"] or "", meta_data, params["network_config"])
    actions = plan(desired, current)
    result["actions"] = actions
    result["files"] = [n for n in FILE_NAMES if n in desired]
    result["checksums"] = {name: _digest(data) for name, data in desired.items()}
    if module._diff:
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": render_seed(*(current or (None, {})), show_user_data=show),
            "after": render_seed(LABEL, desired, show_user_data=show),
        }
    if actions and not module.check_mode:
        _write(module, path, build_iso(desired))
    changed = bool(actions)
    if os.path.exists(path):
        file_args = module.load_file_common_arguments(module.params)
        changed = module.set_fs_attributes_if_different(file_args, changed)
    result["changed"] = changed
    return result
