# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the kvm_guests role: inventory VMs → what the collection's modules take.

The logic is ``module_utils/_guests.py`` (pure, unit tested); the documentation
lives in ``guest_plan.yml``, ``guest_domain_specs.yml``,
``guest_current_placement.yml``, ``guest_unmanaged.yml``,
``guest_cells_with_pools.yml``, ``guest_volume_paths.yml`` and
``guest_pending_storage.yml`` (one file per filter, as ansible-doc wants).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils import _guests as guests
from ansible_collections.kvmops.kvm.plugins.module_utils._units import SizeError


def _list_of_dicts(value, what):
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise AnsibleFilterError(f"{what} must be a list of dicts")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise AnsibleFilterError(f"{what} item #{index} must be a dict, not {type(item).__name__}")
    return [dict(item) for item in value]


def guest_plan(vms, settings):
    """VMs → ``problems`` and, when there are none, placement requests, volumes and seeds."""
    vms = _list_of_dicts(vms, "guest_plan: vms")
    settings = dict(settings or {})
    found = guests.problems(vms, settings)
    result = {
        "problems": found,
        "names": [vm.get("name") for vm in vms],
        "placement_vms": [],
        "volumes": [],
        "volume_options": [],
        "seeds": [],
    }
    if found:
        return result
    try:
        result["placement_vms"] = guests.placement_requests(vms)
        result["volumes"] = guests.volume_specs(vms, settings)
        result["volume_options"] = guests.volume_options(result["volumes"])
        result["seeds"] = guests.seed_specs(vms, settings)
    except (KeyError, SizeError, ValueError) as exc:
        raise AnsibleFilterError(f"guest_plan: {exc}") from exc
    return result


def guest_domain_specs(vms, placement, settings, numa_cells=None):
    """VMs + numa_placement result → the ``domains`` list of one kvmops.kvm.libvirt_domain call."""
    vms = _list_of_dicts(vms, "guest_domain_specs: vms")
    if placement is not None and not isinstance(placement, Mapping):
        raise AnsibleFilterError("guest_domain_specs: placement must be a numa_placement result (a dict)")
    try:
        return guests.domain_specs(vms, placement, dict(settings or {}), numa_cells)
    except (KeyError, SizeError, ValueError) as exc:
        raise AnsibleFilterError(f"guest_domain_specs: {exc}") from exc


def guest_current_placement(domains, vms, numa_cells=None):
    """libvirt_domain_info's ``domains`` → numa_placement's ``current`` for the inventory's VMs."""
    domains = _list_of_dicts(domains or [], "guest_current_placement: domains")
    vms = _list_of_dicts(vms, "guest_current_placement: vms")
    return guests.current_placement(domains, vms, numa_cells)


def guest_unmanaged(domains, vms):
    """Names of the domains on the host that ``vms`` does not list."""
    return guests.unmanaged(_list_of_dicts(domains or [], "guest_unmanaged: domains"), _list_of_dicts(vms, "vms"))


def guest_cells_with_pools(numa_cells, pools):
    """libvirt_host_info's ``numa_cells`` with kvm_tuning's hugepage pools counted as reserved."""
    cells = _list_of_dicts(numa_cells or [], "guest_cells_with_pools: numa_cells")
    try:
        return guests.cells_with_pools(cells, _list_of_dicts(pools or [], "guest_cells_with_pools: pools"))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"guest_cells_with_pools: {exc}") from exc


def guest_volume_paths(volume_results):
    """libvirt_volume's ``volumes`` results → ``{"pool/name": path}`` (in check mode, the coming paths)."""
    return guests.volume_paths(_list_of_dicts(volume_results or [], "guest_volume_paths: volume_results"))


def guest_pending_storage(volume_results, seed_results, seeds, seeds_skipped=False):
    """The disk sources check mode only predicted: libvirt_domain's ``pending_storage``."""
    try:
        return guests.pending_storage(
            _list_of_dicts(volume_results or [], "guest_pending_storage: volume_results"),
            _list_of_dicts(seed_results or [], "guest_pending_storage: seed_results"),
            _list_of_dicts(seeds or [], "guest_pending_storage: seeds"),
            bool(seeds_skipped),
        )
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"guest_pending_storage: missing {exc}") from exc


class FilterModule:
    def filters(self):
        return {
            "guest_plan": guest_plan,
            "guest_cells_with_pools": guest_cells_with_pools,
            "guest_domain_specs": guest_domain_specs,
            "guest_current_placement": guest_current_placement,
            "guest_unmanaged": guest_unmanaged,
            "guest_volume_paths": guest_volume_paths,
            "guest_pending_storage": guest_pending_storage,
        }
