"""Paths, constants and small helpers shared by the lab modules."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

CACHE_DIR = Path("/var/cache/kvmops-lab")
STATE_DIR = Path("/var/lib/kvmops-lab")
RUN_DIR = Path("/run/kvmops-lab")
KEY_PATH = STATE_DIR / "ssh" / "id_ed25519"
# The libvirt dir pool that holds the VMs' qcow2 overlays (kvmops.kvm.libvirt_volume
# creates them there, kvmops.kvm.libvirt_domain deletes them with the VM).
POOL = "kvmops-lab"
POOL_DIR = STATE_DIR / "vms"

BRIDGE = "kvmlab0"
NETWORK = ipaddress.ip_network("198.51.100.0/24")
HOST_IP = "198.51.100.1"
PROXY_PORT = 3142
PROXY_URL = f"http://{HOST_IP}:{PROXY_PORT}"
NAME_PREFIX = "kvmlab-"
LIBVIRT_URI = "qemu:///system"
VARIANTS = ("debian", "selinux", "debian-hv", "selinux-hv")


class LabError(Exception):
    """A failure labctl reports as one line and exit status 1."""


def log(msg: str) -> None:
    # Progress goes to stderr so stdout stays machine-readable (image dir, status).
    print(f"labctl: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command; a failure becomes a LabError carrying its stderr tail."""
    kwargs.pop("check", None)  # failures are raised below, with context
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    proc = subprocess.run(cmd, check=False, **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise LabError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {' | '.join(tail)}")
    return proc


def overlay_files() -> list[Path]:
    """Every lab overlay on disk: pool volumes, and the per-VM files of labctl before the pool."""
    return sorted(POOL_DIR.glob("*.qcow2")) + sorted(STATE_DIR.glob(f"{NAME_PREFIX}*.qcow2"))


def check_name(name: str) -> str:
    if not name.startswith(NAME_PREFIX) or len(name) > 63:
        raise LabError(f"lab VM name {name!r} must start with {NAME_PREFIX!r} (max 63 chars)")
    return name


def check_ip(ip: str) -> str:
    addr = ipaddress.ip_address(ip)
    if addr not in NETWORK or str(addr) == HOST_IP or addr in (NETWORK.network_address, NETWORK.broadcast_address):
        raise LabError(f"lab VM address {ip} must be a guest address in {NETWORK} (not {HOST_IP})")
    return str(addr)


def ensure_key() -> Path:
    """Create the lab SSH key once; its public half is baked into every image."""
    if not KEY_PATH.exists():
        KEY_PATH.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kvmops-lab", "-f", str(KEY_PATH)])
    return KEY_PATH


@contextmanager
def file_lock(path: Path):
    """Serialise concurrent labctl runs (parallel Molecule scenarios) on one resource."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
