# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_pool through Ansible against the test bed's real libvirtd and Ceph.

Directory pools live under /var/lib/kvmops-it; RBD pools use the test bed's
Ceph pool "vms" as client.libvirt. Results are checked with virsh and rbd.
Faults: monitors that do not answer (a closed port on 127.0.0.1, and the test
bed's own monitor stopped under an active pool), a wrong key, and pools that
still hold volumes. Teardown: pools, then secrets.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

MODULE = "kvmops.kvm.libvirt_pool"
DIR_POOL = "kvmops-it-pool-dir"
RBD_POOL = "kvmops-it-pool-rbd"
WORK = Path("/var/lib/kvmops-it/pool")
SECRET_USAGE = "kvmops-it-pool"
CEPH_SH = Path(__file__).resolve().parents[1] / "testbed" / "ceph.sh"
# Well under the 30 s libvirt waits for absent monitors, with room for Ansible's own start-up.
BOUNDED_SECONDS = 10


def run(*args, check=True):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def virsh(uri, *args, check=True):
    return run("virsh", "--connect", uri, *args, check=check)


def defined(uri, name):
    return virsh(uri, "pool-info", name, check=False).returncode == 0


def pool_state(uri, name):
    info = virsh(uri, "pool-info", name).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return fields["State"].strip(), fields["Autostart"].strip()


def drop_pool(uri, name):
    if defined(uri, name):
        if pool_state(uri, name)[0] == "running":
            rows = virsh(uri, "vol-list", name).stdout.splitlines()[2:]
            for row in rows:
                # Only this file's volumes: an rbd pool shows every image of the
                # test bed's Ceph pool, where other files' tests (running beside
                # this one in another worker) and lab guests keep disks too.
                if row.split() and row.split()[0].startswith("kvmops-it-pool-"):
                    virsh(uri, "vol-delete", "--pool", name, row.split()[0], check=False)
            virsh(uri, "pool-destroy", name, check=False)
        virsh(uri, "pool-undefine", name, check=False)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dir_pool(libvirtd):
    drop_pool(libvirtd, DIR_POOL)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    yield libvirtd
    drop_pool(libvirtd, DIR_POOL)
    shutil.rmtree(WORK, ignore_errors=True)


@pytest.fixture
def secret(libvirtd, ceph, run_module):
    """A libvirt secret with client.libvirt's key; removed after the pools (teardown order)."""
    names = [RBD_POOL, f"{RBD_POOL}-down", f"{RBD_POOL}-wrong"]
    for name in names:
        drop_pool(libvirtd, name)
    made = run_module(
        "kvmops.kvm.libvirt_secret", {"uri": libvirtd, "usage_name": SECRET_USAGE, "value": ceph.libvirt_key}
    )
    assert not made.failed, made.result
    yield made["secret"]["uuid"]
    for name in names:
        drop_pool(libvirtd, name)
    run_module("kvmops.kvm.libvirt_secret", {"uri": libvirtd, "usage_name": SECRET_USAGE, "state": "absent"})


def dir_args(uri, **extra):
    return {"uri": uri, "name": DIR_POOL, "type": "dir", "path": str(WORK / "a"), **extra}


def rbd_args(uri, ceph, name=RBD_POOL, hosts=None, **extra):
    hosts = hosts or [{"name": ceph.mon_host, "port": ceph.mon_port}]
    rbd = {"pool": ceph.pool, "hosts": hosts, "username": "libvirt", "secret_usage": SECRET_USAGE}
    return {"uri": uri, "name": name, "type": "rbd", "rbd": rbd, "state": "active", **extra}


def test_dir_pool_predicted_built_started_and_idempotent(dir_pool, run_module):
    args = dir_args(dir_pool, build=True, state="active", autostart=True)
    predicted = run_module(MODULE, args, check=True, diff=True)
    assert predicted["actions"] == ["define", "build", "start", "autostart on"]
    assert not defined(dir_pool, DIR_POOL) and not (WORK / "a").exists()
    made = run_module(MODULE, args, diff=True)
    assert made["actions"] == predicted["actions"]
    assert made["diff"]["after"] == predicted["diff"]["after"]
    assert (WORK / "a").is_dir()
    assert pool_state(dir_pool, DIR_POOL) == ("running", "yes")
    assert made["pool"]["state"] == "active" and made["pool"]["volume_count"] == 0
    again = run_module(MODULE, args)
    assert (again["changed"], again["actions"]) == (False, [])


def test_changing_an_empty_running_pool_restarts_it(dir_pool, run_module):
    run_module(MODULE, dir_args(dir_pool, build=True, state="active"))
    (WORK / "b").mkdir()
    changed = run_module(MODULE, dir_args(dir_pool, path=str(WORK / "b"), state="active"), diff=True)
    assert changed["actions"] == ["update definition", "stop (to apply the new definition)", "start"]
    assert changed["changes"] == [f"pool/target/path: '{WORK / 'a'}' -> '{WORK / 'b'}'"]
    assert f"<path>{WORK / 'b'}</path>" in virsh(dir_pool, "pool-dumpxml", DIR_POOL).stdout
    assert pool_state(dir_pool, DIR_POOL)[0] == "running"


def test_pool_with_volumes_is_neither_changed_nor_deleted_unless_forced(dir_pool, run_module):
    run_module(MODULE, dir_args(dir_pool, build=True, state="active"))
    virsh(dir_pool, "vol-create-as", DIR_POOL, "v1.raw", "1M")
    (WORK / "b").mkdir()
    refused = run_module(MODULE, dir_args(dir_pool, path=str(WORK / "b"), state="active"))
    assert refused.failed
    assert refused["msg"] == (
        f"libvirt pool '{DIR_POOL}': changing the pool definition refused: the pool holds 1 volume; "
        "set force: true to do it anyway (volumes are never deleted by this module)"
    )
    deleting = run_module(MODULE, {"uri": dir_pool, "name": DIR_POOL, "state": "absent"})
    assert deleting.failed
    assert "deleting the pool refused: the pool holds 1 volume" in deleting["msg"]
    assert defined(dir_pool, DIR_POOL)
    forced = run_module(MODULE, {"uri": dir_pool, "name": DIR_POOL, "state": "absent", "force": True})
    assert forced["actions"] == ["destroy", "undefine"]
    assert not defined(dir_pool, DIR_POOL)
    assert (WORK / "a" / "v1.raw").exists(), "the volume's storage stays"


def test_inactive_state_and_refresh(dir_pool, run_module):
    run_module(MODULE, dir_args(dir_pool, build=True, state="active", autostart=True))
    (WORK / "a" / "outside.raw").write_bytes(b"\0" * 4096)
    refreshed = run_module(MODULE, {"uri": dir_pool, "name": DIR_POOL, "state": "active", "refresh": True})
    assert (refreshed["changed"], refreshed["actions"]) == (False, ["refresh"])
    assert refreshed["pool"]["volume_count"] == 1
    stopped = run_module(MODULE, {"uri": dir_pool, "name": DIR_POOL, "state": "inactive", "autostart": False})
    assert stopped["actions"] == ["stop", "autostart off"]
    assert pool_state(dir_pool, DIR_POOL) == ("inactive", "no")
    assert stopped["pool"]["volume_count"] is None


def test_missing_directory_fails_and_leaves_no_pool(dir_pool, run_module):
    result = run_module(MODULE, dir_args(dir_pool, path=str(WORK / "missing"), state="active"))
    assert result.failed
    assert result["msg"].startswith(f"libvirt pool '{DIR_POOL}': start failed, pool definition removed again: ")
    assert not defined(dir_pool, DIR_POOL)


def test_rbd_pool_active_idempotent_and_refuses_deletion_with_volumes(libvirtd, ceph, secret, run_module):
    args = rbd_args(libvirtd, ceph, autostart=True)
    predicted = run_module(MODULE, args, check=True)
    assert predicted["actions"] == ["define", "start", "autostart on"]
    made = run_module(MODULE, args, diff=True)
    assert made["actions"] == ["define", "start", "autostart on"], made.result
    assert made["pool"]["source_name"] == "vms" and made["pool"]["capacity"] > 0
    assert pool_state(libvirtd, RBD_POOL) == ("running", "yes")
    assert f"<host name='{ceph.mon_host}' port='{ceph.mon_port}'/>" in virsh(libvirtd, "pool-dumpxml", RBD_POOL).stdout
    assert not run_module(MODULE, args)["changed"]

    image = "kvmops-it-pool-vol"
    virsh(libvirtd, "vol-create-as", RBD_POOL, image, "8M")
    try:
        # The Ceph pool may hold other images too (lab guests' disks after a Molecule run).
        count = len(ceph.images())
        refused = run_module(MODULE, {"uri": libvirtd, "name": RBD_POOL, "state": "absent"})
        assert refused.failed
        assert refused["msg"] == (
            f"libvirt pool '{RBD_POOL}': deleting the pool refused: the pool holds {count} "
            f"volume{'s' if count != 1 else ''}; set force: true to do it anyway (volumes are never deleted by "
            "this module)"
        )
        assert pool_state(libvirtd, RBD_POOL)[0] == "running"
    finally:
        virsh(libvirtd, "vol-delete", "--pool", RBD_POOL, image)
    assert image not in ceph.images()
    # Other images (the lab guests' disks) still keep the pool in use: undefining
    # it then needs force, which never deletes volumes.
    gone = run_module(MODULE, {"uri": libvirtd, "name": RBD_POOL, "state": "absent", "force": bool(ceph.images())})
    assert gone["actions"] == ["destroy", "undefine"], gone.result


def test_monitors_down_fail_within_a_bounded_time_naming_monitor_and_pool(libvirtd, ceph, secret, run_module):
    port = closed_port()
    name = f"{RBD_POOL}-down"
    started = time.monotonic()
    result = run_module(MODULE, rbd_args(libvirtd, ceph, name=name, hosts=[{"name": "127.0.0.1", "port": port}]))
    elapsed = time.monotonic() - started
    assert result.failed
    assert result["msg"] == (
        f"libvirt pool '{name}': no Ceph monitor of Ceph pool '{ceph.pool}' answers: 127.0.0.1:{port} (Connection "
        "refused). libvirt would wait 30 s per call for them; check that the cluster runs and this host reaches its "
        "monitors (the rbd pool's hosts)"
    )
    assert elapsed < BOUNDED_SECONDS, f"took {elapsed:.1f} s"
    assert not defined(libvirtd, name), "nothing may be defined when the monitors are down"
    # Check mode predicts the same failure.
    predicted = run_module(
        MODULE, rbd_args(libvirtd, ceph, name=name, hosts=[{"name": "127.0.0.1", "port": port}]), check=True
    )
    assert predicted.failed and predicted["msg"] == result["msg"]
    print(f"monitors down: failed after {elapsed:.2f} s (whole ansible-playbook run)")


@pytest.mark.stops_ceph
def test_stopped_monitor_under_an_active_pool_fails_volume_and_refresh_fast(
    libvirtd, ceph, secret, run_module, stopped_monitor_after_pool
):
    monitor = f"{ceph.mon_host}:{ceph.mon_port}"
    expected = (
        f"libvirt pool '{RBD_POOL}': no Ceph monitor of Ceph pool '{ceph.pool}' answers: {monitor} (Connection "
        "refused). libvirt would wait 30 s per call for them"
    )
    for module, args in (
        (
            "kvmops.kvm.libvirt_volume",
            {"uri": libvirtd, "pool": RBD_POOL, "name": "kvmops-it-pool-down", "capacity": 8},
        ),
        (MODULE, {"uri": libvirtd, "name": RBD_POOL, "state": "active", "refresh": True}),
    ):
        started = time.monotonic()
        result = run_module(module, args)
        elapsed = time.monotonic() - started
        assert result.failed, result.result
        assert result["msg"].startswith(expected), result["msg"]
        assert elapsed < BOUNDED_SECONDS, f"{module} took {elapsed:.1f} s"
        print(f"{module} with the monitor stopped: failed after {elapsed:.2f} s (whole ansible-playbook run)")
    assert pool_state(libvirtd, RBD_POOL)[0] == "running", "the pool is left as it was"


@pytest.fixture
def stopped_monitor_after_pool(libvirtd, ceph, secret, run_module):
    """An active rbd pool on the real monitor, then that monitor stopped (fixture order matters)."""
    made = run_module(MODULE, rbd_args(libvirtd, ceph))
    assert not made.failed, made.result
    pid_file = Path(ceph.conf).parent / "run" / "mon.a.pid"
    pid = int(pid_file.read_text().strip())
    run("kill", str(pid))
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), f"ceph-mon (pid {pid}) did not stop within 30 s"
    try:
        yield
    finally:
        # The monitor comes back before the secret fixture drops the pool:
        # destroying an rbd pool without a cluster is one of libvirt's hangs.
        run("bash", str(CEPH_SH), "start")


def test_wrong_key_fails_clearly_and_leaves_no_pool(libvirtd, ceph, secret, run_module):
    wrong_usage = f"{SECRET_USAGE}-wrong"
    wrong_key = run("ceph-authtool", "--gen-print-key").stdout.strip()
    name = f"{RBD_POOL}-wrong"
    made = run_module("kvmops.kvm.libvirt_secret", {"uri": libvirtd, "usage_name": wrong_usage, "value": wrong_key})
    try:
        args = rbd_args(libvirtd, ceph, name=name)
        args["rbd"]["secret_usage"] = wrong_usage
        result = run_module(MODULE, args)
        assert result.failed
        assert result["msg"].startswith(f"libvirt pool '{name}': start failed, pool definition removed again: ")
        assert (
            f"The monitors answer, so the cephx key in libvirt secret {wrong_usage} is probably wrong, "
            f"or client.libvirt lacks access to Ceph pool '{ceph.pool}'"
        ) in result["msg"]
        assert wrong_key not in result.stdout
        assert not defined(libvirtd, name)
    finally:
        run_module("kvmops.kvm.libvirt_secret", {"uri": libvirtd, "uuid": made["secret"]["uuid"], "state": "absent"})


def test_missing_secret_is_an_error_before_anything_is_defined(libvirtd, ceph, secret, run_module):
    args = rbd_args(libvirtd, ceph, name=f"{RBD_POOL}-wrong")
    args["rbd"]["secret_usage"] = "kvmops-it-no-such-secret"
    result = run_module(MODULE, args)
    assert result.failed
    assert result["msg"] == (
        f"libvirt pool '{RBD_POOL}-wrong': libvirt secret with usage 'kvmops-it-no-such-secret' is not defined: "
        "create it first (kvmops.kvm.libvirt_secret)"
    )
    assert not defined(libvirtd, f"{RBD_POOL}-wrong")
