# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_ovs role's libvirt networks (one portgroup per VLAN) against the test bed's libvirtd and OVS.

The role's own task files run through ``include_role`` on localhost: its
validation, then ``libvirt.yml`` in check mode, for real, again (idempotence)
and with ``state: absent``. The bridge is a userspace (netdev) bridge the
fixture makes with ovs-vsctl; results are checked with virsh, not the modules.
"""

from __future__ import annotations

import re
import subprocess
from xml.etree import ElementTree

import pytest

BRIDGE = "kvit-lvbr"
NETWORK = "kvit-ovs-guests"
URI = "qemu:///system"


def virsh(*args, check=True):
    proc = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"virsh {' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
    return proc


def remove_network():
    virsh("net-destroy", NETWORK, check=False)
    virsh("net-undefine", NETWORK, check=False)


@pytest.fixture
def bridge(ovs, libvirtd):
    remove_network()
    ovs.del_br(BRIDGE)
    ovs.vsctl("add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev")
    try:
        yield ovs
    finally:
        remove_network()
        ovs.del_br(BRIDGE)


def role_tasks(tasks_from, networks):
    return [
        {
            "name": f"kvm_ovs {tasks_from}",
            "ansible.builtin.include_role": {"name": "kvmops.kvm.kvm_ovs", "tasks_from": tasks_from},
            "vars": {"kvm_ovs_libvirt_networks": networks},
        }
    ]


def network_results(results):
    """The libvirt_network loop's result (the include itself reports first)."""
    loops = [result for result in results if "results" in result.result]
    assert len(loops) == 1, [result.result for result in results]
    return loops[0]


WANTED = [{"name": NETWORK, "bridge": BRIDGE, "vlans": [10, 20, 30], "default_vlan": 20}]


def test_network_with_a_portgroup_per_vlan(run_tasks, bridge):
    # Check mode predicts a change and defines nothing.
    results = run_tasks(role_tasks("libvirt", WANTED), check=True)
    loop = network_results(results)
    assert not loop.failed, loop.result
    assert [item["changed"] for item in loop["results"]] == [True]
    assert virsh("net-info", NETWORK, check=False).returncode != 0, "check mode defined the network"

    loop = network_results(run_tasks(role_tasks("libvirt", WANTED)))
    assert not loop.failed, loop.result
    assert [item["changed"] for item in loop["results"]] == [True]

    info = virsh("net-info", NETWORK).stdout
    assert re.search(r"^Active:\s+yes$", info, re.M), info
    assert re.search(r"^Autostart:\s+yes$", info, re.M), info
    network = ElementTree.fromstring(virsh("net-dumpxml", "--inactive", NETWORK).stdout)
    assert network.find("forward").get("mode") == "bridge"
    assert network.find("bridge").get("name") == BRIDGE
    assert network.find("virtualport").get("type") == "openvswitch"
    groups = {
        group.get("name"): ([tag.get("id") for tag in group.findall("vlan/tag")], group.get("default"))
        for group in network.findall("portgroup")
    }
    assert groups == {"vlan10": (["10"], None), "vlan20": (["20"], "yes"), "vlan30": (["30"], None)}

    # Idempotence, then a VLAN more on the running network, then removal.
    loop = network_results(run_tasks(role_tasks("libvirt", WANTED)))
    assert [item["changed"] for item in loop["results"]] == [False], loop.result

    more = [{**WANTED[0], "vlans": [10, 20, 30, 40]}]
    loop = network_results(run_tasks(role_tasks("libvirt", more)))
    assert [item["changed"] for item in loop["results"]] == [True], loop.result
    live = ElementTree.fromstring(virsh("net-dumpxml", NETWORK).stdout)
    assert sorted(group.get("name") for group in live.findall("portgroup")) == ["vlan10", "vlan20", "vlan30", "vlan40"]

    loop = network_results(run_tasks(role_tasks("libvirt", [{"name": NETWORK, "state": "absent"}])))
    assert [item["changed"] for item in loop["results"]] == [True], loop.result
    assert virsh("net-info", NETWORK, check=False).returncode != 0, "the network is still defined"


@pytest.mark.parametrize(
    ("network", "problem"),
    [
        ({"name": NETWORK, "vlans": [10]}, f"libvirt network {NETWORK} needs a bridge"),
        ({"name": NETWORK, "bridge": BRIDGE, "vlans": [10, 4096]}, "VLAN 4096 is outside 0-4095"),
        ({"name": NETWORK, "bridge": BRIDGE, "vlans": [10, 10]}, "lists a VLAN twice"),
        ({"name": NETWORK, "bridge": BRIDGE, "vlans": [10], "default_vlan": 20}, "default_vlan 20 is not in its vlans"),
    ],
)
def test_validation_refuses_bad_networks(run_tasks, bridge, network, problem):
    results = run_tasks(role_tasks("validate", [network]))
    failed = [result for result in results if result.failed]
    assert failed, [result.result for result in results]
    assert "kvm_ovs inventory problems" in failed[0]["msg"]
    assert problem in failed[0]["msg"]
    assert virsh("net-info", NETWORK, check=False).returncode != 0
