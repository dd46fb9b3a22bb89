#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_bridge
short_description: Manage Open vSwitch bridges
version_added: 0.1.0
description:
  - Makes an Open vSwitch bridge present with the given datapath type, fail mode, MTU, spanning tree
    settings, C(other_config) and C(external_ids), or absent.
  - Settings left out are kept as they are. In O(other_config) and O(external_ids), the keys given are set,
    keys given as null are removed and other keys are kept.
  - The module reads the switch with C(ovs-vsctl --format=json), decides every command up front and applies
    them in one C(ovs-vsctl) transaction, so a run changes everything or nothing.
  - Ports are managed with M(kvmops.kvm.ovs_port); removing a bridge removes its ports.
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
  diff_mode:
    support: full
    details:
      - Shows the bridge's settings and port names before and after.
  platform:
    support: full
    platforms: posix
options:
  name:
    description:
      - Name of the bridge; also the name of its local (internal) interface, so at most 15 characters.
    type: str
    required: true
  state:
    description:
      - V(present) creates the bridge if needed and applies the settings given.
      - V(absent) deletes the bridge with all its ports.
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - V(system) is the Linux kernel datapath, V(netdev) the userspace datapath (DPDK, or hosts without the
        C(openvswitch) kernel module).
      - Left out, a new bridge gets Open vSwitch's default, V(system).
      - Changing it on an existing bridge makes C(ovs-vswitchd) recreate the bridge's datapath, which
        interrupts its traffic briefly.
    type: str
    choices: [system, netdev]
  fail_mode:
    description:
      - What the bridge does without an OpenFlow controller. V(standalone) (the Open vSwitch default) switches
        like a learning switch; V(secure) forwards nothing until a controller or flows are set up.
      - A new bridge gets the mode written into its C(fail_mode) column. On an existing bridge an empty column
        counts as V(standalone), so V(standalone) does not change it.
    type: str
    choices: [standalone, secure]
  mtu:
    description:
      - MTU requested for the bridge's local interface (C(mtu_request) of its Interface row).
      - Ports have their own MTU in M(kvmops.kvm.ovs_port); for jumbo frames set both.
    type: int
  stp:
    description:
      - Enable the classic Spanning Tree Protocol (C(stp_enable)). Excludes O(rstp).
    type: bool
  rstp:
    description:
      - Enable Rapid Spanning Tree (C(rstp_enable)). Excludes O(stp).
    type: bool
  other_config:
    description:
      - Keys of the bridge's C(other_config) column, such as C(hwaddr), C(forward-bpdu) or
        C(mac-aging-time). Values are strings; numbers and booleans are converted (booleans to
        C(true)/C(false)).
      - A key with a null value is removed. Keys not named are kept.
    type: dict
  external_ids:
    description:
      - Keys of the bridge's C(external_ids) column, with the same rules as O(other_config).
    type: dict
notes:
  - Needs C(ovs-vsctl) on the managed host and a running C(ovsdb-server); changes also wait for
    C(ovs-vswitchd) to apply them, up to O(timeout) seconds.
seealso:
  - module: kvmops.kvm.ovs_port
  - module: kvmops.kvm.ovs_info
  - name: Open vSwitch database schema (Bridge table)
    description: What each column means.
    link: https://www.openvswitch.org/support/dist-docs/ovs-vswitchd.conf.db.5.html
"""

EXAMPLES = r"""
- name: A bridge for guest traffic on the kernel datapath, jumbo frames on its local port
  kvmops.kvm.ovs_bridge:
    name: br-vm
    datapath_type: system
    fail_mode: standalone
    mtu: 9000
    external_ids:
      owner: kvmops

- name: A userspace (netdev) bridge with RSTP
  kvmops.kvm.ovs_bridge:
    name: br-lab
    datapath_type: netdev
    rstp: true

- name: Drop a key another tool set
  kvmops.kvm.ovs_bridge:
    name: br-vm
    other_config:
      forward-bpdu: null

- name: Remove a bridge and all its ports
  kvmops.kvm.ovs_bridge:
    name: br-old
    state: absent

- name: Point every OVS module of a play at another database
  module_defaults:
    group/kvmops.kvm.ovs:
      db: unix:/run/openvswitch/db.sock
      timeout: 5
  block:
    - name: The bridge, through the group defaults
      kvmops.kvm.ovs_bridge:
        name: br-vm
"""

RETURN = r"""
commands:
  description:
    - The C(ovs-vsctl) commands of the run's one transaction (in check mode, the commands a real run would
      execute), each as an argument list; empty when nothing changes.
  returned: always
  type: list
  elements: list
  sample: [[add-br, br-vm], [set, Bridge, br-vm, datapath_type=system, fail_mode=standalone]]
bridge:
  description: The bridge after the run (in check mode, as the run would leave it).
  returned: success
  type: dict
  contains:
    name:
      description: Bridge name.
      type: str
      sample: br-vm
    state:
      description: V(present) or V(absent); the other keys are only returned for a present bridge.
      type: str
      sample: present
    datapath_type:
      description: V(system) or V(netdev).
      type: str
      sample: system
    fail_mode:
      description: V(standalone), V(secure), or null when unset (which means standalone).
      type: str
      sample: standalone
    stp:
      description: Whether STP is enabled.
      type: bool
      sample: false
    rstp:
      description: Whether RSTP is enabled.
      type: bool
      sample: false
    mtu:
      description: MTU requested for the bridge's local interface; null when none is requested.
      type: int
      sample: 9000
    other_config:
      description: The bridge's C(other_config).
      type: dict
      sample: {}
    external_ids:
      description: The bridge's C(external_ids).
      type: dict
      sample: {owner: kvmops}
    ports:
      description: Names of the bridge's ports, without its local port.
      type: list
      elements: str
      sample: [bond0, vm-mgmt]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs import Vsctl
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_manager import manage_bridge

ARGUMENT_SPEC = {
    "db": {"type": "str"},
    "timeout": {"type": "int", "default": 10},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "datapath_type": {"type": "str", "choices": ["system", "netdev"]},
    "fail_mode": {"type": "str", "choices": ["standalone", "secure"]},
    "mtu": {"type": "int"},
    "stp": {"type": "bool"},
    "rstp": {"type": "bool"},
    "other_config": {"type": "dict"},
    "external_ids": {"type": "dict"},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = manage_bridge(Vsctl.from_module(module), module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
