# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one exception every libvirt/OVS/Ceph failure of this collection becomes.

Kept free of third-party imports so pure code and unit tests can use it; each
edge file (``_libvirt.py``, later ``_ovs.py``...) maps its library's own error
type onto KvmopsError with :func:`reraise_as`.
"""

from __future__ import annotations

import contextlib


class KvmopsError(Exception):
    """A failure on one named object: ``str()`` is a sentence a user can act on.

    ``kind`` says what sort of object failed ("libvirt connection", "libvirt
    domain"), ``name`` which one, ``cause`` why (usually the library's message).
    """

    def __init__(self, kind, name, cause):
        self.kind = kind
        self.name = name
        self.cause = cause
        super().__init__(str(self))

    def __str__(self):
        # libvirt's schema errors span lines; one line reads better in Ansible's msg.
        cause = "; ".join(line.strip() for line in str(self.cause).splitlines() if line.strip()) or "unknown error"
        return f"{self.kind} '{self.name}': {cause}"


@contextlib.contextmanager
def reraise_as(exc_types, kind, name):
    """Turn ``exc_types`` raised inside the block into KvmopsError on ``kind`` ``name``.

    Works as a ``with`` block and as a decorator. The original exception stays
    reachable as ``__cause__`` for tracebacks; KvmopsError passes through
    untouched so nested wrappers keep the innermost (most precise) object name.
    """
    try:
        yield
    except KvmopsError:
        raise
    except exc_types as exc:
        raise KvmopsError(kind, name, exc) from exc
