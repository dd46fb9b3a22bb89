# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ceph of the test bed is healthy and serves RBD to admin and client.libvirt.

Runs against the cluster that ``tests/testbed/ceph.sh start`` brings up; its
ceph.conf comes from ``ceph.sh env`` (or CEPH_CONF when the caller exported one).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

CEPH_SH = Path(__file__).resolve().parents[1] / "testbed" / "ceph.sh"
POOL = "vms"
IMAGE = "kvt-img"


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    # A dead monitor must fail the test, not hang it.
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{shlex.join(args)} failed ({result.returncode}): {result.stderr.strip()}", pytrace=False)
    return result


@pytest.fixture(scope="module")
def ceph_conf() -> str:
    conf = os.environ.get("CEPH_CONF")
    if not conf:
        exports = run("bash", str(CEPH_SH), "env").stdout
        found = dict(
            line.removeprefix("export ").split("=", 1) for line in exports.splitlines() if line.startswith("export ")
        )
        conf = found.get("CEPH_CONF", "")
    if not Path(conf).is_file():
        pytest.fail(f"Ceph test bed not set up: {conf!r} missing (run tests/testbed/ceph.sh start)", pytrace=False)
    probe = run("ceph", "--conf", conf, "--connect-timeout", "10", "fsid", check=False)
    if probe.returncode != 0:
        pytest.fail(
            f"Ceph test bed not running (run tests/testbed/ceph.sh start): {probe.stderr.strip()}", pytrace=False
        )
    return conf


def ceph_json(conf: str, *args: str):
    return json.loads(run("ceph", "--conf", conf, "--connect-timeout", "10", *args, "--format", "json").stdout)


def rbd(conf: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run("rbd", "--conf", conf, *args, check=check)


@pytest.fixture
def image(ceph_conf: str):
    # An image left by an interrupted earlier run must not make this one fail.
    rbd(ceph_conf, "rm", f"{POOL}/{IMAGE}", check=False)
    try:
        yield IMAGE
    finally:
        rbd(ceph_conf, "rm", f"{POOL}/{IMAGE}", check=False)


def test_cluster_is_healthy(ceph_conf: str) -> None:
    status = ceph_json(ceph_conf, "-s")
    assert status["health"]["status"] == "HEALTH_OK", status["health"]
    osdmap = status["osdmap"].get("osdmap", status["osdmap"])
    assert osdmap["num_up_osds"] >= 1
    states = {entry["state_name"]: entry["count"] for entry in status["pgmap"]["pgs_by_state"]}
    assert states == {"active+clean": status["pgmap"]["num_pgs"]}


def test_pool_vms_is_an_rbd_pool(ceph_conf: str) -> None:
    assert POOL in ceph_json(ceph_conf, "osd", "pool", "ls")
    applications = ceph_json(ceph_conf, "osd", "pool", "application", "get", POOL)
    assert "rbd" in applications


def test_admin_creates_lists_and_removes_an_image(ceph_conf: str, image: str) -> None:
    rbd(ceph_conf, "create", f"{POOL}/{image}", "--size", "16M")
    assert image in rbd(ceph_conf, "ls", POOL).stdout.split()
    info = json.loads(rbd(ceph_conf, "info", f"{POOL}/{image}", "--format", "json").stdout)
    assert info["size"] == 16 * 1024 * 1024

    rbd(ceph_conf, "rm", f"{POOL}/{image}")
    assert image not in rbd(ceph_conf, "ls", POOL).stdout.split()


def test_client_libvirt_sees_pool_vms_and_nothing_more(ceph_conf: str, image: str) -> None:
    keyring = Path(ceph_conf).with_name("ceph.client.libvirt.keyring")
    assert keyring.is_file(), f"{keyring} missing: ceph.sh start writes it beside ceph.conf"

    rbd(ceph_conf, "create", f"{POOL}/{image}", "--size", "16M")
    listing = rbd(ceph_conf, "--id", "libvirt", "ls", POOL)
    assert image in listing.stdout.split()

    # profile rbd must not grant admin rights: proves --id libvirt really ran
    # with its own restricted key rather than falling back to client.admin.
    denied = run("ceph", "--conf", ceph_conf, "--id", "libvirt", "--connect-timeout", "10", "auth", "ls", check=False)
    assert denied.returncode != 0
    assert "denied" in denied.stderr.lower(), denied.stderr
