# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure network logic: netaddr validation, desired XML, persistent and live plans."""

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _network as nw
from ansible_collections.kvmops.kvm.plugins.module_utils import _xml_subset as xs
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._network_spec import check_overlap, normalise_params

# Captured with `virsh net-dumpxml` on the Debian 12 test bed (libvirt 9.0) after defining
# the network of params() below: libvirt added uuid, stp/delay and a MAC.
NAT_XML = """<network>
  <name>guests</name>
  <uuid>47c39b88-d5f4-45cf-97e9-5b77db231c0b</uuid>
  <forward mode='nat'>
    <nat>
      <port start='1024' end='65535'/>
    </nat>
  </forward>
  <bridge name='kvit-nat0' stp='on' delay='0'/>
  <mac address='52:54:00:AA:B6:E4'/>
  <domain name='guests.test'/>
  <ip address='203.0.113.241' prefix='28'>
    <dhcp>
      <range start='203.0.113.245' end='203.0.113.250'/>
      <host mac='52:54:00:00:00:01' name='a' ip='203.0.113.244'/>
    </dhcp>
  </ip>
</network>
"""

OVS_XML = """<network>
  <name>ovs</name>
  <uuid>0c2d8b0e-62a3-4c43-9c53-3f3a1a9b2d11</uuid>
  <forward mode='bridge'/>
  <bridge name='br-prod'/>
  <virtualport type='openvswitch'/>
  <portgroup name='vlan10' default='yes'>
    <vlan>
      <tag id='10'/>
    </vlan>
  </portgroup>
</network>
"""


def params(**overrides):
    base = {
        "name": "guests",
        "uuid": None,
        "state": "active",
        "autostart": None,
        "mode": "nat",
        "bridge": "kvit-nat0",
        "openvswitch": False,
        "forward_dev": None,
        "mtu": None,
        "domain": "guests.test",
        "ips": [
            {
                "address": "203.0.113.241/28",
                "dhcp_ranges": [{"start": "203.0.113.245", "end": "203.0.113.250"}],
                "dhcp_hosts": [{"mac": "52:54:00:00:00:01", "name": "a", "ip": "203.0.113.244"}],
            }
        ],
        "portgroups": None,
        "restart_on_change": False,
    }
    base.update(overrides)
    return base


def ovs_params(**overrides):
    base = {
        "name": "ovs",
        "mode": "bridge",
        "bridge": "br-prod",
        "openvswitch": True,
        "domain": None,
        "ips": None,
        "portgroups": [{"name": "vlan10", "default": True, "vlan": 10, "trunk": None, "native_vlan": None}],
    }
    base.update(overrides)
    return params(**base)


def ip_with(**changes):
    return [{**params()["ips"][0], **changes}]


def current(xml=NAT_XML, active=True, autostart=False):
    return {"xml": xml, "active": active, "autostart": autostart}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ips": [{"address": "203.0.113.241"}]}, "needs a prefix length"),
        ({"ips": [{"address": "203.0.113.240/28"}]}, "is the network or broadcast address"),
        ({"ips": ip_with(dhcp_ranges=[{"start": "203.0.113.245", "end": "203.0.114.2"}])}, "outside the subnet"),
        ({"ips": ip_with(dhcp_ranges=[{"start": "203.0.113.250", "end": "203.0.113.245"}])}, "is after end"),
        ({"ips": ip_with(dhcp_ranges=[{"start": "203.0.113.241", "end": "203.0.113.245"}])}, "own address"),
        (
            {
                "ips": ip_with(
                    dhcp_ranges=[
                        {"start": "203.0.113.245", "end": "203.0.113.248"},
                        {"start": "203.0.113.247", "end": "203.0.113.250"},
                    ]
                )
            },
            "overlaps dhcp_ranges[0]",
        ),
        ({"ips": ip_with(dhcp_hosts=[{"mac": "52:54:00:00:00:01", "ip": "203.0.113.17"}])}, "outside the subnet"),
        ({"ips": ip_with(dhcp_hosts=[{"mac": "52:54:00:00:00:01", "ip": "203.0.113.255"}])}, "broadcast address"),
        ({"ips": ip_with(dhcp_hosts=[{"ip": "203.0.113.244"}])}, "needs mac"),
        ({"ips": ip_with(dhcp_hosts=[{"mac": "zz", "ip": "203.0.113.244"}])}, "is not a MAC address"),
        (
            {
                "ips": ip_with(
                    dhcp_hosts=[
                        {"mac": "52:54:00:00:00:01", "ip": "203.0.113.244"},
                        {"mac": "52:54:00:00:00:02", "ip": "203.0.113.244"},
                    ]
                )
            },
            "is also given to dhcp_hosts[0]",
        ),
        ({"ips": [{"address": "203.0.113.1/24"}, {"address": "203.0.113.129/25"}]}, "overlaps 203.0.113.0/24"),
        ({"mode": "bridge", "bridge": None, "ips": None, "domain": None}, "mode bridge needs bridge"),
        ({"mode": "bridge", "bridge": "br0"}, "ips does not apply to mode bridge"),
        ({"openvswitch": True}, "openvswitch needs mode bridge"),
        ({"portgroups": [{"name": "a", "vlan": 10}]}, "need an Open vSwitch bridge"),
        ({"bridge": "a-name-that-is-too-long"}, "not a valid interface name"),
        ({"mtu": 20}, "is not 68-65535"),
        ({"forward_dev": "eth0", "mode": "open"}, "forward_dev applies to modes nat and route"),
        ({"mode": None}, "mode is required"),
    ],
)
def test_invalid_specs_are_refused_naming_the_network(overrides, message):
    with pytest.raises(KvmopsError) as err:
        normalise_params(params(**overrides))
    assert message in str(err.value)
    assert str(err.value).startswith("libvirt network 'guests': ")


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([{"name": "a", "vlan": 5000}], "is not 0-4095"),
        ([{"name": "a", "native_vlan": 10}], "native_vlan needs trunk"),
        ([{"name": "a", "vlan": 1, "trunk": [2]}], "not both"),
        ([{"name": "a"}, {"name": "a"}], "must be unique"),
        ([{"name": "a", "default": True}, {"name": "b", "default": True}], "only one may be the default"),
    ],
)
def test_invalid_portgroups(groups, message):
    with pytest.raises(KvmopsError, match=message):
        normalise_params(ovs_params(portgroups=groups))


def test_overlap_with_other_networks():
    desired = normalise_params(params())
    assert check_overlap(desired["ips"], [("lab", ["198.51.100.0/24"]), ("v6", ["2001:db8::/64"])]) == []
    assert check_overlap(desired["ips"], [("wide", ["203.0.113.0/24"])]) == [
        "203.0.113.240/28 overlaps 203.0.113.0/24 of network 'wide'"
    ]


def test_macs_are_normalised():
    desired = normalise_params(params(ips=ip_with(dhcp_hosts=[{"mac": "52-54-00-00-00-0A", "ip": "203.0.113.244"}])))
    assert desired["ips"][0]["dhcp_hosts"][0]["mac"] == "52:54:00:00:00:0a"


def test_new_network_is_defined_started_with_autostart():
    desired = normalise_params(params(autostart=True))
    plan = nw.plan_network(desired, None)
    assert [a["op"] for a in plan["actions"]] == ["define", "start", "autostart"]
    xml = plan["actions"][0]["xml"]
    assert '<forward mode="nat"/>' in xml
    assert '<ip address="203.0.113.241" prefix="28"><dhcp>' in xml


def test_unchanged_network_is_a_no_op():
    plan = nw.plan_network(normalise_params(params()), current(), NAT_XML)
    assert plan["actions"] == [] and not plan["changed"] and not plan["restart_required"]


def test_netmask_is_the_same_as_prefix():
    xml = NAT_XML.replace("prefix='28'", "netmask='255.255.255.240'")
    plan = nw.plan_network(normalise_params(params()), current(xml), xml)
    assert plan["actions"] == []


def test_dhcp_host_added_and_range_moved_live_without_restart():
    ips = ip_with(
        dhcp_ranges=[{"start": "203.0.113.246", "end": "203.0.113.250"}],
        dhcp_hosts=[
            {"mac": "52:54:00:00:00:01", "name": "a", "ip": "203.0.113.244"},
            {"mac": "52:54:00:00:00:02", "name": "b", "ip": "203.0.113.243"},
        ],
    )
    plan = nw.plan_network(normalise_params(params(ips=ips)), current(), NAT_XML)
    assert [a["text"] for a in plan["actions"]] == [
        "update definition",
        "live: remove dhcp range start=203.0.113.245 end=203.0.113.250",
        "live: add dhcp host name=b mac=52:54:00:00:00:02 ip=203.0.113.243",
        "live: add dhcp range start=203.0.113.246 end=203.0.113.250",
    ]
    assert not plan["restart_required"]
    update = plan["actions"][2]["update"]
    assert (update["command"], update["section"], update["index"]) == ("add-last", "ip-dhcp-host", 0)


def test_changed_dhcp_host_is_modified_in_place():
    ips = ip_with(dhcp_hosts=[{"mac": "52:54:00:00:00:01", "name": "a", "ip": "203.0.113.243"}])
    plan = nw.plan_network(normalise_params(params(ips=ips)), current(), NAT_XML)
    updates = [a["update"] for a in plan["actions"] if a["op"] == "update"]
    assert [(u["command"], u["section"]) for u in updates] == [("modify", "ip-dhcp-host")]


def test_mtu_change_needs_restart_reported_unless_allowed():
    plan = nw.plan_network(normalise_params(params(mtu=9000)), current(), NAT_XML)
    assert [a["op"] for a in plan["actions"]] == ["define"]
    assert plan["restart_required"]
    assert plan["pending"] == ["network/mtu: missing, to be added"]
    plan = nw.plan_network(normalise_params(params(mtu=9000, restart_on_change=True)), current(), NAT_XML)
    assert [a["op"] for a in plan["actions"]] == ["define", "destroy", "start"]
    assert not plan["restart_required"]


def test_turning_dhcp_off_needs_restart():
    plan = nw.plan_network(normalise_params(params(ips=ip_with(dhcp_ranges=[], dhcp_hosts=[]))), current(), NAT_XML)
    assert plan["restart_required"]
    assert plan["pending"] == ["network/ip[203.0.113.241]/dhcp: present, to be removed"]


def test_inactive_network_change_only_redefines():
    plan = nw.plan_network(normalise_params(params(mtu=9000, state="present")), current(active=False))
    assert [a["op"] for a in plan["actions"]] == ["define"]
    assert not plan["restart_required"]


def test_mode_change_keeps_generated_bits_and_restarts_when_allowed():
    plan = nw.plan_network(normalise_params(params(mode="route", restart_on_change=True)), current(), NAT_XML)
    merged = xs.parse(plan["actions"][0]["xml"])
    assert merged.find("forward").get("mode") == "route"
    assert merged.find("mac").get("address") == "52:54:00:AA:B6:E4"
    assert [a["op"] for a in plan["actions"]] == ["define", "destroy", "start"]


def test_isolated_removes_forward():
    plan = nw.plan_network(normalise_params(params(mode="isolated", state="present")), current(active=False))
    assert xs.parse(plan["actions"][0]["xml"]).find("forward") is None


def test_ovs_portgroups_exact_and_live():
    desired = normalise_params(
        ovs_params(
            portgroups=[
                {"name": "vlan10", "default": True, "vlan": 10},
                {"name": "router", "trunk": [10, 20], "native_vlan": 30},
            ]
        )
    )
    plan = nw.plan_network(desired, current(OVS_XML), OVS_XML)
    assert [a["text"] for a in plan["actions"]] == ["update definition", "live: add portgroup name=router"]
    xml = plan["actions"][1]["update"]["xml"]
    assert xml == (
        '<portgroup name="router"><vlan trunk="yes"><tag id="10"/><tag id="20"/>'
        '<tag id="30" nativeMode="untagged"/></vlan></portgroup>'
    )
    assert not plan["restart_required"]


def test_portgroup_vlan_change_modifies_it():
    desired = normalise_params(ovs_params(portgroups=[{"name": "vlan10", "default": True, "vlan": 11}]))
    plan = nw.plan_network(desired, current(OVS_XML), OVS_XML)
    updates = [a["update"] for a in plan["actions"] if a["op"] == "update"]
    assert [(u["command"], u["section"]) for u in updates] == [("modify", "portgroup")]
    assert plan["changes"] == [
        'network/portgroup[vlan10]: <portgroup name="vlan10" default="yes"><vlan><tag id="10"/></vlan></portgroup>'
        ' -> <portgroup name="vlan10" default="yes"><vlan><tag id="11"/></vlan></portgroup>'
    ]


def test_ovs_to_linux_bridge_drops_virtualport_and_needs_restart():
    desired = normalise_params(ovs_params(openvswitch=False, portgroups=[]))
    plan = nw.plan_network(desired, current(OVS_XML), OVS_XML)
    merged = xs.parse(plan["actions"][0]["xml"])
    assert merged.find("virtualport") is None
    assert merged.find("portgroup") is None
    assert plan["restart_required"]


def test_absent():
    desired = normalise_params(params(state="absent"))
    assert [a["op"] for a in nw.plan_network(desired, current())["actions"]] == ["destroy", "undefine"]
    assert nw.plan_network(desired, None)["actions"] == []


def test_uuid_cannot_change():
    with pytest.raises(KvmopsError, match="uuid cannot change"):
        nw.plan_network(normalise_params(params(uuid="0c2d8b0e-62a3-4c43-9c53-3f3a1a9b2d11")), current(), NAT_XML)


def test_summary_and_subnets():
    assert nw.defined_subnets(NAT_XML) == ["203.0.113.240/28"]
    info = nw.summary(OVS_XML)
    assert (info["mode"], info["bridge"], info["openvswitch"], info["portgroups"]) == (
        "bridge",
        "br-prod",
        True,
        ["vlan10"],
    )
