# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers shared by the unit and integration tests that run Ansible's own tools."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


def ansible_tool(name):
    """Path of ``ansible-playbook`` and friends: the venv's own first, so tests use the pinned ansible-core."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found beside {sys.executable} nor in PATH: run `make venv`", pytrace=False)
    return found
