# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvm_ceph's input checks and monitor notations (module_utils/_ceph_client.py through the filter)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter.kvm_ceph import kvm_ceph_plan

FSID = "cea81fa7-c73e-42fd-b7c8-28acccce8824"
KEY = "AQBz0VNnAAAAABAAp1zbwUmhZ9G6N1Xb0w9jqQ=="
MONS = [{"host": "198.51.100.1"}]


def plan(**kw):
    inputs = {"fsid": FSID, "monitors": MONS, "client_key": KEY, "fetch_key": False, "admin_host": ""}
    inputs.update(kw)
    return kvm_ceph_plan(inputs)


def test_good_inputs_have_no_problems_and_both_notations():
    result = plan()
    assert result["problems"] == []
    assert result["mon_host"] == "[v2:198.51.100.1:3300,v1:198.51.100.1:6789]"
    assert result["pool_hosts"] == [{"name": "198.51.100.1", "port": 6789}]


def test_ports_and_ipv6_monitors():
    mons = [{"host": "2001:db8::1", "port": 6790, "v2_port": 3301}, {"host": "mon2.example.org"}]
    result = plan(monitors=mons)
    assert (
        result["mon_host"]
        == "[v2:[2001:db8::1]:3301,v1:[2001:db8::1]:6790],[v2:mon2.example.org:3300,v1:mon2.example.org:6789]"
    )
    assert result["pool_hosts"][0] == {"name": "2001:db8::1", "port": 6790}


@pytest.mark.parametrize(
    ("kw", "problem"),
    [
        ({"fsid": "not-a-uuid"}, "kvm_ceph_fsid must be the cluster fsid"),
        ({"monitors": []}, "kvm_ceph_monitors lists no monitor"),
        ({"client_key": "short"}, "is not a cephx key"),
        ({"client_key": ""}, "is not a cephx key"),
        ({"fetch_key": True, "client_key": "", "admin_host": ""}, "kvm_ceph_fetch_key needs kvm_ceph_admin_host"),
    ],
)
def test_each_bad_input_is_named(kw, problem):
    problems = plan(**kw)["problems"]
    assert len(problems) == 1
    assert problem in problems[0]


def test_all_problems_come_in_one_list_and_never_quote_the_key():
    bad_key = "not a key but secret-ish"
    problems = plan(fsid="x", monitors=[], client_key=bad_key)["problems"]
    assert len(problems) == 3
    assert all(bad_key not in p for p in problems)


def test_fetched_keys_need_no_inventory_key():
    assert plan(fetch_key=True, client_key="", admin_host="ceph-admin")["problems"] == []


@pytest.mark.parametrize("monitors", ["198.51.100.1", [{"port": 6789}], ["198.51.100.1"]])
def test_monitors_that_are_not_dicts_with_a_host_are_refused(monitors):
    with pytest.raises(AnsibleFilterError, match="monitors must be a list of dicts"):
        plan(monitors=monitors)
