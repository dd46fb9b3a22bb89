# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Validated spec → desired domain XML: golden files, internal markers and every SpecError.

The golden specs live in ``fixtures/domain_golden/specs.yml``; ``<case>.xml``
beside them is ``to_xml(build_desired(spec))`` pretty-printed, reviewed by
hand. After an intended change of the builder, rewrite them with
``KVMOPS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit -k golden`` (the run
fails on purpose) and review ``git diff`` before committing.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils import _domain_spec as spec_mod
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_compare import to_xml
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_manager import prepare
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import DOMAIN_OPTIONS, SpecError
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml import build_desired
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml_base import ABSENT, ABSENT_ATTRS, MARK_NS, OWNS
from ansible_collections.kvmops.kvm.plugins.module_utils._units import (
    SizeError,
    format_bytes,
    parse_size,
    parse_size_kib,
)

GOLDEN = Path(__file__).parent / "fixtures" / "domain_golden"
SPECS = yaml.safe_load((GOLDEN / "specs.yml").read_text())


def validated(params):
    """The params as libvirt_domain hands them on: checked and with defaults, like each item of ``domains``."""
    result = ArgumentSpecValidator(copy.deepcopy(DOMAIN_OPTIONS)).validate(copy.deepcopy(params))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def spec(case="minimal", **changes):
    params = copy.deepcopy(SPECS[case])
    params.update(changes)
    return params


def build(params):
    return build_desired(validated(params))


def pretty(xml):
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml.encode(), parser), pretty_print=True, encoding="unicode")


def nic(**item):
    return {"interfaces": [item]}


def disk(**item):
    return {"disks": [dict({"target": "vda", "path": "/var/lib/libvirt/images/t.qcow2"}, **item)]}


# -- golden files ---------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(SPECS))
def test_golden_xml(case):
    got = pretty(to_xml(build(SPECS[case])))
    path = GOLDEN / f"{case}.xml"
    if os.environ.get("KVMOPS_UPDATE_GOLDEN"):
        path.write_text(got)
        pytest.fail(f"rewrote {path.name}: review `git diff` and rerun without KVMOPS_UPDATE_GOLDEN")
    assert got == path.read_text()


@pytest.mark.parametrize("case", sorted(SPECS))
def test_to_xml_strips_every_marker(case):
    xml = to_xml(build(SPECS[case]))
    assert MARK_NS not in xml
    assert "absent" not in xml


# -- what the markers say (invisible in to_xml) ------------------------------------------


def marked(tree, attr):
    return {tree.getroottree().getpath(e): e.get(attr) for e in tree.iter() if e.get(attr) is not None}


def test_minimal_owns_disks_and_interfaces_only():
    assert marked(build(SPECS["minimal"]), OWNS) == {"/domain/devices": "disk interface"}
    # The spec manages each NIC whole: no VLAN asked means none may stay.
    assert marked(build(SPECS["minimal"]), ABSENT) == {"/domain/devices/interface/vlan": "1"}


def test_numa_case_owns_its_sets_and_requires_nosharepages_gone():
    tree = build(SPECS["numa_hugepages"])
    assert marked(tree, OWNS) == {
        "/domain/memoryBacking/hugepages": "page",
        "/domain/cputune": "vcpupin",
        "/domain/numatune": "memnode",
        "/domain/cpu/numa": "cell",
        "/domain/devices": "disk",
    }
    # locked: true adds <locked/>; nosharepages (default false) must not exist.
    assert marked(tree, ABSENT) == {"/domain/memoryBacking/nosharepages": "1"}
    assert tree.find("memoryBacking/locked") is not None


def test_ovs_case_owns_vlan_tags():
    owns = marked(build(SPECS["ovs_vlan"]), OWNS)
    assert owns["/domain/devices/interface[1]/vlan"] == "tag"
    assert owns["/domain/devices/interface[2]/vlan"] == "tag"
    assert owns["/domain/devices"] == "disk interface"


def test_uefi_case_marks_vmport_absent_and_owns_serials_and_graphics():
    tree = build(SPECS["uefi_secure_tpm"])
    assert marked(tree, ABSENT) == {"/domain/features/vmport": "1"}
    assert marked(tree, OWNS) == {"/domain/devices": "disk serial graphics"}


def test_rbd_case_owns_boot_order():
    assert marked(build(SPECS["rbd"]), OWNS)["/domain/os"] == "boot"


def test_guest_agent_false_marks_the_channel_absent():
    channel = build(spec(guest_agent=False)).find("devices/channel")
    assert channel.get(ABSENT) == "1"
    assert channel.find("target").get("name") == "org.qemu.guest_agent.0"
    assert build(spec()).find("devices/channel") is None


def test_readonly_and_shareable_false_are_absent_markers():
    tree = build(spec(**disk(readonly=False, shareable=True)))
    assert tree.find("devices/disk/readonly").get(ABSENT) == "1"
    assert tree.find("devices/disk/shareable").get(ABSENT) is None


# -- builder rules not visible in the golden cases ----------------------------------------


def test_current_memory_follows_memory_when_not_set():
    tree = build(spec(memory="3GiB"))
    assert tree.findtext("memory") == tree.findtext("currentMemory") == str(3 * 1024 * 1024)


def test_vcpu_current_only_when_below_max():
    assert build(spec(vcpus=2, max_vcpus=4)).find("vcpu").attrib == {"current": "2"}
    full = build(spec(vcpus=4, max_vcpus=4)).find("vcpu")
    # current= is left out and marked for removal, so an older lower count does not survive.
    assert full.get("current") is None
    assert full.get(ABSENT_ATTRS) == "current"


def test_feature_values():
    features = build(spec(features={"pae": True, "acpi": False, "pmu": "off", "kvm": {"hidden": True}})).find(
        "features"
    )
    assert [(f.tag, dict(f.attrib)) for f in features] == [
        ("acpi", {ABSENT: "1"}),
        ("apic", {}),
        ("kvm", {"hidden": "on"}),
        ("pae", {}),
        ("pmu", {"state": "off"}),
    ]


def test_secure_boot_keeps_an_explicit_smm_setting():
    params = spec("uefi_secure_tpm", features={"smm": "on"})
    assert build(params).find("features/smm").attrib == {"state": "on"}


def test_hostdev_pci_address_is_parsed():
    tree = build(spec(hostdevs=[{"address": "3B:00.1"}, {"address": "0001:af:1f.7", "managed": False}]))
    hostdevs = tree.findall("devices/hostdev")
    assert [h.get("managed") for h in hostdevs] == ["yes", "no"]
    assert dict(hostdevs[0].find("source/address").attrib) == {
        "domain": "0x0000",
        "bus": "0x3b",
        "slot": "0x00",
        "function": "0x1",
    }
    assert hostdevs[1].find("source/address").get("domain") == "0x0001"


def test_raw_xml_owns_each_device_class_it_lists_except_controllers():
    xml = (
        "<domain type='qemu'><name>t</name><devices><emulator>/usr/bin/qemu</emulator>"
        "<disk/><controller type='usb'/><interface/><disk/></devices></domain>"
    )
    tree = build({"xml": xml})
    assert tree.find("devices").get(OWNS) == "disk interface"
    assert tree.find("metadata") is not None


def test_prepare_normalises_raw_xml_units_and_reads_the_name():
    params = validated({"xml": SPECS["raw_xml"]["xml"]})
    tree = prepare(params)
    assert params["name"] == "kvmops-ut-rawxml"
    assert (tree.findtext("memory"), tree.find("memory").get("unit")) == ("786432", "KiB")


def test_prepare_builds_nothing_for_absent_or_state_only():
    assert prepare(validated({"name": "web1", "state": "absent", "memory": 1024})) is None
    assert prepare(validated({"name": "web1", "state": "running"})) is None


def test_wants_definition():
    assert not spec_mod.wants_definition(validated({"name": "web1", "state": "running"}))
    assert spec_mod.wants_definition(validated({"name": "web1", "memory": 512}))
    assert spec_mod.wants_definition({"xml": "<domain/>"})


# -- SpecError: every message names the option ------------------------------------------

SPEC_ERRORS = [
    pytest.param({"name": "bad name"}, r"^name 'bad name' is not a valid domain name", id="name-space"),
    pytest.param({"name": "-vm"}, r"^name '-vm' is not a valid", id="name-leading-dash"),
    pytest.param({"name": "v" * 64}, r"^name 'v{64}' is not a valid", id="name-too-long"),
    pytest.param({"memory": None}, r"^memory is required", id="memory-missing"),
    pytest.param({"memory": "4 GiBs"}, r"^memory: size '4 GiBs' has unknown unit 'GiBs'", id="memory-unit"),
    pytest.param({"memory": "1.5GiB"}, r"^memory: size '1.5GiB' is not a whole number", id="memory-fraction"),
    pytest.param({"memory": "1000B"}, r"^memory: size '1000B' is not a whole number of KiB", id="memory-not-kib"),
    pytest.param({"memory": 0}, r"^memory: size must be positive", id="memory-zero"),
    pytest.param({"current_memory": "1GiB"}, r"^current_memory \(1GiB\) is larger than memory \(512\)", id="balloon"),
    pytest.param({"uuid": "not-a-uuid"}, r"^uuid 'not-a-uuid' is not a UUID", id="uuid"),
    pytest.param(
        {"vcpus": 4, "max_vcpus": 2}, r"^vcpus \(4\) must be at least 1 and at most max_vcpus \(2\)", id="vcpus"
    ),
    # NUMA
    pytest.param(
        {
            "memory": "2GiB",
            "vcpus": 2,
            "numa_cells": [{"id": 0, "cpus": "0", "memory": "1GiB"}, {"id": 1, "cpus": "1", "memory": "512MiB"}],
        },
        r"^numa_cells: cell memory adds up to 1572864 KiB but memory is 2097152 KiB",
        id="numa-memory",
    ),
    pytest.param(
        {"vcpus": 2, "numa_cells": [{"id": 0, "cpus": "0-1", "memory": 256}, {"id": 1, "cpus": "1", "memory": 256}]},
        r"^numa_cells: cell 1 shares vCPUs \[1\] with another cell",
        id="numa-shared-vcpu",
    ),
    pytest.param(
        {"vcpus": 2, "numa_cells": [{"id": 0, "cpus": "0-2", "memory": 512}]},
        r"^numa_cells: cell 0 names vCPU 2 but the domain has 2",
        id="numa-vcpu-range",
    ),
    pytest.param(
        {"vcpus": 2, "numa_cells": [{"id": 0, "cpus": "0", "memory": 256}, {"id": 2, "cpus": "1", "memory": 256}]},
        r"^numa_cells: ids must be 0\.\.1 without gaps, got \[0, 2\]",
        id="numa-ids",
    ),
    pytest.param(
        {"numa_cells": [{"id": 0, "cpus": "0", "memory": "512 MB"}], "memory": 512},
        r"^numa_cells: cell memory adds up to 500000 KiB",
        id="numa-si-units",
    ),
    pytest.param(
        {"numa_cells": [{"id": 0, "cpus": "0", "memory": "half"}]},
        r"^numa_cells\[0\]\.memory: size 'half'",
        id="numa-cell-size",
    ),
    pytest.param(
        {"memory_backing": {"hugepages": [{"size": "2MiB", "nodeset": "1"}]}},
        r"^memory_backing\.hugepages: nodeset names guest NUMA cells \[1\] that numa_cells lacks",
        id="hugepages-nodeset",
    ),
    pytest.param(
        {"memory_backing": {"hugepages": [{"size": "2MB"}]}},
        r"^memory_backing\.hugepages\.size: size '2MB' is not a whole number of KiB",
        id="hugepages-size",
    ),
    pytest.param(
        {"vcpus": 4, "cpu": {"mode": "host-model", "topology": {"sockets": 1, "cores": 2, "threads": 1}}},
        r"^cpu\.topology gives 2 vCPUs but the domain has 4",
        id="topology",
    ),
    pytest.param(
        {"vcpus": 2, "cpu": {"mode": "host-model", "topology": {"sockets": 1, "dies": 2, "cores": 2, "threads": 1}}},
        r"^cpu\.topology gives 4 vCPUs but the domain has 2",
        id="topology-dies",
    ),
    pytest.param({"cpu": {"mode": "custom"}}, r"^cpu\.model is required with cpu\.mode custom", id="cpu-model"),
    pytest.param(
        {"vcpus": 2, "cputune": {"vcpupin": [{"vcpu": 2, "cpuset": "0"}]}},
        r"^cputune\.vcpupin: vCPU 2 is out of range \(0\.\.1\)",
        id="vcpupin-range",
    ),
    pytest.param(
        {"vcpus": 2, "cputune": {"vcpupin": [{"vcpu": 1, "cpuset": "0"}, {"vcpu": 1, "cpuset": "1"}]}},
        r"^cputune\.vcpupin: vCPU 1 .* pinned twice",
        id="vcpupin-twice",
    ),
    pytest.param(
        {"cputune": {"iothreadpin": [{"iothread": 1, "cpuset": "0"}]}},
        r"^cputune\.iothreadpin: iothread 1 does not exist \(iothreads: None\)",
        id="iothreadpin",
    ),
    pytest.param(
        {"numatune": {"memnodes": [{"cellid": 0, "nodeset": "0"}]}},
        r"^numatune\.memnodes: cellid 0 is not a guest NUMA cell",
        id="memnode-cell",
    ),
    # firmware and boot
    pytest.param(
        {"machine": "pc", "firmware": {"type": "efi", "secure_boot": True}},
        r"^firmware\.secure_boot needs a q35 machine type \(machine is 'pc'\)",
        id="secure-boot-pc",
    ),
    pytest.param(
        {"firmware": {"type": "efi", "secure_boot": True}},
        r"^firmware\.secure_boot needs a q35 machine type \(machine is 'unset'\)",
        id="secure-boot-no-machine",
    ),
    pytest.param(
        {"machine": "q35", "firmware": {"secure_boot": True}},
        r"^firmware\.secure_boot needs firmware\.type efi",
        id="secure-boot-bios",
    ),
    pytest.param(
        {"firmware": {"nvram": "/var/lib/libvirt/qemu/nvram/t.fd"}},
        r"^firmware\.loader and firmware\.nvram need firmware\.type efi",
        id="nvram-bios",
    ),
    pytest.param({"initrd": "/boot/initrd.img"}, r"^initrd and cmdline need kernel", id="initrd"),
    pytest.param({"cmdline": "console=ttyS0"}, r"^initrd and cmdline need kernel", id="cmdline"),
    pytest.param({"boot": ["usb"]}, r"^boot: 'usb' is not one of hd, cdrom, network, fd", id="boot-device"),
    pytest.param(
        dict(boot=["hd"], **disk(boot_order=1)),
        r"^boot \(a device list\) and per-device boot_order cannot be combined",
        id="boot-and-boot-order",
    ),
    pytest.param(
        {
            "disks": [{"target": "vda", "path": "/a", "boot_order": 1}],
            "interfaces": [{"network": "default", "boot_order": 1}],
        },
        r"^boot_order values must be unique across disks and interfaces, got \[1, 1\]",
        id="boot-order-twice",
    ),
    pytest.param({"features": {"hyperv": 3}}, r"^features\.hyperv: use true, false", id="feature-value"),
    pytest.param(
        {"clock": {"offset": "timezone"}}, r"^clock\.timezone is required with clock\.offset timezone", id="clock"
    ),
    # disks
    pytest.param(
        disk(rbd={"image": "vms/t", "hosts": [{"name": "mon1"}]}),
        r"^disk vda: give only one of path, pool/volume or rbd \(got path, rbd\)",
        id="disk-two-sources",
    ),
    pytest.param(
        disk(pool="default", volume="t.qcow2"),
        r"^disk vda: give only one of path, pool/volume or rbd \(got path, volume\)",
        id="disk-path-and-volume",
    ),
    pytest.param(
        {"disks": [{"target": "vda", "volume": "t.qcow2"}]}, r"^disk vda: volume needs pool", id="volume-no-pool"
    ),
    pytest.param({"disks": [{"target": "vda"}]}, r"^disk vda: needs a source", id="disk-no-source"),
    pytest.param(disk(target="xda1"), r"^disk 'xda1': target must look like vda", id="disk-target"),
    pytest.param(
        {"disks": [{"target": "vda", "path": "/a"}, {"target": "vda", "path": "/b"}]},
        r"^disk vda: target used twice",
        id="disk-target-twice",
    ),
    pytest.param(
        disk(type="block"),
        r"^disk vda: type block does not fit its source \(looks like file\)",
        id="disk-type",
    ),
    pytest.param(
        {"disks": [{"target": "vda", "rbd": {"image": "t", "hosts": [{"name": "mon1"}]}}]},
        r"^disk vda: rbd\.image must be 'pool/image', got 't'",
        id="rbd-image",
    ),
    pytest.param(
        {"disks": [{"target": "vda", "rbd": {"image": "vms/t", "hosts": [{"name": "mon1"}], "username": "u"}}]},
        r"^disk vda: rbd\.username needs rbd\.secret_uuid or rbd\.secret_usage",
        id="rbd-secret",
    ),
    # interfaces
    pytest.param(
        nic(network="default", mac="52:54:00:zz:00:01"),
        r"^interface 0 \(default\): MAC address '52:54:00:zz:00:01' is not valid",
        id="mac-bad",
    ),
    pytest.param(
        nic(network="default", mac="01:00:5e:00:00:01"),
        r"^interface 0 \(default\): MAC address '01:00:5e:00:00:01' is a multicast address",
        id="mac-multicast",
    ),
    pytest.param(
        {
            "interfaces": [
                {"network": "default", "mac": "52:54:00:0a:0b:0c"},
                {"bridge": "br0", "mac": "52-54-00-0A-0B-0C"},
            ]
        },
        r"^interface 1 \(br0\): MAC 52:54:00:0a:0b:0c is used twice",
        id="mac-twice",
    ),
    pytest.param(
        nic(network="default", bridge="br0"),
        r"^interface 0: give exactly one of network, bridge or dev \(got \['network', 'bridge'\]\)",
        id="nic-two-sources",
    ),
    pytest.param(nic(model="e1000"), r"^interface 0: give exactly one of network, bridge or dev", id="nic-no-source"),
    pytest.param(nic(bridge="br0", type="network"), r"^interface 0: type network does not fit bridge", id="nic-type"),
    pytest.param(
        nic(bridge="br0", portgroup="web"), r"^interface 0 \(br0\): portgroup needs a libvirt network", id="portgroup"
    ),
    pytest.param(
        nic(network="default", openvswitch=True),
        r"^interface 0 \(default\): openvswitch applies to bridge interfaces",
        id="ovs-on-network",
    ),
    pytest.param(
        nic(bridge="br0", openvswitch=True, vlan=10, trunk=[20]),
        r"^interface 0 \(br0\): give vlan \(access port\) or trunk, not both",
        id="vlan-and-trunk",
    ),
    pytest.param(
        nic(bridge="br0", vlan=10),
        r"^interface 0 \(br0\): VLAN tags on a bridge need openvswitch: true",
        id="vlan-linux-bridge",
    ),
    pytest.param(
        nic(bridge="br0", openvswitch=True, native_vlan=10),
        r"^interface 0 \(br0\): native_vlan needs trunk",
        id="native-without-trunk",
    ),
    pytest.param(
        nic(bridge="br0", openvswitch=True, trunk=[10, 4096]),
        r"^interface 0 \(br0\): VLAN id 4096 is outside 0\.\.4095",
        id="vlan-range",
    ),
    pytest.param(nic(bridge="br0", mtu=40), r"^interface 0 \(br0\): mtu 40 is outside 68\.\.65535", id="mtu"),
    pytest.param(nic(bridge="br0", queues=0), r"^interface 0 \(br0\): queues 0 is outside 1\.\.256", id="queues"),
    pytest.param(
        nic(bridge="br0", offloads={"guest_mrg_rxbuf": False}),
        r"^interface 0 \(br0\): offloads key 'guest_mrg_rxbuf' must be host_<x> or guest_<x>",
        id="offload-key",
    ),
    pytest.param(
        nic(bridge="br0", offloads={"host_tso4": "off"}),
        r"^interface 0 \(br0\): offloads\.host_tso4 must be true or false",
        id="offload-value",
    ),
    # other devices
    pytest.param({"serials": [{"type": "file"}]}, r"^serials\[0\]: type file needs path", id="serial-file"),
    pytest.param(
        {"graphics": [{"type": "vnc", "listen": "localhost"}]},
        r"^graphics vnc: listen 'localhost' is not an IP address",
        id="graphics-listen",
    ),
    pytest.param(
        {"graphics": [{"type": "vnc", "password": "123456789"}]},
        r"^graphics vnc: password is longer than the 8 characters",
        id="vnc-password",
    ),
    pytest.param(
        {"memballoon": {"model": "none", "period": 10}},
        r"^memballoon\.period needs a balloon",
        id="balloon-period",
    ),
    pytest.param(
        {"seclabel": {"type": "static", "model": "selinux"}},
        r"^seclabel\.label is required with seclabel\.type static",
        id="seclabel",
    ),
    pytest.param(
        {"hostdevs": [{"address": "3b:00"}]},
        r"^hostdevs.*PCI address '3b:00' is not of the form \[dddd:\]bb:ss\.f",
        id="pci-address",
    ),
]


@pytest.mark.parametrize(("changes", "message"), SPEC_ERRORS)
def test_spec_error_names_the_option(changes, message):
    params = spec(**changes)
    with pytest.raises(SpecError, match=message):
        build(params)


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        pytest.param({"vcpu_cpuset": "0-x"}, "vcpu_cpuset", id="vcpu_cpuset"),
        pytest.param({"cputune": {"emulatorpin": "0,,1"}}, "cputune.emulatorpin", id="emulatorpin"),
        pytest.param(
            {"vcpus": 2, "numa_cells": [{"id": 0, "cpus": "1-0", "memory": 512}]}, "numa_cells", id="numa-cpus"
        ),
    ],
)
def test_cpuset_error_names_the_option(changes, option):
    with pytest.raises(SpecError) as raised:
        build(spec(**changes))
    assert option in str(raised.value)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<domain><name>t</name>", r"^xml is not well-formed"),
        ("<network><name>t</name></network>", r"^xml must have a <domain> root element, not <network>"),
        ("<domain type='kvm'><name>bad name</name></domain>", r"^name 'bad name' is not a valid domain name"),
    ],
)
def test_raw_xml_errors(xml, message):
    with pytest.raises(SpecError, match=message):
        build({"xml": xml})


def test_raw_xml_name_must_match_the_name_option():
    with pytest.raises(SpecError, match=r"^name 'web1' does not match the <name> in xml \('web2'\)"):
        build({"name": "web1", "xml": "<domain type='kvm'><name>web2</name></domain>"})


# -- _domain_spec helpers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0,1,2,3", "0-3"), ("0-3", "0-3"), ("3,1,2,0", "0-3"), ("0-7,^2", "0-1,3-7"), ("8, 0-1,10-11", "0-1,8,10-11")],
)
def test_canonical_cpuset(text, expected):
    assert spec_mod.canonical_cpuset(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,,1", "has an empty element"),
        ("a-b", "is not a list of numbers and ranges"),
        ("0-1,^0-1", "is empty"),
        ("3-1", "has a descending range '3-1'"),
    ],
)
def test_parse_cpuset_errors(text, message):
    with pytest.raises(SpecError, match=message):
        spec_mod.parse_cpuset(text)


@pytest.mark.parametrize("mac", ["52:54:00:AB:CD:EF", "52-54-00-ab-cd-ef", "5254.00ab.cdef"])
def test_normalize_mac(mac):
    assert spec_mod.normalize_mac(mac) == "52:54:00:ab:cd:ef"


def test_normalize_mac_refuses_eui64():
    with pytest.raises(SpecError, match=r"^MAC address .* is not a 48-bit address"):
        spec_mod.normalize_mac("52:54:00:ff:fe:ab:cd:ef")


# -- _units -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (512, 512 * 1024**2),
        ("512", 512 * 1024**2),
        ("4GiB", 4 * 1024**3),
        ("4 G", 4 * 1024**3),
        ("4gb", 4 * 1000**3),
        ("20K", 20 * 1024),
        ("1TiB", 1024**4),
        ("3b", 3),
    ],
)
def test_parse_size(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", [True, "-1GiB", "1.5GiB", "GiB", "4 GiBs", "4 XB"])
def test_parse_size_refuses(value):
    with pytest.raises(SizeError):
        parse_size(value)


def test_parse_size_kib_and_default_unit():
    assert parse_size_kib("2MiB") == 2048
    assert parse_size_kib(2048, default_unit="KiB") == 2048
    with pytest.raises(SizeError, match="not a whole number of KiB"):
        parse_size_kib("1000B")


@pytest.mark.parametrize(
    ("size", "text"),
    [(4 * 1024**3, "4GiB"), (1536 * 1024**2, "1536MiB"), (1024**4, "1TiB"), (1000, "1000B"), (0, "0B")],
)
def test_format_bytes(size, text):
    assert format_bytes(size) == text
