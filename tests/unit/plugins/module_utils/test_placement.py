# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The NUMA placement planner on the 1-, 2- and 4-node capability fixtures.

Topologies (from ``fixtures/caps_*.xml``, parsed as libvirt_host_info does):

* 1 node: CPUs 0-1, no SMT, no hugepages, 5338 MiB;
* 2 nodes: CPUs 0-3 | 4-7, no SMT, 1024 x 2 MiB pages per node;
* 4 nodes: CPUs 0-3 | 4-7 | 8-11 | 12-15, SMT pairs (0,1) (2,3)...,
  512/512/256/256 x 2 MiB and 4/4/2/2 x 1 GiB pages.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps
from ansible_collections.kvmops.kvm.plugins.module_utils._placement import PlacementError, current_from_plan, plan

FIXTURES = Path(__file__).parent / "fixtures"
GIB_PAGE = 1048576


def load(name):
    return caps.parse_capabilities((FIXTURES / name).read_text())["numa_cells"]


ONE = load("caps_1node_debian12_tcg.xml")
TWO = load("caps_2node_intel_nokvm.xml")
FOUR = load("caps_4node_amd_smt_hugepages.xml")
TOPOLOGIES = {"one": ONE, "two": TWO, "four": FOUR}


def ded(name, vcpus, memory_mib=1024, **extra):
    return dict(name=name, vcpus=vcpus, memory_mib=memory_mib, dedicated_cpus=True, **extra)


def shared(name, vcpus, memory_mib=1024, **extra):
    return dict(name=name, vcpus=vcpus, memory_mib=memory_mib, dedicated_cpus=False, **extra)


def expand(cpuset):
    return set(caps.parse_cpu_set(cpuset))


def without_emulator(result):
    return dict(result, cputune=dict(result["cputune"], emulatorpin=None))


def pins(result):
    """vCPU pins as cpuset strings, the emulator pin and the host nodes: the parts tests compare most."""
    return [p["cpuset"] for p in result["cputune"]["vcpupin"]], result["cputune"]["emulatorpin"], result["nodes"]


def vcpu_cpus(result):
    return set().union(*(expand(p["cpuset"]) for p in result["cputune"]["vcpupin"]))


def core_of(cells):
    """Host CPU → the whole core (sibling tuple) it belongs to."""
    return {cpu["id"]: tuple(cpu["siblings"]) for cell in cells for cpu in cell["cpus"]}


def cores_touched(cells, cpus):
    cores = core_of(cells)
    return {cpu for each in cpus for cpu in cores[each]}


class TestOneNode:
    def test_dedicated_and_shared(self):
        result = plan(ONE, [shared("web", 1), ded("db", 1)])
        assert pins(result["db"]) == (["0"], "1", [0])
        assert pins(result["web"]) == (["1"], "1", [0])
        assert result["db"]["numatune"] == {"mode": "strict", "nodeset": "0"}
        assert result["db"]["cpu_topology"] == {"sockets": 1, "cores": 1, "threads": 1}
        assert result["web"]["cpu_topology"] is None and result["web"]["numa_cells"] is None

    def test_reserved_cpu_takes_emulator_and_leaves_no_shared_pool(self):
        result = plan(ONE, [ded("db", 1)], reserved_cpus=[0])
        assert pins(result["db"]) == (["1"], "0", [0])
        with pytest.raises(PlacementError) as err:
            plan(ONE, [ded("db", 1), shared("web", 1)], reserved_cpus=[0])
        assert "'web'" in str(err.value)
        assert "node 0: 0 free cores (0 CPUs), 0 shared CPUs, 4314 MiB free" in str(err.value)

    def test_emulators_kept_off_reserved_cpus_when_asked(self):
        # kvm_tuning keeps machine.slice off the host CPUs: an emulator pinned
        # there fails to start ("cannot set CPU affinity"), seen in the lab.
        result = plan(ONE, [ded("db", 1)], reserved_cpus=[0], emulators_on_reserved=False)
        assert pins(result["db"]) == (["1"], "1", [0])
        two = plan(TWO, [ded("db", 1)], reserved_cpus=[0], emulators_on_reserved=True)
        assert two["db"]["cputune"]["emulatorpin"] == "0"
        two = plan(TWO, [ded("db", 1)], reserved_cpus=[0], emulators_on_reserved=False)
        emulator = two["db"]["cputune"]["emulatorpin"]
        assert emulator != "0" and not emulator.startswith("0")
        assert emulator != two["db"]["cputune"]["vcpupin"][0]["cpuset"]

    def test_memory_is_the_node_total(self):
        assert plan(ONE, [shared("big", 1, 5338)])["big"]["nodes"] == [0]
        with pytest.raises(PlacementError, match=r"VM 'big' \(1 shared vCPUs, 5339 MiB\).*node 0: .*5338 MiB free"):
            plan(ONE, [shared("big", 1, 5339)])

    def test_host_reserved_memory(self):
        with pytest.raises(PlacementError, match="4314 MiB free"):
            plan(ONE, [shared("big", 1, 4315)], host_reserved_memory_mib=1024)


class TestTwoNodes:
    def test_mixed_golden(self):
        vms = [shared("web", 2, 2048), ded("db", 3, 4096), shared("pinned", 1, numa=0), ded("app", 2, 2048)]
        result = plan(TWO, vms, reserved_cpus=[0, 4])
        assert list(result) == ["web", "db", "pinned", "app"]
        # Dedicated first, by name: app takes node 0 (tie, lowest id), db the 3 free cores of node 1.
        assert pins(result["app"]) == (["1", "2"], "0", [0])
        assert pins(result["db"]) == (["5", "6", "7"], "4", [1])
        assert pins(result["web"]) == (["3", "3"], "3", [0])
        assert pins(result["pinned"]) == (["3"], "3", [0])
        assert result["db"]["cpu_topology"] == {"sockets": 1, "cores": 3, "threads": 1}

    @pytest.mark.parametrize("numa", [1, "1"])
    def test_numa_node_is_honoured(self, numa):
        result = plan(TWO, [ded("db", 2, numa=numa), shared("web", 1, numa=numa)])
        assert pins(result["db"]) == (["4", "5"], "6-7", [1])
        assert pins(result["web"]) == (["6-7"], "6-7", [1])
        assert result["web"]["numatune"] == {"mode": "strict", "nodeset": "1"}

    def test_numa_none_floats_over_every_node(self):
        result = plan(TWO, [ded("db", 3, numa=0), shared("batch", 2, numa="none")], reserved_cpus=[4])
        assert result["batch"]["numatune"] is None
        assert pins(result["batch"])[:2] == (["3,5-7", "3,5-7"], "3,5-7")

    def test_shared_vms_go_where_memory_is(self):
        result = plan(TWO, [shared("a", 1, 8000), shared("b", 1, 8000)])
        assert (result["a"]["nodes"], result["b"]["nodes"]) == ([1], [0])

    def test_hugepages_come_from_the_vms_node(self):
        # Node 1 still has 1024 free pages, but h2 is pinned to node 0, which has 274 left.
        with pytest.raises(PlacementError) as err:
            plan(TWO, [ded("h1", 1, 1500, hugepage_size_kib=2048), ded("h2", 1, 1500, hugepage_size_kib=2048, numa=0)])
        message = str(err.value)
        assert message.startswith("cannot place VM 'h2' (1 dedicated vCPUs, 1500 MiB)")
        assert "node 0: 3 free cores (3 CPUs), 3 shared CPUs, 13873 MiB free, 274 x 2048 KiB pages" in message
        assert "node 1: 4 free cores (4 CPUs), 4 shared CPUs, 14077 MiB free, 1024 x 2048 KiB pages" in message

    def test_hugepage_pool_is_not_ordinary_memory(self):
        # 16512032 KiB on node 1, 2 GiB of it in 2 MiB pages: 14077 MiB left for ordinary guests.
        assert plan(TWO, [shared("big", 1, 14077)])["big"]["nodes"] == [1]
        with pytest.raises(PlacementError, match="'big'"):
            plan(TWO, [shared("big", 1, 14078)])

    def test_dedicated_vm_spans_nodes(self):
        result = plan(TWO, [ded("wide", 6, 3000, hugepage_size_kib=2048)])["wide"]
        assert pins(result)[0] == ["0", "1", "2", "3", "4", "5"]
        assert result["nodes"] == [0, 1]
        assert result["numa_cells"] == [
            {"id": 0, "cpus": "0-3", "memory_mib": 2000},
            {"id": 1, "cpus": "4-5", "memory_mib": 1000},
        ]
        assert result["numatune"] == {
            "mode": "strict",
            "nodeset": "0-1",
            "memnodes": [
                {"cellid": 0, "mode": "strict", "nodeset": "0"},
                {"cellid": 1, "mode": "strict", "nodeset": "1"},
            ],
        }

    @pytest.mark.parametrize("memory_mib", [1000, 1001, 7777])
    def test_spanning_memory_split_is_exact(self, memory_mib):
        cells = plan(TWO, [ded("wide", 7, memory_mib)])["wide"]["numa_cells"]
        assert sum(c["memory_mib"] for c in cells) == memory_mib
        assert [c["cpus"] for c in cells] == ["0-3", "4-6"]

    def test_spanning_guest_sockets_match_its_numa_cells(self):
        # A guest socket split over two guest NUMA cells is a topology Linux guests warn about
        # ("CPU #3's llc-sibling CPU #0 is not on the same node"). 6 vCPUs span as 4 + 2, so the
        # planner must not claim 2 sockets x 3 cores.
        result = plan(TWO, [ded("wide", 6)])["wide"]
        topology = result["cpu_topology"]
        if topology is not None:
            per_socket = topology["cores"] * topology["threads"]
            assert [len(expand(c["cpus"])) for c in result["numa_cells"]] == [per_socket] * topology["sockets"]

    def test_a_pinned_node_does_not_span(self):
        with pytest.raises(PlacementError, match="'wide'"):
            plan(TWO, [ded("wide", 5, numa=0)])


class TestFourNodesSmt:
    def test_golden(self):
        vms = [
            ded("db1", 4, 4096, hugepage_size_kib=GIB_PAGE),
            ded("db2", 2, 2048, numa=3),
            shared("web1", 2, 2048),
            shared("batch", 1, 512, numa="none"),
            ded("small", 1, 512),
        ]
        result = plan(FOUR, vms, reserved_cpus=[0, 1, 8, 9])
        assert pins(result["db1"]) == (["4", "5", "6", "7"], "0-1,8-9", [1])
        assert result["db1"]["cpu_topology"] == {"sockets": 1, "cores": 2, "threads": 2}
        assert pins(result["db2"]) == (["12", "13"], "0-1,8-9", [3])
        assert pins(result["small"]) == (["2"], "0-1", [0])
        assert pins(result["web1"]) == (["10-11", "10-11"], "10-11", [2])
        assert pins(result["batch"])[:2] == (["10-11,14-15"], "10-11,14-15")

    def test_smt_siblings_stay_together(self):
        result = plan(FOUR, [ded("a", 1), ded("b", 3), shared("s", 1, numa=0)], reserved_cpus=[0])
        # CPU 1 is not reserved, but its sibling is: core (0, 1) is never dedicated.
        assert pins(result["a"])[0] == ["4"]
        assert pins(result["b"])[0] == ["8", "9", "10"]
        # a's and b's idle sibling threads (5, 11) are held back: nobody else gets them.
        assert pins(result["s"])[:2] == (["1-3"], "1-3")

    def test_span_over_smt_nodes(self):
        result = plan(FOUR, [ded("wide", 8, 8192)], reserved_cpus=[0, 1])["wide"]
        assert result["nodes"] == [1, 2]
        assert pins(result)[0] == ["4", "5", "6", "7", "8", "9", "10", "11"]
        assert result["cpu_topology"] == {"sockets": 2, "cores": 2, "threads": 2}
        assert result["numa_cells"] == [
            {"id": 0, "cpus": "0-3", "memory_mib": 4096},
            {"id": 1, "cpus": "4-7", "memory_mib": 4096},
        ]
        assert result["cputune"]["emulatorpin"] == "0-1"

    def test_gigabyte_pages_per_node(self):
        # Shared VMs go to the node with most free memory (3, then 2) unless its pages run short:
        # nodes 2 and 3 have 2 x 1 GiB pages, nodes 0 and 1 have 4.
        vms = [shared(f"s{i}", 1, 4096, hugepage_size_kib=GIB_PAGE) for i in (1, 2)]
        result = plan(FOUR, [*vms, shared("s3", 1, 2048, hugepage_size_kib=GIB_PAGE)])
        assert [result[n]["nodes"] for n in ("s1", "s2", "s3")] == [[1], [0], [3]]
        with pytest.raises(PlacementError) as err:
            plan(FOUR, [*vms, shared("s3", 1, 3072, hugepage_size_kib=GIB_PAGE)])
        message = str(err.value)
        assert message.startswith("cannot place VM 's3' (1 shared vCPUs, 3072 MiB)")
        assert "MiB free, 512 x 2048 KiB pages; node 1:" in message
        assert message.endswith(
            "node 3: 2 free cores (4 CPUs), 4 shared CPUs, 30211 MiB free, 256 x 2048 KiB pages, 2 x 1048576 KiB pages"
        )


class TestEmulatorPin:
    @pytest.mark.parametrize(("numa", "emulator"), [(0, "0-1"), (2, "8-9"), (1, "0-1,8-9")])
    def test_emulator_threads_on_the_nodes_reserved_cpus(self, numa, emulator):
        result = plan(FOUR, [ded("vm", 2, numa=numa)], reserved_cpus=[0, 1, 8, 9])
        assert result["vm"]["cputune"]["emulatorpin"] == emulator

    def test_emulator_pin_stays_off_other_dedicated_vms(self):
        # Nothing reserved: a's emulator threads went to node 0's shared CPUs 2-3 at the time,
        # which c, placed later, then got as its dedicated vCPUs.
        result = plan(TWO, [ded("a", 2), ded("b", 2), ded("c", 2)])
        assert [pins(result[n])[0] for n in "abc"] == [["0", "1"], ["4", "5"], ["2", "3"]]
        for name in "abc":
            others = set().union(*(vcpu_cpus(result[o]) for o in "abc" if o != name))
            assert not expand(result[name]["cputune"]["emulatorpin"]) & others, name

    def test_emulator_pin_is_never_empty(self):
        # Nothing reserved and the VM takes every core of its nodes: "" is not a cpuset libvirt accepts.
        result = plan(FOUR, [ded("wide", 8, 8192)])["wide"]
        assert result["cputune"]["emulatorpin"] != ""


class TestFailures:
    def test_too_many_dedicated_vcpus(self):
        with pytest.raises(PlacementError) as err:
            plan(TWO, [ded("big", 9)])
        assert str(err.value) == (
            "cannot place VM 'big' (9 dedicated vCPUs, 1024 MiB): no node (nor a set of nodes) has enough free whole"
            " cores and memory. Free: node 0: 4 free cores (4 CPUs), 4 shared CPUs, 13873 MiB free, 1024 x 2048 KiB"
            " pages; node 1: 4 free cores (4 CPUs), 4 shared CPUs, 14077 MiB free, 1024 x 2048 KiB pages"
        )

    def test_second_dedicated_vm_does_not_fit(self):
        # a spans nodes 1 and 2, b takes node 3; node 0 keeps one core (its other one has reserved CPU 0).
        with pytest.raises(PlacementError) as err:
            plan(FOUR, [ded("a", 8), ded("b", 4), ded("c", 3)], reserved_cpus=[0])
        message = str(err.value)
        assert message.startswith("cannot place VM 'c' (3 dedicated vCPUs, 1024 MiB)")
        assert "node 0: 1 free cores (2 CPUs), 3 shared CPUs" in message
        for node in (1, 2, 3):
            assert f"node {node}: 0 free cores (0 CPUs), 0 shared CPUs" in message

    def test_memory(self):
        with pytest.raises(PlacementError, match=r"VM 'fat' .*node 0: .*; node 1: .*14077 MiB free"):
            plan(TWO, [ded("fat", 2, 20000)])

    def test_hugepages(self):
        with pytest.raises(PlacementError, match=r"VM 'huge' .* node 3: .*2 x 1048576 KiB pages"):
            plan(FOUR, [ded("huge", 2, 5120, hugepage_size_kib=GIB_PAGE)])

    def test_node_that_does_not_exist(self):
        with pytest.raises(PlacementError, match=r"^VM 'vm': numa node 2 does not exist \(nodes: \[0, 1\]\)$"):
            plan(TWO, [shared("vm", 1, numa=2)])

    def test_numa_that_is_not_a_node(self):
        with pytest.raises(PlacementError, match="VM 'vm': numa must be auto, none or a node id, not 'node1'"):
            plan(TWO, [ded("vm", 1, numa="node1")])

    def test_reserved_cpus_that_do_not_exist(self):
        with pytest.raises(PlacementError, match=r"reserved CPUs \[8, 9\] do not exist on this host \(CPUs: 0-7\)"):
            plan(TWO, [shared("vm", 1)], reserved_cpus=[0, 8, 9])

    def test_duplicate_names(self):
        with pytest.raises(PlacementError, match="VMs listed twice: a, b"):
            plan(TWO, [shared("a", 1), ded("b", 1), ded("a", 1), shared("b", 1), shared("c", 1)])

    @pytest.mark.parametrize(
        ("vm", "message"),
        [
            ({"name": "vm", "vcpus": 1}, "VM 'vm': memory_mib is required for placement"),
            ({"name": "vm", "vcpus": 0, "memory_mib": 512}, "VM 'vm': vcpus and memory_mib must be positive"),
        ],
    )
    def test_incomplete_vm(self, vm, message):
        with pytest.raises(PlacementError, match=message):
            plan(TWO, [vm])

    def test_vm_without_a_name(self):
        # _check_vm has a message for this, but plan() reads vm["name"] first (KeyError).
        with pytest.raises(PlacementError, match="name is required"):
            plan(TWO, [{"vcpus": 1, "memory_mib": 512}])

    def test_host_without_cells(self):
        with pytest.raises(PlacementError, match="no NUMA cells"):
            plan([], [shared("vm", 1)])


class TestDeterminismAndStability:
    VMS = [
        ded("db1", 4, 1024, hugepage_size_kib=2048),
        ded("db2", 2, 2048),
        shared("web1", 2, 2048),
        shared("web2", 1, 1024, numa=0),
        ded("small", 1, 512, numa="none"),
    ]

    def test_same_input_same_result(self):
        assert plan(FOUR, self.VMS, reserved_cpus=[0, 1]) == plan(FOUR, self.VMS, reserved_cpus=[0, 1])

    @pytest.mark.parametrize("seed", range(5))
    def test_input_order_does_not_matter(self, seed):
        shuffled = random.Random(seed).sample(self.VMS, len(self.VMS))
        assert plan(FOUR, shuffled, reserved_cpus=[0, 1]) == plan(FOUR, self.VMS, reserved_cpus=[0, 1])

    def test_adding_a_vm_moves_nothing(self):
        before = plan(FOUR, self.VMS, reserved_cpus=[0, 1])
        after = plan(FOUR, [*self.VMS, ded("new", 2)], reserved_cpus=[0, 1], current=current_from_plan(before))
        for name in ("db1", "db2", "small"):
            assert after[name] == before[name]
        for name in ("web1", "web2"):
            assert after[name]["nodes"] == before[name]["nodes"]
            assert vcpu_cpus(after[name]) <= vcpu_cpus(before[name])
        taken = set().union(*(vcpu_cpus(before[name]) for name in ("db1", "db2", "small")))
        assert vcpu_cpus(after["new"]) and not vcpu_cpus(after["new"]) & taken

    def test_adding_a_vm_keeps_a_spanning_vm(self):
        # Nothing reserved: wide's emulator threads share the shared pool, which "new" may shrink.
        before = plan(TWO, [ded("wide", 6, 3000), shared("s", 1)])
        after = plan(TWO, [ded("wide", 6, 3000), shared("s", 1), ded("new", 1)], current=current_from_plan(before))
        assert without_emulator(after["wide"]) == without_emulator(before["wide"])
        assert pins(after["new"])[0] == ["6"]
        assert pins(after["s"])[:2] == (["7"], "7")

    def test_current_keeps_a_vm_where_a_fresh_plan_would_not(self):
        # Alone, "b" would take node 0; it stays on node 1 where it already is.
        result = plan(TWO, [ded("b", 2)], current={"b": {"nodes": [1], "cpus": [6, 7]}})
        assert pins(result["b"])[0::2] == (["6", "7"], [1])

    def test_current_that_is_no_longer_free_is_replaced(self):
        result = plan(TWO, [ded("b", 2)], reserved_cpus=[6], current={"b": {"nodes": [1], "cpus": [6, 7]}})
        assert pins(result["b"])[0::2] == (["0", "1"], [0])

    def test_replanning_the_same_inventory_changes_nothing(self):
        # The second run of a playbook: same VMs, current from the first plan. batch (shared, numa none)
        # is replayed before db1 by name and makes node 1 hold back one of db1's cores, so db1 moved
        # from node 1 to span nodes 1 and 3.
        vms = [
            ded("db1", 4, 4096, hugepage_size_kib=GIB_PAGE),
            shared("web1", 2, 2048),
            shared("batch1", 2, 1024, numa="none"),
        ]
        first = plan(FOUR, vms, reserved_cpus=[0, 1, 8, 9], host_reserved_memory_mib=2048)
        second = plan(
            FOUR, vms, reserved_cpus=[0, 1, 8, 9], host_reserved_memory_mib=2048, current=current_from_plan(first)
        )
        assert second == first

    def test_second_run_of_the_same_inventory_does_not_fail(self):
        # b holds all of node 2. On the second run a (numa none, replayed first by name) makes
        # every node hold back a core, so b's current cores are "not free" and b, pinned to
        # node 2, no longer fits anywhere: PlacementError on an unchanged inventory.
        vms = [shared("a", 1, numa="none"), ded("b", 4, numa=2)]
        first = plan(FOUR, vms)
        assert pins(first["b"])[0] == ["8", "9", "10", "11"]
        assert plan(FOUR, vms, current=current_from_plan(first))["b"] == first["b"]

    def test_odd_dedicated_vm_on_smt_keeps_its_core(self):
        # current_from_plan records only the pinned thread (CPU 0), _pinned_plan wants whole cores,
        # so "odd" is re-placed as new and "a-big" (sorted first) takes its node.
        first = plan(FOUR, [ded("odd", 1)])
        second = plan(FOUR, [ded("odd", 1), ded("a-big", 4)], current=current_from_plan(first))
        assert second["odd"] == first["odd"]

    def test_a_shrunk_vm_releases_its_cores_in_one_run(self):
        # x shrinks from 3 to 1 vCPU: the plan must be a fixed point at once, or the shared VM's
        # pinning changes on the run after.
        first = plan(TWO, [ded("x", 3), shared("s", 1, numa=0)])
        vms = [ded("x", 1), shared("s", 1, numa=0)]
        second = plan(TWO, vms, current=current_from_plan(first))
        third = plan(TWO, vms, current=current_from_plan(second))
        assert third == second

    @pytest.mark.parametrize("vm", [ded("x", 2, numa=1), shared("x", 2, numa=1)], ids=["dedicated", "shared"])
    def test_a_changed_numa_node_moves_the_vm(self, vm):
        first = plan(TWO, [dict(vm, numa="auto") if vm["dedicated_cpus"] else dict(vm, numa=0)])
        assert first["x"]["nodes"] == [0]
        second = plan(TWO, [vm], current=current_from_plan(first))
        assert second["x"]["nodes"] == [1]

    def test_current_from_plan(self):
        result = plan(FOUR, [ded("d", 4), shared("s", 1)], reserved_cpus=[0, 1])
        assert current_from_plan(result) == {"d": {"nodes": [1], "cpus": [4, 5, 6, 7]}, "s": {"nodes": [3], "cpus": []}}


def random_case(rng, cells):
    node_ids = [cell["id"] for cell in cells]
    page_sizes = sorted({p["size_kib"] for c in cells for p in c["pages"] if p["size_kib"] > 4 and p["total"]})
    all_cpus = sorted(cpu["id"] for cell in cells for cpu in cell["cpus"])
    first_cores = [tuple(cell["cpus"][0]["siblings"]) for cell in cells]
    reserved = rng.choice([[], [all_cpus[0]], sorted(c for core in first_cores for c in core), rng.sample(all_cpus, 2)])
    vms = []
    for index in range(rng.randint(1, len(cells) + 2)):
        vm = (ded if rng.random() < 0.5 else shared)(
            f"vm{index}",
            rng.randint(1, min(4, len(all_cpus) // 2)),
            rng.choice([256, 512, 1024, 2048]),
            numa=rng.choice(["auto"] * 4 + ["none", *node_ids]),
        )
        if page_sizes and rng.random() < 0.25:
            vm["hugepage_size_kib"] = rng.choice(page_sizes)
        vms.append(vm)
    return reserved, vms


def random_cases(count=200, seed=7):
    """(topology name, cells, reserved CPUs, VMs, plan or PlacementError) for a fixed set of random mixes."""
    rng = random.Random(seed)
    for name, cells in TOPOLOGIES.items():
        for _index in range(count):
            reserved, vms = random_case(rng, cells)
            try:
                yield name, cells, reserved, vms, plan(cells, vms, reserved_cpus=reserved)
            except PlacementError as exc:
                yield name, cells, reserved, vms, exc


def successes():
    return [case for case in random_cases() if not isinstance(case[-1], PlacementError)]


def placement_problems(cells, reserved, vms, result):
    """Everything in one plan that breaks the planner's rules, as readable strings."""
    problems = []
    node_cpus = {cell["id"]: {cpu["id"] for cpu in cell["cpus"]} for cell in cells}
    threads = max(len(cpu["siblings"]) for cell in cells for cpu in cell["cpus"])
    dedicated = {n: cores_touched(cells, vcpu_cpus(p)) for n, p in result.items() if p["dedicated"]}
    shared_cpus = {n: vcpu_cpus(p) for n, p in result.items() if not p["dedicated"]}
    reserved_cores = cores_touched(cells, reserved)
    for vm in vms:
        name, got = vm["name"], result[vm["name"]]
        pinned = [expand(pin["cpuset"]) for pin in got["cputune"]["vcpupin"]]
        if len(pinned) != vm["vcpus"]:
            problems.append(f"{name}: {len(pinned)} vcpupin entries for {vm['vcpus']} vCPUs")
        numa = vm.get("numa", "auto")
        if numa not in ("auto", "none") and got["nodes"] != [int(numa)]:
            problems.append(f"{name}: numa {numa} but placed on {got['nodes']}")
        if (got["numatune"] is None) != (numa == "none"):
            problems.append(f"{name}: numatune {got['numatune']} for numa {numa}")
        if got["dedicated"]:
            if any(len(cpus) != 1 for cpus in pinned) or len(set().union(*pinned)) != vm["vcpus"]:
                problems.append(f"{name}: dedicated vCPUs not one distinct CPU each: {pinned}")
            if not vcpu_cpus(got) <= set().union(*(node_cpus[n] for n in got["nodes"])):
                problems.append(f"{name}: CPUs outside its nodes {got['nodes']}")
            if dedicated[name] & reserved_cores:
                problems.append(f"{name}: shares a core with reserved CPUs {reserved}")
            for other, cores in dedicated.items():
                if other != name and cores & dedicated[name]:
                    problems.append(f"{name}: shares cores {sorted(cores & dedicated[name])} with {other}")
            for other, cpus in shared_cpus.items():
                if cpus & dedicated[name]:
                    problems.append(f"{name}: its cores are in {other}'s shared cpuset")
            if vm["vcpus"] % threads == 0 and vcpu_cpus(got) != dedicated[name]:
                problems.append(f"{name}: not whole cores: {sorted(vcpu_cpus(got))}")
        elif not shared_cpus[name] or shared_cpus[name] & set(reserved):
            problems.append(f"{name}: shared cpuset {sorted(shared_cpus[name])} empty or reserved")
        if got["numa_cells"]:
            if sum(c["memory_mib"] for c in got["numa_cells"]) != vm["memory_mib"]:
                problems.append(f"{name}: guest cells' memory does not add up to {vm['memory_mib']}")
            if set().union(*(expand(c["cpus"]) for c in got["numa_cells"])) != set(range(vm["vcpus"])):
                problems.append(f"{name}: guest cells do not cover every vCPU once")
    problems.extend(memory_problems(cells, vms, result))
    return problems


def memory_problems(cells, vms, result):
    ordinary = {cell["id"]: 0 for cell in cells}
    pages = {}
    for vm in vms:
        got = result[vm["name"]]
        shares = [c["memory_mib"] for c in got["numa_cells"]] if got["numa_cells"] else [vm["memory_mib"]]
        for node, mib in zip(got["nodes"], shares):
            page = vm.get("hugepage_size_kib")
            if page:
                pages[(node, page)] = pages.get((node, page), 0) + -(-mib * 1024 // page)
            else:
                ordinary[node] += mib * 1024
    problems = []
    for cell in cells:
        pools = {p["size_kib"]: p["total"] for p in cell["pages"] if p["size_kib"] > 4}
        if ordinary[cell["id"]] > cell["memory_kib"] - sum(size * n for size, n in pools.items()):
            problems.append(f"node {cell['id']}: ordinary memory over-committed")
        for size, total in pools.items():
            if pages.get((cell["id"], size), 0) > total:
                problems.append(f"node {cell['id']}: {size} KiB pages over-committed")
    return problems


def first_problems(found):
    return "\n".join(
        f"{topology} reserved={reserved} vms={vms}: {problems}" for topology, reserved, vms, problems in found[:3]
    )


class TestRandomMixes:
    """Property checks over a fixed set of random VM mixes on each topology."""

    def test_enough_mixes_fit_to_mean_something(self):
        cases = list(random_cases())
        assert len(successes()) > len(cases) // 2

    def test_failures_name_the_vm_and_every_node(self):
        for topology, cells, _reserved, vms, outcome in random_cases():
            if isinstance(outcome, PlacementError):
                message = str(outcome)
                assert any(f"VM '{vm['name']}'" in message for vm in vms), (topology, message)
                if message.startswith("cannot place"):
                    assert all(f"node {cell['id']}: " in message for cell in cells), (topology, message)

    def test_dedicated_vms_never_share_a_core(self):
        found = []
        for topology, cells, reserved, vms, result in successes():
            problems = placement_problems(cells, reserved, vms, result)
            if problems:
                found.append((topology, reserved, vms, problems))
            # The same rules hold when VMs are replayed from current and new ones placed around them.
            for new in (ded("aa-new", 2, 256), shared("aa-new", 1, 256)):
                try:
                    grown = plan(cells, [*vms, new], reserved_cpus=reserved, current=current_from_plan(result))
                except PlacementError:
                    continue
                problems = placement_problems(cells, reserved, [*vms, new], grown)
                if problems:
                    found.append((topology, reserved, [*vms, new], problems))
        assert not found, first_problems(found)

    def test_emulator_threads_stay_off_other_vms_dedicated_cores(self):
        found = []
        for topology, cells, reserved, vms, result in successes():
            for name, got in result.items():
                emulator = expand(got["cputune"]["emulatorpin"])
                others = [p for n, p in result.items() if p["dedicated"] and n != name]
                taken = set().union(*(cores_touched(cells, vcpu_cpus(p)) for p in others))
                if got["dedicated"] and (not emulator or emulator & taken):
                    found.append((topology, reserved, vms, [f"{name}: emulatorpin {got['cputune']['emulatorpin']!r}"]))
        assert not found, first_problems(found)

    def test_input_order_does_not_matter(self):
        rng = random.Random(11)
        for topology, cells, reserved, vms, result in successes():
            assert plan(cells, rng.sample(vms, len(vms)), reserved_cpus=reserved) == result, (topology, vms)

    def test_replanning_is_a_fixed_point(self):
        # The playbook's second run: same inventory, current from the first plan.
        found = []
        for topology, cells, reserved, vms, result in successes():
            try:
                again = plan(cells, vms, reserved_cpus=reserved, current=current_from_plan(result))
            except PlacementError as exc:
                found.append((topology, reserved, vms, [f"fails: {exc}"]))
                continue
            moved = sorted(vm["name"] for vm in vms if domain_parts(vm, again) != domain_parts(vm, result))
            if moved:
                found.append((topology, reserved, vms, [f"moved: {moved}"]))
        assert not found, first_problems(found)

    def test_adding_a_vm_moves_no_existing_vm(self):
        rng = random.Random(13)
        found = []
        for topology, cells, reserved, vms, result in successes():
            kind = ded if rng.random() < 0.5 else shared
            new = kind("zz-new" if rng.random() < 0.5 else "aa-new", rng.randint(1, 2), 256)
            try:
                after = plan(cells, [*vms, new], reserved_cpus=reserved, current=current_from_plan(result))
            except PlacementError:
                continue
            moved = sorted(vm["name"] for vm in vms if location(vm, after) != location(vm, result))
            if moved:
                found.append((topology, reserved, [*vms, new], [f"moved: {moved}"]))
        assert not found, first_problems(found)


def domain_parts(vm, result):
    """What the domain gets from a placement; a numa-none shared VM's node is only bookkeeping."""
    got = dict(result[vm["name"]])
    if not got["dedicated"] and vm.get("numa") == "none":
        got.pop("nodes")
    return got


def location(vm, result):
    """What must not change when a VM is added: nodes, and a dedicated VM's cores and guest cells."""
    got = domain_parts(vm, result)
    if not got["dedicated"]:
        return got.get("nodes"), got["numatune"]
    return got["nodes"], got["numatune"], got["cputune"]["vcpupin"], got["numa_cells"], got["cpu_topology"]
