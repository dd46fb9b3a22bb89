#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: systemd_units
short_description: Enable, start, stop or mask many systemd units in one module run
version_added: 0.1.0
description:
  - Reads the state of every listed unit with one C(systemctl show), plans what differs, and makes one
    C(systemctl) call per kind of action (unmask, enable, disable, mask, stop, start), in that order.
    A role that keeps ten units enabled and running costs one remote module run on a converged host
    instead of one per unit.
  - Restarts and reloads are not states; keep them in handlers (M(ansible.builtin.systemd_service)).
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Plans from the units' current state and runs nothing that changes them; C(daemon_reload) is skipped.
  diff_mode:
    support: full
    details:
      - One diff per changed unit, C(enabled/active) before and after.
  platform:
    support: full
    platforms: posix
options:
  units:
    description:
      - The units and what to make true of each. A unit may appear only once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Full unit name with its suffix, for example V(libvirtd.socket).
        type: str
        required: true
      enabled:
        description:
          - Whether the unit starts at boot. Omitted leaves it as it is. C(static), C(indirect), C(generated)
            and C(alias) units count as enabled.
        type: bool
      state:
        description:
          - V(started) or V(stopped). Omitted leaves it as it is. A unit that is activating counts as started.
        type: str
        choices: [started, stopped]
      masked:
        description:
          - Mask or unmask the unit. Omitted leaves it as it is. A masked unit cannot be enabled or started.
        type: bool
      if_exists:
        description:
          - A unit systemd does not know (C(not-found)) is skipped and reported with C(exists=false) instead
            of failing the call. For units of another package or layout that may or may not be installed.
        type: bool
        default: false
  daemon_reload:
    description:
      - Run C(systemctl daemon-reload) before reading the units, for example when unit files or drop-ins
        changed earlier in the play. Skipped in check mode.
    type: bool
    default: false
seealso:
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: The libvirt sockets and daemons enabled and running, the other layout stopped
  kvmops.kvm.systemd_units:
    units:
      - {name: virtqemud.socket, enabled: false, state: stopped, if_exists: true}
      - {name: libvirtd.socket, enabled: true, state: started}
      - {name: libvirtd-ro.socket, enabled: true, state: started}
      - {name: virtlogd.service, enabled: true, state: started}
      - {name: libvirtd.service, enabled: true, state: started}
"""

RETURN = r"""
changed_units:
  description: Names of the units changed (in check mode, that would change), in the order of O(units).
  returned: success
  type: list
  elements: str
  sample: [libvirtd.socket]
units:
  description:
    - Per unit, its state before the run, whether it changed and the actions taken (or planned).
    - C(skipped) is true for an O(units[].if_exists) unit systemd does not know.
  returned: success
  type: dict
  sample:
    libvirtd.socket:
      exists: true
      load_state: loaded
      active_state: inactive
      sub_state: dead
      unit_file_state: disabled
      changed: true
      actions: [enable, start]
"""

# Imports follow the documentation blocks, as validate-modules requires.
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._systemd import manage_units

ARGUMENT_SPEC = {
    "units": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "enabled": {"type": "bool"},
            "state": {"type": "str", "choices": ["started", "stopped"]},
            "masked": {"type": "bool"},
            "if_exists": {"type": "bool", "default": False},
        },
    },
    "daemon_reload": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = manage_units(module)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
