# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_tuning filters: validation, planning and the writes a run makes, without a host.

The settings below are what roles/kvm_tuning/vars/main.yml assembles for the
Molecule scenario (two NUMA nodes, one CPU each, GRUB); the probes are what
kvmops.kvm.host_probe returns on the fresh and on the converged lab VM.
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import kvm_tuning as filters
from ansible_collections.kvmops.kvm.plugins.module_utils import _guests as guests
from ansible_collections.kvmops.kvm.plugins.module_utils import _hugepages as hp

ROLE = Path(__file__).resolve().parents[4] / "roles" / "kvm_tuning"
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
ROLE_DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
KNOWN = ROLE_VARS["__kvm_tuning_known_controls"]
ALL = list(KNOWN)

PATHS = {
    "sysctl_file": ROLE_VARS["__kvm_tuning_sysctl_file"],
    "tmpfiles_dir": ROLE_VARS["__kvm_tuning_tmpfiles_dir"],
    "cpuaffinity_file": ROLE_VARS["__kvm_tuning_cpuaffinity_file"],
    "slice_dropin": ROLE_VARS["__kvm_tuning_slice_dropin"],
    "host_units": ROLE_VARS["__kvm_tuning_host_units"],
    "host_dropin_name": ROLE_VARS["__kvm_tuning_host_dropin_name"],
    "grub_dropin": ROLE_VARS["__kvm_tuning_grub_dropin"],
    "args_state_file": ROLE_VARS["__kvm_tuning_args_state_file"],
    "qemu_conf_path": ROLE_VARS["__kvm_tuning_qemu_conf_path"],
}
DEBIAN = yaml.safe_load((ROLE / "vars" / "Debian.yml").read_text())
REDHAT = yaml.safe_load((ROLE / "vars" / "RedHat.yml").read_text())
ARGS = ["isolcpus=1", "nohz_full=1", "rcu_nocbs=1", "irqaffinity=0", "transparent_hugepage=madvise"]
CELLS = [
    {"id": 0, "memory_kib": 1572328, "cpu_ids": [0], "pages": [{"size_kib": 4, "total": 1}, {"size_kib": 2048}]},
    {"id": 1, "memory_kib": 1572864, "cpu_ids": [1], "pages": [{"size_kib": 4, "total": 1}, {"size_kib": 2048}]},
]
HOST_INFO = {"changed": False, "numa_cells": CELLS}
NODE0 = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
NODE1 = "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"


def os_vars(family=DEBIAN):
    return {
        "bootloader": family["__kvm_tuning_bootloader"],
        "tuned_supported": family["__kvm_tuning_tuned_supported"],
        "irqbalance_env": family["__kvm_tuning_irqbalance_env"],
        "ksm_services": family["__kvm_tuning_ksm_services"],
    }


def settings(**changes):
    """The molecule/kvm_tuning/converge.yml inventory on Debian, every control selected."""
    controls = dict(ROLE_DEFAULTS["kvm_tuning_controls_default"], **{"KVM-TUNE-023": True})
    base = {
        "controls": controls,
        "known_controls": KNOWN,
        "selected": ALL,
        "check_mode": False,
        "libvirt_uri": "qemu:///system",
        "sysctls": dict(ROLE_DEFAULTS["kvm_tuning_sysctls"]),
        "reserved_sysctls": ROLE_VARS["__kvm_tuning_reserved_sysctls"],
        "thp": "madvise",
        "ksm": False,
        "tuned_profile": "virtual-host",
        "hugepages": [{"size": "2M", "node": 0, "count": 64}, {"size": "2M", "node": 1, "count": 32}],
        "max_node_percent": 80,
        "hugetlbfs_mounts": [{"path": "/dev/hugepages2M", "size": "2M"}],
        "host_cpus": [0],
        "emulator_cpus": [],
        "kernel_args_extra": ["transparent_hugepage=madvise"],
        "os": os_vars(),
        "paths": PATHS,
    }
    base.update(changes)
    return base


def present(content, mode="0644", kind="file"):
    return {"exists": True, "type": kind, "mode": mode, "owner": "root", "group": "root", "content": content}


ABSENT = {"exists": False, "type": None, "mode": None, "owner": None, "group": None, "content": None}
QEMU_CONF = '# hugetlbfs_mount = "/dev/hugepages"\nuser = "libvirt-qemu"\n'


def probe(rendered=None, **files):
    """What host_probe reads on the lab VM: fresh, or converged when ``rendered`` holds the role's files."""
    rendered = rendered or {}
    wanted = filters.kvm_tuning_probe(settings())
    result = {
        "changed": False,
        "files": {path: ABSENT for path in wanted["files"]},
        "stat": {path: ABSENT for path in wanted["stat"]},
        "sysctls": {"vm.swappiness": "60", "vm.dirty_background_ratio": "10", "vm.dirty_ratio": "20"},
        "units": {
            "irqbalance.service": {
                "exists": False,
                "load_state": "not-found",
                "active_state": "inactive",
                "sub_state": "dead",
                "unit_file_state": "",
            }
        },
        "packages": {"irqbalance": None},
        "commands": {},
    }
    result["sysctls"]["net.core.netdev_max_backlog"] = "1000"
    result["stat"].update({"/usr/sbin/update-grub": present(None), "/boot/grub": present(None, "0755", "directory")})
    result["files"].update(
        {
            "/proc/cmdline": present("console=ttyS0 root=/dev/vda rw\n", "0444"),
            filters.THP_PATH: present("always [madvise] never\n"),
            filters.KSM_PATH: present("0\n"),
            NODE0: present("0\n"),
            NODE1: present("0\n"),
            "/etc/fstab": present("/dev/vda / ext4 defaults 0 1\n"),
            "/proc/mounts": present("/dev/vda / ext4 rw 0 0\n", kind="link"),
            "/etc/libvirt/qemu.conf": present(QEMU_CONF, "0600"),
            "/boot/grub/grub.cfg": present("linux /vmlinuz root=/dev/vda ro\n"),
        }
    )
    for path, text in rendered.items():
        kind = "directory" if text is None else "file"
        section = "stat" if text is None else "files"
        result[section][path] = present(text, "0755" if text is None else "0644", kind)
    result["files"].update(files)
    return result


def rendered_for(plan):
    """Stand-ins for the rendered templates: one distinct text per file."""
    return {item["path"]: f"# {item['path']}\n" for item in plan["files"] if "template" in item}


def converged_probe():
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, probe())
    written = {item["path"]: None for item in plan["files"] if item["state"] == "directory"}
    written.update(rendered_for(plan))
    written.pop(PATHS["grub_dropin"], None)
    result = probe(written)
    result["files"][PATHS["grub_dropin"]] = present(f"# {PATHS['grub_dropin']}\n")
    result["files"][PATHS["args_state_file"]] = present("".join(f"{arg}\n" for arg in ARGS))
    result["files"]["/boot/grub/grub.cfg"] = present(f"linux /vmlinuz root=/dev/vda ro {' '.join(ARGS)}\n")
    result["files"]["/etc/fstab"] = present(
        "/dev/vda / ext4 defaults 0 1\nhugetlbfs /dev/hugepages2M hugetlbfs pagesize=2M 0 0\n"
    )
    result["files"]["/proc/mounts"] = present(
        "/dev/vda / ext4 rw 0 0\nhugetlbfs /dev/hugepages2M hugetlbfs rw,relatime,pagesize=2M 0 0\n"
    )
    result["files"]["/etc/libvirt/qemu.conf"] = present(QEMU_CONF + 'hugetlbfs_mount = ["/dev/hugepages2M"]\n', "0600")
    result["files"][NODE0] = present("64\n")
    result["files"][NODE1] = present("32\n")
    result["sysctls"].update(
        {
            "vm.swappiness": "10",
            "vm.dirty_background_ratio": "5",
            "vm.dirty_ratio": "10",
            "net.core.netdev_max_backlog": "16384",
        }
    )
    result["packages"]["irqbalance"] = "1.9.2-1+b1"
    result["units"]["irqbalance.service"] = {
        "exists": True,
        "load_state": "loaded",
        "active_state": "inactive",
        "sub_state": "dead",
        "unit_file_state": "enabled",
    }
    return result


# --- the filters and their documentation ---------------------------------------------------------


def test_filters_are_exposed():
    assert set(filters.FilterModule().filters()) == {
        "kvm_tuning_probe",
        "kvm_tuning_plan",
        "kvm_tuning_files",
        "kvm_tuning_pools_short",
    }


@pytest.mark.parametrize("name", ["kvm_tuning_probe", "kvm_tuning_plan", "kvm_tuning_files", "kvm_tuning_pools_short"])
def test_documentation_matches_the_filter(name):
    doc = yaml.safe_load((Path(filters.__file__).parent / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    parameters = list(inspect.signature(filters.FilterModule().filters()[name]).parameters)
    assert set(doc["DOCUMENTATION"]["options"]) == {"_input", *parameters[1:]}
    assert doc["EXAMPLES"].strip() and doc["RETURN"]["_value"]["description"]


# --- the page-size table lives once --------------------------------------------------------------


def test_the_page_size_table_is_shared_and_matches_the_argument_specs():
    assert guests.POOL_PAGE_KIB is hp.POOL_PAGE_KIB
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    choices = specs["argument_specs"]["main"]["options"]["kvm_tuning_hugepages"]["options"]["size"]["choices"]
    assert list(hp.POOL_PAGE_KIB) == choices
    assert "__kvm_tuning_page_kib" not in ROLE_VARS


def test_pools_are_normalised_and_a_size_outside_the_table_is_refused():
    assert hp.normalise_pools([{"size": "1G", "count": "4"}]) == [
        {"size": "1G", "count": 4, "node": None, "boot": False}
    ]
    with pytest.raises(ValueError, match="must be one of 2M, 1G"):
        hp.normalise_pools([{"size": "4M", "count": 1}])
    with pytest.raises(AnsibleFilterError, match="kvm_tuning_hugepages"):
        filters.kvm_tuning_plan(settings(hugepages=[{"size": "3M", "count": 1}]), HOST_INFO, probe())


def test_sysfs_paths_and_tmpfiles_lines():
    pools = hp.normalise_pools([{"size": "2M", "node": 1, "count": 32}, {"size": "1G", "count": 2}])
    assert hp.tmpfiles_lines(pools) == [
        f"w {NODE1} - - - - 32",
        "w /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages - - - - 2",
    ]


def test_boot_arguments_host_wide_and_per_node():
    pools = hp.normalise_pools(
        [
            {"size": "2M", "count": 100, "boot": True},
            {"size": "2M", "count": 28, "boot": True},
            {"size": "1G", "node": 1, "count": 4, "boot": True},
            {"size": "1G", "node": 0, "count": 2, "boot": True},
        ]
    )
    assert hp.boot_args(pools) == ["hugepagesz=1G", "hugepages=0:2,1:4", "hugepagesz=2M", "hugepages=128"]


def test_read_count_and_runtime_drift():
    assert [hp.read_count(text) for text in (None, "", "64\n", "junk")] == [0, 0, 64, 0]
    pools = hp.normalise_pools([{"size": "2M", "node": 0, "count": 64}, {"size": "2M", "node": 1, "count": 32}])
    assert hp.runtime_drift(pools, {NODE0: 64, NODE1: 3}) == [(pools[1], 3)]


# --- validation before any change ----------------------------------------------------------------


def test_the_lab_inventory_passes():
    assert filters.kvm_tuning_plan(settings(), HOST_INFO, probe())["problems"] == []


def test_bad_input_names_every_mistake_in_the_order_of_the_old_jinja():
    # molecule/kvm_tuning/bad_input.yml, on a VM without /boot/grub.
    bad = settings(
        hugepages=[{"size": "2M", "node": 0, "count": 700}, {"size": "2M", "node": 5, "count": 8}],
        controls=dict(ROLE_DEFAULTS["kvm_tuning_controls_default"], **{"KVM-TUNE-999": True}),
        host_cpus=[],
        hugetlbfs_mounts=[],
    )
    host = probe()
    host["stat"]["/boot/grub"] = ABSENT
    assert filters.kvm_tuning_plan(bad, HOST_INFO, host)["problems"] == [
        "unknown control id(s) KVM-TUNE-999 in kvm_tuning_controls (known: " + ", ".join(ALL) + "; docs/tuning.md)",
        "kvm_tuning_hugepages: NUMA node 5 does not exist on this host (nodes: 0, 1)",
        "kvm_tuning_hugepages asks 1400 MiB of hugepages on NUMA node 0, more than "
        "kvm_tuning_hugepages_max_node_percent (80%) of its 1535 MiB: 1228 MiB",
        "kernel arguments are wanted (transparent_hugepage=madvise) but /boot/grub is missing: "
        "the host does not boot through GRUB",
    ]


@pytest.mark.parametrize(
    ("pools", "message"),
    [
        (
            [{"size": "2M", "node": 0, "count": 1}, {"size": "2M", "node": 0, "count": 2}],
            "kvm_tuning_hugepages lists 2M pages for NUMA node 0 twice",
        ),
        (
            [{"size": "1G", "node": 1, "count": 1}],
            "kvm_tuning_hugepages: NUMA node 1 offers no 1G pages (page sizes: 4 KiB, 2048 KiB; "
            "1G pages need the pdpe1gb CPU flag)",
        ),
        (
            [{"size": "2M", "count": 1}, {"size": "2M", "node": 0, "count": 1}],
            "kvm_tuning_hugepages mixes host-wide and per-node 2M pools: use one or the other",
        ),
        (
            [{"size": "2M", "node": 0, "count": 1, "boot": True}, {"size": "2M", "node": 1, "count": 1}],
            "kvm_tuning_hugepages reserves 2M pages both at boot and at run time: use one or the other",
        ),
        (
            [{"size": "2M", "count": 1300}],
            "kvm_tuning_hugepages asks 2600 MiB of host-wide hugepages, more than 80% of the host's 3071 MiB: 2457 MiB",
        ),
    ],
)
def test_hugepage_problems(pools, message):
    assert message in filters.kvm_tuning_plan(settings(hugepages=pools), HOST_INFO, probe())["problems"]


def test_without_libvirt_only_the_list_itself_is_checked_and_libvirt_is_named():
    info = {"changed": False, "failed": False, "failed_when_result": False, "msg": "Failed to connect socket"}
    problems = filters.kvm_tuning_plan(
        settings(host_cpus=[], controls=dict(settings()["controls"], **{"KVM-TUNE-023": False})), info, probe()
    )["problems"]
    assert problems == [
        "libvirt is not reachable at qemu:///system (Failed to connect socket): kvm_tuning reads the NUMA "
        "topology through it; run kvmops.kvm.kvm_host first"
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host_cpus": [0, 7]}, "kvm_tuning_host_cpus: CPU 7 does not exist on this host (CPUs: 0,1)"),
        ({"host_cpus": [0], "emulator_cpus": [1]}, "kvm_tuning_host_cpus and kvm_tuning_emulator_cpus leave no CPU"),
        ({"host_cpus": [], "emulator_cpus": [1]}, "kvm_tuning_emulator_cpus needs kvm_tuning_host_cpus"),
        ({"host_cpus": []}, "KVM-TUNE-023 isolates the guest CPUs and needs kvm_tuning_host_cpus"),
        ({"sysctls": {"vm.nr_hugepages": 8, "vm.swappiness": 10}}, "kvm_tuning_sysctls may not set vm.nr_hugepages:"),
        ({"sysctls": {"vm.nope": 1}}, "kvm_tuning_sysctls names sysctls the running kernel does not have: vm.nope"),
        ({"controls": {"KVM-TUNE-001": "yes"}}, "kvm_tuning_controls values must be true or false: KVM-TUNE-001"),
    ],
)
def test_other_problems(changes, message):
    problems = filters.kvm_tuning_plan(settings(**changes), HOST_INFO, probe())["problems"]
    assert any(problem.startswith(message) for problem in problems), problems


def test_grubby_hosts_need_grubby_for_kernel_arguments():
    rhel = settings(os=os_vars(REDHAT))
    problems = filters.kvm_tuning_plan(rhel, HOST_INFO, probe())["problems"]
    assert problems == [
        f"kernel arguments are wanted ({' '.join(ARGS)}) but /usr/sbin/grubby is missing: the host does not boot "
        "through grubby-managed entries"
    ]


# --- facts and derived values --------------------------------------------------------------------


def test_cpu_sets_and_kernel_arguments_of_the_lab():
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, probe())
    # molecule/kvm_tuning/converge.yml asserts the same fact.
    assert plan["cpusets"] == {"host": [0], "emulator": [1], "guest": [1], "guest_by_node": {0: [], 1: [1]}}
    assert plan["kernel_args"] == ARGS
    assert plan["missing_args"] == ARGS
    assert plan["reboot_required"] is True


def test_boot_pools_go_first_and_only_when_their_control_is_on():
    boot = [{"size": "1G", "count": 2, "boot": True}]
    plan = filters.kvm_tuning_plan(settings(hugepages=boot, kernel_args_extra=["isolcpus=1"]), HOST_INFO, probe())
    assert plan["kernel_args"] == ["hugepagesz=1G", "hugepages=2"] + ARGS[:4]
    off = settings(hugepages=boot, controls=dict(settings()["controls"], **{"KVM-TUNE-011": False}))
    assert filters.kvm_tuning_plan(off, HOST_INFO, probe())["kernel_args"] == ARGS
    # 1G pools get their own mount: the inventory names none here.
    plan = filters.kvm_tuning_plan(settings(hugepages=boot, hugetlbfs_mounts=[]), HOST_INFO, probe())
    assert plan["mounts"] == [{"path": "/dev/hugepages1G", "size": "1G"}]
    assert plan["hugetlbfs_paths"] == ["/dev/hugepages", "/dev/hugepages1G"]


def test_no_reboot_without_arguments_and_a_dropped_argument_still_running_needs_one():
    quiet = settings(
        host_cpus=[], controls=dict(settings()["controls"], **{"KVM-TUNE-023": False}), kernel_args_extra=[]
    )
    host = probe()
    assert filters.kvm_tuning_plan(quiet, HOST_INFO, host)["reboot_required"] is False
    host["files"]["/proc/cmdline"] = present("root=/dev/vda isolcpus=1\n")
    host["files"][PATHS["args_state_file"]] = present("isolcpus=1\n")
    assert filters.kvm_tuning_plan(quiet, HOST_INFO, host)["reboot_required"] is True


# --- what the host is asked, and what a run writes ------------------------------------------------


def test_one_probe_reads_everything_the_plan_compares():
    wanted = filters.kvm_tuning_probe(settings())
    assert {
        "/proc/cmdline",
        PATHS["args_state_file"],
        filters.THP_PATH,
        NODE0,
        NODE1,
        "/boot/grub/grub.cfg",
        "/etc/fstab",
        "/proc/mounts",
        PATHS["qemu_conf_path"],
        PATHS["sysctl_file"],
        "/etc/default/irqbalance",
    } <= set(wanted["files"])
    assert {"/usr/sbin/update-grub", "/boot/grub", "/etc/systemd/system/init.scope.d"} <= set(wanted["stat"])
    assert wanted["sysctls"] == list(ROLE_DEFAULTS["kvm_tuning_sysctls"])
    assert wanted["units"] == ["irqbalance.service"]
    assert wanted["packages"] == ["irqbalance"]
    assert wanted["commands"] == {}
    rhel = filters.kvm_tuning_probe(settings(os=os_vars(REDHAT)))
    assert rhel["commands"] == {"grubby": ["grubby", "--info=DEFAULT"]}
    assert rhel["packages"] == ["tuned", "irqbalance"]
    assert rhel["units"] == ["ksm.service", "ksmtuned.service", "tuned.service", "irqbalance.service"]
    assert filters.TUNED_ACTIVE in rhel["files"]


def test_a_fresh_host_gets_every_file_unit_package_and_sysfs_value():
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, probe())
    files = filters.kvm_tuning_files(plan["files"], rendered_for(plan), probe())
    assert [item["path"] for item in files] == [item["path"] for item in plan["files"]]
    assert plan["packages_missing"] == ["irqbalance"]
    assert plan["units"] == [{"name": "irqbalance.service", "enabled": True}]
    assert plan["sysfs_argv"] == [
        "systemd-tmpfiles",
        "--create",
        f"--prefix={NODE0}",
        f"--prefix={NODE1}",
        "/etc/tmpfiles.d/kvmops-tuning-hugepages.conf",
    ]
    assert plan["pool_drift"] == ["2M pages on node 0: 0 -> 64", "2M pages on node 1: 0 -> 32"]
    assert plan["sysctl_drift"] == [
        "vm.swappiness: 60 -> 10",
        "vm.dirty_background_ratio: 10 -> 5",
        "vm.dirty_ratio: 20 -> 10",
        "net.core.netdev_max_backlog: 1000 -> 16384",
    ]
    assert plan["mounts_to_apply"] == [{"path": "/dev/hugepages2M", "size": "2M"}]
    assert [c["action"] for c in plan["qemu_conf_changes"]] == ["add"]
    assert plan["grub_drift"] == [f"missing {arg}" for arg in ARGS]
    assert plan["state_file"] == [
        {"path": PATHS["args_state_file"], "content": "".join(f"{a}\n" for a in ARGS), "mode": "0644"}
    ]
    assert plan["handler_paths"]["systemd"] == [
        PATHS["cpuaffinity_file"],
        "/etc/systemd/system/init.scope.d/50-kvmops-tuning.conf",
        "/etc/systemd/system/system.slice.d/50-kvmops-tuning.conf",
        "/etc/systemd/system/user.slice.d/50-kvmops-tuning.conf",
        PATHS["slice_dropin"],
    ]


def test_a_converged_host_gets_no_write_at_all():
    host = converged_probe()
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, host)
    assert filters.kvm_tuning_files(plan["files"], rendered_for(plan), host) == []
    assert plan["packages_missing"] == []
    assert plan["units"] == []
    assert plan["sysfs_argv"] == []
    assert plan["state_file"] == []
    assert plan["mounts_to_apply"] == []
    assert plan["qemu_conf_changes"] == []
    for drift in ("sysctl_drift", "pool_drift", "grub_drift", "grubby_add", "grubby_remove"):
        assert plan[drift] == [], drift
    assert not plan["thp_drift"] and not plan["ksm_drift"] and not plan["tuned_drift"]
    # Lab VMs boot their kernel directly: the arguments never reach it.
    assert plan["reboot_required"] is True


@pytest.mark.parametrize(
    ("path", "entry"),
    [
        ("/etc/default/irqbalance", present("IRQBALANCE_BANNED_CPULIST=\n")),
        ("/etc/default/irqbalance", present("# /etc/default/irqbalance\n", mode="0600")),
        ("/etc/default/irqbalance", dict(present("# /etc/default/irqbalance\n"), group="adm")),
        (PATHS["grub_dropin"], ABSENT),
    ],
)
def test_one_differing_file_is_the_only_one_written(path, entry):
    host = converged_probe()
    host["files"][path] = entry
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, host)
    assert [item["path"] for item in filters.kvm_tuning_files(plan["files"], rendered_for(plan), host)] == [path]


def test_a_directory_with_another_mode_is_rewritten_and_a_dropped_drop_in_removed():
    host = converged_probe()
    host["stat"]["/etc/systemd/system/user.slice.d"] = present(None, "0700", "directory")
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, host)
    written = filters.kvm_tuning_files(plan["files"], rendered_for(plan), host)
    assert written == [
        {
            "path": "/etc/systemd/system/user.slice.d",
            "state": "directory",
            "mode": "0755",
            "owner": "root",
            "group": "root",
        }
    ]
    # Without kernel arguments the GRUB drop-in goes, and grub.cfg loses them.
    quiet = settings(
        host_cpus=[], controls=dict(settings()["controls"], **{"KVM-TUNE-023": False}), kernel_args_extra=[]
    )
    plan = filters.kvm_tuning_plan(quiet, HOST_INFO, host)
    written = filters.kvm_tuning_files(plan["files"], rendered_for(plan), host)
    assert {"path": PATHS["grub_dropin"], "state": "absent"} in written
    assert plan["grub_drift"] == [f"dropped {arg}" for arg in ARGS]
    assert plan["state_file"][0]["content"] == ""


def test_drift_of_the_running_kernel_alone_is_planned():
    host = converged_probe()
    host["sysctls"]["vm.swappiness"] = "30"
    host["files"][filters.THP_PATH] = present("[always] madvise never\n")
    host["files"][NODE1] = present("31\n")
    host["files"]["/proc/mounts"] = present("/dev/vda / ext4 rw 0 0\n")
    host["units"]["irqbalance.service"]["unit_file_state"] = "disabled"
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, host)
    assert plan["sysctl_drift"] == ["vm.swappiness: 30 -> 10"]
    assert plan["thp_drift"] is True
    assert plan["pool_drift"] == ["2M pages on node 1: 31 -> 32"]
    assert plan["sysfs_argv"] == [
        "systemd-tmpfiles",
        "--create",
        f"--prefix={filters.THP_PATH}",
        f"--prefix={NODE1}",
        "/etc/tmpfiles.d/kvmops-tuning-thp.conf",
        "/etc/tmpfiles.d/kvmops-tuning-hugepages.conf",
    ]
    assert plan["mounts_to_apply"] == [{"path": "/dev/hugepages2M", "size": "2M"}]
    assert plan["units"] == [{"name": "irqbalance.service", "enabled": True}]
    assert filters.kvm_tuning_files(plan["files"], rendered_for(plan), host) == []


def test_multi_value_sysctls_compare_as_sysctl_prints_them():
    host = converged_probe()
    host["sysctls"]["net.ipv4.tcp_rmem"] = "4096 131072 6291456"
    wanted = dict(ROLE_DEFAULTS["kvm_tuning_sysctls"], **{"net.ipv4.tcp_rmem": "4096\t131072  6291456"})
    assert filters.kvm_tuning_plan(settings(sysctls=wanted), HOST_INFO, host)["sysctl_drift"] == []


def test_only_the_selected_controls_write():
    # As `--tags kvm_tuning_memory`: tasks/select.yml selected 002 and 003 only.
    plan = filters.kvm_tuning_plan(settings(selected=["KVM-TUNE-002", "KVM-TUNE-003"]), HOST_INFO, probe())
    assert [item["path"] for item in plan["files"]] == [
        "/etc/tmpfiles.d/kvmops-tuning-thp.conf",
        "/etc/tmpfiles.d/kvmops-tuning-ksm.conf",
    ]
    assert plan["units"] == [] and plan["packages_missing"] == [] and plan["sysfs_argv"] == []
    assert plan["sysctl_drift"] == [] and plan["pool_drift"] == [] and plan["state_file"] == []
    assert plan["reboot_required"] is False
    # A control switched off writes nothing even when selected.
    off = settings(controls=dict(settings()["controls"], **{"KVM-TUNE-022": False}))
    plan = filters.kvm_tuning_plan(off, HOST_INFO, probe())
    assert "/etc/default/irqbalance" not in [item["path"] for item in plan["files"]]
    assert plan["packages_missing"] == [] and plan["units"] == []


def test_a_package_about_to_be_installed_forces_its_files_and_its_unit():
    host = converged_probe()
    host["packages"]["irqbalance"] = None
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, host)
    assert plan["packages_missing"] == ["irqbalance"]
    assert plan["units"] == [{"name": "irqbalance.service", "enabled": True}]
    written = filters.kvm_tuning_files(plan["files"], rendered_for(plan), host)
    assert [item["path"] for item in written] == ["/etc/default/irqbalance"]
    # In check mode the package is only simulated: its unit may not exist yet.
    plan = filters.kvm_tuning_plan(settings(check_mode=True), HOST_INFO, host)
    assert plan["units"] == [{"name": "irqbalance.service", "enabled": True, "if_exists": True}]


def test_several_host_cpus_start_irqbalance():
    cells = [dict(CELLS[0], cpu_ids=[0, 1]), dict(CELLS[1], cpu_ids=[2, 3])]
    plan = filters.kvm_tuning_plan(settings(host_cpus=[0, 2]), {"numa_cells": cells}, converged_probe())
    assert plan["units"] == [{"name": "irqbalance.service", "enabled": True, "state": "started"}]
    assert plan["cpusets"]["guest_by_node"] == {0: [1], 1: [3]}


def test_grubby_adds_and_removes_arguments_on_the_rhel_family():
    host = probe()
    host["stat"]["/usr/sbin/grubby"] = present(None, "0755")
    host["commands"] = {"grubby": {"rc": 0, "stdout": 'index=0\nargs="ro crashkernel=auto isolcpus=1 old=1"\n'}}
    host["files"][PATHS["args_state_file"]] = present("old=1\nisolcpus=1\n")
    plan = filters.kvm_tuning_plan(settings(os=os_vars(REDHAT)), HOST_INFO, host)
    assert plan["problems"] == []
    assert plan["grubby_add"] == ARGS[1:]
    assert plan["grubby_remove"] == ["old=1"]
    assert plan["grub_drift"] == []
    assert PATHS["grub_dropin"] not in [item["path"] for item in plan["files"]]


def test_qemu_conf_is_planned_by_libvirt_conf_s_own_planner():
    host = converged_probe()
    host["files"]["/etc/libvirt/qemu.conf"] = present(QEMU_CONF + 'hugetlbfs_mount = "/dev/hugepages"\n', "0600")
    changes = filters.kvm_tuning_plan(settings(), HOST_INFO, host)["qemu_conf_changes"]
    assert changes == [
        {"name": "hugetlbfs_mount", "action": "set", "before": "/dev/hugepages", "after": ["/dev/hugepages2M"]}
    ]
    host["files"]["/etc/libvirt/qemu.conf"] = present("user = \n", "0600")
    assert filters.kvm_tuning_plan(settings(), HOST_INFO, host)["qemu_conf_changes"][0]["action"] == "unreadable"


def test_a_mount_with_other_options_in_fstab_is_applied():
    host = converged_probe()
    host["files"]["/etc/fstab"] = present("hugetlbfs /dev/hugepages2M hugetlbfs pagesize=1G 0 0\n")
    assert filters.kvm_tuning_plan(settings(), HOST_INFO, host)["mounts_to_apply"] == [
        {"path": "/dev/hugepages2M", "size": "2M"}
    ]


def test_pools_read_back_short():
    pools = settings()["hugepages"]
    after = {"files": {NODE1: present("20\n")}}
    # Node 0 was not resized, so not read back: only node 1 counts.
    assert filters.kvm_tuning_pools_short(pools, after) == ["20 of 32 2M pages on node 1"]
    assert filters.kvm_tuning_pools_short(pools, {"files": {NODE1: present("32\n")}}) == []


def test_bad_filter_input():
    with pytest.raises(AnsibleFilterError, match="settings must be a dict"):
        filters.kvm_tuning_plan("nope", HOST_INFO, probe())
    with pytest.raises(AnsibleFilterError, match="list of CPU ids"):
        filters.kvm_tuning_plan(settings(host_cpus="0"), HOST_INFO, probe())
    with pytest.raises(AnsibleFilterError, match="the plan's files list"):
        filters.kvm_tuning_files("x", {})
    plan = filters.kvm_tuning_plan(settings(), HOST_INFO, probe())
    with pytest.raises(AnsibleFilterError, match="no rendered content for /etc/sysctl.d"):
        filters.kvm_tuning_files(plan["files"], {})


def test_inputs_are_not_modified():
    given, host = settings(), converged_probe()
    before = copy.deepcopy((given, host))
    filters.kvm_tuning_plan(given, HOST_INFO, host)
    assert (given, host) == before


def test_every_control_has_a_select_task_with_its_own_tags():
    # The batched writers take the items of the controls tasks/select.yml
    # selected; each select task must carry exactly its control's block tags.
    tasks = yaml.safe_load((ROLE / "tasks" / "select.yml").read_text())
    by_control = {task["name"].split(" | ")[0]: task for task in tasks}
    assert list(by_control) == ALL
    for control, task in by_control.items():
        assert task["tags"] == [control, f"kvm_tuning_{KNOWN[control]['area']}"]
        assert task["ansible.builtin.set_fact"]["__kvm_tuning_selected"] == (
            f"{{{{ __kvm_tuning_selected + ['{control}'] }}}}"
        )


def test_the_role_passes_every_option_the_probe_filter_plans():
    tasks = yaml.safe_load((ROLE / "tasks" / "validate.yml").read_text())
    probe_task = next(task for task in tasks if "kvmops.kvm.host_probe" in task)
    assert set(probe_task["kvmops.kvm.host_probe"]) == set(filters.kvm_tuning_probe(settings()))
