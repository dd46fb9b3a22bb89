"""playbooks/controller.yml read and rendered the way ansible-playbook renders it.

Both the unit tests (tests/unit/controller/) and the job harness
(tests/awx/run_template.py) work from what the awx.awx modules would really
receive: each awx.awx task's arguments, templated with the play's vars_files
by Ansible's own loader and templar, once per loop item. Nothing here talks to
a controller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "controller.yml"

# Stand-ins for the secrets the operator passes at run time, so that the
# credential tasks render too. Never real values.
PLACEHOLDER_SECRETS = {
    "kvmops_awx_ssh_private_key": "placeholder-ssh-private-key",
    "kvmops_awx_vault_password": "placeholder-vault-password",
    "kvmops_awx_ceph_client_key": "placeholder-ceph-client-key",
}

# Task keywords (not module names) that can appear beside a module.
_TASK_KEYWORDS = {
    "name", "when", "loop", "loop_control", "no_log", "register", "tags", "vars",
    "become", "become_user", "delegate_to", "run_once", "changed_when", "failed_when",
    "ignore_errors", "environment", "check_mode", "diff", "notify", "until", "retries",
    "delay", "module_defaults", "args", "throttle", "timeout", "any_errors_fatal",
}  # fmt: skip


@dataclass
class RenderedTask:
    """One awx.awx module call: a task, or one loop item of it."""

    name: str
    module: str  # the FQCN, e.g. awx.awx.job_template
    args: dict
    label: str
    no_log: bool

    @property
    def short_module(self) -> str:
        return self.module.rsplit(".", 1)[-1]


class Templated(str):
    """A value the templar could not render here (a runtime-only variable)."""


def plain(value):
    """Ansible's tagged str/int/dict subclasses as plain Python values."""
    return json.loads(json.dumps(value))


def _module_key(task: dict) -> str:
    keys = [k for k in task if k not in _TASK_KEYWORDS and "." in k]
    if len(keys) != 1:
        raise ValueError(f"task {task.get('name')!r}: cannot tell its module from {sorted(task)}")
    return keys[0]


def _tasks(play: dict):
    for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
        yield from _flatten(play.get(section) or [])


def _flatten(tasks):
    for task in tasks:
        if "block" in task:
            for part in ("block", "rescue", "always"):
                yield from _flatten(task.get(part) or [])
        else:
            yield task


def _render(templar: Templar, value):
    """Render value; what needs a variable that only exists at run time stays as Templated."""
    try:
        return plain(templar.template(value))
    except AnsibleError:
        if isinstance(value, dict):
            return {k: _render(templar, v) for k, v in value.items()}
        return Templated(str(value))


def load_play_vars(playbook: Path = PLAYBOOK, extra_vars: dict | None = None):
    """(loader, plays, variables) of the playbook's first play, as ansible-playbook sees them."""
    loader = DataLoader()
    loader.set_basedir(str(playbook.parent))
    plays = loader.load_from_file(str(playbook), trusted_as_template=True)
    variables: dict = {}
    for vars_file in plays[0].get("vars_files") or []:
        variables.update(loader.load_from_file(str((playbook.parent / vars_file).resolve()), trusted_as_template=True))
    variables.update(plays[0].get("vars") or {})
    variables.update(extra_vars or {})
    return loader, plays, variables


def awx_tasks(playbook: Path = PLAYBOOK, extra_vars: dict | None = None) -> list[RenderedTask]:
    """Every awx.awx module call of the playbook, arguments rendered, one per loop item."""
    loader, plays, variables = load_play_vars(playbook, PLACEHOLDER_SECRETS | (extra_vars or {}))
    rendered = []
    for play in plays:
        for task in _tasks(play):
            module = _module_key(task)
            if not module.startswith("awx.awx."):
                continue
            task_vars = variables | (task.get("vars") or {})
            loop_var = (task.get("loop_control") or {}).get("loop_var", "item")
            items = [None]
            if "loop" in task:
                items = Templar(loader=loader, variables=task_vars).template(task["loop"])
            for item in items:
                scope = task_vars if item is None else task_vars | {loop_var: item}
                templar = Templar(loader=loader, variables=scope)
                label = ""
                if item is not None:
                    label = str(
                        _render(templar, (task.get("loop_control") or {}).get("label", "{{ " + loop_var + " }}"))
                    )
                rendered.append(
                    RenderedTask(
                        name=task["name"],
                        module=module,
                        args=_render(templar, task[module] or {}),
                        label=label,
                        no_log=bool(task.get("no_log", False)),
                    )
                )
    return rendered


def tasks_of(module: str, tasks: list[RenderedTask] | None = None) -> list[RenderedTask]:
    """The rendered calls of one awx.awx module (short name, e.g. "job_template")."""
    return [t for t in (tasks if tasks is not None else awx_tasks()) if t.short_module == module]
