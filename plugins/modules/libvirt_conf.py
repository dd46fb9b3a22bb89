#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_conf
short_description: Set or remove individual settings of libvirt configuration files such as qemu.conf
version_added: 0.1.0
description:
  - Edits a file in libvirt's configuration syntax (C(qemu.conf), C(libvirtd.conf), C(virtqemud.conf),
    C(virtlogd.conf) and the like) setting by setting.
  - Only the settings named in O(settings) are touched. Their lines are replaced, removed or, for a
    setting not yet in the file, inserted after the distribution's commented-out example of the same
    setting (at the end of the file when there is none). Comments, blank lines and all other settings
    stay exactly as they were, so several roles can each own different settings of one file.
  - A setting already holding the wanted value is left as it is, including its formatting.
  - The file is parsed with libvirt's own syntax rules first; a file libvirt could not read makes the
    module fail without writing.
author:
  - kvmops maintainers (@kvmops)
# ansible.builtin.action_common_attributes.files is not listed: ansible-core's
# fragment loader resolves that name to ansible.builtin.files, so its two
# attributes are described here instead.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details:
      - Returns the same C(changed), C(changes) and diff as the real run and writes nothing.
  diff_mode:
    support: full
    details:
      - Shows the whole file before and after.
  platform:
    support: full
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: none
options:
  path:
    description:
      - The configuration file, for example C(/etc/libvirt/qemu.conf).
    type: path
    required: true
  settings:
    description:
      - Settings to make true, as name and value.
      - Strings are written quoted (C("...") or, when the string holds a double quote, C('...')), integers
        bare, booleans as C(1) or C(0), lists of strings and integers as C(["a", "b"]).
      - A value of V(null) removes every entry of that name, so libvirt's built-in default applies.
      - Dicts, floats, nested lists and strings holding a newline or both quote kinds make the module fail
        before anything is written.
      - An empty dict reads the file without changing it; RV(config) then holds its settings.
    type: dict
    required: true
  create:
    description:
      - Create the file, holding only O(settings), when it does not exist.
      - With V(false) a missing file is an error.
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
notes:
  - Settings are matched by name only; a setting the file repeats is reduced to one entry.
  - Changing a file does not restart the daemon that reads it; notify a handler for that.
  - When O(path) is a symbolic link, the file it points to is edited and the link stays.
seealso:
  - name: libvirt QEMU/KVM driver
    description: The driver C(qemu.conf) configures; each setting is documented in the file libvirt ships.
    link: https://libvirt.org/drvqemu.html
"""

EXAMPLES = r"""
- name: Confine guests with AppArmor and never run QEMU as root
  kvmops.kvm.libvirt_conf:
    path: /etc/libvirt/qemu.conf
    settings:
      security_driver: apparmor
      security_default_confined: true
      security_require_confined: true
      user: libvirt-qemu
      group: libvirt-qemu
  notify: Restart libvirtd

- name: Give 1 GiB hugepages their own mount point
  kvmops.kvm.libvirt_conf:
    path: /etc/libvirt/qemu.conf
    settings:
      hugetlbfs_mount: [/dev/hugepages, /dev/hugepages1G]

- name: Drop a setting so libvirt's built-in default applies again
  kvmops.kvm.libvirt_conf:
    path: /etc/libvirt/libvirtd.conf
    settings:
      max_clients: null

- name: Read the daemon settings without changing them
  kvmops.kvm.libvirt_conf:
    path: /etc/libvirt/qemu.conf
    settings: {}
  register: qemu_conf
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/libvirt/qemu.conf
changes:
  description:
    - The settings the run changed (or, in check mode, would change), in the order of O(settings).
    - C(action) is V(add) (not in the file before), V(set) (another value before) or V(remove).
  returned: success
  type: list
  elements: dict
  sample:
    - {name: security_driver, action: add, before: null, after: apparmor}
    - {name: max_files, action: set, before: 1024, after: 32768}
config:
  description: Every setting of the file after the run (in check mode, as the run would leave it), by name.
  returned: success
  type: dict
  sample: {security_driver: apparmor, max_files: 32768, cgroup_controllers: [cpu, memory]}
backup_file:
  description: The copy made by O(backup).
  returned: when a backup was made
  type: str
  sample: /etc/libvirt/qemu.conf.12345.2026-11-26@10:00:00~
"""

# Imports follow the documentation blocks, as validate-modules requires (E402 is
# allowed for modules in pyproject.toml).
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_conf_file import manage_conf

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "settings": {"type": "dict", "required": True},
    "create": {"type": "bool", "default": True},
    "backup": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, add_file_common_args=True, supports_check_mode=True)
    try:
        result = manage_conf(module)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
