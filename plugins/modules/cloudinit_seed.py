#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudinit_seed
short_description: Write a cloud-init NoCloud seed ISO on the hypervisor
version_added: 0.1.0
description:
  - Writes an ISO 9660 image with volume label C(cidata) holding C(user-data), C(meta-data) and, when given,
    C(network-config), which cloud-init's NoCloud data source reads from a CD-ROM attached to the guest.
  - The image is built in Python with pycdlib; the host needs no C(genisoimage), C(xorriso) or C(cloud-localds).
  - Idempotent by content. An existing image is read back and its label and files compared with the wanted ones;
    it is rewritten (atomically) only when they differ. ISO timestamps are never compared.
  - A file at O(path) that is not an ISO 9660 image is never overwritten; the module fails instead.
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - ansible.builtin.files
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the existing image and returns the same C(changed), RV(actions) and diff as a real run, writing nothing.
  diff_mode:
    support: full
    details:
      - Shows the label and the text of each file before and after. C(user-data) is shown only as its size and
        SHA-256 checksum unless O(diff_user_data=true), because it often holds passwords or keys.
  platform:
    support: full
    platforms: posix
requirements:
  - pycdlib (Debian and Ubuntu package C(python3-pycdlib); on RHEL 9 C(python3-pycdlib) from EPEL)
options:
  path:
    description:
      - Path of the seed image on the host. Its directory must exist.
    type: path
    required: true
  state:
    description:
      - V(present) writes the image when it is missing or its files differ.
      - V(absent) removes the file at O(path) when it is a seed image; any other file there makes the module fail.
    type: str
    choices: [present, absent]
    default: present
  user_data:
    description:
      - Content of C(user-data), usually a C(#cloud-config) YAML document or a script.
      - A dict is written as JSON (which YAML reads) after a C(#cloud-config) line.
      - Left out, C(user-data) is an empty file, which cloud-init accepts.
      - It may hold secrets; it is never returned and is shown in the diff only with O(diff_user_data=true).
        It is not C(no_log) (that would mask it in the diff too); use C(no_log) on the task to keep it out
        of C(-vvv) output.
    type: raw
  meta_data:
    description:
      - Content of C(meta-data) as YAML text or a dict (written as JSON). It must give cloud-init an C(instance-id);
        a new instance-id makes cloud-init run its per-instance modules again at the next boot.
      - Left out, C(meta-data) is C(instance-id) from O(instance_id).
    type: raw
  instance_id:
    description:
      - The instance id written as C(meta-data) when O(meta_data) is left out.
      - One of O(meta_data) and O(instance_id) is required with O(state=present).
    type: str
  network_config:
    description:
      - Content of C(network-config) (network config version 1 or 2) as YAML text or a dict (written as JSON).
      - Left out, the image has no C(network-config) and cloud-init configures DHCP on the first NIC.
    type: raw
  diff_user_data:
    description:
      - Show the text of C(user-data) in the diff, instead of its size and checksum.
    type: bool
    default: false
notes:
  - The image is written with Ansible's atomic move, which keeps an existing file's owner, group, mode and SELinux
    context; O(mode), O(owner) and O(group) are applied afterwards.
  - libvirt (with C(dynamic_ownership)) gives a running guest's CD-ROM image to the QEMU user; leave O(owner) and
    O(group) unset for seeds attached to guests, or each run changes them back.
seealso:
  - module: kvmops.kvm.libvirt_domain
  - name: cloud-init NoCloud data source
    description: The files and label cloud-init looks for.
    link: https://docs.cloud-init.io/en/latest/reference/datasources/nocloud.html
"""

EXAMPLES = r"""
- name: Seed of web1 with a cloud-config, kept readable only for root and libvirt
  kvmops.kvm.cloudinit_seed:
    path: /var/lib/libvirt/images/cloud-init/web1-seed.iso
    instance_id: web1
    user_data: |
      #cloud-config
      hostname: web1
      ssh_authorized_keys:
        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheExampleOnly ops@example.com
    network_config:
      version: 2
      ethernets:
        eth0:
          match: {name: "en*"}
          addresses: [203.0.113.21/24]
          routes:
            - {to: default, via: 203.0.113.1}
    mode: "0600"
  no_log: true

- name: Remove the seed of a retired VM
  kvmops.kvm.cloudinit_seed:
    path: /var/lib/libvirt/images/cloud-init/old1-seed.iso
    state: absent
"""

RETURN = r"""
path:
  description: The seed image.
  returned: always
  type: str
  sample: /var/lib/libvirt/images/cloud-init/web1-seed.iso
actions:
  description:
    - What the run did (in check mode, would do), such as C(create), C(update user-data), C(add network-config),
      C(remove network-config) or C(remove).
    - Empty when the image already holds the wanted files.
  returned: success
  type: list
  elements: str
  sample: [update user-data]
files:
  description: The files in the image after the run.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [meta-data, user-data, network-config]
checksums:
  description: SHA-256 of each wanted file, so a change of user-data can be seen without its text.
  returned: when O(state=present)
  type: dict
  sample: {meta-data: 5d0c..., user-data: 9f86...}
"""

# Imports follow the documentation blocks, as validate-modules requires (E402 is
# allowed for modules in pyproject.toml).
from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kvmops.kvm.plugins.module_utils._cloudinit_seed import (
    PYCDLIB_HINT,
    PYCDLIB_IMPORT_ERROR,
    manage_seed,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "user_data": {"type": "raw"},
    "meta_data": {"type": "raw"},
    "instance_id": {"type": "str"},
    "network_config": {"type": "raw"},
    "diff_user_data": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        add_file_common_args=True,
        supports_check_mode=True,
        required_if=[("state", "present", ("meta_data", "instance_id"), True)],
    )
    if PYCDLIB_IMPORT_ERROR:
        module.fail_json(msg=f"{missing_required_lib('pycdlib')} ({PYCDLIB_HINT})", exception=PYCDLIB_IMPORT_ERROR)
    try:
        result = manage_seed(module)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
