"""The lab network: bridge kvmlab0 and the apt proxy that is the guests' only way out.

A plain Linux bridge rather than a libvirt network keeps libvirt's network
list free for the product's own tests. Guests get no route off the bridge at
all; apt-cacher-ng on the host forwards only to the host's own Debian mirrors
(ForceManaged), so no NAT or nftables rule is needed.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from . import image, pool
from .common import BRIDGE, CACHE_DIR, HOST_IP, NETWORK, PROXY_PORT, RUN_DIR, STATE_DIR, LabError, file_lock, log, run

ACNG_DIR = STATE_DIR / "apt-cacher-ng"
ACNG_PIDFILE = RUN_DIR / "apt-cacher-ng.pid"
ACNG_CACHE = CACHE_DIR / "apt-cacher-ng"  # kept by `down --all`: warm package cache
ACNG_SOCKET = RUN_DIR / "apt-cacher-ng.socket"


def bridge_exists() -> bool:
    return Path(f"/sys/class/net/{BRIDGE}/bridge").is_dir()


def up(conn=None) -> list[str]:
    """Bridge, apt proxy and (given a libvirt connection) the overlay pool; returns what changed."""
    # Parallel Molecule scenarios call this at the same moment.
    with file_lock(RUN_DIR / "net.lock"):
        changes = _up()
        if conn is not None:
            changes += pool.ensure(conn)
    return changes


def guard_route() -> None:
    """Keep lab addresses on this machine even while the bridge is down.

    Without the bridge, a connection to a lab VM (a stale Molecule instance, an
    SSH retry) would follow the default route off the machine. This low-priority
    `unreachable` route loses to the bridge's own route while the bridge is up.
    """
    run(["ip", "route", "replace", "unreachable", str(NETWORK), "metric", "4000"])


def _link_up() -> bool:
    # IFF_UP, set by `ip link set up`: a bridge without ports reports operstate down.
    flags = Path(f"/sys/class/net/{BRIDGE}/flags").read_text().strip()
    return bool(int(flags, 16) & 0x1)


def _has_address() -> bool:
    out = run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout
    return f" {HOST_IP}/{NETWORK.prefixlen} " in out


def _up() -> list[str]:
    changes = []
    guard_route()
    if not bridge_exists():
        if Path(f"/sys/class/net/{BRIDGE}").exists():
            raise LabError(f"{BRIDGE} exists but is not a bridge; remove it by hand")
        run(["ip", "link", "add", BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        changes.append(f"bridge {BRIDGE} created")
    if not _has_address():
        run(["ip", "addr", "replace", f"{HOST_IP}/{NETWORK.prefixlen}", "dev", BRIDGE])
        changes.append(f"bridge {BRIDGE} got {HOST_IP}/{NETWORK.prefixlen}")
    if not _link_up():
        run(["ip", "link", "set", BRIDGE, "up"])
        changes.append(f"bridge {BRIDGE} set up")
    if _proxy_up():
        changes.append(f"apt proxy started on {HOST_IP}:{PROXY_PORT}")
    return changes


def down(conn=None) -> None:
    """Bridge and apt proxy gone; given a libvirt connection, the overlay pool's definition too."""
    if conn is not None:
        pool.remove(conn)
    guard_route()
    _proxy_down()
    if bridge_exists():
        run(["ip", "link", "del", BRIDGE])


def _proxy_pid() -> int | None:
    """PID of our running apt-cacher-ng, or None (a stale pid file is ignored)."""
    try:
        pid = int(ACNG_PIDFILE.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"apt-cacher-ng" in cmdline else None


def _proxy_answers() -> bool:
    try:
        with socket.create_connection((HOST_IP, PROXY_PORT), timeout=1):
            return True
    except OSError:
        return False


def _acng_config() -> str:
    lines = [
        f"CacheDir: {ACNG_CACHE}",
        f"LogDir: {ACNG_DIR / 'log'}",
        "SupportDir: /usr/lib/apt-cacher-ng",
        f"BindAddress: {HOST_IP}",
        f"Port: {PROXY_PORT}",
        f"PidFile: {ACNG_PIDFILE}",
        f"SocketPath: {ACNG_SOCKET}",
        "ForeGround: 0",
        # Only the remapped mirrors below may be fetched: guests cannot use the
        # proxy to reach any other host.
        "ForceManaged: 1",
        "ExThreshold: 4",
    ]
    for index, (uri, _suites) in enumerate(image.host_mirrors()):
        parts = urlsplit(uri)
        lines.append(f"Remap-kvmlab{index}: {parts.netloc}{parts.path} ; {uri}/")
    return "\n".join(lines) + "\n"


def _proxy_up() -> bool:
    """Start apt-cacher-ng, or restart it with a new config; True when it was (re)started."""
    conf = ACNG_DIR / "conf"
    for path in (conf, ACNG_DIR / "log", ACNG_CACHE, RUN_DIR):
        path.mkdir(parents=True, exist_ok=True)
    config = _acng_config()
    conf_file = conf / "acng.conf"
    changed = not conf_file.exists() or conf_file.read_text() != config
    conf_file.write_text(config)
    pid = _proxy_pid()
    if pid and not changed and _proxy_answers():
        return False
    if pid:
        _proxy_down()
    if not Path("/usr/sbin/apt-cacher-ng").exists():
        raise LabError("apt-cacher-ng is not installed (apt-get install apt-cacher-ng)")
    ACNG_PIDFILE.unlink(missing_ok=True)
    log(f"starting apt-cacher-ng on {HOST_IP}:{PROXY_PORT}")
    run(["/usr/sbin/apt-cacher-ng", "-c", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _proxy_pid() and _proxy_answers():
            return True
        time.sleep(0.2)
    raise LabError(f"apt-cacher-ng did not answer on {HOST_IP}:{PROXY_PORT}; see {ACNG_DIR / 'log'}")


def _proxy_down() -> None:
    pid = _proxy_pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    # apt-cacher-ng leaves both behind when it stops.
    ACNG_PIDFILE.unlink(missing_ok=True)
    ACNG_SOCKET.unlink(missing_ok=True)


def describe() -> str:
    state = "up" if bridge_exists() else "down"
    proxy = f"pid {_proxy_pid()}" if _proxy_pid() else "stopped"
    return f"network {BRIDGE} {state} {HOST_IP}/{NETWORK.prefixlen}, apt proxy {proxy}"
