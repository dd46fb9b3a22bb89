# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Open vSwitch of the test bed really switches: bridges, internal and VLAN ports.

Runs against the daemons that ``tests/testbed/ovs.sh start`` brings up. This
machine has no OVS kernel datapath, so the bridge uses the userspace one
(``datapath_type=netdev``), as every OVS test here must.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

BRIDGE = "kvt-br0"
INTERNAL_PORT = "kvt-int0"
VLAN_PORT = "kvt-vlan42"
VLAN_TAG = 42


def vsctl(*args: str) -> str:
    result = subprocess.run(
        ["ovs-vsctl", "--timeout=10", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"ovs-vsctl {' '.join(args)} failed: {result.stderr.strip()}", pytrace=False)
    return result.stdout


def ovsdb_rows(table: str) -> dict[str, dict]:
    """Rows of TABLE keyed by name, decoded from ovs-vsctl's JSON format."""
    listing = json.loads(vsctl("--format=json", "list", table))
    rows = [dict(zip(listing["headings"], row, strict=True)) for row in listing["data"]]
    return {row["name"]: row for row in rows}


def ovsdb_value(value):
    """OVSDB JSON wraps sets and maps: ["set", []] is empty, ["set", [x]] is x."""
    if isinstance(value, list) and value and value[0] == "set":
        return value[1] if len(value[1]) != 1 else value[1][0]
    if isinstance(value, list) and value and value[0] == "map":
        return dict(value[1])
    return value


@pytest.fixture(scope="module")
def ovs_running() -> None:
    if shutil.which("ovs-vsctl") is None:
        pytest.fail("ovs-vsctl is not installed: the test bed needs openvswitch-switch", pytrace=False)
    result = subprocess.run(
        ["ovs-vsctl", "--timeout=5", "get", "Open_vSwitch", ".", "datapath_types"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            "Open vSwitch is not running (start it with tests/testbed/ovs.sh start): " + result.stderr.strip(),
            pytrace=False,
        )
    if "netdev" not in result.stdout:
        pytest.fail(f"ovs-vswitchd offers no userspace (netdev) datapath: {result.stdout.strip()}", pytrace=False)


@pytest.fixture
def bridge(ovs_running: None):
    # A bridge left by an interrupted earlier run must not make this one fail.
    vsctl("--if-exists", "del-br", BRIDGE)
    try:
        yield BRIDGE
    finally:
        vsctl("--if-exists", "del-br", BRIDGE)


def test_netdev_bridge_with_internal_and_vlan_ports(bridge: str) -> None:
    vsctl(
        "add-br", bridge,
        "--", "set", "Bridge", bridge, "datapath_type=netdev",
        "--", "add-port", bridge, INTERNAL_PORT,
        "--", "set", "Interface", INTERNAL_PORT, "type=internal",
        "--", "add-port", bridge, VLAN_PORT, f"tag={VLAN_TAG}",
        "--", "set", "Interface", VLAN_PORT, "type=internal",
    )  # fmt: skip

    bridges = ovsdb_rows("Bridge")
    assert bridges[bridge]["datapath_type"] == "netdev"

    ports = ovsdb_rows("Port")
    assert ovsdb_value(ports[VLAN_PORT]["tag"]) == VLAN_TAG
    assert ovsdb_value(ports[INTERNAL_PORT]["tag"]) == []
    port_uuids = {ovsdb_value(ports[name]["_uuid"])[1] for name in (INTERNAL_PORT, VLAN_PORT)}
    bridge_ports = ovsdb_value(bridges[bridge]["ports"])
    assert port_uuids <= {pair[1] for pair in bridge_ports}

    # ovs-vswitchd (not just ovsdb) must have accepted the ports: an interface
    # the datapath could not create gets ofport -1 and an error.
    interfaces = ovsdb_rows("Interface")
    for name in (INTERNAL_PORT, VLAN_PORT):
        assert ovsdb_value(interfaces[name]["error"]) == [], interfaces[name]["error"]
        assert ovsdb_value(interfaces[name]["ofport"]) > 0

    vsctl("del-port", bridge, VLAN_PORT)
    assert VLAN_PORT not in ovsdb_rows("Port")
    vsctl("del-br", bridge)
    assert bridge not in ovsdb_rows("Bridge")
    assert INTERNAL_PORT not in ovsdb_rows("Port")
