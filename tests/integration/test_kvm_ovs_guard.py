# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_ovs role's apply-with-rollback script against a real, private ovsdb-server.

Restoring a backup into the test bed's shared database would undo what other
tests do meanwhile, so each test starts its own ovsdb-server on a fresh
database under tmp_path (no ovs-vswitchd: the plan passes ``--no-wait``) and
stops it afterwards. The network side uses files in tmp_path and a reload
command that only records that it ran.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUARD = REPO / "roles" / "kvm_ovs" / "files" / "kvm_ovs_guard.py"
SCHEMA = Path("/usr/share/openvswitch/vswitch.ovsschema")


def run(*args, check=True, **kwargs):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False, **kwargs)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
    return proc


@pytest.fixture
def ovsdb(tmp_path):
    """A private ovsdb-server with an initialised Open_vSwitch database; yields its socket."""
    for tool in ("ovsdb-tool", "ovsdb-server", "ovsdb-client"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: the test bed needs openvswitch-switch", pytrace=False)
    db_file, sock, pidfile = tmp_path / "conf.db", tmp_path / "db.sock", tmp_path / "ovsdb.pid"
    run("ovsdb-tool", "create", str(db_file), str(SCHEMA))
    run(
        "ovsdb-server", str(db_file), f"--remote=punix:{sock}", f"--pidfile={pidfile}", "--detach",
        f"--log-file={tmp_path / 'ovsdb.log'}", "--no-chdir",
    )  # fmt: skip
    db = f"unix:{sock}"
    run("ovs-vsctl", f"--db={db}", "--no-wait", "--timeout=10", "init")
    try:
        yield db
    finally:
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)


def bridges(db):
    return run("ovs-vsctl", f"--db={db}", "--timeout=10", "list-br").stdout.split()


@pytest.fixture
def layout(tmp_path, ovsdb):
    """Network dir with one managed file and one foreign file, a staged dir, a reload recorder."""
    net, staged, work = tmp_path / "network", tmp_path / "staged", tmp_path / "work"
    for path in (net, staged):
        path.mkdir()
    (net / "50-kvm-ovs-old.network").write_text("old\n")
    (net / "10-other.network").write_text("foreign\n")
    (staged / "50-kvm-ovs-mgmt0.network").write_text("new\n")
    reloads = tmp_path / "reloads"
    plan = {
        "db": ovsdb,
        "ovsdb_timeout": 5,
        "vsctl_options": ["--no-wait"],
        "ovs_commands": [["add-br", "kvit-g0"], ["set", "Bridge", "kvit-g0", "external_ids:k=v"]],
        "network": {
            "dir": str(net),
            "glob": "50-kvm-ovs-*.network",
            "staged": str(staged),
            "reload": [[sys.executable, "-c", f"open({str(reloads)!r}, 'a').write('reload\\n')"]],
        },
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    return {"db": ovsdb, "net": net, "work": work, "reloads": reloads, "plan": tmp_path / "plan.json"}


def start_guard(layout, timeout):
    confirm = layout["work"] / "confirm"
    args = [sys.executable, str(GUARD), "--plan", str(layout["plan"]), "--workdir", str(layout["work"])]
    args += ["--confirm", str(confirm), "--timeout", str(timeout)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), confirm


def wait_status(layout, word, seconds=20):
    status = layout["work"] / "status"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status.exists() and status.read_text().strip() == word:
            return
        time.sleep(0.1)
    pytest.fail(f"status never became {word!r}: {status.read_text() if status.exists() else 'missing'}")


def test_confirmed_change_stays(layout):
    proc, confirm = start_guard(layout, timeout=30)
    wait_status(layout, "applied")
    assert bridges(layout["db"]) == ["kvit-g0"]
    assert sorted(p.name for p in layout["net"].iterdir()) == ["10-other.network", "50-kvm-ovs-mgmt0.network"]
    confirm.write_text("ok\n")
    assert proc.wait(timeout=10) == 0
    assert (layout["work"] / "status").read_text().strip() == "confirmed"
    assert bridges(layout["db"]) == ["kvit-g0"]
    assert layout["reloads"].read_text() == "reload\n"


def test_unconfirmed_change_is_rolled_back(layout):
    started = time.monotonic()
    proc, _confirm = start_guard(layout, timeout=2)
    wait_status(layout, "applied")
    assert bridges(layout["db"]) == ["kvit-g0"]
    assert proc.wait(timeout=30) == 3
    assert time.monotonic() - started >= 2
    assert (layout["work"] / "status").read_text().strip() == "rolled-back"
    assert bridges(layout["db"]) == []
    # The role's files are back as they were; files it does not own were never touched.
    assert (layout["net"] / "50-kvm-ovs-old.network").read_text() == "old\n"
    assert sorted(p.name for p in layout["net"].iterdir()) == ["10-other.network", "50-kvm-ovs-old.network"]
    assert layout["reloads"].read_text() == "reload\nreload\n"
    assert "no confirmation within 2 s" in (layout["work"] / "guard.log").read_text()


def test_failed_apply_changes_nothing(layout):
    plan = json.loads(layout["plan"].read_text())
    plan["ovs_commands"].append(["add-port", "kvit-nobridge", "p0"])
    layout["plan"].write_text(json.dumps(plan))
    proc, _confirm = start_guard(layout, timeout=30)
    assert proc.wait(timeout=30) == 1
    assert (layout["work"] / "status").read_text().strip() == "failed"
    # One transaction: the bridge of the same plan was not created either.
    assert bridges(layout["db"]) == []
    assert "no bridge named kvit-nobridge" in (layout["work"] / "guard.log").read_text()
    assert (layout["net"] / "50-kvm-ovs-old.network").read_text() == "old\n"
