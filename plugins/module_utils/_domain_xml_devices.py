# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure builders for the ``<devices>`` of a desired domain: disks, NICs and the rest.

Each list the spec gives (disks, interfaces, graphics, serials, hostdevs) is
owned as a complete set; ``None`` leaves the devices libvirt has alone.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import (
    DISK_TARGET_RE,
    SpecError,
    normalize_mac,
    parse_pci_address,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml_base import (
    _on,
    _yes,
    absent,
    drop_attrs,
    flag,
    own,
    sub,
)

OFFLOAD_KEYS = ("csum", "gso", "tso4", "tso6", "ecn", "ufo", "mrg_rxbuf")


def build_devices(devices, spec, boot_orders):
    """Add every device the spec manages to ``devices``; per-device boot orders go to ``boot_orders``."""
    _disks(devices, spec.get("disks"), boot_orders)
    _interfaces(devices, spec.get("interfaces"), boot_orders)
    _serials(devices, spec.get("serials"))
    _guest_agent(devices, spec.get("guest_agent"))
    _graphics(devices, spec.get("graphics"))
    _rng(devices, spec.get("rng"))
    _watchdog(devices, spec.get("watchdog"))
    _tpm(devices, spec.get("tpm"))
    _hostdevs(devices, spec.get("hostdevs"))
    _memballoon(devices, spec.get("memballoon"))


def _disk_type(disk):
    sources = [key for key in ("path", "volume", "rbd") if disk.get(key)]
    if len(sources) > 1:
        raise SpecError(f"disk {disk['target']}: give only one of path, pool/volume or rbd (got {', '.join(sources)})")
    if disk.get("volume") and not disk.get("pool"):
        raise SpecError(f"disk {disk['target']}: volume needs pool")
    if not sources and disk["device"] != "cdrom":
        raise SpecError(f"disk {disk['target']}: needs a source (path, pool/volume or rbd)")
    inferred = "file"
    if disk.get("path", "") and disk["path"].startswith("/dev/"):
        inferred = "block"
    elif disk.get("volume"):
        inferred = "volume"
    elif disk.get("rbd"):
        inferred = "network"
    if disk.get("type") and disk["type"] != inferred and sources:
        raise SpecError(f"disk {disk['target']}: type {disk['type']} does not fit its source (looks like {inferred})")
    return disk.get("type") or inferred


def _disks(devices, disks, boot_orders):
    if disks is None:
        return
    own(devices, "disk")
    targets = set()
    for disk in disks:
        target = disk["target"]
        if not DISK_TARGET_RE.match(target):
            raise SpecError(f"disk {target!r}: target must look like vda, sdb or hdc")
        if target in targets:
            raise SpecError(f"disk {target}: target used twice")
        targets.add(target)
        kind = _disk_type(disk)
        elem = sub(devices, "disk", type=kind, device=disk["device"])
        driver = {
            "type": disk.get("format"),
            "cache": disk.get("cache"),
            "io": disk.get("io"),
            "discard": disk.get("discard"),
            "detect_zeroes": disk.get("detect_zeroes"),
        }
        if any(v is not None for v in driver.values()):
            sub(elem, "driver", name="qemu", **driver)
        if kind == "file" and disk.get("path"):
            sub(elem, "source", file=disk["path"])
        elif kind == "block":
            sub(elem, "source", dev=disk["path"])
        elif kind == "volume":
            sub(elem, "source", pool=disk["pool"], volume=disk["volume"])
        elif kind == "network":
            _rbd_source(elem, disk)
        sub(elem, "target", dev=target, bus=disk.get("bus"))
        if disk.get("serial"):
            sub(elem, "serial", disk["serial"])
        flag(elem, "readonly", disk.get("readonly"))
        flag(elem, "shareable", disk.get("shareable"))
        if disk.get("boot_order") is not None:
            boot_orders.append(disk["boot_order"])
            sub(elem, "boot", order=disk["boot_order"])


def _rbd_source(elem, disk):
    rbd = disk["rbd"]
    if "/" not in rbd["image"]:
        raise SpecError(f"disk {disk['target']}: rbd.image must be 'pool/image', got {rbd['image']!r}")
    source = sub(elem, "source", protocol="rbd", name=rbd["image"])
    for host in rbd["hosts"]:
        sub(source, "host", name=host["name"], port=host["port"])
    if rbd.get("username"):
        if not (rbd.get("secret_uuid") or rbd.get("secret_usage")):
            raise SpecError(f"disk {disk['target']}: rbd.username needs rbd.secret_uuid or rbd.secret_usage")
        auth = sub(source, "auth", username=rbd["username"])
        sub(auth, "secret", type="ceph", uuid=rbd.get("secret_uuid"), usage=rbd.get("secret_usage"))


def _interface_type(nic, index):
    sources = [key for key in ("network", "bridge", "dev") if nic.get(key)]
    if len(sources) != 1:
        raise SpecError(f"interface {index}: give exactly one of network, bridge or dev (got {sources or 'none'})")
    inferred = {"network": "network", "bridge": "bridge", "dev": "direct"}[sources[0]]
    if nic.get("type") and nic["type"] != inferred:
        raise SpecError(f"interface {index}: type {nic['type']} does not fit {sources[0]}")
    return inferred


def _interfaces(devices, nics, boot_orders):
    if nics is None:
        return
    own(devices, "interface")
    macs = set()
    for index, nic in enumerate(nics):
        kind = _interface_type(nic, index)
        label = f"interface {index} ({nic.get('network') or nic.get('bridge') or nic.get('dev')})"
        elem = sub(devices, "interface", type=kind)
        if nic.get("mac"):
            try:
                mac = normalize_mac(nic["mac"])
            except SpecError as exc:
                raise SpecError(f"{label}: {exc}") from exc
            if mac in macs:
                raise SpecError(f"{label}: MAC {mac} is used twice")
            macs.add(mac)
            sub(elem, "mac", address=mac)
        if kind == "network":
            sub(elem, "source", network=nic["network"], portgroup=nic.get("portgroup"))
        elif kind == "bridge":
            if nic.get("portgroup"):
                raise SpecError(f"{label}: portgroup needs a libvirt network, not a bridge")
            sub(elem, "source", bridge=nic["bridge"])
        else:
            sub(elem, "source", dev=nic["dev"], mode=nic.get("source_mode") or "bridge")
        if nic.get("openvswitch") is False and kind == "bridge":
            absent(elem, "virtualport")
        if nic.get("openvswitch"):
            if kind != "bridge":
                raise SpecError(
                    f"{label}: openvswitch applies to bridge interfaces (a network sets its own virtualport)"
                )
            sub(elem, "virtualport", type="openvswitch")
        _vlan(elem, nic, label, kind)
        sub(elem, "model", type=nic.get("model") or "virtio")
        _nic_driver(elem, nic, label)
        if nic.get("mtu") is not None:
            if not 68 <= nic["mtu"] <= 65535:
                raise SpecError(f"{label}: mtu {nic['mtu']} is outside 68..65535")
            sub(elem, "mtu", size=nic["mtu"])
        if nic.get("boot_order") is not None:
            boot_orders.append(nic["boot_order"])
            sub(elem, "boot", order=nic["boot_order"])
        if nic.get("link_state"):
            sub(elem, "link", state=nic["link_state"])


def _vlan(elem, nic, label, kind):
    tag, trunk, native = nic.get("vlan"), nic.get("trunk"), nic.get("native_vlan")
    if tag is None and not trunk:
        if native is not None:
            raise SpecError(f"{label}: native_vlan needs trunk")
        # The spec manages the whole NIC: no VLAN asked means none configured.
        absent(elem, "vlan")
        return
    if tag is not None and trunk:
        raise SpecError(f"{label}: give vlan (access port) or trunk, not both")
    if kind == "bridge" and not nic.get("openvswitch"):
        raise SpecError(
            f"{label}: VLAN tags on a bridge need openvswitch: true (a Linux bridge port cannot carry them)"
        )
    ids = [tag] if tag is not None else list(trunk) + ([native] if native is not None and native not in trunk else [])
    for vid in ids:
        if not 0 <= vid <= 4095:
            raise SpecError(f"{label}: VLAN id {vid} is outside 0..4095")
    vlan = sub(elem, "vlan", trunk="yes" if trunk else None)
    if not trunk:
        drop_attrs(vlan, "trunk")
    own(vlan, "tag")
    for vid in sorted(set(ids)):
        tag_elem = sub(vlan, "tag", id=vid, nativeMode="untagged" if vid == native else None)
        if vid != native:
            drop_attrs(tag_elem, "nativeMode")


def _nic_driver(elem, nic, label):
    offloads = nic.get("offloads") or {}
    queues = nic.get("queues")
    if not offloads and queues is None:
        return
    if queues is not None and not 1 <= queues <= 256:
        raise SpecError(f"{label}: queues {queues} is outside 1..256")
    driver = sub(elem, "driver", name="vhost", queues=queues)
    sides = {"host": {}, "guest": {}}
    for key, value in sorted(offloads.items()):
        side, _sep, name = key.partition("_")
        if side not in sides or name not in OFFLOAD_KEYS or (side == "guest" and name == "mrg_rxbuf"):
            raise SpecError(
                f"{label}: offloads key {key!r} must be host_<x> or guest_<x> with x in {', '.join(OFFLOAD_KEYS)}"
            )
        if not isinstance(value, bool):
            raise SpecError(f"{label}: offloads.{key} must be true or false")
        sides[side][name] = _on(value)
    for side, attrs in sides.items():
        if attrs:
            sub(driver, side, **attrs)


def _serials(devices, serials):
    if serials is None:
        return
    own(devices, "serial")
    for port, serial in enumerate(serials):
        elem = sub(devices, "serial", type=serial["type"])
        if serial["type"] == "file":
            if not serial.get("path"):
                raise SpecError(f"serials[{port}]: type file needs path")
            sub(elem, "source", path=serial["path"])
        sub(elem, "target", port=port)
        if serial.get("log_file"):
            sub(elem, "log", file=serial["log_file"], append="on")


def _guest_agent(devices, wanted):
    if wanted is None:
        return
    make = sub if wanted else absent
    channel = make(devices, "channel", type="unix")
    sub(channel, "target", type="virtio", name="org.qemu.guest_agent.0")


def _graphics(devices, graphics):
    if graphics is None:
        return
    own(devices, "graphics")
    for item in graphics:
        listen = item.get("listen") or "127.0.0.1"
        _check_ip(listen, f"graphics {item['type']}: listen")
        port = item.get("port")
        elem = sub(
            devices,
            "graphics",
            type=item["type"],
            port=port if port is not None else None,
            autoport="no" if port is not None else "yes",
            keymap=item.get("keymap"),
        )
        if item.get("password"):
            if item["type"] == "vnc" and len(item["password"]) > 8:
                # libvirt refuses it at define time; saying so here keeps check mode truthful.
                raise SpecError("graphics vnc: password is longer than the 8 characters VNC allows")
            elem.set("passwd", item["password"])
        sub(elem, "listen", type="address", address=listen)


def _check_ip(value, what):
    try:
        import netaddr

        netaddr.IPAddress(value)
    except ImportError as exc:
        raise SpecError("netaddr is required to validate addresses") from exc
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise SpecError(f"{what} {value!r} is not an IP address") from exc


def _rng(devices, rng):
    if not rng:
        return
    elem = sub(devices, "rng", model=rng["model"])
    if rng.get("rate_bytes"):
        sub(elem, "rate", bytes=rng["rate_bytes"], period=rng.get("rate_period"))
    sub(elem, "backend", rng["backend"], model="random")


def _watchdog(devices, watchdog):
    if watchdog:
        sub(devices, "watchdog", model=watchdog["model"], action=watchdog["action"])


def _tpm(devices, tpm):
    if tpm:
        elem = sub(devices, "tpm", model=tpm["model"])
        sub(elem, "backend", type="emulator", version=tpm["version"])


def _hostdevs(devices, hostdevs):
    if hostdevs is None:
        return
    own(devices, "hostdev")
    for item in hostdevs:
        try:
            address = parse_pci_address(item["address"])
        except SpecError as exc:
            raise SpecError(f"hostdevs: {exc}") from exc
        elem = sub(devices, "hostdev", mode="subsystem", type="pci", managed=_yes(item["managed"]))
        source = sub(elem, "source")
        sub(source, "address", **address)


def _memballoon(devices, balloon):
    if not balloon:
        return
    autodeflate = None if balloon.get("autodeflate") is None else _on(balloon["autodeflate"])
    elem = sub(devices, "memballoon", model=balloon["model"], autodeflate=autodeflate)
    if balloon.get("period") is not None:
        if balloon["model"] == "none":
            raise SpecError("memballoon.period needs a balloon (model virtio)")
        sub(elem, "stats", period=balloon["period"])
