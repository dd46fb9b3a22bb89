# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cloudinit_seed module run in-process on files in a temporary directory."""

from __future__ import annotations

import json
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kvmops.kvm.plugins.module_utils import _cloudinit_seed as seed
from ansible_collections.kvmops.kvm.plugins.modules import cloudinit_seed

USER = "#cloud-config\npassword: s3cret-for-test\n"


def run(capsys, check=False, diff=False, **args):
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit):
        cloudinit_seed.main()
    return json.loads(capsys.readouterr().out)


def test_create_then_no_change_then_update(capsys, tmp_path):
    path = tmp_path / "web1-seed.iso"
    args = {"path": str(path), "instance_id": "web1", "user_data": USER, "mode": "0600"}
    checked = run(capsys, check=True, diff=True, **args)
    assert checked["changed"] is True and checked["actions"] == ["create"]
    assert not path.exists()
    created = run(capsys, diff=True, **args)
    assert created["changed"] is True and created["actions"] == checked["actions"]
    assert created["diff"] == checked["diff"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert seed.read_iso(path.read_bytes())[1]["meta-data"] == b'{\n  "instance-id": "web1"\n}\n'
    again = run(capsys, diff=True, **args)
    assert again["changed"] is False and again["actions"] == []
    # Secrets stay out of the result and the diff (the invocation echoes the
    # arguments, which is why the role runs the task with no_log).
    for result in (created, again):
        result.pop("invocation")
        assert "s3cret" not in json.dumps(result)
    args["network_config"] = {"version": 2}
    updated = run(capsys, check=True, **args)
    assert updated["changed"] is True and updated["actions"] == ["add network-config"]


def test_diff_user_data_shows_the_text(capsys, tmp_path):
    path = tmp_path / "s.iso"
    result = run(capsys, check=True, diff=True, path=str(path), instance_id="a", user_data=USER, diff_user_data=True)
    assert "password: s3cret-for-test" in result["diff"]["after"]


def test_mode_change_alone_is_a_change(capsys, tmp_path):
    path = tmp_path / "s.iso"
    run(capsys, path=str(path), instance_id="a", mode="0600")
    result = run(capsys, path=str(path), instance_id="a", mode="0640")
    assert result["changed"] is True and result["actions"] == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_absent_removes_a_seed_and_refuses_other_files(capsys, tmp_path):
    path = tmp_path / "s.iso"
    run(capsys, path=str(path), instance_id="a")
    checked = run(capsys, check=True, path=str(path), state="absent")
    assert checked["changed"] is True and path.exists()
    assert run(capsys, path=str(path), state="absent")["changed"] is True
    assert not path.exists()
    assert run(capsys, path=str(path), state="absent")["changed"] is False
    path.write_text("important data\n")
    failed = run(capsys, path=str(path), instance_id="a")
    assert failed["failed"] is True and "not an ISO 9660 image" in failed["msg"]
    assert path.read_text() == "important data\n"


def test_missing_directory_and_missing_instance_id_fail_clearly(capsys, tmp_path):
    failed = run(capsys, path=str(tmp_path / "nope" / "s.iso"), instance_id="a")
    assert failed["failed"] is True and "does not exist" in failed["msg"]
    failed = run(capsys, path=str(tmp_path / "s.iso"))
    assert failed["failed"] is True and "meta_data" in failed["msg"]


def test_missing_pycdlib_is_reported(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cloudinit_seed, "PYCDLIB_IMPORT_ERROR", "Traceback: no module named pycdlib")
    failed = run(capsys, path=str(tmp_path / "s.iso"), instance_id="a")
    assert failed["failed"] is True
    assert "pycdlib" in failed["msg"] and "python3-pycdlib" in failed["msg"]
