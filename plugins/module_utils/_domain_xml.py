# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure builder: a validated domain spec → the *desired* domain XML tree (lxml).

The desired tree holds only what the spec manages, plus internal markers
(see ``_domain_xml_base.py``) saying which sets the spec owns and what must
be absent; devices are built in ``_domain_xml_devices.py``. Everything else
the spec leaves out is kept as libvirt or an operator wrote it (subset
semantics), which is what makes a second run report no change.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import (
    UUID_RE,
    SpecError,
    check_name,
    parse_cpuset,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml_base import (
    MANAGED_NS,
    _on,
    _yes,
    absent,
    cpuset,
    drop_attrs,
    etree,
    flag,
    kib,
    own,
    sub,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml_devices import build_devices

MANAGED_TAG = f"{{{MANAGED_NS}}}managed"
MANAGED_BY = "kvmops.kvm.libvirt_domain"

BOOT_DEVICES = ("hd", "cdrom", "network", "fd")


def build_desired(spec):
    """Validated module params for one domain → desired ``<domain>`` element.

    Raises SpecError (naming the option) for anything libvirt's schema would
    not catch or would catch only with a cryptic message.
    """
    if spec.get("xml"):
        return desired_from_xml(spec["xml"], spec.get("name"))
    check_name(spec["name"])
    if spec.get("memory") is None:
        raise SpecError("memory is required to define a domain")
    root = etree.Element("domain", type=spec.get("type") or "kvm")
    sub(root, "name", spec["name"])
    if spec.get("uuid"):
        if not UUID_RE.match(spec["uuid"]):
            raise SpecError(f"uuid {spec['uuid']!r} is not a UUID")
        sub(root, "uuid", spec["uuid"].lower())
    if spec.get("title") is not None:
        sub(root, "title", spec["title"])
    if spec.get("description") is not None:
        sub(root, "description", spec["description"])
    add_managed_marker(root)
    vcpus = _memory_and_vcpus(root, spec)
    cells = _numa_cell_ids(spec, vcpus)
    _memory_backing(root, spec.get("memory_backing"), cells)
    _cputune(root, spec.get("cputune"), vcpus, spec.get("iothreads"))
    _numatune(root, spec.get("numatune"), cells)
    boot_orders = []
    _os(root, spec)
    _features(root, spec)
    _cpu(root, spec, vcpus)
    _clock(root, spec.get("clock"))
    for event in ("on_poweroff", "on_reboot", "on_crash"):
        if spec.get(event):
            sub(root, event, spec[event])
    devices = sub(root, "devices")
    if spec.get("emulator"):
        sub(devices, "emulator", spec["emulator"])
    build_devices(devices, spec, boot_orders)
    if spec.get("boot") and boot_orders:
        raise SpecError("boot (a device list) and per-device boot_order cannot be combined; libvirt refuses both")
    if boot_orders:
        # Per-device boot order excludes <os><boot>, including the one libvirt adds by default.
        own(root.find("os"), "boot")
    if len(boot_orders) != len(set(boot_orders)):
        raise SpecError(f"boot_order values must be unique across disks and interfaces, got {sorted(boot_orders)}")
    _seclabel(root, spec.get("seclabel"))
    return root


def add_managed_marker(root):
    metadata = root.find("metadata")
    if metadata is None:
        metadata = sub(root, "metadata")
    if metadata.find(MANAGED_TAG) is None:
        etree.SubElement(metadata, MANAGED_TAG, {"by": MANAGED_BY}, nsmap={"kvmops": MANAGED_NS})


def desired_from_xml(xml, name=None):
    """Raw XML from the user → desired tree: every device class it lists is owned as a set."""
    try:
        root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    except etree.XMLSyntaxError as exc:
        raise SpecError(f"xml is not well-formed: {exc}") from exc
    if root.tag != "domain":
        raise SpecError(f"xml must have a <domain> root element, not <{root.tag}>")
    xml_name = root.findtext("name")
    if name and xml_name != name:
        raise SpecError(f"name {name!r} does not match the <name> in xml ({xml_name!r})")
    check_name(xml_name)
    add_managed_marker(root)
    devices = root.find("devices")
    if devices is not None:
        tags = []
        for child in devices:
            if isinstance(child.tag, str) and child.tag not in tags and child.tag not in ("controller", "emulator"):
                tags.append(child.tag)
        own(devices, *tags)
    return root


def _memory_and_vcpus(root, spec):
    memory = kib(spec["memory"], "memory")
    current = kib(spec["current_memory"], "current_memory") if spec.get("current_memory") is not None else memory
    if current > memory:
        raise SpecError(f"current_memory ({spec['current_memory']}) is larger than memory ({spec['memory']})")
    sub(root, "memory", memory, unit="KiB")
    # Always set: otherwise growing memory keeps the old balloon size and the
    # guest silently boots with less than asked.
    sub(root, "currentMemory", current, unit="KiB")
    vcpus = spec.get("vcpus") or 1
    max_vcpus = spec.get("max_vcpus") or vcpus
    if vcpus < 1 or max_vcpus < vcpus:
        raise SpecError(f"vcpus ({vcpus}) must be at least 1 and at most max_vcpus ({max_vcpus})")
    vcpu_cpuset = cpuset(spec["vcpu_cpuset"], "vcpu_cpuset") if spec.get("vcpu_cpuset") else None
    vcpu = sub(
        root,
        "vcpu",
        max_vcpus,
        placement=spec.get("vcpu_placement"),
        cpuset=vcpu_cpuset,
        current=vcpus if max_vcpus != vcpus else None,
    )
    if max_vcpus == vcpus:
        # libvirt omits current= when all vCPUs are online; an old lower value must go.
        drop_attrs(vcpu, "current")
    if spec.get("iothreads"):
        sub(root, "iothreads", spec["iothreads"])
    return max_vcpus


def _numa_cell_ids(spec, vcpus):
    cells = spec.get("numa_cells")
    if not cells:
        return []
    seen = set()
    total = 0
    ids = []
    for cell in cells:
        cpus = set(parse_cpuset(cpuset(cell["cpus"], f"numa_cells[{cell['id']}].cpus")))
        if cpus & seen:
            raise SpecError(f"numa_cells: cell {cell['id']} shares vCPUs {sorted(cpus & seen)} with another cell")
        if max(cpus) >= vcpus:
            raise SpecError(f"numa_cells: cell {cell['id']} names vCPU {max(cpus)} but the domain has {vcpus}")
        seen |= cpus
        total += kib(cell["memory"], f"numa_cells[{cell['id']}].memory")
        ids.append(cell["id"])
    if len(set(ids)) != len(ids) or sorted(ids) != list(range(len(ids))):
        raise SpecError(f"numa_cells: ids must be 0..{len(ids) - 1} without gaps, got {ids}")
    if total != kib(spec["memory"], "memory"):
        memory = kib(spec["memory"], "memory")
        raise SpecError(f"numa_cells: cell memory adds up to {total} KiB but memory is {memory} KiB")
    return ids


def _memory_backing(root, backing, cells):
    if not backing:
        return
    elem = sub(root, "memoryBacking")
    if backing.get("hugepages") is not None:
        pages = sub(elem, "hugepages")
        own(pages, "page")
        for page in backing["hugepages"]:
            nodeset = None
            if page.get("nodeset"):
                nodes = parse_cpuset(cpuset(page["nodeset"], "memory_backing.hugepages.nodeset"))
                missing = [n for n in nodes if n not in cells]
                if missing:
                    raise SpecError(
                        f"memory_backing.hugepages: nodeset names guest NUMA cells {missing} that numa_cells lacks"
                    )
                nodeset = cpuset(page["nodeset"], "memory_backing.hugepages.nodeset")
            sub(pages, "page", size=kib(page["size"], "memory_backing.hugepages.size"), unit="KiB", nodeset=nodeset)
    flag(elem, "nosharepages", backing.get("nosharepages"))
    flag(elem, "locked", backing.get("locked"))
    if backing.get("source"):
        sub(elem, "source", type=backing["source"])
    if backing.get("access"):
        sub(elem, "access", mode=backing["access"])


def _cputune(root, tune, vcpus, iothreads):
    if not tune:
        return
    elem = sub(root, "cputune")
    for key in ("shares", "period", "quota", "emulator_period", "emulator_quota"):
        if tune.get(key) is not None:
            sub(elem, key, tune[key])
    if tune.get("vcpupin") is not None:
        own(elem, "vcpupin")
        seen = set()
        for pin in tune["vcpupin"]:
            if pin["vcpu"] >= vcpus or pin["vcpu"] in seen:
                raise SpecError(f"cputune.vcpupin: vCPU {pin['vcpu']} is out of range (0..{vcpus - 1}) or pinned twice")
            seen.add(pin["vcpu"])
            sub(elem, "vcpupin", vcpu=pin["vcpu"], cpuset=cpuset(pin["cpuset"], f"cputune.vcpupin[{pin['vcpu']}]"))
    if tune.get("emulatorpin"):
        sub(elem, "emulatorpin", cpuset=cpuset(tune["emulatorpin"], "cputune.emulatorpin"))
    if tune.get("iothreadpin") is not None:
        own(elem, "iothreadpin")
        for pin in tune["iothreadpin"]:
            if not iothreads or not 1 <= pin["iothread"] <= iothreads:
                raise SpecError(
                    f"cputune.iothreadpin: iothread {pin['iothread']} does not exist (iothreads: {iothreads})"
                )
            pinned = cpuset(pin["cpuset"], "cputune.iothreadpin")
            sub(elem, "iothreadpin", iothread=pin["iothread"], cpuset=pinned)


def _numatune(root, tune, cells):
    if not tune:
        return
    elem = sub(root, "numatune")
    if tune.get("nodeset") or tune.get("placement"):
        nodeset = cpuset(tune["nodeset"], "numatune.nodeset") if tune.get("nodeset") else None
        sub(elem, "memory", mode=tune["mode"], nodeset=nodeset, placement=tune.get("placement"))
    if tune.get("memnodes") is not None:
        own(elem, "memnode")
        for node in tune["memnodes"]:
            if node["cellid"] not in cells:
                raise SpecError(f"numatune.memnodes: cellid {node['cellid']} is not a guest NUMA cell (numa_cells)")
            nodeset = cpuset(node["nodeset"], "numatune.memnodes.nodeset")
            sub(elem, "memnode", cellid=node["cellid"], mode=node["mode"], nodeset=nodeset)


def _os(root, spec):
    elem = sub(root, "os")
    firmware = spec.get("firmware") or {}
    efi = firmware.get("type") == "efi"
    if efi and not firmware.get("loader"):
        # libvirt's firmware autoselection: it picks loader and nvram from the firmware descriptors.
        elem.set("firmware", "efi")
    sub(elem, "type", "hvm", arch=spec.get("arch") or "x86_64", machine=spec.get("machine"))
    if firmware.get("secure_boot"):
        if not efi:
            raise SpecError("firmware.secure_boot needs firmware.type efi")
        machine = spec.get("machine") or ""
        if "q35" not in machine:
            raise SpecError(f"firmware.secure_boot needs a q35 machine type (machine is {machine or 'unset'!r})")
    if efi and firmware.get("loader"):
        sub(elem, "loader", firmware["loader"], readonly="yes", type="pflash", secure=_yes(firmware.get("secure_boot")))
    elif efi and firmware.get("secure_boot"):
        fw = sub(elem, "firmware")
        # In libvirt's order, so the diff of a new domain matches what it then shows.
        sub(fw, "feature", enabled="yes", name="enrolled-keys")
        sub(fw, "feature", enabled="yes", name="secure-boot")
        sub(elem, "loader", secure="yes")
    if efi and (firmware.get("nvram") or firmware.get("nvram_template")):
        sub(elem, "nvram", firmware.get("nvram"), template=firmware.get("nvram_template"))
    elif not efi and (firmware.get("nvram") or firmware.get("loader")):
        raise SpecError("firmware.loader and firmware.nvram need firmware.type efi")
    if spec.get("kernel"):
        sub(elem, "kernel", spec["kernel"])
        if spec.get("initrd"):
            sub(elem, "initrd", spec["initrd"])
        if spec.get("cmdline"):
            sub(elem, "cmdline", spec["cmdline"])
    elif spec.get("initrd") or spec.get("cmdline"):
        raise SpecError("initrd and cmdline need kernel (direct kernel boot)")
    if spec.get("boot") is not None:
        own(elem, "boot")
        for dev in spec["boot"]:
            if dev not in BOOT_DEVICES:
                raise SpecError(f"boot: {dev!r} is not one of {', '.join(BOOT_DEVICES)}")
            sub(elem, "boot", dev=dev)


def _features(root, spec):
    # ACPI and APIC on unless the spec says otherwise: without ACPI the guest never
    # sees the power button (no graceful shutdown) and UEFI refuses to start.
    features = {"acpi": True, "apic": True}
    features.update(spec.get("features") or {})
    if (spec.get("firmware") or {}).get("secure_boot"):
        # Secure boot firmware only runs with SMM; say so in the XML instead of failing at start.
        features.setdefault("smm", True)
    elem = sub(root, "features")
    for name, value in sorted(features.items()):
        if value is True:
            sub(elem, name)
        elif value is False or value is None:
            absent(elem, name)
        elif isinstance(value, str) and value in ("on", "off"):
            sub(elem, name, state=value)
        elif isinstance(value, dict):
            sub(elem, name, **{k: (_on(v) if isinstance(v, bool) else v) for k, v in value.items()})
        else:
            raise SpecError(f"features.{name}: use true, false, 'on', 'off' or a dict of attributes, not {value!r}")
    if spec.get("tcg_tb_cache") is not None:
        if spec.get("type") != "qemu":
            raise SpecError("tcg_tb_cache applies to emulated domains (type qemu) only")
        # QEMU's default translation cache is 1 GiB per guest; smaller halves the RSS of lab guests.
        size = kib(spec["tcg_tb_cache"], "tcg_tb_cache")
        sub(sub(elem, "tcg"), "tb-cache", size, unit="KiB")


def _cpu(root, spec, vcpus):
    cpu = spec.get("cpu")
    cells = spec.get("numa_cells")
    if not cpu and cells is None:
        return
    elem = sub(root, "cpu")
    if cpu:
        mode = cpu["mode"]
        elem.set("mode", mode)
        if cpu.get("match"):
            elem.set("match", cpu["match"])
        if cpu.get("migratable") is not None:
            elem.set("migratable", _on(cpu["migratable"]))
        if mode == "custom" and not cpu.get("model"):
            raise SpecError("cpu.model is required with cpu.mode custom")
        if cpu.get("model"):
            sub(elem, "model", cpu["model"], fallback=cpu.get("fallback"))
        topo = cpu.get("topology")
        if topo:
            product = topo["sockets"] * (topo.get("dies") or 1) * topo["cores"] * topo["threads"]
            if product != vcpus:
                raise SpecError(f"cpu.topology gives {product} vCPUs but the domain has {vcpus} (max_vcpus)")
            sub(
                elem,
                "topology",
                sockets=topo["sockets"],
                dies=topo.get("dies"),
                cores=topo["cores"],
                threads=topo["threads"],
            )
        if cpu.get("features") is not None:
            own(elem, "feature")
            for feature in cpu["features"]:
                sub(elem, "feature", policy=feature["policy"], name=feature["name"])
    if cells is not None and not cells:
        # An empty list: the domain has no guest NUMA cells (the defined ones go).
        absent(elem, "numa")
    if cells:
        numa = sub(elem, "numa")
        own(numa, "cell")
        for cell in cells:
            sub(
                numa,
                "cell",
                id=cell["id"],
                cpus=cpuset(cell["cpus"], "numa_cells.cpus"),
                memory=kib(cell["memory"], "numa_cells.memory"),
                unit="KiB",
                memAccess=cell.get("memory_access"),
            )


def _clock(root, clock):
    if not clock:
        return
    if clock["offset"] == "timezone" and not clock.get("timezone"):
        raise SpecError("clock.timezone is required with clock.offset timezone")
    elem = sub(root, "clock", offset=clock["offset"], timezone=clock.get("timezone"))
    for timer in clock.get("timers") or []:
        present = None if timer.get("present") is None else _yes(timer["present"])
        sub(elem, "timer", name=timer["name"], present=present, tickpolicy=timer.get("tickpolicy"))


def _seclabel(root, seclabel):
    if not seclabel:
        return
    if seclabel["type"] == "static" and not seclabel.get("label"):
        raise SpecError("seclabel.label is required with seclabel.type static")
    relabel = None if seclabel.get("relabel") is None else _yes(seclabel["relabel"])
    elem = sub(root, "seclabel", type=seclabel["type"], model=seclabel.get("model"), relabel=relabel)
    if seclabel.get("label"):
        sub(elem, "label", seclabel["label"])
