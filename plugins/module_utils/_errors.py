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
import re

# Helpers libvirt runs (swtpm_setup for a vTPM, ...) fail with "Check error log
# '<file>' for details": the real cause is in that file, on the same host.
_LOG_HINT = re.compile(r"[Cc]heck (?:the )?error log '([^']+)'")
_LOG_TAIL_LINES = 4


class KvmopsError(Exception):
    """A failure on one named object: ``str()`` is a sentence a user can act on.

    ``kind`` says what sort of object failed ("libvirt connection", "libvirt
    domain"), ``name`` which one, ``cause`` why (usually the library's message).
    """

    def __init__(self, kind, name, cause, detail=""):
        self.kind = kind
        self.name = name
        self.cause = cause
        self.detail = detail
        super().__init__(str(self))

    def __str__(self):
        # libvirt's schema errors span lines; one line reads better in Ansible's msg.
        cause = "; ".join(line.strip() for line in str(self.cause).splitlines() if line.strip()) or "unknown error"
        detail = f"; {self.detail}" if self.detail else ""
        return f"{self.kind} '{self.name}': {cause}{detail}"


def log_tail(message):
    """The last lines of the log file ``message`` points at ("Check error log '...'"), or ''.

    Best effort: an unreadable or missing file gives ''. The module runs on the
    host libvirt runs on, so the file is local.
    """
    match = _LOG_HINT.search(str(message))
    if not match:
        return ""
    try:
        with open(match.group(1), encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    if not lines:
        return ""
    return f"{match.group(1)} ends with: " + " | ".join(lines[-_LOG_TAIL_LINES:])


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
        raise KvmopsError(kind, name, exc, detail=log_tail(exc)) from exc
