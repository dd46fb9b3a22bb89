"""Choose the lab VMs' accelerator: KVM where it really works, else TCG.

/dev/kvm existing proves little: on nested clouds it can be present while every
KVM guest fails on an MSR or hangs. So `auto` boots the lab kernel once under
KVM with no root disk; a working KVM reaches the kernel's "cannot mount root"
panic within seconds, anything else (an error, a hang) means TCG. The answer is
cached per boot of this machine, since it cannot change without a reboot.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .common import RUN_DIR, LabError, log

CHOICES = ("auto", "kvm", "tcg")
PROBE_SECONDS = 20


def _boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip()


def _kvm_boots(kernel: Path) -> bool:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.NamedTemporaryFile("r", suffix=".log") as console:
        argv = [
            "qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults",
            "-display", "none", "-no-reboot", "-serial", f"file:{console.name}",
            "-kernel", str(kernel), "-append", "console=ttyS0 panic=-1",
        ]  # fmt: skip
        try:
            subprocess.run(argv, capture_output=True, timeout=PROBE_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            return False
        return "Kernel panic" in console.read()


def choose(kernel: Path) -> str:
    """'kvm' or 'tcg', from KVMOPS_LAB_ACCEL (auto|kvm|tcg; default auto)."""
    wanted = os.environ.get("KVMOPS_LAB_ACCEL", "auto")
    if wanted not in CHOICES:
        raise LabError(f"KVMOPS_LAB_ACCEL={wanted!r}: use one of {', '.join(CHOICES)}")
    if wanted != "auto":
        return wanted
    cache = RUN_DIR / f"accel-{_boot_id()}"
    if cache.exists():
        return cache.read_text(encoding="utf-8").strip()
    result = "kvm" if _kvm_boots(kernel) else "tcg"
    log(f"KVM acceleration {'works' if result == 'kvm' else 'does not work'} here: lab VMs use {result}")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    cache.write_text(result, encoding="utf-8")
    return result
