# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the kvm_ovs role: inventory checks and the plan of writes, on the controller.

The logic is ``module_utils/_ovs_role.py`` (pure, unit tested), which checks the
switch items with the OVS modules' own validators. Documentation:
``kvm_ovs_problems.yml``, ``kvm_ovs_switch.yml``, ``kvm_ovs_host_plan.yml``,
``kvm_ovs_connection_changes.yml``, ``kvm_ovs_missing_addresses.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils import _ovs_role as role
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError


def _list_of_dicts(value, what):
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise AnsibleFilterError(f"{what} must be a list of dicts")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise AnsibleFilterError(f"{what} item #{index} must be a dict, not {type(item).__name__}")
    return [dict(item) for item in value]


def _mapping(value, what):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnsibleFilterError(f"{what} must be a dict, not {type(value).__name__}")
    return dict(value)


def kvm_ovs_problems(bridges, bonds=None, ports=None, networks=None, settings=None):
    """The role's lists → every inventory problem (empty list when valid)."""
    return role.role_problems(
        _list_of_dicts(bridges, "kvm_ovs_problems: bridges"),
        _list_of_dicts(bonds, "kvm_ovs_problems: bonds"),
        _list_of_dicts(ports, "kvm_ovs_problems: ports"),
        _list_of_dicts(networks, "kvm_ovs_problems: networks"),
        _mapping(settings, "kvm_ovs_problems: settings"),
    )


def kvm_ovs_switch(bridges, bonds=None, ports=None, datapath_type="system", mtu=None):
    """The role's lists → the bridges/bonds/ports options of kvmops.kvm.ovs_switch."""
    return role.switch_options(
        _list_of_dicts(bridges, "kvm_ovs_switch: bridges"),
        _list_of_dicts(bonds, "kvm_ovs_switch: bonds"),
        _list_of_dicts(ports, "kvm_ovs_switch: ports"),
        datapath_type or "system",
        mtu or None,
    )


def kvm_ovs_host_plan(probe, want):
    """host_probe result + wanted packages, units and files → what differs (``packages``, ``units``, ``files``)."""
    want = _mapping(want, "kvm_ovs_host_plan: want")
    try:
        return role.host_plan(
            _mapping(probe, "kvm_ovs_host_plan: input"),
            list(want.get("packages") or []),
            _list_of_dicts(want.get("units"), "kvm_ovs_host_plan: want.units"),
            _list_of_dicts(want.get("files"), "kvm_ovs_host_plan: want.files"),
            list(want.get("owned") or []),
        )
    except KvmopsError as exc:
        raise AnsibleFilterError(f"kvm_ovs_host_plan: {exc}") from exc


def kvm_ovs_connection_changes(guard, switch_items=None, file_items=None, file_names=None):
    """The guard's findings + predicted changes → names of guarded items the run would change."""
    return role.connection_changes(
        _mapping(guard, "kvm_ovs_connection_changes: input"),
        _list_of_dicts(switch_items, "kvm_ovs_connection_changes: switch_items"),
        _list_of_dicts(file_items, "kvm_ovs_connection_changes: file_items"),
        _mapping(file_names, "kvm_ovs_connection_changes: file_names"),
    )


def kvm_ovs_missing_addresses(interfaces, facts):
    """Host interfaces + setup's facts → ``"name address"`` of each address not carried yet."""
    return role.missing_addresses(
        _list_of_dicts(interfaces, "kvm_ovs_missing_addresses: input"),
        _mapping(facts, "kvm_ovs_missing_addresses: facts"),
    )


class FilterModule:
    def filters(self):
        return {
            "kvm_ovs_problems": kvm_ovs_problems,
            "kvm_ovs_switch": kvm_ovs_switch,
            "kvm_ovs_host_plan": kvm_ovs_host_plan,
            "kvm_ovs_connection_changes": kvm_ovs_connection_changes,
            "kvm_ovs_missing_addresses": kvm_ovs_missing_addresses,
        }
