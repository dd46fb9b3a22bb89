# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/libvirt_domain_bench.py --quick against the test bed's libvirtd, so the script cannot rot.

It checks that the benchmark runs end to end (5 small domains per path, one
lab guest started and stopped per path: every extra TCG boot costs CI about a
minute) and prints its tables, and that it leaves
no kvmops-bench-* domain behind. It asserts nothing about the figures: they
are measurements, not pass/fail criteria (docs/benchmarks.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "libvirt_domain_bench.py"
# Three boots of a TCG guest dominate; a loaded machine needs the margin.
TIMEOUT = 900


def test_quick_run_prints_tables_and_cleans_up(libvirtd):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--start-stop", "1", "--uri", libvirtd],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    out = proc.stdout
    assert "N  path" in out and "re-run changed" in out
    assert "define c/a define b/a re-run c/a re-run b/a" in out
    assert re.search(r"^\s+5(\s+\d+\.\dx){4}$", out, re.MULTILINE), f"no ratio row for N=5:\n{out}"
    assert "Target: batched no-change re-run >= 5x faster than the community.libvirt loop" in out
    assert re.search(r"N=5: (yes|NO) \(\d+\.\dx\)", out)
    assert "the three paths defined equivalent domain XML" in out
    for label in ("(a) libvirt_domain domains:", "(b) loop of libvirt_domain", "(c) loop of community.libvirt.virt"):
        assert out.count(label) >= 2, f"{label} missing from a table:\n{out}"
    assert "all off" in out and "stop task" in out
    left = subprocess.run(
        [shutil.which("virsh"), "--connect", libvirtd, "list", "--all", "--name"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    assert not [name for name in left if name.startswith("kvmops-bench-")]
    assert not Path("/var/lib/kvmops-bench").exists()
