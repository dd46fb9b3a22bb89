# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the kvm_host role: one host_probe result -> preflight findings and the plan of writes.

The role reads the host once with kvmops.kvm.host_probe; these filters decide on
the controller what the host is missing and which writes differ, so a converged
host skips every write task. Each decision calls the pure planner the writing
module runs itself (``_libvirt_conf``, ``_host_files``, ``_systemd_units``), so
"nothing to do" here is what the module would find. Where the probe cannot
tell (no probe, a parse error, a link, an unknown unit), the item is planned
as a change: the module then reads the host again and decides, or fails with
its own message. Documentation: ``kvm_host_preflight.yml``, ``kvm_host_plan.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_files as host_files
from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as libvirt_conf
from ansible_collections.kvmops.kvm.plugins.module_utils import _systemd_units as systemd_units
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

CPUINFO = "/proc/cpuinfo"
DEV_KVM = "/dev/kvm"
_FLAGS = re.compile(r"(?m)^flags\s*:\s*(.*)$")

NO_VIRT_FLAG = "no CPU virtualisation flag (vmx/svm) in /proc/cpuinfo: enable VT-x/AMD-V in the firmware"
NO_DEV_KVM = "no /dev/kvm: load the kvm_intel/kvm_amd (or kvm) kernel module"


def _mapping(value, what):
    if not isinstance(value, Mapping):
        raise AnsibleFilterError(f"{what} must be a dict, not {type(value).__name__}")
    return value


def _list(value, what):
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise AnsibleFilterError(f"{what} must be a list, not {type(value).__name__}")
    return list(value)


def _int(value, what):
    if isinstance(value, bool):
        raise AnsibleFilterError(f"{what} must be an integer, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"{what} must be an integer, not {value!r}") from None


# ---------------------------------------------------------------- preflight


def _cpu_flags(probe, path):
    found = (probe.get("files") or {}).get(path) or {}
    match = _FLAGS.search(found.get("content") or "")
    return match.group(1).split() if match else []


def virt_problems(facts, probe, checks):
    """What keeps guests from running on KVM: the x86 CPU flag and /dev/kvm (none when emulation is allowed)."""
    if checks.get("allow_emulation"):
        return []
    problems = []
    if facts.get("architecture") == "x86_64":
        wanted = set(_list(checks.get("cpu_virt_flags"), "cpu_virt_flags"))
        if not wanted & set(_cpu_flags(probe, checks.get("cpuinfo_path") or CPUINFO)):
            problems.append(NO_VIRT_FLAG)
    dev_kvm_path = checks.get("dev_kvm_path") or DEV_KVM
    dev_kvm = (probe.get("stat") or {}).get(dev_kvm_path)
    if dev_kvm is None:
        raise AnsibleFilterError(f"kvm_host_preflight: the probe result has no stat of {dev_kvm_path}")
    if not dev_kvm.get("exists"):
        problems.append(NO_DEV_KVM)
    return problems


def sanity_problems(facts, checks):
    """Architecture, memory, daemon layout and service manager the role cannot work with."""
    problems = []
    architecture = facts.get("architecture")
    supported = _list(checks.get("supported_architectures"), "supported_architectures")
    if architecture not in supported:
        problems.append(f"architecture {architecture} is not one of {', '.join(supported)}")
    memory = _int(facts.get("memtotal_mb"), "ansible_facts.memtotal_mb")
    minimum = _int(checks.get("min_memory_mb"), "min_memory_mb")
    if memory < minimum:
        problems.append(f"only {facts.get('memtotal_mb')} MiB of RAM, kvm_host_min_memory_mb is {minimum}")
    if checks.get("daemon_mode") == "modular" and not checks.get("modular_supported"):
        problems.append(
            f"kvm_host_daemon_mode modular, but {facts.get('distribution')} "
            f"{facts.get('distribution_major_version')} does not package the modular daemons"
        )
    if facts.get("service_mgr") != "systemd":
        problems.append(f"service manager is {facts.get('service_mgr')}, the role needs systemd")
    return problems


def bad_settings(qemu_settings, daemon_settings):
    """Keys whose values libvirt's syntax cannot hold, by kvmops.kvm.libvirt_conf's own rules (null removes)."""
    merged = {**qemu_settings, **daemon_settings}
    bad = []
    for key, value in merged.items():
        if value is None:
            continue
        try:
            libvirt_conf.normalise_value(key, value)
        except KvmopsError:
            bad.append(key)
    return bad


def foreign_settings(qemu_settings, daemon_settings, foreign_qemu, foreign_daemon):
    """Keys another kvmops role owns, each with the file and the owner named."""
    taken = [f"{key} (qemu.conf, owned by {foreign_qemu[key]})" for key in qemu_settings if key in foreign_qemu]
    taken += [
        f"{key} (daemon config, owned by {foreign_daemon[key]})" for key in daemon_settings if key in foreign_daemon
    ]
    return taken


def kvm_host_preflight(facts, probe, checks):
    """``ansible_facts`` + host_probe result + the role's settings -> problems, bad and foreign settings."""
    facts = _mapping(facts, "kvm_host_preflight: the input (ansible_facts)")
    probe = _mapping(probe, "kvm_host_preflight: probe")
    checks = _mapping(checks, "kvm_host_preflight: checks")
    qemu = dict(_mapping(checks.get("qemu_settings") or {}, "qemu_settings"))
    daemon = dict(_mapping(checks.get("daemon_settings") or {}, "daemon_settings"))
    return {
        "problems": virt_problems(facts, probe, checks) + sanity_problems(facts, checks),
        "bad_settings": bad_settings(qemu, daemon),
        "foreign_settings": foreign_settings(
            qemu,
            daemon,
            _mapping(checks.get("foreign_qemu_keys") or {}, "foreign_qemu_keys"),
            _mapping(checks.get("foreign_daemon_keys") or {}, "foreign_daemon_keys"),
        ),
    }


# --------------------------------------------------------------------- plan


def _attributes_differ(found, item, default_mode):
    mode = item.get("mode") or default_mode
    return (
        found.get("owner") != (item.get("owner") or "root")
        or found.get("group") != (item.get("group") or "root")
        or found.get("mode") is None
        or int(str(found["mode"]), 8) != int(str(mode), 8)
    )


def conf_file_differs(found, item):
    """Whether kvmops.kvm.libvirt_conf would change this file: its settings (same planner) or owner/mode."""
    if not found or not found.get("exists") or found.get("type") != "file" or found.get("content") is None:
        return True
    try:
        changes = libvirt_conf.plan(found["content"], dict(item.get("settings") or {}), label=item["path"])[1]
    except KvmopsError:
        # The module reports the syntax error or bad value itself, naming the line.
        return True
    return bool(changes) or _attributes_differ(found, item, "0644")


def file_differs(found, item):
    """Whether kvmops.kvm.host_files would change this item (same planner on the probed state)."""
    try:
        wanted = host_files.wanted_from_item(dict(item))
    except KvmopsError as exc:
        raise AnsibleFilterError(f"kvm_host_plan: {exc}") from exc
    return host_files.differs_from_probe(wanted, found)


def block_differs(found, item):
    """Whether ansible.builtin.blockinfile would change the file: the block between its markers, owner, mode."""
    if not found or not found.get("exists") or found.get("type") != "file" or found.get("content") is None:
        return True
    marker = item["marker"]
    begin = marker.replace("{mark}", item.get("marker_begin") or "BEGIN") + "\n"
    end = marker.replace("{mark}", item.get("marker_end") or "END") + "\n"
    block = item["block"] if item["block"].endswith("\n") else item["block"] + "\n"
    wanted = [begin, *block.splitlines(True), end]
    lines = found["content"].splitlines(True)
    # blockinfile acts on the last BEGIN and the last END marker.
    starts = [index for index, line in enumerate(lines) if line == begin]
    ends = [index for index, line in enumerate(lines) if line == end]
    if not starts or not ends or lines[starts[-1] : ends[-1] + 1] != wanted:
        return True
    return _attributes_differ(found, item, "0644")


def unit_needs_action(state, item):
    """Whether kvmops.kvm.systemd_units would act on this unit (same planner on the probed state)."""
    return systemd_units.would_act(item, state)


def unit_items(stop, start):
    """The ``units`` list of one kvmops.kvm.systemd_units call: the other layout stopped, then ours started."""
    items = [{"name": name, "enabled": False, "state": "stopped", "if_exists": True} for name in stop]
    items += [{"name": name, "enabled": True, "state": "started"} for name in start]
    return items


def kvm_host_plan(probe, want):
    """host_probe result + what the role wants -> what differs, per write task."""
    want = _mapping(want, "kvm_host_plan: want")
    # A skipped probe (no such keys) leaves every item planned as a change.
    probe = probe if isinstance(probe, Mapping) else {}
    files = probe.get("files") or {}
    units_state = probe.get("units") or {}
    installed = probe.get("packages") or {}

    packages = [str(name) for name in _list(want.get("packages"), "packages")]
    conf_files = [_mapping(item, "conf_files item") for item in _list(want.get("conf_files"), "conf_files")]
    file_items = [_mapping(item, "files item") for item in _list(want.get("files"), "files")]
    blocks = [_mapping(item, "blocks item") for item in _list(want.get("blocks"), "blocks")]
    units = unit_items(
        [str(name) for name in _list(want.get("stop_units"), "stop_units")],
        [str(name) for name in _list(want.get("start_units"), "start_units")],
    )
    seen = set()
    for item in units:
        if item["name"] in seen:
            raise AnsibleFilterError(f"kvm_host_plan: unit {item['name']} is both stopped and started")
        seen.add(item["name"])

    return {
        # host_probe reports installed packages by their plain name: a version
        # pin, glob or file name is never found there, so apt/dnf decides it.
        "packages": [name for name in packages if not installed.get(name)],
        "conf_files": [item["path"] for item in conf_files if conf_file_differs(files.get(item["path"]), item)],
        "files": [item["path"] for item in file_items if file_differs(files.get(item["path"]), item)],
        "blocks": [item["path"] for item in blocks if block_differs(files.get(item["path"]), item)],
        "unit_items": units,
        "units": [item["name"] for item in units if unit_needs_action(units_state.get(item["name"]), item)],
    }


class FilterModule:
    def filters(self):
        return {
            "kvm_host_preflight": kvm_host_preflight,
            "kvm_host_plan": kvm_host_plan,
        }
