# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_probe: everything a role compares or checks, read in one module run.

Pure parsers (package query output, sysctl values, modes) sit beside the
small readers that call them; units go through the one systemctl edge
(``_systemd.py``).
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import stat

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._systemd import Systemctl, systemd_booted

KIND = "host probe"
# /proc/cpuinfo of a 256-CPU host is about 400 KiB; nothing a role reads is larger.
MAX_CONTENT = 1024 * 1024
_TYPES = (
    (stat.S_ISLNK, "link"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISREG, "file"),
    (stat.S_ISCHR, "char"),
    (stat.S_ISBLK, "block"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISFIFO, "fifo"),
)


def sysctl_path(key):
    """``net.ipv4.ip_forward`` -> ``/proc/sys/net/ipv4/ip_forward``; refuses keys that would leave /proc/sys."""
    if not key or ".." in key or key.startswith(("/", ".")) or "\x00" in key:
        raise KvmopsError(KIND, key, "is not a sysctl key such as vm.swappiness")
    return "/proc/sys/" + key.replace(".", "/")


def sysctl_value(raw):
    """A /proc/sys file's text as ``sysctl -n`` shows it, runs of tabs and spaces made one space."""
    return " ".join(raw.split())


def parse_dpkg(text):
    """``dpkg-query -W -f '${Package}\\t${db:Status-Status}\\t${Version}\\n'`` -> {name: version} of installed ones."""
    versions = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1] == "installed":
            # Multi-arch packages print name:arch only when asked; the plain name is what roles use.
            versions[parts[0].split(":")[0]] = parts[2]
    return versions


def parse_rpm(text):
    """``rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'`` -> {name: version}; 'is not installed' lines skipped."""
    versions = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            versions[parts[0]] = parts[1]
    return versions


def _owner(uid):
    try:
        return pwd.getpwuid(uid)[0]
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid)[0]
    except KeyError:
        return str(gid)


def stat_path(path):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False, "type": None, "mode": None, "owner": None, "group": None}
    except OSError as exc:
        raise KvmopsError(KIND, path, exc) from exc
    kind = next((name for test, name in _TYPES if test(info.st_mode)), "other")
    return {
        "exists": True,
        "type": kind,
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
        "owner": _owner(info.st_uid),
        "group": _group(info.st_gid),
    }


def read_file(path):
    out = stat_path(path)
    out["content"] = None
    if out["type"] != "file":
        # A directory, device or link has no text to compare; its stat is the answer.
        return out
    try:
        with open(path, "rb") as handle:
            out["content"] = handle.read(MAX_CONTENT).decode("utf-8", errors="replace")
    except OSError as exc:
        raise KvmopsError(KIND, path, exc) from exc
    return out


def read_sysctl(key):
    try:
        with open(sysctl_path(key), encoding="utf-8", errors="replace") as handle:
            return sysctl_value(handle.read())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        # Write-only keys (vm.compact_memory): present, but nothing to compare.
        return None


def read_packages(module, names):
    if not names:
        return {}
    dpkg = module.get_bin_path("dpkg-query")
    if dpkg:
        # rc 1 only says some names are unknown: those are simply not installed.
        query = "${Package}\\t${db:Status-Status}\\t${Version}\\n"
        _rc, out, _err = module.run_command([dpkg, "-W", "-f", query] + names)
        found = parse_dpkg(out)
    else:
        rpm = module.get_bin_path("rpm")
        if not rpm:
            raise KvmopsError(KIND, "packages", "neither dpkg-query nor rpm is on the host")
        _rc, out, _err = module.run_command([rpm, "-q", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"] + names)
        found = parse_rpm(out)
    return {name: found.get(name) for name in names}


def run_commands(module, commands):
    results = {}
    for label, argv in commands.items():
        if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv):
            raise KvmopsError(KIND, label, "a command must be a non-empty list of strings (argv)")
        binary = argv[0] if os.path.isabs(argv[0]) else module.get_bin_path(argv[0])
        if not binary:
            results[label] = {"rc": 127, "stdout": "", "stderr": f"{argv[0]}: command not found"}
            continue
        rc, out, err = module.run_command([binary] + argv[1:])
        results[label] = {"rc": rc, "stdout": out, "stderr": err}
    return results


def probe(module):
    """Run host_probe for ``module.params``; returns the result dict for exit_json."""
    params = module.params
    result = {
        "changed": False,
        "files": {path: read_file(path) for path in params["files"]},
        "stat": {path: stat_path(path) for path in params["stat"]},
        "globs": {pattern: sorted(glob.glob(pattern)) for pattern in params["globs"]},
        "sysctls": {key: read_sysctl(key) for key in params["sysctls"]},
        "packages": read_packages(module, params["packages"]),
        "commands": run_commands(module, params["commands"]),
        "units": {},
        "systemd": systemd_booted(),
    }
    # On a host not booted with systemd there are no unit states to read: the
    # units stay unreported (roles plan them as "to be acted on", and their
    # preflight refuses such a host with its own message), not a failed read.
    if params["units"] and result["systemd"]:
        result["units"] = Systemctl(module).show(params["units"])
    return result
