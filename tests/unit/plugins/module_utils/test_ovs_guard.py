# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_ovs safety check: which interfaces carry the connection, and which items touch them.

Facts are shaped as Ansible 2.19's setup module returns them on Linux
(interface names with '-' under keys with '_'); the OVS side is an ovs_info
result.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter.ovs_connection_guard import ovs_connection_guard
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_guard import (
    connection_interfaces,
    protected_interfaces,
    risky_items,
)

# A hypervisor reached on 198.51.100.23 through mgmt0, an internal port of br-vm whose uplink is bond0 over
# eno1/eno2; eno3 is unused; a Linux bond lb0 (eno5, eno6) carries the default route to 203.0.113.1.
FACTS = {
    "interfaces": ["lo", "eno1", "eno2", "eno3", "eno5", "eno6", "br-vm", "mgmt0", "lb0", "vnet0", "ovs-system"],
    "lo": {"device": "lo", "ipv4": {"address": "127.0.0.1"}},
    "mgmt0": {"device": "mgmt0", "ipv4": {"address": "198.51.100.23"}, "type": "ether"},
    "lb0": {"device": "lb0", "type": "bonding", "slaves": ["eno5", "eno6"], "ipv4": {"address": "203.0.113.7"}},
    "br_vm": {"device": "br-vm", "type": "ether"},
    "eno3": {"device": "eno3", "ipv6": [{"address": "fe80::1", "scope": "link"}]},
    "default_ipv4": {"interface": "lb0", "address": "203.0.113.7", "gateway": "203.0.113.1"},
}
OVS_INFO = {
    "interfaces": [
        {"name": "br-vm", "bridge": "br-vm", "type": "internal"},
        {"name": "mgmt0", "bridge": "br-vm", "type": "internal"},
        {"name": "eno1", "bridge": "br-vm", "type": "system"},
        {"name": "eno2", "bridge": "br-vm", "type": "system"},
        {"name": "vnet0", "bridge": "br-guest", "type": "system"},
    ],
    "ports": [
        {"name": "br-vm", "bridge": "br-vm", "type": "internal", "interfaces": ["br-vm"]},
        {"name": "mgmt0", "bridge": "br-vm", "type": "internal", "interfaces": ["mgmt0"]},
        {"name": "bond0", "bridge": "br-vm", "type": "bond", "interfaces": ["eno1", "eno2"]},
        {"name": "vnet0", "bridge": "br-guest", "type": "system", "interfaces": ["vnet0"]},
    ],
}


def test_connection_interfaces_by_address_and_default_route():
    assert connection_interfaces(FACTS, ["198.51.100.23", "lab-host-name", None]) == ["lb0", "mgmt0"]


def test_connection_interfaces_ipv6_and_secondaries():
    facts = {
        "interfaces": ["a", "b"],
        "a": {"ipv6": [{"address": "2001:db8::5"}]},
        "b": {"ipv4": {"address": "203.0.113.1"}, "ipv4_secondaries": [{"address": "203.0.113.9"}]},
    }
    assert connection_interfaces(facts, ["2001:db8::5"]) == ["a"]
    assert connection_interfaces(facts, ["203.0.113.9"]) == ["b"]
    assert connection_interfaces(facts, []) == []


def test_protected_follows_ovs_bridge_uplinks_and_linux_bond_members():
    protected = protected_interfaces(FACTS, OVS_INFO, ["lb0", "mgmt0"])
    assert protected == ["bond0", "br-vm", "eno1", "eno2", "eno5", "eno6", "lb0", "mgmt0"]


def test_protected_without_ovs_installed():
    assert protected_interfaces(FACTS, None, ["mgmt0"], extra=["eno3"]) == ["eno3", "mgmt0"]


@pytest.mark.parametrize(
    ("bridges", "bonds", "ports", "expected"),
    [
        # Changing the management bridge itself.
        ([{"name": "br-vm"}], [], [], [{"kind": "bridge", "name": "br-vm", "touches": ["br-vm"]}]),
        ([{"name": "br-guest"}], [], [], []),
        # The uplink bond, by name or by a member.
        ([], [{"name": "bond0", "bridge": "br-vm", "interfaces": ["eno1", "eno2"]}], [], ["bond0"]),
        ([], [{"name": "bond9", "bridge": "br-x", "interfaces": ["eno2", "eno9"]}], [], ["bond9"]),
        # A new bond into the management bridge could loop it.
        ([], [{"name": "bond9", "bridge": "br-vm", "interfaces": ["eno8", "eno9"]}], [], ["bond9"]),
        ([], [{"name": "bond9", "bridge": "br-x", "interfaces": ["eno8", "eno9"]}], [], []),
        # A NIC taken out of the Linux bond that carries the default route.
        ([], [], [{"name": "eno5", "bridge": "br-x"}], ["eno5"]),
        # The management port's own settings.
        ([], [], [{"name": "mgmt0", "bridge": "br-vm", "type": "internal"}], ["mgmt0"]),
        # Guest-side ports on the management bridge cannot cut it; a NIC added to it can loop it.
        ([], [], [{"name": "vm-int", "bridge": "br-vm", "type": "internal"}], []),
        ([], [], [{"name": "kvpatch", "bridge": "br-vm", "type": "patch"}], []),
        ([], [], [{"name": "eno3", "bridge": "br-vm"}], ["eno3"]),
        ([], [], [{"name": "eno3", "bridge": "br-guest", "type": "system"}], []),
    ],
)
def test_risky_items(bridges, bonds, ports, expected):
    protected = protected_interfaces(FACTS, OVS_INFO, connection_interfaces(FACTS, ["198.51.100.23"]))
    risky = risky_items(bridges, bonds, ports, protected)
    if expected and isinstance(expected[0], str):
        assert [item["name"] for item in risky] == expected
    else:
        assert risky == expected


def test_filter_returns_everything_and_validates_input():
    result = ovs_connection_guard(
        FACTS,
        OVS_INFO,
        [{"name": "br-vm"}],
        [],
        [{"name": "eno3", "bridge": "br-vm"}],
        ["198.51.100.23", "host.example"],
        ["eno3"],
    )
    assert result["addresses"] == ["198.51.100.23"]
    assert result["connection_interfaces"] == ["lb0", "mgmt0"]
    assert "eno3" in result["protected"]
    assert [item["name"] for item in result["risky"]] == ["br-vm", "eno3"]
    assert result["risky"][1]["touches"] == ["br-vm", "eno3"]
    with pytest.raises(AnsibleFilterError, match="must be ansible_facts"):
        ovs_connection_guard([])
    with pytest.raises(AnsibleFilterError, match="every item of ports needs a name"):
        ovs_connection_guard(FACTS, None, [], [], [{"bridge": "x"}])
    with pytest.raises(AnsibleFilterError, match="bridges must be a list"):
        ovs_connection_guard(FACTS, None, "br0")
