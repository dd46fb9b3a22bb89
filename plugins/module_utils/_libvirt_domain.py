# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt calls for domains (define, lifecycle, undefine) and the objects they refer to.

Every call leaves this file either with its result or as a KvmopsError that
names the domain (or network, pool, volume) and libvirt's own message.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlparse

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt

DOMAIN = "libvirt domain"

STATE_NAMES = {
    0: "nostate",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutdown",
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}
# "shutdown" here is libvirt's "being shut down": still active.
ACTIVE_STATES = ("running", "blocked", "paused", "shutdown", "pmsuspended")


def is_local_uri(uri):
    """qemu:///system is local; qemu+ssh://host/system is not (its files and bridges are elsewhere)."""
    return not urlparse(uri).netloc


def _errors(name):
    return reraise_as(libvirt.libvirtError, DOMAIN, name)


def _no_such(exc, *codes):
    return isinstance(exc, libvirt.libvirtError) and exc.get_error_code() in codes


class DomainApi:
    """The domain operations of one connection (a LibvirtConnection's ``raw``)."""

    def __init__(self, conn):
        self.conn = conn
        self.raw = conn.raw
        self._networks = None

    # -- reading -------------------------------------------------------------
    def list_by_name(self):
        """All domains, one listing call: {name: virDomain}."""
        with reraise_as(libvirt.libvirtError, "libvirt connection", self.conn.uri):
            return {dom.name(): dom for dom in self.raw.listAllDomains(0)}

    def inactive_xml(self, dom, name):
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        with _errors(name):
            return dom.XMLDesc(flags)

    def live_xml(self, dom, name):
        with _errors(name):
            return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)

    def state(self, dom, name):
        with _errors(name):
            return STATE_NAMES.get(dom.state()[0], "unknown")

    def autostart(self, dom, name):
        with _errors(name):
            return bool(dom.autostart())

    def has_managed_save(self, dom, name):
        with _errors(name):
            return bool(dom.hasManagedSaveImage(0))

    def capabilities_xml(self):
        return self.conn.capabilities_xml()

    # -- changing ------------------------------------------------------------
    def define(self, xml, name):
        """Define with libvirt's schema validation on; returns the virDomain."""
        with _errors(name):
            return self.raw.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)

    def set_autostart(self, dom, name, value):
        with _errors(name):
            dom.setAutostart(1 if value else 0)

    def start(self, dom, name):
        with _errors(name):
            dom.create()

    def resume(self, dom, name):
        with _errors(name):
            dom.resume()

    def suspend(self, dom, name):
        with _errors(name):
            dom.suspend()

    def wakeup(self, dom, name):
        with _errors(name):
            dom.pMWakeup(0)

    def shutdown(self, dom, name):
        """Ask the guest to power off (ACPI power button); returns at once."""
        with _errors(name):
            dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)

    def destroy(self, dom, name):
        with _errors(name):
            try:
                dom.destroy()
            except libvirt.libvirtError as exc:
                # Already off (it finished shutting down between our read and this call).
                if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise

    def undefine(self, dom, name):
        """Undefine with everything that would otherwise block it: nvram, managed save, snapshot
        and checkpoint metadata, TPM state."""
        flags = (
            libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        )
        tpm = getattr(libvirt, "VIR_DOMAIN_UNDEFINE_TPM", 0)
        with _errors(name):
            try:
                dom.undefineFlags(flags | tpm)
            except libvirt.libvirtError as exc:
                # libvirt older than 8.9 does not know the TPM flag.
                if not tpm or exc.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                    raise
                dom.undefineFlags(flags)

    def wait_for_state(self, dom, name, wanted, timeout, poll=0.25):
        """Poll until the domain is in one of ``wanted``; returns the state or None on timeout."""
        reached = self.wait_all_for_state([(name, dom, name, timeout)], wanted, poll)[name]
        if isinstance(reached, KvmopsError):
            raise reached
        return reached

    def wait_all_for_state(self, waits, wanted, poll=0.25):
        """Poll several domains in one loop: ``waits`` is ``[(key, dom, name, timeout)]``, each timeout
        counted from this call. Returns ``{key: state}``, with None for a domain that timed out and
        the KvmopsError for one that could not be read (it vanished)."""
        started = time.monotonic()
        pending = list(waits)
        reached = {}
        while pending:
            waiting = []
            for key, dom, name, timeout in pending:
                try:
                    current = self.state(dom, name)
                except KvmopsError as exc:
                    reached[key] = exc
                    continue
                if current in wanted:
                    reached[key] = current
                elif time.monotonic() - started >= timeout:
                    reached[key] = None
                else:
                    waiting.append((key, dom, name, timeout))
            pending = waiting
            if pending:
                time.sleep(poll)
        return reached

    # -- what a definition refers to --------------------------------------------
    def network_exists(self, network):
        if self._networks is None:
            with reraise_as(libvirt.libvirtError, "libvirt connection", self.conn.uri):
                self._networks = {net.name() for net in self.raw.listAllNetworks(0)}
        return network in self._networks

    def volume_path(self, pool, volume):
        """Path of pool/volume, or raise KvmopsError naming what is missing."""
        with reraise_as(libvirt.libvirtError, "libvirt pool", pool):
            try:
                pool_obj = self.raw.storagePoolLookupByName(pool)
            except libvirt.libvirtError as exc:
                if _no_such(exc, libvirt.VIR_ERR_NO_STORAGE_POOL):
                    raise KvmopsError("libvirt pool", pool, "is not defined") from exc
                raise
        with reraise_as(libvirt.libvirtError, "libvirt volume", f"{pool}/{volume}"):
            try:
                return pool_obj.storageVolLookupByName(volume).path()
            except libvirt.libvirtError as exc:
                if _no_such(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
                    raise KvmopsError("libvirt volume", f"{pool}/{volume}", "does not exist") from exc
                raise

    def delete_volume_by_path(self, path):
        """Delete the libvirt volume at ``path``; False when no pool holds it."""
        with reraise_as(libvirt.libvirtError, "libvirt volume", path):
            try:
                vol = self.raw.storageVolLookupByPath(path)
            except libvirt.libvirtError as exc:
                if _no_such(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
                    return False
                raise
            vol.delete(0)
            return True

    def find_volume_by_path(self, path):
        with reraise_as(libvirt.libvirtError, "libvirt volume", path):
            try:
                self.raw.storageVolLookupByPath(path)
            except libvirt.libvirtError as exc:
                if _no_such(exc, libvirt.VIR_ERR_NO_STORAGE_VOL):
                    return False
                raise
            return True

    def volume_exists(self, pool, volume):
        with reraise_as(libvirt.libvirtError, "libvirt volume", f"{pool}/{volume}"):
            try:
                self.raw.storagePoolLookupByName(pool).storageVolLookupByName(volume)
            except libvirt.libvirtError as exc:
                if _no_such(exc, libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_ERR_NO_STORAGE_POOL):
                    return False
                raise
            return True

    def delete_volume(self, pool, volume, with_snapshots=False):
        flags = libvirt.VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS if with_snapshots else 0
        with reraise_as(libvirt.libvirtError, "libvirt volume", f"{pool}/{volume}"):
            try:
                vol = self.raw.storagePoolLookupByName(pool).storageVolLookupByName(volume)
            except libvirt.libvirtError as exc:
                if _no_such(exc, libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_ERR_NO_STORAGE_POOL):
                    return False
                raise
            vol.delete(flags)
            return True

    def rbd_pool_for(self, ceph_pool):
        """Name of an active libvirt rbd pool whose Ceph pool is ``ceph_pool``, or None."""
        from lxml import etree

        with reraise_as(libvirt.libvirtError, "libvirt connection", self.conn.uri):
            for pool in self.raw.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_RBD):
                root = etree.fromstring(pool.XMLDesc(0).encode())
                if root.findtext("source/name") == ceph_pool and pool.isActive():
                    return pool.name()
        return None


def host_path_exists(path):
    return os.path.exists(path)


def host_bridge_exists(name):
    """A Linux or Open vSwitch bridge (both appear in sysfs; OVS bridges as their internal port)."""
    return os.path.exists(f"/sys/class/net/{name}")
