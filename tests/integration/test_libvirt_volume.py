# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_volume through Ansible against the test bed's real libvirtd.

Every test works in one dir pool the module fixture defines with virsh, and
checks the result with virsh, qemu-img and qemu-io rather than with the
module's own reading code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = "kvmops.kvm.libvirt_volume"
POOL = "kvmops-it-vol"
POOL_DIR = Path("/var/lib/kvmops-it/vol-pool")
MISSING_POOL = "kvmops-it-vol-missing"
MIB = 1024**2
# The RBD pool lives in the test bed's Ceph pool "vms", reached as client.libvirt.
RBD_POOL = "kvmops-it-vol-rbd"
RBD_SECRET_UUID = "6b766f70-732d-6974-2d76-6f6c2d726264"
CEPH_SH = Path(__file__).resolve().parents[1] / "testbed" / "ceph.sh"


def run(*args, check=True):
    # A hung daemon must fail the test, not hang it.
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{shlex.join(args)} failed ({result.returncode}): {result.stderr.strip()}", pytrace=False)
    return result


def tool(name):
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install qemu-utils and libvirt-clients", pytrace=False)
    return found


def virsh(uri, *args, check=True):
    return run(tool("virsh"), "--connect", uri, *args, check=check)


def image_info(path):
    """``qemu-img info`` of a volume file: format, virtual-size, backing-filename..."""
    return json.loads(run(tool("qemu-img"), "info", "--output=json", "-U", str(path)).stdout)


def qemu_io(path, fmt, command, check=True):
    return run(tool("qemu-io"), "-f", fmt, "-c", command, str(path), check=check)


def vol_path(name):
    return POOL_DIR / name


def libvirt_has_volume(uri, name):
    return virsh(uri, "vol-info", "--pool", POOL, name, check=False).returncode == 0


def _remove_pool(uri):
    """Undo the fixture, also after an interrupted earlier run left the pool behind."""
    if virsh(uri, "pool-info", POOL, check=False).returncode == 0:
        virsh(uri, "pool-destroy", POOL, check=False)
        virsh(uri, "pool-undefine", POOL)
    shutil.rmtree(POOL_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def pool(libvirtd):
    _remove_pool(libvirtd)
    virsh(libvirtd, "pool-define-as", POOL, "dir", "--target", str(POOL_DIR))
    virsh(libvirtd, "pool-build", POOL)
    virsh(libvirtd, "pool-start", POOL)
    try:
        yield POOL
    finally:
        _remove_pool(libvirtd)


@pytest.fixture
def volume(libvirtd, run_module, pool):
    """``volume(name, check=False, diff=False, **options)`` runs the module on ``pool``/``name``."""

    def call(name, check=False, diff=False, **options):
        return run_module(MODULE, {"uri": libvirtd, "pool": pool, "name": name, **options}, check=check, diff=diff)

    return call


def ok(result):
    assert result.rc == 0, result.result.get("msg", result.stdout)
    return result


def failed(result):
    assert result.rc != 0
    assert result.failed
    assert "\n" not in result["msg"]
    assert not result.result.get("module_stderr")
    return result["msg"]


def test_create_and_second_run_changes_nothing(volume):
    name = "kvmops-it-vol-create.qcow2"
    first = ok(volume(name, capacity="16MiB"))
    assert first["changed"] is True
    assert first["actions"] == ["create"]
    assert first["volume"]["path"] == str(vol_path(name))
    assert first["volume"]["capacity"] == 16 * MIB
    assert first["volume"]["format"] == "qcow2"
    info = image_info(vol_path(name))
    assert (info["format"], info["virtual-size"]) == ("qcow2", 16 * MIB)
    second = ok(volume(name, capacity="16MiB"))
    assert (second["changed"], second["actions"]) == (False, [])
    assert second["volume"] == first["volume"] | {"allocation": second["volume"]["allocation"]}


def test_check_mode_changes_nothing_and_predicts_the_run(libvirtd, volume):
    name = "kvmops-it-vol-check.raw"
    predicted = ok(volume(name, check=True, capacity=8, format="raw"))
    assert (predicted["changed"], predicted["actions"]) == (True, ["create"])
    assert predicted["volume"] is None
    assert not libvirt_has_volume(libvirtd, name)
    assert not vol_path(name).exists()
    assert ok(volume(name, capacity=8, format="raw"))["actions"] == predicted["actions"]

    grow = ok(volume(name, check=True, capacity=12))
    assert grow["actions"] == ["resize 8MiB -> 12MiB"]
    assert image_info(vol_path(name))["virtual-size"] == 8 * MIB

    delete = ok(volume(name, check=True, state="absent"))
    assert delete["actions"] == ["delete"]
    assert libvirt_has_volume(libvirtd, name)
    assert vol_path(name).exists()


def test_diff_shows_before_and_after(volume):
    name = "kvmops-it-vol-diff.qcow2"
    created = ok(volume(name, diff=True, capacity="8MiB"))
    assert created["diff"]["before"] == {"name": name, "pool": POOL, "state": "absent"}
    assert created["diff"]["after"] == {
        "name": name,
        "pool": POOL,
        "state": "present",
        "capacity": 8 * MIB,
        "capacity_human": "8MiB",
        "format": "qcow2",
        "backing": None,
    }
    grown = ok(volume(name, check=True, diff=True, capacity="10MiB"))
    assert (grown["diff"]["before"]["capacity"], grown["diff"]["after"]["capacity"]) == (8 * MIB, 10 * MIB)
    assert grown["diff"]["after"]["capacity_human"] == "10MiB"
    assert grown["diff"]["before_header"] == f"{POOL}/{name}"


def test_grow_then_shrink_refused_then_forced(volume):
    name = "kvmops-it-vol-resize.raw"
    created = ok(volume(name, capacity="8MiB", format="raw", allocation=0))
    # allocation 0 makes a sparse file, which is also what lets libvirt shrink it below.
    assert vol_path(name).stat().st_blocks * 512 < MIB
    assert created["volume"]["allocation"] < MIB
    grown = ok(volume(name, capacity="16MiB"))
    assert grown["actions"] == ["resize 8MiB -> 16MiB"]
    assert image_info(vol_path(name))["virtual-size"] == 16 * MIB

    msg = failed(volume(name, capacity="4MiB"))
    assert msg.startswith(f"libvirt volume '{POOL}/{name}': capacity 4MiB is smaller than the current 16MiB")
    assert "set force: true" in msg
    assert vol_path(name).stat().st_size == 16 * MIB

    shrunk = ok(volume(name, capacity="4MiB", force=True))
    assert shrunk["actions"] == ["resize 16MiB -> 4MiB"]
    assert vol_path(name).stat().st_size == 4 * MIB
    assert ok(volume(name, capacity="4MiB", force=True))["changed"] is False


def test_fully_allocated_raw_cannot_shrink(volume):
    name = "kvmops-it-vol-full.raw"
    ok(volume(name, capacity="4MiB", format="raw", allocation="4MiB"))
    predicted = volume(name, check=True, capacity="2MiB", force=True)
    msg = failed(predicted)
    assert msg.endswith(
        "cannot shrink to 2MiB: libvirt does not shrink a volume below the space it occupies (4MiB allocated)"
    )
    assert failed(volume(name, capacity="2MiB", force=True)) == msg
    assert vol_path(name).stat().st_size == 4 * MIB


def test_format_of_an_existing_volume_is_never_changed(volume):
    name = "kvmops-it-vol-fmt.qcow2"
    ok(volume(name, capacity="4MiB"))
    msg = failed(volume(name, format="raw"))
    assert msg.startswith(f"libvirt volume '{POOL}/{name}': format is qcow2, not raw; changing it would need")
    assert image_info(vol_path(name))["format"] == "qcow2"


def test_overlay_on_a_backing_volume(volume):
    base, overlay = "kvmops-it-vol-base.raw", "kvmops-it-vol-overlay.qcow2"
    ok(volume(base, capacity="8MiB", format="raw"))
    qemu_io(vol_path(base), "raw", "write -P 0xab 0 1M")

    created = ok(volume(overlay, backing_volume=base))
    assert created["actions"] == ["create"]
    assert created["volume"]["backing"] == {"path": str(vol_path(base)), "format": "raw"}
    info = image_info(vol_path(overlay))
    assert info["format"] == "qcow2"
    assert info["backing-filename"] == str(vol_path(base))
    assert info["backing-filename-format"] == "raw"
    assert info["virtual-size"] == 8 * MIB
    # The guest sees the base's data through the overlay.
    assert "read 1048576/1048576" in qemu_io(vol_path(overlay), "qcow2", "read -P 0xab 0 1M").stdout

    assert ok(volume(overlay, backing_volume=base))["changed"] is False
    other = "kvmops-it-vol-base2.raw"
    ok(volume(other, capacity="8MiB", format="raw"))
    msg = failed(volume(overlay, backing_path=str(vol_path(other))))
    assert "changing the backing image would need recreating the volume" in msg
    assert image_info(vol_path(overlay))["backing-filename"] == str(vol_path(base))


def test_clone(volume):
    source, copy = "kvmops-it-vol-golden.qcow2", "kvmops-it-vol-clone.qcow2"
    ok(volume(source, capacity="4MiB"))
    qemu_io(vol_path(source), "qcow2", "write -P 0x5a 1M 1M")

    cloned = ok(volume(copy, clone_from=source, capacity="6MiB"))
    assert cloned["actions"] == [f"clone from {source}", "resize 4MiB -> 6MiB"]
    info = image_info(vol_path(copy))
    assert (info["format"], info["virtual-size"]) == ("qcow2", 6 * MIB)
    assert "backing-filename" not in info
    assert "read 1048576/1048576" in qemu_io(vol_path(copy), "qcow2", "read -P 0x5a 1M 1M").stdout
    assert ok(volume(copy, clone_from=source, capacity="6MiB"))["changed"] is False


def test_upload_once_then_forced(tmp_path, volume):
    src = tmp_path / "image.qcow2"
    run(tool("qemu-img"), "create", "-q", "-f", "qcow2", str(src), "8M")
    qemu_io(src, "qcow2", "write -P 0xc3 2M 1M")
    name = "kvmops-it-vol-upload.qcow2"

    uploaded = ok(volume(name, upload_src=str(src)))
    assert uploaded["actions"] == ["create", "upload"]
    assert uploaded["volume"]["capacity"] == 8 * MIB
    # Same guest-visible content, independent of how the two files are laid out.
    assert run(tool("qemu-img"), "compare", "-f", "qcow2", "-F", "qcow2", str(src), str(vol_path(name))).returncode == 0

    mtime = vol_path(name).stat().st_mtime_ns
    again = ok(volume(name, upload_src=str(src)))
    assert (again["changed"], again["actions"]) == (False, [])
    assert vol_path(name).stat().st_mtime_ns == mtime

    qemu_io(src, "qcow2", "write -P 0x3c 0 1M")
    forced = ok(volume(name, upload_src=str(src), force=True))
    assert forced["actions"] == ["delete", "create", "upload"]
    assert "read 1048576/1048576" in qemu_io(vol_path(name), "qcow2", "read -P 0x3c 0 1M").stdout


def test_upload_raw_then_grow(tmp_path, volume):
    src = tmp_path / "disk.raw"
    src.write_bytes(os.urandom(3 * MIB))
    name = "kvmops-it-vol-upload.raw"
    uploaded = ok(volume(name, upload_src=str(src), capacity="4MiB"))
    assert uploaded["actions"] == ["create", "upload", "resize 3MiB -> 4MiB"]
    data = vol_path(name).read_bytes()
    assert len(data) == 4 * MIB
    assert data[: 3 * MIB] == src.read_bytes()
    assert image_info(vol_path(name))["format"] == "raw"


def test_failed_upload_deletes_the_volume_it_made(libvirtd, volume):
    # sysfs attributes claim 4096 bytes but read much less: a file that shrank under the upload.
    src = Path("/sys/devices/system/cpu/online")
    assert src.stat().st_size > len(src.read_bytes()), "need a file whose size overstates its content"
    name = "kvmops-it-vol-short.raw"
    msg = failed(volume(name, upload_src=str(src)))
    assert msg.startswith(f"libvirt volume '{POOL}/{name}': upload of '{src}' failed, volume deleted again: ")
    assert "the file ended after" in msg
    assert not libvirt_has_volume(libvirtd, name)
    assert not vol_path(name).exists()


def test_upload_refuses_mismatched_format(tmp_path, volume):
    src = tmp_path / "image.qcow2"
    run(tool("qemu-img"), "create", "-q", "-f", "qcow2", str(src), "1M")
    name = "kvmops-it-vol-mismatch.raw"
    msg = failed(volume(name, upload_src=str(src), format="raw"))
    assert msg == f"libvirt volume '{POOL}/{name}': upload_src '{src}' is a qcow2 image, not raw"
    assert not vol_path(name).exists()


def test_refresh_pool_sees_files_made_outside_libvirt(volume):
    name = "kvmops-it-vol-outside.qcow2"
    run(tool("qemu-img"), "create", "-q", "-f", "qcow2", str(vol_path(name)), "2M")
    seen = ok(volume(name, refresh_pool=True, capacity="2MiB"))
    assert (seen["changed"], seen["actions"]) == (False, [])
    assert (seen["volume"]["format"], seen["volume"]["capacity"]) == ("qcow2", 2 * MIB)


def test_delete(libvirtd, volume):
    name = "kvmops-it-vol-delete.qcow2"
    ok(volume(name, capacity="1MiB"))
    deleted = ok(volume(name, state="absent"))
    assert (deleted["changed"], deleted["actions"], deleted["volume"]) == (True, ["delete"], None)
    assert not libvirt_has_volume(libvirtd, name)
    assert not vol_path(name).exists()
    again = ok(volume(name, state="absent"))
    assert (again["changed"], again["actions"]) == (False, [])


def test_delete_snapshots_refused_outside_rbd(libvirtd, volume):
    name = "kvmops-it-vol-snapdel.qcow2"
    ok(volume(name, capacity="1MiB"))
    msg = failed(volume(name, state="absent", delete_snapshots=True))
    assert msg == f"libvirt volume '{POOL}/{name}': delete_snapshots applies to rbd pools only; pool '{POOL}' is dir"
    assert libvirt_has_volume(libvirtd, name)


def test_missing_pool_is_named(libvirtd, run_module):
    result = run_module(MODULE, {"uri": libvirtd, "pool": MISSING_POOL, "name": "kvmops-it-vol-x", "capacity": 1})
    msg = failed(result)
    assert msg.startswith(f"libvirt pool '{MISSING_POOL}': ")
    assert "Storage pool not found" in msg


def test_check_mode_predicts_a_volume_in_a_pool_still_to_come(libvirtd, run_module):
    # --check of a whole site: kvm_ceph's RBD pool is only predicted, then
    # kvm_guests asks for a disk in it. Check mode reports the create; the
    # real run still fails on the missing pool (test above).
    args = {"uri": libvirtd, "pool": MISSING_POOL, "name": "kvmops-it-vol-x", "capacity": "1MiB"}
    result = run_module(MODULE, args, check=True, diff=True)
    assert not result.failed, result.result
    assert result["changed"]
    assert result["actions"] == [f"create (pool {MISSING_POOL} does not exist yet)"]
    assert result["volume"] is None
    assert result["diff"]["after"]["state"] == "present"
    absent = run_module(MODULE, dict(args, state="absent"), check=True)
    assert not absent.failed and not absent["changed"], absent.result


def test_bad_size_is_named(libvirtd, volume):
    name = "kvmops-it-vol-badsize"
    msg = failed(volume(name, capacity="20XB"))
    assert msg.startswith(f"libvirt volume '{POOL}/{name}': invalid capacity: size '20XB' has unknown unit 'XB'")
    assert not libvirt_has_volume(libvirtd, name)


def test_options_that_exclude_each_other(volume):
    msg = failed(volume("kvmops-it-vol-excl", clone_from="a", upload_src="/tmp/b"))
    assert "mutually exclusive" in msg


def ceph_conf():
    """The test bed's ceph.conf, failing (never skipping) when the cluster is not up."""
    conf = os.environ.get("CEPH_CONF")
    if not conf:
        exports = run("bash", str(CEPH_SH), "env").stdout
        conf = next((line.split("=", 1)[1] for line in exports.splitlines() if "CEPH_CONF=" in line), "")
    if not Path(conf).is_file():
        pytest.fail(f"Ceph test bed not set up: {conf!r} missing (run tests/testbed/ceph.sh start)", pytrace=False)
    probe = run(tool("ceph"), "--conf", conf, "--connect-timeout", "10", "fsid", check=False)
    if probe.returncode != 0:
        pytest.fail(
            f"Ceph test bed not running (run tests/testbed/ceph.sh start): {probe.stderr.strip()}", pytrace=False
        )
    return conf


def rbd_images(conf):
    return set(json.loads(run(tool("rbd"), "--conf", conf, "ls", "vms", "--format", "json").stdout))


def _remove_rbd_pool(uri):
    """Volumes (clones before their sources), then the pool, then the secret: the order the test bed needs."""
    if virsh(uri, "pool-info", RBD_POOL, check=False).returncode == 0:
        if "running" in virsh(uri, "pool-info", RBD_POOL).stdout:
            for _pass in range(3):
                # libvirt 9.0's vol-list has no --name: a two-line header, then "name path" rows.
                rows = virsh(uri, "vol-list", RBD_POOL).stdout.splitlines()[2:]
                names = [row.split()[0] for row in rows if row.strip()]
                for name in (n for n in names if n.startswith("kvmops-it-vol")):
                    virsh(uri, "vol-delete", "--pool", RBD_POOL, "--delete-snapshots", name, check=False)
            virsh(uri, "pool-destroy", RBD_POOL)
        virsh(uri, "pool-undefine", RBD_POOL)
    virsh(uri, "secret-undefine", RBD_SECRET_UUID, check=False)


@pytest.fixture(scope="module")
def rbd_pool(libvirtd, tmp_path_factory):
    conf = ceph_conf()
    keyring = Path(conf).with_name("ceph.client.libvirt.keyring")
    key = run(tool("ceph-authtool"), "-p", "-n", "client.libvirt", str(keyring)).stdout.strip()
    mon = re.search(r"v1:([0-9.]+):(\d+)", Path(conf).read_text())
    assert mon, f"no v1 monitor address in {conf}"
    _remove_rbd_pool(libvirtd)
    xml_dir = tmp_path_factory.mktemp("rbd")
    secret_xml = xml_dir / "secret.xml"
    secret_xml.write_text(
        f"<secret ephemeral='no' private='yes'><uuid>{RBD_SECRET_UUID}</uuid>"
        f"<usage type='ceph'><name>{RBD_POOL}</name></usage></secret>"
    )
    pool_xml = xml_dir / "pool.xml"
    pool_xml.write_text(
        f"<pool type='rbd'><name>{RBD_POOL}</name><source><name>vms</name>"
        f"<host name='{mon.group(1)}' port='{mon.group(2)}'/>"
        f"<auth username='libvirt' type='ceph'><secret uuid='{RBD_SECRET_UUID}'/></auth></source></pool>"
    )
    try:
        virsh(libvirtd, "secret-define", str(secret_xml))
        virsh(libvirtd, "secret-set-value", RBD_SECRET_UUID, "--base64", key)
        virsh(libvirtd, "pool-define", str(pool_xml))
        virsh(libvirtd, "pool-start", RBD_POOL)
        yield conf
    finally:
        _remove_rbd_pool(libvirtd)


def test_rbd_pool_raw_clone_and_delete_with_snapshots(libvirtd, run_module, rbd_pool, tmp_path):
    def rbd_volume(name, **options):
        return run_module(MODULE, {"uri": libvirtd, "pool": RBD_POOL, "name": name, **options})

    golden, copy = "kvmops-it-vol-rbd-golden", "kvmops-it-vol-rbd-clone"
    created = ok(rbd_volume(golden, capacity="16MiB"))
    assert (created["volume"]["format"], created["volume"]["path"]) == ("raw", f"vms/{golden}")
    info = json.loads(run(tool("rbd"), "--conf", rbd_pool, "info", f"vms/{golden}", "--format", "json").stdout)
    assert info["size"] == 16 * MIB

    assert "holds raw volumes only, not qcow2" in failed(rbd_volume("kvmops-it-vol-rbd-q", capacity=1, format="qcow2"))
    src = tmp_path / "disk.raw"
    src.write_bytes(b"\1" * MIB)
    assert "does not support uploads through libvirt" in failed(rbd_volume("kvmops-it-vol-rbd-up", upload_src=str(src)))
    assert not rbd_images(rbd_pool) & {"kvmops-it-vol-rbd-q", "kvmops-it-vol-rbd-up"}

    cloned = ok(rbd_volume(copy, clone_from=golden, capacity="32MiB"))
    assert cloned["actions"] == [f"clone from {golden}", "resize 16MiB -> 32MiB"]
    info = json.loads(run(tool("rbd"), "--conf", rbd_pool, "info", f"vms/{copy}", "--format", "json").stdout)
    assert info["size"] == 32 * MIB
    # libvirt clones through a protected snapshot of the source...
    snaps = json.loads(run(tool("rbd"), "--conf", rbd_pool, "snap", "ls", f"vms/{golden}", "--format", "json").stdout)
    assert snaps

    # ...which only a delete with snapshots removes, and the module passes that flag for rbd unasked.
    assert ok(rbd_volume(copy, state="absent"))["actions"] == ["delete"]
    assert ok(rbd_volume(golden, state="absent"))["actions"] == ["delete"]
    assert not rbd_images(rbd_pool) & {golden, copy}
