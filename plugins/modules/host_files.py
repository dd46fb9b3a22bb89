#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_files
short_description: Converge many files and directories of a host in one module run
version_added: 0.1.0
description:
  - Reads every listed path once, compares content, owner, group and mode with what is wanted, and writes
    only what differs. A role that writes a dozen configuration files costs one remote module run on a
    converged host instead of one per file.
  - Content is given as text, typically rendered on the controller with
    C(lookup('ansible.builtin.template', ...)).
  - Files are written atomically (a temporary file in the same directory, renamed over the target), so a
    reader never sees half a file; with O(files[].validate) the temporary file is checked first and a
    failure leaves the old file in place.
  - Items are applied in list order. Every owner and group is checked before anything is written.
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the same C(changed), RV(changed_paths) and diff as the real run and writes nothing.
  diff_mode:
    support: full
    details:
      - One diff per changed path; the headers carry the kind, mode and owner before and after.
      - Content of items with O(files[].secret) is never shown.
  platform:
    support: full
    platforms: posix
options:
  files:
    description:
      - The files and directories to converge.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Absolute, normalised path. A path may appear only once.
        type: str
        required: true
      state:
        description:
          - V(file) writes O(files[].content); V(directory) makes a directory; V(absent) removes a file, a
            link or an empty directory.
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description:
          - The whole content of the file (required with O(files[].state=file)).
        type: str
      owner:
        description:
          - User name that owns the path.
        type: str
        default: root
      group:
        description:
          - Group name of the path.
        type: str
        default: root
      mode:
        description:
          - Permissions as an octal string such as V('0644'). Defaults to V('0644') for files and
            V('0755') for directories. Integers are refused, because YAML reads C(0644) as decimal 420.
        type: str
      validate:
        description:
          - Command that must succeed on the new content before it replaces the file; C(%s) is the temporary
            file, for example V(nft -c -f %s).
        type: str
      secret:
        description:
          - Never show the content in the diff or the results (keys, passwords); the value is also masked
            in the module arguments Ansible echoes back. Set C(no_log) on the task as well when the
            content must not reach callback plugins that log task arguments.
        type: bool
        default: false
  parents:
    description:
      - Create missing parent directories (C(root:root), C(0755)).
    type: bool
    default: true
notes:
  - A path that is a directory on the host and wanted as a file (or the other way round) fails the call;
    it is never replaced silently.
  - A path that is a symbolic link is reported as a link and not followed.
seealso:
  - module: ansible.builtin.copy
  - module: ansible.builtin.template
"""

EXAMPLES = r"""
- name: Write the role's configuration files in one run
  kvmops.kvm.host_files:
    files:
      - path: /etc/sysctl.d/90-kvmops.conf
        content: "{{ lookup('ansible.builtin.template', 'sysctl.conf.j2') }}"
      - path: /etc/systemd/system/machine.slice.d
        state: directory
      - path: /etc/systemd/system/machine.slice.d/50-kvmops.conf
        content: |
          [Slice]
          MemoryMax=90%
      - path: /etc/nftables.d/kvmops.nft
        content: "{{ lookup('ansible.builtin.template', 'firewall.nft.j2') }}"
        mode: "0600"
        validate: nft -c -f %s
      - path: /etc/modprobe.d/old-kvmops.conf
        state: absent
  register: files
  notify: kvm files changed

- name: A handler that runs only when its own file changed
  ansible.builtin.command:
    argv: [sysctl, -p, /etc/sysctl.d/90-kvmops.conf]
  changed_when: true
  when: "'/etc/sysctl.d/90-kvmops.conf' in files.changed_paths"
"""

RETURN = r"""
changed_paths:
  description: The paths changed (in check mode, that would change), in the order of O(files).
  returned: success
  type: list
  elements: str
  sample: [/etc/sysctl.d/90-kvmops.conf]
files:
  description:
    - One entry per item of O(files). C(changes) lists what differs among C(created), C(content),
      C(owner), C(group), C(mode) and C(removed).
  returned: success
  type: list
  elements: dict
  sample:
    - {path: /etc/sysctl.d/90-kvmops.conf, state: file, changed: true, changes: [content]}
    - {path: /etc/systemd/system/machine.slice.d, state: directory, changed: false, changes: []}
"""

# Imports follow the documentation blocks, as validate-modules requires.
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._host_files_io import manage_files

ARGUMENT_SPEC = {
    "files": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "path": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["file", "directory", "absent"], "default": "file"},
            "content": {"type": "str"},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str"},
            "validate": {"type": "str"},
            "secret": {"type": "bool", "default": False},
        },
    },
    "parents": {"type": "bool", "default": True},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    # A secret item's content is masked wherever it would appear in the result,
    # the echoed module arguments included.
    for item in module.params["files"]:
        if item["secret"] and item["content"]:
            module.no_log_values.add(item["content"])
    try:
        result = manage_files(module)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
