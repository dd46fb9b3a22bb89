# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure planner of host_files: wanted files and directories against what a host has.

The I/O side (``_host_files_io.py``) reads each path into an :class:`Observed`
and applies the :class:`FilePlan` this module computes; nothing here touches
the file system, so every decision (what changes, what the diff shows, which
input is refused) is unit-tested without a host.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

KIND = "host file"
STATES = ("file", "directory", "absent")
DEFAULT_MODE = {"file": 0o644, "directory": 0o755}
_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
SECRET_TEXT = "(secret content not shown)\n"


@dataclass
class Observed:
    """What the host has at one path. ``kind`` is file, directory, link, other or None (missing)."""

    kind: str | None = None
    content: bytes | None = None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None


@dataclass
class Wanted:
    path: str
    state: str
    content: bytes | None
    owner: str
    group: str
    mode: int
    validate: str | None
    secret: bool


@dataclass
class FilePlan:
    """What to do at one path: ``changes`` lists words from created, content, owner, group, mode, removed."""

    wanted: Wanted
    observed: Observed
    changes: list = field(default_factory=list)

    @property
    def changed(self):
        return bool(self.changes)

    def as_result(self):
        return {
            "path": self.wanted.path,
            "state": self.wanted.state,
            "changed": self.changed,
            "changes": list(self.changes),
        }


def parse_mode(value, path):
    """``"0644"``/``"644"`` (an octal string) -> int. Integers are refused: YAML reads 0644 as 420."""
    if not isinstance(value, str) or not _MODE_RE.match(value):
        raise KvmopsError(KIND, path, f"mode {value!r} is not an octal string such as '0644'")
    return int(value, 8)


def format_mode(mode):
    return None if mode is None else f"{mode:04o}"


def wanted_from_item(item):
    """Validate one ``files`` item (already type-checked by the argument spec) into a :class:`Wanted`."""
    path = item["path"]
    if not isinstance(path, str) or not os.path.isabs(path) or path != os.path.normpath(path):
        raise KvmopsError(KIND, path, "path must be absolute and normalised (no '..', '//' or trailing '/')")
    state = item.get("state") or "file"
    content = item.get("content")
    if state == "file" and content is None:
        raise KvmopsError(KIND, path, "state file needs content")
    if state != "file" and content is not None:
        raise KvmopsError(KIND, path, f"content is only for state file, not {state}")
    if item.get("validate") and state != "file":
        raise KvmopsError(KIND, path, "validate is only for state file")
    if item.get("validate") and "%s" not in item["validate"]:
        raise KvmopsError(KIND, path, "validate must contain %s (the file to check)")
    mode = item.get("mode")
    return Wanted(
        path=path,
        state=state,
        content=None if content is None else content.encode("utf-8"),
        owner=item.get("owner") or "root",
        group=item.get("group") or "root",
        mode=DEFAULT_MODE.get(state, 0) if mode is None else parse_mode(mode, path),
        validate=item.get("validate") or None,
        secret=bool(item.get("secret")),
    )


def wanted_from_items(items):
    """Every item validated, and no path named twice (two wanted states of one file cannot both hold)."""
    wanted = [wanted_from_item(item) for item in items]
    seen = set()
    for want in wanted:
        if want.path in seen:
            raise KvmopsError(KIND, want.path, "is listed more than once in files")
        seen.add(want.path)
    return wanted


def plan_one(wanted, observed):
    """The changes that make ``observed`` into ``wanted``; refuses to replace a directory by a file and back."""
    plan = FilePlan(wanted=wanted, observed=observed)
    if wanted.state == "absent":
        if observed.kind is not None:
            plan.changes.append("removed")
        return plan
    expected_kind = "file" if wanted.state == "file" else "directory"
    if observed.kind is None:
        plan.changes.append("created")
        return plan
    if observed.kind != expected_kind:
        raise KvmopsError(
            KIND, wanted.path, f"is a {observed.kind} on the host, not a {expected_kind}: remove it by hand first"
        )
    if wanted.state == "file" and observed.content != wanted.content:
        plan.changes.append("content")
    if observed.owner != wanted.owner:
        plan.changes.append("owner")
    if observed.group != wanted.group:
        plan.changes.append("group")
    if observed.mode != wanted.mode:
        plan.changes.append("mode")
    return plan


def _text(data, secret):
    if data is None:
        return ""
    if secret:
        return SECRET_TEXT
    return data.decode("utf-8", errors="replace")


def _header(path, kind, mode, owner, group):
    if kind is None:
        return f"{path} (absent)"
    return f"{path} ({kind}, mode {format_mode(mode)}, {owner}:{group})"


def _attributes(kind, mode, owner, group):
    if kind is None:
        return ""
    return f"{kind}: mode {format_mode(mode)}, owner {owner}, group {group}\n"


def diff_of(plan):
    """One Ansible diff entry for a changed path: contents, with kind/mode/owner in the headers.

    A change of directory, mode or owner alone has no content to compare, so
    its attribute line is the diffed text: Ansible shows nothing for equal texts.
    """
    want, have = plan.wanted, plan.observed
    after_kind = None if want.state == "absent" else ("file" if want.state == "file" else "directory")
    if want.state == "file" and set(plan.changes) & {"created", "content"}:
        before = _text(have.content, want.secret) if have.kind == "file" else ""
        after = _text(want.content, want.secret)
    elif want.state == "absent" and have.kind == "file":
        before, after = _text(have.content, want.secret), ""
    else:
        before = _attributes(have.kind, have.mode, have.owner, have.group)
        after = _attributes(after_kind, want.mode, want.owner, want.group)
    return {
        "before_header": _header(want.path, have.kind, have.mode, have.owner, have.group),
        "after_header": _header(want.path, after_kind, want.mode, want.owner, want.group),
        "before": before,
        "after": after,
    }


def observed_from_probe(found):
    """A host_probe ``files``/``stat`` entry as :class:`Observed`, so a role plans with this very planner.

    ``None`` or a missing path is :class:`Observed` of nothing; a device,
    socket or fifo is kind ``other``, which :func:`plan_one` refuses to replace.
    """
    if not found or not found.get("exists"):
        return Observed()
    kind = found.get("type") if found.get("type") in ("file", "directory", "link") else "other"
    content = found.get("content")
    return Observed(
        kind=kind,
        content=content.encode("utf-8") if kind == "file" and content is not None else None,
        mode=None if found.get("mode") is None else int(str(found["mode"]), 8),
        owner=found.get("owner"),
        group=found.get("group"),
    )


def differs_from_probe(wanted, found):
    """Whether host_files would act on ``wanted`` where host_probe found ``found`` (None: not read).

    A path the probe did not read, or one host_files would refuse (a directory
    where a file belongs), counts as differing: the module then runs and
    decides, or fails with its own message.
    """
    if found is None:
        return True
    try:
        return plan_one(wanted, observed_from_probe(found)).changed
    except KvmopsError:
        return True
