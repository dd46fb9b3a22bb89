# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the kvm_ceph role; the logic is ``module_utils/_ceph_client.py`` (pure, unit tested).

Documentation: ``kvm_ceph_plan.yml`` (one file per filter, as ansible-doc wants).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils import _ceph_client as ceph


def kvm_ceph_plan(inputs):
    """The role's inputs → ``problems``, ``mon_host`` and ``pool_hosts``."""
    if not isinstance(inputs, Mapping):
        raise AnsibleFilterError("kvm_ceph_plan: the input must be a dict")
    monitors = inputs.get("monitors") or []
    if (
        not isinstance(monitors, Sequence)
        or isinstance(monitors, str)
        or not all(isinstance(mon, Mapping) and mon.get("host") for mon in monitors)
    ):
        raise AnsibleFilterError("kvm_ceph_plan: monitors must be a list of dicts with a host")
    monitors = [dict(mon) for mon in monitors]
    return {
        "problems": ceph.problems(
            inputs.get("fsid"),
            monitors,
            inputs.get("client_key"),
            bool(inputs.get("fetch_key")),
            inputs.get("admin_host"),
        ),
        "mon_host": ceph.mon_host(monitors),
        "pool_hosts": ceph.pool_hosts(monitors),
    }


class FilterModule:
    def filters(self):
        return {"kvm_ceph_plan": kvm_ceph_plan}
