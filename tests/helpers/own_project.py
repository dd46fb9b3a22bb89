# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""README's "Adopt it in your own repository", as code: the release tarball and an operator's project.

Shared by tests/integration/test_release.py (this machine only) and
molecule/site/tests/test_entry_points.py (the same layout against the lab
hypervisor), so both run exactly the commands README shows.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# The two lines of an operator's site.yml.
SITE_YML = "---\n- name: The KVM fleet\n  ansible.builtin.import_playbook: kvmops.kvm.site\n"


def operator_env(bin_dir, **extra):
    """An operator's shell: none of make test's or Molecule's ANSIBLE_*/MOLECULE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def _run(cmd, cwd, env, timeout=600):
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(str(c) for c in cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def build_tarball(repo, out, bin_dir):
    """`ansible-galaxy collection build` of the checkout; the tarball's path."""
    out.mkdir(parents=True, exist_ok=True)
    _run(
        [Path(bin_dir) / "ansible-galaxy", "collection", "build", "--output-path", out, repo],
        out,
        operator_env(bin_dir),
    )
    (tarball,) = out.glob("kvmops-kvm-*.tar.gz")
    return tarball


def make_project(project, tarball, bin_dir, prod=None):
    """The operator's repository: collections/requirements.yml naming the tarball, the
    two-line site.yml, `prod` (a link to an inventory when given), the collection installed."""
    (project / "collections").mkdir(parents=True)
    (project / "collections" / "requirements.yml").write_text(
        f"---\ncollections:\n  - name: {tarball}\n    type: file\n"
    )
    (project / "site.yml").write_text(SITE_YML)
    if prod is not None:
        (project / "prod").symlink_to(prod)
    # README's command; --offline because Galaxy is out of reach on these
    # machines (the dependency collections come with the ansible package).
    cmd = ["collection", "install", "-r", "collections/requirements.yml", "-p", "collections", "--offline"]
    _run([Path(bin_dir) / "ansible-galaxy", *cmd], project, operator_env(bin_dir))
    manifest = project / "collections" / "ansible_collections" / "kvmops" / "kvm" / "MANIFEST.json"
    if not manifest.exists():
        raise AssertionError(f"the collection was not installed under {project / 'collections'}")
    return project
