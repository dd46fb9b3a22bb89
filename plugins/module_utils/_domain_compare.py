# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure semantic comparison and merge of a desired domain tree with libvirt's XML.

Subset semantics: the desired tree (``_domain_xml.py``) must be *contained*
in libvirt's definition. Whatever libvirt fills in (PCI addresses,
controllers, aliases, generated MACs and UUIDs, default attributes) and
whatever the spec does not manage stays as it is, so

* :func:`differences` lists what the spec manages that differs (empty → no change),
* :func:`merge` returns libvirt's definition with exactly those places changed,

and defining the merged XML is a no-op for everything the spec leaves alone.
Children are matched by identity (disk target, NIC MAC, vCPU number, NUMA
cell id...) and otherwise by position among siblings of the same tag, which
is how a NIC without a MAC in the spec keeps the MAC libvirt generated.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import SpecError, canonical_cpuset
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml_base import ABSENT, ABSENT_ATTRS, MARK_NS, OWNS
from ansible_collections.kvmops.kvm.plugins.module_utils._units import SizeError, parse_size

try:
    from lxml import etree
except ImportError:  # the module reports missing_required_lib
    etree = None

MASK = "********"
CPUSET_ATTRS = ("cpuset", "nodeset", "cpus")
# pc-i440fx-7.2, pc-q35-rhel9.4.0: the family is what precedes the version.
_VERSION_SUFFIX = re.compile(r"-(?:rhel)?\d+(?:\.\d+)*$")


def _attr(name):
    return lambda elem: elem.get(name)


def _disk_key(elem):
    target = elem.find("target")
    return target.get("dev") if target is not None else None


def _mac_key(elem):
    mac = elem.find("mac")
    return mac.get("address", "").lower() if mac is not None else None


def _hostdev_key(elem):
    address = elem.find("source/address")
    return tuple(sorted(address.attrib.items())) if address is not None else None


def _channel_key(elem):
    target = elem.find("target")
    return target.get("name") if target is not None else None


def _page_key(elem):
    nodeset = elem.get("nodeset")
    return (_size_kib(elem.get("size"), elem.get("unit")), _canonical(nodeset) if nodeset else None)


# (parent tag, child tag) → identity of the child; children without a rule match by position.
KEY_RULES = {
    ("devices", "disk"): _disk_key,
    ("devices", "interface"): _mac_key,
    ("devices", "hostdev"): _hostdev_key,
    ("devices", "graphics"): _attr("type"),
    ("devices", "channel"): _channel_key,
    ("devices", "controller"): lambda e: (e.get("type"), e.get("index")),
    ("cputune", "vcpupin"): _attr("vcpu"),
    ("cputune", "iothreadpin"): _attr("iothread"),
    ("numatune", "memnode"): _attr("cellid"),
    ("numa", "cell"): _attr("id"),
    ("hugepages", "page"): _page_key,
    ("clock", "timer"): _attr("name"),
    ("cpu", "feature"): _attr("name"),
    ("firmware", "feature"): _attr("name"),
    ("vlan", "tag"): _attr("id"),
    ("domain", "seclabel"): _attr("model"),
}
# Elements replaced as a whole when they differ: their attributes are alternatives
# (a bridge NIC's source has no network attribute), so merging would mix them.
REPLACE_WHOLE = {("disk", "source"), ("interface", "source"), ("hostdev", "source")}


class Context:
    """What comparison needs to know about the host: QEMU's machine type aliases."""

    def __init__(self, machine_aliases=None, live=False):
        # alias → canonical, e.g. {"pc": "pc-i440fx-7.2", "q35": "pc-q35-7.2"}
        self.machine_aliases = machine_aliases or {}
        # Comparing with a running domain's live XML (for pending changes), not the definition.
        self.live = live

    def machine_equal(self, desired, current):
        if desired == current:
            return True
        canonical = self.machine_aliases.get(desired)
        if canonical is None:
            return False
        # An alias matches any version of its family, so a QEMU upgrade does not
        # change the machine type (the guest ABI) of existing domains.
        return _VERSION_SUFFIX.sub("", canonical) == _VERSION_SUFFIX.sub("", current)


def _canonical(text):
    try:
        return canonical_cpuset(text)
    except SpecError:
        return text


def _size_kib(value, unit):
    """A size with libvirt's unit → KiB; unreadable input is returned as it is (compared verbatim)."""
    try:
        return parse_size(f"{value}{unit or 'KiB'}", "KiB") // 1024
    except (SizeError, TypeError):
        return value


def _strict_kib(value, unit, what):
    try:
        return parse_size(f"{value}{unit or 'KiB'}", "KiB") // 1024
    except SizeError as exc:
        raise SpecError(f"xml: {what}: {exc}") from exc


def _is_element(node):
    return isinstance(node.tag, str)


def _tag_name(elem):
    qname = etree.QName(elem)
    return qname.localname if qname.namespace in (None, MARK_NS) else f"{{{qname.namespace}}}{qname.localname}"


def _key(elem, parent):
    rule = KEY_RULES.get((parent.tag, elem.tag))
    return rule(elem) if rule else None


def attr_equal(elem_tag, attr, desired, current, ctx):
    if current is None:
        return False
    if attr in CPUSET_ATTRS:
        return _canonical(desired) == _canonical(current)
    if elem_tag == "mac" and attr == "address":
        return desired.lower() == current.lower()
    if elem_tag == "type" and attr == "machine":
        return ctx.machine_equal(desired, current)
    return desired == current


def _text_equal(elem_tag, desired, current):
    if elem_tag == "uuid":
        return desired.lower() == current.lower()
    return desired == current


def _path(parent_path, elem, parent):
    key = _key(elem, parent)
    label = _tag_name(elem)
    return f"{parent_path}/{label}[{key}]" if key not in (None, "") else f"{parent_path}/{label}"


def match_children(desired, current):
    """Pairs (desired child, current child or None) plus the current children left unmatched."""
    current_children = [c for c in current if _is_element(c)]
    used = set()
    pairs = []
    positional = []
    for child in desired:
        if not _is_element(child):
            continue
        key = _key(child, desired)
        if key is None:
            positional.append(child)
            pairs.append([child, None])
            continue
        found = next(
            (c for c in current_children if id(c) not in used and c.tag == child.tag and _key(c, current) == key),
            None,
        )
        if found is not None:
            used.add(id(found))
        pairs.append([child, found])
    for pair in pairs:
        child = pair[0]
        if pair[1] is not None or child not in positional:
            continue
        found = next((c for c in current_children if id(c) not in used and c.tag == child.tag), None)
        if found is not None:
            used.add(id(found))
            pair[1] = found
    unmatched = [c for c in current_children if id(c) not in used]
    return pairs, unmatched


def _requires_nothing(elem):
    """True for a desired element that only says what must be absent: nothing to add when it is missing."""
    if (elem.text or "").strip():
        return False
    if any(attr not in (OWNS, ABSENT, ABSENT_ATTRS) for attr in elem.attrib):
        return False
    return all(child.get(ABSENT) or _requires_nothing(child) for child in elem if _is_element(child))


def _owned(desired):
    return set(desired.get(OWNS, "").split())


def _skip_attr(desired, attr, ctx):
    if attr in (OWNS, ABSENT, ABSENT_ATTRS):
        return True
    # A live host-model CPU shows the expanded model as mode='custom'.
    return bool(ctx.live and desired.tag == "cpu" and attr == "mode" and desired.get(attr) == "host-model")


def differences(desired, current, ctx=None, path=""):
    """Human-readable places where ``current`` does not contain ``desired``; [] means converged."""
    ctx = ctx or Context()
    path = path or _tag_name(desired)
    found = []
    for attr, value in desired.attrib.items():
        if _skip_attr(desired, attr, ctx):
            continue
        if not attr_equal(desired.tag, attr, value, current.get(attr), ctx):
            shown = MASK if attr == "passwd" else value
            was = MASK if attr == "passwd" and current.get(attr) is not None else current.get(attr)
            found.append(f"{path}@{attr}: {was!r} -> {shown!r}")
    for attr in desired.get(ABSENT_ATTRS, "").split():
        if current.get(attr) is not None:
            found.append(f"{path}@{attr}: {current.get(attr)!r} -> (removed)")
    text = (desired.text or "").strip()
    if text and not _text_equal(desired.tag, text, (current.text or "").strip()):
        found.append(f"{path}: {(current.text or '').strip()!r} -> {text!r}")
    pairs, unmatched = match_children(desired, current)
    for child, match in pairs:
        child_path = _path(path, child, desired)
        if child.get(ABSENT):
            if match is not None:
                found.append(f"{child_path}: present, to be removed")
        elif match is None:
            if not _requires_nothing(child):
                found.append(f"{child_path}: missing, to be added")
        else:
            found.extend(differences(child, match, ctx, child_path))
    owned = _owned(desired)
    if ctx.live and desired.tag == "cpu":
        # A running domain's CPU lists the features its model expanded to.
        owned.discard("feature")
    for extra in unmatched:
        if extra.tag in owned:
            found.append(f"{_path(path, extra, current)}: not in the spec, to be removed")
    return found


def clean_copy(elem):
    """A copy of a desired element without markers and without elements marked absent."""
    result = copy.deepcopy(elem)
    for node in list(result.iter()):
        if not _is_element(node):
            continue
        if node.get(ABSENT) and node is not result:
            node.getparent().remove(node)
            continue
        for attr in (OWNS, ABSENT, ABSENT_ATTRS):
            node.attrib.pop(attr, None)
    etree.cleanup_namespaces(result)
    return result


def _insert(parent, child):
    """Add ``child`` after the last sibling with its tag (devices stay grouped), else at the end."""
    same = [c for c in parent if _is_element(c) and c.tag == child.tag]
    if same:
        same[-1].addnext(child)
    else:
        parent.append(child)


def _apply(desired, target, ctx):
    for attr, value in desired.attrib.items():
        if _skip_attr(desired, attr, ctx):
            continue
        if not attr_equal(desired.tag, attr, value, target.get(attr), ctx):
            target.set(attr, value)
    for attr in desired.get(ABSENT_ATTRS, "").split():
        target.attrib.pop(attr, None)
    text = (desired.text or "").strip()
    if text and not _text_equal(desired.tag, text, (target.text or "").strip()):
        target.text = desired.text
    pairs, unmatched = match_children(desired, target)
    for child, match in pairs:
        if child.get(ABSENT):
            if match is not None:
                target.remove(match)
        elif match is None:
            if not _requires_nothing(child):
                _insert(target, clean_copy(child))
        elif (target.tag, child.tag) in REPLACE_WHOLE and differences(child, match, ctx):
            match.addnext(clean_copy(child))
            target.remove(match)
        else:
            _apply(child, match, ctx)
    owned = _owned(desired)
    for extra in unmatched:
        if extra.tag in owned:
            target.remove(extra)
    if target.tag == "disk":
        _drop_stale_disk_address(target)


def _drop_stale_disk_address(disk):
    """A disk moved to another bus cannot keep its old address; libvirt assigns a new one."""
    bus = (disk.find("target").get("bus") if disk.find("target") is not None else None) or ""
    address = disk.find("address")
    if address is None:
        return
    pci_bus = bus in ("virtio",)
    if (address.get("type") == "pci") != pci_bus:
        disk.remove(address)


def merge(desired, current, ctx=None):
    """libvirt's definition (``current``) with the desired values applied; neither input changes."""
    ctx = ctx or Context()
    result = copy.deepcopy(current)
    _apply(desired, result, ctx)
    etree.cleanup_namespaces(result)
    return result


def normalize_units(root):
    """Rewrite memory sizes of a raw user XML into KiB, the unit libvirt reports them in."""
    for tag in ("memory", "currentMemory", "maxMemory"):
        elem = root.find(tag)
        if elem is not None and elem.text and elem.text.strip():
            elem.text = str(_strict_kib(elem.text.strip(), elem.get("unit"), tag))
            elem.set("unit", "KiB")
    for cell in root.iterfind("cpu/numa/cell"):
        if cell.get("memory"):
            cell.set("memory", str(_strict_kib(cell.get("memory"), cell.get("unit"), "numa cell memory")))
            cell.set("unit", "KiB")
    for page in root.iterfind("memoryBacking/hugepages/page"):
        if page.get("size"):
            page.set("size", str(_strict_kib(page.get("size"), page.get("unit"), "hugepage size")))
            page.set("unit", "KiB")
    return root


def render(elem):
    """Stable, readable XML for diffs; passwords masked."""
    shown = copy.deepcopy(elem)
    for node in shown.iter():
        if _is_element(node) and node.get("passwd") is not None:
            node.set("passwd", MASK)
    for node in shown.iter():
        if _is_element(node):
            node.tail = None
            if node.text is not None and not node.text.strip() and len(node):
                node.text = None
    etree.indent(shown, space="  ")
    return etree.tostring(shown, encoding="unicode") + "\n"


def to_xml(elem):
    """What libvirt gets: markers removed, no pretty-printing artefacts needed."""
    return etree.tostring(clean_copy(elem), encoding="unicode")
