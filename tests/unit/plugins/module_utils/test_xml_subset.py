# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The generic subset comparison: containment, owned sets, absent and exact elements, merge."""

from __future__ import annotations

from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils import _xml_subset as xs

RULES = xs.Rules(keys={("set", "item"): lambda e: e.get("id")}, normalise={("mac", "address"): str.lower})

CURRENT = """<root>
  <uuid>filled-in</uuid>
  <mac address='52:54:00:AA:00:01'/>
  <set>
    <item id='1' extra='kept'/>
    <item id='2'/>
  </set>
  <old/>
  <whole a='1' b='2'><child/></whole>
</root>"""


def desired_tree():
    root = etree.Element("root")
    xs.sub(root, "mac", address="52:54:00:aa:00:01")
    items = xs.own(etree.SubElement(root, "set"), "item")
    xs.sub(items, "item", id="1")
    xs.sub(items, "item", id="3")
    xs.absent(root, "old")
    xs.exact(xs.sub(root, "whole", a="1"))
    return root


def test_differences_lists_each_managed_place():
    assert xs.differences(desired_tree(), xs.parse(CURRENT), RULES) == [
        "root/set/item[3]: missing, to be added",
        "root/set/item[2]: not wanted, to be removed",
        "root/old: present, to be removed",
        'root/whole: <whole a="1" b="2"><child/></whole> -> <whole a="1"/>',
    ]


def test_merge_keeps_what_is_not_managed_and_converges():
    merged = xs.merge(desired_tree(), xs.parse(CURRENT), RULES)
    assert merged.findtext("uuid") == "filled-in"
    assert [(i.get("id"), i.get("extra")) for i in merged.iterfind("set/item")] == [("1", "kept"), ("3", None)]
    assert merged.find("old") is None
    assert dict(merged.find("whole").attrib) == {"a": "1"} and not len(merged.find("whole"))
    assert xs.differences(desired_tree(), merged, RULES) == []


def test_normalised_attributes_compare_equal():
    root = etree.Element("root")
    xs.sub(root, "mac", address="52:54:00:AA:00:01")
    assert xs.differences(root, xs.parse(CURRENT), RULES) == []


def test_exact_ignores_child_order_and_layout():
    desired = xs.exact(etree.fromstring("<vlan trunk='yes'><tag id='2'/><tag id='1'/></vlan>"))
    current = xs.parse("<vlan trunk='yes'>\n  <tag id='1'/>\n  <tag id='2'/>\n</vlan>")
    assert xs.differences(desired, current, RULES) == []


def test_markers_never_reach_libvirt():
    text = xs.to_xml(desired_tree())
    assert xs.MARK_NS not in text
    assert "<old" not in text
    assert xs.MARK_NS not in xs.render(desired_tree())
