# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: libvirt domain XML (``virsh dumpxml`` output) → the plain summary libvirt_domain_info returns.

Nothing here talks to libvirt: ``_libvirt_domain_info.py`` reads the XML and
passes the text in. Every size comes back in KiB and every CPU/node set as a
sorted list of ints, whatever units and syntax the XML uses.
"""

from __future__ import annotations

import traceback

try:
    from lxml import etree
except ImportError:
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LXML = True
    LXML_IMPORT_ERROR = None

# The metadata element libvirt_domain writes into every domain it manages.
KVMOPS_DOMAIN_XMLNS = "https://kvmops.example/xmlns/domain/1"
MANAGED_TAG = f"{{{KVMOPS_DOMAIN_XMLNS}}}managed"

# libvirt's scaled-integer units (virScaleInteger): one letter or "XiB" is binary,
# "XB" is decimal, case-insensitive; a missing unit means KiB for memory.
_BINARY = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}


class DomainXMLError(ValueError):
    """Domain XML this module cannot read; the message says what and where."""


def to_kib(value, unit=None):
    """A libvirt size (text or int) with its unit → KiB, rounded up as libvirt rounds memory."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise DomainXMLError(f"size {value!r} is not a whole number") from None
    unit = (unit or "KiB").strip().lower()
    if unit in ("b", "bytes"):
        size = number
    elif unit[:1] in _BINARY and unit[1:] in ("", "ib"):
        size = number * 1024 ** _BINARY[unit[:1]]
    elif unit[:1] in _BINARY and unit[1:] == "b":
        size = number * 1000 ** _BINARY[unit[:1]]
    else:
        raise DomainXMLError(f"size {value!r} has unknown unit {unit!r}")
    return -(-size // 1024)


def parse_cpuset(text):
    """libvirt cpuset/nodeset syntax ("0-3,^2,8") → sorted list of ints; None when unset."""
    if text is None or not text.strip():
        return None
    included, excluded = set(), set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        target = excluded if part.startswith("^") else included
        part = part.lstrip("^")
        try:
            if "-" in part:
                first, last = part.split("-", 1)
                target.update(range(int(first), int(last) + 1))
            else:
                target.add(int(part))
        except ValueError:
            raise DomainXMLError(f"CPU/node set {text!r} is not in libvirt's syntax") from None
    return sorted(included - excluded)


def parse_domain_xml(xml_text, remove_blank_text=False):
    """Domain XML text → root element; DomainXMLError when it is not a ``<domain>`` document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=remove_blank_text)
    data = xml_text.encode("utf-8") if isinstance(xml_text, str) else xml_text
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DomainXMLError(f"domain XML does not parse: {exc}") from None
    if root.tag != "domain":
        raise DomainXMLError(f"expected a <domain> document, got <{root.tag}>")
    return root


def _int(value):
    return int(value) if value not in (None, "") else None


def _yes(value):
    return value in ("yes", "on")


def _size_kib(element):
    return to_kib(element.text, element.get("unit")) if element is not None and element.text else None


def _vcpus(root):
    vcpu = root.find("vcpu")
    if vcpu is None:
        # libvirt always writes <vcpu>; a hand-made XML without it gets libvirt's default of one.
        return {"current": 1, "max": 1, "placement": "static", "cpuset": None}
    maximum = int(vcpu.text)
    return {
        "current": _int(vcpu.get("current")) or maximum,
        "max": maximum,
        "placement": vcpu.get("placement", "static"),
        "cpuset": parse_cpuset(vcpu.get("cpuset")),
    }


def _hugepages(root):
    hugepages = root.find("memoryBacking/hugepages")
    if hugepages is None:
        return []
    pages = [
        {"size_kib": to_kib(page.get("size"), page.get("unit")), "nodeset": parse_cpuset(page.get("nodeset"))}
        for page in hugepages.findall("page")
    ]
    # A bare <hugepages/> means the host's default hugepage size on every node.
    return pages or [{"size_kib": None, "nodeset": None}]


def _cpu(root):
    cpu = root.find("cpu")
    if cpu is None:
        return {"mode": None, "model": None, "topology": None, "numa_cells": []}
    topology = cpu.find("topology")
    cells = [
        {
            "id": _int(cell.get("id")),
            "cpus": parse_cpuset(cell.get("cpus")) or [],
            "memory_kib": to_kib(cell.get("memory"), cell.get("unit")),
            "mem_access": cell.get("memAccess"),
        }
        for cell in cpu.findall("numa/cell")
    ]
    return {
        # libvirt treats a <cpu> with a model and no mode as custom.
        "mode": cpu.get("mode", "custom" if cpu.find("model") is not None else None),
        "model": cpu.findtext("model"),
        "topology": None
        if topology is None
        else {key: _int(topology.get(key)) for key in ("sockets", "dies", "cores", "threads")},
        "numa_cells": cells,
    }


def _pinning(root):
    numatune = root.find("numatune")
    numatune_summary = None
    if numatune is not None:
        memory = numatune.find("memory")
        numatune_summary = {
            "mode": memory.get("mode", "strict") if memory is not None else None,
            "nodeset": parse_cpuset(memory.get("nodeset")) if memory is not None else None,
            "memnodes": [
                {
                    "cellid": _int(node.get("cellid")),
                    "mode": node.get("mode", "strict"),
                    "nodeset": parse_cpuset(node.get("nodeset")),
                }
                for node in numatune.findall("memnode")
            ],
        }
    emulatorpin = root.find("cputune/emulatorpin")
    return {
        "vcpupin": [
            {"vcpu": _int(pin.get("vcpu")), "cpuset": parse_cpuset(pin.get("cpuset"))}
            for pin in root.findall("cputune/vcpupin")
        ],
        "emulatorpin": parse_cpuset(emulatorpin.get("cpuset")) if emulatorpin is not None else None,
        "numatune": numatune_summary,
    }


def _disk_source(disk_type, source):
    if source is None:
        return None
    if disk_type == "file":
        return {"path": source.get("file")}
    if disk_type == "block":
        return {"path": source.get("dev")}
    if disk_type == "dir":
        return {"path": source.get("dir")}
    if disk_type == "volume":
        return {"pool": source.get("pool"), "volume": source.get("volume")}
    if disk_type == "network":
        return {
            "protocol": source.get("protocol"),
            "name": source.get("name"),
            "hosts": [{"name": host.get("name"), "port": _int(host.get("port"))} for host in source.findall("host")],
        }
    return dict(source.attrib)


def _disks(root):
    disks = []
    for disk in root.findall("devices/disk"):
        disk_type = disk.get("type", "file")
        driver = disk.find("driver")
        target = disk.find("target")
        source = disk.find("source")
        # An empty CD-ROM keeps a <source> with only startupPolicy or nothing at all.
        if source is not None and not set(source.attrib) - {"index", "startupPolicy"} and not len(source):
            source = None
        disks.append(
            {
                "target": target.get("dev") if target is not None else None,
                "bus": target.get("bus") if target is not None else None,
                "device": disk.get("device", "disk"),
                "type": disk_type,
                "source": _disk_source(disk_type, source),
                "format": driver.get("type") if driver is not None else None,
                "cache": driver.get("cache") if driver is not None else None,
                "readonly": disk.find("readonly") is not None,
                "shareable": disk.find("shareable") is not None,
                "boot_order": _int(disk.find("boot").get("order")) if disk.find("boot") is not None else None,
            }
        )
    return disks


def _vlan(vlan):
    if vlan is None:
        return None
    tags = vlan.findall("tag")
    native = next(({"tag": _int(t.get("id")), "mode": t.get("nativeMode")} for t in tags if t.get("nativeMode")), None)
    return {
        "tags": [_int(tag.get("id")) for tag in tags],
        # libvirt: several tags always make a trunk; trunk='yes' makes a one-tag trunk.
        "trunk": _yes(vlan.get("trunk")) or len(tags) > 1,
        "native": native,
    }


def _interface_source(iface_type, source):
    if source is None:
        return None
    if source.get("network") is not None:
        return source.get("network")
    if iface_type == "bridge":
        return source.get("bridge")
    if iface_type in ("direct", "hostdev"):
        return source.get("dev")
    if iface_type == "vhostuser":
        return source.get("path")
    return source.get("dev") or source.get("path")


def _interfaces(root):
    interfaces = []
    for iface in root.findall("devices/interface"):
        source = iface.find("source")
        # A running domain shows a network NIC as the type the network gave it (often 'bridge');
        # the network name on <source> says what the definition asked for.
        is_network = source is not None and source.get("network") is not None
        iface_type = "network" if is_network else iface.get("type")
        virtualport = iface.find("virtualport")
        mac = iface.find("mac")
        model = iface.find("model")
        mtu = iface.find("mtu")
        target = iface.find("target")
        boot = iface.find("boot")
        interfaces.append(
            {
                "mac": mac.get("address") if mac is not None else None,
                "type": iface_type,
                "source": _interface_source(iface.get("type"), source),
                "source_mode": source.get("mode") if source is not None else None,
                "bridge": source.get("bridge") if source is not None else None,
                "portgroup": source.get("portgroup") if source is not None else None,
                "virtualport": virtualport.get("type") if virtualport is not None else None,
                "vlan": _vlan(iface.find("vlan")),
                "model": model.get("type") if model is not None else None,
                "mtu": _int(mtu.get("size")) if mtu is not None else None,
                "target": target.get("dev") if target is not None else None,
                "boot_order": _int(boot.get("order")) if boot is not None else None,
            }
        )
    return interfaces


def _graphics(root):
    result = []
    for graphics in root.findall("devices/graphics"):
        listen = graphics.get("listen")
        listen_element = graphics.find("listen")
        if listen is None and listen_element is not None:
            listen = listen_element.get("address") or listen_element.get("socket")
        port = _int(graphics.get("port"))
        result.append(
            {
                "type": graphics.get("type"),
                # -1 (or nothing) until a running domain has been given its port.
                "port": port if port is not None and port >= 0 else None,
                "autoport": _yes(graphics.get("autoport")),
                "listen": listen,
            }
        )
    return result


def _os(root):
    os_element = root.find("os")
    if os_element is None:
        os_element = etree.Element("os")
    os_type = os_element.find("type")
    loader = os_element.find("loader")
    firmware = os_element.get("firmware")
    if firmware is None:
        # A running domain shows the firmware libvirt picked as a pflash loader.
        firmware = "efi" if loader is not None and loader.get("type") == "pflash" else "bios"
    return {
        "type": os_type.text if os_type is not None else None,
        "arch": os_type.get("arch") if os_type is not None else None,
        "machine": os_type.get("machine") if os_type is not None else None,
        "firmware": firmware,
        "loader": loader.text if loader is not None and loader.text else None,
        "boot": [boot.get("dev") for boot in os_element.findall("boot")],
        "kernel": os_element.findtext("kernel"),
        "initrd": os_element.findtext("initrd"),
        "cmdline": os_element.findtext("cmdline"),
    }


def summarize_domain(xml_text):
    """One domain's XML → summary dict (everything libvirt_domain_info returns but the live state)."""
    root = parse_domain_xml(xml_text)
    memory_kib = _size_kib(root.find("memory"))
    current_memory_kib = _size_kib(root.find("currentMemory"))
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        # Only a running domain's live XML carries its id.
        "id": _int(root.get("id")),
        "type": root.get("type"),
        "managed": root.find(f"metadata/{MANAGED_TAG}") is not None,
        "title": root.findtext("title"),
        "description": root.findtext("description"),
        "vcpus": _vcpus(root),
        "memory_kib": memory_kib,
        # libvirt fills currentMemory in from memory when it is missing.
        "current_memory_kib": current_memory_kib if current_memory_kib is not None else memory_kib,
        "hugepages": _hugepages(root),
        "cpu": _cpu(root),
        "pinning": _pinning(root),
        "disks": _disks(root),
        "interfaces": _interfaces(root),
        "graphics": _graphics(root),
        "os": _os(root),
    }


def _drop(element):
    element.getparent().remove(element)


def _drop_attrs(element, *names):
    for name in names:
        element.attrib.pop(name, None)


def normalise_domain_xml(xml_text, ignore_cpu=False, firmware_autoselect=False):
    """Canonical text of a domain definition without what libvirt adds only to a running domain.

    Left out on every domain: the domain ``id``, ``currentMemory`` (a running
    domain reports the balloon's actual size), the default ``/machine``
    resource partition, domain-level ``<seclabel>``, device aliases, disk
    ``index`` attributes and ``<backingStore>``, the driver format of an empty
    CD-ROM, interface target devices, what a libvirt network applies to its
    NICs (``portid``, ``bridge``, ``vlan``, ``virtualport``, the actual type),
    automatically allocated graphics ports, pty paths, channel socket paths
    and states, and the ``check`` attribute and expanded ``<feature>`` list of
    the CPU. ``ignore_cpu`` drops ``<cpu>`` altogether (host-model CPUs become
    a full custom model when started); ``firmware_autoselect`` drops the loader,
    NVRAM and SMM libvirt picks for ``<os firmware='...'>``.
    """
    root = parse_domain_xml(xml_text, remove_blank_text=True)
    _drop_attrs(root, "id")
    for element in root.findall("currentMemory") + root.findall("seclabel") + list(root.iter("alias")):
        _drop(element)
    for partition in root.findall("resource/partition"):
        if (partition.text or "").strip() == "/machine":
            _drop(partition)
    for resource in root.findall("resource"):
        if not len(resource):
            _drop(resource)
    for vcpu in root.findall("vcpu[@placement='auto']"):
        _drop_attrs(vcpu, "cpuset")
    for memory in root.findall("numatune/memory[@placement='auto']"):
        _drop_attrs(memory, "nodeset")
    cpu = root.find("cpu")
    if cpu is not None:
        if ignore_cpu:
            _drop(cpu)
        else:
            _drop_attrs(cpu, "check")
            for feature in cpu.findall("feature"):
                _drop(feature)
    if firmware_autoselect:
        for os_element in root.findall("os"):
            _drop_attrs(os_element, "firmware")
            for element in os_element.findall("loader") + os_element.findall("nvram") + os_element.findall("firmware"):
                _drop(element)
        for smm in root.findall("features/smm"):
            _drop(smm)
    _normalise_devices(root)
    return etree.tostring(root, method="c14n").decode("utf-8")


def _normalise_devices(root):
    for disk in root.findall("devices/disk"):
        for element in disk.iter():
            _drop_attrs(element, "index")
        for backing in list(disk.iter("backingStore")):
            _drop(backing)
        if disk.find("source") is None:
            for driver in disk.findall("driver"):
                _drop_attrs(driver, "type")
    for iface in root.findall("devices/interface"):
        for target in iface.findall("target"):
            _drop(target)
        source = iface.find("source")
        if source is not None and source.get("network") is not None:
            iface.set("type", "network")
            _drop_attrs(source, "portid", "bridge")
            for element in iface.findall("vlan") + iface.findall("virtualport"):
                _drop(element)
    for graphics in root.findall("devices/graphics[@autoport='yes']"):
        _drop_attrs(graphics, "port", "tlsPort")
    for kind in ("serial", "console", "parallel", "channel"):
        for chardev in root.findall(f"devices/{kind}"):
            _drop_attrs(chardev, "tty")
            if chardev.get("type") == "pty" or kind == "channel":
                for source in chardev.findall("source"):
                    _drop(source)
            for target in chardev.findall("target"):
                _drop_attrs(target, "state")


def definitions_differ(live_xml, inactive_xml):
    """Whether the persistent definition differs from what runs, compared by :func:`normalise_domain_xml`.

    How the inactive definition asks for its CPU and firmware decides what of
    both sides is compared, since libvirt expands those only when starting.
    """
    inactive = parse_domain_xml(inactive_xml)
    cpu = inactive.find("cpu")
    options = {
        "ignore_cpu": cpu is not None and cpu.get("mode") == "host-model",
        "firmware_autoselect": inactive.find("os[@firmware]") is not None,
    }
    return normalise_domain_xml(live_xml, **options) != normalise_domain_xml(inactive_xml, **options)
