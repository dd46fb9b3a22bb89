"""The libvirt dir pool `kvmops-lab` that holds the lab VMs' overlays.

The collection has no pool module yet, so labctl makes this one pool itself;
everything in it (overlays) is made and deleted by the collection's modules.
"""

from __future__ import annotations

from .common import POOL, POOL_DIR, log

POOL_XML = f"""<pool type='dir'>
  <name>{POOL}</name>
  <target><path>{POOL_DIR}</path><permissions><mode>0755</mode></permissions></target>
</pool>
"""


def _lookup(conn):
    import libvirt

    try:
        return conn.storagePoolLookupByName(POOL)
    except libvirt.libvirtError:
        return None


def ensure(conn) -> list[str]:
    """Define, build and start the pool as needed; returns what was changed."""
    changes = []
    pool = _lookup(conn)
    if pool is None:
        pool = conn.storagePoolDefineXML(POOL_XML, 0)
        changes.append(f"pool {POOL} defined ({POOL_DIR})")
    if not POOL_DIR.is_dir():
        pool.build(0)
    if not pool.isActive():
        pool.create(0)
        changes.append(f"pool {POOL} started")
    if not pool.autostart():
        # libvirtd restarted after a reboot of the machine brings it back by itself.
        pool.setAutostart(1)
    for change in changes:
        log(change)
    return changes


def is_active(conn) -> bool:
    pool = _lookup(conn)
    return pool is not None and bool(pool.isActive())


def describe(conn) -> str:
    pool = _lookup(conn)
    if pool is None:
        return "undefined"
    return f"active ({POOL_DIR})" if pool.isActive() else "inactive"


def remove(conn) -> None:
    """Stop and undefine the pool; the directory and any file left in it stay."""
    pool = _lookup(conn)
    if pool is None:
        return
    if pool.isActive():
        pool.destroy()
    pool.undefine()
