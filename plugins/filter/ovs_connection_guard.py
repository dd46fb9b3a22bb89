# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which kvm_ovs items touch the interfaces carrying the Ansible connection, as a Jinja filter.

The logic is ``module_utils/_ovs_guard.py``; the documentation lives in
``ovs_connection_guard.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_guard import connection_guard


def _list_of_dicts(value, what):
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise AnsibleFilterError(f"ovs_connection_guard: {what} must be a list of dicts")
    for item in value:
        if not isinstance(item, Mapping) or "name" not in item:
            raise AnsibleFilterError(f"ovs_connection_guard: every item of {what} needs a name")
    return list(value)


def ovs_connection_guard(facts, ovs_info=None, bridges=None, bonds=None, ports=None, addresses=None, protect=None):
    """``ansible_facts`` (with the network subset) + ovs_info + the role's lists → the guard's findings."""
    if not isinstance(facts, Mapping):
        raise AnsibleFilterError("ovs_connection_guard: the input must be ansible_facts (a dict)")
    if ovs_info is not None and not isinstance(ovs_info, Mapping):
        raise AnsibleFilterError("ovs_connection_guard: ovs_info must be the registered result of ovs_info")
    return connection_guard(
        facts,
        ovs_info,
        _list_of_dicts(bridges, "bridges"),
        _list_of_dicts(bonds, "bonds"),
        _list_of_dicts(ports, "ports"),
        list(addresses or []),
        list(protect or []),
    )


class FilterModule:
    def filters(self):
        return {"ovs_connection_guard": ovs_connection_guard}
