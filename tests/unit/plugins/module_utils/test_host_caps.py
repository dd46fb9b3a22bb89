# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Capabilities XML parsing against a captured host and two hand-written ones in libvirt's format."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps

FIXTURES = Path(__file__).parent / "fixtures"


def load(name):
    return caps.parse_capabilities((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def one_node():
    # Captured with `virsh capabilities` from the Debian 12 test bed (libvirt 9.0, QEMU 7.2, TCG).
    return load("caps_1node_debian12_tcg.xml")


@pytest.fixture(scope="module")
def two_node():
    return load("caps_2node_intel_nokvm.xml")


@pytest.fixture(scope="module")
def four_node():
    return load("caps_4node_amd_smt_hugepages.xml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", [0]),
        ("0,8", [0, 8]),
        ("0-3", [0, 1, 2, 3]),
        ("8,0-1, 10-11", [0, 1, 8, 10, 11]),
        ("", []),
        (None, []),
    ],
)
def test_parse_cpu_set(text, expected):
    assert caps.parse_cpu_set(text) == expected


class TestOneNodeCaptured:
    def test_host_cpu(self, one_node):
        cpu = one_node["cpu"]
        assert (cpu["arch"], cpu["vendor"], cpu["model"]) == ("x86_64", "AMD", "kvm64")
        assert cpu["topology"] == {"sockets": 1, "dies": 1, "cores": 2, "threads": 1}
        assert len(cpu["features"]) == 72
        assert {"avx2", "pdpe1gb", "hypervisor"} <= set(cpu["features"])
        assert cpu["features"] == sorted(cpu["features"])
        assert cpu["page_sizes_kib"] == [4, 2048, 1048576]

    def test_single_cell(self, one_node):
        (cell,) = one_node["numa_cells"]
        assert cell["id"] == 0
        assert cell["memory_kib"] == 5466328
        assert cell["cpu_ids"] == [0, 1]
        assert cell["cpus"][1] == {"id": 1, "socket_id": 0, "die_id": 0, "core_id": 1, "siblings": [1]}
        assert [(p["size_kib"], p["total"]) for p in cell["pages"]] == [(4, 1366582), (2048, 0), (1048576, 0)]
        assert cell["distances"] == [{"id": 0, "value": 10}]

    def test_guests_offer_kvm_and_qemu(self, one_node):
        assert caps.domain_types_by_arch(one_node["guests"]) == {"i686": ["kvm", "qemu"], "x86_64": ["kvm", "qemu"]}
        assert caps.hypervisor_types(one_node["guests"]) == ["kvm", "qemu"]
        x86_64 = next(g for g in one_node["guests"] if g["arch"] == "x86_64")
        assert x86_64["emulator"] == "/usr/bin/qemu-system-x86_64"

    def test_iommu_support_no(self, one_node):
        assert one_node["iommu_support"] is False


class TestTwoNodeWithoutKvm:
    def test_cells_and_cpus(self, two_node):
        cells = two_node["numa_cells"]
        assert [c["id"] for c in cells] == [0, 1]
        assert [c["cpu_ids"] for c in cells] == [[0, 1, 2, 3], [4, 5, 6, 7]]
        assert {cpu["socket_id"] for cpu in cells[1]["cpus"]} == {1}
        # No SMT: every CPU is its own only sibling.
        assert all(cpu["siblings"] == [cpu["id"]] for c in cells for cpu in c["cpus"])
        assert cells[1]["distances"] == [{"id": 0, "value": 21}, {"id": 1, "value": 10}]

    def test_hugepage_pools(self, two_node):
        pages = {c["id"]: {p["size_kib"]: p["total"] for p in c["pages"]} for c in two_node["numa_cells"]}
        assert pages == {0: {4: 3551113, 2048: 1024, 1048576: 0}, 1: {4: 3604232, 2048: 1024, 1048576: 0}}

    def test_only_qemu_domain_type(self, two_node):
        assert caps.hypervisor_types(two_node["guests"]) == ["qemu"]
        assert "vmx" in two_node["cpu"]["features"]
        assert two_node["iommu_support"] is True


class TestFourNodeSmtHugepages:
    def test_cpus_per_cell_with_smt_siblings(self, four_node):
        cells = four_node["numa_cells"]
        assert [c["cpu_ids"] for c in cells] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
        cpu13 = next(cpu for cpu in cells[3]["cpus"] if cpu["id"] == 13)
        assert cpu13 == {"id": 13, "socket_id": 1, "die_id": 1, "core_id": 2, "siblings": [12, 13]}
        assert four_node["cpu"]["topology"] == {"sockets": 2, "dies": 2, "cores": 2, "threads": 2}

    def test_page_sizes_and_counts(self, four_node):
        by_cell = {c["id"]: {p["size_kib"]: p["total"] for p in c["pages"]} for c in four_node["numa_cells"]}
        assert [by_cell[i][2048] for i in range(4)] == [512, 512, 256, 256]
        assert [by_cell[i][1048576] for i in range(4)] == [4, 4, 2, 2]
        assert all(p["free"] is None for c in four_node["numa_cells"] for p in c["pages"])

    def test_kvm_offered(self, four_node):
        assert caps.domain_types_by_arch(four_node["guests"]) == {"x86_64": ["kvm", "qemu"]}

    def test_merge_free_pages_and_summary(self, four_node):
        free = {0: {2048: 500, 1048576: 4}, 1: {2048: 12, 1048576: 0}, 2: {2048: 256, 1048576: 1}, 3: {2048: 0}}
        cells = caps.merge_free_pages(four_node["numa_cells"], free)
        # The parsed input stays untouched: the merge returns new dicts.
        assert four_node["numa_cells"][0]["pages"][1]["free"] is None
        summary = caps.summarize_hugepages(cells, base_page_kib=4)
        assert [s["size_kib"] for s in summary] == [2048, 1048576]
        two_m, one_g = summary
        assert (two_m["total"], two_m["free"]) == (1536, 768)
        assert two_m["cells"][1] == {"id": 1, "total": 512, "free": 12}
        # Cell 3 reported no 1 GiB count, so the sum is unknown rather than wrong.
        assert one_g["total"] == 12
        assert one_g["free"] is None
        assert one_g["cells"][3] == {"id": 3, "total": 2, "free": None}


def test_capabilities_without_host_element_is_rejected():
    with pytest.raises(ValueError, match="no <host>"):
        caps.parse_capabilities("<capabilities><guest/></capabilities>")


def test_capabilities_without_topology_has_no_cells():
    parsed = caps.parse_capabilities("<capabilities><host><cpu><arch>aarch64</arch></cpu></host></capabilities>")
    assert parsed["numa_cells"] == []
    assert parsed["cpu"]["arch"] == "aarch64"
    assert parsed["cpu"]["topology"] is None
    assert parsed["iommu_support"] is None
