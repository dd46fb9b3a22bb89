# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared helpers: run this collection's modules through real Ansible against localhost.

Modules run exactly as users run them (ansible-playbook, the checkout's
ansible.cfg, the FQCN resolved through .cache/collections), with the JSON
callback so a test reads each task's real result. Daemons are never mocked: a
test that needs one requests its fixture, which fails loudly when the daemon
is not reachable (start it with tests/testbed/*.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.tests.helpers.tools import ansible_tool

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_CFG = REPO / "ansible.cfg"
# Overridable to aim the tests at another local daemon; the default is what the test bed starts.
LIBVIRT_URI = os.environ.get("KVMOPS_LIBVIRT_URI", "qemu:///system")
# Generous: libvirt re-probes QEMU on some hosts and each probe takes seconds.
PLAYBOOK_TIMEOUT = 300


_tool = ansible_tool


# --- two workers (pytest-xdist, --dist loadfile) ----------------------------------
# Alone, integration kept one of this machine's two cores idle most of its
# ~700 s (a sampler of 2026-12-06: 860 busy core-s in 780 s): each test waits
# on one ansible-playbook, libvirtd or a TCG boot at a time. tests/ci/stages.sh
# runs two workers, each taking whole files: a file's module fixtures make and
# remove objects under a name prefix of its own (kvmops-it-dom-, kvmops-it-vol,
# kvit-, /var/lib/kvmops-it/<file>), so two files never touch the same
# object, and its tests keep their order. (--dist loadgroup would let files
# share a worker, but xdist 3.8 cannot group under pytest 9: it renames a
# node id pytest 9 no longer reads.) The one test that stops the test bed's
# Ceph monitor (marker stops_ceph) runs after the two workers, alone.


@dataclass
class TaskResult:
    """One task's result as the JSON callback reports it for localhost."""

    rc: int
    result: dict
    stdout: str
    stderr: str

    @property
    def failed(self):
        return bool(self.result.get("failed"))

    def __getitem__(self, key):
        return self.result[key]


def _run_tasks(tasks, check=False, diff=False, extra_env=None):
    """Run ``tasks`` (list of task dicts) in one play on localhost; returns one TaskResult per task run.

    Tasks after a failed one do not run, so the list can be shorter than ``tasks``.
    """
    play = [{"name": "kvmops integration", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_CFG),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
    )
    env.update(extra_env or {})
    cmd = [
        _tool("ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable}),
        "/dev/stdin",
    ]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    proc = subprocess.run(
        cmd,
        input=json.dumps(play),
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
        timeout=PLAYBOOK_TIMEOUT,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False
        )
    return [
        TaskResult(proc.returncode, task["hosts"]["localhost"], proc.stdout, proc.stderr)
        for play_report in report["plays"]
        for task in play_report["tasks"]
        if "localhost" in task["hosts"]
    ]


def _run_module(module, args=None, check=False, diff=False):
    """Run one module (FQCN) once on localhost and return its TaskResult."""
    (result,) = _run_tasks([{"name": module, module: args or {}}], check=check, diff=diff)
    return result


@pytest.fixture(scope="session")
def run_tasks():
    """``run_tasks(tasks, check=False, diff=False, extra_env=None)`` → list of TaskResult."""
    return _run_tasks


@pytest.fixture(scope="session")
def run_module():
    """``run_module(fqcn, args=None, check=False, diff=False)`` → TaskResult."""
    return _run_module


@pytest.fixture(scope="session")
def libvirtd():
    """The URI of a reachable system libvirtd; fails the test (never skips) when it is down."""
    virsh = shutil.which("virsh")
    if not virsh:
        pytest.fail("virsh not found: install libvirt-clients (and libvirt-daemon-system)", pytrace=False)
    proc = subprocess.run(
        [virsh, "--connect", LIBVIRT_URI, "--readonly", "uri"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"libvirtd is not reachable at {LIBVIRT_URI} ({' '.join(proc.stderr.split())}); "
            "start it with tests/testbed/libvirt.sh start",
            pytrace=False,
        )
    return LIBVIRT_URI


# --- Open vSwitch -------------------------------------------------------------------


class OvsCli:
    """ovs-vsctl against the test bed's switch, for fixtures and independent checks.

    Tests set up and verify with this, never with the collection's own modules,
    so a module bug cannot hide behind itself.
    """

    TIMEOUT = 10

    def vsctl(self, *args, check=True):
        proc = subprocess.run(
            ["ovs-vsctl", f"--timeout={self.TIMEOUT}", *args],
            capture_output=True,
            text=True,
            timeout=self.TIMEOUT + 20,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"ovs-vsctl {' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
        return proc.stdout

    def rows(self, table):
        """Rows of TABLE keyed by name, decoded from ovs-vsctl's JSON format."""
        listing = json.loads(self.vsctl("--format=json", "list", table))
        rows = [dict(zip(listing["headings"], row, strict=True)) for row in listing["data"]]
        return {row["name"]: row for row in rows}

    def get(self, table, record, column):
        """One column as ovs-vsctl prints it (``[]`` for empty, ``{k=v}`` for maps), stripped."""
        return self.vsctl("get", table, record, column).strip()

    @staticmethod
    def value(value):
        """OVSDB JSON wraps sets and maps: ["set", []] is empty, ["set", [x]] is x."""
        if isinstance(value, list) and value and value[0] == "set":
            return value[1] if len(value[1]) != 1 else value[1][0]
        if isinstance(value, list) and value and value[0] == "map":
            return dict(value[1])
        return value

    def del_br(self, *bridges):
        for bridge in bridges:
            self.vsctl("--if-exists", "del-br", bridge)


@pytest.fixture(scope="session")
def ovs():
    """The test bed's Open vSwitch, reachable and with the userspace (netdev) datapath; fails, never skips.

    This machine has no OVS kernel datapath, so every bridge a test makes needs
    ``datapath_type=netdev``.
    """
    if shutil.which("ovs-vsctl") is None:
        pytest.fail("ovs-vsctl is not installed: the test bed needs openvswitch-switch", pytrace=False)
    proc = subprocess.run(
        ["ovs-vsctl", "--timeout=5", "get", "Open_vSwitch", ".", "datapath_types"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            "Open vSwitch is not running (start it with tests/testbed/ovs.sh start): " + proc.stderr.strip(),
            pytrace=False,
        )
    if "netdev" not in proc.stdout:
        pytest.fail(f"ovs-vswitchd offers no userspace (netdev) datapath: {proc.stdout.strip()}", pytrace=False)
    return OvsCli()


# -- the test bed's Ceph ------------------------------------------------------------------

CEPH_SH = REPO / "tests" / "testbed" / "ceph.sh"


@dataclass
class CephTestbed:
    """The running test bed cluster as a client sees it: ceph.conf, a monitor, client.libvirt's key.

    The monitor address is read from ceph.conf, so the tests work with the
    cluster bound to 127.0.0.1 (the default) or to the lab bridge address
    (how the kvm_ceph Molecule scenario starts it).
    """

    conf: str
    fsid: str
    mon_host: str
    mon_port: int
    libvirt_key: str
    pool: str = "vms"

    def run(self, *args, check=True, timeout=60):
        # A dead monitor must fail the test, not hang it.
        proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            pytest.fail(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
        return proc

    def ceph(self, *args, check=True):
        return self.run("ceph", "--conf", self.conf, "--connect-timeout", "15", *args, check=check)

    def rbd(self, *args, check=True):
        return self.run("rbd", "--conf", self.conf, "--client_mount_timeout", "15", *args, check=check)

    def images(self):
        return set(json.loads(self.rbd("ls", self.pool, "--format", "json").stdout))


def _ceph_conf_path():
    conf = os.environ.get("CEPH_CONF")
    if conf:
        return conf
    exports = subprocess.run(["bash", str(CEPH_SH), "env"], capture_output=True, text=True, timeout=30, check=False)
    return next((line.split("=", 1)[1] for line in exports.stdout.splitlines() if "CEPH_CONF=" in line), "")


@pytest.fixture(scope="session")
def ceph():
    """The test bed's single-node Ceph; fails (never skips) when it is not up."""
    conf = _ceph_conf_path()
    if not conf or not Path(conf).is_file():
        pytest.fail(f"Ceph test bed not set up: {conf!r} missing (run tests/testbed/ceph.sh start)", pytrace=False)
    text = Path(conf).read_text()
    mon = next((line for line in text.splitlines() if line.startswith("mon_host")), "")
    v1 = mon.split("v1:", 1)[1].split("]", 1)[0] if "v1:" in mon else ""
    host, _sep, port = v1.rpartition(":")
    fsid = next((line.split("=", 1)[1].strip() for line in text.splitlines() if line.startswith("fsid")), "")
    if not host or not port.isdigit() or not fsid:
        pytest.fail(f"no fsid or v1 monitor address in {conf}", pytrace=False)
    keyring = Path(conf).with_name("ceph.client.libvirt.keyring")
    probe = subprocess.run(
        ["ceph-authtool", "-p", "-n", "client.libvirt", str(keyring)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        pytest.fail(f"client.libvirt keyring unreadable ({probe.stderr.strip()}): run ceph.sh start", pytrace=False)
    bed = CephTestbed(conf=conf, fsid=fsid, mon_host=host, mon_port=int(port), libvirt_key=probe.stdout.strip())
    alive = bed.ceph("fsid", check=False)
    if alive.returncode != 0:
        pytest.fail(
            f"Ceph test bed not running (run tests/testbed/ceph.sh start): {alive.stderr.strip()}", pytrace=False
        )
    return bed
