"""Build or reuse the cached lab image: a debootstrapped Debian 12 disk plus its kernel.

The cache key hashes every build input (this file's own source included), so a
change to the recipe, the mirror or the lab SSH key builds a new image instead
of silently reusing an old one.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from . import common
from .common import CACHE_DIR, LabError, log, run

SUITE = "bookworm"
# From the test bed notes: the smallest set that boots with systemd, serves SSH
# and runs Ansible modules (python3-apt for the apt module).
BASE_PACKAGES = (
    "systemd-sysv,udev,dbus,libpam-systemd,openssh-server,openssh-sftp-server,python3,"
    "python3-apt,linux-image-cloud-amd64,initramfs-tools,sudo,iproute2,procps,kmod,"
    "netbase,e2fsprogs,ca-certificates"
)
SELINUX_PACKAGES = ("selinux-basics", "selinux-policy-default", "auditd", "python3-selinux")
# What kvm_host installs on Debian, pre-installed: installing it in the chroot takes
# about 23 s, under TCG in a lab VM about 2 min 12 s. Scenarios that test roles
# *after* kvm_host (hardening, tuning, OVS, Ceph, guests) start from these
# variants; kvm_host's own scenario and `make lab` still start from bare images.
HYPERVISOR_PACKAGES = (
    "qemu-utils",
    "qemu-system-x86",
    "ovmf",
    "libvirt-daemon-system",
    "libvirt-clients",
    "dnsmasq-base",
    "dmidecode",
    "python3-libvirt",
    "python3-lxml",
    "python3-netaddr",
    "openvswitch-switch",
)
# What a Debian server install has beyond minbase, or what the roles after
# kvm_host call: AppArmor's userspace (the lab kernel enables AppArmor without
# extra arguments), nftables, auditd, irqbalance, update-grub (kvm_hardening,
# kvm_tuning), and the Ceph client (kvm_ceph; the role still installs
# libvirt's and QEMU's RBD drivers, so its install-and-restart path stays
# tested). Installed under TCG in every scenario run they would cost minutes
# each (ceph-common alone about 10 min).
SERVER_PACKAGES = ("auditd", "nftables", "irqbalance", "grub2-common", "ceph-common")
# One hypervisor variant per security module: every scenario after kvm_host
# starts from one of these two, so CI builds four images, not six.
VARIANT_PACKAGES = {
    "debian": (),
    "selinux": SELINUX_PACKAGES,
    "debian-hv": HYPERVISOR_PACKAGES + SERVER_PACKAGES + ("apparmor",),
    "selinux-hv": SELINUX_PACKAGES
    + HYPERVISOR_PACKAGES
    + SERVER_PACKAGES
    + ("python3-semanage", "policycoreutils-python-utils"),
}
VARIANT_KERNEL_ARGS = {
    "debian": "",
    "selinux": "security=selinux selinux=1 enforcing=1",
    "debian-hv": "",
    "selinux-hv": "security=selinux selinux=1 enforcing=1",
}
# Only what the direct kernel boot needs: disk, NIC, and ext4 for the root.
INITRAMFS_MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "virtio_console", "virtio_rng", "ext4")
DISK_SIZE = "8G"
# Compressed qcow2 is ~2.5x smaller; decompression runs on the host, not under
# TCG, and a boot reads only a few dozen MB, so boot time does not change measurably.
COMPRESS = True
SOURCES_GLOB = "/etc/apt/sources.list.d/*.sources"
DEFAULT_MIRRORS = (("http://deb.debian.org/debian", (SUITE, f"{SUITE}-updates")),)


def host_mirrors() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The host's own Debian mirrors (URI, suites): the only place the lab may reach."""
    found = []
    for path in sorted(Path("/").glob(SOURCES_GLOB.lstrip("/"))):
        for stanza in path.read_text().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.split()
            if "deb" in fields.get("types", []) and fields.get("uris"):
                suites = tuple(s for s in fields.get("suites", []) if s.startswith(SUITE))
                if suites:
                    found.append((fields["uris"][0].rstrip("/"), suites))
    return tuple(found) or DEFAULT_MIRRORS


def primary_mirror() -> str:
    for uri, suites in host_mirrors():
        if SUITE in suites:
            return uri
    return DEFAULT_MIRRORS[0][0]


def build_inputs(variant: str) -> dict:
    pubkey = Path(f"{common.ensure_key()}.pub").read_text().strip()
    return {
        "variant": variant,
        "suite": SUITE,
        "packages": BASE_PACKAGES,
        "variant_packages": VARIANT_PACKAGES[variant],
        "kernel_args": VARIANT_KERNEL_ARGS[variant],
        "mirrors": host_mirrors(),
        "proxy": common.PROXY_URL,
        "pubkey": pubkey,
        # The recipe's syntax tree, not its text: edits to comments or layout
        # do not force an 85 s rebuild, any change to the code does.
        "recipe": hashlib.sha256(ast.dump(ast.parse(Path(__file__).read_text())).encode()).hexdigest(),
    }


def image_dir(variant: str) -> Path:
    if variant not in VARIANT_PACKAGES:
        raise LabError(f"unknown image variant {variant!r} (one of {', '.join(VARIANT_PACKAGES)})")
    digest = hashlib.sha256(json.dumps(build_inputs(variant), sort_keys=True).encode()).hexdigest()
    return CACHE_DIR / f"{variant}-{digest[:16]}"


def load(path: Path) -> dict:
    return json.loads((path / "image.json").read_text())


def ensure(variant: str) -> Path:
    """Return the cached image directory for the variant, building it if missing."""
    target = image_dir(variant)
    if (target / "image.json").exists():
        return target
    with common.file_lock(CACHE_DIR / ".build.lock"):
        if (target / "image.json").exists():  # another labctl built it while we waited
            return target
        _build(variant, target)
    return target


def _build(variant: str, target: Path) -> None:
    started = time.monotonic()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(CACHE_DIR, 0o755)  # libvirt-qemu must read the base disk and kernel
    # Built beside the target and renamed into place: a crash leaves only a
    # .tmp- directory (removed on the next build), never a half image.
    for stale in CACHE_DIR.glob(".tmp-*"):
        _remove_tree(stale)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=CACHE_DIR))
    try:
        rootfs = tmp / "rootfs"
        log(f"image {variant}: debootstrap from {primary_mirror()}")
        run(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", SUITE, str(rootfs), primary_mirror()])
        _configure(rootfs, variant)
        _extract_kernel(rootfs, tmp)
        log(f"image {variant}: mke2fs + qemu-img convert")
        raw = tmp / "base.raw"
        run(["mke2fs", "-q", "-t", "ext4", "-L", "kvmlab-root", "-d", str(rootfs), str(raw), DISK_SIZE])
        _remove_tree(rootfs)
        run(["qemu-img", "convert", *(["-c"] if COMPRESS else []), "-O", "qcow2", str(raw), str(tmp / "base.qcow2")])
        raw.unlink()
        meta = {
            "variant": variant,
            "kernel_args": VARIANT_KERNEL_ARGS[variant],
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 1),
            "inputs": build_inputs(variant),
        }
        (tmp / "image.json").write_text(json.dumps(meta, indent=2) + "\n")
        for path in tmp.iterdir():
            os.chmod(path, 0o644)
        os.chmod(tmp, 0o755)
        os.rename(tmp, target)
        log(f"image {variant}: built {target} in {meta['build_seconds']} s")
    except BaseException:
        _remove_tree(tmp)
        raise
    _prune(variant, keep=target)


def _chroot(rootfs: Path, *cmd: str) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    run(["chroot", str(rootfs), *cmd], env=env)


def _write(rootfs: Path, rel: str, text: str, mode: int = 0o644) -> None:
    path = rootfs / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


def _configure(rootfs: Path, variant: str) -> None:
    shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")
    # Keep package maintainer scripts from starting daemons inside the chroot.
    _write(rootfs, "/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)
    run(["mount", "-t", "proc", "proc", str(rootfs / "proc")])
    try:
        if VARIANT_PACKAGES[variant]:
            log(f"image {variant}: installing {' '.join(VARIANT_PACKAGES[variant])}")
            _chroot(rootfs, "apt-get", "install", "-y", "--no-install-recommends", *VARIANT_PACKAGES[variant])
        _write_config(rootfs)
        _write(rootfs, "/etc/initramfs-tools/conf.d/kvmops-lab.conf", "MODULES=list\n")
        _write(rootfs, "/etc/initramfs-tools/modules", "\n".join(INITRAMFS_MODULES) + "\n")
        log(f"image {variant}: update-initramfs")
        _chroot(rootfs, "update-initramfs", "-u", "-k", "all")
        _chroot(rootfs, "apt-get", "clean")
        for lists in (rootfs / "var/lib/apt/lists").glob("*_*"):
            lists.unlink()
        (rootfs / "usr/sbin/policy-rc.d").unlink()
        _write(rootfs, "/etc/resolv.conf", "")
        if variant.startswith("selinux"):
            _write(rootfs, "/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=default\n")
            # Labelled offline (last, after every file is written) so the first
            # boot is already enforcing; mke2fs -d keeps the security xattrs.
            _chroot(rootfs, "setfiles", "-F", "/etc/selinux/default/contexts/files/file_contexts", "/")
    finally:
        run(["umount", str(rootfs / "proc")])


def _write_config(rootfs: Path) -> None:
    _write(rootfs, "/etc/fstab", "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n")
    _write(rootfs, "/etc/hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
    (rootfs / "etc/hostname").unlink(missing_ok=True)  # systemd.hostname= on the cmdline names each VM
    # Empty machine-id: every VM gets its own at first boot (overlays share the base).
    _write(rootfs, "/etc/machine-id", "", 0o444)
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    sources = "".join(
        f"Types: deb\nURIs: {uri}\nSuites: {' '.join(suites)}\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        for uri, suites in host_mirrors()
    )
    _write(rootfs, "/etc/apt/sources.list.d/debian.sources", sources)
    _write(rootfs, "/etc/apt/sources.list", "")
    # Guests have no route out: apt goes through the host's apt-cacher-ng,
    # which only forwards to the host's own mirrors.
    _write(rootfs, "/etc/apt/apt.conf.d/01kvmops-lab-proxy", f'Acquire::http::Proxy "{common.PROXY_URL}";\n')
    pubkey = Path(f"{common.KEY_PATH}.pub").read_text()
    (rootfs / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
    _write(rootfs, "/root/.ssh/authorized_keys", pubkey, 0o600)
    _write(rootfs, "/etc/ssh/sshd_config.d/kvmops-lab.conf", "PermitRootLogin prohibit-password\nUseDNS no\n")
    wants = rootfs / "etc/systemd/system/getty.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "serial-getty@ttyS0.service"
    if not link.is_symlink():
        link.symlink_to("/lib/systemd/system/serial-getty@.service")
    # The Debian kernel has no built-in IP autoconfiguration and initramfs-tools
    # applies ip= only for NFS roots; systemd-network-generator turns the ip=
    # of the cmdline into a networkd config, so nothing per VM is in the image.
    _chroot(rootfs, "systemctl", "enable", "systemd-networkd.service", "systemd-network-generator.service")
    # Background apt runs would hold the dpkg lock while tests install packages.
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"):
        mask = rootfs / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")


def _extract_kernel(rootfs: Path, dest: Path) -> None:
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise LabError(f"expected one kernel in the image, found {[k.name for k in kernels]}")
    version = kernels[0].name.removeprefix("vmlinuz-")
    shutil.copy(kernels[0], dest / "vmlinuz")
    shutil.copy(rootfs / "boot" / f"initrd.img-{version}", dest / "initrd.img")


def _remove_tree(path: Path) -> None:
    # Never recurse into a still-mounted /proc of a crashed build.
    mounts = Path("/proc/mounts").read_text().split("\n")
    for line in mounts:
        fields = line.split()
        if len(fields) > 1 and fields[1].startswith(str(path)):
            run(["umount", "-l", fields[1]])
    shutil.rmtree(path, ignore_errors=True)


def _prune(variant: str, keep: Path) -> None:
    """Drop older images of this variant no lab overlay still uses as backing file."""
    in_use = set()
    # Overlays live in the lab pool's directory below STATE_DIR: look everywhere there.
    for overlay in common.STATE_DIR.rglob("*.qcow2"):
        info = json.loads(run(["qemu-img", "info", "--output=json", "-U", str(overlay)]).stdout)
        in_use.add(str(Path(info.get("backing-filename", "/")).parent))
    # Exactly "<variant>-<digest>": a bare prefix glob would also match other
    # variants ("debian-*" matches "debian-hv-...").
    own = re.compile(rf"^{re.escape(variant)}-[0-9a-f]{{16}}$")
    for old in CACHE_DIR.iterdir():
        if own.match(old.name) and old != keep and str(old) not in in_use:
            log(f"pruning old image {old}")
            shutil.rmtree(old, ignore_errors=True)
