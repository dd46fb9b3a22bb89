# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_host_info through Ansible against the test bed's real libvirtd.

Expected values come from independent sources (virsh, /proc, /sys), not from
the module's own parsing code.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = "kvmops.kvm.libvirt_host_info"
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@pytest.fixture(scope="module")
def info(libvirtd, run_module):
    result = run_module(MODULE, {"uri": libvirtd})
    assert result.rc == 0, result.result.get("msg", result.stdout)
    return result.result


def virsh_version(uri):
    """``virsh version`` lines: "Using library: libvirt 9.0.0", "Running hypervisor: QEMU 7.2.22"."""
    out = subprocess.run(
        [shutil.which("virsh"), "--connect", uri, "--readonly", "version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    library = re.search(r"Using library: libvirt (\S+)", out).group(1)
    hypervisor = re.search(r"Running hypervisor: (\S+) (\S+)", out)
    return library, hypervisor.group(1), hypervisor.group(2)


def meminfo_kib(field):
    text = Path("/proc/meminfo").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB$", text, re.MULTILINE).group(1))


def test_reports_nothing_changed(info):
    assert info["changed"] is False
    assert "ansible_facts" not in info


def test_hypervisor_types(info):
    assert "qemu" in info["hypervisor_types"]
    assert info["kvm_available"] is ("kvm" in info["hypervisor_types"])
    assert "qemu" in info["domain_types_by_arch"][platform.machine()]


def test_numa_cells_cover_every_cpu(info):
    assert len(info["numa_cells"]) >= 1
    cpu_ids = sorted(cpu for cell in info["numa_cells"] for cpu in cell["cpu_ids"])
    assert cpu_ids == list(range(os.cpu_count()))
    for cell in info["numa_cells"]:
        assert cell["memory_kib"] > 0
        assert 0 < cell["free_memory_kib"] <= meminfo_kib("MemTotal")
        assert all(cpu["id"] in cpu["siblings"] for cpu in cell["cpus"])


def test_cpu(info):
    cpu = info["cpu"]
    assert cpu["arch"] == platform.machine()
    assert cpu["model"]
    assert cpu["features"]
    flags_line = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    assert cpu["flags"] == sorted(set(flags_line.split(":", 1)[1].split()))
    expected = "vmx" if "vmx" in cpu["flags"] else "svm" if "svm" in cpu["flags"] else None
    assert cpu["virtualization"] == expected


def test_versions_match_virsh(libvirtd, info):
    library, driver, hypervisor = virsh_version(libvirtd)
    assert info["versions"] == {"libvirt": library, "driver": driver, "hypervisor": hypervisor}
    assert VERSION.match(info["versions"]["libvirt"])
    assert VERSION.match(info["versions"]["hypervisor"])


def test_memory_matches_proc_meminfo(info):
    assert info["memory"]["total_kib"] == meminfo_kib("MemTotal")
    assert 0 < info["memory"]["free_kib"] <= info["memory"]["total_kib"]


def test_hugepages_match_sysfs(info):
    pools = sorted(Path("/sys/kernel/mm/hugepages").glob("hugepages-*kB"))
    expected = {int(p.name[len("hugepages-") : -len("kB")]): int((p / "nr_hugepages").read_text()) for p in pools}
    assert {pool["size_kib"]: pool["total"] for pool in info["hugepages"]} == expected
    for pool in info["hugepages"]:
        assert 0 <= pool["free"] <= pool["total"]
        assert [c["id"] for c in pool["cells"]] == [c["id"] for c in info["numa_cells"]]


def test_iommu_and_nested_match_sysfs(info):
    iommu_class = Path("/sys/class/iommu")
    devices = sorted(os.listdir(iommu_class)) if iommu_class.is_dir() else []
    assert info["iommu"]["devices"] == devices
    assert info["iommu"]["enabled"] is bool(devices)
    nested = [Path(f"/sys/module/{m}/parameters/nested") for m in ("kvm_intel", "kvm_amd")]
    present = [p.read_text().strip() for p in nested if p.exists()]
    assert info["nested_virtualization"] == (present[0] in ("Y", "1") if present else None)


def test_check_mode_returns_the_same_facts(libvirtd, run_module, info):
    checked = run_module(MODULE, {"uri": libvirtd}, check=True)
    assert checked.rc == 0, checked.result.get("msg")
    assert checked["changed"] is False
    assert set(checked.result) >= set(info) - {"invocation"}
    assert [c["cpu_ids"] for c in checked["numa_cells"]] == [c["cpu_ids"] for c in info["numa_cells"]]
    assert checked["versions"] == info["versions"]
    assert checked["hypervisor_types"] == info["hypervisor_types"]


@pytest.mark.parametrize(
    ("uri", "cause"),
    [
        ("qemu:///system?socket=/nonexistent", "Failed to connect socket to '/nonexistent'"),
        ("test+unix:///default?socket=/nonexistent/libvirt-sock", "Failed to connect socket"),
        ("nosuchdriver:///system", "no connection driver available"),
    ],
)
def test_unreachable_uri_fails_naming_it(libvirtd, run_module, uri, cause):
    result = run_module(MODULE, {"uri": uri})
    assert result.rc != 0
    assert result.failed
    msg = result["msg"]
    assert msg.startswith(f"libvirt connection '{uri}': ")
    assert cause in msg
    # libvirt's default error handler would print to stderr; the module silences it.
    assert "\n" not in msg
    assert not result.result.get("module_stderr")


def test_uri_from_module_defaults_action_group(libvirtd, run_tasks):
    """meta/runtime.yml puts the module in group/kvmops.kvm.libvirt, so module_defaults reach it."""
    uri = "qemu:///system?socket=/nonexistent/from-module-defaults"
    block = {
        "name": "uri from the action group",
        "module_defaults": {"group/kvmops.kvm.libvirt": {"uri": uri}},
        "block": [{"name": "host info", MODULE: {}}],
    }
    (result,) = run_tasks([block])
    assert result.failed
    assert result["msg"].startswith(f"libvirt connection '{uri}': ")
