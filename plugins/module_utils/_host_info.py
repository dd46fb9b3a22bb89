# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_host_info: read libvirt and sysfs once, combine purely."""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps
from ansible_collections.kvmops.kvm.plugins.module_utils._host_sysfs import read_host_sysfs

# When capabilities list no page sizes at all, the x86/arm64 default.
DEFAULT_BASE_PAGE_KIB = 4


def base_page_kib(parsed):
    sizes = parsed["cpu"]["page_sizes_kib"] or [p["size_kib"] for c in parsed["numa_cells"] for p in c["pages"]]
    return min(sizes) if sizes else DEFAULT_BASE_PAGE_KIB


def build_host_info(parsed, versions, free_pages, cells_free_kib, node_memory, sysfs):
    """Pure: parsed capabilities + libvirt reads + raw sysfs text → the module's result keys."""
    cells = caps.merge_free_pages(parsed["numa_cells"], free_pages)
    for cell in cells:
        cell["free_memory_kib"] = cells_free_kib.get(cell["id"])
    by_arch = caps.domain_types_by_arch(parsed["guests"])
    types = caps.hypervisor_types(parsed["guests"])
    flags = caps.parse_cpuinfo_flags(sysfs["cpuinfo"])
    cpu = parsed["cpu"]
    iommu = caps.parse_iommu(sysfs["iommu_class"], sysfs["iommu_groups"], sysfs["cmdline"])
    iommu["libvirt_support"] = parsed["iommu_support"]
    return {
        "hypervisor_types": types,
        "domain_types_by_arch": by_arch,
        "kvm_available": "kvm" in types,
        "cpu": {
            "arch": cpu["arch"],
            "vendor": cpu["vendor"],
            "model": cpu["model"],
            "topology": cpu["topology"],
            "features": cpu["features"],
            "flags": flags,
            "virtualization": caps.virtualization_extension(flags),
        },
        "numa_cells": cells,
        "hugepages": caps.summarize_hugepages(cells, base_page_kib(parsed)),
        "memory": node_memory,
        "iommu": iommu,
        "nested_virtualization": caps.parse_nested(sysfs["nested"]),
        "versions": versions,
    }


def read_host_info(conn):
    """The module's result keys, read on an open LibvirtConnection (libvirt_host_info
    reads the domains on the same one with ``domains: true``)."""
    parsed = caps.parse_capabilities(conn.capabilities_xml())
    cell_ids = [cell["id"] for cell in parsed["numa_cells"]]
    page_sizes = sorted({p["size_kib"] for c in parsed["numa_cells"] for p in c["pages"]})
    free_pages = conn.free_pages(cell_ids, page_sizes)
    cells_free_kib = conn.cells_free_memory_kib(cell_ids)
    node_memory = conn.node_memory_kib()
    versions = conn.versions()
    return build_host_info(parsed, versions, free_pages, cells_free_kib, node_memory, read_host_sysfs())
