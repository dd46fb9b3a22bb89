# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared helpers: run this collection's modules through real Ansible against localhost.

Modules run exactly as users run them (ansible-playbook, the checkout's
ansible.cfg, the FQCN resolved through .cache/collections), with the JSON
callback so a test reads each task's real result. Daemons are never mocked: a
test that needs one requests its fixture, which fails loudly when the daemon
is not reachable (start it with tests/testbed/*.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_CFG = REPO / "ansible.cfg"
# Overridable to aim the tests at another local daemon; the default is what the test bed starts.
LIBVIRT_URI = os.environ.get("KVMOPS_LIBVIRT_URI", "qemu:///system")
# Generous: libvirt re-probes QEMU on some hosts and each probe takes seconds.
PLAYBOOK_TIMEOUT = 300


def _tool(name):
    """The venv's own ansible tools first, so the tests use the pinned ansible-core."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found beside {sys.executable} nor in PATH: run `make venv`", pytrace=False)
    return found


@dataclass
class TaskResult:
    """One task's result as the JSON callback reports it for localhost."""

    rc: int
    result: dict
    stdout: str
    stderr: str

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    def __getitem__(self, key):
        return self.result[key]


def _run_tasks(tasks, check=False, diff=False, extra_env=None):
    """Run ``tasks`` (list of task dicts) in one play on localhost; returns one TaskResult per task run.

    Tasks after a failed one do not run, so the list can be shorter than ``tasks``.
    """
    play = [{"name": "kvmops integration", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
    )
    env.update(extra_env or {})
    cmd = [
        _tool("ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable}),
        "/dev/stdin",
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(
        cmd,
        input=json.dumps(play),
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=PLAYBOOK_TIMEOUT,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )
    return [
        TaskResult(proc.returncode, task["hosts"]["localhost"], proc.stdout, proc.stderr)
        for play_report in report["plays"]
        for task in play_report["tasks"]
        if "localhost" in task["hosts"]
    ]


def _run_module(module, args=None, check=False, diff=False):
    """Run one module (FQCN) once on localhost and return its TaskResult."""
    (result,) = _run_tasks([{"name": module, module: args or {}}], check=check, diff=diff)
    return result


@pytest.fixture(scope="session")
def run_tasks():
    """``run_tasks(tasks, check=False, diff=False, extra_env=None)`` → list of TaskResult."""
    return _run_tasks


@pytest.fixture(scope="session")
def run_module():
    """``run_module(fqcn, args=None, check=False, diff=False)`` → TaskResult."""
    return _run_module


@pytest.fixture(scope="session")
def libvirtd():
    """The URI of a reachable system libvirtd; fails the test (never skips) when it is down."""
    virsh = shutil.which("virsh")
    if not virsh:
        pytest.fail("virsh not found: install libvirt-clients (and libvirt-daemon-system)", pytrace=False)
    proc = subprocess.run(
        [virsh, "--connect", LIBVIRT_URI, "--readonly", "uri"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"libvirtd is not reachable at {LIBVIRT_URI} ({' '.join(proc.stderr.split())}); "
            "start it with tests/testbed/libvirt.sh start",
            pytrace=False,
        )
    return LIBVIRT_URI
