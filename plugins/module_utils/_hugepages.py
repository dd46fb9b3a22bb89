# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: hugepage pools as the inventory writes them (``kvm_tuning_hugepages``).

The one page-size table of the collection, and what follows from a pool list:
where the kernel keeps each pool's size in sysfs, the tmpfiles.d lines that
write it, the kernel arguments of boot-time reservations, and the checks of
a pool list against a host's NUMA cells (as ``libvirt_host_info`` reports
them). Used by the kvm_tuning filters (which reserve the pools) and by
``_guests.py`` (which counts them before they exist). Nothing here talks to a
system.
"""

from __future__ import annotations

# Page sizes a pool may have (the role's argument spec choices) → KiB.
POOL_PAGE_KIB = {"2M": 2048, "1G": 1048576}


def page_kib(size):
    """``2M``/``1G`` → KiB; ValueError for another size."""
    try:
        return POOL_PAGE_KIB[str(size)]
    except KeyError:
        raise ValueError(f"hugepage size {size!r} must be one of {', '.join(POOL_PAGE_KIB)}") from None


def normalise_pools(pools):
    """Pools with their optional keys filled in: ``node`` None (host-wide), ``boot`` False, ints for numbers."""
    result = []
    for pool in pools or []:
        page_kib(pool.get("size"))
        node = pool.get("node")
        result.append(
            {
                "size": str(pool["size"]),
                "count": int(pool.get("count", 0)),
                "node": None if node is None else int(node),
                "boot": bool(pool.get("boot", False)),
            }
        )
    return result


def where(pool):
    return "host" if pool["node"] is None else f"node {pool['node']}"


def sysfs_path(pool):
    """The sysfs file holding the size of ``pool``'s runtime pool."""
    kib = page_kib(pool["size"])
    if pool["node"] is None:
        return f"/sys/kernel/mm/hugepages/hugepages-{kib}kB/nr_hugepages"
    return f"/sys/devices/system/node/node{pool['node']}/hugepages/hugepages-{kib}kB/nr_hugepages"


def tmpfiles_lines(runtime_pools):
    """tmpfiles.d ``w`` lines writing each runtime pool's size, now and at every boot."""
    return [f"w {sysfs_path(pool)} - - - - {pool['count']}" for pool in runtime_pools]


def boot_args(boot_pools):
    """Kernel arguments of boot reservations: ``hugepagesz=1G hugepages=8``, per node ``hugepages=0:4,1:4``.

    The per-node form is the kernel's node format (Linux 5.19 and later).
    Sizes in a stable order; one size is either host-wide or per node.
    """
    args = []
    for size in sorted({pool["size"] for pool in boot_pools}):
        pools = [pool for pool in boot_pools if pool["size"] == size]
        per_node = sorted((pool for pool in pools if pool["node"] is not None), key=lambda pool: pool["node"])
        if per_node:
            counts = ",".join(f"{pool['node']}:{pool['count']}" for pool in per_node)
        else:
            counts = str(sum(pool["count"] for pool in pools))
        args.extend([f"hugepagesz={size}", f"hugepages={counts}"])
    return args


def read_count(text):
    """A sysfs ``nr_hugepages`` file's text → int; a missing or empty file (None) is 0."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else 0


def runtime_drift(runtime_pools, counts):
    """Pools whose running size (``counts``: sysfs path → int) is not the wanted one, as ``(pool, now)``."""
    return [
        (pool, counts.get(sysfs_path(pool), 0))
        for pool in runtime_pools
        if counts.get(sysfs_path(pool), 0) != pool["count"]
    ]


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def problems(pools, cells, max_percent):
    """What a pool list asks that the host's NUMA ``cells`` cannot give, one message each.

    ``cells`` are libvirt_host_info's ``numa_cells`` (``id``, ``memory_kib``,
    ``pages[].size_kib``); with none (libvirt unreadable) only the checks of
    the list itself run. A node may give at most ``max_percent`` of its
    memory, the host-wide pools as much of the host's.
    """
    found = []
    node_ids = [cell["id"] for cell in cells]
    seen = set()
    for pool in pools:
        kib = page_kib(pool["size"])
        node = pool["node"]
        place = "the host" if node is None else f"NUMA node {node}"
        key = (node, pool["size"])
        if key in seen:
            found.append(f"kvm_tuning_hugepages lists {pool['size']} pages for {place} twice")
        seen.add(key)
        if node is not None and cells and node not in node_ids:
            found.append(
                f"kvm_tuning_hugepages: NUMA node {node} does not exist on this host "
                f"(nodes: {', '.join(str(i) for i in node_ids)})"
            )
            continue
        offered = [
            p["size_kib"] for cell in cells if node is None or cell["id"] == node for p in cell.get("pages") or []
        ]
        if cells and kib not in offered:
            sizes = ", ".join(f"{size} KiB" for size in _unique(offered))
            found.append(
                f"kvm_tuning_hugepages: {place} offers no {pool['size']} pages "
                f"(page sizes: {sizes}; 1G pages need the pdpe1gb CPU flag)"
            )
    for size in POOL_PAGE_KIB:
        same = [pool for pool in pools if pool["size"] == size]
        if any(p["node"] is None for p in same) and any(p["node"] is not None for p in same):
            found.append(f"kvm_tuning_hugepages mixes host-wide and per-node {size} pools: use one or the other")
        if any(p["boot"] for p in same) and not all(p["boot"] for p in same):
            found.append(
                f"kvm_tuning_hugepages reserves {size} pages both at boot and at run time: use one or the other"
            )
    total_memory = 0
    for cell in cells:
        memory = cell.get("memory_kib") or 0
        asked = sum(p["count"] * page_kib(p["size"]) for p in pools if p["node"] == cell["id"])
        limit = int(memory * max_percent / 100)
        if asked > limit:
            found.append(
                f"kvm_tuning_hugepages asks {asked // 1024} MiB of hugepages on NUMA node {cell['id']}, "
                f"more than kvm_tuning_hugepages_max_node_percent ({max_percent}%) of its {memory // 1024} MiB: "
                f"{limit // 1024} MiB"
            )
        total_memory += memory
    asked = sum(p["count"] * page_kib(p["size"]) for p in pools if p["node"] is None)
    limit = int(total_memory * max_percent / 100)
    if cells and asked > limit:
        found.append(
            f"kvm_tuning_hugepages asks {asked // 1024} MiB of host-wide hugepages, more than {max_percent}% "
            f"of the host's {total_memory // 1024} MiB: {limit // 1024} MiB"
        )
    return found
