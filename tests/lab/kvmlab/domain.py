"""Pure builders for a lab VM: its overlay volume and its kvmops.kvm.libvirt_domain spec.

Nothing here talks to libvirt: `labctl spec` prints what these return, and the
tasks in tests/lab/tasks/ hand it to the collection's own modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .common import BRIDGE, HOST_IP, NAME_PREFIX, NETWORK, POOL, STATE_DIR

DESCRIPTION = "kvmops lab VM (tests/lab/labctl); disposable"
TB_CACHE = "256MiB"  # halves QEMU RSS under TCG (test bed notes: 1.6 -> 0.8 GiB)
# What labctl before the lab pool wrote into <metadata>; still read for `status`.
LEGACY_METADATA_NS = "https://kvmops.example/lab/1"
_IP_ARG = re.compile(r"(?:^|\s)ip=([0-9.]+):")
OVERLAY_NAME = re.compile(rf"({re.escape(NAME_PREFIX)}.+)-[0-9a-f]{{16}}\.qcow2")


@dataclass(frozen=True)
class VmSpec:
    name: str
    ip: str
    variant: str = "debian"
    memory: int = 2048
    vcpus: int = 1
    numa_nodes: int = 0
    # "tcg" or "kvm" (kvmlab.accel decides).
    accel: str = "tcg"

    @property
    def console_log(self) -> Path:
        return console_log(self.name)

    @property
    def mac(self) -> str:
        # Derived from the address so a recreated VM keeps its MAC (no stale ARP).
        octets = self.ip.split(".")
        return f"52:54:00:c6:{int(octets[2]):02x}:{int(octets[3]):02x}"

    def overlay_name(self, image_dir: Path) -> str:
        """The overlay's volume name carries the image digest: a new image means a new, fresh overlay."""
        return f"{self.name}-{image_digest(image_dir)}.qcow2"


def console_log(name: str) -> Path:
    return STATE_DIR / f"{name}.console.log"


def image_digest(image_dir: Path) -> str:
    # Image directories are named VARIANT-DIGEST (kvmlab.image.image_dir).
    return image_dir.name.rsplit("-", 1)[1]


def overlay_pattern(name: str) -> re.Pattern:
    """Overlay volume names of one VM, for any image; not those of `kvmlab-hv1-x` for `kvmlab-hv1`."""
    return re.compile(rf"{re.escape(name)}-[0-9a-f]{{16}}\.qcow2")


def cmdline(spec: VmSpec, kernel_args: str) -> str:
    mask = str(NETWORK.netmask)
    args = (
        f"root=/dev/vda rw console=ttyS0 net.ifnames=0 "
        f"ip={spec.ip}::{HOST_IP}:{mask}:{spec.name}:eth0:off systemd.hostname={spec.name}"
    )
    return f"{args} {kernel_args}".strip()


def volume_args(spec: VmSpec, image_dir: Path, capacity: int) -> dict:
    """Options of kvmops.kvm.libvirt_volume for the VM's overlay on the cached base image."""
    return {
        "pool": POOL,
        "name": spec.overlay_name(image_dir),
        "format": "qcow2",
        "backing_path": str(image_dir / "base.qcow2"),
        # The base image is no pool's volume, so libvirt cannot tell these itself.
        "backing_format": "qcow2",
        "capacity": f"{capacity}B",
    }


def numa_cells(spec: VmSpec) -> list[dict]:
    if spec.numa_nodes < 2:
        return []
    cells = []
    for cell in range(spec.numa_nodes):
        cpus = [str(c) for c in range(spec.vcpus) if c % spec.numa_nodes == cell]
        memory = spec.memory // spec.numa_nodes
        if cell == spec.numa_nodes - 1:
            memory += spec.memory % spec.numa_nodes
        cells.append({"id": cell, "cpus": ",".join(cpus), "memory": f"{memory}MiB"})
    return cells


def domain_spec(spec: VmSpec, image_dir: Path, kernel_args: str) -> dict:
    """One item of kvmops.kvm.libvirt_domain's `domains`: the lab VM as labctl always built it."""
    kvm = spec.accel == "kvm"
    domain = {
        "name": spec.name,
        "title": "kvmops lab VM",
        "description": DESCRIPTION,
        "type": "kvm" if kvm else "qemu",
        "machine": "pc",
        "memory": f"{spec.memory}MiB",
        "vcpus": spec.vcpus,
        # The host's own CPU under KVM, virtualisation flags included, for nested guests.
        "cpu": {"mode": "host-passthrough"}
        if kvm
        else {"mode": "custom", "model": "qemu64", "match": "exact", "fallback": "forbid"},
        # Always given, so a VM that drops its NUMA cells loses them.
        "numa_cells": numa_cells(spec),
        "kernel": str(image_dir / "vmlinuz"),
        "initrd": str(image_dir / "initrd.img"),
        "cmdline": cmdline(spec, kernel_args),
        # ACPI: hot-plug and a clean power-button shutdown. The TCG cache element
        # must go when a VM moves to KVM: libvirt refuses it there.
        "features": {"acpi": True} if not kvm else {"acpi": True, "tcg": False},
        "on_poweroff": "destroy",
        "on_reboot": "restart",
        "on_crash": "destroy",
        "disks": [
            {
                "target": "vda",
                "bus": "virtio",
                "pool": POOL,
                "volume": spec.overlay_name(image_dir),
                "format": "qcow2",
                # unsafe: the overlay is disposable, and flushes under TCG cost seconds.
                "cache": "unsafe",
                "discard": "unmap",
            }
        ],
        "interfaces": [{"bridge": BRIDGE, "mac": spec.mac, "model": "virtio"}],
        "serials": [{"type": "file", "path": str(spec.console_log)}],
        # Early boot under TCG can stall on entropy; the host's pool is free.
        "rng": {"model": "virtio", "backend": "/dev/urandom"},
        "memballoon": {"model": "none"},
    }
    if not kvm:
        domain["tcg_tb_cache"] = TB_CACHE
    return domain


def is_lab_domain(name: str, xml: str) -> bool:
    return name.startswith(NAME_PREFIX) or read_lab_info(xml)["legacy"]


def read_lab_info(xml: str) -> dict:
    """Address and image of a lab domain, from its kernel command line and kernel path."""
    root = etree.fromstring(xml.encode())
    legacy = root.find(f"metadata/{{{LEGACY_METADATA_NS}}}lab")
    match = _IP_ARG.search(root.findtext("os/cmdline") or "")
    kernel = root.findtext("os/kernel")
    return {
        "ip": match.group(1) if match else "?",
        "image": Path(kernel).parent.name if kernel else "?",
        "legacy": legacy is not None,
    }
