#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_port
short_description: Manage Open vSwitch ports, bonds, VLAN access and trunk ports and tunnels
version_added: 0.1.0
description:
  - Makes a port of an Open vSwitch bridge present or absent. A port is a single interface (a physical NIC,
    an internal port for host addresses, a patch port or a VXLAN/Geneve tunnel) or a bond of several NICs
    with optional LACP.
  - B(VLANs.) O(tag), O(trunks) and O(vlan_mode) together are the port's whole VLAN configuration; the ones
    left out are cleared. A port declared without any of them is a trunk carrying every VLAN, as Open
    vSwitch defines it.
  - B(Bonds.) O(bond.interfaces) is the complete member list; members are added and removed in place, so
    the port keeps its settings.
  - Other settings left out are kept. In O(other_config), O(external_ids) and O(interface_options), keys
    given are set, keys given as null removed and other keys kept.
  - A port that exists on another bridge is moved to O(bridge) (deleted and added in the same transaction).
  - The module reads the switch with C(ovs-vsctl --format=json), decides every command up front and applies
    them in one C(ovs-vsctl) transaction, so a run changes everything or nothing.
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
      - Returns the same C(changed), RV(commands) and diff as the real run and changes nothing; the commands
        are validated against the live database with C(ovs-vsctl --dry-run).
      - A port on a bridge that does not exist yet is planned as if an earlier task of the run created the
        bridge (with a warning), so a check run of a playbook that creates both predicts them both.
  diff_mode:
    support: full
    details:
      - Shows the port's bridge, interfaces (type, options, MTU), VLAN and bond settings, C(other_config)
        and C(external_ids) before and after.
  platform:
    support: full
    platforms: posix
options:
  bridge:
    description:
      - The bridge the port belongs on. Required with O(state=present).
      - With O(state=absent), only a port on this bridge is deleted; left out, the port is deleted wherever it is.
    type: str
  name:
    description:
      - Name of the port. For a single-interface port it is also the interface's name, and for V(system) and
        V(internal) ports the Linux device name, so at most 15 characters.
      - A bond port's name is only a name in the database (C(bond0), C(uplink)).
    type: str
    required: true
  state:
    description:
      - V(present) adds the port (or moves it to O(bridge)) and applies the settings; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - Type of the port's interface. V(system) is an existing network device (a NIC), V(internal) a device
        Open vSwitch creates for the host (give it an address), V(patch) a link to a patch port on another
        bridge (O(peer)), V(vxlan) and V(geneve) tunnels to O(remote_ip).
      - Left out, a new port is V(system) and an existing port keeps its type.
      - Not used with O(bond).
    type: str
    choices: [system, internal, patch, vxlan, geneve]
  peer:
    description:
      - For O(type=patch), the patch port on the other bridge (the interface option C(peer)).
    type: str
  remote_ip:
    description:
      - For O(type=vxlan) or O(type=geneve), the tunnel's remote endpoint (the interface option C(remote_ip)),
        or V(flow) to set it from OpenFlow.
    type: str
  tunnel_key:
    description:
      - For O(type=vxlan) or O(type=geneve), the tunnel key (VNI), or V(flow) (the interface option C(key)).
    type: str
  interface_options:
    description:
      - Further keys of the interface's C(options) column, such as C(dst_port) or C(csum) for tunnels.
        Values are strings; numbers and booleans are converted. A null value removes the key.
    type: dict
  tag:
    description:
      - The VLAN (0-4095) of an access port, or the native VLAN with O(vlan_mode=native-tagged) or
        O(vlan_mode=native-untagged).
    type: int
  trunks:
    description:
      - The VLANs a trunk port carries, as numbers or ranges such as V(100-110). Empty or left out (without
        O(tag)), the port carries every VLAN.
    type: list
    elements: raw
  vlan_mode:
    description:
      - Open vSwitch's C(vlan_mode). Left out, a port with O(tag) is an access port and one without is a trunk.
      - V(native-tagged) and V(native-untagged) need O(tag), the native VLAN; V(access) excludes O(trunks).
    type: str
    choices: [trunk, access, native-tagged, native-untagged, dot1q-tunnel]
  bond:
    description:
      - Makes the port a bond over two or more network devices. Excludes O(type), O(peer), O(remote_ip),
        O(tunnel_key) and O(interface_options).
    type: dict
    suboptions:
      interfaces:
        description:
          - The member NICs, at least two. This is the complete list; members not named are removed.
        type: list
        elements: str
        required: true
      mode:
        description:
          - Bond mode (C(bond_mode)). V(balance-tcp) needs LACP.
          - Left out, a new bond gets Open vSwitch's default (V(active-backup)) and an existing one keeps its mode.
        type: str
        choices: [active-backup, balance-slb, balance-tcp]
        aliases: [bond_mode]
      lacp:
        description:
          - LACP negotiation with the physical switch. An empty C(lacp) column counts as V(off).
        type: str
        choices: [active, passive, 'off']
      updelay:
        description:
          - Milliseconds a member's link must be up before it is used (C(bond_updelay)).
        type: int
      downdelay:
        description:
          - Milliseconds a member's link must be down before it is dropped (C(bond_downdelay)).
        type: int
      other_config:
        description:
          - Bond keys of the port's C(other_config), such as C(lacp-time) (V(fast) or V(slow)),
            C(bond-detect-mode) (V(carrier) or V(miimon)), C(bond-miimon-interval), C(lacp-fallback-ab) or
            C(bond-rebalance-interval). Merged with O(other_config); a key in both must have the same value.
        type: dict
  mtu:
    description:
      - MTU requested for the port's interface, or for every member of a bond (C(mtu_request)).
    type: int
  other_config:
    description:
      - Keys of the port's C(other_config) column. Values are strings; numbers and booleans are converted.
        A null value removes the key; keys not named are kept.
    type: dict
  external_ids:
    description:
      - Keys of the port's C(external_ids) column, with the same rules as O(other_config).
    type: dict
notes:
  - Adding a port for a NIC that does not exist succeeds in Open vSwitch (the port waits for the device);
    the module warns with the error C(ovs-vswitchd) recorded for the interface.
  - Moving a NIC that carries the address Ansible connects through into a bridge cuts that connection;
    the P(kvmops.kvm.kvm_ovs#role) role guards against that.
seealso:
  - module: kvmops.kvm.ovs_bridge
  - module: kvmops.kvm.ovs_info
  - name: Open vSwitch database schema (Port and Interface tables)
    description: What each column means.
    link: https://www.openvswitch.org/support/dist-docs/ovs-vswitchd.conf.db.5.html
"""

EXAMPLES = r"""
- name: An LACP bond over two NICs, carrying VLANs 10, 20 and 100-110, jumbo frames
  kvmops.kvm.ovs_port:
    bridge: br-vm
    name: bond0
    bond:
      interfaces: [eno1, eno2]
      mode: balance-tcp
      lacp: active
      other_config:
        lacp-time: fast
        bond-detect-mode: miimon
        bond-miimon-interval: 100
    trunks: [10, 20, 100-110]
    mtu: 9000

- name: A host port on VLAN 20 (give it an address with the distribution's network configuration)
  kvmops.kvm.ovs_port:
    bridge: br-vm
    name: mgmt0
    type: internal
    tag: 20

- name: A trunk with native VLAN 10 untagged
  kvmops.kvm.ovs_port:
    bridge: br-vm
    name: eno3
    tag: 10
    trunks: [20, 30]
    vlan_mode: native-untagged

- name: Connect two bridges with a patch pair
  kvmops.kvm.ovs_port:
    bridge: "{{ item.bridge }}"
    name: "{{ item.name }}"
    type: patch
    peer: "{{ item.peer }}"
  loop:
    - {bridge: br-vm, name: patch-to-ext, peer: patch-to-vm}
    - {bridge: br-ext, name: patch-to-vm, peer: patch-to-ext}

- name: A VXLAN tunnel with VNI 5001
  kvmops.kvm.ovs_port:
    bridge: br-vm
    name: vx-hv2
    type: vxlan
    remote_ip: 198.51.100.12
    tunnel_key: "5001"

- name: Remove a port
  kvmops.kvm.ovs_port:
    name: eno3
    state: absent
"""

RETURN = r"""
commands:
  description:
    - The C(ovs-vsctl) commands of the run's one transaction (in check mode, the commands a real run would
      execute), each as an argument list; empty when nothing changes.
  returned: always
  type: list
  elements: list
  sample: [[add-bond, br-vm, bond0, eno1, eno2], [set, Port, bond0, bond_mode=balance-tcp, lacp=active]]
port:
  description: The port after the run (in check mode, as the run would leave it).
  returned: success
  type: dict
  contains:
    name:
      description: Port name.
      type: str
      sample: bond0
    state:
      description: V(present) or V(absent); the other keys are only returned for a present port.
      type: str
      sample: present
    bridge:
      description: The bridge the port is on.
      type: str
      sample: br-vm
    interfaces:
      description: The port's interfaces by name, each with C(type), C(options) and C(mtu) (the requested MTU).
      type: dict
      sample: {eno1: {type: system, options: {}, mtu: 9000}, eno2: {type: system, options: {}, mtu: 9000}}
    tag:
      description: Access or native VLAN; null when none.
      type: int
      sample: 20
    trunks:
      description: VLANs of a trunk port; empty means every VLAN.
      type: list
      elements: int
      sample: [10, 20]
    vlan_mode:
      description: The C(vlan_mode) column; null when unset.
      type: str
      sample: native-untagged
    bond_mode:
      description: Bond mode; only for bonds.
      type: str
      sample: balance-tcp
    lacp:
      description: LACP mode, null when unset (off); only for bonds.
      type: str
      sample: active
    bond_updelay:
      description: Up delay in milliseconds; only for bonds.
      type: int
      sample: 0
    bond_downdelay:
      description: Down delay in milliseconds; only for bonds.
      type: int
      sample: 0
    other_config:
      description: The port's C(other_config).
      type: dict
      sample: {lacp-time: fast}
    external_ids:
      description: The port's C(external_ids).
      type: dict
      sample: {}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs import Vsctl
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_manager import manage_port

BOND_SPEC = {
    "interfaces": {"type": "list", "elements": "str", "required": True},
    "mode": {"type": "str", "choices": ["active-backup", "balance-slb", "balance-tcp"], "aliases": ["bond_mode"]},
    "lacp": {"type": "str", "choices": ["active", "passive", "off"]},
    "updelay": {"type": "int"},
    "downdelay": {"type": "int"},
    "other_config": {"type": "dict"},
}

ARGUMENT_SPEC = {
    "db": {"type": "str"},
    "timeout": {"type": "int", "default": 10},
    "bridge": {"type": "str"},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "type": {"type": "str", "choices": ["system", "internal", "patch", "vxlan", "geneve"]},
    "peer": {"type": "str"},
    "remote_ip": {"type": "str"},
    "tunnel_key": {"type": "str", "no_log": False},
    "interface_options": {"type": "dict"},
    "tag": {"type": "int"},
    "trunks": {"type": "list", "elements": "raw"},
    "vlan_mode": {
        "type": "str",
        "choices": ["trunk", "access", "native-tagged", "native-untagged", "dot1q-tunnel"],
    },
    "bond": {"type": "dict", "options": BOND_SPEC},
    "mtu": {"type": "int"},
    "other_config": {"type": "dict"},
    "external_ids": {"type": "dict"},
}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        supports_check_mode=True,
        required_if=[("state", "present", ("bridge",)), ("type", "patch", ("peer",))],
        mutually_exclusive=[
            ("bond", "type"),
            ("bond", "peer"),
            ("bond", "remote_ip"),
            ("bond", "tunnel_key"),
            ("bond", "interface_options"),
        ],
    )
    try:
        result = manage_port(Vsctl.from_module(module), module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
