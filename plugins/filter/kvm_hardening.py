# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the kvm_hardening role: one read of the host -> problems, host state and what differs.

The role reads everything it checks in one kvmops.kvm.host_probe run; these
filters turn that read, with the inventory's settings, into the refusals
validation reports and the few writes the role still has to make, so a
converged host costs one module run. The libvirt config files, the files and
the units are compared with the pure planners of libvirt_conf, host_files and
systemd_units, never copies of them. The documentation lives in one
``<filter>.yml`` per filter, as ansible-doc wants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_files as host_files
from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as conf
from ansible_collections.kvmops.kvm.plugins.module_utils import _systemd_units as systemd_units
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

ROLE_TAG = "kvm_hardening"
MEMINFO = "/proc/meminfo"
CPUINFO = "/proc/cpuinfo"
APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
SELINUX_ENFORCE = "/sys/fs/selinux/enforce"
DEV_KVM = "/dev/kvm"
DEV_KVM_WANTED = {"owner": "root", "group": "kvm", "mode": "0660"}
_SOCKET_MODE = re.compile(r"^0?[0-7]{3}$")
_PROCESSOR = re.compile(r"^processor\s*:", re.M)
_MEMTOTAL = re.compile(r"^MemTotal:\s+(\d+)", re.M)


def _mapping(value, what):
    if not isinstance(value, Mapping):
        raise AnsibleFilterError(f"{what} must be a dict, not {type(value).__name__}")
    return value


def _file(probe, path):
    """A host_probe ``files`` entry; a path the probe was not asked for counts as missing."""
    return (probe.get("files") or {}).get(path) or {"exists": False, "content": None}


def _command(probe, label):
    """A host_probe ``commands`` entry, or None when the probe did not run that command."""
    return (probe.get("commands") or {}).get(label)


def host_state(probe, sysctl_keys):
    """Memory, CPUs, LSM switches and the running value of ``sysctl_keys`` from a host_probe result."""
    meminfo = _file(probe, MEMINFO)["content"]
    match = _MEMTOTAL.search(meminfo or "")
    if not match:
        raise AnsibleFilterError(f"kvm_hardening_plan: the probe holds no MemTotal line of {MEMINFO}")
    selinux = _file(probe, SELINUX_ENFORCE)
    sysctls = probe.get("sysctls") or {}
    return {
        "memtotal_mb": int(match.group(1)) // 1024,
        "vcpus": len(_PROCESSOR.findall(_file(probe, CPUINFO)["content"] or "")),
        "apparmor_enabled": (_file(probe, APPARMOR_ENABLED)["content"] or "").strip() == "Y",
        "selinux_enabled": bool(selinux["exists"]),
        "selinux_enforcing": (selinux["content"] or "").strip() == "1",
        "sysctls": {key: sysctls.get(key) for key in sysctl_keys},
    }


def _qemu_conf(probe, path):
    """(settings of qemu.conf, None) or ({}, why it cannot be read)."""
    found = _file(probe, path)
    if not found["exists"] or found["content"] is None:
        return {}, "does not exist"
    try:
        return conf.values(found["content"], label=path), None
    except KvmopsError as exc:
        return {}, str(exc)


def control_problems(on, known):
    unknown = [key for key in on if key not in known]
    not_bool = [key for key, value in on.items() if not isinstance(value, bool)]
    problems = []
    if unknown:
        problems.append(
            f"unknown control id(s) {', '.join(unknown)} in kvm_hardening_controls"
            f" (known: {', '.join(known)}; docs/hardening-controls.md)"
        )
    if not_bool:
        problems.append(f"kvm_hardening_controls values must be true or false: {', '.join(not_bool)}")
    return problems


def host_problems(settings, host, qemu_settings, qemu_error):
    """What the inventory asks that this host cannot do, in the order validation always named them."""
    on = settings["controls"]
    mac = settings["mac_effective"]
    family = settings["os_family"]
    problems = []
    if mac not in ("apparmor", "selinux"):
        problems.append(f"kvm_hardening_mac {settings['mac']} is not auto, apparmor or selinux")
    if mac == "apparmor" and family == "RedHat":
        problems.append("AppArmor is not available for the RHEL family; use kvm_hardening_mac: selinux")
    if mac == "selinux" and settings["distribution"] == "Ubuntu":
        problems.append("SELinux is not supported on Ubuntu by this role; use kvm_hardening_mac: apparmor")
    if mac == "apparmor" and on.get("KVM-HARD-001") and not host["apparmor_enabled"]:
        problems.append(
            "AppArmor is not enabled in the running kernel; boot with apparmor=1 security=apparmor,"
            " or turn KVM-HARD-001 off"
        )
    if mac == "selinux" and family == "Debian" and not host["selinux_enabled"]:
        problems.append(
            "SELinux is not active in the running kernel; on Debian switch with selinux-activate"
            " and reboot before hardening with kvm_hardening_mac: selinux"
        )
    if qemu_error:
        problems.append(
            f"{settings['qemu_conf_path']} cannot be read ({qemu_error}): is libvirt installed?"
            " Run kvmops.kvm.kvm_host first"
        )
    loopback = settings["loopback"]
    listen = [
        f"{name} = {value}"
        for name, value in qemu_settings.items()
        if name in ("vnc_listen", "spice_listen") and value not in loopback
    ]
    if on.get("KVM-HARD-013") and listen and not settings["console_tls"]:
        problems.append(
            f"consoles listen beyond loopback ({', '.join(listen)} in qemu.conf, from kvm_host_qemu_conf) without"
            " TLS: set kvm_hardening_console_tls: true once the VNC/SPICE certificates are in place, or listen on"
            " 127.0.0.1"
        )
    if on.get("KVM-HARD-040") and not settings["firewall_admin_networks"]:
        problems.append(
            "KVM-HARD-040 needs kvm_hardening_firewall_admin_networks: the networks SSH and"
            " libvirt may be reached from (or turn the control off)"
        )
    reserved_mb = int(settings["host_reserved_memory_mb"])
    reserved_cpu = int(settings["host_reserved_cpu_percent"])
    if on.get("KVM-HARD-050") and host["memtotal_mb"] - reserved_mb < 1:
        problems.append(
            f"kvm_hardening_host_reserved_memory_mb {reserved_mb} leaves no memory for guests"
            f" on a host with {host['memtotal_mb']} MiB"
        )
    if on.get("KVM-HARD-050") and reserved_cpu >= host["vcpus"] * 100:
        problems.append(
            f"kvm_hardening_host_reserved_cpu_percent {reserved_cpu} leaves no CPU for guests"
            f" on a host with {host['vcpus']} CPUs"
        )
    unknown = [key for key, value in host["sysctls"].items() if value is None]
    if on.get("KVM-HARD-030") and unknown:
        problems.append(f"kvm_hardening_sysctls names sysctls the running kernel does not have: {', '.join(unknown)}")
    for mode in settings["socket_modes"]:
        if not _SOCKET_MODE.match(str(mode)):
            problems.append(f'socket mode {mode} is not an octal string such as "0660"')
    return problems


def sysctl_drift(wanted, running):
    """``key: running -> wanted`` for every sysctl whose running value differs (whitespace runs count as one)."""
    drift = []
    for key, value in wanted.items():
        now = running.get(key)
        if now is None or now != " ".join(str(value).split()):
            drift.append(f"{key}: {'' if now is None else now} -> {value}")
    return drift


def active_controls(settings, host, pending):
    """Control ids that are on and apply to this host (MAC in use, OS family, SELinux active)."""
    on = settings["controls"]
    mac = settings["mac_effective"]
    conditions = {
        "KVM-HARD-001": mac == "apparmor",
        "KVM-HARD-002": mac == "selinux",
        "KVM-HARD-003": mac == "selinux",
        "KVM-HARD-004": mac == "selinux",
        "KVM-HARD-006": mac == "selinux"
        and settings["os_family"] == "Debian"
        and host["selinux_enabled"]
        and not pending,
    }
    return [key for key in settings["known_controls"] if on.get(key) is True and conditions.get(key, True)]


def control_tags(key, info):
    """The tags a control's tasks carry: its id, the role, its area and the area of the file it lives in."""
    areas = [info.get("area")] + list(info.get("also") or [])
    return {key, ROLE_TAG} | {f"{ROLE_TAG}_{area}" for area in areas if area}


def selected_controls(active, known, run_tags, skip_tags, task_tags_selected):
    """The active controls ``--tags``/``--skip-tags`` select.

    ``task_tags_selected`` is true for a task that carries the tags of every
    control it serves and ran: when none of the run tags is a control's, it
    was chosen by a tag it inherits (the play's role tag) and serves every
    control. A task that runs only because it is tagged ``always`` serves
    just the controls whose own tags are selected.
    """
    run, skip = set(run_tags or ["all"]), set(skip_tags or [])
    tags = {key: control_tags(key, known.get(key) or {}) for key in active}
    chosen = [key for key in active if not tags[key] & skip]
    if run & {"all", "tagged"}:
        return chosen
    matching = [key for key in chosen if tags[key] & run]
    if matching or not task_tags_selected:
        return matching
    every_tag = set().union(*tags.values()) if tags else set()
    return [] if every_tag & run else chosen


def _operators_to_add(probe, operators):
    found = _command(probe, "operator_group")
    if not found or found["rc"] != 0:
        return list(operators), False
    fields = found["stdout"].strip().split(":")
    members = set(fields[3].split(",")) if len(fields) > 3 and fields[3] else set()
    return [user for user in operators if user not in members], True


def _dev_kvm(probe):
    found = (probe.get("stat") or {}).get(DEV_KVM) or {"exists": False}
    return bool(found.get("exists")), any(found.get(key) != value for key, value in DEV_KVM_WANTED.items())


def kvm_hardening_plan(probe, settings):
    """host_probe result + role settings -> problems, host state and the checks that decide the writes."""
    probe = _mapping(probe, "kvm_hardening_plan: the input (a host_probe result)")
    settings = dict(_mapping(settings, "kvm_hardening_plan: settings"))
    on = dict(_mapping(settings.get("controls") or {}, "kvm_hardening_plan: settings.controls"))
    settings["controls"] = on
    wanted_sysctls = dict(settings.get("sysctls") or {})
    try:
        known = dict(settings["known_controls"])
        host = host_state(probe, list(wanted_sysctls))
        qemu_settings, qemu_error = _qemu_conf(probe, settings["qemu_conf_path"])
        problems = control_problems(on, known) + host_problems(settings, host, qemu_settings, qemu_error)
    except KeyError as exc:
        raise AnsibleFilterError(f"kvm_hardening_plan: settings lack {exc}") from exc
    versions = probe.get("packages") or {}
    missing = [name for name in settings.get("packages") or [] if versions.get(name) is None]
    pending = bool(settings.get("check_mode")) and bool(missing)
    active = active_controls(settings, host, pending)
    run_tags, skip_tags = settings.get("run_tags"), settings.get("skip_tags")
    label = _command(probe, "daemon_label")
    nft = _command(probe, "nft_table")
    semodules = _command(probe, "semodules")
    restorecon = _command(probe, "restorecon")
    operators_to_add, group_exists = _operators_to_add(probe, settings.get("operators") or [])
    dev_kvm_exists, dev_kvm_differs = _dev_kvm(probe)
    return {
        "problems": problems,
        "host": host,
        "qemu_conf": qemu_settings,
        "packages_missing": missing,
        "packages_pending": pending,
        "active": active,
        "selected": selected_controls(active, known, run_tags, skip_tags, True),
        "selected_fallback": selected_controls(active, known, run_tags, skip_tags, False),
        "sysctl_drift": sysctl_drift(wanted_sysctls, host["sysctls"]),
        "daemon_confined": bool(label) and "enforce" in label["stdout"],
        "nft_table_loaded": bool(nft) and nft["rc"] == 0,
        "semodule_loaded": bool(semodules) and settings.get("selinux_module") in semodules["stdout"].split(),
        "relabel": [line for line in (restorecon or {}).get("stdout", "").splitlines() if line.strip()],
        "group_exists": group_exists,
        "operators_to_add": operators_to_add,
        "dev_kvm_exists": dev_kvm_exists,
        "dev_kvm_differs": dev_kvm_exists and dev_kvm_differs,
    }


def kvm_hardening_conf_changes(probed, settings, path="<text>"):
    """A host_probe ``files`` entry of a libvirt config file -> the changes libvirt_conf would make for ``settings``."""
    probed = _mapping(probed or {"exists": False, "content": None}, "kvm_hardening_conf_changes: the input")
    settings = _mapping(settings, "kvm_hardening_conf_changes: settings")
    try:
        _text, changes = conf.plan(probed.get("content") or "", dict(settings), label=path)
    except KvmopsError as exc:
        raise AnsibleFilterError(f"kvm_hardening_conf_changes: {exc}") from exc
    return [change.as_dict() for change in changes]


def kvm_hardening_items(items, selected):
    """Items of a batched task (each with ``control`` and an optional ``when``) -> those of the selected controls.

    The ``control`` and ``when`` keys are dropped, so the result is what
    host_files or systemd_units take.
    """
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise AnsibleFilterError("kvm_hardening_items: the input must be a list of dicts")
    selected = set(selected or [])
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or "control" not in item:
            raise AnsibleFilterError(f"kvm_hardening_items: item #{index} must be a dict with a control key")
        try:
            wanted = boolean(item.get("when", True), strict=True)
        except TypeError as exc:
            raise AnsibleFilterError(f"kvm_hardening_items: item #{index}: when is not a boolean") from exc
        if item["control"] in selected and wanted:
            out.append({key: value for key, value in item.items() if key not in ("control", "when")})
    return out


def kvm_hardening_files_differ(files, probe):
    """host_files items -> the paths whose file or directory differs from what host_probe read.

    A path the probe did not read, or one host_files would refuse, counts as
    differing: the module then runs and decides (or fails) itself.
    """
    if not isinstance(files, Sequence) or isinstance(files, (str, bytes)):
        raise AnsibleFilterError("kvm_hardening_files_differ: the input must be a list of host_files items")
    probe = _mapping(probe, "kvm_hardening_files_differ: probe")
    read = {**(probe.get("stat") or {}), **(probe.get("files") or {})}
    differ = []
    for item in files:
        item = _mapping(item, "kvm_hardening_files_differ: an item")
        try:
            wanted = host_files.wanted_from_item(dict(item))
        except KvmopsError:
            # host_files refuses it with its own message.
            differ.append(item.get("path"))
            continue
        if host_files.differs_from_probe(wanted, read.get(item.get("path"))):
            differ.append(item["path"])
    return differ


def kvm_hardening_units_differ(units, probe):
    """systemd_units items -> the units whose enabled/active state differs from what host_probe read.

    A unit the probe did not read or systemd does not know counts as
    differing, so the module runs and reports it (or skips it with if_exists).
    """
    if not isinstance(units, Sequence) or isinstance(units, (str, bytes)):
        raise AnsibleFilterError("kvm_hardening_units_differ: the input must be a list of systemd_units items")
    probe = _mapping(probe, "kvm_hardening_units_differ: probe")
    read = probe.get("units") or {}
    differ = []
    for item in units:
        item = _mapping(item, "kvm_hardening_units_differ: an item")
        state = read.get(item.get("name"))
        # A unit systemd does not know yet may be one this run writes (the
        # firewall's): it differs, so systemd_units runs after the reload.
        if not state or not state.get("exists") or systemd_units.would_act(item, state):
            differ.append(item.get("name"))
    return differ


class FilterModule:
    def filters(self):
        return {
            "kvm_hardening_plan": kvm_hardening_plan,
            "kvm_hardening_conf_changes": kvm_hardening_conf_changes,
            "kvm_hardening_items": kvm_hardening_items,
            "kvm_hardening_files_differ": kvm_hardening_files_differ,
            "kvm_hardening_units_differ": kvm_hardening_units_differ,
        }
