# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""NUMA-aware placement of VMs as Jinja filters; the planner itself is ``module_utils/_placement.py``.

The documentation lives in ``numa_placement.yml`` and ``numa_placement_current.yml``
(one file per filter, as ansible-doc wants for a plugin file with two filters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils._host_caps import parse_cpu_set
from ansible_collections.kvmops.kvm.plugins.module_utils._placement import (
    PlacementError,
    current_from_plan,
    plan,
)

# Inventory values can arrive as strings (extra vars, templated values); the
# planner does arithmetic on these, so they are turned into ints here, once.
_VM_INTEGERS = ("vcpus", "memory_mib", "hugepage_size_kib")


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _as_int(value, what):
    if isinstance(value, bool):
        raise AnsibleFilterError(f"numa_placement: {what} must be an integer, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"numa_placement: {what} must be an integer, not {value!r}") from exc


def _normalise_vm(vm, index):
    if not isinstance(vm, Mapping):
        raise AnsibleFilterError(f"numa_placement: VM #{index} must be a dict, not {type(vm).__name__}")
    result = dict(vm)
    label = vm.get("name", f"#{index}")
    for key in _VM_INTEGERS:
        if result.get(key) not in (None, ""):
            result[key] = _as_int(result[key], f"VM '{label}' {key}")
    return result


def _reserved(value):
    """A list of CPU ids or the kernel's cpuset syntax ("0-1,8-9"), as kvm_tuning may give either."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return parse_cpu_set(value)
        except ValueError as exc:
            raise AnsibleFilterError(f"numa_placement: reserved_cpus {value!r} is not a CPU list") from exc
    if not _is_list(value):
        raise AnsibleFilterError(f"numa_placement: reserved_cpus must be a list or a cpuset string, not {value!r}")
    return [_as_int(cpu, "reserved_cpus entry") for cpu in value]


def numa_placement(
    numa_cells, vms, reserved_cpus=None, current=None, host_reserved_memory_mib=0, emulators_on_reserved=True
):
    """``libvirt_host_info``'s ``numa_cells`` + VMs → ``{name: placement}``; see the planner."""
    if not _is_list(numa_cells):
        raise AnsibleFilterError("numa_placement: the input must be the numa_cells list of libvirt_host_info")
    if not _is_list(vms):
        raise AnsibleFilterError("numa_placement: vms must be a list of dicts")
    if current is not None and not isinstance(current, Mapping):
        raise AnsibleFilterError("numa_placement: current must be a dict (see numa_placement_current)")
    try:
        return plan(
            list(numa_cells),
            [_normalise_vm(vm, index) for index, vm in enumerate(vms)],
            reserved_cpus=_reserved(reserved_cpus),
            current=current,
            host_reserved_memory_mib=_as_int(host_reserved_memory_mib or 0, "host_reserved_memory_mib"),
            emulators_on_reserved=bool(emulators_on_reserved),
        )
    except PlacementError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def numa_placement_current(placements):
    """A previous ``numa_placement`` result → its ``current`` argument, so those VMs stay put."""
    if not isinstance(placements, Mapping):
        raise AnsibleFilterError("numa_placement_current: the input must be a numa_placement result (a dict)")
    try:
        return current_from_plan(placements)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"numa_placement_current: the input is not a numa_placement result: {exc}") from exc


class FilterModule:
    def filters(self):
        return {
            "numa_placement": numa_placement,
            "numa_placement_current": numa_placement_current,
        }
