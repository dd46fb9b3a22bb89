#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_probe
short_description: Read files, sysctls, units, packages and read-only command output of a host in one module run
version_added: 0.1.0
description:
  - The read half of I(read once, plan on the controller, write only the differences). A role gathers
    everything it checks or compares in one remote module run instead of one C(slurp), C(stat), C(find),
    C(service_facts) or C(command) task each.
  - Never changes anything and always runs, also in check mode.
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the same as a normal run.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  files:
    description:
      - Files to read whole (up to 1 MiB each, as UTF-8 text, undecodable bytes replaced), with their
        mode and owner. A missing file is reported with C(exists=false), not as an error.
    type: list
    elements: str
    default: []
  stat:
    description:
      - Paths whose existence, type, mode and owner to report (links are not followed).
    type: list
    elements: str
    default: []
  globs:
    description:
      - Shell patterns to expand, for example V(/var/lib/apt/lists/*_Packages*).
    type: list
    elements: str
    default: []
  sysctls:
    description:
      - Kernel parameters to read from C(/proc/sys), by dotted key such as V(vm.swappiness).
    type: list
    elements: str
    default: []
  units:
    description:
      - systemd units whose load, active and unit file state to report, read with one C(systemctl show).
      - On a host not booted with systemd nothing is read and RV(units) stays empty; RV(systemd) says so.
    type: list
    elements: str
    default: []
  packages:
    description:
      - Package names whose installed version to report (C(dpkg-query) or C(rpm)).
    type: list
    elements: str
    default: []
  commands:
    description:
      - Read-only commands to run, by a label of your choice, each an argv list (no shell).
      - A non-zero exit is reported in C(rc), never a failure. Only give commands that change nothing.
    type: dict
    default: {}
seealso:
  - module: kvmops.kvm.host_files
  - module: kvmops.kvm.systemd_units
"""

EXAMPLES = r"""
- name: Read what the role compares, once
  kvmops.kvm.host_probe:
    files: [/proc/cpuinfo, /proc/cmdline]
    stat: [/dev/kvm]
    globs: ["/var/lib/apt/lists/*_Packages*"]
    sysctls: [vm.swappiness, net.ipv4.ip_forward]
    units: [libvirtd.service, virtqemud.service]
    packages: [qemu-system-x86, libvirt-daemon-system]
    commands:
      nft_table: [nft, list, table, inet, kvmops]
  register: probe
"""

RETURN = r"""
files:
  description: Per path, C(exists), C(content) (None when missing), C(type), C(mode), C(owner), C(group).
  returned: always
  type: dict
  sample: {/proc/cmdline: {exists: true, content: "BOOT_IMAGE=/vmlinuz root=/dev/vda\n", type: file,
           mode: "0444", owner: root, group: root}}
stat:
  description:
    - Per path, C(exists), C(type) (file, directory, link, char, block, socket, fifo), C(mode), C(owner),
      C(group).
  returned: always
  type: dict
  sample: {/dev/kvm: {exists: true, type: char, mode: "0660", owner: root, group: kvm}}
globs:
  description: Per pattern, the sorted matches.
  returned: always
  type: dict
  sample: {"/var/lib/apt/lists/*_Packages*": [/var/lib/apt/lists/mirror_dists_bookworm_main_binary-amd64_Packages]}
sysctls:
  description:
    - Per key, the value as C(sysctl -n) prints it (whitespace runs made one space), None when the kernel
      has no such key.
  returned: always
  type: dict
  sample: {vm.swappiness: "60", net.ipv4.ip_local_port_range: "32768 60999"}
units:
  description: Per unit, C(exists), C(load_state), C(active_state), C(sub_state), C(unit_file_state).
  returned: always
  type: dict
  sample: {libvirtd.service: {exists: true, load_state: loaded, active_state: active, sub_state: running,
           unit_file_state: enabled}}
systemd:
  description: Whether the host runs systemd as PID 1 (C(/run/systemd/system) exists).
  returned: always
  type: bool
  sample: true
packages:
  description: Per name, the installed version, None when not installed.
  returned: always
  type: dict
  sample: {qemu-system-x86: "1:7.2+dfsg-7+deb12u7", swtpm: null}
commands:
  description: Per label, C(rc), C(stdout) and C(stderr). A command not on the host has rc 127.
  returned: always
  type: dict
  sample: {nft_table: {rc: 0, stdout: "table inet kvmops {...}", stderr: ""}}
"""

# Imports follow the documentation blocks, as validate-modules requires.
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._host_probe import probe

ARGUMENT_SPEC = {
    "files": {"type": "list", "elements": "str", "default": []},
    "stat": {"type": "list", "elements": "str", "default": []},
    "globs": {"type": "list", "elements": "str", "default": []},
    "sysctls": {"type": "list", "elements": "str", "default": []},
    "units": {"type": "list", "elements": "str", "default": []},
    "packages": {"type": "list", "elements": "str", "default": []},
    "commands": {"type": "dict", "default": {}},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = probe(module)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
