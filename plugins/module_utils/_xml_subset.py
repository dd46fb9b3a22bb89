# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure, generic subset comparison and merge of a desired XML tree with libvirt's.

The idea of ``_domain_compare.py`` (which stays domain-specific) made
reusable for pools, networks and secrets: the desired tree holds only what a
module manages and must be *contained* in libvirt's definition; what libvirt
fills in (UUIDs, MACs, sizes, default attributes) is kept. Per-object rules
say how children are matched (:class:`Rules`), and three markers, stripped
before anything reaches libvirt, say what else the desired tree means:

* ``owns="range host"`` on a parent: the desired tree lists the complete set of
  those children, so a current child it does not list is removed;
* ``absent="1"`` on an element: that element must not exist;
* ``exact="1"`` on an element: the current element must equal it completely
  (attributes, text and children, children in any order) and is replaced whole
  otherwise. Used for small elements a module owns entirely, such as a DHCP
  host or a portgroup, where a leftover attribute would change the meaning.
"""

from __future__ import annotations

import copy
import traceback

try:
    from lxml import etree
except ImportError:  # the module reports missing_required_lib
    etree = None
    HAS_LXML = False
    LXML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LXML = True
    LXML_IMPORT_ERROR = None

MARK_NS = "https://kvmops.example/xmlns/subset"
OWNS = f"{{{MARK_NS}}}owns"
ABSENT = f"{{{MARK_NS}}}absent"
EXACT = f"{{{MARK_NS}}}exact"
MARKERS = (OWNS, ABSENT, EXACT)


class Rules:
    """How one kind of object's children are identified and its values compared.

    ``keys`` maps ``(parent tag, child tag)`` to a function returning the
    child's identity (children without a rule match by position among siblings
    of the same tag); ``normalise`` maps ``(tag, attribute)`` to a function
    bringing a value to canonical form (``52:54:00:AA`` → ``52:54:00:aa``).
    """

    def __init__(self, keys=None, normalise=None):
        self.keys = keys or {}
        self.normalise = normalise or {}

    def key(self, elem, parent):
        rule = self.keys.get((parent.tag, elem.tag))
        return rule(elem) if rule else None

    def value(self, tag, attr, value):
        rule = self.normalise.get((tag, attr))
        if rule is None or value is None:
            return value
        try:
            return rule(value)
        except (ValueError, TypeError):
            # Unreadable input is compared verbatim rather than failing the comparison.
            return value


def sub(parent, tag, text=None, **attrs):
    """SubElement with None-valued attributes left out and values stringified (``class_`` → ``class``)."""
    elem = etree.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        elem.text = str(text)
    return elem


def own(elem, *tags):
    existing = elem.get(OWNS, "").split()
    elem.set(OWNS, " ".join(existing + [t for t in tags if t not in existing]))
    return elem


def absent(parent, tag, **attrs):
    elem = sub(parent, tag, **attrs)
    elem.set(ABSENT, "1")
    return elem


def exact(elem):
    elem.set(EXACT, "1")
    return elem


def _is_element(node):
    return isinstance(node.tag, str)


def _attrs(elem, rules):
    return {k: rules.value(elem.tag, k, v) for k, v in elem.attrib.items() if k not in MARKERS}


def canonical(elem, rules):
    """Order-independent form of an element for :data:`EXACT` comparison."""
    children = sorted(repr(canonical(c, rules)) for c in elem if _is_element(c) and not c.get(ABSENT))
    return (elem.tag, tuple(sorted(_attrs(elem, rules).items())), (elem.text or "").strip(), tuple(children))


def _path(parent_path, elem, parent, rules):
    key = rules.key(elem, parent)
    return f"{parent_path}/{elem.tag}[{key}]" if key not in (None, "") else f"{parent_path}/{elem.tag}"


def match_children(desired, current, rules):
    """Pairs (desired child, current child or None) plus the current children left unmatched."""
    current_children = [c for c in current if _is_element(c)]
    used = set()
    pairs = []
    for child in desired:
        if not _is_element(child):
            continue
        key = rules.key(child, desired)
        found = None
        if key is not None:
            found = next(
                (
                    c
                    for c in current_children
                    if id(c) not in used and c.tag == child.tag and rules.key(c, current) == key
                ),
                None,
            )
        if found is not None:
            used.add(id(found))
        pairs.append([child, found, key is None])
    for pair in pairs:
        child, found, positional = pair
        if found is not None or not positional:
            continue
        found = next((c for c in current_children if id(c) not in used and c.tag == child.tag), None)
        if found is not None:
            used.add(id(found))
            pair[1] = found
    unmatched = [c for c in current_children if id(c) not in used]
    return [(child, found) for child, found, _positional in pairs], unmatched


def _show(elem):
    """One line of XML for a message: the element as it is, without markers or layout."""
    shown = clean_copy(elem)
    for node in shown.iter():
        if _is_element(node):
            node.tail = None
            if node.text is not None and not node.text.strip():
                node.text = None
    return etree.tostring(shown, encoding="unicode")


def differences(desired, current, rules, path=""):
    """Human-readable places where ``current`` does not contain ``desired``; [] means converged."""
    path = path or desired.tag
    if desired.get(EXACT):
        if canonical(desired, rules) != canonical(current, rules):
            return [f"{path}: {_show(current)} -> {_show(desired)}"]
        return []
    found = []
    for attr, value in desired.attrib.items():
        if attr in MARKERS:
            continue
        have = current.get(attr)
        if rules.value(desired.tag, attr, value) != rules.value(desired.tag, attr, have):
            found.append(f"{path}@{attr}: {have!r} -> {value!r}")
    text = (desired.text or "").strip()
    if text and rules.value(desired.tag, "#text", text) != rules.value(
        desired.tag, "#text", (current.text or "").strip()
    ):
        found.append(f"{path}: {(current.text or '').strip()!r} -> {text!r}")
    pairs, unmatched = match_children(desired, current, rules)
    for child, match in pairs:
        child_path = _path(path, child, desired, rules)
        if child.get(ABSENT):
            if match is not None:
                found.append(f"{child_path}: present, to be removed")
        elif match is None:
            found.append(f"{child_path}: missing, to be added")
        else:
            found.extend(differences(child, match, rules, child_path))
    owned = set(desired.get(OWNS, "").split())
    for extra in unmatched:
        if extra.tag in owned:
            found.append(f"{_path(path, extra, current, rules)}: not wanted, to be removed")
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
        for attr in MARKERS:
            node.attrib.pop(attr, None)
    etree.cleanup_namespaces(result)
    return result


def _insert(parent, child):
    """Add ``child`` after the last sibling with its tag (libvirt groups them), else at the end."""
    same = [c for c in parent if _is_element(c) and c.tag == child.tag]
    if same:
        same[-1].addnext(child)
    else:
        parent.append(child)


def _apply(desired, target, rules):
    for attr, value in desired.attrib.items():
        if attr not in MARKERS and rules.value(desired.tag, attr, value) != rules.value(
            desired.tag, attr, target.get(attr)
        ):
            target.set(attr, value)
    text = (desired.text or "").strip()
    if text and rules.value(desired.tag, "#text", text) != rules.value(
        desired.tag, "#text", (target.text or "").strip()
    ):
        target.text = desired.text
    pairs, unmatched = match_children(desired, target, rules)
    for child, match in pairs:
        if child.get(ABSENT):
            if match is not None:
                target.remove(match)
        elif match is None:
            _insert(target, clean_copy(child))
        elif child.get(EXACT):
            if canonical(child, rules) != canonical(match, rules):
                match.addnext(clean_copy(child))
                target.remove(match)
        else:
            _apply(child, match, rules)
    owned = set(desired.get(OWNS, "").split())
    for extra in unmatched:
        if extra.tag in owned:
            target.remove(extra)


def merge(desired, current, rules):
    """libvirt's definition (``current``) with the desired values applied; neither input changes."""
    result = copy.deepcopy(current)
    _apply(desired, result, rules)
    etree.cleanup_namespaces(result)
    return result


def render(elem):
    """Stable, readable XML for diffs."""
    shown = clean_copy(elem)
    for node in shown.iter():
        if _is_element(node):
            node.tail = None
            if node.text is not None and not node.text.strip() and len(node):
                node.text = None
    etree.indent(shown, space="  ")
    return etree.tostring(shown, encoding="unicode") + "\n"


def to_xml(elem):
    """What libvirt gets: markers removed."""
    return etree.tostring(clean_copy(elem), encoding="unicode")


def parse(xml_text):
    """libvirt's XML text → element; whitespace-only text nodes dropped so comparisons ignore layout."""
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.fromstring(xml_text.encode() if isinstance(xml_text, str) else xml_text, parser)
