# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the kvm_tuning role: read once, plan on the controller, write only what differs.

``kvm_tuning_probe`` says what the role's one kvmops.kvm.host_probe run reads;
``kvm_tuning_plan`` turns the role's settings, libvirt_host_info's topology
and that probe into the checks, the facts and the writes of the run;
``kvm_tuning_files`` joins the planned files with their rendered templates
and keeps those kvmops.kvm.host_files would change; ``kvm_tuning_pools_short``
reads resized pools back. Pure computation that reuses the collection's own
planners: hugepage rules ``_hugepages.py``, files ``_host_files.py``, units
``_systemd_units.py``, qemu.conf ``_libvirt_conf.py``. The documentation is
one ``.yml`` file per filter, as ansible-doc wants.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence

from ansible.errors import AnsibleFilterError

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_files as hf
from ansible_collections.kvmops.kvm.plugins.module_utils import _hugepages as hp
from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_conf as libvirt_conf
from ansible_collections.kvmops.kvm.plugins.module_utils import _systemd_units as su
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

THP_PATH = "/sys/kernel/mm/transparent_hugepage/enabled"
KSM_PATH = "/sys/kernel/mm/ksm/run"
CMDLINE = "/proc/cmdline"
TUNED_ACTIVE = "/etc/tuned/active_profile"
GRUB_CFG = "/boot/grub/grub.cfg"
FSTAB = "/etc/fstab"
MOUNTS = "/proc/mounts"
# What must exist for kernel arguments to reach the host's boot: GRUB's tool
# and the directory grub-install makes, or grubby.
BOOTLOADER_PATHS = {"grub": ["/usr/sbin/update-grub", "/boot/grub"], "grubby": ["/usr/sbin/grubby"]}
BOOTLOADER_NAMES = {"grub": "GRUB", "grubby": "grubby-managed entries"}
_GRUBBY_ARGS = re.compile(r'^args="?([^"\n]*)"?$', re.M)


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _settings(value):
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("kvm_tuning: settings must be a dict (the role's __kvm_tuning_settings)")
    return value


def _cpu_ids(values, what):
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise AnsibleFilterError(f"kvm_tuning: {what} must be a list of CPU ids")
    try:
        return sorted({int(value) for value in values})
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"kvm_tuning: {what} must be a list of CPU ids: {exc}") from exc


class _Host:
    """The probe's answers; what it did not read is missing."""

    def __init__(self, probe):
        self.probe = probe if isinstance(probe, Mapping) else {}

    def _get(self, section, key):
        return (self.probe.get(section) or {}).get(key)

    def file(self, path):
        return self._get("files", path) or self._get("stat", path) or {}

    def text(self, path):
        entry = self._get("files", path) or {}
        return entry.get("content") if entry.get("exists") else None

    def exists(self, path):
        return bool(self.file(path).get("exists"))

    def sysctl(self, key):
        return self._get("sysctls", key)

    def package(self, name):
        return self._get("packages", name)

    def unit(self, name):
        return self._get("units", name)

    def command(self, label):
        return self._get("commands", label) or {}

    def observed(self, path):
        """The path as host_files would observe it."""
        return hf.observed_from_probe(self.file(path))


def _would_change(item, host):
    """Whether kvmops.kvm.host_files would change ``item``, by its own planner on what the probe read."""
    try:
        wanted = hf.wanted_from_item(item)
    except KvmopsError:
        return True  # host_files then fails with the same message
    return hf.differs_from_probe(wanted, host.file(item["path"]))


def _unit_would_change(item, host):
    return su.would_act(item, host.unit(item["name"]))


def _pools(settings):
    try:
        return hp.normalise_pools(settings.get("hugepages") or [])
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"kvm_tuning: kvm_tuning_hugepages: {exc}") from exc


def _mounts(settings, pools):
    """hugetlbfs mounts: the inventory's, or one for 1G pages when any are configured."""
    if settings.get("hugetlbfs_mounts"):
        return [{"path": m["path"], "size": str(m["size"])} for m in settings["hugetlbfs_mounts"]]
    return [{"path": "/dev/hugepages1G", "size": "1G"}] if any(p["size"] == "1G" for p in pools) else []


def _cpu_sets(settings, cells):
    host = _cpu_ids(settings.get("host_cpus") or [], "kvm_tuning_host_cpus")
    emulator = _cpu_ids(settings.get("emulator_cpus") or [], "kvm_tuning_emulator_cpus")
    every = sorted({cpu for cell in cells for cpu in cell.get("cpu_ids") or []})
    guest = [cpu for cpu in every if cpu not in host and cpu not in emulator]
    machine = sorted(set(guest) | set(emulator))
    return {
        "all": every,
        "host": host,
        "emulator": emulator,
        "guest": guest,
        "machine": machine,
        "partitioned": bool(host),
    }


def _selection(settings):
    controls = settings.get("controls") or {}
    selected = set(settings.get("selected") or [])

    def on(cid):
        return controls.get(cid) is True

    def active(cid):
        # On, and chosen by this run's --tags/--skip-tags (tasks/select.yml).
        return on(cid) and cid in selected

    return on, active


def _state(settings, on, host, cells):
    """What the plan derives from the inventory, the topology and the host's kernel command line."""
    paths = settings["paths"]
    pools = _pools(settings)
    cpus = _cpu_sets(settings, cells)
    boot = [pool for pool in pools if pool["boot"]]
    guests = ",".join(map(str, cpus["guest"]))
    isolation = (
        [
            f"isolcpus={guests}",
            f"nohz_full={guests}",
            f"rcu_nocbs={guests}",
            f"irqaffinity={','.join(map(str, cpus['host']))}",
        ]
        if on("KVM-TUNE-023") and cpus["partitioned"]
        else []
    )
    hugepage_args = hp.boot_args(boot)
    extra = list(settings.get("kernel_args_extra") or [])
    return {
        "pools": pools,
        "cpus": cpus,
        "runtime_pools": [pool for pool in pools if not pool["boot"]],
        "boot_pools": boot,
        "mounts": _mounts(settings, pools),
        "hugepage_args": hugepage_args,
        "isolation_args": isolation,
        "kernel_args": _unique((hugepage_args if on("KVM-TUNE-011") else []) + isolation + extra),
        "previous_args": (host.text(paths["args_state_file"]) or "").split(),
        "cmdline": (host.text(CMDLINE) or "").split(),
        "ksm_wanted": "1" if settings.get("ksm") else "0",
        "tuned_profile": f"kvmops-{settings.get('tuned_profile')}",
    }


def _file(control, path, template=None, template_vars=None, state="file"):
    item = {"control": control, "path": path, "state": state}
    if state != "absent":
        item.update(mode="0644" if state == "file" else "0755", owner="root", group="root")
    if template:
        item.update(template=template, template_vars=template_vars or {})
    return item


def _tmpfiles(settings, control, name, lines):
    path = f"{settings['paths']['tmpfiles_dir']}/kvmops-tuning-{name}.conf"
    return _file(control, path, "tmpfiles.conf.j2", {"__kvm_tuning_control": control, "__kvm_tuning_lines": lines})


def _writes(settings, active, state):
    """Files, packages and units of the selected controls that are on; each item names its control."""
    paths, os_vars, cpus = settings["paths"], settings["os"], state["cpus"]
    files, units, packages = [], [], []
    if active("KVM-TUNE-001"):
        files.append(_file("KVM-TUNE-001", paths["sysctl_file"], "sysctl.conf.j2"))
    if active("KVM-TUNE-002"):
        files.append(_tmpfiles(settings, "KVM-TUNE-002", "thp", [f"w {THP_PATH} - - - - {settings.get('thp')}"]))
    if active("KVM-TUNE-003"):
        # Where the OS ships KSM daemons (RHEL's ksmtuned) they would flip
        # /sys/kernel/mm/ksm/run back; they follow the same choice.
        ksm = bool(settings.get("ksm"))
        for name in os_vars["ksm_services"]:
            units.append(
                {"control": "KVM-TUNE-003", "name": name, "enabled": ksm, "state": "started" if ksm else "stopped"}
            )
        files.append(_tmpfiles(settings, "KVM-TUNE-003", "ksm", [f"w {KSM_PATH} - - - - {state['ksm_wanted']}"]))
    if active("KVM-TUNE-004") and os_vars["tuned_supported"]:
        packages.append({"control": "KVM-TUNE-004", "name": "tuned"})
        directory = f"/etc/tuned/{state['tuned_profile']}"
        files.append(_file("KVM-TUNE-004", directory, state="directory"))
        files.append(_file("KVM-TUNE-004", f"{directory}/tuned.conf", "tuned.conf.j2"))
        units.append({"control": "KVM-TUNE-004", "name": "tuned.service", "enabled": True, "state": "started"})
    if active("KVM-TUNE-010") and state["runtime_pools"]:
        files.append(_tmpfiles(settings, "KVM-TUNE-010", "hugepages", hp.tmpfiles_lines(state["runtime_pools"])))
    if active("KVM-TUNE-020") and cpus["partitioned"]:
        files.append(_file("KVM-TUNE-020", posixpath.dirname(paths["cpuaffinity_file"]), state="directory"))
        files.append(_file("KVM-TUNE-020", paths["cpuaffinity_file"], "system-cpuaffinity.conf.j2"))
        for unit in paths["host_units"]:
            directory = f"/etc/systemd/system/{unit['unit']}.d"
            files.append(_file("KVM-TUNE-020", directory, state="directory"))
            dropin = f"{directory}/{paths['host_dropin_name']}"
            files.append(_file("KVM-TUNE-020", dropin, "host-unit-cpus.conf.j2", {"item": dict(unit)}))
    if active("KVM-TUNE-021") and cpus["partitioned"]:
        files.append(_file("KVM-TUNE-021", posixpath.dirname(paths["slice_dropin"]), state="directory"))
        files.append(_file("KVM-TUNE-021", paths["slice_dropin"], "machine-slice.conf.j2"))
    if active("KVM-TUNE-022") and cpus["partitioned"]:
        packages.append({"control": "KVM-TUNE-022", "name": "irqbalance"})
        files.append(_file("KVM-TUNE-022", os_vars["irqbalance_env"], "irqbalance.env.j2"))
        unit = {"control": "KVM-TUNE-022", "name": "irqbalance.service", "enabled": True}
        # systemd skips irqbalance (ConditionCPUs=>1) when PID 1 keeps a single host CPU.
        if len(cpus["host"]) > 1:
            unit["state"] = "started"
        units.append(unit)
    if active("KVM-TUNE-030"):
        if os_vars["bootloader"] == "grub":
            kept = state["kernel_args"]
            files.append(
                _file(
                    "KVM-TUNE-030",
                    paths["grub_dropin"],
                    "grub.cfg.j2" if kept else None,
                    state="file" if kept else "absent",
                )
            )
        files.append(_file("KVM-TUNE-030", posixpath.dirname(paths["args_state_file"]), state="directory"))
    return files, units, packages


def kvm_tuning_probe(settings):
    """The role's settings → the options of the one kvmops.kvm.host_probe run that reads the host."""
    settings = _settings(settings)
    paths, os_vars = settings["paths"], settings["os"]
    on, active = _selection(settings)
    state = _state(settings, on, _Host({}), [])
    files, units, packages = _writes(settings, active, state)
    read = [CMDLINE, paths["args_state_file"], THP_PATH, KSM_PATH]
    read += [hp.sysfs_path(pool) for pool in state["runtime_pools"]]
    read += [item["path"] for item in files if item["state"] == "file"]
    if os_vars["tuned_supported"]:
        read.append(TUNED_ACTIVE)
    if os_vars["bootloader"] == "grub":
        read.append(GRUB_CFG)
    if state["mounts"]:
        read += [FSTAB, MOUNTS, paths["qemu_conf_path"]]
    probe = {
        "files": _unique(read),
        "stat": _unique(
            BOOTLOADER_PATHS.get(os_vars["bootloader"], []) + [i["path"] for i in files if i["state"] != "file"]
        ),
        "sysctls": [str(key) for key in settings.get("sysctls") or {}],
        "units": [unit["name"] for unit in units],
        "packages": [package["name"] for package in packages],
        "commands": {"grubby": ["grubby", "--info=DEFAULT"]} if os_vars["bootloader"] == "grubby" else {},
    }
    return probe


def _control_problems(settings, host_info):
    controls = settings.get("controls") or {}
    known = list(settings["known_controls"])
    found = []
    unknown = [cid for cid in controls if cid not in known]
    if unknown:
        found.append(
            f"unknown control id(s) {', '.join(unknown)} in kvm_tuning_controls "
            f"(known: {', '.join(known)}; docs/tuning.md)"
        )
    not_bool = [cid for cid, value in controls.items() if not isinstance(value, bool)]
    if not_bool:
        found.append(f"kvm_tuning_controls values must be true or false: {', '.join(not_bool)}")
    if "numa_cells" not in host_info:
        found.append(
            f"libvirt is not reachable at {settings.get('libvirt_uri')} ({host_info.get('msg', '')}): "
            "kvm_tuning reads the NUMA topology through it; run kvmops.kvm.kvm_host first"
        )
    return found


def _cpu_problems(cpus, on):
    found = []
    for name, wanted in (("kvm_tuning_host_cpus", cpus["host"]), ("kvm_tuning_emulator_cpus", cpus["emulator"])):
        missing = [cpu for cpu in wanted if cpu not in cpus["all"]]
        if cpus["all"] and missing:
            found.append(
                f"{name}: CPU {', '.join(map(str, missing))} does not exist on this host "
                f"(CPUs: {','.join(map(str, cpus['all']))})"
            )
    if cpus["partitioned"] and not cpus["guest"]:
        found.append("kvm_tuning_host_cpus and kvm_tuning_emulator_cpus leave no CPU for guests")
    if cpus["emulator"] and not cpus["partitioned"]:
        found.append("kvm_tuning_emulator_cpus needs kvm_tuning_host_cpus (no partitioning without host CPUs)")
    if on("KVM-TUNE-023") and not cpus["partitioned"]:
        found.append("KVM-TUNE-023 isolates the guest CPUs and needs kvm_tuning_host_cpus")
    return found


def _other_problems(settings, on, host, kernel_args):
    sysctls = settings.get("sysctls") or {}
    found = []
    reserved = [key for key in sysctls if key in (settings.get("reserved_sysctls") or [])]
    if reserved:
        found.append(f"kvm_tuning_sysctls may not set {', '.join(reserved)}: hugepage pools are kvm_tuning_hugepages")
    bootloader = settings["os"]["bootloader"]
    missing = [path for path in BOOTLOADER_PATHS.get(bootloader, []) if not host.exists(path)]
    if on("KVM-TUNE-030") and kernel_args and missing:
        found.append(
            f"kernel arguments are wanted ({' '.join(kernel_args)}) but {' and '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing: the host does not boot through "
            f"{BOOTLOADER_NAMES.get(bootloader, bootloader)}"
        )
    unknown = [key for key in sysctls if host.sysctl(str(key)) is None]
    if on("KVM-TUNE-001") and unknown:
        found.append(f"kvm_tuning_sysctls names sysctls the running kernel does not have: {', '.join(unknown)}")
    return found


def _sysctl_value(value):
    # As `sysctl -n` prints it, whitespace collapsed: "4096 131072 6291456".
    return " ".join(str(int(value) if isinstance(value, bool) else value).split())


def _qemu_conf_changes(host, path, hugetlbfs_paths):
    """What libvirt_conf would change in qemu.conf, by its own planner on the text the probe read."""
    text = host.text(path)
    if text is None:
        return [{"name": "hugetlbfs_mount", "action": "add", "before": None, "after": hugetlbfs_paths}]
    try:
        return [change.as_dict() for change in libvirt_conf.plan(text, {"hugetlbfs_mount": hugetlbfs_paths}, path)[1]]
    except KvmopsError as exc:
        # libvirt_conf then fails naming the line; here it only means "run it".
        return [{"name": "hugetlbfs_mount", "action": "unreadable", "before": str(exc), "after": hugetlbfs_paths}]


def _mount_differs(mount, fstab, mounts):
    """Would ansible.posix.mount (state mounted) change this hugetlbfs mount: its fstab entry, or not mounted."""
    wanted = ["hugetlbfs", mount["path"], "hugetlbfs", f"pagesize={mount['size']}", "0", "0"]
    entry = None
    for line in (fstab or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#") and fields[1] == mount["path"]:
            entry = fields + ["0"] * (6 - len(fields))
    mounted = any(line.split()[1:2] == [mount["path"]] for line in (mounts or "").splitlines())
    return entry != wanted or not mounted


def _drift(settings, active, host, state):
    """What the running host has that differs from the plan, for the selected controls."""
    sysctls = settings.get("sysctls") or {}
    thp_now = ((host.text(THP_PATH) or "").splitlines() or [""])[0]
    ksm_now = (host.text(KSM_PATH) or "").strip()
    tuned_now = ((host.text(TUNED_ACTIVE) or "").splitlines() or [""])[0].strip()
    counts = {hp.sysfs_path(p): hp.read_count(host.text(hp.sysfs_path(p))) for p in state["runtime_pools"]}
    pools = hp.runtime_drift(state["runtime_pools"], counts) if active("KVM-TUNE-010") else []
    args, dropped = state["kernel_args"], [arg for arg in state["previous_args"] if arg not in state["kernel_args"]]
    boot, bootloader = active("KVM-TUNE-030"), settings["os"]["bootloader"]
    words = (host.text(GRUB_CFG) or "").split()
    grubby = _GRUBBY_ARGS.search(host.command("grubby").get("stdout") or "")
    grubby_now = grubby.group(1).split() if grubby else []
    grubby_on = boot and bootloader == "grubby"
    mounts = state["mounts"] if active("KVM-TUNE-012") else []
    hugetlbfs_paths = [] if any(m["size"] == "2M" for m in state["mounts"]) else ["/dev/hugepages"]
    hugetlbfs_paths += [m["path"] for m in state["mounts"]]
    return {
        "sysctl_drift": [
            f"{key}: {host.sysctl(str(key))} -> {value}"
            for key, value in sysctls.items()
            if active("KVM-TUNE-001") and host.sysctl(str(key)) not in (None, _sysctl_value(value))
        ],
        "thp_now": thp_now,
        "thp_drift": active("KVM-TUNE-002") and f"[{settings.get('thp')}]" not in thp_now,
        "ksm_now": ksm_now,
        "ksm_drift": active("KVM-TUNE-003") and ksm_now != state["ksm_wanted"],
        "tuned_now": tuned_now,
        "tuned_drift": active("KVM-TUNE-004")
        and settings["os"]["tuned_supported"]
        and tuned_now != state["tuned_profile"],
        "pools_differing": [hp.sysfs_path(pool) for pool, _now in pools],
        "pool_drift": [f"{pool['size']} pages on {hp.where(pool)}: {now} -> {pool['count']}" for pool, now in pools],
        "grub_drift": [f"missing {arg}" for arg in args if arg not in words]
        + [f"dropped {arg}" for arg in dropped if arg in words]
        if boot and bootloader == "grub"
        else [],
        "grubby_add": [arg for arg in args if arg not in grubby_now] if grubby_on else [],
        "grubby_remove": [arg for arg in dropped if arg in grubby_now] if grubby_on else [],
        "hugetlbfs_paths": hugetlbfs_paths,
        "mounts_to_apply": [m for m in mounts if _mount_differs(m, host.text(FSTAB), host.text(MOUNTS))],
        "qemu_conf_changes": _qemu_conf_changes(host, settings["paths"]["qemu_conf_path"], hugetlbfs_paths)
        if mounts
        else [],
    }


def _sysfs_argv(settings, drift, files):
    """One systemd-tmpfiles run applying only the lines of the sysfs paths that differ (``--prefix``)."""
    tmpfiles = {item["control"]: item["path"] for item in files if item.get("template") == "tmpfiles.conf.j2"}
    writes = [("KVM-TUNE-002", THP_PATH)] if drift["thp_drift"] else []
    writes += [("KVM-TUNE-003", KSM_PATH)] if drift["ksm_drift"] else []
    writes += [("KVM-TUNE-010", path) for path in drift["pools_differing"]]
    writes = [(control, path) for control, path in writes if control in tmpfiles]
    if not writes:
        return []
    prefixes = [f"--prefix={path}" for _control, path in writes]
    return ["systemd-tmpfiles", "--create"] + prefixes + _unique([tmpfiles[control] for control, _path in writes])


def kvm_tuning_plan(settings, host_info, probe):
    """Settings + libvirt_host_info result + host_probe result → checks, facts and the writes this run makes."""
    settings = _settings(settings)
    host_info = host_info if isinstance(host_info, Mapping) else {}
    host = _Host(probe)
    on, active = _selection(settings)
    # libvirt_host_info runs with failed_when false: no numa_cells means it failed.
    cells = list(host_info.get("numa_cells") or [])
    state = _state(settings, on, host, cells)
    cpus, args, cmdline, previous = state["cpus"], state["kernel_args"], state["cmdline"], state["previous_args"]
    try:
        hugepage_problems = hp.problems(state["pools"], cells, int(settings.get("max_node_percent", 80)))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"kvm_tuning: {exc}") from exc
    problems = _control_problems(settings, host_info) + hugepage_problems
    problems += _cpu_problems(cpus, on) + _other_problems(settings, on, host, args)

    drift = _drift(settings, active, host, state)
    files, units, packages = _writes(settings, active, state)
    missing = [package for package in packages if host.package(package["name"]) is None]
    # A package about to be installed may bring its unit and files: those are
    # left to the writers (and in check mode the unit may not exist at all).
    fresh = {package["control"] for package in missing}
    for unit in units:
        if unit["control"] in fresh and settings.get("check_mode"):
            unit["if_exists"] = True
    for item in files:
        item["force"] = item["control"] in fresh
    state_file = settings["paths"]["args_state_file"]
    state_item = {"path": state_file, "content": "".join(f"{arg}\n" for arg in args), "mode": "0644"}

    def paths_of(*controls):
        return [item["path"] for item in files if item["control"] in controls and item["state"] == "file"]

    plan = dict(state, **drift)
    del plan["pools"]
    plan.update(
        problems=problems,
        cpusets={
            "host": cpus["host"] if cpus["partitioned"] else [],
            "emulator": cpus["emulator"] or cpus["guest"],
            "guest": cpus["guest"],
            "guest_by_node": {
                cell["id"]: [cpu for cpu in cell.get("cpu_ids") or [] if cpu in cpus["guest"]] for cell in cells
            },
        },
        missing_args=[arg for arg in args if arg not in cmdline],
        reboot_required=active("KVM-TUNE-030")
        and (any(arg not in cmdline for arg in args) or any(arg not in args and arg in cmdline for arg in previous)),
        files=files,
        handler_paths={
            "systemd": paths_of("KVM-TUNE-020", "KVM-TUNE-021"),
            "sysctl": paths_of("KVM-TUNE-001"),
            "irqbalance": paths_of("KVM-TUNE-022"),
        },
        packages_missing=[package["name"] for package in missing],
        units=[
            {key: value for key, value in unit.items() if key != "control"}
            for unit in units
            if unit["control"] in fresh or _unit_would_change(unit, host)
        ],
        sysfs_argv=_sysfs_argv(settings, drift, files),
        state_file=[state_item] if active("KVM-TUNE-030") and _would_change(state_item, host) else [],
    )
    return plan


def kvm_tuning_files(files, rendered, probe=None):
    """Planned files + rendered templates (path → text) → the ``files`` host_files would change, all if no probe."""
    if isinstance(files, (str, bytes)) or not isinstance(files, Sequence):
        raise AnsibleFilterError("kvm_tuning_files: the input must be the plan's files list")
    rendered = rendered if isinstance(rendered, Mapping) else {}
    host = _Host(probe) if probe is not None else None
    result = []
    for item in files:
        entry = {key: item[key] for key in ("path", "state", "mode", "owner", "group") if key in item}
        if "template" in item:
            if item["path"] not in rendered:
                raise AnsibleFilterError(f"kvm_tuning_files: no rendered content for {item['path']}")
            entry["content"] = rendered[item["path"]]
        if host is None or item.get("force") or _would_change(entry, host):
            result.append(entry)
    return result


def kvm_tuning_pools_short(runtime_pools, probe):
    """Runtime pools + a host_probe of (some of) their sysfs files → the pools read back short, one line each."""
    host = _Host(probe)
    short = []
    for pool in hp.normalise_pools(runtime_pools):
        if not host.file(hp.sysfs_path(pool)):
            continue  # not read back: it had its size before
        now = hp.read_count(host.text(hp.sysfs_path(pool)))
        if now < int(pool["count"]):
            short.append(f"{now} of {pool['count']} {pool['size']} pages on {hp.where(pool)}")
    return short


class FilterModule:
    def filters(self):
        return {
            "kvm_tuning_probe": kvm_tuning_probe,
            "kvm_tuning_plan": kvm_tuning_plan,
            "kvm_tuning_files": kvm_tuning_files,
            "kvm_tuning_pools_short": kvm_tuning_pools_short,
        }
