# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.ovs_info through Ansible against a topology built with plain ovs-vsctl.

The bridge, its bond over veth pairs, an access port and a trunk are made
without this collection, so ovs_info is checked against what Open vSwitch
itself was told.
"""

from __future__ import annotations

import subprocess

import pytest

MODULE = "kvmops.kvm.ovs_info"
BRIDGE = "kvit-info"
VETHS = ("kvit-i0", "kvit-i1")


def ip(*args, check=True):
    subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


@pytest.fixture(scope="module")
def topology(ovs):
    ovs.del_br(BRIDGE)
    for name in VETHS:
        ip("link", "del", f"{name}a", check=False)
        ip("link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
        ip("link", "set", f"{name}a", "up")
        ip("link", "set", f"{name}b", "up")
    ovs.vsctl(
        "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev", "fail_mode=secure",
        "--", "set", "Interface", BRIDGE, "mtu_request=1600",
        "--", "add-port", BRIDGE, "kvit-acc", "tag=42", "--", "set", "Interface", "kvit-acc", "type=internal",
        "--", "add-port", BRIDGE, "kvit-trk", "trunks=42,43", "--", "set", "Interface", "kvit-trk", "type=internal",
        "--", "add-bond", BRIDGE, "kvit-ibond", "kvit-i0a", "kvit-i1a", "bond_mode=active-backup", "lacp=off",
        "other_config:bond-detect-mode=miimon", "tag=43",
    )  # fmt: skip
    try:
        yield ovs
    finally:
        ovs.del_br(BRIDGE)
        for name in VETHS:
            ip("link", "del", f"{name}a", check=False)


def test_info_reports_the_topology(run_module, topology):
    result = run_module(MODULE, {"bridge": BRIDGE})
    assert not result.failed, result.result
    assert not result["changed"]
    assert result["ovs_version"] == topology.get("Open_vSwitch", ".", "ovs_version").strip('"')
    assert "netdev" in result["datapath_types"]

    (bridge,) = result["bridges"]
    assert (bridge["name"], bridge["datapath_type"], bridge["fail_mode"], bridge["mtu_request"]) == (
        BRIDGE,
        "netdev",
        "secure",
        1600,
    )
    assert bridge["ports"] == sorted(["kvit-acc", "kvit-trk", "kvit-ibond", BRIDGE])

    ports = {port["name"]: port for port in result["ports"]}
    assert (ports["kvit-acc"]["type"], ports["kvit-acc"]["tag"]) == ("internal", 42)
    assert ports["kvit-trk"]["trunks"] == [42, 43]
    assert ports["kvit-ibond"]["type"] == "bond"
    assert ports["kvit-ibond"]["interfaces"] == ["kvit-i0a", "kvit-i1a"]

    assert result["vlans"] == [
        {"bridge": BRIDGE, "id": 42, "access_ports": ["kvit-acc"], "trunk_ports": ["kvit-trk"]},
        {"bridge": BRIDGE, "id": 43, "access_ports": ["kvit-ibond"], "trunk_ports": ["kvit-trk"]},
    ]

    (bond,) = result["bonds"]
    assert (bond["name"], bond["mode"], bond["lacp"], bond["detect_mode"]) == (
        "kvit-ibond",
        "active-backup",
        "off",
        "miimon",
    )
    assert [member["name"] for member in bond["members"]] == ["kvit-i0a", "kvit-i1a"]
    # The veths are up on both ends: ovs-vswitchd reports the links up and picks an active member.
    assert {member["link_state"] for member in bond["members"]} == {"up"}
    assert bond["active_member"] in ("kvit-i0a", "kvit-i1a")

    interfaces = {iface["name"]: iface for iface in result["interfaces"]}
    assert interfaces["kvit-acc"]["ofport"] > 0
    assert interfaces["kvit-acc"]["error"] is None
    assert interfaces["kvit-i0a"]["port"] == "kvit-ibond"


def test_info_without_filter_and_unknown_bridge(run_tasks, topology):
    everything, unknown = run_tasks([{MODULE: {}}, {MODULE: {"bridge": "kvit-none"}}])
    assert BRIDGE in [bridge["name"] for bridge in everything["bridges"]]
    assert {key: unknown[key] for key in ("bridges", "ports", "interfaces", "vlans", "bonds")} == {
        "bridges": [],
        "ports": [],
        "interfaces": [],
        "vlans": [],
        "bonds": [],
    }
