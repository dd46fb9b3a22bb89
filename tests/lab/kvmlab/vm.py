"""Lab VMs in libvirt: create on a qcow2 overlay, wait for SSH, remove, list."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import time
from pathlib import Path

from . import accel, common, domain, image
from .common import KEY_PATH, LIBVIRT_URI, NAME_PREFIX, STATE_DIR, LabError, log, run
from .domain import VmSpec

SSH_OPTS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
)


def connect():
    """Open libvirt, or fail with one line naming what is missing."""
    try:
        import libvirt
    except ImportError as exc:
        raise LabError(f"libvirt-python is missing ({exc}); run labctl with the venv's python") from exc
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors arrive as exceptions
    try:
        return libvirt.open(LIBVIRT_URI)
    except libvirt.libvirtError as exc:
        raise LabError(
            f"libvirtd is not reachable at {LIBVIRT_URI} ({exc.get_error_message()}); "
            "start it with tests/testbed/libvirt.sh start"
        ) from exc


def lab_domains(conn) -> list:
    """Every domain that is ours: the kvmlab- prefix or our metadata."""
    found = []
    for dom in conn.listAllDomains():
        if dom.name().startswith(NAME_PREFIX) or domain.read_metadata(dom.XMLDesc()):
            found.append(dom)
    return sorted(found, key=lambda d: d.name())


def _lookup(conn, name: str):
    import libvirt

    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def _tb_cache_supported(conn) -> bool:
    # libvirt >= 8.0 knows <tcg><tb-cache>; older ones would reject the whole domain.
    return conn.getLibVersion() >= 8_000_000


def remove(conn, name: str) -> bool:
    dom = _lookup(conn, name)
    if dom is not None:
        if dom.isActive():
            dom.destroy()
        if dom.isPersistent():
            dom.undefine()
    for path in (STATE_DIR / f"{name}.qcow2", STATE_DIR / f"{name}.console.log"):
        path.unlink(missing_ok=True)
    return dom is not None


def create(conn, spec: VmSpec) -> bool:
    """Make sure the VM runs on the current image; True when it was (re)created."""
    image_dir = image.ensure(spec.variant)
    meta = image.load(image_dir)
    spec = dataclasses.replace(spec, accel=accel.choose(image_dir / "vmlinuz"))
    fingerprint = spec.fingerprint(image_dir)
    for other in lab_domains(conn):
        other_meta = domain.read_metadata(other.XMLDesc()) or {}
        if other.name() != spec.name and other_meta.get("ip") == spec.ip:
            raise LabError(f"{spec.ip} is already used by lab VM {other.name()}")
    dom = _lookup(conn, spec.name)
    if dom is not None:
        current = domain.read_metadata(dom.XMLDesc()) or {}
        # A stopped VM is recreated too: with cache='unsafe' a killed QEMU can
        # leave its overlay inconsistent.
        if dom.isActive() and current.get("fingerprint") == fingerprint and spec.overlay.exists():
            return False
        log(f"{spec.name}: recreating (stale image or settings, or not running)")
    remove(conn, spec.name)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    STATE_DIR.chmod(0o755)
    run(
        [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "qcow2",
            "-b",
            str(image_dir / "base.qcow2"),
            str(spec.overlay),
        ]
    )
    xml = domain.build_xml(spec, image_dir, meta["kernel_args"], _tb_cache_supported(conn))
    dom = conn.defineXML(xml)
    dom.create()
    log(f"{spec.name}: started ({spec.ip}, {spec.variant}, {spec.accel}, {spec.memory} MiB, {spec.vcpus} vCPU)")
    return True


def _port_open(ip: str) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=2):
            return True
    except OSError:
        return False


def ssh_ok(ip: str) -> bool:
    proc = subprocess.run(  # noqa: S603 - fixed argv
        ["ssh", "-i", str(KEY_PATH), *SSH_OPTS, f"root@{ip}", "true"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return proc.returncode == 0


def console_tail(spec: VmSpec, lines: int = 25) -> str:
    try:
        text = Path(spec.console_log).read_text(errors="replace")
    except OSError as exc:
        return f"(no console log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def wait_ssh(conn, spec: VmSpec, timeout: float) -> float:
    """Block until root can SSH in; returns seconds waited."""
    started = time.monotonic()
    dom = _lookup(conn, spec.name)
    while time.monotonic() - started < timeout:
        if dom is None or not dom.isActive():
            raise LabError(f"{spec.name} stopped while booting; console log tail:\n{console_tail(spec)}")
        if _port_open(spec.ip) and ssh_ok(spec.ip):
            return time.monotonic() - started
        time.sleep(2)
    raise LabError(
        f"{spec.name}: no SSH on {spec.ip} after {timeout:.0f} s; console log "
        f"{spec.console_log} ends with:\n{console_tail(spec)}"
    )


def up(spec: VmSpec, timeout: float) -> str:
    common.check_name(spec.name)
    common.check_ip(spec.ip)
    conn = connect()
    try:
        started = time.monotonic()
        created = create(conn, spec)
        waited = wait_ssh(conn, spec, timeout)
        if created:
            return f"{spec.name} created, SSH after {time.monotonic() - started:.1f} s"
        return f"{spec.name} already up (SSH checked in {waited:.1f} s)"
    finally:
        conn.close()


def status_lines(conn) -> list[str]:
    import libvirt

    states = {
        libvirt.VIR_DOMAIN_RUNNING: "running",
        libvirt.VIR_DOMAIN_SHUTOFF: "shut-off",
        libvirt.VIR_DOMAIN_PAUSED: "paused",
        libvirt.VIR_DOMAIN_CRASHED: "crashed",
    }
    lines = []
    for dom in lab_domains(conn):
        meta = domain.read_metadata(dom.XMLDesc()) or {}
        state, _reason = dom.state()
        info = dom.info()
        ip = meta.get("ip", "?")
        ssh = "ssh-open" if state == libvirt.VIR_DOMAIN_RUNNING and _port_open(ip) else "ssh-closed"
        lines.append(
            f"{dom.name()} {states.get(state, f'state-{state}')} {ip} {ssh} "
            f"{Path(meta.get('image', '?')).name} {info[1] // 1024}MiB {info[3]}vcpu"
        )
    return lines
