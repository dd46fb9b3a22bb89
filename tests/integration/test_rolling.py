# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rolling rollout: a host that fails in the first batch keeps every later batch untouched.

The real playbooks/hypervisors.yml runs with
`-e kvmops_hypervisors_serial=2 -e kvmops_hypervisors_max_fail_percentage=0`
against four inventory hosts that are all this machine (`ansible_connection:
local`), in check mode and limited by tags to kvm_host's preflight, which
only reads (one kvmops.kvm.host_probe run: CPU flags, /dev/kvm, files) and
decides from facts and inventory variables. One host of the first batch fails the preflight through its
inventory (kvm_host_min_memory_mb above its RAM); the hosts of the second
batch must then never run a task. A control run without the failure shows
that the same setup does reach the second batch.

The facts the preflight judges (RAM, service manager, OS) are fixed by a
first play with cacheable set_fact, in memory only, so the verdict depends
on the inventory alone and not on this machine (a container without systemd
would fail every host). The test also proves that nothing was changed:
check mode, no task reports a change, and every task that ran is a
read-only action.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.kvmops.kvm.tests.helpers.tools import ansible_tool

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_CFG = REPO / "ansible.cfg"
HYPERVISORS = REPO / "playbooks" / "hypervisors.yml"

HOSTS = ["roll-hv1", "roll-hv2", "roll-hv3", "roll-hv4"]
FAILING = "roll-hv2"
FACTS = {
    "architecture": "x86_64",
    "distribution": "Debian",
    "distribution_major_version": "12",
    "distribution_version": "12.0",
    "os_family": "Debian",
    "memtotal_mb": 65536,
    "service_mgr": "systemd",
}
# What the facts play, the roles' set_vars and the preflight may run: none writes.
READ_ONLY_ACTIONS = {
    "ansible.builtin.set_fact",
    "ansible.builtin.validate_argument_spec",
    "ansible.builtin.setup",
    "ansible.builtin.assert",
    "ansible.builtin.include_vars",
    "ansible.builtin.slurp",
    "ansible.builtin.stat",
    "ansible.builtin.fail",
    # One read of files, stats, packages and (under systemd) units.
    "kvmops.kvm.host_probe",
}
# The roles' play (the first entry imports playbooks/inventory_check.yml).
PLAY_NAME = next(play["name"] for play in yaml.safe_load(HYPERVISORS.read_text()) if "hosts" in play)


_tool = ansible_tool


def _inventory(tmp_path, failing):
    hosts = {host: {} for host in HOSTS}
    if failing:
        # Far above the 65536 MiB the facts give: preflight refuses this host.
        hosts[failing] = {"kvm_host_min_memory_mb": 1048576}
    inventory = {
        "all": {
            "children": {
                "hypervisors": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_become": False,
                        "ansible_python_interpreter": sys.executable,
                        # No VT-x needed: the hosts are this machine, which may lack it.
                        "kvm_host_allow_emulation": True,
                        "kvm_host_min_memory_mb": 1024,
                    },
                }
            }
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def _playbook(tmp_path):
    """Fixed facts first, then the real hypervisors.yml, unchanged."""
    plays = [
        {
            "name": "Fixed facts",
            "hosts": "hypervisors",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Give every host the same facts",
                    "ansible.builtin.set_fact": {**FACTS, "cacheable": True},
                    "tags": ["always"],
                }
            ],
        },
        {"name": "Hypervisors", "ansible.builtin.import_playbook": str(HYPERVISORS)},
    ]
    path = tmp_path / "rolling.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def _run(tmp_path, failing):
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            # Facts stay in this process: nothing is written to a cache on disk.
            "ANSIBLE_CACHE_PLUGIN": "memory",
        }
    )
    cmd = [
        _tool("ansible-playbook"),
        "-i",
        str(_inventory(tmp_path, failing)),
        str(_playbook(tmp_path)),
        "--check",
        "--diff",
        "-e",
        "kvmops_hypervisors_serial=2",
        "-e",
        "kvmops_hypervisors_max_fail_percentage=0",
        "--tags",
        "kvm_host_preflight",
        # The other roles' always-tagged tasks (per-OS vars, validation that
        # reads the host) are not part of this test.
        "--skip-tags",
        "kvm_hardening,kvm_tuning,kvm_ovs,kvm_ceph",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc, report


def _batches(report):
    """The hypervisors play's batches, in order: [{host: [(task name, result)]}]."""
    batches = []
    for play in report["plays"]:
        if play["play"]["name"] != PLAY_NAME:
            continue
        batch = {}
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                batch.setdefault(host, []).append((task["task"]["name"], result))
        batches.append(batch)
    return batches


def _ran(results):
    return [(name, result) for name, result in results if not result.get("skipped")]


def _assert_nothing_changed(report):
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                name = task["task"]["name"]
                assert not result.get("changed"), f"{host}: {name} reported a change"
                if not result.get("skipped"):
                    assert result.get("action") in READ_ONLY_ACTIONS, f"{host}: {name} ran {result.get('action')}"
    assert all(stats.get("changed", 0) == 0 for stats in report["stats"].values()), report["stats"]


def test_failure_in_first_batch_leaves_later_batches_untouched(tmp_path):
    proc, report = _run(tmp_path, failing=FAILING)

    assert proc.returncode != 0, proc.stdout
    batches = _batches(report)
    # The play stopped after the first batch: the second never started.
    assert len(batches) == 1, [sorted(b) for b in batches]
    first = batches[0]
    assert sorted(first) == ["roll-hv1", "roll-hv2"]
    # Nor did any task of any later play touch them (only the facts play did,
    # and playbooks/inventory_check.yml ran on localhost, touching no host).
    touched = {
        host
        for play in report["plays"]
        if play["play"]["name"] != "Fixed facts"
        for task in play["tasks"]
        for host in task["hosts"]
    }
    assert touched == {"localhost", "roll-hv1", "roll-hv2"}, touched

    failed = [(name, result) for name, result in first[FAILING] if result.get("failed")]
    assert len(failed) == 1, failed
    name, result = failed[0]
    assert "Fail when the host cannot run KVM guests" in name
    assert "kvm_host_min_memory_mb is 1048576" in result["msg"]

    # The healthy host of the batch passed its checks up to the failure...
    healthy = _ran(first["roll-hv1"])
    assert not any(result.get("failed") for _task, result in healthy), healthy
    assert any("preflight | Collect what the host is missing" in task for task, _result in healthy), healthy
    # ...and with max_fail_percentage 0 the play stopped right after the failed task, for it too.
    assert first["roll-hv1"][-1][0] == name, first["roll-hv1"][-1]

    _assert_nothing_changed(report)


def test_without_a_failure_every_batch_runs(tmp_path):
    """The control: the same run reaches the second batch when nothing fails."""
    proc, report = _run(tmp_path, failing=None)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    batches = _batches(report)
    assert [sorted(batch) for batch in batches] == [["roll-hv1", "roll-hv2"], ["roll-hv3", "roll-hv4"]]
    for batch in batches:
        for host, results in batch.items():
            ran = [task for task, _result in _ran(results)]
            assert any("preflight | Refuse settings another kvmops role owns" in name for name in ran), (host, ran)
    _assert_nothing_changed(report)
