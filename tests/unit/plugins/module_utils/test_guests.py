# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvm_guests' pure helpers: inventory VMs → checks, volumes, seeds, placement input and domain specs."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import kvm_guests as filters
from ansible_collections.kvmops.kvm.plugins.module_utils import _guests as guests
from ansible_collections.kvmops.kvm.plugins.module_utils import _host_caps as caps
from ansible_collections.kvmops.kvm.plugins.module_utils._placement import current_from_plan, plan

FIXTURES = Path(__file__).parent / "fixtures"
CELLS_2 = caps.parse_capabilities((FIXTURES / "caps_2node_intel_nokvm.xml").read_text())["numa_cells"]

SETTINGS = {
    "dir_pool": "guests",
    "rbd_pool": "ceph-vms",
    "rbd_ceph_pool": "vms",
    "rbd_hosts": [{"name": "198.51.100.1", "port": 6789}],
    "rbd_username": "libvirt",
    "rbd_secret_usage": "client.libvirt secret",
    "seed_dir": "/var/lib/libvirt/images/cloud-init/",
    "domain_type": "kvm",
    "machine": "q35",
    "cpu_mode": "host-passthrough",
    "cpu_model": "",
    "emulator_cpus": [],
    "disk_cache": "none",
    "disk_discard": "unmap",
    "domain_defaults": {"guest_agent": True},
}

DB = {
    "name": "db1",
    "vcpus": 2,
    "memory": "2GiB",
    "dedicated_cpus": True,
    "hugepages": "2MiB",
    "autostart": True,
    "disks": [{"name": "root", "rbd": True, "size": "20GiB"}],
    "nics": [{"bridge": "br-tenant", "vlan": 42, "mac": "52-54-00-AA-BB-01"}],
}
WEB = {
    "name": "web1",
    "vcpus": 2,
    "memory": 1024,
    "disks": [
        {"name": "root", "base_image": "/var/cache/images/debian-12.qcow2", "size": "10GiB"},
        {"name": "data", "size": "5GiB", "cache": "writeback"},
    ],
    "nics": [{"network": "ovs-tenant", "portgroup": "vlan-100"}],
    "cloud_init": {"user_data": {"packages": ["nginx"]}, "network_config": {"version": 2}},
    "kernel": "/boot/vmlinuz",
    "cmdline": "console=ttyS0",
}
OLD = {"name": "old1", "state": "absent", "delete_volumes": True, "cloud_init": {"user_data": "x"}}


def test_a_good_inventory_has_no_problems():
    assert guests.problems([DB, WEB, OLD], SETTINGS) == []


@pytest.mark.parametrize(
    ("vm", "message"),
    [
        ({"name": "a", "vcpus": 1}, "VM 'a': memory is required unless state is absent"),
        ({"name": "a", "vcpus": 1, "memory": "1.5GiB"}, "VM 'a': size '1.5GiB' is not a whole number"),
        ({"name": "a", "vcpus": 1, "memory": "1000KiB"}, "VM 'a': memory '1000KiB' is not a positive whole"),
        ({"name": "a", "vcpus": 1, "memory": 64, "hugepages": "3KiB"}, "VM 'a': hugepages '3KiB' is not a page size"),
        ({"name": "a", "vcpus": 1, "memory": 64, "numa": "left"}, "VM 'a': numa must be auto, none or a host"),
        ({"name": "a", "vcpus": 1, "memory": 64, "cmdline": "x"}, "VM 'a': initrd and cmdline need kernel"),
        (
            {
                "name": "a",
                "vcpus": 1,
                "memory": 64,
                "disks": [{"name": "r", "rbd": True, "base_image": "/x", "size": 1}],
            },
            "VM 'a': disk 'r': base_image is for qcow2 overlays",
        ),
        ({"name": "a", "vcpus": 1, "memory": 64, "disks": [{"name": "r"}]}, "VM 'a': disk 'r': a qcow2 disk needs"),
        (
            {"name": "a", "vcpus": 1, "memory": 64, "disks": [{"name": "r", "size": 1}, {"name": "r", "size": 1}]},
            "VM 'a': disk 'r': listed twice",
        ),
        ({"name": "a", "vcpus": 1, "memory": 64, "nics": [{}]}, "VM 'a': nic 0: give exactly one of bridge"),
        (
            {"name": "a", "vcpus": 1, "memory": 64, "nics": [{"bridge": "b", "portgroup": "p"}]},
            "VM 'a': nic 0: portgroup needs network",
        ),
        (
            {"name": "a", "vcpus": 1, "memory": 64, "nics": [{"network": "n", "vlan": 5}]},
            "VM 'a': nic 0: vlan is for a bridge NIC",
        ),
        (
            {"name": "a", "vcpus": 1, "memory": 64, "nics": [{"bridge": "b", "vlan": 5, "openvswitch": False}]},
            "VM 'a': nic 0: vlan needs openvswitch",
        ),
        (
            {"name": "a", "vcpus": 1, "memory": 64, "nics": [{"bridge": "b", "mac": "zz"}]},
            "VM 'a': nic 0:",
        ),
        ({"name": "-bad", "state": "absent"}, "VM '-bad': name must be"),
    ],
)
def test_problems_name_the_vm(vm, message):
    found = guests.problems([vm], SETTINGS)
    assert any(p.startswith(message) for p in found), found


def test_duplicates_and_missing_storage_settings_are_problems():
    found = guests.problems([WEB, WEB], dict(SETTINGS, rbd_pool="", dir_pool=""))
    assert "VM 'web1': listed twice in kvm_guests_vms" in found
    assert any("kvm_guests_dir_pool is empty" in p for p in found)
    found = guests.problems([DB], dict(SETTINGS, rbd_pool="", rbd_hosts=[]))
    assert any("kvm_guests_rbd_pool is empty" in p for p in found)
    assert any("no Ceph monitors" in p for p in found)


def test_placement_requests_convert_sizes_and_skip_absent_vms():
    assert guests.placement_requests([DB, WEB, OLD]) == [
        {
            "name": "db1",
            "vcpus": 2,
            "memory_mib": 2048,
            "dedicated_cpus": True,
            "numa": "auto",
            "hugepage_size_kib": 2048,
        },
        {"name": "web1", "vcpus": 2, "memory_mib": 1024, "dedicated_cpus": False, "numa": "auto"},
    ]
    assert guests.placement_requests([dict(WEB, numa="1")])[0]["numa"] == 1


def test_volume_specs():
    assert guests.volume_specs([DB, WEB, OLD], SETTINGS) == [
        {"vm": "db1", "name": "db1-root", "pool": "ceph-vms", "format": "raw", "capacity": "20GiB"},
        {
            "vm": "web1",
            "name": "web1-root.qcow2",
            "pool": "guests",
            "format": "qcow2",
            "capacity": "10GiB",
            "backing_path": "/var/cache/images/debian-12.qcow2",
            "backing_format": "qcow2",
        },
        {"vm": "web1", "name": "web1-data.qcow2", "pool": "guests", "format": "qcow2", "capacity": "5GiB"},
    ]
    by_volume = {"name": "x", "vcpus": 1, "memory": 64, "disks": [{"name": "r", "base_image": "base.qcow2"}]}
    assert guests.volume_specs([by_volume], SETTINGS)[0]["backing_volume"] == "base.qcow2"


def test_seed_specs_default_meta_data_and_remove_absent_seeds():
    specs = guests.seed_specs([DB, WEB, OLD], SETTINGS)
    assert specs == [
        {
            "vm": "web1",
            "path": "/var/lib/libvirt/images/cloud-init/web1-seed.iso",
            "state": "present",
            "user_data": "#cloud-config\npackages:\n- nginx\n",
            "meta_data": "instance-id: web1\nlocal-hostname: web1\n",
            "network_config": "version: 2\n",
        },
        {"vm": "old1", "path": "/var/lib/libvirt/images/cloud-init/old1-seed.iso", "state": "absent"},
    ]
    gone = guests.seed_specs([{"name": "gone", "state": "absent"}], SETTINGS)
    assert gone == [{"vm": "gone", "path": "/var/lib/libvirt/images/cloud-init/gone-seed.iso", "state": "absent"}]
    text = {"name": "t", "vcpus": 1, "memory": 64, "cloud_init": {"user_data": "#!/bin/sh\n", "meta_data": "x: 1\n"}}
    spec = guests.seed_specs([text], SETTINGS)[0]
    assert spec["user_data"] == "#!/bin/sh\n" and spec["meta_data"] == "x: 1\n" and spec["network_config"] is None


def test_seed_text_does_not_depend_on_the_inventory_key_order():
    # A YAML inventory file keeps its own order; AWX hands the same inventory
    # over as JSON with sorted keys. Both must give one seed, or a CLI run and
    # an AWX job would each rewrite the other's.
    def vm(user_data, network_config):
        return {
            "name": "o",
            "vcpus": 1,
            "memory": 64,
            "cloud_init": {"user_data": user_data, "network_config": network_config},
        }

    as_written = vm(
        {"users": [{"name": "ops", "lock_passwd": True}]},
        {"version": 2, "ethernets": {"eth0": {"match": {"name": "en*"}, "addresses": ["203.0.113.9/24"]}}},
    )
    as_awx_sends = vm(
        {"users": [{"lock_passwd": True, "name": "ops"}]},
        {"ethernets": {"eth0": {"addresses": ["203.0.113.9/24"], "match": {"name": "en*"}}}, "version": 2},
    )
    written, sent = (guests.seed_specs([v], SETTINGS)[0] for v in (as_written, as_awx_sends))
    assert written["user_data"] == sent["user_data"] == "#cloud-config\nusers:\n- lock_passwd: true\n  name: ops\n"
    assert written["network_config"] == sent["network_config"]
    assert written["network_config"].startswith("ethernets:\n")


def test_domain_specs_from_a_real_placement():
    vms = [DB, WEB, OLD]
    placement = plan(CELLS_2, guests.placement_requests(vms), reserved_cpus=[0])
    specs = guests.domain_specs(vms, placement, SETTINGS, CELLS_2)
    db, web, old = specs
    assert old == {"name": "old1", "state": "absent", "delete_volumes": True}
    assert db["guest_agent"] is True  # domain_defaults
    assert db["memory"] == "2048MiB" and db["vcpus"] == 2 and db["state"] == "running" and db["autostart"] is True
    assert db["cputune"] == placement["db1"]["cputune"]
    assert db["numatune"] == placement["db1"]["numatune"]
    assert db["memory_backing"] == {"hugepages": [{"size": "2048KiB"}]}
    assert db["cpu"]["mode"] == "host-passthrough" and db["cpu"]["topology"] == placement["db1"]["cpu_topology"]
    assert db["disks"] == [
        {
            "target": "vda",
            "bus": "virtio",
            "rbd": {
                "image": "vms/db1-root",
                "hosts": [{"name": "198.51.100.1", "port": 6789}],
                "username": "libvirt",
                "secret_usage": "client.libvirt secret",
            },
            "format": "raw",
            "cache": "none",
            "discard": "unmap",
        }
    ]
    assert db["interfaces"] == [
        {"model": "virtio", "bridge": "br-tenant", "openvswitch": True, "vlan": 42, "mac": "52:54:00:aa:bb:01"}
    ]
    assert [d["target"] for d in web["disks"]] == ["vda", "vdb", "sda"]
    assert web["disks"][1] == {
        "target": "vdb",
        "bus": "virtio",
        "pool": "guests",
        "volume": "web1-data.qcow2",
        "format": "qcow2",
        "cache": "writeback",
        "discard": "unmap",
    }
    assert web["disks"][2] == {
        "target": "sda",
        "device": "cdrom",
        "bus": "sata",
        "path": "/var/lib/libvirt/images/cloud-init/web1-seed.iso",
        "readonly": True,
    }
    assert web["interfaces"] == [{"model": "virtio", "network": "ovs-tenant", "portgroup": "vlan-100"}]
    assert web["kernel"] == "/boot/vmlinuz" and web["cmdline"] == "console=ttyS0" and "initrd" not in web
    assert "autostart" not in web


def test_qcow2_disk_by_path_once_the_volume_is_known():
    # AppArmor's virt-aa-helper leaves <source pool= volume=> out of the guest
    # profile: with the path from libvirt_volume, the disk is a file disk.
    settings = dict(SETTINGS, volume_paths={"guests/web1-data.qcow2": "/srv/guests/web1-data.qcow2"})
    disk = guests.domain_spec(WEB, None, settings)["disks"][1]
    assert disk["path"] == "/srv/guests/web1-data.qcow2" and disk["format"] == "qcow2"
    assert "pool" not in disk and "volume" not in disk
    # A path of another pool is not taken for this one.
    other = dict(SETTINGS, volume_paths={"default/web1-data.qcow2": "/var/lib/libvirt/images/web1-data.qcow2"})
    assert guests.domain_spec(WEB, None, other)["disks"][1]["volume"] == "web1-data.qcow2"


def test_domain_spec_overrides_and_no_placement():
    vm = dict(WEB, domain_type="qemu", cpu_mode="custom", cpu_model="qemu64", domain_extra={"tcg_tb_cache": "256MiB"})
    spec = guests.domain_spec(vm, None, SETTINGS)
    assert spec["type"] == "qemu" and spec["cpu"] == {"mode": "custom", "model": "qemu64"}
    assert spec["tcg_tb_cache"] == "256MiB"
    assert "cputune" not in spec and "numatune" not in spec


def test_emulator_cpus_replace_the_planners_choice_for_dedicated_vms():
    vms = [DB, WEB]
    placement = plan(CELLS_2, guests.placement_requests(vms), reserved_cpus=[0, 1, 4, 5])
    node = placement["db1"]["nodes"][0]
    node_cpus = {c["id"] for cell in CELLS_2 if cell["id"] == node for c in cell["cpus"]}
    emulator = sorted({0, 1, 4, 5} & node_cpus)[:1] + sorted({0, 1, 4, 5} - node_cpus)[:1]
    specs = guests.domain_specs(vms, placement, dict(SETTINGS, emulator_cpus=emulator), CELLS_2)
    assert specs[0]["cputune"]["emulatorpin"] == str(sorted(set(emulator) & node_cpus)[0])
    # Shared VMs keep floating with their vCPUs.
    assert specs[1]["cputune"]["emulatorpin"] == placement["web1"]["cputune"]["emulatorpin"]


def _domain_info(name, placement):
    """libvirt_domain_info's summary of a domain pinned as ``placement`` says."""
    pins = placement["cputune"]["vcpupin"]
    return {
        "name": name,
        "pinning": {
            "vcpupin": [{"vcpu": p["vcpu"], "cpuset": _expand(p["cpuset"])} for p in pins],
            "emulatorpin": _expand(placement["cputune"]["emulatorpin"]),
            "numatune": {"mode": "strict", "nodeset": placement["nodes"], "memnodes": []},
        },
    }


def _expand(cpuset):
    out = []
    for part in cpuset.split(","):
        low, _sep, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def test_current_placement_read_from_the_host_keeps_vms_in_place():
    vms = [DB, WEB]
    first = plan(CELLS_2, guests.placement_requests(vms), reserved_cpus=[0])
    domains = [_domain_info(n, p) for n, p in first.items()] + [{"name": "stranger", "pinning": {}}]
    current = guests.current_placement(domains, vms, CELLS_2)
    assert current == current_from_plan(first)
    # A new, bigger dedicated VM sorts before db1 by name and would take its cores without `current`.
    bigger = vms + [{"name": "aaa", "vcpus": 2, "memory": 1024, "dedicated_cpus": True}]
    again = plan(CELLS_2, guests.placement_requests(bigger), reserved_cpus=[0], current=current)
    assert again["db1"]["cputune"] == first["db1"]["cputune"]
    assert again["db1"]["nodes"] == first["db1"]["nodes"]


def test_current_placement_finds_nodes_from_cpus_without_numatune():
    domains = [{"name": "db1", "pinning": {"vcpupin": [{"vcpu": 0, "cpuset": [1]}], "numatune": None}}]
    node = next(cell["id"] for cell in CELLS_2 if 1 in [c["id"] for c in cell["cpus"]])
    assert guests.current_placement(domains, [DB], CELLS_2) == {"db1": {"nodes": [node], "cpus": [1]}}
    unpinned = [{"name": "db1", "pinning": {"vcpupin": []}}]
    assert guests.current_placement(unpinned, [DB], CELLS_2) == {}


def test_unmanaged_domains_are_those_the_inventory_does_not_list():
    domains = [{"name": "db1"}, {"name": "zeta"}, {"name": "old1"}, {"name": "alpha"}]
    assert guests.unmanaged(domains, [DB, OLD]) == ["alpha", "zeta"]


def test_filters_are_exposed_and_wrap_the_helpers():
    exposed = filters.FilterModule().filters()
    assert sorted(exposed) == [
        "guest_cells_with_pools",
        "guest_current_placement",
        "guest_domain_specs",
        "guest_pending_storage",
        "guest_plan",
        "guest_unmanaged",
        "guest_volume_paths",
    ]
    with pytest.raises(AnsibleFilterError, match="guest_cells_with_pools: .*2M or 1G"):
        filters.guest_cells_with_pools([{"id": 0, "pages": []}], [{"size": "3M", "count": 1}])
    result = filters.guest_plan([DB, WEB, OLD], SETTINGS)
    assert result["problems"] == [] and result["names"] == ["db1", "web1", "old1"]
    assert result["volumes"] == guests.volume_specs([DB, WEB, OLD], SETTINGS)
    assert result["volume_options"] == guests.volume_options(result["volumes"])
    bad = filters.guest_plan([{"name": "a", "vcpus": 1}], SETTINGS)
    assert bad["problems"] and bad["volumes"] == [] and bad["placement_vms"] == []
    with pytest.raises(AnsibleFilterError, match="must be a dict"):
        filters.guest_plan(["web1"], SETTINGS)
    with pytest.raises(AnsibleFilterError, match="numa_placement result"):
        filters.guest_domain_specs([WEB], ["x"], SETTINGS)


def test_filter_documentation_files_exist_for_every_filter():
    directory = Path(filters.__file__).parent
    for name in filters.FilterModule().filters():
        assert (directory / f"{name}.yml").is_file(), name


def test_cells_with_pools_counts_what_kvm_tuning_will_reserve():
    cells = [
        {"id": 0, "memory_kib": 4194304, "pages": [{"size_kib": 4, "total": 1}, {"size_kib": 2048, "total": 10}]},
        {"id": 1, "memory_kib": 4194304, "pages": [{"size_kib": 4, "total": 1}]},
    ]
    pools = [{"size": "2M", "node": 0, "count": 8}, {"size": "2M", "node": 1, "count": 32}, {"size": "1G", "count": 3}]
    out = guests.cells_with_pools(cells, pools)
    by_node = {c["id"]: {p["size_kib"]: p["total"] for p in c["pages"]} for c in out}
    # More already reserved than asked stays; a new pool is added; host-wide spreads.
    assert by_node == {0: {4: 1, 2048: 10, 1048576: 2}, 1: {4: 1, 2048: 32, 1048576: 1}}
    # The input is not modified.
    assert cells[1]["pages"] == [{"size_kib": 4, "total": 1}]
    with pytest.raises(ValueError, match="size must be 2M or 1G"):
        guests.cells_with_pools(cells, [{"size": "4K", "count": 1}])
