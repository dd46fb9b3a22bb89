#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_pool
short_description: Define, build, start, stop and remove libvirt storage pools (dir, logical, rbd, netfs)
version_added: 0.1.0
description:
  - Makes a libvirt storage pool of type C(dir), C(logical), C(rbd) (Ceph) or C(netfs) defined, running or
    stopped, with autostart, or removes it.
  - The definition is compared semantically with libvirt's (what libvirt fills in, such as the uuid or the
    sizes, and settings the options leave out are kept), and written only when something managed differs.
    A running pool is restarted to use a changed definition.
  - A pool that holds volumes is neither changed nor removed unless O(force) is set; an inactive pool
    counts as one that may hold volumes, because libvirt cannot list them. Volumes are never deleted.
  - For C(rbd) pools, every Ceph monitor is probed over TCP (with O(rbd.probe_timeout)) before libvirt is
    asked to talk to the cluster, so a dead or unreachable cluster fails the task within seconds, naming the
    monitors and the pool, instead of libvirt waiting 30 seconds per call.
  - A pool this run defined is removed again when building or starting it fails (a wrong cephx key, a
    missing directory), so a failed run leaves no half-made pool.
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
      - Returns the same C(changed), C(actions), C(changes) and diff as the real run, and changes nothing.
      - The Ceph monitors are probed in check mode too, so it predicts that failure.
      - A missing libvirt secret is a warning in check mode (an earlier task of the same run may create it)
        and an error in a real run.
  diff_mode:
    support: full
    details:
      - Shows run state, autostart and the normalised pool XML before and after.
  platform:
    support: full
    platforms: posix
requirements:
  - lxml
options:
  name:
    description:
      - Name of the pool.
    type: str
    required: true
  type:
    description:
      - Pool type. Required to define a pool; left out, only the run state, autostart and refresh of an
        existing pool are managed.
      - The type of an existing pool cannot change; the module fails instead.
    type: str
    choices: [dir, logical, rbd, netfs]
  state:
    description:
      - V(present) defines the pool and leaves an existing pool running or stopped as it is (a new pool stays
        stopped). V(active) defines and starts it. V(inactive) defines it and stops it. V(absent) stops and
        undefines it, keeping its storage and volumes.
    type: str
    choices: [present, active, inactive, absent]
    default: present
  autostart:
    description:
      - Whether libvirt starts the pool when the daemon starts. Left out, it is not changed (a new pool gets
        no autostart).
    type: bool
  build:
    description:
      - Build the pool's storage when this run defines the pool (C(dir) and C(netfs) create the directory;
        C(logical) creates the volume group on O(logical.devices) and refuses devices that hold data).
      - Not supported for C(rbd), whose Ceph pool must exist already.
    type: bool
    default: false
  refresh:
    description:
      - Re-read the pool's storage (new files, RBD images made outside libvirt) when it is active and was not
        just started. Not reported as a change.
    type: bool
    default: false
  force:
    description:
      - Change the definition of, or remove, a pool that holds volumes (or is inactive, so its volumes cannot be
        counted). Volumes themselves are never deleted by this module.
    type: bool
    default: false
  path:
    description:
      - C(dir) pools, the directory holding the volumes. C(netfs) pools, the mount point. C(logical) pools, the
        device directory (libvirt's default is C(/dev/VG)).
    type: path
  logical:
    description:
      - Source of a C(logical) pool.
    type: dict
    suboptions:
      vg:
        description:
          - Name of the LVM volume group. Defaults to the pool's O(name).
        type: str
      devices:
        description:
          - Physical volumes of the group (needed to O(build) it). When given, the set is owned.
        type: list
        elements: str
  netfs:
    description:
      - Source of a C(netfs) pool.
    type: dict
    suboptions:
      host:
        description:
          - File server host name or address.
        type: str
        required: true
      dir:
        description:
          - Exported directory on the server.
        type: str
        required: true
      format:
        description:
          - File system type; left out, libvirt's default (V(auto)).
        type: str
        choices: [auto, nfs, cifs, glusterfs]
  rbd:
    description:
      - Source of an C(rbd) pool, a Ceph pool reached through librados.
    type: dict
    suboptions:
      pool:
        description:
          - Name of the Ceph pool. It must exist and be initialised for RBD (C(rbd pool init)).
        type: str
        required: true
      hosts:
        description:
          - Ceph monitors. The set is owned.
        type: list
        elements: dict
        required: true
        suboptions:
          name:
            description:
              - Monitor host name or address.
            type: str
            required: true
          port:
            description:
              - Monitor port. Left out, librados tries 3300 (msgr2), then 6789 (and the probe accepts either).
            type: int
      username:
        description:
          - cephx user, without the C(client.) prefix, such as V(libvirt). Needs O(rbd.secret_uuid) or
            O(rbd.secret_usage). Left out, the authentication of an existing pool is kept.
        type: str
      secret_uuid:
        description:
          - UUID of the libvirt secret (usage type C(ceph)) holding the user's key (see M(kvmops.kvm.libvirt_secret)).
          - Mutually exclusive with O(rbd.secret_usage).
        type: str
      secret_usage:
        description:
          - Usage name of that secret instead of its uuid.
        type: str
      probe_timeout:
        description:
          - Seconds each monitor port may take to accept a TCP connection before the probe gives up on it.
        type: float
        default: 3
notes:
  - In check mode RV(pool) is the pool as it is, before the run (null when it does not exist yet).
  - The monitor probe runs on the host the module runs on; with a remote O(uri) that should be a host on the
    same network as the libvirt host.
seealso:
  - module: kvmops.kvm.libvirt_secret
  - module: kvmops.kvm.libvirt_volume
  - name: libvirt storage pool XML format
    description: The definitions this module writes and reads.
    link: https://libvirt.org/formatstorage.html
"""

EXAMPLES = r"""
- name: A directory pool, created on disk, running and started at boot
  kvmops.kvm.libvirt_pool:
    name: images
    type: dir
    path: /var/lib/libvirt/images
    build: true
    state: active
    autostart: true

- name: A Ceph RBD pool, authenticating as client.libvirt with the key in a libvirt secret
  kvmops.kvm.libvirt_pool:
    name: ceph-vms
    type: rbd
    rbd:
      pool: vms
      hosts:
        - name: 198.51.100.1
          port: 6789
      username: libvirt
      secret_usage: client.libvirt secret
    state: active
    autostart: true

- name: An LVM volume group as a pool, built on two disks
  kvmops.kvm.libvirt_pool:
    name: vg-guests
    type: logical
    logical:
      devices: [/dev/sdb, /dev/sdc]
    build: true
    state: active

- name: An NFS export as a pool
  kvmops.kvm.libvirt_pool:
    name: nfs-templates
    type: netfs
    netfs:
      host: nfs1.example.org
      dir: /export/templates
      format: nfs
    path: /var/lib/libvirt/templates
    state: active

- name: Pick up images made outside libvirt
  kvmops.kvm.libvirt_pool:
    name: ceph-vms
    state: active
    refresh: true

- name: Remove a pool that still holds volumes (they stay in the storage)
  kvmops.kvm.libvirt_pool:
    name: images-old
    state: absent
    force: true
"""

RETURN = r"""
actions:
  description: What the run did (or, in check mode, would do), in order.
  returned: always
  type: list
  elements: str
  sample: [define, start, autostart on]
changes:
  description: The differences of the definition that made the run update it, one readable line each.
  returned: always
  type: list
  elements: str
  sample: ["pool/source/host[198.51.100.2:6789]: missing, to be added"]
pool:
  description: The pool after the run; null when it does not exist. In check mode, the pool before the run.
  returned: success
  type: dict
  contains:
    name:
      description: Pool name.
      type: str
      sample: ceph-vms
    uuid:
      description: libvirt's uuid of the pool.
      type: str
      sample: 15332937-ca9d-4593-8351-59ee7772093a
    type:
      description: Pool type.
      type: str
      sample: rbd
    state:
      description: V(active) or V(inactive).
      type: str
      sample: active
    autostart:
      description: Whether the pool starts with the daemon.
      type: bool
      sample: true
    path:
      description: Target path; null for C(rbd).
      type: str
      sample: null
    source_name:
      description: Ceph pool (C(rbd)) or volume group (C(logical)); null otherwise.
      type: str
      sample: vms
    hosts:
      description: Source hosts (Ceph monitors, file server) with C(name) and C(port) (null when not set).
      type: list
      elements: dict
      sample: [{name: 198.51.100.1, port: 6789}]
    username:
      description: cephx user of an C(rbd) pool.
      type: str
      sample: libvirt
    secret_uuid:
      description: UUID of the secret an C(rbd) pool authenticates with, when named by uuid.
      type: str
      sample: 3c5c2b1e-8f0d-4d6e-9a57-2a1b0c9d8e7f
    secret_usage:
      description: Usage name of that secret, when named by usage.
      type: str
      sample: null
    capacity:
      description: Size of the storage in bytes, as libvirt last saw it; null while inactive.
      type: int
      sample: 4294967296
    allocation:
      description: Bytes in use.
      type: int
      sample: 10545
    available:
      description: Bytes free.
      type: int
      sample: 3984379904
    volume_count:
      description: Volumes libvirt lists in the pool; null while it is inactive (unknown).
      type: int
      sample: 3
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_pool import manage_pool
from ansible_collections.kvmops.kvm.plugins.module_utils._xml_subset import HAS_LXML, LXML_IMPORT_ERROR

ARGUMENT_SPEC = {
    "uri": {"type": "str", "default": "qemu:///system"},
    "name": {"type": "str", "required": True},
    "type": {"type": "str", "choices": ["dir", "logical", "rbd", "netfs"]},
    "state": {"type": "str", "choices": ["present", "active", "inactive", "absent"], "default": "present"},
    "autostart": {"type": "bool"},
    "build": {"type": "bool", "default": False},
    "refresh": {"type": "bool", "default": False},
    "force": {"type": "bool", "default": False},
    "path": {"type": "path"},
    "logical": {
        "type": "dict",
        "options": {"vg": {"type": "str"}, "devices": {"type": "list", "elements": "str"}},
    },
    "netfs": {
        "type": "dict",
        "options": {
            "host": {"type": "str", "required": True},
            "dir": {"type": "str", "required": True},
            "format": {"type": "str", "choices": ["auto", "nfs", "cifs", "glusterfs"]},
        },
    },
    "rbd": {
        "type": "dict",
        "options": {
            "pool": {"type": "str", "required": True},
            "hosts": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {"name": {"type": "str", "required": True}, "port": {"type": "int"}},
            },
            "username": {"type": "str"},
            # Names of a libvirt secret, not secret values.
            "secret_uuid": {"type": "str", "no_log": False},
            "secret_usage": {"type": "str", "no_log": False},
            "probe_timeout": {"type": "float", "default": 3},
        },
        "mutually_exclusive": [("secret_uuid", "secret_usage")],
    },
}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("logical", "netfs", "rbd")],
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    if not HAS_LXML:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    try:
        result = manage_pool(module.params["uri"], module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
