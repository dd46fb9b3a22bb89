"""The literal `ansible-playbook site.yml -i prod` on the converged lab hypervisor, both ways operators run it.

(a) From a clone of this repository: its root site.yml and ansible.cfg, with
    `prod` being the operator's inventory (here Molecule's inventory of this
    scenario: the lab's group_vars and this VM). `--check --diff` must report
    nothing to change (Molecule's own check step only fails on errors).
(b) From an operator's own infrastructure repository, laid out as README's
    "Adopt it in your own repository" says (tests/helpers/own_project.py):
    the collection installed from the release tarball through
    collections/requirements.yml, a two-line site.yml importing
    kvmops.kvm.site, their `prod`. A real run must change nothing: this is
    the scenario's idempotence check (molecule.yml has no idempotence step;
    this run replaces it, with what ships).

Both run with an operator's environment: none of Molecule's ANSIBLE_*
variables, so the collection, the configuration and the SSH settings come
from the layout alone.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
# The checkout as Ansible imports it (make bootstrap's link), for the shared helper.
sys.path.insert(0, str(REPO / ".cache" / "collections"))
from ansible_collections.kvmops.kvm.tests.helpers.own_project import (  # noqa: E402
    build_tarball,
    make_project,
    operator_env,
)

TIMEOUT = 3600


def run_site(cwd, *extra):
    cmd = [str(BIN / "ansible-playbook"), "site.yml", "-i", "prod", *extra]
    # The JSON callback, so the result is read, not grepped.
    env = operator_env(BIN, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook printed no JSON report:\n{proc.stdout[-4000:]}") from None
    hosts = set(report["stats"]) - {"localhost"}
    assert hosts == {"kvmlab-mol-site"}, report["stats"]
    assert all(s["failures"] == 0 and s["unreachable"] == 0 for s in report["stats"].values()), report["stats"]
    return [
        f"{host}: {task['task']['name']}"
        for play in report["plays"]
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("changed")
    ]


@pytest.fixture(scope="module")
def prod():
    """The operator's inventory: Molecule's, which carries the lab's group_vars and this VM's host_vars."""
    return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent


def test_clone_check_diff_on_converged_host_changes_nothing(tmp_path, prod):
    # A clone whose prod/ holds the operator's hosts: every top-level entry of
    # this checkout (site.yml, playbooks/, ansible.cfg, .cache/ with the
    # collection links `make bootstrap` makes), prod/ replaced.
    clone = tmp_path / "clone"
    clone.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in ("prod", ".git"):
            (clone / entry.name).symlink_to(entry)
    (clone / "prod").symlink_to(prod)
    changed = run_site(clone, "--check", "--diff")
    assert not changed, changed


def test_own_project_rerun_changes_nothing(tmp_path, prod):
    tarball = build_tarball(REPO, tmp_path / "dist", BIN)
    project = make_project(tmp_path / "infra", tarball, BIN, prod=prod)
    changed = run_site(project)
    assert not changed, changed
