# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Desired tree against libvirt's view: normalisation, differences() and merge().

"libvirt's view" is ``fixtures/domain_libvirt/<case>.xml``: what libvirt 9.0
(QEMU 7.2, TCG) stored for each golden spec of ``fixtures/domain_golden/specs.yml``
(``virsh dumpxml --inactive --security-info``), and ``<case>.live.xml`` for a
started one; ``fixtures/domain_libvirt/regenerate.py`` made them. These tests
only read those files.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_compare import (
    MASK,
    Context,
    attr_equal,
    differences,
    merge,
    normalize_units,
    render,
    to_xml,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_manager import machine_aliases, prepare
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import DOMAIN_OPTIONS
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml import build_desired

FIXTURES = Path(__file__).parent / "fixtures"
SPECS = yaml.safe_load((FIXTURES / "domain_golden" / "specs.yml").read_text())
# The same host's capabilities: pc → pc-i440fx-7.2, q35 → pc-q35-7.2.
ALIASES = machine_aliases((FIXTURES / "caps_1node_debian12_tcg.xml").read_text(), "x86_64")
CTX = Context(ALIASES)
PASSWORD = SPECS["uefi_secure_tpm"]["graphics"][0]["password"]


def validated(params):
    result = ArgumentSpecValidator(copy.deepcopy(DOMAIN_OPTIONS)).validate(copy.deepcopy(params))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def spec(case, **changes):
    params = copy.deepcopy(SPECS[case])
    params.update(changes)
    return params


def desired(case, **changes):
    """The desired tree exactly as libvirt_domain builds it (prepare() also normalises raw XML)."""
    return prepare(validated(spec(case, **changes)))


def libvirt_view(case, live=False):
    name = f"{case}.live.xml" if live else f"{case}.xml"
    return etree.fromstring((FIXTURES / "domain_libvirt" / name).read_bytes())


def xml(elem):
    return etree.tostring(elem, encoding="unicode")


def devices(root):
    """Every device as (tag, attributes), in order: what merge must keep."""
    return [(d.tag, dict(d.attrib)) for d in root.find("devices")]


def addresses(root):
    return [xml(a) for a in root.iter("address")]


def add(parent, text):
    parent.append(etree.fromstring(text))


# -- 2. an unchanged domain converges: no change on the second run or in check mode -----


@pytest.mark.parametrize("case", sorted(SPECS))
def test_golden_spec_against_libvirts_own_xml_has_no_differences(case):
    assert differences(desired(case), libvirt_view(case), CTX) == []


@pytest.mark.parametrize("case", sorted(SPECS))
def test_merge_of_an_unchanged_domain_is_libvirts_xml_unchanged(case):
    current = libvirt_view(case)
    before = xml(current)
    assert xml(merge(desired(case), current, CTX)) == before
    assert xml(current) == before, "merge must not touch its input"


# -- 1. values libvirt generates are kept ---------------------------------------------


class TestGeneratedValues:
    def test_nic_without_mac_keeps_the_generated_mac(self):
        current = libvirt_view("minimal")
        generated = current.find("devices/interface/mac").get("address")
        assert desired("minimal").find("devices/interface/mac") is None
        assert differences(desired("minimal"), current, CTX) == []
        merged = merge(desired("minimal", memory=1024), current, CTX)
        assert [m.get("address") for m in merged.iterfind("devices/interface/mac")] == [generated]

    def test_second_nic_without_mac_is_matched_by_position_after_the_one_with_a_mac(self):
        current = libvirt_view("ovs_vlan")
        macs = [m.get("address") for m in current.iterfind("devices/interface/mac")]
        merged = merge(desired("ovs_vlan", memory="2GiB"), current, CTX)
        assert [m.get("address") for m in merged.iterfind("devices/interface/mac")] == macs
        # The OVS port ids libvirt generated stay too.
        assert [p.get("interfaceid") for p in merged.iter("parameters")] == [
            p.get("interfaceid") for p in current.iter("parameters")
        ]

    def test_generated_uuid_is_kept(self):
        current = libvirt_view("minimal")
        merged = merge(desired("minimal", memory=1024), current, CTX)
        assert merged.findtext("uuid") == current.findtext("uuid")


# -- 3. a real change is reported and applied, nothing else moves ------------------------


class TestChanges:
    def test_memory_change_moves_current_memory_along(self):
        current = libvirt_view("minimal")
        changes = differences(desired("minimal", memory="1GiB"), current, CTX)
        assert changes == [
            "domain/memory: '524288' -> '1048576'",
            "domain/currentMemory: '524288' -> '1048576'",
        ]
        merged = merge(desired("minimal", memory="1GiB"), current, CTX)
        assert (merged.findtext("memory"), merged.findtext("currentMemory")) == ("1048576", "1048576")
        # Everything else is libvirt's XML as it was.
        merged.find("memory").text = merged.find("currentMemory").text = "524288"
        assert xml(merged) == xml(current)

    def test_memory_change_keeps_an_explicit_current_memory(self):
        changes = differences(desired("rbd", memory="3GiB"), libvirt_view("rbd"), CTX)
        assert changes == ["domain/memory: '2097152' -> '3145728'"]

    def test_disk_cache_mode(self):
        current = libvirt_view("minimal")
        params = spec("minimal")
        params["disks"][0]["cache"] = "none"
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/devices/disk[vda]/driver@cache: None -> 'none'"]
        merged = merge(want, current, CTX)
        assert merged.find("devices/disk/driver").attrib == {"name": "qemu", "type": "qcow2", "cache": "none"}
        assert addresses(merged) == addresses(current)
        assert devices(merged) == devices(current)

    def test_added_disk(self):
        current = libvirt_view("minimal")
        params = spec("minimal")
        params["disks"].append({"target": "vdb", "path": "/var/lib/kvmops-ut/minimal-vdb.qcow2", "bus": "virtio"})
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/devices/disk[vdb]: missing, to be added"]
        merged = merge(want, current, CTX)
        tags = [d.tag for d in merged.find("devices")]
        # Added after the last disk, before libvirt's controllers; libvirt gives it an address.
        assert tags[:4] == ["emulator", "disk", "disk", "controller"]
        vdb = merged.findall("devices/disk")[1]
        assert xml(vdb) == (
            '<disk type="file" device="disk"><source file="/var/lib/kvmops-ut/minimal-vdb.qcow2"/>'
            '<target dev="vdb" bus="virtio"/></disk>'
        )
        assert addresses(merged) == addresses(current)

    def test_removed_disk_because_disks_is_an_owned_set(self):
        current = libvirt_view("rbd")
        params = spec("rbd")
        del params["disks"][1]
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/devices/disk[sdb]: not in the spec, to be removed"]
        merged = merge(want, current, CTX)
        assert [d.find("target").get("dev") for d in merged.iterfind("devices/disk")] == ["vda"]
        # The SATA controller libvirt added for the CD-ROM is not the spec's business.
        assert [c.get("type") for c in merged.iterfind("devices/controller")] == ["usb", "pci", "sata"]

    def test_disk_moved_off_virtio_loses_its_pci_address(self):
        current = libvirt_view("minimal")
        params = spec("minimal")
        params["disks"][0]["bus"] = "sata"
        merged = merge(prepare(validated(params)), current, CTX)
        assert merged.find("devices/disk/target").get("bus") == "sata"
        assert merged.find("devices/disk/address") is None
        assert merged.find("devices/interface/address") is not None

    def test_disk_path_change_replaces_the_whole_source(self):
        current = libvirt_view("rbd")
        params = spec("rbd")
        params["disks"][0] = {"target": "vda", "bus": "virtio", "path": "/var/lib/kvmops-ut/rbd-vda.raw"}
        merged = merge(prepare(validated(params)), current, CTX)
        vda = merged.find("devices/disk")
        assert xml(vda.find("source")) == '<source file="/var/lib/kvmops-ut/rbd-vda.raw"/>'
        assert vda.get("type") == "file"

    def test_vcpu_count_change(self):
        changes = differences(desired("minimal", vcpus=2), libvirt_view("minimal"), CTX)
        assert changes == ["domain/vcpu: '1' -> '2'"]

    def test_vcpus_raised_to_max_vcpus_drops_the_lower_current_count(self):
        # rbd was defined with vcpus 2 / max_vcpus 4: libvirt stores <vcpu current='2'>4</vcpu>.
        current = libvirt_view("rbd")
        want = desired("rbd", vcpus=4)
        assert differences(want, current, CTX) != [], "vcpus 4 must not count as converged while current='2'"
        assert merge(want, current, CTX).find("vcpu").get("current") in (None, "4")

    def test_boot_order_on_a_domain_with_libvirts_default_os_boot(self):
        # libvirt adds <os><boot dev='hd'/> to a domain defined without any boot setting
        # and refuses per-device boot orders next to it.
        current = libvirt_view("minimal")
        params = spec("minimal")
        params["disks"][0]["boot_order"] = 1
        merged = merge(prepare(validated(params)), current, CTX)
        assert merged.find("devices/disk/boot").get("order") == "1"
        assert merged.find("os/boot") is None


# -- 4. machine type aliases ------------------------------------------------------------


class TestMachineAliases:
    def test_aliases_from_capabilities(self):
        assert ALIASES == {"pc": "pc-i440fx-7.2", "q35": "pc-q35-7.2"}

    @pytest.mark.parametrize(
        ("current", "equal"),
        [("pc-i440fx-7.2", True), ("pc-i440fx-8.0", True), ("pc", True), ("pc-q35-7.2", False), ("q35", False)],
    )
    def test_pc_alias(self, current, equal):
        assert Context({"pc": "pc-i440fx-7.2"}).machine_equal("pc", current) is equal

    def test_without_aliases_only_the_same_name_matches(self):
        assert Context().machine_equal("pc-q35-7.2", "pc-q35-7.2")
        assert not Context().machine_equal("pc", "pc-i440fx-7.2")

    def test_alias_in_the_spec_matches_libvirts_canonical_name(self):
        want = desired("minimal", machine="pc")
        assert differences(want, libvirt_view("minimal"), CTX) == []
        assert differences(want, libvirt_view("minimal"), Context()) == [
            "domain/os/type@machine: 'pc-i440fx-7.2' -> 'pc'"
        ]

    def test_an_older_version_of_the_family_is_kept_after_a_qemu_upgrade(self):
        current = libvirt_view("minimal")
        current.find("os/type").set("machine", "pc-i440fx-6.2")
        want = desired("minimal", machine="pc")
        assert differences(want, current, CTX) == []
        assert merge(want, current, CTX).find("os/type").get("machine") == "pc-i440fx-6.2"

    def test_another_family_is_a_change(self):
        current = libvirt_view("minimal")
        current.find("os/type").set("machine", "pc-q35-7.2")
        want = desired("minimal", machine="pc")
        assert differences(want, current, CTX) == ["domain/os/type@machine: 'pc-q35-7.2' -> 'pc'"]
        assert merge(want, current, CTX).find("os/type").get("machine") == "pc"

    def test_downstream_versioned_names_match_their_family(self):
        # RHEL's QEMU names its versions pc-q35-rhel9.4.0 etc.; a QEMU update there must not
        # change the machine type of existing domains either.
        ctx = Context({"q35": "pc-q35-rhel9.4.0", "pc": "pc-i440fx-rhel7.6.0"})
        assert ctx.machine_equal("q35", "pc-q35-rhel9.2.0")
        assert not ctx.machine_equal("q35", "pc-i440fx-rhel7.6.0")


# -- 5. different spellings of the same value --------------------------------------------


class TestSpellings:
    @pytest.mark.parametrize(
        ("attr", "want", "have", "equal"),
        [
            ("cpuset", "0-3", "0,1,2,3", True),
            ("cpuset", "0-3", "3,2,1,0", True),
            ("cpuset", "0-1,3", "0-3,^2", True),
            ("nodeset", "0-1", "0,1", True),
            ("cpus", "2-3", "2,3", True),
            ("cpuset", "0-3", "0-2", False),
        ],
    )
    def test_cpusets(self, attr, want, have, equal):
        assert attr_equal("vcpupin", attr, want, have, CTX) is equal

    def test_cpusets_spelled_out_in_libvirts_xml(self):
        current = libvirt_view("numa_hugepages")
        current.find("vcpu").set("cpuset", "1,0")
        current.find("cputune/emulatorpin").set("cpuset", "0,1")
        current.find("numatune/memnode").set("nodeset", "0-0")
        current.findall("cpu/numa/cell")[1].set("cpus", "2,3")
        assert differences(desired("numa_hugepages"), current, CTX) == []

    def test_mac_case(self):
        current = libvirt_view("ovs_vlan")
        # The spec writes 52:54:00:AB:CD:01; libvirt stores lower case...
        assert differences(desired("ovs_vlan"), current, CTX) == []
        # ...and an upper-case MAC in the XML matches the lower-case desired one.
        current.find("devices/interface/mac").set("address", "52:54:00:AB:CD:01")
        assert differences(desired("ovs_vlan"), current, CTX) == []
        assert attr_equal("mac", "address", "52:54:00:ab:cd:01", "52:54:00:AB:CD:01", CTX)

    def test_uuid_case(self):
        current = libvirt_view("uefi_secure_tpm")
        current.find("uuid").text = current.findtext("uuid").upper()
        assert differences(desired("uefi_secure_tpm"), current, CTX) == []
        assert merge(desired("uefi_secure_tpm"), current, CTX).findtext("uuid") == current.findtext("uuid")


# -- 6. devices the spec does not manage ------------------------------------------------


class TestUnmanagedDevices:
    def test_libvirts_devices_are_kept_by_merge(self):
        current = libvirt_view("uefi_secure_tpm")
        merged = merge(desired("uefi_secure_tpm", memory="4GiB"), current, CTX)
        assert devices(merged) == devices(current)
        assert addresses(merged) == addresses(current)
        for path in ("devices/video/model", "devices/input", "devices/console", "devices/audio"):
            assert xml(merged.find(path)) == xml(current.find(path))

    def test_serials_not_in_the_spec_are_ignored_when_serials_is_unset(self):
        current = libvirt_view("minimal")
        add(current.find("devices"), "<serial type='pty'><target type='isa-serial' port='0'/></serial>")
        add(current.find("devices"), "<serial type='file'><source path='/tmp/s1'/><target port='1'/></serial>")
        assert differences(desired("minimal"), current, CTX) == []
        merged = merge(desired("minimal", memory=1024), current, CTX)
        assert [s.get("type") for s in merged.iterfind("devices/serial")] == ["pty", "file"]

    def test_owned_serials_drop_a_second_port(self):
        current = libvirt_view("uefi_secure_tpm")
        add(current.find("devices"), "<serial type='pty'><target type='isa-serial' port='1'/></serial>")
        assert differences(desired("uefi_secure_tpm"), current, CTX) == [
            "domain/devices/serial: not in the spec, to be removed"
        ]
        merged = merge(desired("uefi_secure_tpm"), current, CTX)
        assert [s.find("target").get("port") for s in merged.iterfind("devices/serial")] == ["0"]
        assert merged.find("devices/console") is not None

    def test_graphics_are_kept_when_the_spec_has_none(self):
        current = libvirt_view("minimal")
        add(current.find("devices"), "<graphics type='spice' autoport='yes'/>")
        assert differences(desired("minimal"), current, CTX) == []


# -- 7. owned sets ------------------------------------------------------------------------


class TestOwnedSets:
    def test_vcpupin_removed_from_the_spec(self):
        current = libvirt_view("numa_hugepages")
        params = spec("numa_hugepages")
        del params["cputune"]["vcpupin"][3]
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/cputune/vcpupin[3]: not in the spec, to be removed"]
        tune = merge(want, current, CTX).find("cputune")
        assert [(e.tag, e.get("vcpu")) for e in tune] == [
            ("vcpupin", "0"),
            ("vcpupin", "1"),
            ("vcpupin", "2"),
            ("emulatorpin", None),
        ]

    def test_vcpupin_moved(self):
        params = spec("numa_hugepages")
        params["cputune"]["vcpupin"][2]["cpuset"] = "1"
        want = prepare(validated(params))
        assert differences(want, libvirt_view("numa_hugepages"), CTX) == [
            "domain/cputune/vcpupin[2]@cpuset: '0' -> '1'"
        ]

    def test_hugepage_size_changed(self):
        current = libvirt_view("numa_hugepages")
        params = spec("numa_hugepages")
        params["memory_backing"]["hugepages"][1]["size"] = "2MiB"
        want = prepare(validated(params))
        assert differences(want, current, CTX) == [
            "domain/memoryBacking/hugepages/page[(2048, '1')]: missing, to be added",
            "domain/memoryBacking/hugepages/page[(1048576, '1')]: not in the spec, to be removed",
        ]
        pages = merge(want, current, CTX).iterfind("memoryBacking/hugepages/page")
        assert [(p.get("size"), p.get("nodeset")) for p in pages] == [("2048", "0"), ("2048", "1")]

    def test_hugepage_removed(self):
        params = spec("numa_hugepages")
        del params["memory_backing"]["hugepages"][1]
        want = prepare(validated(params))
        assert differences(want, libvirt_view("numa_hugepages"), CTX) == [
            "domain/memoryBacking/hugepages/page[(1048576, '1')]: not in the spec, to be removed"
        ]

    def test_access_vlan_changed(self):
        current = libvirt_view("ovs_vlan")
        params = spec("ovs_vlan")
        params["interfaces"][0]["vlan"] = 200
        want = prepare(validated(params))
        assert differences(want, current, CTX) == [
            "domain/devices/interface[52:54:00:ab:cd:01]/vlan/tag[200]: missing, to be added",
            "domain/devices/interface[52:54:00:ab:cd:01]/vlan/tag[100]: not in the spec, to be removed",
        ]
        merged = merge(want, current, CTX)
        assert [t.get("id") for t in merged.find("devices/interface/vlan")] == ["200"]

    def test_trunk_tag_removed(self):
        current = libvirt_view("ovs_vlan")
        params = spec("ovs_vlan")
        params["interfaces"][1]["trunk"] = [10, 20]
        want = prepare(validated(params))
        assert differences(want, current, CTX) == [
            "domain/devices/interface/vlan/tag[30]: not in the spec, to be removed"
        ]
        trunk = merge(want, current, CTX).findall("devices/interface")[1].find("vlan")
        assert trunk.get("trunk") == "yes"
        assert [(t.get("id"), t.get("nativeMode")) for t in trunk] == [("10", "untagged"), ("20", None)]

    def test_trunk_turned_into_an_access_port(self):
        current = libvirt_view("ovs_vlan")
        params = spec("ovs_vlan")
        params["interfaces"][1] = {"bridge": "kvmops-ut-br", "openvswitch": True, "vlan": 10}
        want = prepare(validated(params))
        vlan = merge(want, current, CTX).findall("devices/interface")[1].find("vlan")
        assert [t.get("id") for t in vlan] == ["10"]
        assert vlan.get("trunk") is None, "an access port must not stay a trunk"
        assert vlan.find("tag").get("nativeMode") is None

    def test_native_vlan_removed_from_a_trunk(self):
        current = libvirt_view("ovs_vlan")
        params = spec("ovs_vlan")
        del params["interfaces"][1]["native_vlan"]
        want = prepare(validated(params))
        assert differences(want, current, CTX) != [], "VLAN 10 must no longer leave the port untagged"
        vlan = merge(want, current, CTX).findall("devices/interface")[1].find("vlan")
        assert [t.get("nativeMode") for t in vlan] == [None, None, None]

    def test_nic_moved_from_ovs_to_a_linux_bridge(self):
        current = libvirt_view("ovs_vlan")
        params = spec("ovs_vlan")
        params["interfaces"][0] = {"bridge": "br-lan", "mac": "52:54:00:ab:cd:01"}
        want = prepare(validated(params))
        assert differences(want, current, CTX) != []
        nic = merge(want, current, CTX).find("devices/interface")
        assert nic.find("source").attrib == {"bridge": "br-lan"}
        # openvswitch defaults to false, and a Linux bridge port can carry neither of these.
        assert nic.find("virtualport") is None
        assert nic.find("vlan") is None

    def test_cpu_features_are_an_owned_set_in_the_definition(self):
        current = libvirt_view("live_host_model")
        params = spec("live_host_model")
        params["cpu"]["features"] = []
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/cpu/feature[svm]: not in the spec, to be removed"]
        assert merge(want, current, CTX).find("cpu/feature") is None

    def test_numa_cell_removed(self):
        params = spec(
            "numa_hugepages",
            numa_cells=[{"id": 0, "cpus": "0-3", "memory": "4GiB"}],
            numatune={"nodeset": "0", "memnodes": [{"cellid": 0, "nodeset": "0"}]},
            memory_backing={"hugepages": [{"size": "2MiB"}], "locked": True},
        )
        changes = differences(prepare(validated(params)), libvirt_view("numa_hugepages"), CTX)
        assert "domain/cpu/numa/cell[1]: not in the spec, to be removed" in changes
        assert "domain/numatune/memnode[1]: not in the spec, to be removed" in changes


# -- 8. absent markers --------------------------------------------------------------------


class TestAbsentMarkers:
    def test_feature_false_removes_it(self):
        current = libvirt_view("uefi_secure_tpm")
        add(current.find("features"), "<vmport state='off'/>")
        assert differences(desired("uefi_secure_tpm"), current, CTX) == [
            "domain/features/vmport: present, to be removed"
        ]
        features = merge(desired("uefi_secure_tpm"), current, CTX).find("features")
        assert [f.tag for f in features] == ["acpi", "apic", "smm"]

    def test_guest_agent_false_removes_the_channel(self):
        current = libvirt_view("uefi_secure_tpm")
        want = desired("uefi_secure_tpm", guest_agent=False)
        assert differences(want, current, CTX) == [
            "domain/devices/channel[org.qemu.guest_agent.0]: present, to be removed"
        ]
        merged = merge(want, current, CTX)
        assert merged.find("devices/channel") is None
        assert merged.find("devices/controller[@type='virtio-serial']") is not None

    def test_guest_agent_false_on_a_domain_without_it(self):
        assert differences(desired("minimal", guest_agent=False), libvirt_view("minimal"), CTX) == []

    def test_guest_agent_true_adds_the_channel(self):
        current = libvirt_view("minimal")
        want = desired("minimal", guest_agent=True)
        assert differences(want, current, CTX) == [
            "domain/devices/channel[org.qemu.guest_agent.0]: missing, to be added"
        ]
        channel = merge(want, current, CTX).find("devices/channel")
        assert xml(channel) == '<channel type="unix"><target type="virtio" name="org.qemu.guest_agent.0"/></channel>'

    def test_readonly_false_makes_the_disk_writable(self):
        current = libvirt_view("rbd")
        params = spec("rbd")
        params["disks"][1]["readonly"] = False
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/devices/disk[sdb]/readonly: present, to be removed"]
        assert merge(want, current, CTX).find("devices/disk[2]/readonly") is None

    def test_readonly_unset_keeps_it(self):
        params = spec("rbd")
        del params["disks"][1]["readonly"]
        assert differences(prepare(validated(params)), libvirt_view("rbd"), CTX) == []

    def test_locked_false_unlocks_memory(self):
        current = libvirt_view("numa_hugepages")
        params = spec("numa_hugepages")
        params["memory_backing"]["locked"] = False
        want = prepare(validated(params))
        assert differences(want, current, CTX) == ["domain/memoryBacking/locked: present, to be removed"]
        assert merge(want, current, CTX).find("memoryBacking/locked") is None

    def test_absent_marked_elements_never_reach_libvirt(self):
        want = desired("uefi_secure_tpm", guest_agent=False)
        assert "vmport" not in to_xml(want)
        assert "channel" not in to_xml(want)


# -- 9. passwords -----------------------------------------------------------------------


class TestPasswords:
    def test_render_masks_the_password_and_leaves_its_input_alone(self):
        current = libvirt_view("uefi_secure_tpm")
        shown = render(current)
        assert PASSWORD not in shown
        assert f'passwd="{MASK}"' in shown
        assert current.find("devices/graphics").get("passwd") == PASSWORD

    def test_render_of_a_new_domain_masks_it(self):
        shown = render(etree.fromstring(to_xml(desired("uefi_secure_tpm"))))
        assert PASSWORD not in shown
        assert MASK in shown

    def test_changed_password_is_reported_without_either_password(self):
        current = libvirt_view("uefi_secure_tpm")
        params = spec("uefi_secure_tpm")
        params["graphics"][0]["password"] = "N3w-pass"
        want = prepare(validated(params))
        changes = differences(want, current, CTX)
        assert changes == [f"domain/devices/graphics[vnc]@passwd: '{MASK}' -> '{MASK}'"]
        merged = merge(want, current, CTX)
        assert merged.find("devices/graphics").get("passwd") == "N3w-pass"
        assert "N3w-pass" not in render(merged)

    def test_new_password_is_reported_masked(self):
        current = libvirt_view("uefi_secure_tpm")
        del current.find("devices/graphics").attrib["passwd"]
        changes = differences(desired("uefi_secure_tpm"), current, CTX)
        assert changes == [f"domain/devices/graphics[vnc]@passwd: None -> '{MASK}'"]

    def test_unchanged_password_is_not_reported(self):
        assert differences(desired("uefi_secure_tpm"), libvirt_view("uefi_secure_tpm"), CTX) == []


# -- 10. raw XML mode --------------------------------------------------------------------


class TestRawXml:
    def test_units_are_normalised_to_libvirts_kib(self):
        tree = desired("raw_xml")
        assert (tree.findtext("memory"), tree.find("memory").get("unit")) == ("786432", "KiB")
        assert tree.findtext("currentMemory") == "524288"
        assert tree.find("cpu/numa/cell").attrib["memory"] == "786432"
        assert tree.find("memoryBacking/hugepages/page").attrib == {"size": "2048", "unit": "KiB"}

    def test_normalised_raw_xml_equals_libvirts_output(self):
        assert differences(desired("raw_xml"), libvirt_view("raw_xml"), CTX) == []

    def test_without_normalisation_it_would_differ(self):
        raw = build_desired(validated(spec("raw_xml")))
        assert "domain/memory@unit: 'KiB' -> 'MiB'" in differences(raw, libvirt_view("raw_xml"), CTX)

    @pytest.mark.parametrize(
        ("value", "unit", "kib"),
        [
            ("768", "MiB", "786432"),
            ("768", "M", "786432"),
            ("786432", "KiB", "786432"),
            ("786432", "k", "786432"),
            ("786432", None, "786432"),
            ("1", "G", "1048576"),
            ("1", "GiB", "1048576"),
            ("768", "MB", "750000"),
            ("805306368", "b", "786432"),
            ("805306368", "bytes", "786432"),
        ],
    )
    def test_normalize_units(self, value, unit, kib):
        root = etree.fromstring("<domain><memory/></domain>")
        root.find("memory").text = value
        if unit:
            root.find("memory").set("unit", unit)
        normalize_units(root)
        assert (root.findtext("memory"), root.find("memory").get("unit")) == (kib, "KiB")

    def test_raw_xml_owns_the_device_classes_it_lists(self):
        current = libvirt_view("raw_xml")
        add(
            current.find("devices"),
            "<disk type='file' device='disk'><source file='/x.qcow2'/><target dev='vdb' bus='virtio'/></disk>",
        )
        assert differences(desired("raw_xml"), current, CTX) == [
            "domain/devices/disk[vdb]: not in the spec, to be removed"
        ]
        # The serial port libvirt added for the console is not a class the XML lists.
        merged = merge(desired("raw_xml"), current, CTX)
        assert merged.find("devices/serial") is not None


# -- 11. live XML of a running domain ---------------------------------------------------------


class TestLive:
    def test_expanded_host_model_cpu_is_not_pending(self):
        live = libvirt_view("live_host_model", live=True)
        assert live.find("cpu").get("mode") == "custom"
        assert len(live.findall("cpu/feature")) > 1
        assert differences(desired("live_host_model"), live, Context(ALIASES, live=True)) == []

    def test_the_same_xml_outside_the_live_context_differs(self):
        live = libvirt_view("live_host_model", live=True)
        changes = differences(desired("live_host_model"), live, CTX)
        assert "domain/cpu@mode: 'custom' -> 'host-model'" in changes
        assert any("not in the spec, to be removed" in c and "cpu/feature" in c for c in changes)

    def test_a_real_change_is_still_pending(self):
        live = libvirt_view("live_host_model", live=True)
        changes = differences(desired("live_host_model", memory=512), live, Context(ALIASES, live=True))
        assert changes == [
            "domain/memory: '262144' -> '524288'",
            "domain/currentMemory: '262144' -> '524288'",
        ]

    def test_a_removed_feature_of_the_spec_is_still_pending(self):
        live = libvirt_view("live_host_model", live=True)
        params = spec("live_host_model")
        params["cpu"]["features"] = [{"name": "svm", "policy": "require"}]
        changes = differences(prepare(validated(params)), live, Context(ALIASES, live=True))
        assert changes == ["domain/cpu/feature[svm]@policy: 'disable' -> 'require'"]
