# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The libvirt_conf module run in-process on files in a temporary directory.

The planner has its own tests (module_utils/test_libvirt_conf.py); these cover
what the module adds around it: check mode writes nothing and predicts the real
run, the diff, file creation and attributes, backups, symbolic links and the
failures a user sees.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kvmops.kvm.plugins.modules import libvirt_conf

SHIPPED = '# Shipped documentation\n#user = "libvirt-qemu"\n#\nmax_files = 1024\n'


def run(capsys, check=False, diff=False, **args):
    """Run the module once; returns its result dict (``failed`` set on fail_json)."""
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit):
        libvirt_conf.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def conf_file(tmp_path):
    path = tmp_path / "qemu.conf"
    path.write_text(SHIPPED)
    path.chmod(0o600)
    return path


def test_check_mode_predicts_the_real_run_and_writes_nothing(capsys, conf_file):
    settings = {"user": "libvirt-qemu", "max_files": 32768}
    checked = run(capsys, check=True, diff=True, path=str(conf_file), settings=settings)
    assert conf_file.read_text() == SHIPPED
    real = run(capsys, diff=True, path=str(conf_file), settings=settings)
    for key in ("changed", "changes", "config", "diff"):
        assert checked[key] == real[key], key
    assert real["changed"] is True
    assert real["changes"] == [
        {"name": "user", "action": "add", "before": None, "after": "libvirt-qemu"},
        {"name": "max_files", "action": "set", "before": 1024, "after": 32768},
    ]
    assert real["diff"]["before"] == SHIPPED
    assert real["diff"]["after"] == conf_file.read_text()
    assert conf_file.read_text() == (
        '# Shipped documentation\n#user = "libvirt-qemu"\nuser = "libvirt-qemu"\n#\nmax_files = 32768\n'
    )
    # atomic_move kept the shipped mode.
    assert stat.S_IMODE(conf_file.stat().st_mode) == 0o600


def test_second_run_changes_nothing(capsys, conf_file):
    settings = {"user": "libvirt-qemu", "cgroup_device_acl": ["/dev/null", "/dev/kvm"], "max_files": None}
    assert run(capsys, path=str(conf_file), settings=settings)["changed"] is True
    again = run(capsys, path=str(conf_file), settings=settings)
    assert (again["changed"], again["changes"]) == (False, [])
    assert again["config"] == {"user": "libvirt-qemu", "cgroup_device_acl": ["/dev/null", "/dev/kvm"]}


def test_mode_is_a_change_of_its_own_and_check_mode_leaves_it(capsys, conf_file):
    checked = run(capsys, check=True, path=str(conf_file), settings={"max_files": 1024}, mode="0640")
    assert (checked["changed"], checked["changes"]) == (True, [])
    assert stat.S_IMODE(conf_file.stat().st_mode) == 0o600
    assert run(capsys, path=str(conf_file), settings={"max_files": 1024}, mode="0640")["changed"] is True
    assert stat.S_IMODE(conf_file.stat().st_mode) == 0o640
    assert run(capsys, path=str(conf_file), settings={"max_files": 1024}, mode="0640")["changed"] is False


def test_missing_file_is_created_with_its_mode(capsys, tmp_path):
    path = tmp_path / "virtqemud.conf"
    checked = run(capsys, check=True, path=str(path), settings={"auth_unix_rw": "polkit"}, mode="0644")
    assert checked["changed"] is True
    assert not path.exists()
    created = run(capsys, path=str(path), settings={"auth_unix_rw": "polkit"}, mode="0644")
    assert created["changed"] is True
    assert path.read_text() == 'auth_unix_rw = "polkit"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_missing_file_with_nothing_to_write_stays_missing(capsys, tmp_path):
    path = tmp_path / "absent.conf"
    result = run(capsys, path=str(path), settings={"max_files": None}, mode="0644")
    assert (result.get("failed"), result["changed"], result["config"]) == (None, False, {})
    assert not path.exists()


def test_missing_file_without_create_fails(capsys, tmp_path):
    result = run(capsys, path=str(tmp_path / "qemu.conf"), settings={}, create=False)
    assert result["failed"] is True
    assert result["msg"] == f"libvirt config '{tmp_path / 'qemu.conf'}': does not exist and create is false"


def test_empty_settings_read_the_file(capsys, conf_file):
    result = run(capsys, path=str(conf_file), settings={}, create=False)
    assert (result["changed"], result["config"]) == (False, {"max_files": 1024})


def test_syntax_error_fails_without_writing(capsys, conf_file):
    conf_file.write_text("max_files = 1024\nuser libvirt-qemu\n")
    result = run(capsys, path=str(conf_file), settings={"max_files": 2048})
    assert result["failed"] is True
    assert result["msg"] == f"libvirt config '{conf_file}': line 2: expected '=' after user"
    assert conf_file.read_text() == "max_files = 1024\nuser libvirt-qemu\n"


def test_value_the_syntax_cannot_hold_fails_naming_the_setting(capsys, conf_file):
    result = run(capsys, path=str(conf_file), settings={"max_files": 1.5})
    assert result["failed"] is True
    assert result["msg"].startswith("libvirt config 'max_files': a float cannot be written")
    assert conf_file.read_text() == SHIPPED


def test_file_that_is_not_text_fails_cleanly(capsys, conf_file):
    conf_file.write_bytes(b"max_files = \xff\n")
    result = run(capsys, path=str(conf_file), settings={})
    assert result["failed"] is True
    assert result["msg"].startswith(f"libvirt config '{conf_file}': ")


def test_backup_keeps_the_old_file(capsys, conf_file):
    result = run(capsys, path=str(conf_file), settings={"max_files": 4096}, backup=True)
    with open(result["backup_file"], encoding="utf-8") as handle:
        assert handle.read() == SHIPPED
    assert "max_files = 4096" in conf_file.read_text()


def test_symbolic_link_is_followed(capsys, conf_file, tmp_path):
    link = tmp_path / "link.conf"
    link.symlink_to(conf_file.name)
    assert run(capsys, path=str(link), settings={"max_files": 4096})["changed"] is True
    assert link.is_symlink()
    assert os.readlink(link) == conf_file.name
    assert "max_files = 4096" in conf_file.read_text()
