# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Domain XML → summary, live/persistent comparison and the per-domain entry of libvirt_domain_info.

The fixtures are ``virsh dumpxml`` output of libvirt 9.0 on the Debian 12 test
bed (defined, and where they say ``running`` started, under TCG), with names,
paths and bridges renamed to what a real fleet would use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _domain_summary as summary
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_domain_info import (
    build_domain_entry,
    read_domains,
    state_names,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name):
    return (FIXTURES / f"domain_{name}.xml").read_text()


def summarize(name):
    return summary.summarize_domain(fixture(name))


def minimal(body="", attrs="type='kvm'"):
    """A hand-written domain with only what a test needs, to show one rule at a time."""
    return f"<domain {attrs}><name>t</name><uuid>00000000-0000-4000-8000-000000000001</uuid>{body}</domain>"


def nic(**changes):
    """An interface summary with every key at its empty value, plus ``changes``."""
    base = {
        "mac": None,
        "type": None,
        "source": None,
        "source_mode": None,
        "bridge": None,
        "portgroup": None,
        "virtualport": None,
        "vlan": None,
        "model": "virtio",
        "mtu": None,
        "target": None,
        "boot_order": None,
    }
    base.update(changes)
    return base


def disk(**changes):
    base = {
        "target": None,
        "bus": None,
        "device": "disk",
        "type": "file",
        "source": None,
        "format": None,
        "cache": None,
        "readonly": False,
        "shareable": False,
        "boot_order": None,
    }
    base.update(changes)
    return base


def os_(**changes):
    base = {
        "type": "hvm",
        "arch": "x86_64",
        "machine": "pc-q35-7.2",
        "firmware": "bios",
        "loader": None,
        "boot": [],
        "kernel": None,
        "initrd": None,
        "cmdline": None,
    }
    base.update(changes)
    return base


NO_PINNING = {"vcpupin": [], "emulatorpin": None, "numatune": None}
QEMU64 = {"mode": "custom", "model": "qemu64", "topology": None, "numa_cells": []}
PASSTHROUGH = {"mode": "host-passthrough", "model": None, "topology": None, "numa_cells": []}


# ---------------------------------------------------------------- fixtures, literally

EXPECTED_PLAIN_RUNNING = {
    "name": "web01",
    "uuid": "b46e3f63-affb-4ed2-adb0-276b5d95ce0b",
    "id": 1,
    "type": "qemu",
    "managed": True,
    "title": "Web server 01",
    "description": "Front-end web server, rack B2",
    "vcpus": {"current": 1, "max": 2, "placement": "static", "cpuset": None},
    "memory_kib": 1048576,
    # The live XML reports the balloon's actual size: no guest driver has shrunk it yet.
    "current_memory_kib": 1048576,
    "hugepages": [],
    "cpu": QEMU64,
    "pinning": NO_PINNING,
    "disks": [
        disk(
            target="vda",
            bus="virtio",
            source={"path": "/var/lib/libvirt/images/web01.qcow2"},
            format="qcow2",
            cache="none",
        ),
        # An empty CD-ROM: libvirt drops the driver's format from the live XML.
        disk(target="sda", bus="sata", device="cdrom", readonly=True),
    ],
    "interfaces": [
        nic(mac="52:54:00:3a:51:01", type="network", source="default", bridge="virbr0", target="vnet0"),
    ],
    "graphics": [{"type": "vnc", "port": 5900, "autoport": True, "listen": "127.0.0.1"}],
    "os": os_(machine="pc-i440fx-7.2", boot=["hd", "cdrom"]),
}

EXPECTED_OVS_RUNNING = {
    "name": "router01",
    "uuid": "0838da32-3888-409e-a502-56819c701e5d",
    "id": 2,
    "type": "qemu",
    "managed": False,
    "title": None,
    "description": None,
    "vcpus": {"current": 1, "max": 1, "placement": "static", "cpuset": None},
    "memory_kib": 65536,
    "current_memory_kib": 65536,
    "hugepages": [],
    "cpu": QEMU64,
    "pinning": NO_PINNING,
    "disks": [],
    "interfaces": [
        nic(
            mac="52:54:00:3a:52:01",
            type="bridge",
            source="br-tenant",
            bridge="br-tenant",
            virtualport="openvswitch",
            vlan={"tags": [42], "trunk": False, "native": None},
            target="vnet1",
        ),
        nic(
            mac="52:54:00:3a:52:02",
            type="bridge",
            source="br-tenant",
            bridge="br-tenant",
            virtualport="openvswitch",
            vlan={"tags": [10, 20, 30], "trunk": True, "native": {"tag": 10, "mode": "untagged"}},
            mtu=9000,
            target="vnet2",
        ),
        # Running, libvirt shows this network NIC as type 'bridge' with what the network applied.
        nic(
            mac="52:54:00:3a:52:03",
            type="network",
            source="ovs-tenant",
            bridge="br-tenant",
            portgroup="vlan-100",
            virtualport="openvswitch",
            vlan={"tags": [100], "trunk": False, "native": None},
            model="e1000e",
            target="vnet3",
        ),
    ],
    "graphics": [{"type": "spice", "port": 5901, "autoport": True, "listen": "127.0.0.1"}],
    "os": os_(boot=["hd"]),
}

EXPECTED_RBD = {
    "name": "db01",
    "uuid": "a0019f90-fb79-4c81-9c8f-494dd1c3709c",
    "id": None,
    "type": "kvm",
    "managed": False,
    "title": None,
    "description": None,
    "vcpus": {"current": 2, "max": 2, "placement": "static", "cpuset": None},
    "memory_kib": 4194304,
    "current_memory_kib": 4194304,
    "hugepages": [],
    "cpu": PASSTHROUGH,
    "pinning": NO_PINNING,
    "disks": [
        disk(
            target="vda",
            bus="virtio",
            type="network",
            source={
                "protocol": "rbd",
                "name": "vms/db01-root",
                "hosts": [
                    {"name": "203.0.113.10", "port": 6789},
                    {"name": "203.0.113.11", "port": 6789},
                    {"name": "203.0.113.12", "port": None},
                ],
            },
            format="raw",
            cache="writeback",
            boot_order=1,
        ),
        disk(
            target="vdb",
            bus="virtio",
            type="volume",
            source={"pool": "kvmops-data", "volume": "db01-data.qcow2"},
            format="qcow2",
            cache="none",
        ),
        disk(
            target="sdb",
            bus="scsi",
            type="block",
            source={"path": "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"},
            format="raw",
            cache="directsync",
            shareable=True,
        ),
        disk(
            target="sda",
            bus="sata",
            device="cdrom",
            source={"path": "/var/lib/libvirt/images/debian-12.8.0-amd64-netinst.iso"},
            format="raw",
            readonly=True,
            boot_order=2,
        ),
    ],
    "interfaces": [nic(mac="52:54:00:3a:53:01", type="direct", source="eth0", source_mode="bridge")],
    "graphics": [],
    "os": os_(),
}

EXPECTED_NUMA = {
    "name": "dpdk01",
    "uuid": "64a7da01-3874-4368-b8c6-dc8eff267332",
    "id": None,
    "type": "kvm",
    "managed": True,
    "title": "Packet processor (DPDK)",
    "description": None,
    # Written as cpuset='2-7,^4'; libvirt stores '2-3,5-7'.
    "vcpus": {"current": 4, "max": 4, "placement": "static", "cpuset": [2, 3, 5, 6, 7]},
    "memory_kib": 8388608,
    "current_memory_kib": 8388608,
    "hugepages": [{"size_kib": 1048576, "nodeset": [0]}, {"size_kib": 2048, "nodeset": [1]}],
    "cpu": {
        "mode": "host-passthrough",
        "model": None,
        "topology": {"sockets": 1, "dies": 1, "cores": 2, "threads": 2},
        "numa_cells": [
            {"id": 0, "cpus": [0, 1], "memory_kib": 4194304, "mem_access": "shared"},
            {"id": 1, "cpus": [2, 3], "memory_kib": 4194304, "mem_access": "shared"},
        ],
    },
    "pinning": {
        "vcpupin": [
            {"vcpu": 0, "cpuset": [2]},
            {"vcpu": 1, "cpuset": [3]},
            {"vcpu": 2, "cpuset": [6]},
            {"vcpu": 3, "cpuset": [7]},
        ],
        "emulatorpin": [0, 1],
        "numatune": {
            "mode": "strict",
            "nodeset": [0, 1],
            "memnodes": [
                {"cellid": 0, "mode": "strict", "nodeset": [0]},
                {"cellid": 1, "mode": "preferred", "nodeset": [1]},
            ],
        },
    },
    "disks": [
        disk(
            target="vda",
            bus="virtio",
            source={"path": "/var/lib/libvirt/images/dpdk01.qcow2"},
            format="qcow2",
            cache="none",
        )
    ],
    "interfaces": [
        nic(mac="52:54:00:3a:54:01", type="network", source="mgmt"),
        nic(
            mac="52:54:00:3a:54:02",
            type="vhostuser",
            source="/var/run/openvswitch/vhu-dpdk01-0",
            source_mode="server",
        ),
    ],
    "graphics": [],
    "os": os_(firmware="efi", boot=["network"]),
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plain_running", EXPECTED_PLAIN_RUNNING),
        ("ovs_vlan_running", EXPECTED_OVS_RUNNING),
        ("rbd", EXPECTED_RBD),
        ("numa_hugepages", EXPECTED_NUMA),
    ],
)
def test_fixture_summary(name, expected):
    assert summarize(name) == expected


def test_plain_inactive_differs_from_live_only_where_libvirt_adds_runtime_state():
    inactive = summarize("plain_inactive")
    assert inactive["id"] is None
    assert inactive["current_memory_kib"] == 786432
    assert inactive["interfaces"] == [nic(mac="52:54:00:3a:51:01", type="network", source="default")]
    assert inactive["graphics"] == [{"type": "vnc", "port": None, "autoport": True, "listen": "127.0.0.1"}]
    assert inactive["disks"][1] == disk(target="sda", bus="sata", device="cdrom", format="raw", readonly=True)
    live = dict(EXPECTED_PLAIN_RUNNING)
    for key in ("id", "current_memory_kib", "interfaces", "graphics", "disks"):
        live.pop(key)
        inactive.pop(key)
    assert inactive == live


def test_ovs_inactive_network_nic_has_only_what_the_definition_asks():
    iface = summarize("ovs_vlan_inactive")["interfaces"][2]
    assert iface == nic(
        mac="52:54:00:3a:52:03", type="network", source="ovs-tenant", portgroup="vlan-100", model="e1000e"
    )


def test_efi_firmware_picked_at_start():
    assert summarize("efi_inactive")["os"] == os_(firmware="efi", boot=["hd"])
    assert summarize("efi_running")["os"] == os_(
        firmware="efi", loader="/usr/share/OVMF/OVMF_CODE_4M.ms.fd", boot=["hd"]
    )


# ---------------------------------------------------------------- edge cases


def test_domain_without_devices_or_optional_elements():
    result = summary.summarize_domain(minimal("<memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os>"))
    assert result == {
        "name": "t",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "id": None,
        "type": "kvm",
        "managed": False,
        "title": None,
        "description": None,
        "vcpus": {"current": 1, "max": 1, "placement": "static", "cpuset": None},
        # No unit means KiB; no currentMemory means all of memory.
        "memory_kib": 131072,
        "current_memory_kib": 131072,
        "hugepages": [],
        "cpu": {"mode": None, "model": None, "topology": None, "numa_cells": []},
        "pinning": NO_PINNING,
        "disks": [],
        "interfaces": [],
        "graphics": [],
        "os": os_(arch=None, machine=None),
    }


@pytest.mark.parametrize(
    ("value", "unit", "kib"),
    [
        ("1", "GiB", 1048576),
        ("1", "G", 1048576),
        ("1", "g", 1048576),
        ("2", "MiB", 2048),
        ("512", None, 512),
        ("512", "KiB", 512),
        ("512", "k", 512),
        ("1", "TiB", 1024**3),
        ("1", "GB", 976563),  # 10^9 bytes, rounded up to whole KiB as libvirt does
        ("1000", "KB", 977),
        ("1048576", "bytes", 1024),
        ("1025", "b", 2),
        (4, "MiB", 4096),
    ],
)
def test_to_kib(value, unit, kib):
    assert summary.to_kib(value, unit) == kib


@pytest.mark.parametrize(("value", "unit"), [("1", "GiBs"), ("1", "xB"), ("1.5", "GiB"), ("", "KiB")])
def test_to_kib_refuses_what_libvirt_would_not_write(value, unit):
    with pytest.raises(summary.DomainXMLError, match="size"):
        summary.to_kib(value, unit)


def test_memory_units_in_hand_written_xml():
    result = summary.summarize_domain(
        minimal(
            "<memory unit='GiB'>4</memory><currentMemory unit='MiB'>3072</currentMemory><vcpu>1</vcpu>"
            "<memoryBacking><hugepages/></memoryBacking>"
            "<cpu><numa><cell id='0' cpus='0' memory='2' unit='GiB'/><cell id='1' cpus='1' memory='2097152'/>"
            "</numa></cpu>"
        )
    )
    assert (result["memory_kib"], result["current_memory_kib"]) == (4194304, 3145728)
    # A bare <hugepages/> is the host's default size on every node.
    assert result["hugepages"] == [{"size_kib": None, "nodeset": None}]
    assert result["cpu"]["numa_cells"] == [
        {"id": 0, "cpus": [0], "memory_kib": 2097152, "mem_access": None},
        {"id": 1, "cpus": [1], "memory_kib": 2097152, "mem_access": None},
    ]
    assert result["cpu"]["mode"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", [0]),
        ("0-3", [0, 1, 2, 3]),
        ("0-7,^2-5", [0, 1, 6, 7]),
        ("8, 0-1", [0, 1, 8]),
        ("^1,0-2", [0, 2]),
        ("", None),
        (None, None),
    ],
)
def test_parse_cpuset(text, expected):
    assert summary.parse_cpuset(text) == expected


def test_parse_cpuset_refuses_garbage():
    with pytest.raises(summary.DomainXMLError, match="'0-x'"):
        summary.parse_cpuset("0-x")


@pytest.mark.parametrize(
    ("vlan", "expected"),
    [
        ("<vlan><tag id='42'/></vlan>", {"tags": [42], "trunk": False, "native": None}),
        # One tag plus trunk='yes': a trunk carrying one VLAN.
        ("<vlan trunk='yes'><tag id='42'/></vlan>", {"tags": [42], "trunk": True, "native": None}),
        # Several tags are a trunk even without trunk='yes'.
        ("<vlan><tag id='10'/><tag id='20'/></vlan>", {"tags": [10, 20], "trunk": True, "native": None}),
        (
            "<vlan trunk='yes'><tag id='20'/><tag id='30' nativeMode='tagged'/></vlan>",
            {"tags": [20, 30], "trunk": True, "native": {"tag": 30, "mode": "tagged"}},
        ),
    ],
)
def test_vlan(vlan, expected):
    xml = minimal(
        "<memory>1024</memory><vcpu>1</vcpu><devices><interface type='bridge'><mac address='52:54:00:00:00:01'/>"
        f"<source bridge='br0'/>{vlan}<virtualport type='openvswitch'/><model type='virtio'/></interface></devices>"
    )
    (iface,) = summary.summarize_domain(xml)["interfaces"]
    assert iface["vlan"] == expected
    assert (iface["source"], iface["bridge"], iface["virtualport"]) == ("br0", "br0", "openvswitch")


def test_direct_kernel_boot_and_graphics_listen_element():
    xml = minimal(
        "<memory>1024</memory><vcpu placement='auto' current='2'>4</vcpu>"
        "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><kernel>/var/lib/kvmops/vmlinuz</kernel>"
        "<initrd>/var/lib/kvmops/initrd.img</initrd><cmdline>root=/dev/vda rw console=ttyS0</cmdline></os>"
        "<devices><graphics type='vnc' port='-1' autoport='yes'><listen type='address' address='203.0.113.5'/>"
        "</graphics><graphics type='spice' port='5930' autoport='no'><listen type='socket' socket='/run/s.sock'/>"
        "</graphics></devices>"
    )
    result = summary.summarize_domain(xml)
    assert result["vcpus"] == {"current": 2, "max": 4, "placement": "auto", "cpuset": None}
    assert result["os"] == os_(
        kernel="/var/lib/kvmops/vmlinuz",
        initrd="/var/lib/kvmops/initrd.img",
        cmdline="root=/dev/vda rw console=ttyS0",
    )
    assert result["graphics"] == [
        {"type": "vnc", "port": None, "autoport": True, "listen": "203.0.113.5"},
        {"type": "spice", "port": 5930, "autoport": False, "listen": "/run/s.sock"},
    ]


def test_managed_needs_our_namespace_and_local_name():
    other_ns = "<metadata><k:managed xmlns:k='https://example.org/other'/></metadata>"
    other_name = f"<metadata><k:owner xmlns:k='{summary.KVMOPS_DOMAIN_XMLNS}'/></metadata>"
    ours = f"<metadata><other:managed xmlns:other='{summary.KVMOPS_DOMAIN_XMLNS}' version='1'/></metadata>"
    assert summary.summarize_domain(minimal(other_ns + "<memory>1</memory>"))["managed"] is False
    assert summary.summarize_domain(minimal(other_name + "<memory>1</memory>"))["managed"] is False
    assert summary.summarize_domain(minimal(ours + "<memory>1</memory>"))["managed"] is True


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<domain><name>t</name", "does not parse"),
        ("<network><name>t</name></network>", "expected a <domain> document, got <network>"),
        (minimal("<memory unit='parsecs'>1</memory>"), "unknown unit 'parsecs'"),
    ],
)
def test_unreadable_xml(xml, message):
    with pytest.raises(summary.DomainXMLError, match=message):
        summary.summarize_domain(xml)


# ---------------------------------------------------------------- live vs persistent definition


@pytest.mark.parametrize("name", ["plain", "ovs_vlan", "efi"])
def test_freshly_started_domain_has_no_pending_changes(name):
    assert not summary.definitions_differ(fixture(f"{name}_running"), fixture(f"{name}_inactive"))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<title>Web server 01</title>", "<title>Web server 1</title>"),
        ("<vcpu placement='static' current='1'>2</vcpu>", "<vcpu placement='static' current='2'>2</vcpu>"),
        ("<memory unit='KiB'>1048576</memory>", "<memory unit='KiB'>2097152</memory>"),
        ("<model type='virtio'/>", "<model type='e1000e'/>"),
        ("<source network='default'/>", "<source network='storage'/>"),
        ("<boot dev='cdrom'/>", ""),
        ("<target dev='vda' bus='virtio'/>", "<target dev='vdb' bus='virtio'/>"),
    ],
)
def test_changed_definition_is_pending(old, new):
    inactive = fixture("plain_inactive")
    assert old in inactive
    assert summary.definitions_differ(fixture("plain_running"), inactive.replace(old, new, 1))


def test_changed_vlan_on_a_bridge_nic_is_pending():
    inactive = fixture("ovs_vlan_inactive").replace("<tag id='42'/>", "<tag id='43'/>")
    assert summary.definitions_differ(fixture("ovs_vlan_running"), inactive)


def test_host_model_cpu_is_not_compared():
    host_model = "<cpu mode='host-model' check='partial'/>"
    inactive = fixture("plain_inactive")
    start = inactive.index("<cpu ")
    end = inactive.index("</cpu>") + len("</cpu>")
    assert not summary.definitions_differ(fixture("plain_running"), inactive[:start] + host_model + inactive[end:])


def test_normalised_xml_leaves_out_runtime_only_parts():
    text = summary.normalise_domain_xml(fixture("plain_running"))
    for runtime_only in ("alias", "vnet0", "portid", "/dev/pts", "5900", "+64055", "backingStore", "currentMemory"):
        assert runtime_only not in text
    root = summary.parse_domain_xml(text)
    assert root.get("id") is None
    assert [source.get("index") for source in root.iter("source")] == [None] * 2
    assert "b46e3f63-affb-4ed2-adb0-276b5d95ce0b" in text
    assert "web01.qcow2" in text


# ---------------------------------------------------------------- the module's entry per domain


@pytest.mark.parametrize(
    ("codes", "names"),
    [
        ((1, 1), ("running", "booted")),
        ((3, 1), ("paused", "user")),
        ((3, 14), ("paused", "api_error")),
        ((5, 0), ("shutoff", "unknown")),
        ((5, 2), ("shutoff", "destroyed")),
        ((5, 8), ("shutoff", "daemon")),
        ((6, 1), ("crashed", "panicked")),
        ((7, 0), ("pmsuspended", "unknown")),
        ((0, 0), ("unknown", "unknown")),
        ((2, 0), ("blocked", "unknown")),
        ((4, 1), ("shutdown", "user")),
        ((99, 0), ("unknown", "unknown")),
        ((1, 99), ("running", "unknown")),
    ],
)
def test_state_names(codes, names):
    assert state_names(*codes) == names


def reads(name, state=(1, 1), active=True, persistent=True, autostart=False, inactive=None):
    return {
        "state": state[0],
        "reason": state[1],
        "active": int(active),
        "persistent": int(persistent),
        "autostart": int(autostart),
        "xml": fixture(f"{name}_running" if active else name),
        "inactive_xml": fixture(inactive or (f"{name}_inactive" if active else name)),
    }


def test_running_domain_entry_comes_from_live_xml():
    entry = build_domain_entry(reads("plain", autostart=True))
    head = {k: entry[k] for k in list(entry)[:9]}
    assert head == {
        "name": "web01",
        "uuid": "b46e3f63-affb-4ed2-adb0-276b5d95ce0b",
        "id": 1,
        "state": "running",
        "state_reason": "booted",
        "active": True,
        "persistent": True,
        "autostart": True,
        "pending_changes": False,
    }
    assert {k: v for k, v in entry.items() if k not in head} == {
        k: v for k, v in EXPECTED_PLAIN_RUNNING.items() if k not in ("name", "uuid", "id")
    }
    assert "xml" not in entry
    assert "inactive_xml" not in entry


def test_shut_off_domain_entry_comes_from_persistent_definition():
    entry = build_domain_entry(reads("rbd", state=(5, 2), active=False), include_xml=True)
    assert (entry["state"], entry["state_reason"], entry["id"], entry["pending_changes"]) == (
        "shutoff",
        "destroyed",
        None,
        False,
    )
    assert entry["disks"] == EXPECTED_RBD["disks"]
    assert entry["xml"] == entry["inactive_xml"] == fixture("rbd")


def test_running_domain_with_changed_definition_has_pending_changes():
    changed = reads("plain")
    changed["inactive_xml"] = changed["inactive_xml"].replace("<title>Web server 01</title>", "<title>new</title>")
    entry = build_domain_entry(changed, include_xml=True)
    assert entry["pending_changes"] is True
    # The summary still describes what runs.
    assert entry["title"] == "Web server 01"
    assert "<title>new</title>" in entry["inactive_xml"]
    assert entry["xml"].startswith("<domain type='qemu' id='1'>")


def test_transient_domain_never_has_pending_changes():
    transient = reads("plain", persistent=False, inactive="numa_hugepages")
    assert build_domain_entry(transient)["pending_changes"] is False


# ---------------------------------------------------------------- the reader, with stand-in handles


def libvirt_error(code, message):
    error = libvirt.libvirtError(message)
    # What virGetLastError() fills in: (code, domain, message, level, ...).
    error.err = (code, 10, message, 2, None, None, None, -1, -1)
    return error


class FakeDomain:
    """Answers like a virDomain handle; ``fail`` is raised by every call that reaches libvirtd."""

    def __init__(self, name, fail=None):
        self._name = name
        self._fail = fail

    def name(self):
        return self._name

    def _answer(self, value):
        if self._fail is not None:
            raise self._fail
        return value

    def state(self):
        return self._answer([5, 0])

    def isActive(self):  # noqa: N802 - libvirt's method name
        return self._answer(0)

    def isPersistent(self):  # noqa: N802 - libvirt's method name
        return self._answer(1)

    def autostart(self):
        return self._answer(0)

    def XMLDesc(self, flags):  # noqa: N802 - libvirt's method name
        return self._answer(minimal("<memory>1024</memory>").replace("<name>t</name>", f"<name>{self._name}</name>"))


class FakeConnection:
    uri = "test:///fake"

    def __init__(self, domains):
        self.raw = self
        self._domains = domains

    def listAllDomains(self, flags):  # noqa: N802 - libvirt's method name
        return list(self._domains)

    def lookupByName(self, name):  # noqa: N802 - libvirt's method name
        for dom in self._domains:
            if dom.name() == name:
                return dom
        raise libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, f"Domain not found: no domain with matching name '{name}'")


def test_reader_skips_a_domain_undefined_while_listing_and_sorts():
    gone = libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching uuid")
    conn = FakeConnection([FakeDomain("b"), FakeDomain("gone", fail=gone), FakeDomain("a")])
    assert [reads["name"] for reads in read_domains(conn)] == ["a", "b"]
    assert read_domains(conn, name="gone") == []
    assert read_domains(conn, name="nosuch") == []


def test_reader_names_the_domain_when_libvirt_fails():
    broken = libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR, "internal error: cannot read state")
    conn = FakeConnection([FakeDomain("a"), FakeDomain("broken", fail=broken)])
    with pytest.raises(KvmopsError, match=r"^libvirt domain 'broken': internal error: cannot read state$"):
        read_domains(conn)


@pytest.mark.parametrize("name", ["gone", "nosuch"])
def test_reader_must_exist_fails_for_a_missing_domain(name):
    gone = libvirt_error(libvirt.VIR_ERR_NO_DOMAIN, "Domain not found")
    conn = FakeConnection([FakeDomain("gone", fail=gone)])
    with pytest.raises(KvmopsError, match=rf"^libvirt domain '{name}': Domain not found"):
        read_domains(conn, name=name, must_exist=True)
