# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure validation of a libvirt network spec with netaddr, before libvirt is asked anything.

Addresses, DHCP ranges and static hosts are checked against their subnet,
against each other and against the other networks libvirt has defined, so a
typo fails with a sentence naming the network and the option instead of a
network that starts and then hands out the wrong addresses.
"""

from __future__ import annotations

import re
import traceback

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

try:
    import netaddr
except ImportError:  # the module reports missing_required_lib
    netaddr = None
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None

NETWORK = "libvirt network"
MODES = ("isolated", "nat", "route", "open", "bridge")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
# Linux interface names: at most 15 bytes, no '/' or whitespace.
IFNAME_RE = re.compile(r"^[^/\s:]{1,15}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SpecError(ValueError):
    """An invalid network spec; the message names the option."""


def _vlan_id(value, what):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 4095:
        raise SpecError(f"{what}: VLAN id {value!r} is not 0-4095")
    return value


def check_portgroups(portgroups, openvswitch):
    names = set()
    defaults = []
    for index, group in enumerate(portgroups):
        label = f"portgroups[{index}] ({group.get('name')})"
        if not group.get("name"):
            raise SpecError(f"portgroups[{index}]: name is required")
        if group["name"] in names:
            raise SpecError(f"{label}: portgroup names must be unique")
        names.add(group["name"])
        if group.get("default"):
            defaults.append(group["name"])
        vlan, trunk, native = group.get("vlan"), group.get("trunk"), group.get("native_vlan")
        if vlan is not None and trunk:
            raise SpecError(f"{label}: give vlan (access) or trunk, not both")
        if native is not None and not trunk:
            raise SpecError(f"{label}: native_vlan needs trunk")
        if (vlan is not None or trunk) and not openvswitch:
            raise SpecError(f"{label}: VLAN tags need an Open vSwitch bridge (openvswitch: true)")
        if vlan is not None:
            _vlan_id(vlan, label)
        for tag in trunk or []:
            _vlan_id(tag, label)
        if native is not None:
            _vlan_id(native, label)
    if len(defaults) > 1:
        raise SpecError(f"portgroups: only one may be the default, got {', '.join(defaults)}")


def _interface(address, what):
    if "/" not in str(address):
        raise SpecError(f"{what}: {address!r} needs a prefix length, such as 203.0.113.1/24")
    try:
        iface = netaddr.IPNetwork(address)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise SpecError(f"{what}: {address!r} is not an address with a prefix length") from exc
    subnet = iface.cidr
    host = iface.ip
    if iface.version == 4 and subnet.prefixlen < 31 and host in (subnet.network, subnet.broadcast):
        raise SpecError(f"{what}: {host} is the network or broadcast address of {subnet}, not a host address")
    return host, subnet


def _ip(value, what, version):
    try:
        addr = netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise SpecError(f"{what}: {value!r} is not an IP address") from exc
    if addr.version != version:
        raise SpecError(f"{what}: {value} is IPv{addr.version}, the subnet is IPv{version}")
    return addr


def _usable(addr, host, subnet, what):
    if addr not in subnet:
        raise SpecError(f"{what}: {addr} is outside the subnet {subnet}")
    if subnet.version == 4 and subnet.prefixlen < 31 and addr in (subnet.network, subnet.broadcast):
        raise SpecError(f"{what}: {addr} is the network or broadcast address of {subnet}")
    if addr == host:
        raise SpecError(f"{what}: {addr} is the network's own address")


def normalize_mac(value, what):
    try:
        return str(netaddr.EUI(value, dialect=netaddr.mac_unix_expanded)).lower()
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise SpecError(f"{what}: {value!r} is not a MAC address") from exc


def _check_ranges(ranges, host, subnet, label):
    checked = []
    for index, item in enumerate(ranges):
        what = f"{label}.dhcp_ranges[{index}]"
        start = _ip(item.get("start"), f"{what}.start", subnet.version)
        end = _ip(item.get("end"), f"{what}.end", subnet.version)
        _usable(start, None, subnet, f"{what}.start")
        _usable(end, None, subnet, f"{what}.end")
        if start > end:
            raise SpecError(f"{what}: start {start} is after end {end}")
        if start <= host <= end:
            raise SpecError(f"{what}: {start}-{end} contains the network's own address {host}")
        for other_index, (other_start, other_end) in checked:
            if start <= other_end and other_start <= end:
                raise SpecError(f"{what}: {start}-{end} overlaps dhcp_ranges[{other_index}] {other_start}-{other_end}")
        checked.append((index, (start, end)))
    return [{"start": str(s), "end": str(e)} for _i, (s, e) in checked]


def _check_hosts(hosts, host, subnet, label):
    seen_ips, seen_macs, result = {}, {}, []
    for index, item in enumerate(hosts):
        what = f"{label}.dhcp_hosts[{index}]"
        addr = _ip(item.get("ip"), f"{what}.ip", subnet.version)
        _usable(addr, host, subnet, f"{what}.ip")
        if str(addr) in seen_ips:
            raise SpecError(f"{what}: ip {addr} is also given to dhcp_hosts[{seen_ips[str(addr)]}]")
        seen_ips[str(addr)] = index
        mac = normalize_mac(item["mac"], f"{what}.mac") if item.get("mac") else None
        if subnet.version == 4 and not mac:
            raise SpecError(f"{what}: an IPv4 static host needs mac")
        if subnet.version == 6 and not item.get("name"):
            raise SpecError(f"{what}: an IPv6 static host needs name (libvirt matches IPv6 hosts by name or DUID)")
        if mac and mac in seen_macs:
            raise SpecError(f"{what}: mac {mac} is also given to dhcp_hosts[{seen_macs[mac]}]")
        if mac:
            seen_macs[mac] = index
        result.append({"mac": mac, "name": item.get("name"), "ip": str(addr)})
    return result


def check_ips(ips):
    """Validate ``ips``; returns them normalised: address, prefix, family, ranges, hosts, subnet."""
    result = []
    dhcp_families = set()
    for index, item in enumerate(ips):
        label = f"ips[{index}]"
        host, subnet = _interface(item.get("address"), f"{label}.address")
        ranges = _check_ranges(item.get("dhcp_ranges") or [], host, subnet, label)
        hosts = _check_hosts(item.get("dhcp_hosts") or [], host, subnet, label)
        if ranges or hosts:
            if subnet.version in dhcp_families:
                raise SpecError(f"{label}: libvirt serves DHCP on one IPv{subnet.version} address per network only")
            dhcp_families.add(subnet.version)
        for other in result:
            if other["subnet"].first <= subnet.last and subnet.first <= other["subnet"].last:
                raise SpecError(f"{label}: {subnet} overlaps {other['subnet']} of the same network")
        result.append(
            {
                "address": str(host),
                "prefix": subnet.prefixlen,
                "family": f"ipv{subnet.version}",
                "subnet": subnet,
                "dhcp_ranges": ranges,
                "dhcp_hosts": hosts,
            }
        )
    return result


def check_overlap(ips, others):
    """Refuse subnets that overlap another defined network's: ``others`` is ``[(name, [cidr text])]``."""
    problems = []
    for item in ips:
        for other_name, cidrs in others:
            for cidr in cidrs:
                try:
                    other = netaddr.IPNetwork(cidr)
                except (netaddr.AddrFormatError, ValueError, TypeError):
                    continue
                if other.version == item["subnet"].version and (
                    other.first <= item["subnet"].last and item["subnet"].first <= other.last
                ):
                    problems.append(f"{item['subnet']} overlaps {other} of network '{other_name}'")
    return problems


def normalise_params(params):
    """Module parameters → the desired network; raises KvmopsError naming the network."""
    name = params.get("name") or ""
    try:
        return _normalise(params, name)
    except SpecError as exc:
        raise KvmopsError(NETWORK, name, str(exc)) from exc


def _normalise(params, name):
    if not NAME_RE.match(name):
        raise SpecError("the name must be 1-64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit")
    mode = params.get("mode")
    desired = {
        "name": name,
        "state": params.get("state") or "present",
        "autostart": params.get("autostart"),
        "mode": mode,
        "uuid": params["uuid"].lower() if params.get("uuid") else None,
        "bridge": params.get("bridge"),
        "openvswitch": bool(params.get("openvswitch")),
        "forward_dev": params.get("forward_dev"),
        "mtu": params.get("mtu"),
        "domain": params.get("domain"),
        "ips": None,
        "portgroups": params.get("portgroups"),
        "restart_on_change": bool(params.get("restart_on_change")),
    }
    if desired["uuid"] and not UUID_RE.match(desired["uuid"]):
        raise SpecError(f"uuid {params['uuid']!r} is not a UUID")
    if mode is None:
        managed = ("bridge", "forward_dev", "mtu", "domain", "ips", "portgroups")
        if any(params.get(option) is not None for option in managed) or desired["openvswitch"]:
            raise SpecError("mode is required to define a network")
        return desired
    if desired["bridge"] is not None and not IFNAME_RE.match(desired["bridge"]):
        raise SpecError(f"bridge {desired['bridge']!r} is not a valid interface name (1-15 characters)")
    if mode == "bridge":
        if not desired["bridge"]:
            raise SpecError("mode bridge needs bridge: the existing Linux or Open vSwitch bridge")
        for option in ("ips", "domain", "forward_dev"):
            if params.get(option):
                raise SpecError(f"{option} does not apply to mode bridge: the host's bridge is outside libvirt")
    elif desired["openvswitch"]:
        raise SpecError("openvswitch needs mode bridge (libvirt attaches guests to an existing OVS bridge)")
    if desired["forward_dev"] and mode not in ("nat", "route"):
        raise SpecError("forward_dev applies to modes nat and route only")
    if desired["mtu"] is not None and not 68 <= desired["mtu"] <= 65535:
        raise SpecError(f"mtu {desired['mtu']} is not 68-65535")
    if params.get("ips") is not None:
        desired["ips"] = check_ips(params["ips"])
    if desired["portgroups"] is not None:
        check_portgroups(desired["portgroups"], desired["openvswitch"])
    return desired
