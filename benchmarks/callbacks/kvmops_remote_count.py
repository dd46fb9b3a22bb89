# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Counts remote module executions and wall time per host and per role.

Not shipped (benchmarks/ is in galaxy.yml's build_ignore). Enable it beside the
normal output with

    ANSIBLE_CALLBACK_PLUGINS=benchmarks/callbacks \
    ANSIBLE_CALLBACKS_ENABLED=kvmops_remote_count \
    KVMOPS_REMOTE_COUNT_FILE=build/remote-count.json ansible-playbook ...

A *remote execution* is a task result (or loop item) that did not run on the
controller alone: an action that is not one of the controller-only actions
below, not skipped, on a host whose connection is not ``local``. An action
plugin such as ``template`` that runs several modules is counted once (its
stat), which is what it costs on a converged host. The summary is printed at
the end and written as JSON when KVMOPS_REMOTE_COUNT_FILE is set.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: kvmops_remote_count
type: aggregate
short_description: Count remote module executions per host and role
description:
  - Benchmark aid of kvmops.kvm, not shipped.
requirements:
  - enable in callbacks_enabled
"""

# Actions that never leave the controller: they cost no round trip to the host.
CONTROLLER_ONLY = frozenset(
    {
        "set_fact",
        "debug",
        "assert",
        "fail",
        "meta",
        "include_tasks",
        "import_tasks",
        "include_role",
        "import_role",
        "include_vars",
        "add_host",
        "group_by",
        "set_stats",
        "pause",
        "validate_argument_spec",
    }
)


def short_action(action):
    """``ansible.builtin.set_fact`` -> ``set_fact``."""
    return (action or "").rsplit(".", 1)[-1]


def role_of(task):
    role = getattr(task, "_role", None)
    if role is None:
        return "(play)"
    return role.get_name(include_role_fqcn=False) if hasattr(role, "get_name") else str(role)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kvmops_remote_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        # host -> role -> count
        self.remote = defaultdict(lambda: defaultdict(int))
        # role -> seconds of wall time (first task start to last task end)
        self.role_time = defaultdict(float)
        self.role_tasks = defaultdict(int)
        self._task_started = None
        self._task_role = None
        self._start = time.monotonic()

    def _close_task(self):
        if self._task_started is not None:
            self.role_time[self._task_role] += time.monotonic() - self._task_started
            self._task_started = None

    def v2_playbook_on_task_start(self, task, is_conditional=False):
        self._close_task()
        self._task_started = time.monotonic()
        self._task_role = role_of(task)
        self.role_tasks[self._task_role] += 1

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task)

    def _count(self, result):
        task = result._task
        if short_action(task.action) in CONTROLLER_ONLY:
            return
        if task.delegate_to or (result._host.vars or {}).get("ansible_connection") == "local":
            return
        if task.loop and not getattr(result, "_is_item", False) and "results" in result._result:
            # The loop's summary result: its items were counted one by one.
            return
        self.remote[result._host.get_name()][role_of(task)] += 1

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_runner_item_on_ok(self, result):
        result._is_item = True
        self._count(result)

    def v2_runner_item_on_failed(self, result):
        result._is_item = True
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        self._close_task()
        summary = {
            "wall_s": round(time.monotonic() - self._start, 1),
            "role_wall_s": {role: round(sec, 1) for role, sec in sorted(self.role_time.items())},
            "role_tasks": dict(sorted(self.role_tasks.items())),
            "remote_by_host": {host: dict(sorted(roles.items())) for host, roles in sorted(self.remote.items())},
            "remote_total_by_host": {host: sum(roles.values()) for host, roles in sorted(self.remote.items())},
        }
        self._display.display("kvmops remote executions per host: " + json.dumps(summary["remote_total_by_host"]))
        for host, roles in summary["remote_by_host"].items():
            self._display.display(f"  {host}: " + ", ".join(f"{r}={n}" for r, n in roles.items()))
        self._display.display(
            "kvmops wall time per role (s): " + ", ".join(f"{r}={s}" for r, s in summary["role_wall_s"].items())
        )
        target = os.environ.get("KVMOPS_REMOTE_COUNT_FILE")
        if target:
            with open(target, "w", encoding="utf-8") as handle:
                json.dump(summary, handle, indent=2, sort_keys=True)
