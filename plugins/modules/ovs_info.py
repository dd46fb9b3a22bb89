#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_info
short_description: Read Open vSwitch bridges, ports, interfaces, VLANs and bond status
version_added: 0.1.0
description:
  - Returns the Open vSwitch configuration and status of the managed host from one read of its database
    (C(ovs-vsctl --format=json)), namely bridges, ports, interfaces, which ports carry each VLAN, and bonds with
    the link and LACP state of each member.
  - Status columns (link state, LACP, the active bond member, interface errors) are what C(ovs-vswitchd)
    last wrote into the database.
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
      - This module only reads, so check mode returns exactly what a normal run returns.
  diff_mode:
    support: N/A
    details:
      - This module does not change anything.
  platform:
    support: full
    platforms: posix
options:
  bridge:
    description:
      - Only this bridge, its ports, interfaces, VLANs and bonds. A bridge that does not exist gives empty lists.
    type: str
seealso:
  - module: kvmops.kvm.ovs_bridge
  - module: kvmops.kvm.ovs_port
"""

EXAMPLES = r"""
- name: Read the switch
  kvmops.kvm.ovs_info:
  register: ovs

- name: Fail when a bond member is down
  ansible.builtin.assert:
    that: ovs.bonds | map(attribute='members') | flatten | selectattr('link_state', 'ne', 'up') | list | length == 0

- name: Ports carrying VLAN 20 on br-vm
  ansible.builtin.debug:
    msg: "{{ ovs.vlans | selectattr('bridge', 'eq', 'br-vm') | selectattr('id', 'eq', 20) | first }}"
"""

RETURN = r"""
ovs_version:
  description: Version of Open vSwitch that last wrote the database.
  returned: success
  type: str
  sample: 3.1.0
db_version:
  description: Schema version of the database.
  returned: success
  type: str
  sample: 8.3.1
datapath_types:
  description: Datapath types ovs-vswitchd supports.
  returned: success
  type: list
  elements: str
  sample: [netdev, system]
iface_types:
  description: Interface types ovs-vswitchd supports.
  returned: success
  type: list
  elements: str
  sample: [geneve, internal, patch, system, vxlan]
system_id:
  description: The C(system-id) in the Open_vSwitch table's C(external_ids); null when unset.
  returned: success
  type: str
  sample: 0a0207f5-0c9d-4f38-b3b2-2df827e2973c
bridges:
  description: One entry per bridge, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Bridge name.
      type: str
    datapath_type:
      description: V(system) or V(netdev).
      type: str
    datapath_id:
      description: OpenFlow datapath ID.
      type: str
    fail_mode:
      description: V(standalone), V(secure), or null (standalone).
      type: str
    stp:
      description: STP enabled.
      type: bool
    rstp:
      description: RSTP enabled.
      type: bool
    mtu:
      description: Current MTU of the bridge's local interface.
      type: int
    mtu_request:
      description: Requested MTU of the local interface; null when none.
      type: int
    other_config:
      description: C(other_config) column.
      type: dict
    external_ids:
      description: C(external_ids) column.
      type: dict
    ports:
      description: Names of its ports, including the local port.
      type: list
      elements: str
  sample:
    - {name: br-vm, datapath_type: system, datapath_id: 0000a2b5c3d4e5f6, fail_mode: null, stp: false, rstp: false,
       mtu: 9000, mtu_request: 9000, other_config: {}, external_ids: {}, ports: [bond0, br-vm, mgmt0]}
ports:
  description: One entry per port, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Port name.
      type: str
    bridge:
      description: Its bridge.
      type: str
    type:
      description: V(bond) for a port with several interfaces, else its interface's type.
      type: str
    interfaces:
      description: Names of its interfaces.
      type: list
      elements: str
    tag:
      description: Access or native VLAN; null when none.
      type: int
    trunks:
      description: Trunked VLANs; empty means all.
      type: list
      elements: int
    vlan_mode:
      description: C(vlan_mode); null when unset.
      type: str
    bond:
      description: For bonds, the same entry as in RV(bonds) without name and bridge; null otherwise.
      type: dict
    other_config:
      description: C(other_config) column.
      type: dict
    external_ids:
      description: C(external_ids) column.
      type: dict
interfaces:
  description: One entry per interface, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Interface name.
      type: str
    port:
      description: Its port.
      type: str
    bridge:
      description: Its bridge.
      type: str
    type:
      description: V(system), V(internal), V(patch), V(vxlan)...
      type: str
    options:
      description: C(options) column (C(peer), C(remote_ip), ...).
      type: dict
    mtu:
      description: Current MTU; null for interfaces without one (patch ports).
      type: int
    mtu_request:
      description: Requested MTU; null when none.
      type: int
    ofport:
      description: OpenFlow port number; -1 when ovs-vswitchd could not set the interface up.
      type: int
    error:
      description: Why ovs-vswitchd could not set the interface up; null when it could.
      type: str
    admin_state:
      description: V(up) or V(down).
      type: str
    link_state:
      description: V(up) or V(down).
      type: str
    link_speed:
      description: Bits per second, when the device reports it.
      type: int
    mac_in_use:
      description: MAC address in use.
      type: str
    lacp_current:
      description: Whether LACP is current on a bond member; null without LACP.
      type: bool
    external_ids:
      description: C(external_ids) column (libvirt writes C(iface-id), C(attached-mac) and C(vm-id) here).
      type: dict
vlans:
  description:
    - One entry per bridge and VLAN that some port's tag or trunks name, sorted by bridge and VLAN.
    - Ports without tag and trunks carry every VLAN and are not listed.
  returned: success
  type: list
  elements: dict
  contains:
    bridge:
      description: Bridge name.
      type: str
    id:
      description: VLAN ID.
      type: int
    access_ports:
      description: Ports with this VLAN as their access tag.
      type: list
      elements: str
    trunk_ports:
      description: Ports trunking this VLAN (including as their native VLAN).
      type: list
      elements: str
  sample: [{bridge: br-vm, id: 20, access_ports: [mgmt0, vnet3], trunk_ports: [bond0]}]
bonds:
  description: One entry per bond (a port with several interfaces), sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Bond (port) name.
      type: str
    bridge:
      description: Its bridge.
      type: str
    mode:
      description: Bond mode; null when unset.
      type: str
    lacp:
      description: V(active), V(passive) or V(off).
      type: str
    updelay:
      description: Up delay in milliseconds.
      type: int
    downdelay:
      description: Down delay in milliseconds.
      type: int
    lacp_time:
      description: C(other_config:lacp-time), V(slow) when unset.
      type: str
    detect_mode:
      description: C(other_config:bond-detect-mode), V(carrier) when unset.
      type: str
    active_member:
      description: The member the bond sends on in active-backup mode (by its MAC); null when unknown.
      type: str
    members:
      description: Each member's C(name), C(link_state), C(admin_state), C(lacp_current), C(mtu) and C(error).
      type: list
      elements: dict
  sample:
    - name: bond0
      bridge: br-vm
      mode: balance-tcp
      lacp: active
      updelay: 0
      downdelay: 0
      lacp_time: fast
      detect_mode: carrier
      active_member: null
      members:
        - {name: eno1, link_state: up, admin_state: up, lacp_current: true, mtu: 9000, error: null}
        - {name: eno2, link_state: up, admin_state: up, lacp_current: true, mtu: 9000, error: null}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs import Vsctl
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_manager import gather_info

ARGUMENT_SPEC = {
    "db": {"type": "str"},
    "timeout": {"type": "int", "default": 10},
    "bridge": {"type": "str"},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = gather_info(Vsctl.from_module(module), module.params)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
