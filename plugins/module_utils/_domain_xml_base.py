# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared pieces of the domain XML builders: markers, element helpers, sizes and CPU sets.

The desired tree carries internal markers in :data:`MARK_NS` (stripped before
anything reaches libvirt); ``_domain_compare.py`` reads them:

* ``mark:owns="disk interface"`` on a parent: the spec manages the complete
  set of those children, so a current child it does not list is removed;
* ``mark:absent="1"`` on an element: that element must not exist;
* ``mark:absent-attrs="a b"`` on an element: those attributes must not exist.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import SpecError, canonical_cpuset
from ansible_collections.kvmops.kvm.plugins.module_utils._units import SizeError, parse_size_kib

try:
    from lxml import etree
except ImportError:  # the module reports missing_required_lib
    etree = None

MANAGED_NS = "https://kvmops.example/xmlns/domain/1"
MARK_NS = "https://kvmops.example/xmlns/compare"
OWNS = f"{{{MARK_NS}}}owns"
ABSENT = f"{{{MARK_NS}}}absent"
ABSENT_ATTRS = f"{{{MARK_NS}}}absent-attrs"


def _yes(value):
    return "yes" if value else "no"


def _on(value):
    return "on" if value else "off"


def sub(parent, tag, text=None, **attrs):
    """SubElement with None-valued attributes left out and values stringified."""
    elem = etree.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        elem.text = str(text)
    return elem


def own(elem, *tags):
    existing = elem.get(OWNS, "").split()
    elem.set(OWNS, " ".join(existing + [t for t in tags if t not in existing]))


def absent(parent, tag, **attrs):
    elem = sub(parent, tag, **attrs)
    elem.set(ABSENT, "1")
    return elem


def drop_attrs(elem, *attrs):
    elem.set(ABSENT_ATTRS, " ".join(attrs))


def cpuset(text, what):
    """Canonical CPU/node set, with errors naming the option."""
    try:
        return canonical_cpuset(text)
    except SpecError as exc:
        raise SpecError(f"{what}: {exc}") from exc


def flag(parent, tag, value):
    """A presence flag such as <readonly/>: True adds it, False requires it gone, None leaves it alone."""
    if value is True:
        sub(parent, tag)
    elif value is False:
        absent(parent, tag)


def kib(value, what):
    try:
        size = parse_size_kib(value)
    except SizeError as exc:
        raise SpecError(f"{what}: {exc}") from exc
    if size <= 0:
        raise SpecError(f"{what}: size must be positive, got {value!r}")
    return size
