# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure host facts: libvirt capabilities XML and procfs/sysfs text → plain data.

Nothing here talks to a system; the readers live in ``_libvirt.py`` and
``_host_sysfs.py``. Every function takes text (or already-read listings) so it
can be tested against captured files from real hosts.
"""

from __future__ import annotations

import traceback

try:
    from lxml import etree
except ImportError:
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LXML = True
    LXML_IMPORT_ERROR = None

# Kernel parameters that decide whether (and how) the IOMMU is used.
IOMMU_CMDLINE_PREFIXES = ("intel_iommu=", "amd_iommu=", "iommu=", "iommu.")


def parse_cpu_set(text):
    """libvirt/kernel CPU list syntax ("0-3,8,10-11") → sorted list of ints."""
    cpus = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, last = part.split("-", 1)
            cpus.update(range(int(first), int(last) + 1))
        else:
            cpus.add(int(part))
    return sorted(cpus)


def _int_attr(element, name):
    value = element.get(name)
    return int(value) if value is not None else None


def _to_kib(value, unit):
    """Sizes in capabilities carry a unit; everything we return is KiB."""
    factors = {"b": 1 / 1024, "bytes": 1 / 1024, "kib": 1, "k": 1, "mib": 1024, "m": 1024, "gib": 1024**2, "g": 1024**2}
    return int(int(value) * factors[(unit or "KiB").lower()])


def _parse_host_cpu(cpu):
    if cpu is None:
        return {"arch": None, "vendor": None, "model": None, "features": [], "topology": None, "page_sizes_kib": []}
    topology = cpu.find("topology")
    return {
        "arch": cpu.findtext("arch"),
        "vendor": cpu.findtext("vendor"),
        "model": cpu.findtext("model"),
        "features": sorted(f.get("name") for f in cpu.findall("feature")),
        "topology": None
        if topology is None
        else {key: _int_attr(topology, key) for key in ("sockets", "dies", "cores", "threads")},
        "page_sizes_kib": sorted(_to_kib(p.get("size"), p.get("unit")) for p in cpu.findall("pages")),
    }


def _parse_cell(cell):
    memory = cell.find("memory")
    cpus = []
    for cpu in cell.findall("cpus/cpu"):
        cpus.append(
            {
                "id": _int_attr(cpu, "id"),
                "socket_id": _int_attr(cpu, "socket_id"),
                "die_id": _int_attr(cpu, "die_id"),
                "core_id": _int_attr(cpu, "core_id"),
                "siblings": parse_cpu_set(cpu.get("siblings")),
            }
        )
    pages = [
        {"size_kib": _to_kib(p.get("size"), p.get("unit")), "total": int(p.text or 0), "free": None}
        for p in cell.findall("pages")
    ]
    return {
        "id": _int_attr(cell, "id"),
        "memory_kib": _to_kib(memory.text, memory.get("unit")) if memory is not None else None,
        "cpu_ids": sorted(c["id"] for c in cpus),
        "cpus": cpus,
        "pages": sorted(pages, key=lambda p: p["size_kib"]),
        "distances": [
            {"id": _int_attr(s, "id"), "value": _int_attr(s, "value")} for s in cell.findall("distances/sibling")
        ],
    }


def _parse_guest(guest):
    arch = guest.find("arch")
    return {
        "os_type": guest.findtext("os_type"),
        "arch": arch.get("name") if arch is not None else None,
        "emulator": arch.findtext("emulator") if arch is not None else None,
        "domain_types": sorted({d.get("type") for d in guest.findall("arch/domain")}),
    }


def parse_capabilities(xml_text):
    """``virConnectGetCapabilities`` XML → dict with host cpu, cells, guests, iommu support."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(xml_text.encode("utf-8") if isinstance(xml_text, str) else xml_text, parser)
    host = root.find("host")
    if host is None:
        raise ValueError("capabilities XML has no <host> element")
    iommu = host.find("iommu")
    return {
        "cpu": _parse_host_cpu(host.find("cpu")),
        "numa_cells": sorted((_parse_cell(c) for c in host.findall("topology/cells/cell")), key=lambda c: c["id"]),
        "guests": [_parse_guest(g) for g in root.findall("guest")],
        # libvirt >= 6.7 says whether the host can assign devices through an IOMMU.
        "iommu_support": None if iommu is None else iommu.get("support") == "yes",
    }


def domain_types_by_arch(guests):
    """Which libvirt domain types (kvm, qemu...) each guest architecture offers."""
    result = {}
    for guest in guests:
        if guest["os_type"] != "hvm" or not guest["arch"]:
            continue
        result.setdefault(guest["arch"], set()).update(guest["domain_types"])
    return {arch: sorted(types) for arch, types in sorted(result.items())}


def hypervisor_types(guests):
    """Every domain type offered for hardware-virtualised (hvm) guests, of any arch."""
    return sorted({t for types in domain_types_by_arch(guests).values() for t in types})


def merge_free_pages(cells, free_pages):
    """Fill each cell's ``pages[].free`` from ``{cell_id: {size_kib: free}}``; returns new cells."""
    merged = []
    for cell in cells:
        counts = free_pages.get(cell["id"], {})
        pages = [dict(page, free=counts.get(page["size_kib"], page["free"])) for page in cell["pages"]]
        merged.append(dict(cell, pages=pages))
    return merged


def summarize_hugepages(cells, base_page_kib):
    """Per hugepage size: totals over all cells plus the per-cell split.

    The base page size (4 KiB on x86) is ordinary memory, not a hugepage pool,
    so it is left out. ``free`` stays None when any cell's free count is unknown.
    """
    sizes = {}
    for cell in cells:
        for page in cell["pages"]:
            if page["size_kib"] == base_page_kib:
                continue
            size = page["size_kib"]
            entry = sizes.setdefault(size, {"size_kib": size, "total": 0, "free": 0, "cells": []})
            entry["total"] += page["total"]
            entry["free"] = None if entry["free"] is None or page["free"] is None else entry["free"] + page["free"]
            entry["cells"].append({"id": cell["id"], "total": page["total"], "free": page["free"]})
    return [sizes[size] for size in sorted(sizes)]


def parse_cpuinfo_flags(cpuinfo_text):
    """The first CPU's feature flags from /proc/cpuinfo ("flags" on x86, "Features" on arm)."""
    for line in (cpuinfo_text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return sorted(set(value.split()))
    return []


def virtualization_extension(flags):
    """'vmx' (Intel VT-x), 'svm' (AMD-V) or None when the CPU offers neither."""
    for extension in ("vmx", "svm"):
        if extension in flags:
            return extension
    return None


def parse_iommu(class_entries, group_entries, cmdline_text):
    """IOMMU state from /sys/class/iommu and /sys/kernel/iommu_groups listings and /proc/cmdline.

    The kernel registers an entry under /sys/class/iommu (dmar0, ivhd0...) only
    for an IOMMU it actually enabled, so that, not the command line, decides
    ``enabled``; the command line options are reported to explain why.
    """
    options = [word for word in (cmdline_text or "").split() if word.startswith(IOMMU_CMDLINE_PREFIXES)]
    devices = sorted(class_entries or [])
    return {
        "enabled": bool(devices),
        "devices": devices,
        "groups_present": bool(group_entries),
        "group_count": len(group_entries or []),
        "cmdline": options,
    }


def parse_nested(parameter_text):
    """kvm_intel/kvm_amd ``nested`` parameter ('Y'/'1' on, 'N'/'0' off) → bool; None when unknown."""
    if parameter_text is None:
        return None
    value = parameter_text.strip().upper()
    if value in ("Y", "1"):
        return True
    if value in ("N", "0"):
        return False
    return None
