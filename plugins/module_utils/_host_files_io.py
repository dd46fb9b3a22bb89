# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of host_files: read every path once, plan with ``_host_files``, write only what differs.

Content is written to a temporary file in the target's directory, validated
there when asked, given its mode and owner, and renamed over the target with
``atomic_move`` (which also keeps the SELinux context right): a reader never
sees a half-written file, and a failed validation leaves the old one in place.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import tempfile

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_files as hf
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def observe(path):
    """The :class:`Observed` state of ``path`` (links are not followed: a link is reported as such)."""
    with reraise_as(OSError, hf.KIND, path):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return hf.Observed()
        if stat.S_ISLNK(info.st_mode):
            kind = "link"
        elif stat.S_ISDIR(info.st_mode):
            kind = "directory"
        elif stat.S_ISREG(info.st_mode):
            kind = "file"
        else:
            kind = "other"
        content = None
        if kind == "file":
            with open(path, "rb") as handle:
                content = handle.read()
        return hf.Observed(
            kind=kind,
            content=content,
            mode=stat.S_IMODE(info.st_mode),
            owner=_name(pwd.getpwuid, info.st_uid),
            group=_name(grp.getgrgid, info.st_gid),
        )


def _ids(want):
    try:
        uid = pwd.getpwnam(want.owner).pw_uid
    except KeyError:
        raise KvmopsError(hf.KIND, want.path, f"owner {want.owner} does not exist on the host") from None
    try:
        gid = grp.getgrnam(want.group).gr_gid
    except KeyError:
        raise KvmopsError(hf.KIND, want.path, f"group {want.group} does not exist on the host") from None
    return uid, gid


def _make_parents(path):
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        with reraise_as(OSError, hf.KIND, path):
            os.makedirs(parent, 0o755)


def _validate(module, want, tmp):
    command = want.validate.replace("%s", tmp)
    rc, out, err = module.run_command(command)
    if rc != 0:
        detail = (err or out or "").strip().splitlines()
        raise KvmopsError(
            hf.KIND, want.path, f"validate command {want.validate!r} failed (rc {rc}): {' | '.join(detail[-4:])}"
        )


def _write_file(module, want, uid, gid):
    directory = os.path.dirname(want.path)
    fd, tmp = tempfile.mkstemp(prefix=".kvmops-host-files-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(want.content)
        os.chmod(tmp, want.mode)
        os.chown(tmp, uid, gid)
        if want.validate:
            _validate(module, want, tmp)
        module.atomic_move(tmp, want.path, unsafe_writes=False)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    # atomic_move gives the new file the old one's mode and owner: set ours again.
    os.chmod(want.path, want.mode)
    os.chown(want.path, uid, gid)


def apply_one(module, plan, parents):
    want = plan.wanted
    if want.state == "absent":
        with reraise_as(OSError, hf.KIND, want.path):
            if plan.observed.kind == "directory":
                # Only an empty directory: removing a tree is never what a config role means.
                os.rmdir(want.path)
            else:
                os.unlink(want.path)
        return
    uid, gid = _ids(want)
    if parents:
        _make_parents(want.path)
    with reraise_as(OSError, hf.KIND, want.path):
        if want.state == "directory":
            if "created" in plan.changes:
                os.mkdir(want.path, want.mode)
        elif "created" in plan.changes or "content" in plan.changes:
            _write_file(module, want, uid, gid)
            return
        os.chmod(want.path, want.mode)
        os.chown(want.path, uid, gid)


def manage_files(module):
    """Run host_files for ``module.params``; returns the result dict for exit_json."""
    wanted = hf.wanted_from_items(module.params["files"])
    plans = [hf.plan_one(want, observe(want.path)) for want in wanted]
    # Owners and groups are checked for every item before anything is written,
    # so a typo fails the call with nothing half-changed.
    for plan in plans:
        if plan.changed and plan.wanted.state != "absent":
            _ids(plan.wanted)
    if not module.check_mode:
        done = []
        for plan in plans:
            if not plan.changed:
                continue
            try:
                apply_one(module, plan, module.params["parents"])
            except KvmopsError as exc:
                # Items are independent files: say which ones this call already wrote.
                exc.detail = "already changed in this call: " + (", ".join(done) or "nothing")
                raise
            done.append(plan.wanted.path)
    result = {
        "changed": any(plan.changed for plan in plans),
        "changed_paths": [plan.wanted.path for plan in plans if plan.changed],
        "files": [plan.as_result() for plan in plans],
    }
    if module._diff:
        result["diff"] = [hf.diff_of(plan) for plan in plans if plan.changed]
    return result
