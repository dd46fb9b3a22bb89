#!/usr/bin/env python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark kvmops.kvm.libvirt_domain against a loop of community.libvirt.virt on the real libvirtd.

Three ways to converge the same domains, each a task run through ansible-playbook:
(a) one libvirt_domain task with ``domains:``, (b) a loop of single libvirt_domain
calls, (c) a loop of community.libvirt.virt (``command: define`` with XML, then
``state:``). It measures and prints; it asserts nothing about speed.
See benchmarks/README.md; figures of a real run are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

from _bench_host import (
    PREFIX,
    REPO,
    STATE_DIR,
    BenchError,
    Virsh,
    acquire_lock,
    clean_up,
    interrupts_ignored,
    machine,
    mem_available_mib,
    run_task,
    versions,
)
from _bench_report import LABELS, PATHS, dump_json, report_define, report_start_stop, say

SLUGS = {"a": "batch", "b": "loop", "c": "virt"}
# The small domain, once as libvirt_domain options and once as the equivalent XML.
SMALL_SPEC = {"type": "qemu", "memory": "64MiB", "vcpus": 1, "memballoon": {"model": "none"}}
SMALL_XML = (
    "<domain type='qemu'><name>{name}</name>"
    "<memory unit='KiB'>65536</memory><currentMemory unit='KiB'>65536</currentMemory>"
    "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
    "<features><acpi/><apic/></features>"
    "<devices><memballoon model='none'/></devices></domain>"
)
GUEST_MIB = 384
TB_CACHE_MIB = 128  # QEMU's TCG default is 1 GiB of translation cache per guest
# Guest RAM + translation cache + QEMU itself, with room to spare.
GUEST_BUDGET_MIB = GUEST_MIB + TB_CACHE_MIB + 160
# Booted enough for ACPI: systemd-logind handles the power button; the login prompt comes a little later.
BOOTED = re.compile(r"Started .*User Login Management|login:")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_T0 = time.monotonic()


def progress(text):
    say(f"  [{time.monotonic() - _T0:5.0f} s] {text}")


def rotated(rep):
    """Path order of one repetition, rotated so no path always runs first (or last)."""
    shift = rep % len(PATHS)
    return PATHS[shift:] + PATHS[:shift]


# -- tasks ----------------------------------------------------------------------------
def define_task(path, names, uri):
    if path == "a":
        args = dict(SMALL_SPEC, uri=uri, domains=[{"name": name} for name in names])
        return {"name": LABELS[path], "kvmops.kvm.libvirt_domain": args}
    if path == "b":
        args = dict(SMALL_SPEC, uri=uri, name="{{ item }}")
        return {"name": LABELS[path], "kvmops.kvm.libvirt_domain": args, "loop": names}
    items = [{"name": name, "xml": SMALL_XML.format(name=name)} for name in names]
    return {
        "name": LABELS[path],
        "community.libvirt.virt": {"uri": uri, "command": "define", "xml": "{{ item.xml }}"},
        "loop": items,
        "loop_control": {"label": "{{ item.name }}"},
    }


def state_task(path, names, uri, state):
    if path == "a":
        args = {"uri": uri, "state": state, "domains": [{"name": name} for name in names]}
        return {"name": f"{LABELS[path]} {state}", "kvmops.kvm.libvirt_domain": args}
    module = "kvmops.kvm.libvirt_domain" if path == "b" else "community.libvirt.virt"
    args = {"uri": uri, "name": "{{ item }}", "state": state}
    return {"name": f"{LABELS[path]} {state}", module: args, "loop": names}


def normalised(xml):
    """A definition without what differs by construction (name, uuid, kvmops marker)."""
    root = ET.fromstring(xml)
    for tag in ("name", "uuid", "metadata"):
        for elem in root.findall(tag):
            root.remove(elem)
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


# -- part 1: define N small domains, then re-converge ------------------------------
def bench_define(virsh, n, repeats):
    runs = {path: [] for path in PATHS}
    samples = {}
    for rep in range(repeats):
        for path in rotated(rep):
            names = [f"{PREFIX}{SLUGS[path]}-{n}-{i}" for i in range(n)]
            virsh.remove(virsh.bench_names() & set(names))
            first = run_task(define_task(path, names, virsh.uri), f"define {n} {path}")
            missing = set(names) - virsh.bench_names()
            if missing:
                raise BenchError(f"{LABELS[path]} reported success but {len(missing)} domains are not defined")
            samples.setdefault(path, normalised(virsh.inactive_xml(names[0])))
            second = run_task(define_task(path, names, virsh.uri), f"re-run {n} {path}")
            virsh.remove(names)
            runs[path].append({"define": first, "rerun": second})
            progress(
                f"N={n} run {rep + 1}/{repeats} {LABELS[path]}: define {first.task_seconds:.2f} s, "
                f"re-run {second.task_seconds:.2f} s (changed: {second.changed_items}/{n})"
            )
    same = len(set(samples.values())) == 1
    say(f"  N={n}: the three paths defined {'equivalent' if same else 'DIFFERENT'} domain XML")
    if not same:
        for path, text in samples.items():
            say(f"    {path}: {text}")
    return runs


# -- part 2: start and gracefully stop lab guests ----------------------------------
def lab_image():
    """A private copy of the lab image, so a lab rebuild during the run cannot pull it away."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "lab" / "labctl"), "image"],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        check=False,
    )
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    image = Path(lines[-1]) if lines else None
    if proc.returncode != 0 or image is None:
        raise BenchError(f"labctl image failed (rc={proc.returncode}): {proc.stderr.strip()[-2000:]}")
    copy = STATE_DIR / "image"
    copy.mkdir(parents=True, exist_ok=True)
    for part in ("vmlinuz", "initrd.img", "base.qcow2"):
        if not (image / part).exists():
            raise BenchError(f"lab image {image} has no {part}")
        shutil.copyfile(image / part, copy / part)
    return copy


def guest_xml(name, image):
    overlay, console = STATE_DIR / f"{name}.qcow2", STATE_DIR / f"{name}.console.log"
    return f"""<domain type='qemu'>
  <name>{escape(name)}</name>
  <description>kvmops benchmark guest (benchmarks/libvirt_domain_bench.py); disposable</description>
  <memory unit='MiB'>{GUEST_MIB}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{escape(str(image / "vmlinuz"))}</kernel>
    <initrd>{escape(str(image / "initrd.img"))}</initrd>
    <cmdline>root=/dev/vda rw console=ttyS0 net.ifnames=0</cmdline>
  </os>
  <features><acpi/><apic/><tcg><tb-cache unit='MiB'>{TB_CACHE_MIB}</tb-cache></tcg></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='unsafe'/>
      <source file='{escape(str(overlay))}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'><source path='{escape(str(console))}'/><target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def fresh_disks(virsh, names, image):
    """Every guest off, on a new overlay and with an empty console log: each boot is a first boot."""
    virsh.script([f"destroy {name}" for name in sorted(virsh.bench_names(active_only=True) & set(names))])
    for name in names:
        overlay, console = STATE_DIR / f"{name}.qcow2", STATE_DIR / f"{name}.console.log"
        for stale in (overlay, console):
            stale.unlink(missing_ok=True)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image / "base.qcow2"), str(overlay)],
            check=True,
            capture_output=True,
        )


def wait_booted(names, timeout):
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting:
        for name in sorted(waiting):
            console = STATE_DIR / f"{name}.console.log"
            text = console.read_text(encoding="utf-8", errors="replace") if console.exists() else ""
            if BOOTED.search(ANSI_ESCAPE.sub("", text)):
                waiting.discard(name)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{', '.join(sorted(waiting))} did not boot (console: {STATE_DIR}) within {timeout} s")
        time.sleep(0.5)


def wait_off(virsh, names, timeout):
    """Poll libvirt until none of ``names`` is active; returns the epoch time when that was seen."""
    deadline = time.monotonic() + timeout
    while virsh.bench_names(active_only=True) & set(names):
        if time.monotonic() > deadline:
            raise BenchError(f"guests still running {timeout} s after the shutdown task")
        time.sleep(0.2)
    return time.time()


def bench_start_stop(virsh, count, repeats, settle, boot_timeout):
    need = count * GUEST_BUDGET_MIB
    if mem_available_mib() < need:
        raise BenchError(f"{count} guests need about {need} MiB; only {mem_available_mib()} MiB are available")
    image = lab_image()
    names = [f"{PREFIX}boot-{i}" for i in range(count)]
    for name in names:
        virsh.define(guest_xml(name, image))
    runs = {path: [] for path in PATHS}
    for rep in range(repeats):
        for path in rotated(rep):
            fresh_disks(virsh, names, image)
            start = run_task(state_task(path, names, virsh.uri, "running"), f"start {path}")
            not_running = set(names) - virsh.bench_names(active_only=True)
            if not_running:
                raise BenchError(f"{LABELS[path]}: {', '.join(sorted(not_running))} not running after the start task")
            boot_began = time.monotonic()
            wait_booted(names, boot_timeout)
            time.sleep(settle)
            boot_wait = time.monotonic() - boot_began
            stop = run_task(state_task(path, names, virsh.uri, "shutdown"), f"shutdown {path}")
            until_off = wait_off(virsh, names, boot_timeout) - stop.task_start
            runs[path].append({"start": start, "stop": stop, "until_off": until_off, "boot_wait": boot_wait})
            progress(
                f"run {rep + 1}/{repeats} {LABELS[path]}: start {start.task_seconds:.2f} s, "
                f"shutdown task {stop.task_seconds:.2f} s, all off after {until_off:.2f} s "
                f"(boot wait {boot_wait:.0f} s, not counted)"
            )
    return runs


# -- main ----------------------------------------------------------------------------
# Defaults of a full run and of --quick; options given on the command line win over both.
FULL = {"sizes": [50, 200], "repeats": None, "start_stop": 10, "start_stop_repeats": 3, "settle": 5.0}
QUICK = {"sizes": [5], "repeats": [1], "start_stop": 2, "start_stop_repeats": 1, "settle": 1.0}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=os.environ.get("KVMOPS_LIBVIRT_URI", "qemu:///system"))
    parser.add_argument("--sizes", type=int, nargs="+", help="N: domains per define run (default 50 200)")
    parser.add_argument(
        "--repeats", type=int, nargs="+", help="R per size, in the order of --sizes (default 3 for N <= 50, else 1)"
    )
    parser.add_argument("--start-stop", type=int, help="lab guests to start and stop (default 10; 0 skips)")
    parser.add_argument("--start-stop-repeats", type=int, help="default 3")
    parser.add_argument("--settle", type=float, help="seconds after boot (logind up) before shutdown (default 5)")
    parser.add_argument("--boot-timeout", type=float, default=600.0, help="seconds for all guests to boot (or stop)")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    parser.add_argument("--quick", action="store_true", help="smoke run: N=5, R=1, 2 guests started and stopped once")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.repeats is None:
        args.repeats = [3 if n <= 50 else 1 for n in args.sizes]
    elif len(args.repeats) == 1:
        args.repeats = args.repeats * len(args.sizes)
    if len(args.repeats) != len(args.sizes) or min(args.repeats + args.sizes) < 1:
        parser.error("--repeats needs one positive count, or one per size; sizes must be positive")
    if not 0 <= args.start_stop <= 10:
        parser.error("--start-stop: 0 to 10 guests (2 cores under TCG)")
    if args.start_stop_repeats < 1:
        parser.error("--start-stop-repeats must be positive")
    return args


def _terminated(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through the clean-up like Ctrl-C does


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminated)
    started = time.monotonic()
    virsh = Virsh(args.uri)
    lock = acquire_lock()
    info = {"command": " ".join([".venv/bin/python", "benchmarks/libvirt_domain_bench.py", *sys.argv[1:]])}
    info["uri"] = args.uri
    info.update(machine())
    info.update(versions(virsh))
    say("kvmops.kvm libvirt_domain benchmark — " + time.strftime("%Y-%m-%d %H:%M %Z"))
    for key, value in info.items():
        say(f"  {key}: {value}")
    define_results, start_stop, failure = {}, None, None
    try:
        clean_up(virsh, say)
        for n, repeats in zip(args.sizes, args.repeats):
            say(f"\nDefining {n} domains, {repeats} run(s) per path")
            define_results[n] = bench_define(virsh, n, repeats)
        if args.start_stop:
            say(f"\nStarting and stopping {args.start_stop} lab guests, {args.start_stop_repeats} run(s) per path")
            start_stop = bench_start_stop(
                virsh, args.start_stop, args.start_stop_repeats, args.settle, args.boot_timeout
            )
    except BenchError as exc:
        failure = exc  # still report what was measured before it
    finally:
        with interrupts_ignored():
            clean_up(virsh, say)
            lock.close()
    if define_results:
        report_define(define_results)
    if start_stop:
        report_start_stop(start_stop, args.start_stop, GUEST_MIB)
    say("\n  " + machine()["load"] + f" at the end; total {time.monotonic() - started:.0f} s")
    if args.json:
        dump_json(args.json, define_results, start_stop, info)
    if failure:
        raise failure
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted; benchmark domains and overlays removed", file=sys.stderr)
        sys.exit(130)
