# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_host filters: preflight findings and the plan of writes from one host_probe result."""

from __future__ import annotations

import copy
import inspect
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import kvm_host as filters
from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as libvirt_conf
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

FILTER_DIR = Path(filters.__file__).parent
ROLE = Path(__file__).resolve().parents[4] / "roles" / "kvm_host"
HOST_DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
HOST_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())

FACTS = {
    "architecture": "x86_64",
    "memtotal_mb": 8192,
    "distribution": "Debian",
    "distribution_major_version": "12",
    "service_mgr": "systemd",
}
CPUINFO = "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\n\nprocessor\t: 1\nflags\t\t: fpu vme\n"
CHECKS = {
    "allow_emulation": False,
    "min_memory_mb": 4096,
    "daemon_mode": "monolithic",
    "modular_supported": False,
    "supported_architectures": HOST_VARS["__kvm_host_supported_architectures"],
    "cpu_virt_flags": HOST_VARS["__kvm_host_cpu_virt_flags"],
    "qemu_settings": dict(HOST_DEFAULTS["kvm_host_qemu_conf_defaults"]),
    "daemon_settings": dict(HOST_DEFAULTS["kvm_host_libvirtd_conf_defaults"]),
    "foreign_qemu_keys": HOST_VARS["__kvm_host_foreign_qemu_conf_keys"],
    "foreign_daemon_keys": HOST_VARS["__kvm_host_foreign_daemon_conf_keys"],
}


def probe_for(cpuinfo=CPUINFO, dev_kvm=True):
    files = {} if cpuinfo is None else {"/proc/cpuinfo": {"exists": True, "type": "file", "content": cpuinfo}}
    return {"files": files, "stat": {"/dev/kvm": {"exists": dev_kvm, "type": "char" if dev_kvm else None}}}


def preflight(facts=None, probe=None, **checks):
    return filters.kvm_host_preflight(
        {**FACTS, **(facts or {})}, probe_for() if probe is None else probe, {**CHECKS, **checks}
    )


def test_filters_are_exposed():
    assert filters.FilterModule().filters() == {
        "kvm_host_preflight": filters.kvm_host_preflight,
        "kvm_host_plan": filters.kvm_host_plan,
    }


# ------------------------------------------------------------------ preflight


def test_a_good_host_with_the_role_defaults_has_no_findings():
    assert preflight() == {"problems": [], "bad_settings": [], "foreign_settings": []}


def test_every_problem_in_one_list_with_the_roles_sentences():
    found = preflight(
        {
            "architecture": "x86_64",
            "memtotal_mb": 1024,
            "distribution": "Debian",
            "distribution_major_version": "12",
            "service_mgr": "sysvinit",
        },
        probe_for(cpuinfo="flags\t: fpu sse2\n", dev_kvm=False),
        daemon_mode="modular",
    )
    assert found["problems"] == [
        "no CPU virtualisation flag (vmx/svm) in /proc/cpuinfo: enable VT-x/AMD-V in the firmware",
        "no /dev/kvm: load the kvm_intel/kvm_amd (or kvm) kernel module",
        "only 1024 MiB of RAM, kvm_host_min_memory_mb is 4096",
        "kvm_host_daemon_mode modular, but Debian 12 does not package the modular daemons",
        "service manager is sysvinit, the role needs systemd",
    ]


def test_amd_flag_counts_and_only_the_first_flags_line_is_read():
    assert preflight(probe=probe_for(cpuinfo="flags : svm lm\nflags : fpu\n"))["problems"] == []
    assert preflight(probe=probe_for(cpuinfo="flags : fpu\nflags : vmx\n"))["problems"] == [filters.NO_VIRT_FLAG]


def test_emulation_allowed_skips_the_virtualisation_checks_only():
    found = preflight({"memtotal_mb": 512}, probe_for(cpuinfo="", dev_kvm=False), allow_emulation=True)
    assert found["problems"] == ["only 512 MiB of RAM, kvm_host_min_memory_mb is 4096"]


def test_cpu_flags_are_only_checked_on_x86():
    found = preflight({"architecture": "aarch64"}, probe_for(cpuinfo=None))
    assert found["problems"] == []
    # No cpuinfo in the probe on x86 (never read) is no flag, not a crash.
    assert preflight(probe=probe_for(cpuinfo=None))["problems"] == [filters.NO_VIRT_FLAG]


def test_unsupported_architecture_names_the_supported_ones():
    found = preflight({"architecture": "riscv64"}, probe_for(cpuinfo=None))
    assert found["problems"] == ["architecture riscv64 is not one of x86_64, aarch64, ppc64le, s390x"]


def test_memory_compares_as_numbers():
    assert preflight({"memtotal_mb": "4096"})["problems"] == []
    assert preflight({"memtotal_mb": 4095}, min_memory_mb="4096")["problems"] == [
        "only 4095 MiB of RAM, kvm_host_min_memory_mb is 4096"
    ]


def test_modular_where_packaged_is_fine():
    assert preflight(daemon_mode="modular", modular_supported=True)["problems"] == []


def test_custom_probe_paths():
    probe = {"files": {"/x/cpuinfo": {"content": "flags : vmx\n"}}, "stat": {"/x/kvm": {"exists": True}}}
    assert preflight(probe=probe, cpuinfo_path="/x/cpuinfo", dev_kvm_path="/x/kvm")["problems"] == []


def test_a_probe_without_dev_kvm_is_an_error_not_a_finding():
    with pytest.raises(AnsibleFilterError, match="no stat of /dev/kvm"):
        preflight(probe={"files": {}})


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        (None, False),
        (True, False),
        (0, False),
        ("127.0.0.1", False),
        ("it's", False),
        ('say "hi"', False),
        (["cpu", "memory", 3], False),
        ([True], False),
        ([], False),
        ("two\nlines", True),
        ("both ' and \"", True),
        (1.5, True),
        ({"a": 1}, True),
        ([["nested"]], True),
        (["a", None], True),
        (["a", {"b": 1}], True),
    ],
)
def test_values_follow_libvirt_confs_own_rules(value, bad):
    assert preflight(qemu_settings={"key": value})["bad_settings"] == (["key"] if bad else [])
    # The same rule the module writes with, not a copy of it.
    if value is not None:
        try:
            libvirt_conf.normalise_value("key", value)
        except KvmopsError:
            assert bad
        else:
            assert not bad


def test_bad_keys_of_both_dicts_in_order_each_once():
    found = preflight(
        qemu_settings={"a": 1.0, "b": 1, "c": {"x": 1}},
        daemon_settings={"d": "x\ny", "a": 1.0},
    )
    assert found["bad_settings"] == ["a", "c", "d"]


def test_foreign_settings_name_file_and_owner():
    found = preflight(
        qemu_settings={"vnc_listen": "::1", "user": "qemu", "hugetlbfs_mount": None},
        daemon_settings={"auth_unix_rw": "none", "max_clients": 5},
    )
    assert found["foreign_settings"] == [
        "user (qemu.conf, owned by kvm_hardening)",
        "hugetlbfs_mount (qemu.conf, owned by kvm_tuning)",
        "auth_unix_rw (daemon config, owned by kvm_hardening)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["x"], {}, CHECKS), "the input"),
        ((FACTS, "probe", CHECKS), "probe must be a dict"),
        ((FACTS, probe_for(), None), "checks must be a dict"),
        ((FACTS, probe_for(), {**CHECKS, "min_memory_mb": "lots"}), "min_memory_mb must be an integer"),
        ((FACTS, probe_for(), {**CHECKS, "min_memory_mb": True}), "min_memory_mb must be an integer"),
        ((FACTS, probe_for(), {**CHECKS, "supported_architectures": "x86_64"}), "supported_architectures"),
    ],
)
def test_bad_preflight_input_is_a_filter_error(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        filters.kvm_host_preflight(*args)


# ----------------------------------------------------------------------- plan

QEMU_CONF = '# qemu.conf\n#vnc_listen = "0.0.0.0"\nvnc_listen = "127.0.0.1"\n#max_files = 1024\nmax_files = 32768\n'
DAEMON_CONF = "max_clients = 64\n"
ENV = '# Ansible managed\nLIBVIRTD_ARGS=""\n'
BLOCK_BEGIN = "# BEGIN kvmops.kvm.kvm_host: NUMA CPU maps for libnuma\n"
BLOCK_END = "# END kvmops.kvm.kvm_host: NUMA CPU maps for libnuma\n"
BLOCK_LINE = "  /sys/devices/system/node/node[0-9]*/cpumap r,\n"
APPARMOR = "# site rule\n  /srv/** r,\n" + BLOCK_BEGIN + BLOCK_LINE + BLOCK_END

WANT = {
    "packages": ["qemu-system-x86", "libvirt-daemon-system"],
    "conf_files": [
        {
            "path": "/etc/libvirt/qemu.conf",
            "settings": {"vnc_listen": "127.0.0.1", "max_files": 32768, "spice_listen": None},
            "owner": "root",
            "group": "root",
            "mode": "0600",
        },
        {"path": "/etc/libvirt/libvirtd.conf", "settings": {"max_clients": 64}, "mode": "0644"},
    ],
    "files": [{"path": "/etc/default/libvirtd", "content": ENV, "owner": "root", "group": "root", "mode": "0644"}],
    "blocks": [
        {
            "path": "/etc/apparmor.d/local/abstractions/libvirt-qemu",
            "marker": "# {mark} kvmops.kvm.kvm_host: NUMA CPU maps for libnuma",
            "block": BLOCK_LINE,
            "owner": "root",
            "group": "root",
            "mode": "0644",
        }
    ],
    "stop_units": ["virtqemud.service", "virtqemud.socket"],
    "start_units": ["libvirtd.socket", "virtlogd.service", "libvirtd.service"],
}


def _file(content, mode="0644", owner="root", group="root", kind="file"):
    return {"exists": True, "type": kind, "content": content, "mode": mode, "owner": owner, "group": group}


def _unit(active="active", enabled="enabled", load="loaded"):
    return {
        "exists": load != "not-found",
        "load_state": load,
        "active_state": active,
        "sub_state": "running" if active == "active" else "dead",
        "unit_file_state": enabled,
    }


def converged_probe():
    return {
        "changed": False,
        "files": {
            "/etc/libvirt/qemu.conf": _file(QEMU_CONF, mode="0600"),
            "/etc/libvirt/libvirtd.conf": _file(DAEMON_CONF),
            "/etc/default/libvirtd": _file(ENV),
            "/etc/apparmor.d/local/abstractions/libvirt-qemu": _file(APPARMOR),
        },
        "units": {
            # Named by libvirt-guests and guests' scopes, but not installed on Debian.
            "virtqemud.service": _unit("inactive", "", "not-found"),
            "virtqemud.socket": _unit("inactive", "", "not-found"),
            "libvirtd.socket": _unit(),
            "virtlogd.service": _unit(enabled="indirect"),
            "libvirtd.service": _unit(),
        },
        "packages": {"qemu-system-x86": "1:7.2", "libvirt-daemon-system": "9.0.0"},
    }


NOTHING = {"packages": [], "conf_files": [], "files": [], "blocks": [], "units": []}


def plan(probe):
    got = filters.kvm_host_plan(probe, WANT)
    return {key: value for key, value in got.items() if key != "unit_items"}


def test_a_converged_host_plans_nothing():
    assert plan(converged_probe()) == NOTHING


@pytest.mark.parametrize("probe", [None, {}, {"skipped": True, "changed": False}, "not a dict"])
def test_without_a_probe_everything_differs(probe):
    assert plan(probe) == {
        "packages": ["qemu-system-x86", "libvirt-daemon-system"],
        "conf_files": ["/etc/libvirt/qemu.conf", "/etc/libvirt/libvirtd.conf"],
        "files": ["/etc/default/libvirtd"],
        "blocks": ["/etc/apparmor.d/local/abstractions/libvirt-qemu"],
        "units": ["virtqemud.service", "virtqemud.socket", "libvirtd.socket", "virtlogd.service", "libvirtd.service"],
    }


def test_unit_items_are_one_systemd_units_call_stops_first():
    assert filters.kvm_host_plan({}, WANT)["unit_items"] == [
        {"name": "virtqemud.service", "enabled": False, "state": "stopped", "if_exists": True},
        {"name": "virtqemud.socket", "enabled": False, "state": "stopped", "if_exists": True},
        {"name": "libvirtd.socket", "enabled": True, "state": "started"},
        {"name": "virtlogd.service", "enabled": True, "state": "started"},
        {"name": "libvirtd.service", "enabled": True, "state": "started"},
    ]


def _with(path_or_unit, section, value):
    probe = converged_probe()
    probe[section][path_or_unit] = value
    return probe


@pytest.mark.parametrize(
    ("content", "mode", "differs"),
    [
        (QEMU_CONF, "0600", False),
        (QEMU_CONF.replace("32768", "1024"), "0600", True),
        (QEMU_CONF + 'spice_listen = "0.0.0.0"\n', "0600", True),
        (QEMU_CONF + "max_files = 32768\n", "0600", True),  # a duplicate entry is cleaned up
        (QEMU_CONF, "0644", True),
        (QEMU_CONF + "broken = \n", "0600", True),  # the module names the line
        (QEMU_CONF + "# a comment the planner keeps\n", "0600", False),
    ],
)
def test_conf_file_settings_and_mode(content, mode, differs):
    got = plan(_with("/etc/libvirt/qemu.conf", "files", _file(content, mode=mode)))
    assert got["conf_files"] == (["/etc/libvirt/qemu.conf"] if differs else [])


@pytest.mark.parametrize(
    "found",
    [
        {"exists": False, "type": None, "content": None, "mode": None, "owner": None, "group": None},
        _file(DAEMON_CONF, kind="link"),
        _file(DAEMON_CONF, owner="libvirt"),
        _file(DAEMON_CONF, group="kvm"),
    ],
    ids=["missing", "link", "owner", "group"],
)
def test_conf_file_that_differs_otherwise(found):
    assert plan(_with("/etc/libvirt/libvirtd.conf", "files", found))["conf_files"] == ["/etc/libvirt/libvirtd.conf"]


@pytest.mark.parametrize(
    ("found", "differs"),
    [
        (_file(ENV), False),
        (_file(ENV.replace('""', '"--timeout 120"')), True),
        (_file(ENV, mode="0600"), True),
        (_file(ENV, owner="nobody"), True),
        ({"exists": False, "type": None, "content": None, "mode": None, "owner": None, "group": None}, True),
        (_file(None, kind="directory"), True),
    ],
)
def test_whole_files_through_host_files_planner(found, differs):
    got = plan(_with("/etc/default/libvirtd", "files", found))
    assert got["files"] == (["/etc/default/libvirtd"] if differs else [])


def test_a_bad_files_item_is_a_filter_error():
    want = copy.deepcopy(WANT)
    want["files"][0]["mode"] = 420
    with pytest.raises(AnsibleFilterError, match="kvm_host_plan: host file '/etc/default/libvirtd': mode 420"):
        filters.kvm_host_plan(converged_probe(), want)


@pytest.mark.parametrize(
    ("content", "differs"),
    [
        (APPARMOR, False),
        (BLOCK_BEGIN + BLOCK_LINE + BLOCK_END, False),
        (BLOCK_BEGIN + BLOCK_LINE + BLOCK_END + "  /srv/** r,\n", False),
        ("", True),
        ("# site rule\n", True),
        (BLOCK_BEGIN + "  /sys/devices/system/node/node[0-9]*/cpumap rw,\n" + BLOCK_END, True),
        (BLOCK_BEGIN + BLOCK_LINE + BLOCK_END.rstrip("\n"), True),  # blockinfile would end the line
        (BLOCK_END + BLOCK_LINE + BLOCK_BEGIN, True),
        (BLOCK_BEGIN + BLOCK_LINE + BLOCK_END + BLOCK_BEGIN + BLOCK_END, True),  # last markers count
    ],
)
def test_block_between_markers_as_blockinfile_sees_it(content, differs):
    path = "/etc/apparmor.d/local/abstractions/libvirt-qemu"
    assert plan(_with(path, "files", _file(content)))["blocks"] == ([path] if differs else [])


def test_block_attributes_and_a_block_without_final_newline():
    path = "/etc/apparmor.d/local/abstractions/libvirt-qemu"
    assert plan(_with(path, "files", _file(APPARMOR, mode="0600")))["blocks"] == [path]
    want = copy.deepcopy(WANT)
    want["blocks"][0]["block"] = BLOCK_LINE.rstrip("\n")
    assert filters.kvm_host_plan(converged_probe(), want)["blocks"] == []


@pytest.mark.parametrize(
    ("name", "state", "acts"),
    [
        ("libvirtd.socket", _unit("inactive"), True),
        ("libvirtd.socket", _unit(enabled="disabled"), True),
        ("libvirtd.socket", _unit("activating"), False),
        ("libvirtd.service", _unit(enabled="static"), False),
        ("libvirtd.service", _unit("inactive", "", "not-found"), True),  # the module fails, naming it
        ("libvirtd.service", _unit("inactive", "masked", "masked"), True),
        ("virtqemud.socket", _unit(), True),
        ("virtqemud.socket", _unit("inactive", "enabled"), True),
        ("virtqemud.socket", _unit("inactive", "disabled"), False),
        ("virtqemud.socket", _unit("inactive", "static"), False),
    ],
)
def test_units_through_systemd_units_planner(name, state, acts):
    assert plan(_with(name, "units", state))["units"] == ([name] if acts else [])


def test_a_unit_the_probe_did_not_read_differs():
    probe = converged_probe()
    del probe["units"]["virtlogd.service"]
    assert plan(probe)["units"] == ["virtlogd.service"]


def test_packages_not_installed_or_not_plain_names():
    probe = converged_probe()
    probe["packages"]["qemu-system-x86"] = None
    assert plan(probe)["packages"] == ["qemu-system-x86"]
    want = {**WANT, "packages": ["libvirt-daemon-system", "virt-top=1.1*"]}
    assert filters.kvm_host_plan(converged_probe(), want)["packages"] == ["virt-top=1.1*"]


@pytest.mark.parametrize(
    ("want", "message"),
    [
        (None, "want must be a dict"),
        ({**WANT, "packages": "libvirt"}, "packages must be a list"),
        ({**WANT, "conf_files": ["x"]}, "conf_files item must be a dict"),
        ({**WANT, "stop_units": ["libvirtd.socket"]}, "libvirtd.socket is both stopped and started"),
    ],
)
def test_bad_want_is_a_filter_error(want, message):
    with pytest.raises(AnsibleFilterError, match=message):
        filters.kvm_host_plan(converged_probe(), want)


def test_the_probe_is_not_modified():
    probe = converged_probe()
    filters.kvm_host_plan(probe, WANT)
    assert probe == converged_probe()


# ---------------------------------------------------------------------- role


def test_the_role_block_is_the_one_the_plan_compares():
    # vars/main.yml holds the AppArmor rule once, for blockinfile and for the plan.
    block = HOST_VARS["__kvm_host_apparmor_block"]
    assert block["block"] == BLOCK_LINE
    assert block["marker"] == WANT["blocks"][0]["marker"]


@pytest.mark.parametrize("name", ["kvm_host_preflight", "kvm_host_plan"])
def test_documentation_matches_the_filter(name):
    doc = yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    assert name in filters.FilterModule().filters()
    parameters = list(inspect.signature(getattr(filters, name)).parameters)
    assert set(doc["DOCUMENTATION"]["options"]) == {"_input", *parameters[1:]}
    assert doc["DOCUMENTATION"]["positional"] == ", ".join(parameters[1:])
    assert yaml.safe_load(doc["EXAMPLES"])
    assert "_value" in doc["RETURN"]
