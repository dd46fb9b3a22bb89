# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How long does a no-op run of the whole site take, and how many remote module runs does it cost?

Brings up the lab (``inventories/lab``: two TCG hypervisor VMs and the test
bed's Ceph on the lab bridge), runs ``playbooks/site.yml`` once so the lab is
converged, then times the no-change rerun and a ``--check --diff`` run of the
same playbook. Every run goes through the ``kvmops_remote_count`` callback
(benchmarks/callbacks/), which counts remote module executions per host and
role and sums each role's task time. Prints a table per run, the ratio
check/rerun, and writes every figure as JSON.

    .venv/bin/python benchmarks/site_noop.py                 # lab up, converge, rerun, --check
    .venv/bin/python benchmarks/site_noop.py --no-converge   # the lab is converged already
    .venv/bin/python benchmarks/site_noop.py --json build/site-noop.json --markdown build/site-noop.md

Measurements, not tests: nothing here fails because a run was slow. A run
that fails or reports a change where none was expected is reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"
ROLES = ("kvm_host", "kvm_hardening", "kvm_tuning", "kvm_ovs", "kvm_ceph", "kvm_guests")
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def say(text=""):
    print(text, flush=True)


def env():
    out = dict(os.environ)
    out.update(
        {
            "PATH": f"{VENV_BIN}:{out.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "benchmarks" / "callbacks"),
            "ANSIBLE_CALLBACKS_ENABLED": "kvmops_remote_count",
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    return out


def lab_up():
    """The lab VMs and Ceph on the lab bridge, as `make lab` brings them up (without the site run)."""
    steps = [
        ["tests/testbed/libvirt.sh", "start"],
        [str(VENV_BIN / "python"), "tests/lab/labctl", "inventory-up", "inventories/lab"],
        ["tests/testbed/ceph-on-lab.sh"],
    ]
    for step in steps:
        say("$ " + " ".join(step))
        subprocess.run(step, cwd=REPO, env=env(), check=True, stdout=subprocess.DEVNULL)


def run_site(label, extra, logdir):
    """One ansible-playbook run of the site; returns its figures."""
    slug = re.sub(r"[^a-z0-9]+", "-", label)
    count_file = logdir / f"site-{slug}.count.json"
    log_file = logdir / f"site-{slug}.log"
    command = [str(VENV_BIN / "ansible-playbook"), "playbooks/site.yml", "-i", "inventories/lab", *extra]
    say(f"$ {' '.join(command)}   (log: {log_file})")
    run_env = env()
    run_env["KVMOPS_REMOTE_COUNT_FILE"] = str(count_file)
    start = time.monotonic()
    with open(log_file, "w", encoding="utf-8") as log:
        proc = subprocess.run(command, cwd=REPO, env=run_env, stdout=log, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - start
    text = log_file.read_text(encoding="utf-8", errors="replace")
    recap = {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])} for m in RECAP.findall(text)}
    counts = json.loads(count_file.read_text()) if count_file.exists() else {}
    return {"label": label, "rc": proc.returncode, "wall_s": round(wall, 1), "recap": recap, "counts": counts}


def table(run):
    counts = run["counts"]
    hosts = sorted(counts.get("remote_by_host", {}))
    lines = [
        f"### {run['label']}: {run['wall_s']} s wall, rc {run['rc']}, "
        + ", ".join(f"{h} ok={r['ok']} changed={r['changed']} failed={r['failed']}" for h, r in run["recap"].items()),
        "",
        "| role | time (s) | " + " | ".join(f"remote runs {h}" for h in hosts) + " |",
        "|---|---|" + "---|" * len(hosts),
    ]
    for role in ROLES:
        cells = [str(counts.get("remote_by_host", {}).get(h, {}).get(role, 0)) for h in hosts]
        lines.append(f"| {role} | {counts.get('role_wall_s', {}).get(role, 0)} | " + " | ".join(cells) + " |")
    totals = [str(counts.get("remote_total_by_host", {}).get(h, 0)) for h in hosts]
    lines.append(f"| **all** | {run['wall_s']} | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def commit():
    head = ["git", "rev-parse", "--short", "HEAD"]
    proc = subprocess.run(head, cwd=REPO, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=False)
    return proc.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--no-lab-up", action="store_true", help="the lab VMs and Ceph are up already")
    parser.add_argument("--no-converge", action="store_true", help="the lab is converged already: skip the first run")
    parser.add_argument("--no-check", action="store_true", help="skip the --check --diff run")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "site-noop.json")
    parser.add_argument("--markdown", type=Path, default=REPO / "build" / "site-noop.md")
    args = parser.parse_args(argv)
    logdir = REPO / "build" / "logs"
    logdir.mkdir(parents=True, exist_ok=True)

    if not args.no_lab_up:
        lab_up()
    runs = []
    if not args.no_converge:
        runs.append(run_site("converge", [], logdir))
    runs.append(run_site("no-op rerun", [], logdir))
    if not args.no_check:
        runs.append(run_site("check", ["--check", "--diff"], logdir))

    by_label = {run["label"]: run for run in runs}
    rerun, check = by_label["no-op rerun"], by_label.get("check")
    ratio = round(check["wall_s"] / rerun["wall_s"], 2) if check and rerun["wall_s"] else None
    changed = {label: sum(r["changed"] for r in run["recap"].values()) for label, run in by_label.items()}
    summary = f"no-op rerun {rerun['wall_s']} s (changed={changed['no-op rerun']})"
    if check:
        summary += f", --check {check['wall_s']} s (changed={changed['check']}), check/rerun {ratio}"
    header = [
        f"## site no-op benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit()}",
        "",
        summary,
        "",
    ]
    text = "\n".join(header + [table(run) + "\n" for run in runs])
    say()
    say(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"commit": commit(), "runs": runs, "check_over_rerun": ratio}, indent=2))
    args.markdown.write_text(text + "\n")
    say(f"figures: {args.json}, {args.markdown}")
    return 0 if all(run["rc"] == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
