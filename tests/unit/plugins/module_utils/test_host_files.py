# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_files' pure planner: input checks, what changes, and the diff an operator reads."""

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_files as hf
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError


def item(**kw):
    base = {"path": "/etc/kvmops.conf", "state": "file", "content": "a=1\n", "owner": None, "group": None}
    base.update(kw)
    return base


def have_file(content=b"a=1\n", mode=0o644, owner="root", group="root"):
    return hf.Observed(kind="file", content=content, mode=mode, owner=owner, group=group)


def test_defaults_are_root_and_0644_for_files_0755_for_directories():
    want = hf.wanted_from_item(item())
    assert (want.owner, want.group, want.mode) == ("root", "root", 0o644)
    directory = hf.wanted_from_item(item(state="directory", content=None))
    assert directory.mode == 0o755


@pytest.mark.parametrize("mode", ["0644", "644", "0640", "1777"])
def test_octal_strings_are_modes(mode):
    assert hf.wanted_from_item(item(mode=mode)).mode == int(mode, 8)


@pytest.mark.parametrize("mode", [420, "0x1a4", "rw-r--r--", "0999", "", " 0644"])
def test_modes_that_are_not_octal_strings_are_refused(mode):
    with pytest.raises(KvmopsError, match="octal string"):
        hf.wanted_from_item(item(mode=mode))


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"path": "etc/kvmops.conf"}, "absolute"),
        ({"path": "/etc/../kvmops.conf"}, "normalised"),
        ({"path": "/etc/kvmops/"}, "normalised"),
        ({"content": None}, "needs content"),
        ({"state": "directory"}, "only for state file"),
        ({"validate": "nft -c -f"}, "%s"),
        ({"state": "absent", "content": None, "validate": "true %s"}, "validate is only for state file"),
    ],
)
def test_items_no_operator_means_are_refused_before_anything_is_read(kw, message):
    with pytest.raises(KvmopsError, match=message):
        hf.wanted_from_item(item(**kw))


def test_a_path_listed_twice_is_refused():
    with pytest.raises(KvmopsError, match="more than once"):
        hf.wanted_from_items([item(), item(content="a=2\n")])


def test_converged_file_has_no_changes():
    plan = hf.plan_one(hf.wanted_from_item(item()), have_file())
    assert not plan.changed
    assert plan.as_result() == {"path": "/etc/kvmops.conf", "state": "file", "changed": False, "changes": []}


def test_missing_file_is_created():
    plan = hf.plan_one(hf.wanted_from_item(item()), hf.Observed())
    assert plan.changes == ["created"]


def test_each_attribute_that_differs_is_named():
    plan = hf.plan_one(hf.wanted_from_item(item(mode="0600")), have_file(content=b"a=0\n", owner="nobody", group="kvm"))
    assert plan.changes == ["content", "owner", "group", "mode"]


def test_directory_compares_attributes_only():
    want = hf.wanted_from_item(item(path="/etc/kvmops.d", state="directory", content=None))
    have = hf.Observed(kind="directory", mode=0o700, owner="root", group="root")
    assert hf.plan_one(want, have).changes == ["mode"]


def test_absent_removes_what_exists_and_leaves_what_does_not():
    want = hf.wanted_from_item(item(state="absent", content=None))
    assert hf.plan_one(want, have_file()).changes == ["removed"]
    assert hf.plan_one(want, hf.Observed()).changes == []


@pytest.mark.parametrize(("state", "kind"), [("file", "directory"), ("directory", "file"), ("file", "link")])
def test_a_path_of_another_kind_is_never_replaced(state, kind):
    want = hf.wanted_from_item(item(state=state, content="x\n" if state == "file" else None))
    with pytest.raises(KvmopsError, match=f"is a {kind} on the host"):
        hf.plan_one(want, hf.Observed(kind=kind, mode=0o755, owner="root", group="root"))


def test_content_diff_carries_the_attributes_in_its_headers():
    plan = hf.plan_one(hf.wanted_from_item(item(content="a=2\n", mode="0600")), have_file())
    diff = hf.diff_of(plan)
    assert diff["before"] == "a=1\n"
    assert diff["after"] == "a=2\n"
    assert diff["before_header"] == "/etc/kvmops.conf (file, mode 0644, root:root)"
    assert diff["after_header"] == "/etc/kvmops.conf (file, mode 0600, root:root)"


def test_attribute_only_change_shows_the_attribute_lines():
    # Equal before/after texts would make Ansible print no diff at all.
    plan = hf.plan_one(hf.wanted_from_item(item(mode="0600")), have_file())
    diff = hf.diff_of(plan)
    assert diff["before"] != diff["after"]
    assert "mode 0644" in diff["before"]
    assert "mode 0600" in diff["after"]


def test_secret_content_never_reaches_the_diff():
    plan = hf.plan_one(hf.wanted_from_item(item(content="KEY=s3cr3t\n", secret=True)), have_file(b"KEY=old\n"))
    diff = hf.diff_of(plan)
    assert "s3cr3t" not in repr(diff)
    assert "old" not in repr(diff)
    assert diff["after"] == hf.SECRET_TEXT


def test_removal_diff_shows_the_content_that_goes():
    plan = hf.plan_one(hf.wanted_from_item(item(state="absent", content=None)), have_file())
    diff = hf.diff_of(plan)
    assert (diff["before"], diff["after"]) == ("a=1\n", "")
    assert diff["after_header"] == "/etc/kvmops.conf (absent)"


def test_probe_entries_plan_like_the_module_reads():
    want = hf.wanted_from_item(item())
    probed = {"exists": True, "type": "file", "content": "a=1\n", "mode": "0644", "owner": "root", "group": "root"}
    assert hf.differs_from_probe(want, probed) is False
    assert hf.differs_from_probe(want, dict(probed, mode="0600")) is True
    assert hf.differs_from_probe(want, {"exists": False}) is True
    # Not read, or a kind host_files refuses to replace: the module decides.
    assert hf.differs_from_probe(want, None) is True
    assert hf.differs_from_probe(want, dict(probed, type="char", content=None)) is True
