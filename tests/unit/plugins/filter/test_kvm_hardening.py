# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvm_hardening filters: validation, host state and the checks that decide the role's writes.

The role reads the host once with host_probe; these tests feed the filters
probe results as that module returns them and check every refusal
validation names, the comparisons that make a converged host a no-op, and
the selection of batched items by control and by --tags/--skip-tags.
"""

from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.filter import kvm_hardening as filters
from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as conf
from ansible_collections.kvmops.kvm.plugins.module_utils._systemd_units import parse_show

FILTER_DIR = Path(filters.__file__).parent
ROLE = Path(__file__).resolve().parents[4] / "roles" / "kvm_hardening"
ROLE_DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
ROLE_VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
KNOWN = ROLE_VARS["__kvm_hardening_known_controls"]
QEMU = "/etc/libvirt/qemu.conf"
QEMU_TEXT = '# shipped comments\n#vnc_listen = "0.0.0.0"\nvnc_listen = "127.0.0.1"\nsecurity_driver = "apparmor"\n'
MEMINFO = "MemTotal:        2030592 kB\nMemFree:          100000 kB\n"
CPUINFO = "processor\t: 0\nmodel name\t: QEMU\n\nprocessor\t: 1\nmodel name\t: QEMU\n"
SYSCTLS = {"kernel.kptr_restrict": 2, "net.ipv4.tcp_syncookies": 1}


def text_file(content):
    return {"exists": content is not None, "content": content, "mode": "0644", "owner": "root", "group": "root"}


def probe(**changes):
    """A converged Debian host with AppArmor, as host_probe reports it."""
    result = {
        "changed": False,
        "files": {
            "/proc/meminfo": text_file(MEMINFO),
            "/proc/cpuinfo": text_file(CPUINFO),
            "/sys/module/apparmor/parameters/enabled": text_file("Y\n"),
            "/sys/fs/selinux/enforce": text_file(None),
            QEMU: text_file(QEMU_TEXT),
        },
        "stat": {"/dev/kvm": {"exists": True, "type": "char", "mode": "0660", "owner": "root", "group": "kvm"}},
        "sysctls": {"kernel.kptr_restrict": "2", "net.ipv4.tcp_syncookies": "1"},
        "packages": {"apparmor": "3.0.8-3", "auditd": "1:3.0.9-1", "nftables": "1.0.6-2"},
        "commands": {
            "daemon_label": {"rc": 0, "stdout": "libvirtd (enforce)\n", "stderr": ""},
            "nft_table": {"rc": 0, "stdout": "table inet kvmops_firewall {\n}\n", "stderr": ""},
            "operator_group": {"rc": 0, "stdout": "libvirt:x:113:alice,bob\n", "stderr": ""},
        },
        "units": {},
        "globs": {},
    }
    for key, value in changes.items():
        result[key] = value
    return result


def settings(**changes):
    result = {
        "controls": dict(ROLE_DEFAULTS["kvm_hardening_controls_default"]),
        "known_controls": KNOWN,
        "mac": "auto",
        "mac_effective": "apparmor",
        "os_family": "Debian",
        "distribution": "Debian",
        "check_mode": False,
        "run_tags": ["all"],
        "skip_tags": [],
        "packages": ["apparmor", "auditd", "nftables"],
        "qemu_conf_path": QEMU,
        "loopback": ROLE_VARS["__kvm_hardening_loopback"],
        "console_tls": False,
        "firewall_admin_networks": ["198.51.100.0/24"],
        "host_reserved_memory_mb": 512,
        "host_reserved_cpu_percent": 20,
        "sysctls": SYSCTLS,
        "socket_modes": ["0660", "0660"],
        "operators": ["alice"],
        "selinux_module": "kvmops_libvirt",
    }
    result.update(changes)
    return result


def controls(**switches):
    on = dict(ROLE_DEFAULTS["kvm_hardening_controls_default"])
    on.update({key.replace("_", "-"): value for key, value in switches.items()})
    return on


def plan(probe_result=None, **setting_changes):
    return filters.kvm_hardening_plan(probe_result or probe(), settings(**setting_changes))


NAMES = [
    "kvm_hardening_plan",
    "kvm_hardening_conf_changes",
    "kvm_hardening_items",
    "kvm_hardening_files_differ",
    "kvm_hardening_units_differ",
]


def test_filters_are_exposed():
    assert filters.FilterModule().filters() == {name: getattr(filters, name) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_documentation_matches_the_filter(name):
    doc = yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == name
    parameters = list(inspect.signature(getattr(filters, name)).parameters)
    assert set(doc["DOCUMENTATION"]["options"]) == {"_input", *parameters[1:]}
    assert [p.strip() for p in doc["DOCUMENTATION"]["positional"].split(",")] == parameters[1:]
    assert yaml.safe_load(doc["EXAMPLES"])
    assert "_value" in doc["RETURN"]


# --- a converged host --------------------------------------------------------------------------


def test_converged_host_has_no_problem_and_nothing_to_do():
    got = plan()
    assert got["problems"] == []
    assert got["host"] == {
        "memtotal_mb": 1983,
        "vcpus": 2,
        "apparmor_enabled": True,
        "selinux_enabled": False,
        "selinux_enforcing": False,
        "sysctls": {"kernel.kptr_restrict": "2", "net.ipv4.tcp_syncookies": "1"},
    }
    assert got["qemu_conf"] == {"vnc_listen": "127.0.0.1", "security_driver": "apparmor"}
    assert got["sysctl_drift"] == []
    assert got["packages_missing"] == []
    assert got["packages_pending"] is False
    assert got["daemon_confined"] is True
    assert got["nft_table_loaded"] is True
    assert got["group_exists"] is True
    assert got["operators_to_add"] == []
    assert (got["dev_kvm_exists"], got["dev_kvm_differs"]) == (True, False)
    assert got["relabel"] == []


def test_the_inputs_are_not_modified():
    probe_result, wanted = probe(), settings()
    before = copy.deepcopy((probe_result, wanted))
    filters.kvm_hardening_plan(probe_result, wanted)
    assert (probe_result, wanted) == before


# --- validation: every refusal, in one list ----------------------------------------------------


def test_unknown_id_and_missing_admin_networks_are_both_named():
    # What molecule/kvm_hardening_selinux/bad_input.yml asserts on the fresh VM.
    got = plan(controls={**controls(), "KVM-HARD-12": False}, firewall_admin_networks=[])
    assert got["problems"][0].startswith("unknown control id(s) KVM-HARD-12 in kvm_hardening_controls (known: ")
    assert got["problems"][0].endswith("KVM-HARD-050; docs/hardening-controls.md)")
    assert got["problems"][1].startswith("KVM-HARD-040 needs kvm_hardening_firewall_admin_networks")
    assert len(got["problems"]) == 2


def test_control_values_must_be_booleans():
    got = plan(controls=controls(KVM_HARD_031="no", KVM_HARD_032=1))
    assert got["problems"] == ["kvm_hardening_controls values must be true or false: KVM-HARD-031, KVM-HARD-032"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"mac": "smack", "mac_effective": "smack"}, "kvm_hardening_mac smack is not auto, apparmor or selinux"),
        ({"os_family": "RedHat", "distribution": "Rocky"}, "AppArmor is not available for the RHEL family"),
        ({"mac_effective": "selinux", "distribution": "Ubuntu"}, "SELinux is not supported on Ubuntu"),
        ({"mac_effective": "selinux"}, "SELinux is not active in the running kernel; on Debian"),
        ({"host_reserved_memory_mb": 1983}, "kvm_hardening_host_reserved_memory_mb 1983 leaves no memory"),
        ({"host_reserved_cpu_percent": 200}, "kvm_hardening_host_reserved_cpu_percent 200 leaves no CPU"),
        ({"socket_modes": ["0660", "rw"]}, 'socket mode rw is not an octal string such as "0660"'),
    ],
)
def test_what_the_host_cannot_do_is_refused(changes, problem):
    problems = plan(**changes)["problems"]
    assert any(found.startswith(problem) for found in problems), problems


def test_apparmor_must_be_enabled_while_its_control_is_on():
    files = probe()["files"] | {"/sys/module/apparmor/parameters/enabled": text_file("N\n")}
    assert plan(probe(files=files))["problems"][0].startswith("AppArmor is not enabled in the running kernel")
    assert plan(probe(files=files), controls=controls(KVM_HARD_001=False))["problems"] == []


def test_reservations_are_checked_only_while_the_slice_control_is_on():
    off = controls(KVM_HARD_050=False)
    assert plan(controls=off, host_reserved_memory_mb=99999, host_reserved_cpu_percent=999)["problems"] == []


def test_selinux_on_debian_is_accepted_when_active():
    files = probe()["files"] | {"/sys/fs/selinux/enforce": text_file("1")}
    got = plan(probe(files=files), mac_effective="selinux")
    assert got["problems"] == []
    assert (got["host"]["selinux_enabled"], got["host"]["selinux_enforcing"]) == (True, True)


@pytest.mark.parametrize(
    ("content", "cause"),
    [(None, "(does not exist)"), ("security_driver = \n", "line 1")],
)
def test_unreadable_qemu_conf_is_a_problem(content, cause):
    files = probe()["files"] | {QEMU: text_file(content)}
    problems = plan(probe(files=files))["problems"]
    assert len(problems) == 1
    assert problems[0].startswith(f"{QEMU} cannot be read (")
    assert cause in problems[0]
    assert problems[0].endswith("is libvirt installed? Run kvmops.kvm.kvm_host first")


@pytest.mark.parametrize(
    ("line", "tls", "refused"),
    [
        ('vnc_listen = "0.0.0.0"', False, True),
        ('spice_listen = "::"', False, True),
        ('vnc_listen = "0.0.0.0"', True, False),
        ('vnc_listen = "::1"', False, False),
        ('vnc_listen = "localhost"', False, False),
    ],
)
def test_consoles_beyond_loopback_need_tls(line, tls, refused):
    files = probe()["files"] | {QEMU: text_file(line + "\n")}
    problems = plan(probe(files=files), console_tls=tls)["problems"]
    assert bool(problems) == refused
    if refused:
        # As libvirt reads it: vnc_listen = 0.0.0.0.
        shown = line.replace('"', "")
        expected = f"consoles listen beyond loopback ({shown} in qemu.conf, from kvm_host_qemu_conf)"
        assert problems[0].startswith(expected)


def test_console_check_follows_its_control():
    files = probe()["files"] | {QEMU: text_file('vnc_listen = "0.0.0.0"\n')}
    assert plan(probe(files=files), controls=controls(KVM_HARD_013=False))["problems"] == []


def test_sysctls_the_kernel_lacks_are_refused_while_the_control_is_on():
    running = {"kernel.kptr_restrict": "2", "net.ipv4.tcp_syncookies": None}
    problems = plan(probe(sysctls=running))["problems"]
    expected = "kvm_hardening_sysctls names sysctls the running kernel does not have: net.ipv4.tcp_syncookies"
    assert problems == [expected]
    assert plan(probe(sysctls=running), controls=controls(KVM_HARD_030=False))["problems"] == []


def test_a_probe_without_meminfo_is_a_filter_error():
    files = probe()["files"] | {"/proc/meminfo": text_file(None)}
    with pytest.raises(AnsibleFilterError, match="MemTotal"):
        plan(probe(files=files))


@pytest.mark.parametrize(("value", "what"), [([], "the input"), ("x", "the input")])
def test_bad_input_is_a_filter_error(value, what):
    with pytest.raises(AnsibleFilterError, match=f"kvm_hardening_plan: {what}"):
        filters.kvm_hardening_plan(value, settings())


@pytest.mark.parametrize("key", ["loopback", "known_controls", "qemu_conf_path"])
def test_missing_setting_is_a_filter_error(key):
    incomplete = settings()
    del incomplete[key]
    with pytest.raises(AnsibleFilterError, match=f"settings lack '{key}'"):
        filters.kvm_hardening_plan(probe(), incomplete)


# --- what differs --------------------------------------------------------------------------------


def test_sysctl_drift_names_running_and_wanted_values():
    running = {"kernel.kptr_restrict": "1", "net.ipv4.tcp_syncookies": "1"}
    assert plan(probe(sysctls=running))["sysctl_drift"] == ["kernel.kptr_restrict: 1 -> 2"]


def test_sysctl_values_compare_as_sysctl_prints_them():
    wanted = {"net.ipv4.tcp_rmem": "4096   87380\t6291456"}
    running = {"net.ipv4.tcp_rmem": "4096 87380 6291456"}
    assert plan(probe(sysctls=running), sysctls=wanted)["sysctl_drift"] == []


def test_missing_packages_are_pending_only_in_check_mode():
    packages = {"apparmor": "3.0.8-3", "auditd": None, "nftables": None}
    got = plan(probe(packages=packages))
    assert (got["packages_missing"], got["packages_pending"]) == (["auditd", "nftables"], False)
    assert plan(probe(packages=packages), check_mode=True)["packages_pending"] is True
    assert plan(check_mode=True)["packages_pending"] is False


@pytest.mark.parametrize(
    ("stdout", "confined"),
    [("libvirtd (enforce)\n", True), ("unconfined\n", False), ("", False)],
)
def test_daemon_label(stdout, confined):
    commands = probe()["commands"] | {"daemon_label": {"rc": 0 if stdout else 1, "stdout": stdout, "stderr": ""}}
    assert plan(probe(commands=commands))["daemon_confined"] is confined


def test_firewall_table_missing():
    commands = probe()["commands"] | {"nft_table": {"rc": 1, "stdout": "", "stderr": "No such file or directory"}}
    assert plan(probe(commands=commands))["nft_table_loaded"] is False
    assert plan(probe(commands={}))["nft_table_loaded"] is False


@pytest.mark.parametrize(
    ("stdout", "loaded"),
    [("400 kvmops_libvirt cil\n100 base pp\n", True), ("100 base pp\n100 kvmops_libvirt_old pp\n", False)],
)
def test_selinux_module(stdout, loaded):
    commands = {"semodules": {"rc": 0, "stdout": stdout, "stderr": ""}}
    assert plan(probe(commands=commands))["semodule_loaded"] is loaded


def test_relabel_lists_what_restorecon_would_change():
    line = "Would relabel /srv/img/base.img from unconfined_u:object_r:var_t:s0 to system_u:object_r:virt_image_t:s0"
    commands = {"restorecon": {"rc": 0, "stdout": line + "\n\n", "stderr": ""}}
    assert plan(probe(commands=commands))["relabel"] == [line]


@pytest.mark.parametrize(
    ("group", "operators", "to_add", "exists"),
    [
        ({"rc": 0, "stdout": "libvirt:x:113:alice,bob\n"}, ["alice", "carol"], ["carol"], True),
        # A user whose primary group it is is not a member: ansible.builtin.user adds them too.
        ({"rc": 0, "stdout": "libvirt:x:113:\n"}, ["alice"], ["alice"], True),
        ({"rc": 2, "stdout": ""}, ["alice"], ["alice"], False),
    ],
)
def test_operators_not_in_the_group(group, operators, to_add, exists):
    commands = {"operator_group": {**group, "stderr": ""}}
    got = plan(probe(commands=commands), operators=operators)
    assert (got["operators_to_add"], got["group_exists"]) == (to_add, exists)


@pytest.mark.parametrize(
    ("dev", "differs"),
    [
        ({"exists": True, "mode": "0666", "owner": "root", "group": "kvm"}, True),
        ({"exists": True, "mode": "0660", "owner": "root", "group": "root"}, True),
        ({"exists": False, "mode": None, "owner": None, "group": None}, False),
    ],
)
def test_dev_kvm(dev, differs):
    assert plan(probe(stat={"/dev/kvm": dev}))["dev_kvm_differs"] is differs


# --- which controls apply and which the tags select ------------------------------------------------


def test_active_controls_follow_switches_and_the_mac():
    active = plan(controls=controls(KVM_HARD_031=False))["active"]
    assert "KVM-HARD-001" in active
    assert not {"KVM-HARD-002", "KVM-HARD-006", "KVM-HARD-015", "KVM-HARD-031"} & set(active)


def test_selinux_module_control_needs_debian_active_selinux_and_its_tools():
    selinux = probe()["files"] | {"/sys/fs/selinux/enforce": text_file("1")}
    assert "KVM-HARD-006" in plan(probe(files=selinux), mac_effective="selinux")["active"]
    assert "KVM-HARD-006" not in plan(probe(files=selinux), mac_effective="selinux", os_family="RedHat")["active"]
    pending = probe(files=selinux, packages={"apparmor": None})
    assert "KVM-HARD-006" not in plan(pending, mac_effective="selinux", check_mode=True)["active"]


@pytest.mark.parametrize(
    ("run", "skip", "selected", "fallback"),
    [
        # --tags KVM-HARD-031: only its file.
        (["KVM-HARD-031"], [], ["KVM-HARD-031"], ["KVM-HARD-031"]),
        # --tags kvm_hardening_libvirt: KVM-HARD-022 lives in libvirt.yml too.
        (["kvm_hardening_libvirt"], [], ["KVM-HARD-020", "KVM-HARD-021", "KVM-HARD-022"], None),
        (["kvm_hardening_cgroups", "kvm_ovs"], [], ["KVM-HARD-050"], ["KVM-HARD-050"]),
        # --tags hardening, a tag the play gave the role: the task ran for every control;
        # its twin tagged `always` serves none (it runs for --tags kvm_ovs too).
        (["hardening"], [], "all", []),
        (["kvm_ovs"], [], "all", []),
        (["tagged"], [], "all", "all"),
        # --skip-tags KVM-HARD-031: the batched task is skipped whole, its twin writes the rest.
        (["all"], ["KVM-HARD-031"], "all but 031", "all but 031"),
        (["all"], ["kvm_hardening_kernel"], "not kernel", "not kernel"),
    ],
)
def test_tags_select_controls(run, skip, selected, fallback):
    got = plan(run_tags=run, skip_tags=skip)
    active = got["active"]
    kernel = {"KVM-HARD-030", "KVM-HARD-031", "KVM-HARD-032", "KVM-HARD-033"}
    named = {
        "all": active,
        "all but 031": [key for key in active if key != "KVM-HARD-031"],
        "not kernel": [key for key in active if key not in kernel],
    }
    assert got["selected"] == (named[selected] if isinstance(selected, str) else selected)
    if fallback is not None:
        assert got["selected_fallback"] == (named[fallback] if isinstance(fallback, str) else fallback)


# --- libvirt config files: libvirt_conf's own planner --------------------------------------------


def test_conf_changes_are_libvirt_conf_plans():
    wanted = {"security_driver": "apparmor", "seccomp_sandbox": True, "cgroup_device_acl": ["/dev/null"]}
    got = filters.kvm_hardening_conf_changes(text_file(QEMU_TEXT), wanted, QEMU)
    assert got == [change.as_dict() for change in conf.plan(QEMU_TEXT, wanted)[1]]
    assert [change["name"] for change in got] == ["seccomp_sandbox", "cgroup_device_acl"]


def test_conf_without_changes_is_empty():
    assert filters.kvm_hardening_conf_changes(text_file(QEMU_TEXT), {"security_driver": "apparmor"}) == []


def test_missing_conf_file_gets_every_setting():
    got = filters.kvm_hardening_conf_changes(text_file(None), {"auth_tcp": "sasl"}, "/etc/libvirt/libvirtd.conf")
    assert got == [{"name": "auth_tcp", "action": "add", "before": None, "after": "sasl"}]


def test_conf_value_libvirt_cannot_hold_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="kvm_hardening_conf_changes: .*cannot be written"):
        filters.kvm_hardening_conf_changes(text_file(QEMU_TEXT), {"seccomp_sandbox": 1.5}, QEMU)


# --- batched items ------------------------------------------------------------------------------------


def test_items_of_selected_controls_without_their_keys():
    items = [
        {"control": "KVM-HARD-030", "path": "/etc/sysctl.d/a.conf", "content": "x\n"},
        {"control": "KVM-HARD-031", "path": "/etc/modprobe.d/b.conf", "content": "y\n"},
        {"control": "KVM-HARD-040", "when": False, "path": "/etc/kvmops", "state": "directory"},
        {"control": "KVM-HARD-040", "when": "true", "path": "/etc/kvmops/firewall.nft", "content": "z\n"},
    ]
    got = filters.kvm_hardening_items(items, ["KVM-HARD-030", "KVM-HARD-040"])
    assert got == [
        {"path": "/etc/sysctl.d/a.conf", "content": "x\n"},
        {"path": "/etc/kvmops/firewall.nft", "content": "z\n"},
    ]
    assert "control" in items[0]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ("x", "the input must be a list of dicts"),
        ([{"path": "/a"}], "item #0 must be a dict with a control key"),
        ([{"control": "KVM-HARD-030", "when": "maybe"}], "item #0: when is not a boolean"),
    ],
)
def test_bad_items_are_a_filter_error(items, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        filters.kvm_hardening_items(items, ["KVM-HARD-030"])


def _batched_tasks():
    tasks = yaml.safe_load((ROLE / "tasks" / "files.yml").read_text())
    return {task["register"]: task for task in tasks if "register" in task}


@pytest.mark.parametrize(
    ("register", "items"),
    [
        ("__kvm_hardening_files_result", "__kvm_hardening_file_items"),
        ("__kvm_hardening_units_result", "__kvm_hardening_unit_items"),
    ],
)
def test_batched_task_carries_the_tags_of_every_control_it_serves(register, items):
    served = {item["control"] for item in ROLE_VARS[items]}
    task = _batched_tasks()[register]
    expected = set()
    for key in served:
        expected |= filters.control_tags(key, KNOWN[key])
    assert set(task["tags"]) | {"kvm_hardening"} == expected
    ids = sorted(key.removeprefix("KVM-HARD-") for key in served)
    assert task["name"].startswith("KVM-HARD-" + ", ".join(ids) + " | ")


@pytest.mark.parametrize("register", ["__kvm_hardening_files_fallback_result", "__kvm_hardening_units_fallback_result"])
def test_each_batched_task_has_a_twin_for_skipped_tags(register):
    task = _batched_tasks()[register]
    assert task["tags"] == ["always"]
    assert task["vars"]["__kvm_hardening_selection"] == "{{ __kvm_hardening_plan.selected_fallback }}"


# --- files and units: the modules' own planners on what the probe read -------------------------------

SYSCTL_FILE = "/etc/sysctl.d/60-kvmops-hardening.conf"
NFT_FILE = "/etc/kvmops/firewall.nft"


def file_probe(**files):
    return {
        "files": files,
        "stat": {
            "/etc/kvmops": {"exists": True, "type": "directory", "mode": "0755", "owner": "root", "group": "root"}
        },
    }


def on_host(content, mode="0644", kind="file", owner="root"):
    return {"exists": True, "type": kind, "content": content, "mode": mode, "owner": owner, "group": "root"}


FILE_ITEMS = [
    {"path": "/etc/kvmops", "state": "directory"},
    {"path": SYSCTL_FILE, "content": "kernel.kptr_restrict = 2\n"},
    {"path": NFT_FILE, "content": "table inet t {}\n", "mode": "0600", "validate": "nft -c -f %s"},
]


def test_files_that_match_do_not_differ():
    probe_result = file_probe(
        **{SYSCTL_FILE: on_host("kernel.kptr_restrict = 2\n"), NFT_FILE: on_host("table inet t {}\n", "0600")}
    )
    assert filters.kvm_hardening_files_differ(FILE_ITEMS, probe_result) == []


@pytest.mark.parametrize(
    ("sysctl", "nft"),
    [
        (on_host("kernel.kptr_restrict = 1\n"), on_host("table inet u {}\n", "0600")),
        (on_host("kernel.kptr_restrict = 2\n", owner="bin"), on_host("table inet t {}\n", "0644")),
        ({"exists": False, "content": None}, on_host(None, "0600", kind="link")),
    ],
)
def test_content_owner_mode_missing_and_refused_paths_differ(sysctl, nft):
    probe_result = file_probe(**{SYSCTL_FILE: sysctl, NFT_FILE: nft})
    assert filters.kvm_hardening_files_differ(FILE_ITEMS, probe_result) == [SYSCTL_FILE, NFT_FILE]


def test_paths_the_probe_did_not_read_differ():
    assert filters.kvm_hardening_files_differ(FILE_ITEMS, {"files": {}, "stat": {}}) == [
        "/etc/kvmops",
        SYSCTL_FILE,
        NFT_FILE,
    ]


SHOW = """Id=auditd.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled

Id=apparmor.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=enabled

Id=kvmops-firewall.service
LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
"""
UNITS = parse_show(SHOW, ["auditd.service", "apparmor.service", "kvmops-firewall.service"])


def test_units_that_differ_from_the_probe():
    items = [
        {"name": "auditd.service", "enabled": True, "state": "started"},
        {"name": "apparmor.service", "enabled": True, "state": "started"},
        {"name": "kvmops-firewall.service", "enabled": True, "if_exists": True},
        {"name": "firewalld.service", "enabled": True},
    ]
    got = filters.kvm_hardening_units_differ(items, {"units": UNITS})
    assert got == ["apparmor.service", "kvmops-firewall.service", "firewalld.service"]
    assert filters.kvm_hardening_units_differ(items[:1], {"units": UNITS}) == []


@pytest.mark.parametrize("name", ["kvm_hardening_files_differ", "kvm_hardening_units_differ"])
@pytest.mark.parametrize(("items", "probe_result"), [("x", {}), ([], []), (["x"], {})])
def test_bad_differ_input_is_a_filter_error(name, items, probe_result):
    with pytest.raises(AnsibleFilterError, match=name):
        getattr(filters, name)(items, probe_result)


def test_the_probe_reads_every_managed_path_and_unit():
    items = ROLE_VARS["__kvm_hardening_file_items"]
    files = {item["path"] for item in items if item.get("state", "file") == "file"}
    dirs = {item["path"] for item in items if item.get("state") == "directory"}
    assert set(ROLE_VARS["__kvm_hardening_managed_files"]) == files
    assert set(ROLE_VARS["__kvm_hardening_managed_dirs"]) == dirs
    units = [item["name"] for item in ROLE_VARS["__kvm_hardening_unit_items"]]
    assert ROLE_VARS["__kvm_hardening_probe_units"] == units
