# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure rules of a Ceph client host (kvm_ceph): input checks and the monitor notations.

One place for what the role used to spell in Jinja: which inputs are refused
before any change, the ``mon_host`` line of ``ceph.conf`` and the host list of
a libvirt RBD pool.
"""

from __future__ import annotations

import re

_FSID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# A cephx key is 16 bytes of header and 16 of secret, base64: 40 characters.
_CEPHX_KEY = re.compile(r"^[A-Za-z0-9+/]{20,}={0,2}$")
DEFAULT_PORT = 6789
DEFAULT_V2_PORT = 3300


def problems(fsid, monitors, client_key, fetch_key, admin_host):
    """Every reason the inputs cannot work, as sentences; empty when they can."""
    found = []
    if not isinstance(fsid, str) or not _FSID.match(fsid):
        found.append("kvm_ceph_fsid must be the cluster fsid (a UUID)")
    if not monitors:
        found.append("kvm_ceph_monitors lists no monitor")
    if not fetch_key and not (isinstance(client_key, str) and _CEPHX_KEY.match(client_key)):
        # The key itself is never quoted: it is a secret.
        found.append("kvm_ceph_client_key is not a cephx key (base64, from the vault), and kvm_ceph_fetch_key is false")
    if fetch_key and not admin_host:
        found.append("kvm_ceph_fetch_key needs kvm_ceph_admin_host")
    return found


def _bracketed(host):
    # An IPv6 address needs brackets before its port.
    return f"[{host}]" if ":" in host else host


def mon_host(monitors):
    """``ceph.conf``'s ``mon_host``: both messenger addresses of each monitor."""
    entries = []
    for mon in monitors:
        host = _bracketed(mon["host"])
        v2 = mon.get("v2_port") or DEFAULT_V2_PORT
        v1 = mon.get("port") or DEFAULT_PORT
        entries.append(f"[v2:{host}:{v2},v1:{host}:{v1}]")
    return ",".join(entries)


def pool_hosts(monitors):
    """The ``hosts`` of a libvirt RBD pool: libvirt and QEMU speak msgr v1 to the legacy port."""
    return [{"name": mon["host"], "port": mon.get("port") or DEFAULT_PORT} for mon in monitors]
