# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The numa_placement filters: a thin wrapper over the planner, and their documentation files."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import numa_placement as filters
from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps
from ansible_collections.kvmops.kvm.plugins.module_utils._placement import plan

FIXTURES = Path(__file__).parents[1] / "module_utils" / "fixtures"
FILTER_DIR = Path(filters.__file__).parent

CELLS = caps.parse_capabilities((FIXTURES / "caps_4node_amd_smt_hugepages.xml").read_text())["numa_cells"]
VMS = [
    {"name": "db1", "vcpus": 4, "memory_mib": 4096, "dedicated_cpus": True, "hugepage_size_kib": 1048576},
    {"name": "web1", "vcpus": 2, "memory_mib": 2048},
]


def test_filters_are_exposed():
    exposed = filters.FilterModule().filters()
    assert exposed == {
        "numa_placement": filters.numa_placement,
        "numa_placement_current": filters.numa_placement_current,
    }


def test_returns_the_planners_result():
    got = filters.numa_placement(CELLS, VMS, reserved_cpus=[0, 1, 8, 9], host_reserved_memory_mib=2048)
    assert got == plan(CELLS, VMS, reserved_cpus=[0, 1, 8, 9], host_reserved_memory_mib=2048)
    assert got["db1"]["cputune"]["vcpupin"] == [{"vcpu": i, "cpuset": str(4 + i)} for i in range(4)]


def test_strings_from_inventory_become_numbers():
    as_strings = [{**vm, "vcpus": str(vm["vcpus"]), "memory_mib": str(vm["memory_mib"])} for vm in VMS]
    as_strings[0]["hugepage_size_kib"] = "1048576"
    got = filters.numa_placement(CELLS, as_strings, reserved_cpus="0-1,8-9", host_reserved_memory_mib="2048")
    assert got == filters.numa_placement(CELLS, VMS, reserved_cpus=[0, 1, 8, 9], host_reserved_memory_mib=2048)
    assert filters.numa_placement(CELLS, VMS, reserved_cpus=["0", "1"]) == plan(CELLS, VMS, reserved_cpus=[0, 1])


def test_the_vms_are_not_modified():
    vms = [dict(vm, vcpus="2") for vm in VMS]
    filters.numa_placement(CELLS, vms)
    assert vms[0]["vcpus"] == "2"


def test_current_keeps_vms_in_place():
    first = filters.numa_placement(CELLS, VMS, reserved_cpus=[0, 1, 8, 9])
    current = filters.numa_placement_current(first)
    assert current == {"db1": {"nodes": [1], "cpus": [4, 5, 6, 7]}, "web1": {"nodes": [3], "cpus": []}}
    more = [*VMS, {"name": "a-new", "vcpus": 4, "memory_mib": 1024, "dedicated_cpus": True}]
    assert filters.numa_placement(CELLS, more, reserved_cpus=[0, 1, 8, 9], current=current)["db1"] == first["db1"]


def test_placement_error_becomes_a_filter_error_with_the_planners_message():
    with pytest.raises(AnsibleFilterError) as err:
        filters.numa_placement(CELLS, [{"name": "huge", "vcpus": 20, "memory_mib": 1024, "dedicated_cpus": True}])
    message = err.value.message
    assert message.startswith("cannot place VM 'huge' (20 dedicated vCPUs, 1024 MiB)")
    assert "node 0: 2 free cores (4 CPUs)" in message and "node 3: 2 free cores (4 CPUs)" in message


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("not cells", VMS), {}, "the input must be the numa_cells list"),
        ((CELLS, {"name": "x"}), {}, "vms must be a list of dicts"),
        ((CELLS, ["x"]), {}, "VM #0 must be a dict, not str"),
        ((CELLS, [{"name": "x", "vcpus": "two", "memory_mib": 1}]), {}, "VM 'x' vcpus must be an integer, not 'two'"),
        ((CELLS, [{"name": "x", "vcpus": True, "memory_mib": 1}]), {}, "VM 'x' vcpus must be an integer, not True"),
        ((CELLS, VMS), {"reserved_cpus": "0-x"}, "reserved_cpus '0-x' is not a CPU list"),
        ((CELLS, VMS), {"reserved_cpus": 3}, "reserved_cpus must be a list or a cpuset string"),
        ((CELLS, VMS), {"reserved_cpus": [64]}, r"reserved CPUs \[64\] do not exist"),
        ((CELLS, VMS), {"current": ["db1"]}, "current must be a dict"),
        ((CELLS, VMS), {"host_reserved_memory_mib": "lots"}, "host_reserved_memory_mib must be an integer"),
    ],
)
def test_bad_input_is_a_filter_error(args, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        filters.numa_placement(*args, **kwargs)


@pytest.mark.parametrize("value", [["db1"], {"db1": {"nodes": [0]}}])
def test_current_of_something_that_is_not_a_plan(value):
    with pytest.raises(AnsibleFilterError, match="numa_placement_current: the input"):
        filters.numa_placement_current(value)


@pytest.mark.parametrize("name", ["numa_placement", "numa_placement_current"])
def test_documentation_matches_the_filter(name):
    doc = yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert name in filters.FilterModule().filters()
    parameters = list(inspect.signature(getattr(filters, name)).parameters)
    assert set(doc["DOCUMENTATION"]["options"]) == {"_input", *parameters[1:]}
    assert yaml.safe_load(doc["EXAMPLES"])
    assert "_value" in doc["RETURN"]
