# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's SELinux hypervisor image (selinux-hv) boots Enforcing, ready for hardening scenarios.

The Debian variants are exercised by most Molecule scenarios; this one only by
kvm_hardening_selinux, so it gets its own check here: build (or reuse) the
labelled image, boot a lab VM from it, and read the mode over SSH. It is the
variant CI builds anyway (the bare `selinux` one would be a fifth image build).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LABCTL = [sys.executable, str(REPO / "tests" / "lab" / "labctl")]
SSH_KEY = "/var/lib/kvmops-lab/ssh/id_ed25519"
NAME = "kvmlab-test-selinux"
# Outside the lab inventory (.11-.19) and Molecule (.21-.39) ranges.
ADDRESS = "198.51.100.40"


def labctl(*args, timeout=900):
    proc = subprocess.run(LABCTL + list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.fail(f"labctl {' '.join(args)} failed:\n{proc.stderr[-2000:]}", pytrace=False)
    return proc.stdout


def ssh(command):
    argv = [
        "ssh", "-i", SSH_KEY, "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        f"root@{ADDRESS}", command,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def selinux_vm(libvirtd):
    labctl("up", "--name", NAME, "--ip", ADDRESS, "--variant", "selinux-hv", "--memory", "1024")
    try:
        yield NAME
    finally:
        labctl("down", "--name", NAME)


def test_selinux_variant_boots_enforcing(selinux_vm):
    mode = ssh("getenforce")
    assert mode.returncode == 0, mode.stderr
    assert mode.stdout.strip() == "Enforcing"


def test_selinux_variant_is_labelled_with_the_default_policy(selinux_vm):
    status = ssh("sestatus")
    assert status.returncode == 0, status.stderr
    assert "Loaded policy name:             default" in status.stdout
    # A file from the image keeps the label setfiles gave it when the image was built.
    label = ssh("stat -c %C /etc/ssh/sshd_config")
    assert label.stdout.strip().startswith("system_u:object_r:etc_t")
