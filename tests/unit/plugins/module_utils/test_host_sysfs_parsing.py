# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of /proc/cpuinfo, IOMMU listings, kernel cmdline and the nested parameter."""

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps

INTEL_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz
flags\t\t: fpu vme de pse tsc msr pae mce vmx smx est tm2 ssse3 sse4_2 avx2
vmx flags\t: vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu vme de pse tsc msr pae mce vmx smx est tm2 ssse3 sse4_2 avx2 second_cpu_only
"""

AMD_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic svm extapic cr8_legacy npt nrip_save
"""

# A VM whose hypervisor hides virtualization extensions (the test bed's own case).
NO_VIRT_CPUINFO = """processor\t: 0
flags\t\t: fpu vme de pse tsc hypervisor avx2
"""

ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid
"""


def test_intel_flags_from_first_cpu_only():
    flags = caps.parse_cpuinfo_flags(INTEL_CPUINFO)
    assert "vmx" in flags
    assert "second_cpu_only" not in flags
    # "vmx flags" is a different line and must not replace "flags".
    assert "ept_ad" not in flags
    assert flags == sorted(flags)
    assert caps.virtualization_extension(flags) == "vmx"


def test_amd_svm():
    assert caps.virtualization_extension(caps.parse_cpuinfo_flags(AMD_CPUINFO)) == "svm"


def test_no_virtualization_extension():
    assert caps.virtualization_extension(caps.parse_cpuinfo_flags(NO_VIRT_CPUINFO)) is None


def test_arm_features_line():
    assert caps.parse_cpuinfo_flags(ARM_CPUINFO)[:3] == ["aes", "asimd", "cpuid"]


@pytest.mark.parametrize("text", [None, "", "processor : 0\n"])
def test_missing_cpuinfo_gives_no_flags(text):
    assert caps.parse_cpuinfo_flags(text) == []


def test_iommu_enabled_intel():
    cmdline = "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/sda1 ro intel_iommu=on iommu=pt quiet"
    state = caps.parse_iommu(["dmar1", "dmar0"], [str(i) for i in range(87)], cmdline)
    assert state == {
        "enabled": True,
        "devices": ["dmar0", "dmar1"],
        "groups_present": True,
        "group_count": 87,
        "cmdline": ["intel_iommu=on", "iommu=pt"],
    }


def test_iommu_requested_but_not_active():
    # amd_iommu=on without firmware support: the kernel registers nothing.
    state = caps.parse_iommu([], [], "root=/dev/vda1 amd_iommu=on iommu.passthrough=1 quiet")
    assert state["enabled"] is False
    assert state["groups_present"] is False
    assert state["cmdline"] == ["amd_iommu=on", "iommu.passthrough=1"]


def test_iommu_nothing_known():
    assert caps.parse_iommu(None, None, None) == {
        "enabled": False,
        "devices": [],
        "groups_present": False,
        "group_count": 0,
        "cmdline": [],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Y\n", True), ("1\n", True), ("y", True), ("N\n", False), ("0\n", False), (None, None), ("maybe", None)],
)
def test_nested_parameter(text, expected):
    assert caps.parse_nested(text) is expected
