# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release tarball as an operator gets it, and the two ways to run the site.

Builds the tarball with `ansible-galaxy collection build` from this checkout,
then checks what ships (COPYING, no repository-only files, Markdown links
that resolve inside the tarball), installs it offline and runs the unit tests
that ship from the installed copy, and lays out a fresh "infrastructure
repository" the way README's "Adopt it in your own repository" tells an
operator to: collections/requirements.yml naming the tarball, a two-line
site.yml importing kvmops.kvm.site, their own `prod` inventory. There, the
literal `ansible-playbook site.yml -i prod` must resolve everything
(--syntax-check) and refuse a missing or empty inventory loudly.

Runs on this machine alone (no daemon, no lab VM); the same literal command
against real hosts runs in Molecule's `site` scenario (its
tests/test_entry_points.py), on the converged lab hypervisor.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from ansible_collections.kvmops.kvm.tests.helpers.own_project import build_tarball, make_project, operator_env
from ansible_collections.kvmops.kvm.tests.helpers.tools import ansible_tool

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL_NAME = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
# What only the repository needs: none of it may ship.
REPO_ONLY = (
    "molecule/",
    "inventories/",
    "prod/",
    "collections/",
    "tests/ci/",
    "tests/lab/",
    "tests/testbed/",
    "tests/integration/",
    "tests/unit/ci/",
    "tests/unit/inventories/",
    "benchmarks/",
    "ansible.cfg",
    "site.yml",
    "Makefile",
    "requirements-dev.txt",
)
MD_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def clean_env(**extra):
    return operator_env(BIN, **extra)


def run(cmd, cwd, env=None, timeout=600):
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    path = build_tarball(REPO, tmp_path_factory.mktemp("tarball"), BIN)
    assert path.name == TARBALL_NAME
    with tarfile.open(path) as tf:
        names = [n.rstrip("/") for n in tf.getnames()]
    print(f"\ntarball {path.name}: {path.stat().st_size} bytes, {len(names)} entries")
    return path


@pytest.fixture(scope="module")
def members(tarball):
    with tarfile.open(tarball) as tf:
        return {m.name.rstrip("/"): m for m in tf.getmembers()}


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """The tarball installed offline, as `ansible-galaxy collection install` leaves it."""
    root = tmp_path_factory.mktemp("installed")
    proc = run([ansible_tool("ansible-galaxy"), "collection", "install", tarball, "-p", root, "--offline"], cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def test_tarball_ships_the_licence_and_no_repository_only_file(members):
    assert "COPYING" in members
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "COPYING").read_text()[:200]
    assert {"README.md", "meta/runtime.yml", "playbooks/site.yml"} <= set(members)
    shipped_repo_only = sorted(n for n in members if n.startswith(REPO_ONLY) or n in REPO_ONLY)
    assert not shipped_repo_only, shipped_repo_only


def test_shipped_markdown_links_resolve_inside_the_tarball(tarball, members):
    broken = []
    with tarfile.open(tarball) as tf:
        for name, member in members.items():
            if not (member.isfile() and name.endswith(".md")):
                continue
            text = tf.extractfile(member).read().decode()
            for target in MD_LINK.findall(text):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # https:, mailto: ...
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                if resolved not in members:
                    broken.append(f"{name}: {target}")
    assert not broken, broken


def test_shipped_unit_tests_pass_installed(installed):
    """Every test that ships passes from the installed copy (ansible_collections/ on PYTHONPATH)."""
    collection = installed / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert (collection / "tests" / "unit").is_dir()
    assert not (collection / "tests" / "unit" / "ci").exists()
    env = clean_env(PYTHONPATH=str(installed))
    proc = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
        cwd=collection,
        env=env,
        timeout=900,
    )
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) > 100, tail
    print(f"\nshipped unit tests, installed: {passed.group(0)}")


# --- "Adopt it in your own repository" (README) --------------------------------

PROD_HOSTS = {
    "all": {
        "children": {
            "hypervisors": {"hosts": {"hv1.example.net": {"ansible_host": "203.0.113.11"}}},
        }
    }
}


@pytest.fixture(scope="module")
def own_project(tarball, tmp_path_factory):
    """A fresh directory laid out as README says, the collection installed from the tarball."""
    project = make_project(tmp_path_factory.mktemp("infra"), tarball, BIN)
    (project / "prod").mkdir()
    (project / "prod" / "hosts.yml").write_text("---\n" + yaml.safe_dump(PROD_HOSTS))
    return project


def test_own_project_site_resolves_from_the_installed_tarball(own_project):
    proc = run([ansible_tool("ansible-playbook"), "site.yml", "-i", "prod", "--syntax-check"], cwd=own_project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = run([ansible_tool("ansible-playbook"), "site.yml", "-i", "prod", "--list-tasks"], cwd=own_project)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # Every role of the site, from the installed copy (not this checkout).
    for role in ("kvm_host", "kvm_hardening", "kvm_tuning", "kvm_ovs", "kvm_ceph", "kvm_guests"):
        assert f"kvmops.kvm.{role} :" in listed.stdout, role


@pytest.mark.parametrize("inventory", ["missing", "empty"])
def test_own_project_refuses_an_inventory_without_hypervisors(own_project, inventory):
    source = own_project / f"inv-{inventory}"
    if inventory == "empty":
        source.mkdir(exist_ok=True)
        (source / "hosts.yml").write_text("---\nall:\n  hosts: {}\n")
    proc = run([ansible_tool("ansible-playbook"), "site.yml", "-i", source.name], cwd=own_project, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "The inventory has no host in group 'hypervisors'" in out, out
    assert source.name in out, out


def test_clone_refuses_a_run_without_inventory():
    """From the root of this checkout, `ansible-playbook site.yml` without -i (no default inventory) fails."""
    proc = run([ansible_tool("ansible-playbook"), "site.yml"], cwd=REPO, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "The inventory has no host in group 'hypervisors'" in out, out


def test_clone_site_and_prod_resolve_literally():
    """The literal command's two names exist at the root and parse: site.yml, prod/."""
    vault = REPO / "prod" / "vault-password.example.txt"
    proc = run(
        [ansible_tool("ansible-playbook"), "site.yml", "-i", "prod", "--syntax-check"],
        cwd=REPO,
        env=clean_env(ANSIBLE_VAULT_PASSWORD_FILE=str(vault)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_changelog_release_puts_tooling_in_no_section(tmp_path):
    """A release from today's fragments: CHANGELOG.rst with the collection's changes, none about the test tooling."""
    # A copy: a release consumes the fragments. plugins/ and meta/ too, because
    # the release lists new plugins and modules (through ansible-doc on PATH).
    for tree in ("changelogs", "plugins", "meta"):
        shutil.copytree(REPO / tree, tmp_path / tree)
    shutil.copy(REPO / "galaxy.yml", tmp_path / "galaxy.yml")
    bin_dir = Path(sys.executable).parent
    env = clean_env()  # the venv's bin first on PATH: antsibull-changelog runs ansible-doc
    proc = run(
        [bin_dir / "antsibull-changelog", "release", "--version", GALAXY["version"], "--date", "2026-12-07"],
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (tmp_path / "CHANGELOG.rst").read_text()
    assert f"v{GALAXY['version']}" in text
    assert "Major Changes" in text
    assert "New Modules" in text and "libvirt_domain" in text
    for tooling in ("test bed -", "molecule -", "``tests/lab/labctl``", "tests - "):
        assert tooling not in text, tooling
