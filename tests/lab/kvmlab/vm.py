"""Lab VMs in libvirt: what `labctl spec` hands to the collection's modules, and `status`.

Creating, restarting and removing VMs is not done here: tests/lab/tasks/up.yml
and down.yml do it with kvmops.kvm.libvirt_volume and kvmops.kvm.libvirt_domain
(see kvmlab.playbook).
"""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

from . import accel, common, domain, image
from .common import LIBVIRT_URI, POOL, POOL_DIR, STATE_DIR, LabError, run
from .domain import VmSpec


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
    """``(domain, its XML)`` of every domain that is ours: the kvmlab- prefix (or older labctl's metadata).

    A domain removed while the list is read (a Molecule scenario's destroy
    running beside `make lab`) is left out instead of failing the caller.
    """
    import libvirt

    found = []
    for dom in conn.listAllDomains():
        try:
            xml = dom.XMLDesc()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue
            raise
        if domain.is_lab_domain(dom.name(), xml):
            found.append((dom, xml))
    return sorted(found, key=lambda pair: pair[0].name())


def leftovers(name: str, keep: str | None = None, pool_active: bool = True) -> dict:
    """What a VM may have left on disk besides the volume `keep`: overlays of other images, old files.

    Overlays are volumes for kvmops.kvm.libvirt_volume while the pool is active,
    plain files otherwise (the pool is gone after `net-down`, files may stay).
    """
    pattern = domain.overlay_pattern(name)
    overlays = sorted(p for p in POOL_DIR.glob("*.qcow2") if pattern.fullmatch(p.name) and p.name != keep)
    # labctl before the lab pool kept the overlay beside the console log.
    files = [p for p in (STATE_DIR / f"{name}.qcow2",) if p.exists()]
    if not pool_active:
        files, overlays = overlays + files, []
    return {
        "name": name,
        "pool": POOL,
        "volumes": [p.name for p in overlays],
        "files": [str(p) for p in files],
        "console_log": str(domain.console_log(name)),
    }


def overlay_owners() -> set[str]:
    """Names of the VMs whose overlays are on disk, with or without a domain."""
    names = set()
    for path in common.overlay_files():
        match = domain.OVERLAY_NAME.fullmatch(path.name)
        if path.parent == POOL_DIR and match:
            names.add(match.group(1))
        elif path.parent == STATE_DIR:
            names.add(path.stem)
    return names


def _check_address_free(conn, spec: VmSpec) -> None:
    for other, xml in lab_domains(conn):
        if other.name() != spec.name and domain.read_lab_info(xml)["ip"] == spec.ip:
            raise LabError(f"{spec.ip} is already used by lab VM {other.name()}")


def _virtual_size(path: Path) -> int:
    info = json.loads(run(["qemu-img", "info", "--output=json", "-U", str(path)]).stdout)
    return int(info["virtual-size"])


def build_spec(conn, spec: VmSpec) -> dict:
    """Everything tests/lab/tasks/up.yml needs for one VM; builds the image when it is missing."""
    common.check_name(spec.name)
    common.check_ip(spec.ip)
    _check_address_free(conn, spec)
    image_dir = image.ensure(spec.variant)
    meta = image.load(image_dir)
    spec = dataclasses.replace(spec, accel=accel.choose(image_dir / "vmlinuz"))
    volume = domain.volume_args(spec, image_dir, _virtual_size(image_dir / "base.qcow2"))
    old = leftovers(spec.name, keep=volume["name"])
    return {
        "name": spec.name,
        "ip": spec.ip,
        "pool": POOL,
        "accel": spec.accel,
        "image": str(image_dir),
        "console_log": str(spec.console_log),
        "volume": volume,
        "domain": domain.domain_spec(spec, image_dir, meta["kernel_args"]),
        # Removed once the domain runs on `volume`: a new image means a fresh disk.
        "stale_volumes": old["volumes"],
        "stale_files": old["files"],
    }


def _port_open(ip: str) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=2):
            return True
    except OSError:
        return False


def status_lines(conn) -> list[str]:
    import libvirt

    states = {
        libvirt.VIR_DOMAIN_RUNNING: "running",
        libvirt.VIR_DOMAIN_SHUTOFF: "shut-off",
        libvirt.VIR_DOMAIN_PAUSED: "paused",
        libvirt.VIR_DOMAIN_CRASHED: "crashed",
    }
    lines = []
    for dom, xml in lab_domains(conn):
        info = domain.read_lab_info(xml)
        state, _reason = dom.state()
        dom_info = dom.info()
        ip = info["ip"]
        ssh = "ssh-open" if state == libvirt.VIR_DOMAIN_RUNNING and ip != "?" and _port_open(ip) else "ssh-closed"
        lines.append(
            f"{dom.name()} {states.get(state, f'state-{state}')} {ip} {ssh} "
            f"{info['image']} {dom_info[1] // 1024}MiB {dom_info[3]}vcpu"
        )
    return lines
