"""Pure builder for a lab VM's libvirt domain XML (no libvirt import here)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lxml import etree

from .common import BRIDGE, HOST_IP, NETWORK, STATE_DIR

METADATA_NS = "https://kvmops.example/lab/1"
TB_CACHE_MIB = 256  # halves QEMU RSS under TCG (test bed notes: 1.6 -> 0.8 GiB)


@dataclass(frozen=True)
class VmSpec:
    name: str
    ip: str
    variant: str = "debian"
    memory: int = 2048
    vcpus: int = 1
    numa_nodes: int = 0
    # "tcg" or "kvm" (kvmlab.accel decides); part of the fingerprint, so a VM
    # is recreated when the machine's answer changes.
    accel: str = "tcg"

    @property
    def overlay(self) -> Path:
        return STATE_DIR / f"{self.name}.qcow2"

    @property
    def console_log(self) -> Path:
        return STATE_DIR / f"{self.name}.console.log"

    @property
    def mac(self) -> str:
        # Derived from the address so a recreated VM keeps its MAC (no stale ARP).
        octets = self.ip.split(".")
        return f"52:54:00:c6:{int(octets[2]):02x}:{int(octets[3]):02x}"

    def fingerprint(self, image_dir: Path) -> str:
        """Changes whenever the VM would be built differently: then `up` recreates it."""
        data = json.dumps({**asdict(self), "image": str(image_dir)}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]


def cmdline(spec: VmSpec, kernel_args: str) -> str:
    mask = str(NETWORK.netmask)
    args = (
        f"root=/dev/vda rw console=ttyS0 net.ifnames=0 "
        f"ip={spec.ip}::{HOST_IP}:{mask}:{spec.name}:eth0:off systemd.hostname={spec.name}"
    )
    return f"{args} {kernel_args}".strip()


def _sub(parent, tag: str, text: str | None = None, **attrs):
    elem = etree.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        elem.text = str(text)
    return elem


def _cpu(root, spec: VmSpec) -> None:
    if spec.accel == "kvm":
        # The host's own CPU, virtualisation flags included, for nested guests.
        cpu = _sub(root, "cpu", mode="host-passthrough", check="none")
    else:
        cpu = _sub(root, "cpu", mode="custom", match="exact", check="none")
        _sub(cpu, "model", "qemu64", fallback="forbid")
    if spec.numa_nodes > 1:
        numa = _sub(cpu, "numa")
        for cell in range(spec.numa_nodes):
            cpus = [str(c) for c in range(spec.vcpus) if c % spec.numa_nodes == cell]
            memory = spec.memory // spec.numa_nodes
            if cell == spec.numa_nodes - 1:
                memory += spec.memory % spec.numa_nodes
            _sub(numa, "cell", id=cell, cpus=",".join(cpus), memory=memory, unit="MiB")


def build_xml(spec: VmSpec, image_dir: Path, kernel_args: str, tb_cache: bool = True) -> str:
    root = etree.Element("domain", type="kvm" if spec.accel == "kvm" else "qemu")
    _sub(root, "name", spec.name)
    _sub(root, "description", "kvmops lab VM (tests/lab/labctl); disposable")
    meta = _sub(root, "metadata")
    lab = etree.SubElement(meta, f"{{{METADATA_NS}}}lab", nsmap={"kvmlab": METADATA_NS})
    for key, value in (
        ("image", image_dir),
        ("variant", spec.variant),
        ("ip", spec.ip),
        ("fingerprint", spec.fingerprint(image_dir)),
    ):
        etree.SubElement(lab, f"{{{METADATA_NS}}}{key}").text = str(value)
    _sub(root, "memory", spec.memory, unit="MiB")
    _sub(root, "vcpu", spec.vcpus)
    os_ = _sub(root, "os")
    _sub(os_, "type", "hvm", arch="x86_64", machine="pc")
    _sub(os_, "kernel", image_dir / "vmlinuz")
    _sub(os_, "initrd", image_dir / "initrd.img")
    _sub(os_, "cmdline", cmdline(spec, kernel_args))
    features = _sub(root, "features")
    _sub(features, "acpi")  # needed for hot-plug and a clean ACPI shutdown
    if tb_cache and spec.accel == "tcg":
        _sub(_sub(features, "tcg"), "tb-cache", TB_CACHE_MIB, unit="MiB")
    _cpu(root, spec)
    _sub(root, "on_poweroff", "destroy")
    _sub(root, "on_reboot", "restart")
    _sub(root, "on_crash", "destroy")
    devices = _sub(root, "devices")
    disk = _sub(devices, "disk", type="file", device="disk")
    # unsafe: the overlay is disposable, and flushes under TCG cost seconds.
    _sub(disk, "driver", name="qemu", type="qcow2", cache="unsafe", discard="unmap")
    _sub(disk, "source", file=spec.overlay)
    _sub(disk, "target", dev="vda", bus="virtio")
    nic = _sub(devices, "interface", type="bridge")
    _sub(nic, "source", bridge=BRIDGE)
    _sub(nic, "mac", address=spec.mac)
    _sub(nic, "model", type="virtio")
    serial = _sub(devices, "serial", type="file")
    _sub(serial, "source", path=spec.console_log)
    _sub(serial, "target", port=0)
    # Early boot under TCG can stall on entropy; the host's pool is free.
    rng = _sub(devices, "rng", model="virtio")
    _sub(rng, "backend", "/dev/urandom", model="random")
    _sub(devices, "controller", type="usb", model="none")
    _sub(devices, "memballoon", model="none")
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def read_metadata(xml: str) -> dict | None:
    """The lab metadata of a domain, or None when the domain is not a lab VM."""
    root = etree.fromstring(xml.encode())
    lab = root.find(f"metadata/{{{METADATA_NS}}}lab")
    if lab is None:
        return None
    return {etree.QName(child).localname: child.text for child in lab}
