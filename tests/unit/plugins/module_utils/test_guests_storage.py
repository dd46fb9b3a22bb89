# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvm_guests' storage results → volume paths and check mode's pending_storage, and the domains they give."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import kvm_guests as filters
from ansible_collections.kvmops.kvm.plugins.module_utils import _guests as guests

SETTINGS = {
    "dir_pool": "default",
    "rbd_pool": "ceph-vms",
    "rbd_ceph_pool": "vms",
    "rbd_hosts": [{"name": "198.51.100.1", "port": 6789}],
    "rbd_username": "libvirt",
    "rbd_secret_usage": "client.libvirt secret",
    "seed_dir": "/var/lib/libvirt/images/cloud-init",
}
IMAGES = "/var/lib/libvirt/images"
DB = {
    "name": "db1",
    "vcpus": 1,
    "memory": 128,
    "disks": [{"name": "root", "base_image": "base.qcow2"}, {"name": "data", "rbd": True, "size": "1GiB"}],
    "cloud_init": {"user_data": {"hostname": "db1"}},
}
WEB = {"name": "web1", "vcpus": 1, "memory": 64, "disks": [{"name": "root", "size": "1GiB"}]}


def volume_result(pool, name, path, changed=False, exists=True, **extra):
    """One item of libvirt_volume's ``volumes`` result."""
    volume = {"name": name, "pool": pool, "path": path} if exists else None
    return {"pool": pool, "name": name, "changed": changed, "volume": volume, "path": path, **extra}


# db1 exists with its root disk and seed; its new RBD disk and all of web1 are only predicted.
CHECK_RESULTS = [
    volume_result("default", "db1-root.qcow2", f"{IMAGES}/db1-root.qcow2"),
    volume_result("ceph-vms", "db1-data", "vms/db1-data", changed=True, exists=False),
    volume_result("default", "web1-root.qcow2", f"{IMAGES}/web1-root.qcow2", changed=True, exists=False),
]


def test_volume_options_drop_the_vm_key_only():
    specs = guests.volume_specs([DB, WEB], SETTINGS)
    options = guests.volume_options(specs)
    assert options == [{k: v for k, v in spec.items() if k != "vm"} for spec in specs]
    assert options[0] == {
        "name": "db1-root.qcow2",
        "pool": "default",
        "format": "qcow2",
        "backing_volume": "base.qcow2",
    }
    assert all("vm" in spec for spec in specs)


def test_volume_paths_include_the_paths_check_mode_predicts():
    failed = volume_result("default", "x.qcow2", None, failed=True, msg="boom")
    assert guests.volume_paths([*CHECK_RESULTS, failed, volume_result("default", "gone", None)]) == {
        "default/db1-root.qcow2": f"{IMAGES}/db1-root.qcow2",
        "ceph-vms/db1-data": "vms/db1-data",
        "default/web1-root.qcow2": f"{IMAGES}/web1-root.qcow2",
    }


class TestPendingStorage:
    def test_volumes_to_create_and_seeds_to_write(self):
        seeds = [
            {"item": {"vm": "db1", "path": "/s/db1-seed.iso"}, "changed": False, "actions": []},
            {"item": {"vm": "web1", "path": "/s/web1-seed.iso"}, "changed": True, "actions": ["create"]},
            {"item": {"vm": "x", "path": "/s/x-seed.iso"}, "changed": True, "actions": ["update user-data"]},
        ]
        # The RBD image by its libvirt pool/volume, the file by the path it will have.
        assert guests.pending_storage(CHECK_RESULTS, seeds, []) == [
            "ceph-vms/db1-data",
            f"{IMAGES}/web1-root.qcow2",
            "/s/web1-seed.iso",
        ]

    def test_a_resize_of_an_existing_volume_is_not_pending(self):
        grown = volume_result("default", "db1-root.qcow2", f"{IMAGES}/db1-root.qcow2", changed=True)
        assert guests.pending_storage([grown], [], []) == []

    def test_a_pool_that_does_not_exist_yet_names_the_volume(self):
        no_pool = volume_result("default", "web1-root.qcow2", None, changed=True, exists=False)
        assert guests.pending_storage([no_pool], [], []) == ["default/web1-root.qcow2"]

    def test_every_present_seed_when_the_seed_task_did_not_run(self):
        seeds = guests.seed_specs([DB, WEB, {"name": "old", "state": "absent"}], SETTINGS)
        assert guests.pending_storage([], [{"skipped": True}], seeds, seeds_skipped=True) == [
            "/var/lib/libvirt/images/cloud-init/db1-seed.iso"
        ]

    def test_filter_wraps_it(self):
        assert filters.guest_pending_storage(CHECK_RESULTS, None, None) == [
            "ceph-vms/db1-data",
            f"{IMAGES}/web1-root.qcow2",
        ]
        with pytest.raises(AnsibleFilterError, match="guest_pending_storage: seed_results item #0 must be a dict"):
            filters.guest_pending_storage([], ["x"], [])
        with pytest.raises(AnsibleFilterError, match="guest_pending_storage: missing 'item'"):
            filters.guest_pending_storage([], [{"actions": ["create"]}], [])
        assert filters.guest_volume_paths(None) == {}


def test_check_mode_domains_name_the_files_the_run_makes():
    """The domain specs check mode plans with equal the real run's: same disks, same paths."""
    predicted = guests.volume_paths(CHECK_RESULTS)
    real = {
        "default/db1-root.qcow2": f"{IMAGES}/db1-root.qcow2",
        "ceph-vms/db1-data": "vms/db1-data",
        "default/web1-root.qcow2": f"{IMAGES}/web1-root.qcow2",
    }
    for vm in (DB, WEB):
        in_check = guests.domain_spec(vm, None, dict(SETTINGS, volume_paths=predicted))
        in_run = guests.domain_spec(vm, None, dict(SETTINGS, volume_paths=real))
        assert in_check == in_run
    web_disk = guests.domain_spec(WEB, None, dict(SETTINGS, volume_paths=predicted))["disks"][0]
    assert web_disk["path"] == f"{IMAGES}/web1-root.qcow2"
    db_disks = guests.domain_spec(DB, None, dict(SETTINGS, volume_paths=predicted))["disks"]
    assert db_disks[1]["rbd"]["image"] == "vms/db1-data"
    assert db_disks[2]["path"] == "/var/lib/libvirt/images/cloud-init/db1-seed.iso"
