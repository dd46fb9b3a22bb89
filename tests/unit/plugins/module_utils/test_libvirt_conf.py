# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt's config syntax: parsing, rendering and the key-by-key planner of libvirt_conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as conf
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

FIXTURES = Path(__file__).parent / "fixtures"
# The files libvirt 9.0 ships on Debian 12, untouched: every setting commented out.
QEMU_CONF = (FIXTURES / "qemu_conf_debian12.conf").read_text()
LIBVIRTD_CONF = (FIXTURES / "libvirtd_conf_debian12.conf").read_text()


def test_parse_all_value_kinds():
    text = (
        'a = "x y"\n'
        "b = 'say \"hi\"'\n"
        "c = -12 # trailing comment\n"
        'd = [ "one",  # first\n'
        "      2,\n"
        "    ]\n"
        'e = """multi\nline"""; f = 0\n'
    )
    assert conf.values(text) == {"a": "x y", "b": 'say "hi"', "c": -12, "d": ["one", 2], "e": "multi\nline", "f": 0}


def test_shipped_files_have_no_active_settings():
    assert conf.values(QEMU_CONF) == {}
    assert conf.values(LIBVIRTD_CONF) == {}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a = "open\n', 1),
        ("a = 1\nb 2\n", 2),
        ("a = [1, 2\n", 1),
        ("a = 1.5\n", 1),
        ("a = 1 b\n", 1),
        ("a = {}\n", 1),
    ],
)
def test_syntax_errors_name_the_line(text, line):
    with pytest.raises(KvmopsError, match=f"line {line}:"):
        conf.parse(text, "/etc/libvirt/qemu.conf")


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        (True, "1"),
        (False, "0"),
        (32768, "32768"),
        ("127.0.0.1", '"127.0.0.1"'),
        ('say "hi"', "'say \"hi\"'"),
        (["cpu", "memory", 3], '["cpu", "memory", 3]'),
        ([], "[]"),
    ],
)
def test_render_round_trips(value, rendered):
    normalised = conf.normalise_value("k", value)
    assert conf.render_value(normalised) == rendered
    assert conf.values(f"k = {rendered}\n") == {"k": normalised}


@pytest.mark.parametrize("value", [1.5, {"a": 1}, [["nested"]], [None], "two\nlines", "both \" and '"])
def test_values_the_syntax_cannot_hold_are_refused(value):
    with pytest.raises(KvmopsError, match="'max_files'"):
        conf.plan("", {"max_files": value})


def test_new_setting_lands_after_its_commented_example():
    new, changes = conf.plan(QEMU_CONF, {"user": "libvirt-qemu"})
    assert [c.as_dict() for c in changes] == [
        {"name": "user", "action": "add", "before": None, "after": "libvirt-qemu"}
    ]
    lines = new.splitlines()
    example = lines.index('#user = "libvirt-qemu"')
    assert lines[example + 1] == 'user = "libvirt-qemu"'
    # Nothing else moved: removing the one new line gives back the shipped file.
    assert new.replace('user = "libvirt-qemu"\n', "", 1) == QEMU_CONF


def test_multiline_commented_example_is_not_split():
    new = conf.plan(QEMU_CONF, {"cgroup_device_acl": ["/dev/null", "/dev/kvm"]})[0]
    lines = new.splitlines()
    closing = lines.index("#]", lines.index("#cgroup_device_acl = ["))
    assert lines[closing + 1] == 'cgroup_device_acl = ["/dev/null", "/dev/kvm"]'


def test_example_followed_by_another_keys_example_ends_at_its_own_line():
    # qemu.conf has "#max_processes = 0" right above "#max_files = 0": the new
    # setting goes between them, not after the neighbour (seen in Molecule).
    lines = conf.plan(QEMU_CONF, {"max_processes": 4096})[0].splitlines()
    example = lines.index("#max_processes = 0")
    assert lines[example + 1 : example + 3] == ["max_processes = 4096", "#max_files = 0"]


def test_setting_without_example_is_appended():
    new, changes = conf.plan("# only a comment", {"kvmops_test": 1, "other": "x"})
    assert new == '# only a comment\nkvmops_test = 1\nother = "x"\n'
    assert [c.action for c in changes] == ["add", "add"]


def test_unchanged_value_keeps_its_formatting():
    text = "max_files=32768   # raised for many disks\nset_process_name = 1\n"
    new, changes = conf.plan(text, {"max_files": 32768, "set_process_name": True})
    assert (new, changes) == (text, [])


def test_changed_value_keeps_trailing_comment_and_neighbours():
    text = '# header\nmax_files = 1024 # why\nvnc_listen = "0.0.0.0"\n'
    new, changes = conf.plan(text, {"vnc_listen": "127.0.0.1"})
    assert new == '# header\nmax_files = 1024 # why\nvnc_listen = "127.0.0.1"\n'
    assert [c.as_dict() for c in changes] == [
        {"name": "vnc_listen", "action": "set", "before": "0.0.0.0", "after": "127.0.0.1"}
    ]


def test_multiline_list_is_replaced_whole():
    text = 'a = 1\ncgroup_controllers = [\n  "cpu",\n  "memory",\n]\nb = 2\n'
    new = conf.plan(text, {"cgroup_controllers": ["cpu"]})[0]
    assert new == 'a = 1\ncgroup_controllers = ["cpu"]\nb = 2\n'


def test_null_removes_every_entry_and_only_its_lines():
    text = "a = 1\nspice_listen = \"0.0.0.0\"  # old\nb = 2\nspice_listen = '::'\n"
    new, changes = conf.plan(text, {"spice_listen": None, "absent_key": None})
    assert new == "a = 1\nb = 2\n"
    assert [c.as_dict() for c in changes] == [
        {"name": "spice_listen", "action": "remove", "before": "::", "after": None}
    ]


def test_repeated_setting_is_reduced_to_one():
    text = "max_files = 1\nmax_files = 2\n"
    new, changes = conf.plan(text, {"max_files": 2})
    assert new == "max_files = 2\n"
    assert changes[0].before == 2  # libvirt reads the last one


def test_semicolon_separated_entries_are_edited_in_place():
    new = conf.plan("a = 1; b = 2\n", {"b": 3, "a": None})[0]
    assert conf.values(new) == {"b": 3}


def test_second_plan_changes_nothing():
    settings = {
        "security_driver": "apparmor",
        "security_default_confined": True,
        "cgroup_device_acl": ["/dev/null", "/dev/full", "/dev/zero", "/dev/kvm"],
        "hugetlbfs_mount": ["/dev/hugepages", "/dev/hugepages1G"],
    }
    once, changes = conf.plan(QEMU_CONF, settings)
    assert len(changes) == 4
    twice, again = conf.plan(once, settings)
    assert (twice, again) == (once, [])
    assert conf.values(once) == {key: conf.normalise_value(key, value) for key, value in settings.items()}


def test_roles_editing_different_keys_do_not_disturb_each_other():
    host = {"max_files": 32768, "vnc_listen": "127.0.0.1"}
    hardening = {"user": "libvirt-qemu", "seccomp_sandbox": 1}
    text = conf.plan(QEMU_CONF, host)[0]
    text = conf.plan(text, hardening)[0]
    # kvm_host's next run finds its keys as it left them, whatever hardening did.
    assert conf.plan(text, host)[1] == []
    assert conf.plan(text, hardening)[1] == []
