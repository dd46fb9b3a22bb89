# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_ovs filters: inventory checks (the OVS modules' own validators), switch options, the plan of writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import kvm_ovs as filters

FILTER_DIR = Path(filters.__file__).parent
SETTINGS = {"datapath_type": "system", "mtu": None, "reconnect_timeout": 45, "rollback_timeout": 90}


def problems(bridges=(), bonds=(), ports=(), networks=(), **settings):
    return filters.kvm_ovs_problems(list(bridges), list(bonds), list(ports), list(networks), {**SETTINGS, **settings})


# --- kvm_ovs_problems ----------------------------------------------------------


def test_valid_inventory_has_no_problems():
    assert (
        problems(
            [{"name": "br-vm", "state": "present", "addresses": ["192.0.2.10/24", "2001:db8::1/64"]}],
            [{"name": "bond0", "bridge": "br-vm", "state": "present", "interfaces": ["eno1", "eno2"]}],
            [
                {
                    "name": "mgmt20",
                    "bridge": "br-vm",
                    "state": "present",
                    "type": "internal",
                    "tag": 20,
                    "addresses": ["203.0.113.23/24"],
                }
            ],
            [{"name": "guests", "bridge": "br-vm", "state": "present", "vlans": [10, 20], "default_vlan": 10}],
        )
        == []
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"bridges": [{"name": "br-with-a-long-name"}]}, "is 19 characters long"),
        (
            {"ports": [{"name": "port-with-long-name", "bridge": "br0"}], "bridges": [{"name": "br0"}]},
            "characters long",
        ),
        ({"ports": [{"name": "p0", "state": "present"}]}, "bridge is required with state present"),
        ({"ports": [{"name": "p0", "bridge": "br0", "tag": 4096}]}, "tag 4096 is outside 0-4095"),
        ({"ports": [{"name": "p0", "bridge": "br0", "trunks": [10, "20-5000"]}]}, "outside 0-4095"),
        ({"ports": [{"name": "p0", "bridge": "br0", "addresses": ["192.0.2.1/24"]}]}, "not of type internal"),
        (
            {"ports": [{"name": "p0", "bridge": "br0", "type": "internal", "addresses": ["192.0.2.1"]}]},
            "p0 address 192.0.2.1 is not ADDRESS/PREFIX",
        ),
        ({"bridges": [{"name": "br0", "addresses": ["300.1.1.1/24"]}]}, "is not ADDRESS/PREFIX"),
        (
            {"bonds": [{"name": "bond0", "bridge": "br0", "interfaces": ["eno1", "a-very-long-nic-name"]}]},
            "bond interface 'a-very-long-nic-name' is 20 characters long",
        ),
        ({"bridges": [{"name": "br0"}], "ports": [{"name": "br0", "bridge": "br0"}]}, "br0 is declared more than once"),
        ({"networks": [{"name": "n1", "vlans": [10]}]}, "libvirt network n1 needs a bridge"),
        ({"networks": [{"name": "n1", "bridge": "b", "vlans": [10, 4096]}]}, "VLAN 4096 is outside 0-4095"),
        ({"networks": [{"name": "n1", "bridge": "b", "vlans": [10, 10]}]}, "lists a VLAN twice"),
        ({"networks": [{"name": "n1", "bridge": "b", "vlans": [10], "default_vlan": 20}]}, "default_vlan 20 is not"),
        ({"networks": [{"name": "n1", "bridge": "b"}, {"name": "n1", "bridge": "b"}]}, "declared more than once"),
        ({"reconnect_timeout": 90}, "kvm_ovs_reconnect_timeout must be shorter than kvm_ovs_rollback_timeout"),
    ],
)
def test_problems(kwargs, expected):
    found = problems(**kwargs)
    assert any(expected in problem for problem in found), found


def test_patch_and_tunnel_names_are_not_linux_devices():
    ports = [{"name": "patch-to-the-storage-net", "bridge": "br0", "type": "patch", "peer": "x"}]
    assert problems([{"name": "br0"}], [], ports) == []


def test_every_problem_once():
    found = problems([{"name": "br-with-a-long-name"}], [], [{"name": "p0", "bridge": "br0", "tag": 5000}])
    assert len(found) == 2
    assert len(set(found)) == len(found)


# --- kvm_ovs_switch --------------------------------------------------------------


def test_switch_options_fill_in_the_role_defaults():
    options = filters.kvm_ovs_switch(
        [
            {"name": "br-vm", "state": "present", "addresses": ["192.0.2.1/24"], "gateway": "192.0.2.254"},
            {"name": "br-dp", "datapath_type": "netdev", "mtu": 9000},
        ],
        [{"name": "bond0", "bridge": "br-vm", "state": "present", "interfaces": ["a", "b"], "lacp": "active"}],
        [
            {"name": "mgmt0", "bridge": "br-vm", "type": "internal", "addresses": ["192.0.2.2/24"]},
            {"name": "px", "bridge": "br-vm", "type": "patch", "peer": "py"},
            {"name": "eno3", "bridge": "br-vm", "mtu": 1500},
        ],
        "system",
        1600,
    )
    assert options["bridges"] == [
        {"name": "br-vm", "state": "present", "datapath_type": "system", "mtu": 1600},
        {"name": "br-dp", "datapath_type": "netdev", "mtu": 9000},
    ]
    assert options["bonds"] == [
        {
            "name": "bond0",
            "bridge": "br-vm",
            "state": "present",
            "interfaces": ["a", "b"],
            "lacp": "active",
            "mtu": 1600,
        }
    ]
    assert options["ports"] == [
        {"name": "mgmt0", "bridge": "br-vm", "type": "internal", "mtu": 1600},
        {"name": "px", "bridge": "br-vm", "type": "patch", "peer": "py"},
        {"name": "eno3", "bridge": "br-vm", "mtu": 1500},
    ]


def test_switch_options_without_mtu_leave_it_out():
    options = filters.kvm_ovs_switch([{"name": "br0"}], [], [{"name": "p0", "bridge": "br0"}], "netdev", None)
    assert options == {
        "bridges": [{"name": "br0", "datapath_type": "netdev"}],
        "bonds": [],
        "ports": [{"name": "p0", "bridge": "br0"}],
    }


# --- kvm_ovs_host_plan --------------------------------------------------------------

NETWORK_FILE = {"path": "/etc/systemd/network/50-kvm-ovs-mgmt0.network", "content": "[Match]\nName=mgmt0\n"}
FOUND = {
    "exists": True,
    "type": "file",
    "content": "[Match]\nName=mgmt0\n",
    "mode": "0644",
    "owner": "root",
    "group": "root",
}
UNITS = [{"name": "openvswitch-switch", "enabled": True, "state": "started"}]
RUNNING = {
    "exists": True,
    "load_state": "loaded",
    "active_state": "active",
    "sub_state": "running",
    "unit_file_state": "enabled",
}


def host_plan(probe, files=(NETWORK_FILE,), owned=(), packages=("openvswitch-switch",), units=None):
    units = UNITS if units is None else units
    want = {"packages": list(packages), "units": list(units), "files": list(files), "owned": list(owned)}
    return filters.kvm_ovs_host_plan(probe, want)


def converged_probe():
    return {
        "packages": {"openvswitch-switch": "3.1.0-2"},
        "units": {"openvswitch-switch": dict(RUNNING)},
        "files": {NETWORK_FILE["path"]: dict(FOUND)},
    }


def test_converged_host_plans_nothing():
    assert host_plan(converged_probe(), owned=[NETWORK_FILE["path"]]) == {"packages": [], "units": [], "files": []}


def test_each_difference_is_planned():
    probe = converged_probe()
    probe["packages"]["openvswitch-switch"] = None
    probe["units"]["openvswitch-switch"]["active_state"] = "inactive"
    probe["files"][NETWORK_FILE["path"]]["mode"] = "0600"
    stale = "/etc/systemd/network/50-kvm-ovs-old0.network"
    plan = host_plan(probe, owned=[NETWORK_FILE["path"], stale])
    assert plan["packages"] == ["openvswitch-switch"]
    assert plan["units"] == UNITS
    assert plan["files"] == [NETWORK_FILE, {"path": stale, "state": "absent"}]


@pytest.mark.parametrize(
    "change",
    [
        {"content": "[Match]\nName=other\n"},
        {"owner": "nobody"},
        {"exists": False, "content": None},
        {"type": "directory"},
    ],
)
def test_file_differences(change):
    probe = converged_probe()
    probe["files"][NETWORK_FILE["path"]].update(change)
    assert host_plan(probe)["files"] == [NETWORK_FILE]


def test_a_skipped_probe_plans_everything():
    plan = host_plan({"skipped": True})
    assert plan == {"packages": ["openvswitch-switch"], "units": UNITS, "files": [NETWORK_FILE]}


def test_unknown_unit_is_left_to_the_module():
    probe = converged_probe()
    probe["units"]["openvswitch-switch"] = {**RUNNING, "exists": False, "load_state": "not-found"}
    assert host_plan(probe)["units"] == UNITS


def test_bad_file_item_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="kvm_ovs_host_plan"):
        host_plan(converged_probe(), files=[{"path": "relative/path", "content": "x"}])


# --- kvm_ovs_connection_changes and kvm_ovs_missing_addresses ---------------------------


def test_connection_changes_only_for_changed_risky_items_and_protected_files():
    guard = {
        "risky": [{"kind": "port", "name": "eth0"}, {"kind": "bridge", "name": "br0"}],
        "protected": ["br0", "eth0"],
    }
    objects = [
        {"kind": "bridge", "name": "br0", "changed": False},
        {"kind": "port", "name": "eth0", "changed": True},
        {"kind": "port", "name": "p9", "changed": True},
    ]
    files = [{"path": "/n/50-kvm-ovs-br0.network"}, {"path": "/n/50-kvm-ovs-mgmt.network"}]
    names = {"/n/50-kvm-ovs-br0.network": "br0", "/n/50-kvm-ovs-mgmt.network": "mgmt"}
    assert filters.kvm_ovs_connection_changes(guard, objects, files, names) == ["eth0", "br0"]
    assert filters.kvm_ovs_connection_changes(guard, objects[:1], [], names) == []


def test_missing_addresses_from_host_facts_and_registered_setup():
    interfaces = [{"name": "mgmt-20", "addresses": ["203.0.113.23/24", "2001:db8::23/64"]}]
    facts = {"mgmt_20": {"ipv4": {"address": "203.0.113.23"}, "ipv6": [{"address": "fe80::1"}]}}
    assert filters.kvm_ovs_missing_addresses(interfaces, facts) == ["mgmt-20 2001:db8::23/64"]
    registered = {"ansible_mgmt_20": {"ipv4": {"address": "203.0.113.23"}, "ipv6": [{"address": "2001:db8::23"}]}}
    assert filters.kvm_ovs_missing_addresses(interfaces, registered) == []
    assert filters.kvm_ovs_missing_addresses(interfaces, {}) == ["mgmt-20 203.0.113.23/24", "mgmt-20 2001:db8::23/64"]


# --- documentation -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(filters.FilterModule().filters()))
def test_every_filter_has_its_documentation(name):
    doc = yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert doc["EXAMPLES"] and doc["RETURN"]
