# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The definition check of libvirt_domain and its check-mode ``pending_storage``, without a daemon."""

from __future__ import annotations

import pytest
from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils import _domain_manager as manager
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_references import (
    NO_PENDING,
    PendingStorage,
    disk_sources,
    parse_pending_storage,
    reference_problems,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import SpecError
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

DESIRED = etree.fromstring(
    """<domain type="kvm"><name>web1</name>
  <os><type arch="x86_64">hvm</type><kernel>/boot/missing-vmlinuz</kernel></os>
  <devices>
    <disk type="file" device="disk"><source file="/var/lib/libvirt/images/web1-root.qcow2"/><target dev="vda"/></disk>
    <disk type="volume" device="disk"><source pool="default" volume="web1-data.qcow2"/><target dev="vdb"/></disk>
    <disk type="network" device="disk"><source protocol="rbd" name="vms/web1-big"/><target dev="vdc"/></disk>
    <disk type="file" device="cdrom"><source file="/var/lib/libvirt/images/cloud-init/web1-seed.iso"/>
      <target dev="sda"/></disk>
    <disk type="file" device="cdrom"><target dev="sdb"/></disk>
    <interface type="network"><source network="frontend"/></interface>
    <interface type="bridge"><source bridge="br-missing"/></interface>
  </devices></domain>"""
)
ROOT = "/var/lib/libvirt/images/web1-root.qcow2"
SEED = "/var/lib/libvirt/images/cloud-init/web1-seed.iso"


class NothingExists:
    """A DomainApi stand-in on a host that has none of what DESIRED refers to."""

    def volume_path(self, pool, volume):
        raise KvmopsError("libvirt volume", f"{pool}/{volume}", "does not exist")

    def find_volume_by_path(self, path):
        return False

    def network_exists(self, network):
        return False


def problems(pending=None, local=True):
    return reference_problems(DESIRED, NothingExists(), local, pending, lambda _p: False, lambda _b: False)


class TestParsePendingStorage:
    def test_paths_and_pool_volumes(self):
        pending = parse_pending_storage([ROOT, "default/web1-data.qcow2", " ceph-vms/web1-big ", ROOT])
        assert pending == PendingStorage(
            frozenset({ROOT}), frozenset({("default", "web1-data.qcow2"), ("ceph-vms", "web1-big")})
        )

    def test_empty(self):
        assert parse_pending_storage(None) == NO_PENDING
        assert parse_pending_storage([]) == NO_PENDING

    @pytest.mark.parametrize("entry", ["web1-root.qcow2", "default/", "", "relative/"])
    def test_refuses_what_names_nothing(self, entry):
        with pytest.raises(SpecError, match="neither an absolute path nor pool/volume"):
            parse_pending_storage([entry])

    def test_names_every_bad_entry(self):
        with pytest.raises(SpecError, match="'a', 'b' are neither absolute paths nor pool/volume"):
            parse_pending_storage(["a", "/ok", "b"])


def test_disk_sources_leave_out_network_disks_and_empty_drives():
    assert disk_sources(DESIRED) == [
        ("vda", "path", ROOT),
        ("vdb", "volume", ("default", "web1-data.qcow2")),
        ("sda", "path", SEED),
    ]


class TestReferenceProblems:
    def test_everything_missing_is_named(self):
        assert problems() == [
            f"disk vda: {ROOT} does not exist",
            "disk vdb: libvirt volume 'default/web1-data.qcow2': does not exist",
            f"disk sda: {SEED} does not exist",
            "interface 0: libvirt network 'frontend' is not defined",
            "interface 1: bridge 'br-missing' does not exist on the host",
            "kernel /boot/missing-vmlinuz does not exist",
        ]

    def test_pending_disks_pass_and_nothing_else_is_relaxed(self):
        pending = parse_pending_storage([ROOT, SEED, "default/web1-data.qcow2"])
        assert problems(pending) == [
            "interface 0: libvirt network 'frontend' is not defined",
            "interface 1: bridge 'br-missing' does not exist on the host",
            "kernel /boot/missing-vmlinuz does not exist",
        ]

    def test_a_pending_bridge_passes_and_only_that_bridge(self):
        pending = parse_pending_storage([], bridges=["br-missing"])
        got = problems(pending)
        assert "interface 1: bridge 'br-missing' does not exist on the host" not in got
        assert "interface 0: libvirt network 'frontend' is not defined" in got
        other = parse_pending_storage([], bridges=["br-other"])
        assert "interface 1: bridge 'br-missing' does not exist on the host" in problems(other)

    def test_a_pending_path_does_not_cover_a_pool_volume_of_that_name(self):
        pending = parse_pending_storage(["/var/lib/libvirt/images/web1-data.qcow2"])
        assert "disk vdb: libvirt volume 'default/web1-data.qcow2': does not exist" in problems(pending)

    def test_remote_uri_checks_only_what_libvirt_knows(self):
        assert problems(local=False) == [
            "disk vdb: libvirt volume 'default/web1-data.qcow2': does not exist",
            "interface 0: libvirt network 'frontend' is not defined",
        ]


class EmptyHost:
    def list_by_name(self):
        return {}


@pytest.mark.parametrize(("check_mode", "honoured"), [(True, True), (False, False)])
def test_converger_honours_pending_storage_in_check_mode_only(check_mode, honoured):
    pending = parse_pending_storage([ROOT])
    converger = manager.DomainConverger(EmptyHost(), check_mode=check_mode, pending=pending)
    assert converger.pending == (pending if honoured else NO_PENDING)


def test_converge_all_refuses_a_bad_entry_before_connecting(monkeypatch):
    def no_connection(uri):
        raise AssertionError("connected although the input is invalid")

    monkeypatch.setattr(manager, "libvirt_connection", no_connection)
    with pytest.raises(KvmopsError, match="invalid input, nothing was changed: pending_storage: 'web1' is neither"):
        manager.converge_all("qemu:///system", [], check_mode=True, pending_storage=["web1"])


def test_converge_all_ignores_pending_storage_outside_check_mode(monkeypatch):
    seen = {}

    class Converger:
        def __init__(self, api, check_mode, diff_mode, local, pending):
            seen["pending"] = pending

        def converge(self, spec, desired):
            return {}

        def finish_shutdowns(self):
            pass

    class Connection:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(manager, "libvirt_connection", lambda uri: Connection())
    monkeypatch.setattr(manager, "DomainApi", lambda conn: None)
    monkeypatch.setattr(manager, "DomainConverger", Converger)
    # Even a malformed entry: outside check mode the option is not looked at.
    assert manager.converge_all(
        "qemu:///system", [], check_mode=False, pending_storage=["web1"], pending_bridges=["br-guests"]
    ) == ([], [])
    assert seen["pending"] == NO_PENDING
    # In check mode the bridges ride along with the storage.
    manager.converge_all("qemu:///system", [], check_mode=True, pending_storage=[ROOT], pending_bridges=[" br-guests"])
    assert seen["pending"].bridges == frozenset({"br-guests"})
    assert seen["pending"].paths == frozenset({ROOT})
