# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The structured domain spec: its argument spec and the checks Ansible's types cannot express.

One dict, :data:`DOMAIN_OPTIONS`, is both the module's top-level options (one
domain) and the spec each item of ``domains:`` is validated against, so a
batch has exactly the semantics of one-by-one calls. Pure: no libvirt here.
"""

from __future__ import annotations

import re

try:
    import netaddr
except ImportError:  # the module reports missing_required_lib
    netaddr = None
    HAS_NETADDR = False
else:
    HAS_NETADDR = True

# libvirt accepts almost any name; we keep to what is safe in file names, shells and DNS.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$")
DISK_TARGET_RE = re.compile(r"^(vd|sd|hd|xvd)[a-z]{1,2}$")
PCI_ADDRESS_RE = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

STATES = ["present", "running", "shutdown", "destroyed", "paused", "absent"]
LIFECYCLE_ACTIONS = ["destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"]


class SpecError(ValueError):
    """An invalid spec; the message names the option and the reason."""


def _opts(**options):
    return options


_HUGEPAGE = _opts(size=dict(type="raw", required=True), nodeset=dict(type="str"))
_VCPUPIN = _opts(vcpu=dict(type="int", required=True), cpuset=dict(type="str", required=True))
_MEMNODE = _opts(
    cellid=dict(type="int", required=True),
    mode=dict(type="str", choices=["strict", "preferred", "interleave", "restrictive"], default="strict"),
    nodeset=dict(type="str", required=True),
)
_RBD_HOST = _opts(name=dict(type="str", required=True), port=dict(type="int", default=6789))

DISK_OPTIONS = _opts(
    target=dict(type="str", required=True),
    device=dict(type="str", choices=["disk", "cdrom", "lun"], default="disk"),
    bus=dict(type="str", choices=["virtio", "scsi", "sata", "ide", "usb"]),
    type=dict(type="str", choices=["file", "block", "volume", "network"]),
    path=dict(type="str"),
    pool=dict(type="str"),
    volume=dict(type="str"),
    rbd=dict(
        type="dict",
        options=_opts(
            image=dict(type="str", required=True),
            hosts=dict(type="list", elements="dict", required=True, options=_RBD_HOST),
            username=dict(type="str"),
            # Names of libvirt secrets, not secret values.
            secret_uuid=dict(type="str", no_log=False),
            secret_usage=dict(type="str", no_log=False),
        ),
        mutually_exclusive=[["secret_uuid", "secret_usage"]],
    ),
    format=dict(type="str", choices=["raw", "qcow2"]),
    cache=dict(type="str", choices=["default", "none", "writethrough", "writeback", "directsync", "unsafe"]),
    io=dict(type="str", choices=["native", "threads", "io_uring"]),
    discard=dict(type="str", choices=["unmap", "ignore"]),
    detect_zeroes=dict(type="str", choices=["off", "on", "unmap"]),
    serial=dict(type="str"),
    readonly=dict(type="bool"),
    shareable=dict(type="bool"),
    boot_order=dict(type="int"),
)

INTERFACE_OPTIONS = _opts(
    type=dict(type="str", choices=["network", "bridge", "direct"]),
    network=dict(type="str"),
    bridge=dict(type="str"),
    dev=dict(type="str"),
    source_mode=dict(type="str", choices=["vepa", "bridge", "private", "passthrough"]),
    portgroup=dict(type="str"),
    openvswitch=dict(type="bool", default=False),
    vlan=dict(type="int"),
    trunk=dict(type="list", elements="int"),
    native_vlan=dict(type="int"),
    mac=dict(type="str"),
    model=dict(type="str", default="virtio"),
    mtu=dict(type="int"),
    queues=dict(type="int"),
    offloads=dict(type="dict"),
    boot_order=dict(type="int"),
    link_state=dict(type="str", choices=["up", "down"]),
)

DOMAIN_OPTIONS = _opts(
    name=dict(type="str"),
    state=dict(type="str", choices=STATES, default="present"),
    xml=dict(type="str"),
    uuid=dict(type="str"),
    title=dict(type="str"),
    description=dict(type="str"),
    type=dict(type="str", choices=["kvm", "qemu"], default="kvm"),
    arch=dict(type="str", default="x86_64"),
    machine=dict(type="str"),
    emulator=dict(type="str"),
    firmware=dict(
        type="dict",
        options=_opts(
            type=dict(type="str", choices=["bios", "efi"], default="bios"),
            secure_boot=dict(type="bool", default=False),
            loader=dict(type="str"),
            nvram=dict(type="str"),
            nvram_template=dict(type="str"),
        ),
    ),
    memory=dict(type="raw"),
    current_memory=dict(type="raw"),
    vcpus=dict(type="int"),
    max_vcpus=dict(type="int"),
    vcpu_placement=dict(type="str", choices=["static", "auto"]),
    vcpu_cpuset=dict(type="str"),
    iothreads=dict(type="int"),
    cpu=dict(
        type="dict",
        options=_opts(
            mode=dict(type="str", choices=["host-passthrough", "host-model", "custom", "maximum"], required=True),
            model=dict(type="str"),
            fallback=dict(type="str", choices=["allow", "forbid"]),
            match=dict(type="str", choices=["minimum", "exact", "strict"]),
            migratable=dict(type="bool"),
            features=dict(
                type="list",
                elements="dict",
                options=_opts(
                    name=dict(type="str", required=True),
                    policy=dict(
                        type="str", choices=["force", "require", "optional", "disable", "forbid"], default="require"
                    ),
                ),
            ),
            topology=dict(
                type="dict",
                options=_opts(
                    sockets=dict(type="int", required=True),
                    dies=dict(type="int"),
                    cores=dict(type="int", required=True),
                    threads=dict(type="int", required=True),
                ),
            ),
        ),
    ),
    numa_cells=dict(
        type="list",
        elements="dict",
        options=_opts(
            id=dict(type="int", required=True),
            cpus=dict(type="str", required=True),
            memory=dict(type="raw", required=True),
            memory_access=dict(type="str", choices=["shared", "private"]),
        ),
    ),
    cputune=dict(
        type="dict",
        options=_opts(
            vcpupin=dict(type="list", elements="dict", options=_VCPUPIN),
            emulatorpin=dict(type="str"),
            iothreadpin=dict(
                type="list",
                elements="dict",
                options=_opts(iothread=dict(type="int", required=True), cpuset=dict(type="str", required=True)),
            ),
            shares=dict(type="int"),
            period=dict(type="int"),
            quota=dict(type="int"),
            emulator_period=dict(type="int"),
            emulator_quota=dict(type="int"),
        ),
    ),
    numatune=dict(
        type="dict",
        options=_opts(
            mode=dict(type="str", choices=["strict", "preferred", "interleave", "restrictive"], default="strict"),
            nodeset=dict(type="str"),
            placement=dict(type="str", choices=["static", "auto"]),
            memnodes=dict(type="list", elements="dict", options=_MEMNODE),
        ),
    ),
    memory_backing=dict(
        type="dict",
        options=_opts(
            hugepages=dict(type="list", elements="dict", options=_HUGEPAGE),
            locked=dict(type="bool", default=False),
            nosharepages=dict(type="bool", default=False),
            source=dict(type="str", choices=["file", "anonymous", "memfd"]),
            access=dict(type="str", choices=["shared", "private"]),
        ),
    ),
    boot=dict(type="list", elements="str"),
    kernel=dict(type="str"),
    initrd=dict(type="str"),
    cmdline=dict(type="str"),
    features=dict(type="dict"),
    tcg_tb_cache=dict(type="raw"),
    clock=dict(
        type="dict",
        options=_opts(
            offset=dict(type="str", choices=["utc", "localtime", "timezone", "variable"], default="utc"),
            timezone=dict(type="str"),
            timers=dict(
                type="list",
                elements="dict",
                options=_opts(
                    name=dict(type="str", required=True),
                    present=dict(type="bool"),
                    tickpolicy=dict(type="str", choices=["delay", "catchup", "merge", "discard"]),
                ),
            ),
        ),
    ),
    on_poweroff=dict(type="str", choices=LIFECYCLE_ACTIONS),
    on_reboot=dict(type="str", choices=LIFECYCLE_ACTIONS),
    on_crash=dict(type="str", choices=LIFECYCLE_ACTIONS),
    disks=dict(type="list", elements="dict", options=DISK_OPTIONS),
    interfaces=dict(type="list", elements="dict", options=INTERFACE_OPTIONS),
    graphics=dict(
        type="list",
        elements="dict",
        options=_opts(
            type=dict(type="str", choices=["vnc", "spice"], required=True),
            listen=dict(type="str", default="127.0.0.1"),
            port=dict(type="int"),
            password=dict(type="str", no_log=True),
            keymap=dict(type="str", no_log=False),
        ),
    ),
    serials=dict(
        type="list",
        elements="dict",
        options=_opts(
            type=dict(type="str", choices=["pty", "file"], default="pty"),
            path=dict(type="str"),
            log_file=dict(type="str"),
        ),
    ),
    guest_agent=dict(type="bool"),
    rng=dict(
        type="dict",
        options=_opts(
            model=dict(type="str", default="virtio"),
            backend=dict(type="str", default="/dev/urandom"),
            rate_bytes=dict(type="int"),
            rate_period=dict(type="int"),
        ),
    ),
    watchdog=dict(
        type="dict",
        options=_opts(
            model=dict(type="str", choices=["i6300esb", "itco", "ib700", "diag288"], required=True),
            action=dict(
                type="str",
                choices=["reset", "shutdown", "poweroff", "pause", "none", "dump", "inject-nmi"],
                default="reset",
            ),
        ),
    ),
    tpm=dict(
        type="dict",
        options=_opts(
            model=dict(type="str", choices=["tpm-crb", "tpm-tis"], default="tpm-crb"),
            version=dict(type="str", choices=["1.2", "2.0"], default="2.0"),
        ),
    ),
    hostdevs=dict(
        type="list",
        elements="dict",
        options=_opts(address=dict(type="str", required=True), managed=dict(type="bool", default=True)),
    ),
    memballoon=dict(
        type="dict",
        options=_opts(
            model=dict(type="str", choices=["virtio", "none"], default="virtio"),
            autodeflate=dict(type="bool"),
            period=dict(type="int"),
        ),
    ),
    seclabel=dict(
        type="dict",
        options=_opts(
            type=dict(type="str", choices=["dynamic", "static", "none"], required=True),
            model=dict(type="str", choices=["selinux", "apparmor", "dac"]),
            label=dict(type="str"),
            relabel=dict(type="bool"),
        ),
    ),
    autostart=dict(type="bool"),
    shutdown_timeout=dict(type="int", default=120),
    force=dict(type="bool", default=False),
    restart_on_change=dict(type="bool", default=False),
    delete_volumes=dict(type="bool", default=False),
)

# Options that describe the definition (as opposed to state handling); any of
# them set means "converge the definition", none means "act on what exists".
DEFINITION_KEYS = tuple(
    key
    for key in DOMAIN_OPTIONS
    if key not in ("name", "state", "shutdown_timeout", "force", "restart_on_change", "delete_volumes", "autostart")
    and key not in ("xml",)
)
# type and arch have defaults, so their presence says nothing about intent.
SPEC_SIGNAL_KEYS = tuple(key for key in DEFINITION_KEYS if key not in ("type", "arch"))


def wants_definition(params):
    """True when the params describe a definition (structured or raw XML) to converge."""
    return bool(params.get("xml")) or any(params.get(key) is not None for key in SPEC_SIGNAL_KEYS)


def check_name(name):
    if not name or not NAME_RE.match(name):
        raise SpecError(
            f"name {name!r} is not a valid domain name: use 1-63 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )


def normalize_mac(mac):
    """A unicast MAC in libvirt's form (lower case, colons); raises SpecError otherwise."""
    if netaddr is None:
        raise SpecError("netaddr is required to validate MAC addresses")
    try:
        eui = netaddr.EUI(mac)
    except (netaddr.AddrFormatError, TypeError, ValueError) as exc:
        raise SpecError(f"MAC address {mac!r} is not valid: {exc}") from exc
    if eui.version != 48:
        raise SpecError(f"MAC address {mac!r} is not a 48-bit address")
    if int(eui) >> 40 & 1:
        raise SpecError(f"MAC address {mac!r} is a multicast address; a NIC needs a unicast one")
    eui.dialect = netaddr.mac_unix_expanded
    return str(eui).lower()


def parse_cpuset(text):
    """``'0-3,^2,8'`` → sorted list of ints; raises SpecError on nonsense."""
    if text is None:
        return None
    include, exclude = set(), set()
    for part in str(text).replace(" ", "").split(","):
        if not part:
            raise SpecError(f"CPU/node set {text!r} has an empty element")
        target = exclude if part.startswith("^") else include
        part = part.lstrip("^")
        try:
            bounds = [int(p) for p in part.split("-", 1)]
        except ValueError as exc:
            raise SpecError(f"CPU/node set {text!r} is not a list of numbers and ranges") from exc
        low, high = bounds[0], bounds[-1]
        if low > high:
            raise SpecError(f"CPU/node set {text!r} has a descending range {part!r}")
        target.update(range(low, high + 1))
    result = sorted(include - exclude)
    if not result:
        raise SpecError(f"CPU/node set {text!r} is empty")
    return result


def format_cpuset(values):
    """Sorted ints → libvirt's canonical range string (``[0, 1, 2, 5]`` → ``'0-2,5'``)."""
    values = sorted(set(values))
    ranges, start, prev = [], None, None
    for value in values:
        if start is None:
            start = prev = value
        elif value == prev + 1:
            prev = value
        else:
            ranges.append((start, prev))
            start = prev = value
    if start is not None:
        ranges.append((start, prev))
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def canonical_cpuset(text):
    return format_cpuset(parse_cpuset(text))


def parse_pci_address(text):
    match = PCI_ADDRESS_RE.match(text or "")
    if not match:
        raise SpecError(f"PCI address {text!r} is not of the form [dddd:]bb:ss.f")
    domain, bus, slot, function = match.groups()
    return {
        "domain": f"0x{(domain or '0000').lower()}",
        "bus": f"0x{bus.lower()}",
        "slot": f"0x{slot.lower()}",
        "function": f"0x{function}",
    }
