# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure combiner of libvirt_host_info, fed with a fixture and hand-made libvirt answers."""

from __future__ import annotations

from pathlib import Path

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps
from ansible_collections.kvmops.kvm.plugins.module_utils._host_info import base_page_kib, build_host_info
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import version_string

FIXTURES = Path(__file__).parent / "fixtures"

SYSFS = {
    "cpuinfo": "processor\t: 0\nflags\t\t: fpu svm npt avx2\n",
    "cmdline": "root=/dev/sda1 amd_iommu=on iommu=pt",
    "iommu_class": ["ivhd0"],
    "iommu_groups": ["0", "1", "2"],
    "nested": "1\n",
}


def build(fixture, free_pages, sysfs=None):
    parsed = caps.parse_capabilities((FIXTURES / fixture).read_text())
    cell_free = {cell["id"]: 1000 + cell["id"] for cell in parsed["numa_cells"]}
    memory = {"total_kib": 134217728, "free_kib": 120000000, "buffers_kib": 1, "cached_kib": 2}
    versions = {"libvirt": "9.0.0", "driver": "QEMU", "hypervisor": "7.2.22"}
    return build_host_info(parsed, versions, free_pages, cell_free, memory, SYSFS if sysfs is None else sysfs)


def test_four_node_host():
    free = {i: {4: 7000000, 2048: 100 * i, 1048576: 1} for i in range(4)}
    info = build("caps_4node_amd_smt_hugepages.xml", free)
    assert info["kvm_available"] is True
    assert info["hypervisor_types"] == ["kvm", "qemu"]
    assert info["cpu"]["virtualization"] == "svm"
    assert info["cpu"]["model"] == "EPYC-Milan"
    assert info["nested_virtualization"] is True
    assert info["iommu"]["enabled"] is True
    assert info["iommu"]["libvirt_support"] is True
    assert info["iommu"]["cmdline"] == ["amd_iommu=on", "iommu=pt"]
    assert [h["size_kib"] for h in info["hugepages"]] == [2048, 1048576]
    assert info["hugepages"][0]["free"] == 600
    assert info["hugepages"][1] == {
        "size_kib": 1048576,
        "total": 12,
        "free": 4,
        "cells": [{"id": i, "total": t, "free": 1} for i, t in enumerate([4, 4, 2, 2])],
    }
    assert [c["free_memory_kib"] for c in info["numa_cells"]] == [1000, 1001, 1002, 1003]
    # The base pages stay visible per cell, with their free count.
    assert info["numa_cells"][2]["pages"][0] == {"size_kib": 4, "total": 8190000, "free": 7000000}


def test_two_node_host_without_kvm_or_sysfs():
    empty = {"cpuinfo": None, "cmdline": None, "iommu_class": [], "iommu_groups": [], "nested": None}
    info = build("caps_2node_intel_nokvm.xml", {}, sysfs=empty)
    assert info["kvm_available"] is False
    assert info["hypervisor_types"] == ["qemu"]
    assert info["cpu"]["flags"] == []
    assert info["cpu"]["virtualization"] is None
    assert info["nested_virtualization"] is None
    assert info["iommu"]["enabled"] is False
    # Without free counts from libvirt the totals still show, free stays unknown.
    summary = [(h["size_kib"], h["total"], h["free"]) for h in info["hugepages"]]
    assert summary == [(2048, 2048, None), (1048576, 0, None)]


def test_base_page_falls_back_to_cells_then_default():
    parsed = caps.parse_capabilities((FIXTURES / "caps_2node_intel_nokvm.xml").read_text())
    assert base_page_kib(parsed) == 4
    parsed["cpu"]["page_sizes_kib"] = []
    for cell in parsed["numa_cells"]:
        cell["pages"] = [p for p in cell["pages"] if p["size_kib"] != 4]
    assert base_page_kib(parsed) == 2048
    parsed["numa_cells"] = []
    assert base_page_kib(parsed) == 4


def test_version_string():
    assert version_string(9000000) == "9.0.0"
    assert version_string(7002022) == "7.2.22"
    assert version_string(10010001) == "10.10.1"
