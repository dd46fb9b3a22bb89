# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Open vSwitch of the test bed really switches: bridges, internal and VLAN ports.

Runs against the daemons that ``tests/testbed/ovs.sh start`` brings up. This
machine has no OVS kernel datapath, so the bridge uses the userspace one
(``datapath_type=netdev``), as every OVS test here must.
"""

from __future__ import annotations

import pytest

BRIDGE = "kvt-br0"
INTERNAL_PORT = "kvt-int0"
VLAN_PORT = "kvt-vlan42"
VLAN_TAG = 42


@pytest.fixture
def bridge(ovs):
    # A bridge left by an interrupted earlier run must not make this one fail.
    ovs.del_br(BRIDGE)
    try:
        yield BRIDGE
    finally:
        ovs.del_br(BRIDGE)


def test_netdev_bridge_with_internal_and_vlan_ports(ovs, bridge: str) -> None:
    ovs.vsctl(
        "add-br", bridge,
        "--", "set", "Bridge", bridge, "datapath_type=netdev",
        "--", "add-port", bridge, INTERNAL_PORT,
        "--", "set", "Interface", INTERNAL_PORT, "type=internal",
        "--", "add-port", bridge, VLAN_PORT, f"tag={VLAN_TAG}",
        "--", "set", "Interface", VLAN_PORT, "type=internal",
    )  # fmt: skip

    bridges = ovs.rows("Bridge")
    assert bridges[bridge]["datapath_type"] == "netdev"

    ports = ovs.rows("Port")
    assert ovs.value(ports[VLAN_PORT]["tag"]) == VLAN_TAG
    assert ovs.value(ports[INTERNAL_PORT]["tag"]) == []
    port_uuids = {ovs.value(ports[name]["_uuid"])[1] for name in (INTERNAL_PORT, VLAN_PORT)}
    bridge_ports = ovs.value(bridges[bridge]["ports"])
    assert port_uuids <= {pair[1] for pair in bridge_ports}

    # ovs-vswitchd (not just ovsdb) must have accepted the ports: an interface
    # the datapath could not create gets ofport -1 and an error.
    interfaces = ovs.rows("Interface")
    for name in (INTERNAL_PORT, VLAN_PORT):
        assert ovs.value(interfaces[name]["error"]) == [], interfaces[name]["error"]
        assert ovs.value(interfaces[name]["ofport"]) > 0

    ovs.vsctl("del-port", bridge, VLAN_PORT)
    assert VLAN_PORT not in ovs.rows("Port")
    ovs.vsctl("del-br", bridge)
    assert bridge not in ovs.rows("Bridge")
    assert INTERNAL_PORT not in ovs.rows("Port")
