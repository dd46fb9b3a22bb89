# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The only file of the collection that imports ``libvirt`` itself.

Every call into libvirt goes through a :class:`LibvirtConnection` method, or
through a function of a sibling ``_libvirt_<area>.py`` file (domains,
volumes...) that takes ``libvirt`` from here, so a ``libvirt.libvirtError``
always leaves those files as a KvmopsError naming the URI, domain, pool or
volume and libvirt's own message. Pure code never imports them.
"""

from __future__ import annotations

import contextlib
import traceback

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as

try:
    import libvirt
except ImportError:
    # Other _libvirt_*.py files import ``libvirt`` from here; None keeps that import working.
    libvirt = None
    HAS_LIBVIRT = False
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LIBVIRT = True
    LIBVIRT_IMPORT_ERROR = None

CONNECTION = "libvirt connection"


def _discard_libvirt_error(_ctx, _error):
    """Swallow libvirt's own report: the default handler prints every error to
    stderr, which would end up beside the module's JSON; we raise instead."""


def version_string(number):
    """libvirt encodes versions as major * 1,000,000 + minor * 1,000 + release."""
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


class LibvirtConnection:
    """An open libvirt connection plus the reads the collection needs."""

    def __init__(self, uri, conn):
        self.uri = uri
        # Exposed for code that needs a call not wrapped here yet; prefer adding a method.
        self.raw = conn

    def _errors(self):
        return reraise_as(libvirt.libvirtError, CONNECTION, self.uri)

    def capabilities_xml(self):
        with self._errors():
            return self.raw.getCapabilities()

    def versions(self):
        """libvirt library version, hypervisor driver name and its version (QEMU's for qemu://)."""
        with self._errors():
            lib = self.raw.getLibVersion()
            driver = self.raw.getType()
            hypervisor = self.raw.getVersion()
        return {
            "libvirt": version_string(lib),
            "driver": driver,
            # 0 means the driver has no hypervisor version to report (e.g. test://).
            "hypervisor": version_string(hypervisor) if hypervisor else None,
        }

    def free_pages(self, cell_ids, page_sizes_kib):
        """Free pages per cell per page size: ``{cell_id: {size_kib: count}}``.

        Asked one cell at a time because NUMA cell ids need not be contiguous
        (libvirt rejects a range that spans a missing cell).
        """
        result = {}
        if not page_sizes_kib:
            return result
        with self._errors():
            for cell_id in cell_ids:
                counts = self.raw.getFreePages(list(page_sizes_kib), cell_id, 1) or {}
                result[cell_id] = {int(size): int(count) for size, count in counts.get(cell_id, {}).items()}
        return result

    def cells_free_memory_kib(self, cell_ids):
        """Free memory per NUMA cell in KiB (libvirt answers in bytes)."""
        result = {}
        with self._errors():
            for cell_id in cell_ids:
                free = self.raw.getCellsFreeMemory(cell_id, 1)
                result[cell_id] = int(free[0]) // 1024 if free else None
        return result

    def node_memory_kib(self):
        """Host-wide memory statistics in KiB: total, free, buffers, cached."""
        with self._errors():
            stats = self.raw.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)
        return {f"{key}_kib": int(value) for key, value in stats.items()}


@contextlib.contextmanager
def libvirt_connection(uri, readonly=False):
    """Open ``uri``, yield a :class:`LibvirtConnection`, always close it.

    ``readonly`` uses libvirt's read-only socket: enough for every ``_info``
    module, and it guarantees such a module cannot change anything.
    """
    if not HAS_LIBVIRT:
        # Modules check HAS_LIBVIRT first (missing_required_lib); this guards other callers.
        raise KvmopsError(CONNECTION, uri, "the libvirt Python bindings (libvirt-python) are not installed")
    libvirt.registerErrorHandler(_discard_libvirt_error, None)
    with reraise_as(libvirt.libvirtError, CONNECTION, uri):
        conn = libvirt.openReadOnly(uri) if readonly else libvirt.open(uri)
    try:
        yield LibvirtConnection(uri, conn)
    finally:
        # A failed close must not hide the error that ended the block.
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()
