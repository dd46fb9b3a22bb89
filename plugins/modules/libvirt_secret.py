#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_secret
short_description: Define libvirt secrets (Ceph keys, volume passphrases) without ever showing their value
version_added: 0.1.0
description:
  - Makes a libvirt secret of usage C(ceph) or C(volume) present, with its description, C(private) and
    C(ephemeral) flags and optionally its value, or absent.
  - A secret is found by O(uuid) when given, otherwise by its usage (O(usage_type) and O(usage_name)).
    A new secret without O(uuid) gets a uuid derived from its usage, so the same usage has the same
    uuid on every host (domains name their disks' secrets by uuid, and live migration moves those
    definitions between hosts).
  - The value is never returned, logged or shown in a diff. A private secret (the default) cannot be read
    back, so whether an existing value is right cannot be known; O(update_value) decides whether it is written.
  - Check mode and the real run take the same decisions from the same reads.
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
      - Returns the same C(changed), C(actions), C(value_written) and diff as the real run, and changes nothing.
  diff_mode:
    support: full
    details:
      - Shows the metadata (uuid, usage, description, flags) before and after, and whether a value is written;
        never the value.
  platform:
    support: full
    platforms: posix
requirements:
  - lxml
options:
  state:
    description:
      - V(present) defines the secret (and writes its value as O(update_value) says); V(absent) undefines it.
    type: str
    choices: [present, absent]
    default: present
  uuid:
    description:
      - UUID of the secret. Left out, an existing secret is found by its usage, and a new one gets the
        uuid5 of its usage type and name (stable across hosts).
      - The uuid of an existing secret cannot change; the module fails when the usage already belongs to
        a secret with another uuid.
    type: str
  usage_type:
    description:
      - What the secret is for. V(ceph) holds a cephx key for RBD pools and disks, V(volume) the passphrase
        of an encrypted volume.
    type: str
    choices: [ceph, volume]
    default: ceph
  usage_name:
    description:
      - For V(ceph), the usage name libvirt knows the secret by (for example V(client.libvirt secret));
        disks and pools can refer to the secret by it.
      - For V(volume), the absolute path of the encrypted volume.
      - Required with O(state=present). The usage of an existing secret cannot change.
    type: str
  description:
    description:
      - Free text shown by C(virsh secret-dumpxml). Left out, an existing description is kept.
    type: str
  private:
    description:
      - Whether libvirt refuses to hand the value to any client (it still gives it to QEMU).
      - libvirt cannot make a private secret readable again; changing this to V(false) recreates the
        secret, which needs O(value).
    type: bool
    default: true
  ephemeral:
    description:
      - Whether libvirt keeps the secret in memory only (lost when the daemon restarts).
    type: bool
    default: false
  value:
    description:
      - The secret value, as O(value_encoding) says. For V(ceph), the key from the client's keyring
        (the C(key = ...) line, or C(ceph auth get-key client.NAME)); it is checked to be a cephx key.
      - Never logged, returned or shown in a diff. Left out, the value is not touched.
    type: str
  value_encoding:
    description:
      - V(base64) decodes O(value) first, which is how Ceph keys are written and what
        C(virsh secret-set-value --base64) takes. V(text) stores O(value) as it is (UTF-8), for passphrases.
    type: str
    choices: [base64, text]
    default: base64
  update_value:
    description:
      - V(on_create) writes O(value) only when this run creates the secret (or recreates it), and when a
        non-private secret visibly has no value. A changed key then needs V(always) once.
      - V(always) writes O(value) whenever it may differ. A private secret cannot be read back, so it is
        written, and reported changed, on every run; a non-private one only when its stored value differs.
      - RV(value_written) says whether the run wrote the value.
    type: str
    choices: [on_create, always]
    default: on_create
notes:
  - In check mode RV(secret) is the secret as it is, before the run (null when it does not exist yet).
  - Pools and domains that use a secret must be stopped before it is undefined; libvirt does not check.
seealso:
  - module: kvmops.kvm.libvirt_pool
  - name: libvirt secret XML format
    description: The definitions this module writes and reads.
    link: https://libvirt.org/formatsecret.html
"""

EXAMPLES = r"""
- name: The Ceph key of client.libvirt, from the vault
  kvmops.kvm.libvirt_secret:
    usage_type: ceph
    usage_name: client.libvirt secret
    uuid: 3c5c2b1e-8f0d-4d6e-9a57-2a1b0c9d8e7f
    description: cephx key of client.libvirt
    value: "{{ vault_ceph_libvirt_key }}"

- name: Rotate the key (a private secret cannot be compared, so this writes on every run)
  kvmops.kvm.libvirt_secret:
    usage_name: client.libvirt secret
    value: "{{ vault_ceph_libvirt_key }}"
    update_value: always

- name: A LUKS passphrase for an encrypted volume
  kvmops.kvm.libvirt_secret:
    usage_type: volume
    usage_name: /var/lib/libvirt/images/db1-data.luks
    value: "{{ vault_db1_luks_passphrase }}"
    value_encoding: text

- name: Remove the secret once no pool or domain uses it
  kvmops.kvm.libvirt_secret:
    usage_name: client.libvirt secret
    state: absent
"""

RETURN = r"""
actions:
  description: What the run did (or, in check mode, would do), in order.
  returned: always
  type: list
  elements: str
  sample: [define, set value]
value_written:
  description: Whether the run wrote (in check mode, would write) the value.
  returned: always
  type: bool
  sample: true
secret:
  description: The secret after the run, metadata only; null when it does not exist. In check mode, before the run.
  returned: success
  type: dict
  contains:
    uuid:
      description: UUID of the secret.
      type: str
      sample: 3c5c2b1e-8f0d-4d6e-9a57-2a1b0c9d8e7f
    usage_type:
      description: V(ceph) or V(volume).
      type: str
      sample: ceph
    usage_name:
      description: Usage name (Ceph) or volume path.
      type: str
      sample: client.libvirt secret
    description:
      description: The description; null when there is none.
      type: str
      sample: cephx key of client.libvirt
    private:
      description: Whether libvirt hides the value from clients.
      type: bool
      sample: true
    ephemeral:
      description: Whether the secret lives in memory only.
      type: bool
      sample: false
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_secret import manage_secret
from ansible_collections.kvmops.kvm.plugins.module_utils._xml_subset import HAS_LXML, LXML_IMPORT_ERROR

ARGUMENT_SPEC = {
    "uri": {"type": "str", "default": "qemu:///system"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    # The uuid and usage name identify a secret; they are not secret themselves.
    "uuid": {"type": "str", "no_log": False},
    "usage_type": {"type": "str", "choices": ["ceph", "volume"], "default": "ceph"},
    "usage_name": {"type": "str"},
    "description": {"type": "str"},
    "private": {"type": "bool", "default": True},
    "ephemeral": {"type": "bool", "default": False},
    "value": {"type": "str", "no_log": True},
    "value_encoding": {"type": "str", "choices": ["base64", "text"], "default": "base64"},
    "update_value": {"type": "str", "choices": ["on_create", "always"], "default": "on_create", "no_log": False},
}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_one_of=[("uuid", "usage_name")],
        required_if=[("state", "present", ("usage_name",))],
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    if not HAS_LXML:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    try:
        result = manage_secret(module.params["uri"], module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
