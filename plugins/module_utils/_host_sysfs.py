# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reads of procfs/sysfs for host facts libvirt does not report.

Returns raw text and directory listings only; ``_host_caps.py`` parses them.
These describe the machine the module runs on, which is the libvirt host only
for a local URI. A missing file means "not available here" and reads as None
or an empty listing: an _info module reports what it can see.
"""

from __future__ import annotations

import os

CPUINFO = "/proc/cpuinfo"
CMDLINE = "/proc/cmdline"
IOMMU_CLASS = "/sys/class/iommu"
IOMMU_GROUPS = "/sys/kernel/iommu_groups"
# Only one of the two vendor modules is loaded on a host.
NESTED_PARAMETERS = ("/sys/module/kvm_intel/parameters/nested", "/sys/module/kvm_amd/parameters/nested")


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None


def list_dir(path):
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def read_nested_parameter():
    for path in NESTED_PARAMETERS:
        text = read_text(path)
        if text is not None:
            return text
    return None


def read_host_sysfs():
    """Everything the host_info manager needs from procfs/sysfs, unparsed."""
    return {
        "cpuinfo": read_text(CPUINFO),
        "cmdline": read_text(CMDLINE),
        "iommu_class": list_dir(IOMMU_CLASS),
        "iommu_groups": list_dir(IOMMU_GROUPS),
        "nested": read_nested_parameter(),
    }
