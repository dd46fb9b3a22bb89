# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shipped inventories are valid input for the playbooks, host by host.

For every host of an inventory, every role the playbooks would run on it
(the same `when` expressions, read from playbooks/hypervisors.yml and
playbooks/guests.yml) validates the host's variables against its
meta/argument_specs.yml `main` entry point, with
ansible.builtin.validate_argument_spec, exactly as the role does before its
first task. Where a role's own pre-check is pure (a set_fact/assert over the
inventory, no host contact), it runs too, so combinations that argument
specs cannot express (an RBD disk on a host without Ceph, a VLAN outside its
trunk list) fail here and not on a fleet.

Nothing contacts a host: the connection is forced to local and every task
is an action plugin that runs on the controller (validate_argument_spec,
set_fact, assert). No daemon is needed, hence a unit test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.kvmops.kvm.tests.helpers.tools import ansible_tool

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_CFG = REPO / "ansible.cfg"
PROD = REPO / "prod"
LAB = REPO / "inventories" / "lab"
PROD_VAULT_PASSWORD = PROD / "vault-password.example.txt"
PLAYBOOKS = [REPO / "playbooks" / "hypervisors.yml", REPO / "playbooks" / "guests.yml"]

# Role task files that only read the inventory (set_fact/assert on the
# controller): the roles' own checks of what argument specs cannot say.
# kvm_host's preflight and the validate files of kvm_hardening and
# kvm_tuning read the host, so they are not here.
PURE_PRECHECKS = {
    "kvm_ovs": "validate.yml",
    "kvm_ceph": "preflight.yml",
    "kvm_guests": "validate.yml",
}

# What the prod example means to show: which roles apply to which host.
PROD_HOSTS = {
    "hv-a01-01.example.net",
    "hv-a01-02.example.net",
    "hv-a02-01.example.net",
    "hv-a02-02.example.net",
    "hv-b01-01.example.net",
}
PROD_WITHOUT_CEPH = {"hv-b01-01.example.net"}
ALL_ROLES = {"kvm_host", "kvm_hardening", "kvm_tuning", "kvm_ovs", "kvm_ceph", "kvm_guests"}


_tool = ansible_tool


def _env():
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
    )
    return env


def _playbook_plays():
    """Per play of the playbooks: [(role short name, `when` or None)], in order."""
    plays = []
    for playbook in PLAYBOOKS:
        for play in yaml.safe_load(playbook.read_text()):
            if any(key.endswith("import_playbook") for key in play):
                continue  # inventory_check.yml: a play on localhost that reads no role variable
            assert play["hosts"] == "hypervisors", f"{playbook.name}: a play not on group hypervisors"
            roles = []
            for entry in play.get("roles", []):
                name = entry["role"] if isinstance(entry, dict) else entry
                roles.append((name.split(".")[-1], entry.get("when") if isinstance(entry, dict) else None))
            plays.append(roles)
    return plays


def _role_tasks(role, when):
    """A block: the role's argument-spec validation plus its pure pre-check, under the playbook's `when`."""
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    block = [
        {
            "name": f"validate {role}",
            "ansible.builtin.validate_argument_spec": {"argument_spec": spec["argument_specs"]["main"]["options"]},
        }
    ]
    if role in PURE_PRECHECKS:
        block.append(
            {"ansible.builtin.import_role": {"name": f"kvmops.kvm.{role}", "tasks_from": PURE_PRECHECKS[role]}}
        )
    item = {"name": f"role {role}", "block": block}
    if when:
        item["when"] = when
    return item


def _validation_playbook():
    """The playbooks' plays, each role replaced by its validation: roles' defaults reach the same
    later roles as in the real run (defaults of one play's roles never reach the next play)."""
    return [
        {
            "name": "Validate the inventory",
            "hosts": "hypervisors",
            "gather_facts": False,
            "tasks": [_role_tasks(role, when) for role, when in roles],
        }
        for roles in _playbook_plays()
    ]


def _vault_args(inventory):
    password = inventory / "vault-password.example.txt"
    return ["--vault-password-file", str(password)] if password.exists() else []


def validate(inventory, tmp_path):
    """Run the validation play against ``inventory``; returns (rc, {host: {task name: result}}, output)."""
    playbook = tmp_path / "validate.yml"
    playbook.write_text(yaml.safe_dump(_validation_playbook(), sort_keys=False))
    cmd = [
        _tool("ansible-playbook"),
        "-i",
        str(inventory),
        str(playbook),
        # Never an SSH connection, never become: nothing here needs the host.
        "-e",
        "ansible_connection=local",
        "-e",
        "ansible_become=false",
        *_vault_args(inventory),
    ]
    env = _env()
    if inventory == LAB:
        # The lab reads its Ceph fsid from the test bed's ceph.conf, which
        # does not exist before the test bed first starts: give it one.
        conf = tmp_path / "ceph.conf"
        conf.write_text("[global]\nfsid = 0f6c1d5e-7b1a-4c55-9d7e-3a1f4b2c8e90\n")
        env["KVMOPS_LAB_CEPH_CONF"] = str(conf)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    results = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                results.setdefault(host, {})[task["task"]["name"]] = result
    return proc.returncode, results, proc.stdout + proc.stderr


def _failures(results):
    return {
        host: {name: result.get("msg") for name, result in tasks.items() if result.get("failed")}
        for host, tasks in results.items()
        if any(result.get("failed") for result in tasks.values())
    }


def _validated_roles(tasks):
    return {
        name.split()[1]
        for name, result in tasks.items()
        if name.startswith("validate ") and not result.get("skipped") and not result.get("failed")
    }


def _prechecked_roles(tasks):
    """Roles whose imported pre-check tasks ran ("kvmops.kvm.<role> : <task>")."""
    return {
        name.split(" : ")[0].split(".")[-1]
        for name, result in tasks.items()
        if " : " in name and not result.get("skipped") and not result.get("failed")
    }


def test_playbooks_run_every_role():
    assert {role for roles in _playbook_plays() for role, _when in roles} == ALL_ROLES


@pytest.mark.parametrize("inventory", [PROD, LAB], ids=["prod", "lab"])
def test_site_syntax_check(inventory):
    cmd = [_tool("ansible-playbook"), "-i", str(inventory), "playbooks/site.yml", "--syntax-check"]
    env = _env()
    env.pop("ANSIBLE_STDOUT_CALLBACK")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_prod_hosts_validate(tmp_path):
    rc, results, output = validate(PROD, tmp_path)
    assert not _failures(results), _failures(results)
    assert rc == 0, output
    assert set(results) == PROD_HOSTS
    for host, tasks in results.items():
        expected = ALL_ROLES - ({"kvm_ceph"} if host in PROD_WITHOUT_CEPH else set())
        assert _validated_roles(tasks) == expected, host
        assert _prechecked_roles(tasks) == set(PURE_PRECHECKS) & expected, host


def test_lab_hosts_validate(tmp_path):
    rc, results, output = validate(LAB, tmp_path)
    assert not _failures(results), _failures(results)
    assert rc == 0, output
    assert results, "no lab hypervisor was validated"
    for host, tasks in results.items():
        # The lab runs every role: OVS bridges with VLANs, Ceph, guests.
        assert _validated_roles(tasks) == ALL_ROLES, host
        assert _prechecked_roles(tasks) == set(PURE_PRECHECKS), host


# Each breaks one variable of one host in a copy of prod; the
# validation must fail on that host only, naming the problem. This keeps the
# test above honest: it can fail, for argument specs and for pre-checks.
BREAKAGES = [
    pytest.param(
        "host_vars/hv-a01-01.example.net.yml",
        lambda d: d["kvm_guests_vms"][1].update(dedicated_cpus="maybe"),
        "hv-a01-01.example.net",
        "dedicated_cpus",
        id="guests-argspec-type",
    ),
    pytest.param(
        "host_vars/hv-b01-01.example.net.yml",
        lambda d: d["kvm_guests_vms"][0]["disks"].append({"name": "data", "rbd": True, "size": "10GiB"}),
        "hv-b01-01.example.net",
        "kvm_guests_rbd_pool is empty",
        id="guests-precheck-rbd-without-ceph",
    ),
    pytest.param(
        "group_vars/rack_a02.yml",
        lambda d: d.update(kvm_tuning_hugepages=[{"size": "4M", "count": 1}]),
        "hv-a02-01.example.net",
        "kvm_tuning_hugepages",
        id="tuning-argspec-choice",
    ),
    pytest.param(
        "group_vars/hypervisors/kvm_ovs.yml",
        lambda d: d["kvm_ovs_libvirt_networks"][0].update(default_vlan=999),
        "hv-a01-01.example.net",
        "default_vlan 999 is not in its vlans",
        id="ovs-precheck-default-vlan",
    ),
    pytest.param(
        "group_vars/ceph_clients/kvm_ceph.yml",
        lambda d: d.update(kvm_ceph_monitors=[{"port": 6789}]),
        "hv-a02-02.example.net",
        "host",
        id="ceph-argspec-required",
    ),
]


@pytest.mark.parametrize(("path", "breakage", "host", "expected"), BREAKAGES)
def test_broken_variable_fails(tmp_path, path, breakage, host, expected):
    inventory = tmp_path / "prod"
    shutil.copytree(PROD, inventory)
    target = inventory / path
    data = yaml.safe_load(target.read_text())
    breakage(data)
    target.write_text(yaml.safe_dump(data, sort_keys=False))

    rc, results, output = validate(inventory, tmp_path)

    assert rc != 0, output
    failures = _failures(results)
    assert host in failures, failures
    assert expected in json.dumps(failures[host]), failures[host]
    # A group-wide breakage fails every host of the group; a host's own, that host only.
    if path.startswith("host_vars/"):
        assert set(failures) == {host}, failures
