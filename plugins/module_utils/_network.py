# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure libvirt network logic: desired XML, comparison, and the plan for definition and running network.

The persistent definition is converged with subset semantics (what libvirt
fills in, such as the MAC, the uuid or a generated bridge name, is kept). For
a running network, the differences between the desired tree and libvirt's
live XML are split in two: DHCP hosts, DHCP ranges and portgroups, which
``virNetworkUpdate`` changes in place, and everything else, which needs the
network restarted. ``_libvirt_network.py`` reads the XML and applies the plan.
"""

from __future__ import annotations

import copy

from ansible_collections.kvmops.kvm.plugins.module_utils import _xml_subset as xs
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._network_spec import NETWORK, netaddr

try:
    from lxml import etree
except ImportError:  # the module reports missing_required_lib
    etree = None


def _canonical_ip(value):
    return str(netaddr.IPAddress(value))


RULES = xs.Rules(
    keys={
        ("network", "ip"): lambda e: _canonical_ip(e.get("address")) if e.get("address") else None,
        ("dhcp", "range"): lambda e: f"{_canonical_ip(e.get('start'))}-{_canonical_ip(e.get('end'))}",
        ("dhcp", "host"): lambda e: (e.get("mac") or "").lower() or e.get("name") or e.get("ip"),
        ("network", "portgroup"): lambda e: e.get("name"),
        ("vlan", "tag"): lambda e: e.get("id"),
    },
    normalise={
        ("ip", "address"): _canonical_ip,
        ("range", "start"): _canonical_ip,
        ("range", "end"): _canonical_ip,
        ("host", "ip"): _canonical_ip,
        ("host", "mac"): str.lower,
        ("mac", "address"): str.lower,
    },
)
# virNetworkUpdate sections this module changes on a running network.
LIVE_SECTIONS = ("ip-dhcp-host", "ip-dhcp-range", "portgroup")


def _portgroup(parent, group):
    elem = xs.exact(xs.sub(parent, "portgroup", name=group["name"], default="yes" if group.get("default") else None))
    vlan, trunk, native = group.get("vlan"), group.get("trunk"), group.get("native_vlan")
    if vlan is None and not trunk:
        return elem
    vlan_elem = xs.sub(elem, "vlan", trunk="yes" if trunk else None)
    ids = [vlan] if vlan is not None else list(trunk) + ([native] if native is not None and native not in trunk else [])
    for vid in ids:
        xs.sub(vlan_elem, "tag", id=vid, nativeMode="untagged" if native is not None and vid == native else None)
    return elem


def _dhcp_host(parent, host):
    return xs.exact(xs.sub(parent, "host", mac=host["mac"], name=host["name"], ip=host["ip"]))


def _dhcp_range(parent, item):
    return xs.exact(xs.sub(parent, "range", start=item["start"], end=item["end"]))


def build_desired(desired):
    """The desired ``<network>`` tree: only what the options manage, with subset markers."""
    mode = desired["mode"]
    net = etree.Element("network")
    xs.sub(net, "name", desired["name"])
    if desired["uuid"]:
        xs.sub(net, "uuid", desired["uuid"])
    if mode == "isolated":
        xs.absent(net, "forward")
    else:
        forward = xs.sub(net, "forward", mode=mode, dev=desired["forward_dev"])
        if mode == "bridge":
            xs.exact(forward)
    if desired["bridge"]:
        bridge = xs.sub(net, "bridge", name=desired["bridge"])
        if mode == "bridge":
            # stp and delay belong to bridges libvirt makes itself; libvirt rejects them here.
            xs.exact(bridge)
    if desired["openvswitch"]:
        xs.exact(xs.sub(net, "virtualport", type="openvswitch"))
    elif mode == "bridge":
        xs.absent(net, "virtualport")
    if desired["mtu"] is not None:
        xs.sub(net, "mtu", size=desired["mtu"])
    if mode == "bridge":
        # A host bridge gets no MAC, addresses, DNS or DHCP from libvirt.
        for tag in ("mac", "domain", "dns"):
            xs.absent(net, tag)
        xs.own(net, "ip")
    elif desired["domain"]:
        xs.sub(net, "domain", name=desired["domain"])
    if desired["ips"] is not None:
        xs.own(net, "ip")
        for item in desired["ips"]:
            family = "ipv6" if item["family"] == "ipv6" else None
            ip = xs.sub(net, "ip", family=family, address=item["address"], prefix=item["prefix"])
            if item["dhcp_ranges"] or item["dhcp_hosts"]:
                dhcp = xs.own(xs.sub(ip, "dhcp"), "range", "host")
                for rng in item["dhcp_ranges"]:
                    _dhcp_range(dhcp, rng)
                for host in item["dhcp_hosts"]:
                    _dhcp_host(dhcp, host)
            else:
                xs.absent(ip, "dhcp")
    if desired["portgroups"] is not None:
        xs.own(net, "portgroup")
        for group in desired["portgroups"]:
            _portgroup(net, group)
    return net


def normalise_current(xml_text):
    """libvirt's network XML → tree in the form the desired tree uses (netmask → prefix)."""
    root = xs.parse(xml_text)
    for ip in root.iterfind("ip"):
        netmask = ip.attrib.pop("netmask", None)
        if netmask and ip.get("prefix") is None:
            ip.set("prefix", str(netaddr.IPAddress(netmask).netmask_bits()))
    return root


def defined_subnets(xml_text):
    """The subnets of a network definition, as CIDR texts (for the overlap check)."""
    root = normalise_current(xml_text)
    subnets = []
    for ip in root.iterfind("ip"):
        if ip.get("address") and ip.get("prefix"):
            subnets.append(str(netaddr.IPNetwork(f"{ip.get('address')}/{ip.get('prefix')}").cidr))
    return subnets


def summary(xml_text):
    root = normalise_current(xml_text)
    forward = root.find("forward")
    bridge = root.find("bridge")
    mtu = root.find("mtu")
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "mode": forward.get("mode") if forward is not None else "isolated",
        "bridge": bridge.get("name") if bridge is not None else None,
        "openvswitch": root.find("virtualport[@type='openvswitch']") is not None,
        "mtu": int(mtu.get("size")) if mtu is not None and mtu.get("size") else None,
        "ips": [f"{ip.get('address')}/{ip.get('prefix')}" for ip in root.iterfind("ip") if ip.get("address")],
        "portgroups": [pg.get("name") for pg in root.iterfind("portgroup")],
    }


# -- the running network -------------------------------------------------------------


def _strip_live_updatable(desired, live):
    """A copy of ``desired`` without what virNetworkUpdate can change in ``live``."""
    stripped = copy.deepcopy(desired)
    live_ips = {RULES.key(ip, live): ip for ip in live.iterfind("ip")}
    for ip in stripped.iterfind("ip"):
        dhcp = ip.find("dhcp")
        live_ip = live_ips.get(RULES.key(ip, stripped))
        if dhcp is None or dhcp.get(xs.ABSENT) or live_ip is None or live_ip.find("dhcp") is None:
            # Turning DHCP on or off changes dnsmasq's command line: only a restart does it.
            continue
        ip.remove(dhcp)
    for group in stripped.findall("portgroup"):
        stripped.remove(group)
    owned = [tag for tag in stripped.get(xs.OWNS, "").split() if tag != "portgroup"]
    if owned:
        stripped.set(xs.OWNS, " ".join(owned))
    else:
        stripped.attrib.pop(xs.OWNS, None)
    return stripped


def _command(command, section, index, elem, text):
    return {"command": command, "section": section, "index": index, "xml": xs.to_xml(elem), "text": text}


def _set_updates(desired_parent, live_parent, tag, section, index, label, modify=True):
    """delete/modify/add commands turning ``live_parent``'s ``tag`` children into the desired ones."""
    deletes, adds = [], []
    wanted = [c for c in desired_parent.iterfind(tag) if not c.get(xs.ABSENT)]
    pairs, unmatched = xs.match_children(desired_parent, live_parent, RULES)
    for extra in unmatched:
        if extra.tag == tag:
            deletes.append(_command("delete", section, index, extra, f"live: remove {label} {_describe(extra)}"))
    for child, match in pairs:
        if child not in wanted:
            continue
        if match is None:
            adds.append(_command("add-last", section, index, child, f"live: add {label} {_describe(child)}"))
        elif xs.canonical(child, RULES) != xs.canonical(match, RULES):
            if modify:
                adds.append(_command("modify", section, index, child, f"live: change {label} {_describe(child)}"))
            else:
                deletes.append(_command("delete", section, index, match, f"live: remove {label} {_describe(match)}"))
                adds.append(_command("add-last", section, index, child, f"live: add {label} {_describe(child)}"))
    return deletes, adds


def _describe(elem):
    keys = ("name", "mac", "ip", "start", "end")
    return " ".join(f"{k}={elem.get(k)}" for k in keys if elem.get(k))


def live_plan(desired, live_xml):
    """``(updates, pending)`` for a running network.

    ``updates`` are virNetworkUpdate commands (deletes first, so an address can
    move from one host entry to another); ``pending`` are the differences only
    a restart applies. Both empty: the running network matches.
    """
    live = normalise_current(live_xml)
    pending = xs.differences(_strip_live_updatable(desired, live), live, RULES)
    deletes, adds = [], []
    live_ips = list(live.iterfind("ip"))
    for ip in desired.iterfind("ip"):
        dhcp = ip.find("dhcp")
        match = next((li for li in live_ips if RULES.key(li, live) == RULES.key(ip, desired)), None)
        if dhcp is None or dhcp.get(xs.ABSENT) or match is None or match.find("dhcp") is None:
            continue
        index = live_ips.index(match)
        for tag, section, modify in (("host", "ip-dhcp-host", True), ("range", "ip-dhcp-range", False)):
            more_deletes, more_adds = _set_updates(
                dhcp, match.find("dhcp"), tag, section, index, f"dhcp {tag}", modify=modify
            )
            deletes += more_deletes
            adds += more_adds
    if desired.get(xs.OWNS) and "portgroup" in desired.get(xs.OWNS).split():
        more_deletes, more_adds = _set_updates(desired, live, "portgroup", "portgroup", -1, "portgroup")
        deletes += more_deletes
        adds += more_adds
    return deletes + adds, pending


# -- the plan ----------------------------------------------------------------------------


def _action(op, text=None, **extra):
    return {"op": op, "text": text or op, **extra}


def plan_network(desired, current, live_xml=None):
    """Decide everything a run does. Pure.

    ``current`` is None or ``{"xml": inactive XML, "active": bool, "autostart": bool}``;
    ``live_xml`` the running network's XML (needed when it is active).
    Returns ``{"changed", "actions", "changes", "pending", "restart_required", "before", "after", "created"}``.
    """
    name = desired["name"]
    before = _side(current["xml"], current["active"], current["autostart"]) if current else None
    result = {"changes": [], "pending": [], "restart_required": False, "created": False}
    if desired["state"] == "absent":
        if current is None:
            return {**result, "changed": False, "actions": [], "before": None, "after": None}
        actions = ([_action("destroy")] if current["active"] else []) + [_action("undefine")]
        return {**result, "changed": True, "actions": actions, "before": before, "after": None}
    if current is None:
        if desired["mode"] is None:
            raise KvmopsError(NETWORK, name, "is not defined, and without mode (and its options) it cannot be defined")
        xml = xs.to_xml(build_desired(desired))
        actions = [_action("define", xml=xml)]
        active = desired["state"] == "active"
        if active:
            actions.append(_action("start"))
        if desired["autostart"]:
            actions.append(_action("autostart", "autostart on", value=True))
        after = _side(xml, active, bool(desired["autostart"]))
        return {**result, "changed": True, "actions": actions, "before": None, "after": after, "created": True}
    actions = []
    xml_after = current["xml"]
    active = current["active"]
    wanted = None
    if desired["mode"] is not None:
        wanted = build_desired(desired)
        current_tree = normalise_current(current["xml"])
        want_uuid = desired["uuid"]
        if want_uuid and want_uuid != (current_tree.findtext("uuid") or "").lower():
            raise KvmopsError(
                NETWORK, name, f"exists with uuid {current_tree.findtext('uuid')}; a network's uuid cannot change"
            )
        result["changes"] = xs.differences(wanted, current_tree, RULES)
        if result["changes"]:
            xml_after = xs.to_xml(xs.merge(wanted, current_tree, RULES))
            actions.append(_action("define", "update definition", xml=xml_after))
    if desired["state"] == "inactive" and active:
        actions.append(_action("destroy", "stop"))
        active = False
    elif active and wanted is not None and live_xml is not None:
        actions += _running_actions(desired, wanted, live_xml, result)
    elif desired["state"] == "active" and not active:
        actions.append(_action("start"))
        active = True
    autostart = current["autostart"]
    if desired["autostart"] is not None and desired["autostart"] != autostart:
        autostart = desired["autostart"]
        actions.append(_action("autostart", f"autostart {'on' if autostart else 'off'}", value=autostart))
    after = _side(xml_after, active, autostart)
    return {**result, "changed": bool(actions), "actions": actions, "before": before, "after": after}


def _running_actions(desired, wanted, live_xml, result):
    """Live updates, a restart, or pending changes reported, for a network that keeps running."""
    updates, pending = live_plan(wanted, live_xml)
    if pending and desired["restart_on_change"]:
        result["pending"] = pending
        return [_action("destroy", "stop (restart to apply changes)"), _action("start", "start")]
    if pending:
        result["pending"] = pending
        result["restart_required"] = True
    return [_action("update", update["text"], update=update) for update in updates]


def _side(xml_text, active, autostart):
    return {"xml": xml_text, "state": "active" if active else "inactive", "autostart": autostart}


def _text(side):
    if side is None:
        return "state: absent\n"
    header = f"state: {side['state']}\nautostart: {'true' if side['autostart'] else 'false'}\n"
    return header + xs.render(xs.parse(side["xml"]))


def build_diff(desired, plan):
    """Run state, autostart and the normalised definition before and after."""
    return {
        "before": _text(plan["before"]),
        "after": _text(plan["after"]),
        "before_header": f"network {desired['name']}",
        "after_header": f"network {desired['name']}",
    }
