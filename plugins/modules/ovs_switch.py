#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_switch
short_description: Converge many Open vSwitch bridges, bonds and ports in one run and one transaction
version_added: 0.1.0
description:
  - The batched form of M(kvmops.kvm.ovs_bridge) and M(kvmops.kvm.ovs_port) for a whole host's switch.
    Each item has the options and the semantics of those modules; the module reads the switch once, plans
    every item (bridges, then bonds, then ports, each against the state the items before it leave) and
    applies all their commands in one C(ovs-vsctl) transaction, so a run changes everything or nothing.
  - On a converged switch it runs one read-only C(ovs-vsctl) call and nothing else.
  - Items are validated together before anything runs; one failure message names every invalid item
    (names Linux cannot use, VLANs outside 0-4095, contradictory VLAN or bond settings, a name declared twice).
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - kvmops.kvm.ovs_connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    support: full
    membership:
      - kvmops.kvm.ovs
  check_mode:
    support: full
    details:
      - Returns the same C(changed), RV(commands), RV(objects) and diff as the real run and changes nothing;
        the whole transaction is validated against the live database with C(ovs-vsctl --dry-run).
      - A port on a bridge the same run creates is planned exactly (no assumption, no warning).
  diff_mode:
    support: full
    details:
      - One diff entry per changed item, as M(kvmops.kvm.ovs_bridge) and M(kvmops.kvm.ovs_port) show it.
  platform:
    support: full
    platforms: posix
options:
  bridges:
    description:
      - Bridges, with the options of M(kvmops.kvm.ovs_bridge). Planned first, so bonds and ports find them.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Bridge name, at most 15 characters.
        type: str
        required: true
      state:
        description: V(absent) deletes the bridge with all its ports.
        type: str
        choices: [present, absent]
        default: present
      datapath_type:
        description: V(system) (kernel) or V(netdev) (userspace); left out, a new bridge gets V(system).
        type: str
        choices: [system, netdev]
      fail_mode:
        description: Behaviour without an OpenFlow controller; left out, kept.
        type: str
        choices: [standalone, secure]
      mtu:
        description: MTU requested for the bridge's local interface.
        type: int
      stp:
        description: Classic Spanning Tree. Excludes O(bridges[].rstp).
        type: bool
      rstp:
        description: Rapid Spanning Tree. Excludes O(bridges[].stp).
        type: bool
      other_config:
        description: Keys of the bridge's C(other_config); a null value removes a key, keys not named are kept.
        type: dict
      external_ids:
        description: Keys of the bridge's C(external_ids), with the rules of O(bridges[].other_config).
        type: dict
  bonds:
    description:
      - Bond ports, with the options of M(kvmops.kvm.ovs_port) and its O(kvmops.kvm.ovs_port#module:bond)
        settings at the top level of each item. Planned after the bridges.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Port name of the bond.
        type: str
        required: true
      bridge:
        description: The bridge the bond belongs on; with O(bonds[].state=absent), only a bond there is deleted.
        type: str
      state:
        description: V(absent) deletes the bond port.
        type: str
        choices: [present, absent]
        default: present
      interfaces:
        description: The member NICs, at least two; the complete list. Required with O(bonds[].state=present).
        type: list
        elements: str
      mode:
        description: Bond mode; V(balance-tcp) needs LACP. Left out, an existing bond keeps its mode.
        type: str
        choices: [active-backup, balance-slb, balance-tcp]
      lacp:
        description: LACP negotiation with the physical switch.
        type: str
        choices: [active, passive, 'off']
      updelay:
        description: Milliseconds a member's link must be up before it is used.
        type: int
      downdelay:
        description: Milliseconds a member's link must be down before it is dropped.
        type: int
      other_config:
        description: Keys of the port's C(other_config) (C(lacp-time), C(bond-detect-mode)...).
        type: dict
      tag:
        description: Access or native VLAN (0-4095).
        type: int
      trunks:
        description: VLANs the bond carries, numbers or ranges such as V(100-110).
        type: list
        elements: raw
      vlan_mode:
        description: Open vSwitch's C(vlan_mode).
        type: str
        choices: [trunk, access, native-tagged, native-untagged, dot1q-tunnel]
      mtu:
        description: MTU requested for every member.
        type: int
      external_ids:
        description: Keys of the port's C(external_ids).
        type: dict
  ports:
    description:
      - Single-interface ports, with the options of M(kvmops.kvm.ovs_port) (without O(kvmops.kvm.ovs_port#module:bond)).
        Planned last.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Port (and interface) name; at most 15 characters for V(system) and V(internal) ports.
        type: str
        required: true
      bridge:
        description: The bridge; required with O(ports[].state=present). With V(absent), only a port there is deleted.
        type: str
      state:
        description: V(absent) deletes the port.
        type: str
        choices: [present, absent]
        default: present
      type:
        description: Interface type; left out, a new port is V(system) and an existing one keeps its type.
        type: str
        choices: [system, internal, patch, vxlan, geneve]
      peer:
        description: For V(patch), the patch port on the other bridge.
        type: str
      remote_ip:
        description: For V(vxlan) and V(geneve), the remote endpoint.
        type: str
      tunnel_key:
        description: For V(vxlan) and V(geneve), the tunnel key (VNI).
        type: str
      interface_options:
        description: Further keys of the interface's C(options).
        type: dict
      tag:
        description: Access or native VLAN (0-4095).
        type: int
      trunks:
        description: VLANs a trunk port carries, numbers or ranges.
        type: list
        elements: raw
      vlan_mode:
        description: Open vSwitch's C(vlan_mode).
        type: str
        choices: [trunk, access, native-tagged, native-untagged, dot1q-tunnel]
      mtu:
        description: MTU requested for the interface.
        type: int
      other_config:
        description: Keys of the port's C(other_config).
        type: dict
      external_ids:
        description: Keys of the port's C(external_ids).
        type: dict
  info:
    description:
      - Also return RV(info), the switch as it was before the run, in the shape M(kvmops.kvm.ovs_info) returns
        it, from the same read (no extra C(ovs-vsctl) call).
    type: bool
    default: false
notes:
  - The VLAN settings of a port or bond (O(ports[].tag), O(ports[].trunks), O(ports[].vlan_mode)) are owned
    as a group, as with M(kvmops.kvm.ovs_port); other settings left out are kept.
seealso:
  - module: kvmops.kvm.ovs_bridge
  - module: kvmops.kvm.ovs_port
  - module: kvmops.kvm.ovs_info
"""

EXAMPLES = r"""
- name: A host's whole switch in one task
  kvmops.kvm.ovs_switch:
    bridges:
      - name: br-vm
        fail_mode: standalone
        mtu: 9000
    bonds:
      - name: bond0
        bridge: br-vm
        interfaces: [eno1, eno2]
        mode: balance-tcp
        lacp: active
        trunks: [10, 20, 100-110]
        mtu: 9000
    ports:
      - name: mgmt0
        bridge: br-vm
        type: internal
        tag: 20
        mtu: 9000

- name: Predict the changes first (and read the switch as it is)
  kvmops.kvm.ovs_switch:
    bridges: [{name: br-vm}]
    info: true
  check_mode: true
  register: switch_plan
"""

RETURN = r"""
commands:
  description:
    - The C(ovs-vsctl) commands of the run's one transaction (in check mode, the commands a real run would
      execute), in order; empty when nothing changes.
  returned: always
  type: list
  elements: list
  sample: [[add-br, br-vm], [add-port, br-vm, mgmt0], [set, Interface, mgmt0, type=internal]]
objects:
  description: One entry per bridge, bond and port, in the order they were planned.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: V(bridge), V(bond) or V(port).
      type: str
      sample: port
    name:
      description: The item's name.
      type: str
      sample: mgmt0
    changed:
      description: Whether the run changes (check mode, would change) this item.
      type: bool
      sample: true
    commands:
      description: This item's share of RV(commands).
      type: list
      elements: list
      sample: [[add-port, br-vm, mgmt0], [set, Interface, mgmt0, type=internal]]
    state:
      description: V(present) or V(absent) after the run.
      type: str
      sample: present
    after:
      description:
        - The item after the run (in check mode, as the run would leave it), as the C(bridge) result of
          M(kvmops.kvm.ovs_bridge) or the C(port) result of M(kvmops.kvm.ovs_port) shows it.
      type: dict
      sample: {name: mgmt0, bridge: br-vm, state: present, tag: 20}
changed_items:
  description: Names of the items the run changes (check mode, would change), in order.
  returned: always
  type: list
  elements: str
  sample: [mgmt0]
info:
  description:
    - The switch before the run, with the keys M(kvmops.kvm.ovs_info) returns (C(ovs_version),
      C(datapath_types), C(bridges), C(ports), C(interfaces), C(vlans), C(bonds)).
  returned: when O(info=true)
  type: dict
  sample: {datapath_types: [netdev, system], bridges: [], ports: [], interfaces: []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs import Vsctl
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_manager import manage_switch

_VLAN_SPEC = {
    "tag": {"type": "int"},
    "trunks": {"type": "list", "elements": "raw"},
    "vlan_mode": {"type": "str", "choices": ["trunk", "access", "native-tagged", "native-untagged", "dot1q-tunnel"]},
    "mtu": {"type": "int"},
    "other_config": {"type": "dict"},
    "external_ids": {"type": "dict"},
}
_STATE = {"type": "str", "choices": ["present", "absent"], "default": "present"}
BRIDGE_SPEC = {
    "name": {"type": "str", "required": True},
    "state": _STATE,
    "datapath_type": {"type": "str", "choices": ["system", "netdev"]},
    "fail_mode": {"type": "str", "choices": ["standalone", "secure"]},
    "mtu": {"type": "int"},
    "stp": {"type": "bool"},
    "rstp": {"type": "bool"},
    "other_config": {"type": "dict"},
    "external_ids": {"type": "dict"},
}
BOND_SPEC = {
    "name": {"type": "str", "required": True},
    "bridge": {"type": "str"},
    "state": _STATE,
    "interfaces": {"type": "list", "elements": "str"},
    "mode": {"type": "str", "choices": ["active-backup", "balance-slb", "balance-tcp"]},
    "lacp": {"type": "str", "choices": ["active", "passive", "off"]},
    "updelay": {"type": "int"},
    "downdelay": {"type": "int"},
    **_VLAN_SPEC,
}
PORT_SPEC = {
    "name": {"type": "str", "required": True},
    "bridge": {"type": "str"},
    "state": _STATE,
    "type": {"type": "str", "choices": ["system", "internal", "patch", "vxlan", "geneve"]},
    "peer": {"type": "str"},
    "remote_ip": {"type": "str"},
    "tunnel_key": {"type": "str", "no_log": False},
    "interface_options": {"type": "dict"},
    **_VLAN_SPEC,
}
ARGUMENT_SPEC = {
    "db": {"type": "str"},
    "timeout": {"type": "int", "default": 10},
    "bridges": {"type": "list", "elements": "dict", "default": [], "options": BRIDGE_SPEC},
    "bonds": {"type": "list", "elements": "dict", "default": [], "options": BOND_SPEC},
    "ports": {"type": "list", "elements": "dict", "default": [], "options": PORT_SPEC},
    "info": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = manage_switch(Vsctl.from_module(module), module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
