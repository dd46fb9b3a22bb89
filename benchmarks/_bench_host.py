# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The benchmark's contact with the host: virsh, ansible-playbook, clean-up, machine facts.

Everything the benchmark creates is named ``kvmops-bench-*`` or lives under
:data:`STATE_DIR`, and clean-up only ever looks at those, so other domains on
the same libvirtd are never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFIX = "kvmops-bench-"
STATE_DIR = Path("/var/lib/kvmops-bench")
# One benchmark at a time: each run starts by removing every kvmops-bench-* domain.
LOCK_FILE = Path("/run/kvmops-bench.lock")
# A 200-item loop of module calls takes minutes under load; nothing legitimate takes an hour.
PLAYBOOK_TIMEOUT = 3600
VIRSH_TIMEOUT = 120


class BenchError(RuntimeError):
    """Something the benchmark needs did not work; the message says what."""


def venv_tool(name):
    """The checkout's venv tool (the pinned ansible-core), else the one beside this Python."""
    for candidate in (REPO / ".venv" / "bin" / name, Path(sys.executable).parent / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BenchError(f"{name} not found in {REPO / '.venv'} nor in PATH: run `make bootstrap`")
    return found


# -- virsh ------------------------------------------------------------------------
class Virsh:
    def __init__(self, uri):
        self.uri = uri
        self.binary = shutil.which("virsh")
        if not self.binary:
            raise BenchError("virsh not found: install libvirt-clients")

    def run(self, *args, check=True):
        proc = subprocess.run(
            [self.binary, "--connect", self.uri, *args],
            capture_output=True,
            text=True,
            timeout=VIRSH_TIMEOUT,
            check=False,
        )
        if check and proc.returncode != 0:
            raise BenchError(f"virsh {' '.join(args[:2])} failed: {' '.join(proc.stderr.split())}")
        return proc.stdout

    def script(self, commands, chunk=50):
        """Run many virsh commands over few connections; virsh goes on after a failing one."""
        for start in range(0, len(commands), chunk):
            self.run(" ; ".join(commands[start : start + chunk]), check=False)

    def names(self, active_only=False):
        out = self.run("list", "--name", *(() if active_only else ("--all",)))
        return {line.strip() for line in out.splitlines() if line.strip()}

    def bench_names(self, active_only=False):
        return {name for name in self.names(active_only) if name.startswith(PREFIX)}

    def define(self, xml):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", prefix=PREFIX) as handle:
            handle.write(xml)
            handle.flush()
            self.run("define", handle.name)

    def remove(self, names):
        """Power off and undefine ``names`` (all must start with the prefix)."""
        names = sorted(names)
        for name in names:
            if not name.startswith(PREFIX):
                raise BenchError(f"refusing to remove {name!r}: not a benchmark domain")
        active = self.bench_names(active_only=True) & set(names)
        self.script([f"destroy {name}" for name in sorted(active)])
        self.script([f"undefine {name}" for name in names])

    def inactive_xml(self, name):
        return self.run("dumpxml", "--inactive", name)


def versions(virsh):
    """Software versions that matter for the figures, as the checkout's venv sees them."""
    found = {"python": platform.python_version()}
    first_line = subprocess.run(
        [venv_tool("ansible-playbook"), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    found["ansible-core"] = first_line[0].split("[core", 1)[-1].strip(" ]") if first_line else "unknown"
    community = subprocess.run(
        [venv_tool("ansible-community"), "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    found["ansible"] = community[-1] if community else "unknown"
    listing = subprocess.run(
        [venv_tool("ansible-galaxy"), "collection", "list", "community.libvirt", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        check=False,
    ).stdout
    try:
        found["community.libvirt"] = next(
            info["version"] for path in json.loads(listing).values() for info in path.values()
        )
    except (ValueError, StopIteration, KeyError):
        found["community.libvirt"] = "not found"
    for line in (REPO / "galaxy.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("version:"):
            found["kvmops.kvm"] = line.split(":", 1)[1].strip() + " (this checkout)"
    for line in virsh.run("version", "--daemon").splitlines():
        key, _sep, value = line.partition(":")
        if key.strip() in ("Using library", "Running hypervisor", "Running against daemon"):
            found[key.strip()] = value.strip()
    return found


def machine():
    """One line each: CPU, cores, memory, kernel, OS."""
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    pretty = platform.system()
    os_release = Path("/etc/os-release")
    if os_release.exists():
        for line in os_release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip('"')
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "os": f"{pretty}, kernel {platform.release()}",
        "load": "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


def mem_available_mib():
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


# -- ansible-playbook ----------------------------------------------------------------
@dataclass
class PlaybookRun:
    task_seconds: float  # the task's own duration, from the JSON callback
    wall_seconds: float  # the whole ansible-playbook process
    task_start: float  # epoch seconds
    changed: bool
    changed_items: int
    result: dict = field(repr=False)


def _epoch(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def _run_killable(cmd, **kwargs):
    """subprocess.run in its own session, so an interrupt also stops module processes it forked."""
    with subprocess.Popen(cmd, start_new_session=True, **kwargs) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=PLAYBOOK_TIMEOUT)
        except BaseException:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
            raise
        return proc.returncode, stdout, stderr


def run_task(task, label):
    """Run one task on localhost through ansible-playbook with the JSON callback."""
    play = [{"name": label, "hosts": "localhost", "gather_facts": False, "tasks": [task]}]
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
        }
    )
    python = str(Path(venv_tool("ansible-playbook")).parent / "python")
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="kvmops-bench-play-") as playbook:
        json.dump(play, playbook)
        playbook.flush()
        cmd = [
            venv_tool("ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            json.dumps({"ansible_python_interpreter": python}),
            playbook.name,
        ]
        started = time.monotonic()
        returncode, stdout, stderr = _run_killable(
            cmd, cwd=str(REPO), env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        wall = time.monotonic() - started
    try:
        report = json.loads(stdout)
        (task_report,) = report["plays"][0]["tasks"]
        result = task_report["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise BenchError(f"{label}: ansible-playbook gave no task result (rc={returncode}): {stdout} {stderr}") from exc
    if returncode != 0 or result.get("failed"):
        messages = [result.get("msg", "")] + [r.get("msg", "") for r in result.get("results", []) if r.get("failed")]
        raise BenchError(f"{label}: task failed (rc={returncode}): {' | '.join(m for m in messages if m)[:2000]}")
    items = result.get("results") or result.get("domains") or []
    duration = task_report["task"]["duration"]
    start = _epoch(duration["start"])
    return PlaybookRun(
        task_seconds=_epoch(duration["end"]) - start,
        wall_seconds=wall,
        task_start=start,
        changed=bool(result.get("changed")),
        changed_items=sum(1 for item in items if item.get("changed")),
        result=result,
    )


# -- locking and clean-up ------------------------------------------------------------
def acquire_lock():
    """Hold an exclusive lock for the life of the process; fail at once if another run holds it."""
    handle = open(LOCK_FILE, "w", encoding="utf-8")  # noqa: SIM115  (held until exit)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise BenchError(f"another benchmark run holds {LOCK_FILE}; wait for it to finish") from exc
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def clean_up(virsh, say=print):
    """Remove every kvmops-bench-* domain and everything under STATE_DIR; never anything else."""
    for attempt in range(3):
        leftovers = virsh.bench_names()
        if not leftovers:
            break
        if attempt:
            time.sleep(2)
        virsh.remove(leftovers)
    else:
        leftovers = virsh.bench_names()
        if leftovers:
            say(f"WARNING: could not remove {', '.join(sorted(leftovers))}")
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR, ignore_errors=True)


@contextlib.contextmanager
def interrupts_ignored():
    """For clean-up: a second Ctrl-C must not leave half the domains behind."""
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
