# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_domain_info: read every domain (or one) once, then summarise purely.

The reads go through ``libvirt`` as ``_libvirt.py`` provides it, each wrapped so
a libvirt error becomes a KvmopsError naming the domain (or the URI for the
listing). :func:`build_domain_entry` is pure and unit-tested.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_summary import (
    DomainXMLError,
    definitions_differ,
    summarize_domain,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import CONNECTION, libvirt, libvirt_connection

DOMAIN = "libvirt domain"

# virDomainState names indexed by value; NOSTATE (0) is reported as "unknown".
STATES = ("unknown", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended")

# virDomain<State>Reason names indexed by value. blocked, pmsuspended and
# unknown only have reason 0, "unknown".
STATE_REASONS = {
    "running": [
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from_snapshot",
        "unpaused",
        "migration_canceled",
        "save_canceled",
        "wakeup",
        "crashed",
        "postcopy",
        "postcopy_failed",
    ],
    "paused": [
        "unknown",
        "user",
        "migration",
        "save",
        "dump",
        "ioerror",
        "watchdog",
        "from_snapshot",
        "shutting_down",
        "snapshot",
        "crashed",
        "starting_up",
        "postcopy",
        "postcopy_failed",
        "api_error",
    ],
    "shutdown": ["unknown", "user"],
    "shutoff": [
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from_snapshot",
        "daemon",
    ],
    "crashed": ["unknown", "panicked"],
}


def state_names(state, reason):
    """``virDomainGetState`` codes → (state, reason) names; codes newer than these tables → "unknown"."""
    name = STATES[state] if 0 <= state < len(STATES) else "unknown"
    reasons = STATE_REASONS.get(name, ["unknown"])
    return name, reasons[reason] if 0 <= reason < len(reasons) else "unknown"


def build_domain_entry(reads, include_xml=False):
    """Pure: what libvirt answered for one domain → its entry in ``domains``.

    ``reads`` holds ``state`` and ``reason`` (virDomainGetState codes),
    ``active``, ``persistent``, ``autostart``, the live ``xml`` and the
    ``inactive_xml``. A running domain is summarised from its live XML, any
    other from its persistent definition.
    """
    active = bool(reads["active"])
    persistent = bool(reads["persistent"])
    summary = summarize_domain(reads["xml"] if active else reads["inactive_xml"])
    state, reason = state_names(reads["state"], reads["reason"])
    entry = {
        "name": summary.pop("name"),
        "uuid": summary.pop("uuid"),
        "id": summary.pop("id") if active else None,
        "state": state,
        "state_reason": reason,
        "active": active,
        "persistent": persistent,
        "autostart": bool(reads["autostart"]),
        # A transient domain has no other definition its live one could differ from.
        "pending_changes": active and persistent and definitions_differ(reads["xml"], reads["inactive_xml"]),
    }
    entry.update(summary)
    if include_xml:
        entry["xml"] = reads["xml"]
        entry["inactive_xml"] = reads["inactive_xml"]
    return entry


def _vanished(error):
    """The domain was undefined (or a transient one stopped) after we got its handle."""
    return isinstance(error.cause, libvirt.libvirtError) and error.cause.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def _read_domain(dom, name):
    """One domain's state, flags and both XML descriptions; KvmopsError naming it on failure."""
    with reraise_as(libvirt.libvirtError, DOMAIN, name):
        state, reason = dom.state()
        return {
            "state": state,
            "reason": reason,
            "active": dom.isActive(),
            "persistent": dom.isPersistent(),
            "autostart": dom.autostart(),
            "xml": dom.XMLDesc(0),
            "inactive_xml": dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE),
        }


def _lookup(conn, name, must_exist):
    try:
        with reraise_as(libvirt.libvirtError, DOMAIN, name):
            return [conn.raw.lookupByName(name)]
    except KvmopsError as exc:
        if _vanished(exc) and not must_exist:
            return []
        raise


def read_domains(conn, name=None, must_exist=False):
    """Reads of every domain (or of ``name``) on an open LibvirtConnection, sorted by name.

    A domain that disappears between the listing and its reads is left out,
    unless it is the one ``name`` with ``must_exist``, which then fails.
    """
    if name is None:
        with reraise_as(libvirt.libvirtError, CONNECTION, conn.uri):
            handles = conn.raw.listAllDomains(0)
    else:
        handles = _lookup(conn, name, must_exist)
    result = []
    for dom in handles:
        # name() is answered from the handle itself, without a call to libvirtd.
        dom_name = dom.name()
        try:
            reads = _read_domain(dom, dom_name)
        except KvmopsError as exc:
            if _vanished(exc) and not must_exist:
                continue
            raise
        reads["name"] = dom_name
        result.append(reads)
    return sorted(result, key=lambda reads: reads["name"])


def gather_domain_info(uri, name=None, include_xml=False, must_exist=False, managed_only=False):
    """Connect read-only to ``uri`` and return the module's ``domains`` list.

    Raises KvmopsError naming the URI or the domain when libvirt fails, or
    when a domain's XML cannot be read.
    """
    with libvirt_connection(uri, readonly=True) as conn:
        all_reads = read_domains(conn, name, must_exist)
    return domain_entries(all_reads, include_xml, managed_only)


def domain_entries(all_reads, include_xml=False, managed_only=False):
    """read_domains' reads → the module's ``domains`` list (pure)."""
    domains = []
    for reads in all_reads:
        try:
            entry = build_domain_entry(reads, include_xml)
        except DomainXMLError as exc:
            raise KvmopsError(DOMAIN, reads["name"], exc) from exc
        if entry["managed"] or not managed_only:
            domains.append(entry)
    return domains
