# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a domain definition refers to, and the check that it all exists before libvirt stores it.

The walk over the desired tree is pure; what exists is asked through the
callables and the DomainApi the manager passes, so unit tests give stand-ins.
``pending_storage`` (libvirt_domain's check-mode option) names disk sources
that earlier tasks only predicted: those disks pass the check in check mode.
``pending_bridges`` does the same for host bridges an earlier role creates
(kvm_ovs in site.yml's check run on a fresh host).
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import SpecError
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

# ``bridges``: host bridge names (pending_bridges); kept beside the storage so
# one value carries everything check mode may take as already made.
PendingStorage = namedtuple("PendingStorage", "paths volumes bridges", defaults=(frozenset(),))
NO_PENDING = PendingStorage(frozenset(), frozenset())


def parse_pending_storage(entries, bridges=()):
    """``pending_storage`` entries → PendingStorage: absolute paths, and ``(pool, volume)`` pairs.

    ``bridges`` (libvirt_domain's ``pending_bridges``) are host bridge names,
    taken as given.

    Raises SpecError for an entry that is neither ``/a/path`` nor ``pool/volume``.
    """
    paths, volumes, bad = set(), set(), []
    for entry in entries or ():
        text = str(entry).strip()
        if text.startswith("/"):
            paths.add(text)
            continue
        pool, _sep, volume = text.partition("/")
        if not pool or not volume:
            bad.append(repr(entry))
            continue
        volumes.add((pool, volume))
    if bad:
        raise SpecError(
            f"pending_storage: {', '.join(bad)} is neither an absolute path nor pool/volume"
            if len(bad) == 1
            else f"pending_storage: {', '.join(bad)} are neither absolute paths nor pool/volume"
        )
    return PendingStorage(frozenset(paths), frozenset(volumes), frozenset(str(name).strip() for name in bridges or ()))


def disk_sources(desired):
    """``(target, kind, ref)`` for each disk of the desired tree with a local source.

    ``kind`` is ``volume`` (``ref`` = ``(pool, volume)``) or ``path`` (a
    file or block device). Network disks (RBD) and disks without a source
    are left out: nothing on this host says whether they exist.
    """
    found = []
    for disk in desired.iterfind("devices/disk"):
        target = disk.find("target").get("dev") if disk.find("target") is not None else "?"
        source = disk.find("source")
        if source is None:
            continue
        if source.get("pool") and source.get("volume"):
            found.append((target, "volume", (source.get("pool"), source.get("volume"))))
        path = source.get("file") or source.get("dev")
        if path:
            found.append((target, "path", path))
    return found


def _disk_problems(desired, api, local, pending, path_exists):
    problems = []
    for target, kind, ref in disk_sources(desired):
        if kind == "volume":
            if ref in pending.volumes:
                continue
            try:
                api.volume_path(*ref)
            except KvmopsError as exc:
                problems.append(f"disk {target}: {exc}")
        elif local and ref not in pending.paths and not path_exists(ref) and not api.find_volume_by_path(ref):
            problems.append(f"disk {target}: {ref} does not exist")
    return problems


def reference_problems(desired, api, local, pending, path_exists, bridge_exists):
    """Every missing object the definition refers to, as sentences; empty when all exist.

    Paths and bridges are only checked for a ``local`` connection; networks
    and pool volumes through libvirt. A disk source or bridge in ``pending``
    (PendingStorage) counts as existing.
    """
    pending = pending or NO_PENDING
    problems = _disk_problems(desired, api, local, pending, path_exists)
    for index, nic in enumerate(desired.iterfind("devices/interface")):
        source = nic.find("source")
        if source is None:
            continue
        if source.get("network") and not api.network_exists(source.get("network")):
            problems.append(f"interface {index}: libvirt network '{source.get('network')}' is not defined")
        bridge = source.get("bridge")
        if bridge and local and bridge not in pending.bridges and not bridge_exists(bridge):
            problems.append(f"interface {index}: bridge '{bridge}' does not exist on the host")
    if local:
        for tag in ("kernel", "initrd", "loader"):
            path = desired.findtext(f"os/{tag}")
            if path and not path_exists(path):
                problems.append(f"{tag} {path} does not exist")
    return problems
