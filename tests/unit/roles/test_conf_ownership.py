# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One writer per setting: the roles that share qemu.conf, libvirtd.conf and sysctls never overlap.

kvm_host, kvm_hardening and kvm_tuning each edit their own settings of the
same libvirt files with kvmops.kvm.libvirt_conf; two owners of one setting
would undo each other on every run and break idempotence. These tests read
the roles' own defaults and vars, so a new setting in one role that another
already owns fails here, not on a fleet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"


def role_vars(role, name):
    return yaml.safe_load((ROLES / role / name).read_text())


HOST_DEFAULTS = role_vars("kvm_host", "defaults/main.yml")
HOST_VARS = role_vars("kvm_host", "vars/main.yml")
HARDENING_VARS = role_vars("kvm_hardening", "vars/main.yml")
HARDENING_DEFAULTS = role_vars("kvm_hardening", "defaults/main.yml")
TUNING_VARS = role_vars("kvm_tuning", "vars/main.yml")
TUNING_DEFAULTS = role_vars("kvm_tuning", "defaults/main.yml")

QEMU_OWNERS = {
    "kvm_host": set(HOST_DEFAULTS["kvm_host_qemu_conf_defaults"]),
    "kvm_hardening": set(HARDENING_VARS["__kvm_hardening_qemu_conf_keys"]),
    "kvm_tuning": set(TUNING_VARS["__kvm_tuning_qemu_conf_keys"]),
}
DAEMON_OWNERS = {
    "kvm_host": set(HOST_DEFAULTS["kvm_host_libvirtd_conf_defaults"]),
    "kvm_hardening": set(HARDENING_VARS["__kvm_hardening_daemon_conf_keys"]),
}


@pytest.mark.parametrize("owners", [QEMU_OWNERS, DAEMON_OWNERS], ids=["qemu.conf", "daemon conf"])
def test_default_settings_have_one_owner(owners):
    seen = {}
    for role, keys in owners.items():
        for key in keys:
            assert key not in seen, f"{key} is set by both {seen[key]} and {role}"
            seen[key] = role


def test_kvm_host_refuses_exactly_the_other_roles_settings():
    # kvm_host's preflight names the owner of a refused key; the map must match
    # what the owners declare, or a user could set a key two roles then fight over.
    expected_qemu = {key: role for role in ("kvm_hardening", "kvm_tuning") for key in QEMU_OWNERS[role]}
    assert HOST_VARS["__kvm_host_foreign_qemu_conf_keys"] == expected_qemu
    assert HOST_VARS["__kvm_host_foreign_daemon_conf_keys"] == dict.fromkeys(
        DAEMON_OWNERS["kvm_hardening"], "kvm_hardening"
    )


def _written_keys(role, task_file):
    """Setting names the role's tasks put into qemu.conf/daemon conf (libvirt_conf settings and set_fact combines)."""
    tasks = yaml.safe_load((ROLES / role / "tasks" / task_file).read_text())
    keys = set()

    def walk(items):
        for task in items:
            walk(task.get("block", []))
            settings = task.get("kvmops.kvm.libvirt_conf", {}).get("settings")
            if isinstance(settings, str):
                # settings: "{{ name }}" with the dict in the task's vars (its `when` compares it too).
                name = settings.strip("{} ")
                settings = task.get("vars", {}).get(name)
            if isinstance(settings, dict):
                keys.update(settings)
            # Controls that collect settings first: combine({'user': ..., 'group': ...}).
            fact = task.get("ansible.builtin.set_fact", {}).get("__kvm_hardening_qemu_settings", "")
            keys.update(re.findall(r"'(\w+)'\s*:", str(fact)))

    walk(tasks)
    return keys


def test_tasks_write_only_owned_settings():
    hardening = set()
    for task_file in ("mac.yml", "qemu.yml", "libvirt.yml"):
        hardening |= _written_keys("kvm_hardening", task_file)
    assert hardening == QEMU_OWNERS["kvm_hardening"] | DAEMON_OWNERS["kvm_hardening"]
    assert _written_keys("kvm_tuning", "hugepages.yml") == QEMU_OWNERS["kvm_tuning"]


def test_sysctl_drop_ins_do_not_overlap():
    hardening = set(HARDENING_DEFAULTS["kvm_hardening_sysctls"])
    tuning = set(TUNING_DEFAULTS["kvm_tuning_sysctls"])
    assert not hardening & tuning
    assert not tuning & set(TUNING_VARS["__kvm_tuning_reserved_sysctls"])


def test_control_tables_match_the_defaults():
    assert set(HARDENING_DEFAULTS["kvm_hardening_controls_default"]) == set(
        HARDENING_VARS["__kvm_hardening_known_controls"]
    )
    assert set(TUNING_DEFAULTS["kvm_tuning_controls_default"]) == set(TUNING_VARS["__kvm_tuning_known_controls"])
