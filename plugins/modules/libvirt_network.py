#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_network
short_description: Define, start and update libvirt networks (isolated, NAT, routed, open, Linux or Open vSwitch bridge)
version_added: 0.1.0
description:
  - Makes a libvirt network defined, running or stopped, with autostart, or removes it.
  - Modes V(isolated), V(nat), V(route) and V(open) make libvirt run its own bridge (and dnsmasq for DHCP);
    V(bridge) attaches guests to an existing host bridge, a Linux bridge or, with O(openvswitch), an Open vSwitch
    bridge whose portgroups carry VLAN tags or trunks.
  - Addresses, DHCP ranges and static hosts are validated with netaddr before libvirt is asked anything
    (ranges and hosts inside their subnet, not the network's own, network or broadcast address, no overlaps),
    and the subnets must not overlap those of any other network libvirt has defined.
  - The persistent definition is compared semantically with libvirt's (what libvirt fills in, such as the MAC,
    the uuid or a generated bridge name, is kept) and written only when something managed differs.
  - A running network gets changed DHCP hosts, DHCP ranges and portgroups at once (C(virNetworkUpdate));
    other changes need a restart, which disconnects the guests' interfaces, so it is done only with
    O(restart_on_change) and otherwise reported in RV(restart_required) and RV(pending_changes).
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - kvmops.kvm.libvirt_connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    support: full
    membership:
      - kvmops.kvm.libvirt
  check_mode:
    support: full
    details:
      - Returns the same C(changed), C(actions), C(changes), C(restart_required), C(pending_changes) and diff as
        the real run, and changes nothing.
  diff_mode:
    support: full
    details:
      - Shows run state, autostart and the normalised network XML before and after.
  platform:
    support: full
    platforms: posix
requirements:
  - lxml
  - netaddr
options:
  name:
    description:
      - Name of the network.
    type: str
    required: true
  uuid:
    description:
      - UUID of a new network; an existing network's uuid cannot change. Left out, libvirt generates one.
    type: str
  state:
    description:
      - V(present) defines the network and leaves an existing one running or stopped (a new one stays stopped).
        V(active) defines and starts it, V(inactive) defines and stops it, V(absent) stops and undefines it.
    type: str
    choices: [present, active, inactive, absent]
    default: present
  autostart:
    description:
      - Whether libvirt starts the network with the daemon. Left out, it is not changed (a new network gets none).
    type: bool
  mode:
    description:
      - V(isolated) guests reach each other and the host only. V(nat) adds masquerading out of the host,
        V(route) plain routing, V(open) routing without any firewall rules from libvirt.
        V(bridge) uses the existing host bridge O(bridge).
      - Required to define a network; left out, only the run state and autostart of an existing one are managed.
    type: str
    choices: [isolated, nat, route, open, bridge]
  bridge:
    description:
      - Mode V(bridge), the existing host bridge (Linux or Open vSwitch). Other modes, the name of the bridge
        libvirt creates (left out, libvirt picks C(virbrN)); at most 15 characters.
    type: str
  openvswitch:
    description:
      - Mode V(bridge) only, O(bridge) is an Open vSwitch bridge (C(<virtualport type='openvswitch'/>)).
        Needed for VLAN tags in O(portgroups).
    type: bool
    default: false
  forward_dev:
    description:
      - Modes V(nat) and V(route), the host interface traffic leaves through. Left out, an existing setting is kept.
    type: str
  mtu:
    description:
      - MTU of the bridge libvirt creates, and of the guests' tap devices. Left out, an existing setting is kept.
    type: int
  domain:
    description:
      - DNS domain dnsmasq serves the guests' names in. Not for mode V(bridge). Left out, an existing setting is kept.
    type: str
  ips:
    description:
      - Addresses of the network's bridge on the host, each with its DHCP service. When given, the set is owned,
        so addresses not listed are removed. Not for mode V(bridge).
      - At most one IPv4 and one IPv6 entry may serve DHCP (a libvirt limit).
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - The host's address with its prefix length, such as V(203.0.113.1/24) or V(2001:db8::1/64).
        type: str
        required: true
      dhcp_ranges:
        description:
          - Address ranges dnsmasq leases from. Each must lie inside the subnet, not contain the host's own
            address, and not overlap another. The set is owned; an empty list (and no O(ips[].dhcp_hosts))
            turns DHCP off.
        type: list
        elements: dict
        default: []
        suboptions:
          start:
            description:
              - First address of the range.
            type: str
            required: true
          end:
            description:
              - Last address of the range.
            type: str
            required: true
      dhcp_hosts:
        description:
          - Static leases. Each address must be inside the subnet and unique, each MAC unique. The set is owned.
        type: list
        elements: dict
        default: []
        suboptions:
          mac:
            description:
              - MAC address of the guest NIC; required for IPv4. Quote it in YAML.
            type: str
          name:
            description:
              - Host name served by DNS; required for IPv6.
            type: str
          ip:
            description:
              - The fixed address.
            type: str
            required: true
  portgroups:
    description:
      - Named sets of port settings guest interfaces pick with C(portgroup). When given, the set is owned.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the portgroup, unique within the network.
        type: str
        required: true
      default:
        description:
          - Whether interfaces without a portgroup get this one. At most one portgroup may be the default.
        type: bool
        default: false
      vlan:
        description:
          - VLAN id (0-4095) of an access port. Needs O(openvswitch). Mutually exclusive with O(portgroups[].trunk).
        type: int
      trunk:
        description:
          - VLAN ids (0-4095) carried tagged, as a trunk. Needs O(openvswitch).
        type: list
        elements: int
      native_vlan:
        description:
          - VLAN of O(portgroups[].trunk) carried untagged; added to the trunk if it is not in it.
        type: int
  restart_on_change:
    description:
      - Restart a running network whose changes cannot be applied live. The restart disconnects the tap devices
        of running guests from the bridge until they are re-attached (or the guests restarted).
      - Left V(false), those changes are written to the definition only, and reported.
    type: bool
    default: false
notes:
  - VLAN tags on a Linux bridge are refused, because libvirt tags guest ports on Open vSwitch bridges only.
seealso:
  - module: kvmops.kvm.libvirt_domain
  - name: libvirt network XML format
    description: The definitions this module writes and reads.
    link: https://libvirt.org/formatnetwork.html
"""

EXAMPLES = r"""
- name: A NAT network with DHCP and two fixed leases
  kvmops.kvm.libvirt_network:
    name: guests
    mode: nat
    bridge: virbr-guests
    domain: guests.example.org
    ips:
      - address: 203.0.113.1/24
        dhcp_ranges:
          - {start: 203.0.113.100, end: 203.0.113.199}
        dhcp_hosts:
          - {mac: "52:54:00:00:10:01", name: web1, ip: 203.0.113.11}
          - {mac: "52:54:00:00:10:02", name: web2, ip: 203.0.113.12}
    state: active
    autostart: true

- name: Guests on an Open vSwitch bridge, one portgroup per VLAN and a trunk
  kvmops.kvm.libvirt_network:
    name: ovs-prod
    mode: bridge
    bridge: br-prod
    openvswitch: true
    portgroups:
      - {name: vlan10, vlan: 10, default: true}
      - {name: vlan20, vlan: 20}
      - {name: router, trunk: [10, 20, 30], native_vlan: 10}
    state: active
    autostart: true

- name: Guests bridged onto the host's Linux bridge br0
  kvmops.kvm.libvirt_network:
    name: lan
    mode: bridge
    bridge: br0
    state: active
    autostart: true

- name: Change the MTU and restart the network to apply it
  kvmops.kvm.libvirt_network:
    name: guests
    mode: nat
    mtu: 9000
    state: active
    restart_on_change: true
"""

RETURN = r"""
actions:
  description: What the run did (or, in check mode, would do), in order; C(live:) entries are changes made to the
    running network without a restart.
  returned: always
  type: list
  elements: str
  sample: [update definition, "live: add dhcp host mac=52:54:00:00:10:03 ip=203.0.113.13"]
changes:
  description: Differences of the persistent definition that made the run update it, one readable line each.
  returned: always
  type: list
  elements: str
  sample: ["network/mtu@size: '1500' -> '9000'"]
restart_required:
  description: Whether the running network differs from its definition in ways only a restart applies, and was
    not restarted.
  returned: always
  type: bool
  sample: false
pending_changes:
  description: Those differences (also filled when O(restart_on_change) restarted the network for them).
  returned: always
  type: list
  elements: str
  sample: []
network:
  description: The network after the run (its running form when active); null when it does not exist. In check
    mode, the network before the run.
  returned: success
  type: dict
  contains:
    name:
      description: Network name.
      type: str
      sample: guests
    uuid:
      description: libvirt's uuid of the network.
      type: str
      sample: 47c39b88-d5f4-45cf-97e9-5b77db231c0b
    state:
      description: V(active) or V(inactive).
      type: str
      sample: active
    autostart:
      description: Whether the network starts with the daemon.
      type: bool
      sample: true
    mode:
      description: Forward mode, V(isolated) when there is none.
      type: str
      sample: nat
    bridge:
      description: Bridge name.
      type: str
      sample: virbr-guests
    openvswitch:
      description: Whether the bridge is an Open vSwitch bridge.
      type: bool
      sample: false
    mtu:
      description: MTU, null when libvirt's default applies.
      type: int
      sample: null
    ips:
      description: Host addresses with prefix length.
      type: list
      elements: str
      sample: [203.0.113.1/24]
    portgroups:
      description: Names of the portgroups.
      type: list
      elements: str
      sample: []
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_network import manage_network
from ansible_collections.kvmops.kvm.plugins.module_utils._network_spec import HAS_NETADDR, NETADDR_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._xml_subset import HAS_LXML, LXML_IMPORT_ERROR

ARGUMENT_SPEC = {
    "uri": {"type": "str", "default": "qemu:///system"},
    "name": {"type": "str", "required": True},
    "uuid": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "active", "inactive", "absent"], "default": "present"},
    "autostart": {"type": "bool"},
    "mode": {"type": "str", "choices": ["isolated", "nat", "route", "open", "bridge"]},
    "bridge": {"type": "str"},
    "openvswitch": {"type": "bool", "default": False},
    "forward_dev": {"type": "str"},
    "mtu": {"type": "int"},
    "domain": {"type": "str"},
    "ips": {
        "type": "list",
        "elements": "dict",
        "options": {
            "address": {"type": "str", "required": True},
            "dhcp_ranges": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {"start": {"type": "str", "required": True}, "end": {"type": "str", "required": True}},
            },
            "dhcp_hosts": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "mac": {"type": "str"},
                    "name": {"type": "str"},
                    "ip": {"type": "str", "required": True},
                },
            },
        },
    },
    "portgroups": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "default": {"type": "bool", "default": False},
            "vlan": {"type": "int"},
            "trunk": {"type": "list", "elements": "int"},
            "native_vlan": {"type": "int"},
        },
        "mutually_exclusive": [("vlan", "trunk")],
    },
    "restart_on_change": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    if not HAS_LXML:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    if not HAS_NETADDR:
        module.fail_json(msg=missing_required_lib("netaddr"), exception=NETADDR_IMPORT_ERROR)
    try:
        result = manage_network(module.params["uri"], module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
