# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_files and host_probe through ansible-playbook on this machine's real file system.

systemd_units needs systemd as PID 1, which this machine does not have; the
roles' Molecule scenarios run it on lab VMs (and its planner has unit tests).
Here host_probe's units option is shown to fail with a clear message instead.
"""

from __future__ import annotations

import os
import stat

import pytest

FILES = "kvmops.kvm.host_files"
PROBE = "kvmops.kvm.host_probe"


@pytest.fixture
def tree(tmp_path):
    return tmp_path / "etc"


def items(tree, content="a=1\n"):
    return [
        {"path": str(tree / "kvmops.d"), "state": "directory", "mode": "0750"},
        {"path": str(tree / "kvmops.d" / "a.conf"), "content": content},
        {"path": str(tree / "kvmops.d" / "key"), "content": "KVMOPS-MARKER-7d1f\n", "mode": "0600", "secret": True},
        {"path": str(tree / "old.conf"), "state": "absent"},
    ]


def test_check_mode_predicts_the_run_then_the_rerun_changes_nothing(run_module, tree):
    (tree).mkdir()
    (tree / "old.conf").write_text("stale\n")
    predicted = run_module(FILES, {"files": items(tree)}, check=True, diff=True)
    assert not (tree / "kvmops.d").exists(), "check mode wrote something"
    assert (tree / "old.conf").exists(), "check mode removed something"
    applied = run_module(FILES, {"files": items(tree)}, diff=True)
    assert (
        predicted["changed_paths"]
        == applied["changed_paths"]
        == [
            str(tree / "kvmops.d"),
            str(tree / "kvmops.d" / "a.conf"),
            str(tree / "kvmops.d" / "key"),
            str(tree / "old.conf"),
        ]
    )
    assert (tree / "kvmops.d" / "a.conf").read_text() == "a=1\n"
    assert stat.S_IMODE(os.stat(tree / "kvmops.d").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(tree / "kvmops.d" / "key").st_mode) == 0o600
    assert not (tree / "old.conf").exists()
    again = run_module(FILES, {"files": items(tree)}, check=True)
    assert again["changed"] is False
    assert run_module(FILES, {"files": items(tree)})["changed"] is False


def test_secret_content_is_in_the_file_and_nowhere_in_the_output(run_module, tree):
    result = run_module(FILES, {"files": items(tree)}, diff=True)
    assert "KVMOPS-MARKER-7d1f" in (tree / "kvmops.d" / "key").read_text()
    assert "KVMOPS-MARKER-7d1f" not in result.stdout + result.stderr


def test_only_the_changed_file_is_reported_and_diffed(run_module, tree):
    run_module(FILES, {"files": items(tree)})
    result = run_module(FILES, {"files": items(tree, content="a=2\n")}, diff=True)
    assert result["changed_paths"] == [str(tree / "kvmops.d" / "a.conf")]
    (diff,) = result["diff"]
    assert (diff["before"], diff["after"]) == ("a=1\n", "a=2\n")


def test_failed_validation_leaves_the_old_file_and_names_it(run_module, tree):
    run_module(FILES, {"files": items(tree)})
    target = tree / "kvmops.d" / "a.conf"
    bad = [{"path": str(target), "content": "broken\n", "validate": "grep -q '^a=' %s"}]
    result = run_module(FILES, {"files": bad})
    assert result.failed
    assert str(target) in result["msg"]
    assert "validate command" in result["msg"]
    assert target.read_text() == "a=1\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.conf", "key"], "a temporary file was left behind"


def test_unknown_owner_fails_before_anything_is_written(run_module, tree):
    wanted = items(tree)
    wanted[2]["owner"] = "kvmops-no-such-user"
    result = run_module(FILES, {"files": wanted})
    assert result.failed
    assert "kvmops-no-such-user does not exist" in result["msg"]
    assert not tree.exists()


def test_a_directory_is_never_replaced_by_a_file(run_module, tree):
    (tree / "kvmops.d").mkdir(parents=True)
    result = run_module(FILES, {"files": [{"path": str(tree / "kvmops.d"), "content": "x\n"}]})
    assert result.failed
    assert "is a directory on the host, not a file" in result["msg"]
    assert (tree / "kvmops.d").is_dir()


def test_probe_reads_files_stats_globs_sysctls_packages_and_commands(run_module, tree):
    run_module(FILES, {"files": items(tree)})
    result = run_module(
        PROBE,
        {
            "files": [str(tree / "kvmops.d" / "a.conf"), str(tree / "none")],
            "stat": ["/dev/null"],
            "globs": [str(tree / "kvmops.d" / "*")],
            "sysctls": ["kernel.ostype", "kvmops.no.such"],
            "packages": ["libvirt-clients", "kvmops-no-such-package"],
            "commands": {"uname": ["uname", "-s"], "fails": ["false"], "missing": ["kvmops-no-such-command"]},
        },
        check=True,
    )
    assert result["changed"] is False
    assert result["files"][str(tree / "kvmops.d" / "a.conf")]["content"] == "a=1\n"
    assert result["files"][str(tree / "none")]["exists"] is False
    assert result["stat"]["/dev/null"]["type"] == "char"
    assert result["globs"][str(tree / "kvmops.d" / "*")] == [str(tree / "kvmops.d" / n) for n in ("a.conf", "key")]
    assert result["sysctls"] == {"kernel.ostype": "Linux", "kvmops.no.such": None}
    assert result["packages"]["libvirt-clients"]
    assert result["packages"]["kvmops-no-such-package"] is None
    assert result["commands"]["uname"]["stdout"].strip() == "Linux"
    assert result["commands"]["fails"]["rc"] == 1
    assert result["commands"]["missing"]["rc"] == 127


def test_probe_of_units_without_systemd_reports_that_instead_of_guessing(run_module):
    # This machine has no systemd as PID 1: systemctl answers, but cannot show units.
    result = run_module(PROBE, {"units": ["libvirtd.service"]})
    assert not result.failed, result.result
    assert result["systemd"] is False
    assert result["units"] == {}
