# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt_volume's batch (``volumes``) over a stand-in libvirt: one lookup per pool, a result per item.

The stand-in answers the calls _libvirt_volume makes the way libvirt does
(error codes for a missing pool or volume, target paths as the dir and rbd
backends name them); the integration tests run the same paths on libvirtd.
"""

from __future__ import annotations

import contextlib

import pytest
from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_volume as manager
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt

MIB = 1024**2


class FakeError(libvirt.libvirtError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    def get_error_code(self):
        return self.code


class FakeVolume:
    def __init__(self, pool, name, capacity, fmt):
        self.pool, self.name, self.capacity, self.fmt = pool, name, capacity, fmt

    def path(self):
        return self.pool.volume_path(self.name)

    def XMLDesc(self, flags):  # noqa: N802 - libvirt's method name
        return (
            f"<volume><name>{self.name}</name><key>{self.path()}</key>"
            f"<capacity unit='bytes'>{self.capacity}</capacity><allocation unit='bytes'>0</allocation>"
            f"<target><path>{self.path()}</path><format type='{self.fmt}'/></target></volume>"
        )

    def resize(self, capacity, flags):
        self.capacity = capacity


class FakePool:
    def __init__(self, name, pool_type="dir", target="/var/lib/libvirt/images", source=None):
        self._name, self.type, self.target, self.source = name, pool_type, target, source
        self.volumes = {}
        self.refreshes = 0

    def volume_path(self, name):
        return f"{self.source}/{name}" if self.type == "rbd" else f"{self.target}/{name}"

    def isActive(self):  # noqa: N802
        return True

    def XMLDesc(self, flags):  # noqa: N802
        source = f"<source><name>{self.source}</name><host name='192.0.2.1'/></source>" if self.source else ""
        target = f"<target><path>{self.target}</path></target>" if self.target else ""
        return f"<pool type='{self.type}'><name>{self._name}</name>{source}{target}</pool>"

    def refresh(self, flags):
        self.refreshes += 1

    def storageVolLookupByName(self, name):  # noqa: N802
        if name not in self.volumes:
            raise FakeError(libvirt.VIR_ERR_NO_STORAGE_VOL, f"Storage volume not found: {name}")
        return self.volumes[name]

    def createXML(self, xml, flags):  # noqa: N802
        root = etree.fromstring(xml.encode())
        name = root.findtext("name")
        self.volumes[name] = FakeVolume(
            self, name, int(root.findtext("capacity")), root.find("target/format").get("type")
        )
        return self.volumes[name]


class FakeConnection:
    uri = "qemu:///system"

    def __init__(self, *pools):
        self.raw = self
        self.pools = {pool._name: pool for pool in pools}
        self.lookups = []

    def storagePoolLookupByName(self, name):  # noqa: N802
        self.lookups.append(name)
        if name not in self.pools:
            raise FakeError(libvirt.VIR_ERR_NO_STORAGE_POOL, f"Storage pool not found: {name}")
        return self.pools[name]


@pytest.fixture
def host(monkeypatch):
    conn = FakeConnection(FakePool("default"), FakePool("ceph-vms", "rbd", target=None, source="vms"))

    @contextlib.contextmanager
    def connection(uri):
        yield conn

    monkeypatch.setattr(manager, "libvirt_connection", connection)
    # The rbd pool's monitors are not probed here (the integration tests reach Ceph).
    monkeypatch.setattr(manager, "require_monitors", lambda *args: None)
    return conn


def item(name, pool="default", **options):
    return {"pool": pool, "name": name, "state": "present", **options}


ITEMS = [
    item("web1-root.qcow2", capacity="16MiB"),
    item("web1-data.qcow2", capacity="8MiB"),
    item("web1-big", pool="ceph-vms", capacity="32MiB", format="raw"),
]


def test_check_mode_predicts_paths_then_the_run_makes_them_and_a_rerun_changes_nothing(host):
    checked, failures = manager.manage_volumes("qemu:///system", ITEMS, True, True)
    assert failures == []
    assert [(r["pool"], r["name"], r["changed"], r["actions"], r["volume"]) for r in checked] == [
        ("default", "web1-root.qcow2", True, ["create"], None),
        ("default", "web1-data.qcow2", True, ["create"], None),
        ("ceph-vms", "web1-big", True, ["create"], None),
    ]
    assert [r["path"] for r in checked] == [
        "/var/lib/libvirt/images/web1-root.qcow2",
        "/var/lib/libvirt/images/web1-data.qcow2",
        "vms/web1-big",
    ]
    assert checked[0]["diff"]["after"]["capacity"] == 16 * MIB
    assert not host.pools["default"].volumes
    # Each pool looked up once for the batch (plus the check-mode existence probe).
    assert host.lookups.count("default") == 2 and host.lookups.count("ceph-vms") == 2

    host.lookups.clear()
    made, failures = manager.manage_volumes("qemu:///system", ITEMS, False, True)
    assert failures == []
    assert [r["path"] for r in made] == [r["path"] for r in checked]
    assert [(r["changed"], r["actions"], r["diff"]) for r in made] == [
        (r["changed"], r["actions"], r["diff"]) for r in checked
    ]
    assert made[0]["volume"]["capacity"] == 16 * MIB
    assert host.lookups == ["default", "ceph-vms"]

    again, _failures = manager.manage_volumes("qemu:///system", ITEMS, False, False)
    assert [r["changed"] for r in again] == [False, False, False]
    assert [r["path"] for r in again] == [r["path"] for r in made]
    assert all("diff" not in r for r in again)


def test_one_failing_volume_does_not_stop_the_others(host):
    manager.manage_volumes("qemu:///system", [item("a.qcow2", capacity="16MiB")], False, False)
    items = [item("a.qcow2", capacity="8MiB"), item("b.qcow2", capacity="8MiB")]
    results, failures = manager.manage_volumes("qemu:///system", items, False, False)
    assert failures == [
        "libvirt volume 'default/a.qcow2': capacity 8MiB is smaller than the current 16MiB; shrinking cuts off "
        "the end of the disk and the data on it: set force: true to shrink"
    ]
    assert results[0]["failed"] is True and results[0]["changed"] is False and results[0]["path"] is None
    assert results[1]["changed"] is True and "b.qcow2" in host.pools["default"].volumes


def test_refresh_pool_refreshes_each_pool_once(host):
    items = [item("a.qcow2", capacity=8, refresh_pool=True), item("b.qcow2", capacity=8, refresh_pool=True)]
    manager.manage_volumes("qemu:///system", items, False, False)
    assert host.pools["default"].refreshes == 1


def test_a_pool_check_mode_only_predicted(host):
    items = [item("a.qcow2", pool="later", capacity=8)]
    checked, failures = manager.manage_volumes("qemu:///system", items, True, False)
    assert failures == []
    assert checked[0]["changed"] is True and checked[0]["path"] is None
    assert checked[0]["actions"] == ["create (pool later does not exist yet)"]
    made, failures = manager.manage_volumes("qemu:///system", items, False, False)
    assert failures == ["libvirt pool 'later': Storage pool not found: later"]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [item("a.qcow2", capacity=8), item("a.qcow2", capacity=16)],
            "libvirt volume 'volumes': invalid input, nothing was changed: libvirt volume 'default/a.qcow2': "
            "listed twice",
        ),
        (
            [item("a.qcow2", capacity=8), item("b.qcow2", capacity="lots")],
            "invalid input, nothing was changed: libvirt volume 'default/b.qcow2': invalid capacity",
        ),
    ],
)
def test_invalid_items_change_nothing(host, items, message):
    with pytest.raises(KvmopsError, match=message.replace("(", r"\(")) as caught:
        manager.manage_volumes("qemu:///system", items, False, False)
    assert str(caught.value).startswith("libvirt volume 'volumes': invalid input")
    assert host.lookups == [] and not host.pools["default"].volumes
