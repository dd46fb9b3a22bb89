# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure NUMA-aware placement of VMs on one hypervisor.

Input: the host's NUMA cells as ``libvirt_host_info`` returns them, the host
CPUs ``kvm_tuning`` reserves for the host and emulator threads, the VMs
(vCPUs, memory, ``numa: auto | none | <node>``, ``dedicated_cpus``, optional
hugepage size) and the placement the host already has (``current``).

Rules:

* a dedicated VM gets whole cores (SMT siblings together) that nobody else
  uses; its emulator threads go to the reserved host CPUs of its node;
* a shared VM floats over the node's shared pool (CPUs neither reserved nor
  dedicated to a VM);
* a VM fits inside one node where it can (first the node with most room, ties
  by lowest id); a dedicated VM too large for any node spans nodes with one
  guest NUMA cell per host node;
* VMs in ``current`` keep their place when it is still valid, and are placed
  before new ones, so adding a VM never moves an existing one;
* new VMs are placed in a fixed order (dedicated first, then by name), so the
  same input always gives the same result;
* when a VM does not fit, :class:`PlacementError` says what each node has free.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import format_cpuset


class PlacementError(ValueError):
    """A VM that cannot be placed; the message names it and what is free."""


class _Node:
    def __init__(self, cell, reserved, host_reserved_memory_kib):
        self.id = cell["id"]
        cpu_ids = sorted(cell.get("cpu_ids") or [c["id"] for c in cell["cpus"]])
        self.cpus = set(cpu_ids)
        self.reserved = sorted(self.cpus & reserved)
        cores = {}
        for cpu in cell["cpus"]:
            siblings = tuple(sorted(set(cpu.get("siblings") or [cpu["id"]]) & self.cpus))
            cores[siblings] = True
        # A core with a reserved thread is never dedicated: its sibling would share
        # the core's caches and execution units with the host.
        self.free_cores = sorted((c for c in cores if not set(c) & reserved), key=lambda c: c[0])
        self.threads = max((len(c) for c in cores), default=1)
        self.dedicated = set()
        # Shared VMs living on this node: its shared pool must never become empty.
        self.shared_vms = 0
        self.free_pages = {p["size_kib"]: p.get("total") or 0 for p in cell.get("pages", []) if p["size_kib"] > 4}
        # Memory held in hugepage pools is not available to ordinary guests.
        hugepage_kib = sum(size * count for size, count in self.free_pages.items())
        self.free_memory_kib = max(cell["memory_kib"] - hugepage_kib - host_reserved_memory_kib, 0)

    @property
    def shared_pool(self):
        return sorted(self.cpus - set(self.reserved) - self.dedicated)

    def usable_cores(self):
        """Free cores a dedicated VM may take: all, unless shared VMs here need the last ones."""
        if not self.shared_vms:
            return self.free_cores
        keep = self.free_cores[-1:] if set(self.shared_pool) <= {c for core in self.free_cores for c in core} else []
        return [c for c in self.free_cores if c not in keep]

    def describe(self):
        free_cpus = sum(len(c) for c in self.free_cores)
        pages = ", ".join(f"{n} x {s} KiB pages" for s, n in sorted(self.free_pages.items()) if n)
        held = len(self.free_cores) - len(self.usable_cores())
        return (
            f"node {self.id}: {len(self.free_cores)} free cores ({free_cpus} CPUs"
            + (f"; {held} kept for its shared VMs" if held else "")
            + "), "
            f"{len(self.shared_pool)} shared CPUs, {self.free_memory_kib // 1024} MiB free"
            + (f", {pages}" if pages else "")
        )


def _vm_needs(vm):
    memory_kib = int(vm["memory_mib"]) * 1024
    page = vm.get("hugepage_size_kib")
    pages = -(-memory_kib // page) if page else 0
    return memory_kib, page, pages


def _fits_memory(node, memory_kib, page, pages):
    """Hugepage-backed guests need free pages of their size; the others ordinary memory."""
    if page:
        return node.free_pages.get(page, 0) >= pages
    return node.free_memory_kib >= memory_kib


def _take_memory(node, memory_kib, page, pages):
    if page:
        node.free_pages[page] = node.free_pages.get(page, 0) - pages
    else:
        node.free_memory_kib -= memory_kib


def _cores_for(vcpus, threads):
    return -(-vcpus // threads)


def _candidate_nodes(nodes, vm):
    numa = vm.get("numa", "auto")
    if numa in ("auto", "none", None):
        return list(nodes.values())
    try:
        node_id = int(numa)
    except (TypeError, ValueError) as exc:
        raise PlacementError(f"VM '{vm['name']}': numa must be auto, none or a node id, not {numa!r}") from exc
    if node_id not in nodes:
        raise PlacementError(f"VM '{vm['name']}': numa node {node_id} does not exist (nodes: {sorted(nodes)})")
    return [nodes[node_id]]


def _fail(vm, nodes, why):
    kind = "dedicated" if vm.get("dedicated_cpus") else "shared"
    free = "; ".join(n.describe() for n in nodes.values())
    raise PlacementError(
        f"cannot place VM '{vm['name']}' ({vm['vcpus']} {kind} vCPUs, {vm['memory_mib']} MiB): {why}. Free: {free}"
    )


def _emulator_cpus(node_list, all_reserved, fallback):
    # all_reserved None: emulator threads stay off the reserved CPUs.
    if all_reserved is None:
        return fallback
    local = sorted({c for n in node_list for c in n.reserved})
    return local or sorted(all_reserved) or fallback


def _result(vm, node_list, vcpu_cpus, emulator, cells=None, topology=None):
    nodeset = format_cpuset([n.id for n in node_list])
    result = {
        "name": vm["name"],
        "dedicated": bool(vm.get("dedicated_cpus")),
        "nodes": [n.id for n in node_list],
        "cputune": {
            "vcpupin": [{"vcpu": i, "cpuset": format_cpuset(cpus)} for i, cpus in enumerate(vcpu_cpus)],
            "emulatorpin": format_cpuset(emulator),
        },
        "numatune": None,
        "numa_cells": cells,
        "cpu_topology": topology,
    }
    if vm.get("numa", "auto") != "none":
        result["numatune"] = {"mode": "strict", "nodeset": nodeset}
        if cells:
            result["numatune"]["memnodes"] = [
                {"cellid": i, "mode": "strict", "nodeset": str(n.id)} for i, n in enumerate(node_list)
            ]
    return result


def _place_dedicated(vm, nodes, all_reserved, pinned=None):
    memory_kib, page, pages = _vm_needs(vm)
    threads = max(n.threads for n in nodes.values())
    if pinned is not None:
        if not _numa_allows(vm, pinned["nodes"]):
            return None
        plan = _pinned_plan(vm, nodes, pinned)
        if plan and _memory_fits_plan(plan, vm["vcpus"], memory_kib, page):
            return _commit_dedicated(vm, plan, all_reserved, threads, memory_kib, page, pages)
        return None
    candidates = _candidate_nodes(nodes, vm)
    # Most free cores first, then lowest id: big VMs keep fitting as long as possible.
    for node in sorted(candidates, key=lambda n: (-len(n.usable_cores()), n.id)):
        cores_needed = _cores_for(vm["vcpus"], node.threads)
        if len(node.usable_cores()) >= cores_needed and _fits_memory(node, memory_kib, page, pages):
            plan = [(node, node.usable_cores()[:cores_needed])]
            return _commit_dedicated(vm, plan, all_reserved, threads, memory_kib, page, pages)
    if vm.get("numa", "auto") in ("auto", None):
        plan = _span(vm, candidates)
        if plan and _memory_fits_plan(plan, vm["vcpus"], memory_kib, page):
            return _commit_dedicated(vm, plan, all_reserved, threads, memory_kib, page, pages)
    return _fail(vm, nodes, "no node (nor a set of nodes) has enough free whole cores and memory")


def _pinned_plan(vm, nodes, pinned):
    """The cores a VM already holds, if they are all still free and still enough for its vCPUs."""
    plan, covered = [], set()
    for node_id in pinned["nodes"]:
        node = nodes.get(node_id)
        if node is None:
            return None
        cores = [c for c in node.usable_cores() if set(c) & pinned["cpus"]]
        if cores:
            plan.append((node, cores))
            covered.update(cpu for core in cores for cpu in core)
    if not pinned["cpus"] <= covered or len(covered) < vm["vcpus"]:
        return None
    trimmed, left = [], vm["vcpus"]
    for node, cores in plan:
        if left > 0:
            take = cores[: _cores_for(left, node.threads)]
            trimmed.append((node, take))
            left -= len(take) * node.threads
    return trimmed


def _span(vm, candidates):
    """Cores from several nodes (most free first) when no single node has enough."""
    remaining = vm["vcpus"]
    plan = []
    for node in sorted(candidates, key=lambda n: (-len(n.usable_cores()), n.id)):
        if remaining <= 0:
            break
        take = min(len(node.usable_cores()), _cores_for(remaining, node.threads))
        if take:
            plan.append((node, node.usable_cores()[:take]))
            remaining -= take * node.threads
    return plan if remaining <= 0 and len(plan) > 1 else None


def _memory_fits_plan(plan, vcpus, memory_kib, page):
    for node, _cores, share in _memory_shares(plan, vcpus, memory_kib):
        if not _fits_memory(node, share, page, -(-share // page) if page else 0):
            return False
    return True


def _memory_shares(plan, vcpus, memory_kib):
    """Split memory over the spanned nodes in proportion to their vCPUs, in whole MiB, exact in total."""
    counts = _vcpu_counts(plan, vcpus)
    shares, given = [], 0
    for index, ((node, cores), count) in enumerate(zip(plan, counts)):
        last = index == len(plan) - 1
        share = memory_kib - given if last else memory_kib * count // vcpus // 1024 * 1024
        given += share
        shares.append((node, cores, share))
    return shares


def _vcpu_counts(plan, vcpus):
    counts, left = [], vcpus
    for node, cores in plan:
        count = min(left, len(cores) * node.threads)
        counts.append(count)
        left -= count
    return counts


def _commit_dedicated(vm, plan, all_reserved, threads, memory_kib, page, _pages):
    vcpu_cpus, cells = [], []
    shares = _memory_shares(plan, vm["vcpus"], memory_kib)
    counts = _vcpu_counts(plan, vm["vcpus"])
    for (node, cores, share), count in zip(shares, counts):
        first = len(vcpu_cpus)
        cpus = [cpu for core in cores for cpu in core][:count]
        vcpu_cpus.extend([cpu] for cpu in cpus)
        node.free_cores = [c for c in node.free_cores if c not in cores]
        node.dedicated.update(cpu for core in cores for cpu in core)
        _take_memory(node, share, page, -(-share // page) if page else 0)
        cell_cpus = format_cpuset(range(first, first + count))
        cells.append({"id": len(cells), "cpus": cell_cpus, "memory_mib": share // 1024})
    node_list = [node for node, _cores in plan]
    emulator = _emulator_cpus(node_list, all_reserved, sorted({c for n in node_list for c in n.shared_pool}))
    per_cell = threads if all(count % threads == 0 for count in counts) else 1
    topology = {"sockets": len(plan), "cores": counts[0] // per_cell, "threads": per_cell}
    if len(set(counts)) != 1:
        topology = None
    return _result(vm, node_list, vcpu_cpus, emulator, cells if len(plan) > 1 else None, topology)


def _place_shared(vm, nodes, pinned=None):
    memory_kib, page, pages = _vm_needs(vm)
    if vm.get("numa", "auto") == "none":
        pool = sorted({c for n in nodes.values() for c in n.shared_pool})
        if not pool:
            return _fail(vm, nodes, "no shared CPUs are left")
        # Memory may come from any node; account it where there is most room.
        node = max(nodes.values(), key=lambda n: (n.free_memory_kib, -n.id))
        if not _fits_memory(node, memory_kib, page, pages):
            return _fail(vm, nodes, "not enough memory on any node")
        _take_memory(node, memory_kib, page, pages)
        for each in nodes.values():
            each.shared_vms += 1
        return _result(vm, [node], [pool] * vm["vcpus"], pool)
    candidates = _candidate_nodes(nodes, vm)
    if pinned is not None:
        if not _numa_allows(vm, pinned["nodes"]):
            return None
        candidates = [nodes[i] for i in pinned["nodes"] if i in nodes]
    else:
        candidates = sorted(candidates, key=lambda n: (-n.free_memory_kib, n.id))
    for node in candidates:
        pool = node.shared_pool
        if pool and _fits_memory(node, memory_kib, page, pages):
            _take_memory(node, memory_kib, page, pages)
            node.shared_vms += 1
            return _result(vm, [node], [pool] * vm["vcpus"], pool)
    if pinned is not None:
        return None
    return _fail(vm, nodes, "no node has a shared CPU and enough memory left")


def _numa_allows(vm, node_ids):
    numa = vm.get("numa", "auto")
    if numa in ("auto", "none", None):
        return True
    try:
        return list(node_ids) == [int(numa)]
    except (TypeError, ValueError):
        return True


def _check_vm(vm):
    for key in ("name", "vcpus", "memory_mib"):
        if vm.get(key) in (None, ""):
            raise PlacementError(f"VM {vm.get('name', '?')!r}: {key} is required for placement")
    if int(vm["vcpus"]) < 1 or int(vm["memory_mib"]) < 1:
        raise PlacementError(f"VM '{vm['name']}': vcpus and memory_mib must be positive")


def plan(numa_cells, vms, reserved_cpus=(), current=None, host_reserved_memory_mib=0, emulators_on_reserved=True):
    """Place ``vms`` on the host; returns ``{name: placement}`` (see module docstring).

    With ``emulators_on_reserved`` false, dedicated VMs' emulator threads stay
    off the reserved CPUs too (on the shared pool of their nodes, as without
    reserved CPUs): for hosts where the reserved CPUs are outside the cgroup
    guests run in (kvm_tuning's machine.slice AllowedCPUs).

    ``current`` maps VM names to ``{"nodes": [...], "cpus": [...]}`` (dedicated
    VMs' host CPUs); :func:`current_from_plan` turns a previous result into it.
    """
    if not numa_cells:
        raise PlacementError("the host reports no NUMA cells; libvirt_host_info found no topology")
    reserved = set(reserved_cpus or ())
    known = {c["id"] for cell in numa_cells for c in cell["cpus"]}
    unknown = sorted(reserved - known)
    if unknown:
        raise PlacementError(f"reserved CPUs {unknown} do not exist on this host (CPUs: {format_cpuset(known)})")
    nodes = {cell["id"]: _Node(cell, reserved, host_reserved_memory_mib * 1024) for cell in numa_cells}
    emulator_reserved = reserved if emulators_on_reserved else None
    for vm in vms:
        _check_vm(vm)
    names = [vm["name"] for vm in vms]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PlacementError(f"VMs listed twice: {', '.join(duplicates)}")
    for vm in vms:
        _check_vm(vm)
    current = {
        name: {"nodes": list(p.get("nodes") or []), "cpus": set(p.get("cpus") or [])}
        for name, p in (current or {}).items()
    }
    placements = {}
    by_name = {vm["name"]: vm for vm in vms}
    # Existing VMs first, where they are, so new ones never push them around.
    for name in sorted((n for n in by_name if n in current), key=lambda n: (not by_name[n].get("dedicated_cpus"), n)):
        vm = by_name[name]
        pinned = current[name]
        if vm.get("dedicated_cpus"):
            kept = _place_dedicated(vm, nodes, emulator_reserved, pinned)
        else:
            kept = _place_shared(vm, nodes, pinned)
        if kept is not None:
            placements[name] = kept
    new = [vm for vm in vms if vm["name"] not in placements]
    new.sort(key=lambda vm: (not vm.get("dedicated_cpus"), vm["name"]))
    for vm in new:
        if vm.get("dedicated_cpus"):
            placements[vm["name"]] = _place_dedicated(vm, nodes, emulator_reserved)
        else:
            placements[vm["name"]] = _place_shared(vm, nodes)
    _final_shared_pools(placements, by_name, nodes)
    if not reserved or not emulators_on_reserved:
        _final_emulator_pins(placements, nodes)
    return {name: placements[name] for name in names}


def _final_shared_pools(placements, by_name, nodes):
    """Shared VMs float over what dedicated VMs left; computed once everything is placed."""
    for name, placement in placements.items():
        if placement["dedicated"]:
            continue
        if by_name[name].get("numa", "auto") == "none":
            pool = sorted({c for n in nodes.values() for c in n.shared_pool})
        else:
            pool = nodes[placement["nodes"][0]].shared_pool
        cpuset = format_cpuset(pool)
        placement["cputune"]["vcpupin"] = [{"vcpu": i, "cpuset": cpuset} for i in range(by_name[name]["vcpus"])]
        placement["cputune"]["emulatorpin"] = cpuset


def _final_emulator_pins(placements, nodes):
    """Without reserved CPUs, dedicated VMs' emulator threads go to what is shared once all is placed."""
    everywhere = sorted({c for n in nodes.values() for c in n.shared_pool})
    for placement in placements.values():
        if not placement["dedicated"]:
            continue
        local = sorted({c for i in placement["nodes"] for c in nodes[i].shared_pool})
        own = sorted({int(p["cpuset"]) for p in placement["cputune"]["vcpupin"]})
        placement["cputune"]["emulatorpin"] = format_cpuset(local or everywhere or own)


def current_from_plan(placements):
    """A previous :func:`plan` result → the ``current`` argument that keeps those VMs in place."""
    current = {}
    for name, placement in placements.items():
        cpus = set()
        if placement["dedicated"]:
            for pin in placement["cputune"]["vcpupin"]:
                cpus.update(_expand(pin["cpuset"]))
        current[name] = {"nodes": placement["nodes"], "cpus": sorted(cpus)}
    return current


def _expand(cpuset):
    result = []
    for part in cpuset.split(","):
        low, _sep, high = part.partition("-")
        result.extend(range(int(low), int(high or low) + 1))
    return result
