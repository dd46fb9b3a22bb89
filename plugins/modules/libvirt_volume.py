#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_volume
short_description: Create, resize, clone, upload into and delete libvirt storage volumes
version_added: 0.1.0
description:
  - Makes a libvirt storage volume present with the given capacity and format, or absent.
  - A new volume can be empty, a qcow2 overlay on a backing image, a clone of another volume of the same
    pool, or a copy of a local image file uploaded through libvirt (so it works for remote URIs too).
  - An existing volume is grown to O(capacity); shrinking it, and re-uploading into it, need O(force).
  - Its format and backing image are never changed; the module fails instead, because that would mean
    recreating the volume.
  - The whole run is decided before anything changes, so check mode reports exactly what a real run does.
  - Several volumes can be handled in one call with O(volumes), over one connection, each pool looked up once.
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
      - Returns the same C(changed), C(actions) and diff as the real run, and changes nothing.
      - O(refresh_pool) still refreshes the pool, which only re-reads what is on disk.
      - For a volume still to be created, RV(path) (and each item's C(path) with O(volumes)) is the path the
        volume will have, so that a later task can plan with it (for example a libvirt_domain disk, see its
        O(kvmops.kvm.libvirt_domain#module:pending_storage) option).
      - When O(pool) does not exist or is not active, check mode reports the volume as to be created (C(changed),
        action C(create (pool ... does not exist yet))) instead of failing, because an earlier task of the same
        playbook may make the pool, which check mode only predicted. The real run fails on a missing pool.
  diff_mode:
    support: full
    details:
      - Shows name, pool, state, capacity (bytes and human readable), format and backing image before and after.
  platform:
    support: full
    platforms: posix
requirements:
  - lxml
options:
  pool:
    description:
      - Name of the libvirt storage pool holding the volume. It must exist and be active.
      - Required with O(name); with O(volumes), the default pool of the items.
    type: str
  name:
    description:
      - Name of the volume inside O(pool). For C(dir) pools this is the file name.
      - One of O(name) and O(volumes) is required.
    type: str
  state:
    description:
      - V(present) creates the volume if it is missing and grows (or, with O(force), shrinks) it to O(capacity).
      - V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  capacity:
    description:
      - Size of the volume as seen by the guest, such as V(20GiB), V(512MiB) or V(10G); a bare number is MiB.
      - Binary units (V(KiB), V(MiB), V(GiB), V(TiB), V(K), V(M), V(G), V(T)) are powers of 1024,
        V(KB), V(MB), V(GB), V(TB) powers of 1000. It must be a whole number of 512-byte sectors.
      - Required to create an empty volume. A clone defaults to its source's size, an overlay to its backing
        image's and an upload to the image's virtual size; a larger O(capacity) grows them after creation.
      - Leave it out to accept whatever size an existing volume has.
    type: raw
  allocation:
    description:
      - Space to allocate up front when the volume is created, in the same notation as O(capacity).
      - Left out, libvirt decides; for a raw file in a C(dir) pool that means fully allocated.
      - Only used on creation; allocation grows with use, so it is never compared afterwards.
    type: raw
  format:
    description:
      - Format of the volume.
      - Left out, a new volume is V(qcow2) in C(dir), C(fs) and C(netfs) pools and V(raw) in every other
        pool type, a clone keeps its source's format and an upload takes the uploaded image's format.
      - Pools other than C(dir), C(fs) and C(netfs) (such as C(rbd) and C(logical)) hold V(raw) volumes only.
      - Given for an existing volume of another format, the module fails rather than recreating it.
    type: str
    choices: [raw, qcow2]
  backing_volume:
    description:
      - Create the volume as a qcow2 overlay on this volume of the same pool (copy on write).
      - The backing volume is never written to.
      - For an existing volume, the module fails if its backing image differs.
    type: str
  backing_path:
    description:
      - Like O(backing_volume), but the absolute path of the backing image on the libvirt host.
      - When the path is not a volume of any libvirt pool, O(backing_format) and O(capacity) are required.
    type: str
  backing_format:
    description:
      - Format of the image at O(backing_path). Found out from libvirt when the path is a volume of a pool;
        the module fails when both are known and differ.
    type: str
    choices: [raw, qcow2]
  clone_from:
    description:
      - Create the volume as a full copy of this volume of the same pool.
      - Only used when the volume does not exist yet.
    type: str
  upload_src:
    description:
      - Create the volume from this image file on the host the module runs on, streamed through libvirt.
      - The file must be a raw or standalone qcow2 image (no backing file); other image types are refused.
      - Only used when the volume does not exist yet, unless O(force) is true; then the volume is deleted,
        created again and the file uploaded on every run.
      - When the upload fails, the volume it was going into is deleted again.
      - libvirt cannot upload into C(rbd), C(gluster) and C(iscsi-direct) pools; the module refuses before creating
        anything. Import the image with the storage's own tools and use O(refresh_pool) instead.
    type: path
  force:
    description:
      - Allow shrinking an existing volume to O(capacity), which destroys the data past the new end.
      - With O(upload_src), replace an existing volume by a fresh upload.
    type: bool
    default: false
  delete_snapshots:
    description:
      - With O(state=absent), delete the volume's snapshots too.
      - Always done in C(rbd) pools, where an image that was cloned from keeps a snapshot and cannot be
        deleted otherwise. Other pool types do not support it, so the module fails when it is set for them.
    type: bool
    default: false
  refresh_pool:
    description:
      - Refresh the pool before looking up the volume, so that files created outside libvirt are seen.
    type: bool
    default: false
  volumes:
    description:
      - Converge several volumes in one call, over one connection, in list order. Each pool is looked up once
        (and refreshed at most once, when an item asks for O(refresh_pool)).
      - Each item takes the options of a single volume (every option of this module except O(uri) and
        O(volumes)); O(name) is required in every item, O(pool) in every item unless given at the top level.
      - The module's top-level options are defaults for every item, except O(name). An option an item sets
        replaces the top-level value.
      - All items are validated before anything changes, and no O(pool)/O(name) may appear twice. A failure
        on one volume does not stop the others; the module fails at the end, naming every volume that failed.
      - An item sees what the items before it did in a real run, but not in check mode. So in check mode a
        volume named by a later item's O(backing_volume) or O(clone_from) must already exist.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
notes:
  - O(backing_volume), O(backing_path), O(clone_from) and O(upload_src) are mutually exclusive.
  - In check mode RV(volume) is the volume as it is, before the run (null when it does not exist yet);
    RV(path) is where it will be after the run.
seealso:
  - name: libvirt storage volume XML format
    description: The volume definitions this module writes and reads.
    link: https://libvirt.org/formatstorage.html#storage-volume-xml
"""

EXAMPLES = r"""
- name: An empty 20 GiB qcow2 disk
  kvmops.kvm.libvirt_volume:
    pool: default
    name: web1-data.qcow2
    capacity: 20GiB

- name: A guest root disk as an overlay on a shared base image
  kvmops.kvm.libvirt_volume:
    pool: default
    name: web1-root.qcow2
    backing_volume: debian-12-base.qcow2
    capacity: 40GiB

- name: Upload a cloud image once, then grow the copy to 10 GiB
  kvmops.kvm.libvirt_volume:
    pool: default
    name: debian-12-base.qcow2
    upload_src: /srv/images/debian-12-genericcloud-amd64.qcow2
    capacity: 10GiB

- name: A raw RBD image cloned from a golden image
  kvmops.kvm.libvirt_volume:
    pool: ceph-vms
    name: web2-root
    clone_from: golden-debian-12

- name: Shrink a scratch volume (data past 1 GiB is lost)
  kvmops.kvm.libvirt_volume:
    pool: default
    name: scratch.raw
    capacity: 1GiB
    force: true

- name: The disks of two VMs in one module run (one connection, each pool looked up once)
  kvmops.kvm.libvirt_volume:
    pool: default
    format: qcow2
    volumes:
      - {name: web1-root.qcow2, backing_volume: debian-12-base.qcow2, capacity: 40GiB}
      - {name: web1-data.qcow2, capacity: 20GiB}
      - {name: db1-data, pool: ceph-vms, format: raw, capacity: 100GiB}
  register: disks

- name: Delete an RBD image along with its snapshots
  kvmops.kvm.libvirt_volume:
    pool: ceph-vms
    name: golden-debian-11
    state: absent
"""

RETURN = r"""
actions:
  description: What the run did (or, in check mode, would do), in order.
  returned: always, without O(volumes)
  type: list
  elements: str
  sample: [create, upload, resize 2GiB -> 10GiB]
path:
  description:
    - Path of the volume after the run, as a guest disk source uses it; null when it does not exist then.
    - In check mode, for a volume still to be created, the path it will have (C(<target path>/<name>) in C(dir),
      C(fs), C(netfs) and C(logical) pools, C(<ceph pool>/<name>) in C(rbd) pools); null when the pool does not
      exist yet or its type names volumes otherwise.
  returned: success, without O(volumes)
  type: str
  sample: /var/lib/libvirt/images/web1-root.qcow2
volumes:
  description:
    - With O(volumes), one result per item in list order, with the keys RV(actions), RV(volume) and RV(path) of a
      single volume, plus C(pool), C(name), C(changed), and C(failed) and C(msg) for an item that failed.
    - Under C(--diff), the item's diff is in C(diff); the module's C(diff) lists every item's.
  returned: with O(volumes)
  type: list
  elements: dict
  sample:
    - pool: default
      name: web1-root.qcow2
      changed: true
      actions: [create]
      path: /var/lib/libvirt/images/web1-root.qcow2
      volume: {name: web1-root.qcow2, pool: default, path: /var/lib/libvirt/images/web1-root.qcow2}
volume:
  description: The volume after the run; null when it does not exist. In check mode, the volume before the run.
  returned: success, without O(volumes)
  type: dict
  contains:
    name:
      description: Volume name.
      type: str
      sample: web1-root.qcow2
    pool:
      description: Pool name.
      type: str
      sample: default
    path:
      description: Path of the volume as a guest disk source would use it.
      type: str
      sample: /var/lib/libvirt/images/web1-root.qcow2
    key:
      description: libvirt's unique key of the volume.
      type: str
      sample: /var/lib/libvirt/images/web1-root.qcow2
    capacity:
      description: Size seen by the guest, in bytes.
      type: int
      sample: 42949672960
    allocation:
      description: Space the volume takes in the pool now, in bytes.
      type: int
      sample: 200704
    format:
      description: Format libvirt reports; null when the pool reports none.
      type: str
      sample: qcow2
    backing:
      description: The backing image as C(path) and C(format); null for a volume without one.
      type: dict
      sample: {path: /var/lib/libvirt/images/debian-12-base.qcow2, format: qcow2}
"""

# Imports follow the documentation blocks, as validate-modules requires (E402 is
# allowed for modules in pyproject.toml).
import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_volume import manage_volume, manage_volumes
from ansible_collections.kvmops.kvm.plugins.module_utils._volume import HAS_LXML, LXML_IMPORT_ERROR

# The options of one volume: the single form and each item of ``volumes``.
VOLUME_OPTIONS = {
    "pool": {"type": "str"},
    "name": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "capacity": {"type": "raw"},
    "allocation": {"type": "raw"},
    "format": {"type": "str", "choices": ["raw", "qcow2"]},
    "backing_volume": {"type": "str"},
    "backing_path": {"type": "str"},
    "backing_format": {"type": "str", "choices": ["raw", "qcow2"]},
    "clone_from": {"type": "str"},
    "upload_src": {"type": "path"},
    "force": {"type": "bool", "default": False},
    "delete_snapshots": {"type": "bool", "default": False},
    "refresh_pool": {"type": "bool", "default": False},
}
SOURCES_EXCLUSIVE = [("backing_volume", "backing_path", "clone_from", "upload_src")]
ARGUMENT_SPEC = dict(
    copy.deepcopy(VOLUME_OPTIONS),
    uri={"type": "str", "default": "qemu:///system"},
    volumes={"type": "list", "elements": "dict"},
)


def item_params(module):
    """The params of each item of ``volumes``, top-level options as their defaults, each validated as one volume."""
    params = module.params
    inherited = {
        key: value for key, value in params.items() if key in VOLUME_OPTIONS and key != "name" and value is not None
    }
    item_spec = copy.deepcopy(VOLUME_OPTIONS)
    item_spec["pool"]["required"] = True
    item_spec["name"]["required"] = True
    validator = ArgumentSpecValidator(
        item_spec, mutually_exclusive=SOURCES_EXCLUSIVE, required_by={"backing_format": "backing_path"}
    )
    items, errors = [], []
    for index, item in enumerate(params["volumes"]):
        merged = dict(inherited)
        merged.update({key: value for key, value in item.items() if value is not None})
        result = validator.validate(merged)
        if result.error_messages:
            label = f"{merged.get('pool')}/{item['name']}" if item.get("name") else f"volumes[{index}]"
            errors.append(f"{label}: {'; '.join(result.error_messages)}")
            continue
        items.append(result.validated_parameters)
    if errors:
        module.fail_json(msg="invalid volumes, nothing was changed: " + " | ".join(errors))
    return items


def run_batch(module):
    try:
        results, failures = manage_volumes(module.params["uri"], item_params(module), module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    output = {"changed": any(result["changed"] for result in results), "volumes": results}
    if module._diff:
        output["diff"] = [result["diff"] for result in results if "diff" in result]
    if failures:
        module.fail_json(msg=f"{len(failures)} of {len(results)} volumes failed: " + " | ".join(failures), **output)
    module.exit_json(**output)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=SOURCES_EXCLUSIVE + [("name", "volumes")],
        required_one_of=[("name", "volumes")],
        required_by={"backing_format": "backing_path", "name": "pool"},
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    if not HAS_LXML:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    if module.params["volumes"] is not None:
        run_batch(module)
    try:
        result = manage_volume(module.params["uri"], module.params, module.check_mode, module._diff)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
