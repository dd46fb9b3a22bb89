# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_conf: read the file, plan with the pure planner, write atomically.

The file is replaced with ``atomic_move``, which gives the new file the old
one's mode, owner and SELinux context; explicit ``mode``/``owner``/``group``
are applied afterwards through Ansible's usual file-attribute handling. A
symbolic link is followed: the file it points to is edited, the link stays.
"""

from __future__ import annotations

import os
import tempfile

from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as conf
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as


def _read(path):
    # A file that is not UTF-8 text is not a libvirt config file either.
    with reraise_as((OSError, UnicodeDecodeError), conf.CONF, path):
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return handle.read()


def _write(module, path, text):
    with reraise_as(OSError, conf.CONF, path):
        directory = os.path.dirname(path) or "."
        fd, tmp = tempfile.mkstemp(prefix=".ansible-libvirt-conf-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        except BaseException:
            os.unlink(tmp)
            raise
        module.atomic_move(tmp, path, unsafe_writes=module.params["unsafe_writes"])


def manage_conf(module):
    """Run libvirt_conf for ``module.params``; returns the result dict for exit_json."""
    path = module.params["path"]
    before = _read(path)
    if before is None and not module.params["create"]:
        raise KvmopsError(conf.CONF, path, "does not exist and create is false")
    after, changes = conf.plan(before or "", module.params["settings"], label=path)

    result = {"changed": bool(changes), "changes": [change.as_dict() for change in changes], "path": path}
    if module._diff:
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": before or "",
            "after": after,
        }
    if changes and not module.check_mode:
        if module.params["backup"] and before is not None:
            result["backup_file"] = module.backup_local(path)
        _write(module, os.path.realpath(path), after)
    result["config"] = conf.values(after, label=path)

    if not os.path.exists(path):
        # Check mode on a missing file (the real run creates it), or nothing to
        # write into one (only removals, or no settings): no attributes to set.
        return result
    file_args = module.load_file_common_arguments(module.params)
    result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    return result
