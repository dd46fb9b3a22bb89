# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure storage pool logic: options → desired pool XML, comparison with libvirt's, and the plan.

``_libvirt_pool.py`` reads the pool (inactive XML, run state, autostart,
volume count) and hands it to :func:`plan_pool`, which decides every action
up front, so check mode returns exactly what the real run then does.
"""

from __future__ import annotations

import re

from ansible_collections.kvmops.kvm.plugins.module_utils import _xml_subset as xs
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

try:
    from lxml import etree
except ImportError:  # the module reports missing_required_lib
    etree = None

POOL = "libvirt pool"
TYPES = ("dir", "logical", "rbd", "netfs")
STATES = ("present", "active", "inactive", "absent")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# librados tries the msgr2 port, then the legacy one, when a monitor has no port.
CEPH_DEFAULT_PORTS = (3300, 6789)
# Options that belong to one pool type only; any other type refuses them.
TYPE_OPTIONS = {"dir": ("path",), "netfs": ("path", "netfs"), "logical": ("path", "logical"), "rbd": ("rbd",)}

RULES = xs.Rules(
    keys={
        ("source", "host"): lambda e: f"{e.get('name')}:{e.get('port')}" if e.get("port") else e.get("name"),
        ("source", "device"): lambda e: e.get("path"),
    },
)


def _refuse(name, cause):
    return KvmopsError(POOL, name, cause)


def _check_type_options(params, name, pool_type):
    allowed = TYPE_OPTIONS[pool_type]
    for option in ("path", "logical", "netfs", "rbd"):
        if params.get(option) is not None and option not in allowed:
            raise _refuse(name, f"{option} does not apply to a {pool_type} pool")


def _check_rbd(name, rbd):
    if not rbd:
        raise _refuse(name, "an rbd pool needs rbd (pool, hosts and usually username and secret)")
    if not rbd.get("hosts"):
        raise _refuse(name, "rbd.hosts must list at least one Ceph monitor")
    for host in rbd["hosts"]:
        port = host.get("port")
        if port is not None and not 0 < port < 65536:
            raise _refuse(name, f"rbd.hosts: port {port} of {host['name']} is not a TCP port")
    if rbd.get("username") and not (rbd.get("secret_uuid") or rbd.get("secret_usage")):
        raise _refuse(name, "rbd.username needs rbd.secret_uuid or rbd.secret_usage (the libvirt secret with its key)")
    if (rbd.get("secret_uuid") or rbd.get("secret_usage")) and not rbd.get("username"):
        raise _refuse(name, "rbd.secret_uuid / rbd.secret_usage need rbd.username (the cephx user)")
    if rbd.get("secret_uuid") and not UUID_RE.match(rbd["secret_uuid"]):
        raise _refuse(name, f"rbd.secret_uuid {rbd['secret_uuid']!r} is not a UUID")
    if rbd.get("probe_timeout") is not None and rbd["probe_timeout"] <= 0:
        raise _refuse(name, "rbd.probe_timeout must be positive")


def normalise_params(params):
    """Module parameters → the desired pool; raises KvmopsError naming the pool."""
    name = params.get("name") or ""
    if not NAME_RE.match(name):
        raise _refuse(
            name, "the name must be 1-64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit"
        )
    pool_type = params.get("type")
    desired = {
        "name": name,
        "type": pool_type,
        "state": params.get("state") or "present",
        "autostart": params.get("autostart"),
        "build": bool(params.get("build")),
        "refresh": bool(params.get("refresh")),
        "force": bool(params.get("force")),
        "path": params.get("path"),
        "logical": params.get("logical"),
        "netfs": params.get("netfs"),
        "rbd": params.get("rbd"),
    }
    if pool_type is None:
        if desired["state"] in ("present", "active") and any(desired[o] for o in ("path", "logical", "netfs", "rbd")):
            raise _refuse(name, "type is required to define a pool")
        return desired
    _check_type_options(params, name, pool_type)
    if desired["path"] is not None and not desired["path"].startswith("/"):
        raise _refuse(name, f"path {desired['path']!r} is not an absolute path")
    if pool_type in ("dir", "netfs") and not desired["path"]:
        raise _refuse(
            name, f"a {pool_type} pool needs path (its {'directory' if pool_type == 'dir' else 'mount point'})"
        )
    if pool_type == "netfs" and not (desired["netfs"] or {}).get("host"):
        raise _refuse(name, "a netfs pool needs netfs.host and netfs.dir")
    if pool_type == "rbd":
        _check_rbd(name, desired["rbd"])
        if desired["build"]:
            raise _refuse(name, "rbd pools cannot be built: the Ceph pool must exist already (build: false)")
    if pool_type == "logical":
        for device in (desired["logical"] or {}).get("devices") or []:
            if not device.startswith("/"):
                raise _refuse(name, f"logical.devices: {device!r} is not an absolute path")
    return desired


def build_desired(desired):
    """The desired ``<pool>`` tree: only what the options manage, with subset markers."""
    pool = etree.Element("pool", type=desired["type"])
    xs.sub(pool, "name", desired["name"])
    source = etree.SubElement(pool, "source")
    kind = desired["type"]
    if kind == "netfs":
        netfs = desired["netfs"]
        xs.sub(source, "host", name=netfs["host"])
        xs.sub(source, "dir", path=netfs["dir"])
        if netfs.get("format"):
            xs.sub(source, "format", type=netfs["format"])
    elif kind == "logical":
        logical = desired["logical"] or {}
        xs.sub(source, "name", logical.get("vg") or desired["name"])
        if logical.get("devices") is not None:
            xs.own(source, "device")
            for device in logical["devices"]:
                xs.sub(source, "device", path=device)
        xs.sub(source, "format", type="lvm2")
    elif kind == "rbd":
        rbd = desired["rbd"]
        xs.sub(source, "name", rbd["pool"])
        xs.own(source, "host")
        for host in rbd["hosts"]:
            xs.sub(source, "host", name=host["name"], port=host.get("port"))
        if rbd.get("username"):
            auth = xs.exact(xs.sub(source, "auth", type="ceph", username=rbd["username"]))
            xs.sub(auth, "secret", uuid=(rbd.get("secret_uuid") or "").lower() or None, usage=rbd.get("secret_usage"))
    if not len(source):
        pool.remove(source)
    if desired["path"]:
        target = etree.SubElement(pool, "target")
        xs.sub(target, "path", desired["path"])
    return pool


def parse_pool(xml_text):
    """libvirt's pool XML → (tree, summary dict)."""
    root = xs.parse(xml_text)
    source = root.find("source")
    hosts = []
    if source is not None:
        for host in source.iterfind("host"):
            port = host.get("port")
            hosts.append({"name": host.get("name"), "port": int(port) if port else None})
    auth = source.find("auth") if source is not None else None
    secret = auth.find("secret") if auth is not None else None

    def size(tag):
        text = root.findtext(tag)
        return int(text) if text and text.strip().isdigit() else None

    summary = {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "type": root.get("type"),
        "path": root.findtext("target/path"),
        "source_name": source.findtext("name") if source is not None else None,
        "hosts": hosts,
        "username": auth.get("username") if auth is not None else None,
        "secret_uuid": secret.get("uuid") if secret is not None else None,
        "secret_usage": secret.get("usage") if secret is not None else None,
        "capacity": size("capacity"),
        "allocation": size("allocation"),
        "available": size("available"),
    }
    return root, summary


def monitors_of(desired, current_summary):
    """The monitors an rbd pool talks to after the run: ``[(name, [ports])]``."""
    hosts = desired["rbd"]["hosts"] if desired.get("rbd") else (current_summary or {}).get("hosts") or []
    return [(h["name"], [h["port"]] if h.get("port") else list(CEPH_DEFAULT_PORTS)) for h in hosts]


def _volumes_guard(desired, volumes, what):
    """Refuse ``what`` on a pool that holds volumes (or may: inactive), unless forced."""
    if desired["force"]:
        return
    if volumes is None:
        raise _refuse(
            desired["name"],
            f"{what} refused: the pool is inactive, so libvirt cannot tell whether it holds volumes; "
            "start it to check, or set force: true",
        )
    if volumes:
        raise _refuse(
            desired["name"],
            f"{what} refused: the pool holds {volumes} volume{'s' if volumes != 1 else ''}; "
            "set force: true to do it anyway (volumes are never deleted by this module)",
        )


def _action(op, text=None, **extra):
    return {"op": op, "text": text or op, **extra}


def plan_pool(desired, current):
    """Decide everything a run does. Pure: the same inputs give the same plan.

    ``current`` is None or ``{"xml": inactive XML text, "active": bool,
    "autostart": bool, "volumes": int or None (None when inactive)}``.
    Returns ``{"changed", "actions", "changes", "before", "after", "created"}``.
    """
    name = desired["name"]
    before = _side(current["xml"], current["active"], current["autostart"]) if current else None
    if desired["state"] == "absent":
        if current is None:
            return _plan([], [], before, None)
        _volumes_guard(desired, current["volumes"], "deleting the pool")
        actions = ([_action("destroy")] if current["active"] else []) + [_action("undefine")]
        return _plan(actions, [], before, None)
    if current is None:
        if desired["type"] is None:
            raise _refuse(name, "is not defined, and without type (and its options) it cannot be defined")
        return _plan_new(desired, before)
    actions, changes = [], []
    xml_after = current["xml"]
    active = current["active"]
    if desired["type"] is not None:
        current_tree = xs.parse(current["xml"])
        if current_tree.get("type") != desired["type"]:
            raise _refuse(
                name,
                f"is a {current_tree.get('type')} pool, not {desired['type']}; the type of a pool cannot change: "
                "delete it first (state: absent)",
            )
        wanted = build_desired(desired)
        changes = xs.differences(wanted, current_tree, RULES)
        if changes:
            _volumes_guard(desired, current["volumes"], "changing the pool definition")
            merged = xs.merge(wanted, current_tree, RULES)
            xml_after = xs.to_xml(merged)
            actions.append(_action("define", "update definition", xml=xml_after))
            if active and desired["state"] != "inactive":
                # A running pool keeps its old definition until it is restarted.
                actions += [_action("destroy", "stop (to apply the new definition)"), _action("start", "start")]
    if desired["state"] == "active" and not active:
        actions.append(_action("start"))
        active = True
    elif desired["state"] == "inactive" and active:
        actions.append(_action("destroy", "stop"))
        active = False
    autostart = current["autostart"]
    if desired["autostart"] is not None and desired["autostart"] != autostart:
        autostart = desired["autostart"]
        actions.append(_action("autostart", f"autostart {'on' if autostart else 'off'}", value=autostart))
    plan = _plan(actions, changes, before, _side(xml_after, active, autostart))
    started = any(a["op"] == "start" for a in actions)
    if desired["refresh"] and active and not started:
        # Re-reading the storage changes no definition: not counted as a change.
        plan["actions"].append(_action("refresh"))
    return plan


def _plan_new(desired, before):
    xml = xs.to_xml(build_desired(desired))
    actions = [_action("define", xml=xml)]
    if desired["build"]:
        actions.append(_action("build"))
    active = desired["state"] == "active"
    if active:
        actions.append(_action("start"))
    autostart = bool(desired["autostart"])
    if autostart:
        actions.append(_action("autostart", "autostart on", value=True))
    plan = _plan(actions, [], before, _side(xml, active, autostart))
    plan["created"] = True
    return plan


def _side(xml_text, active, autostart):
    return {"xml": xml_text, "state": "active" if active else "inactive", "autostart": autostart}


def _plan(actions, changes, before, after):
    return {
        "changed": any(a["op"] != "refresh" for a in actions),
        "actions": actions,
        "changes": changes,
        "before": before,
        "after": after,
        "created": False,
    }


def needs_ceph(desired, current_type, plan):
    """Whether applying the plan makes libvirt talk to the Ceph monitors (start, restart, refresh)."""
    pool_type = desired["type"] or current_type
    return pool_type == "rbd" and any(a["op"] in ("start", "refresh", "build") for a in plan["actions"])


def _text(side):
    if side is None:
        return "state: absent\n"
    header = f"state: {side['state']}\nautostart: {'true' if side['autostart'] else 'false'}\n"
    return header + xs.render(xs.parse(side["xml"]))


def build_diff(desired, plan):
    """Ansible's ``diff``: run state, autostart and the normalised definition before and after."""
    return {
        "before": _text(plan["before"]),
        "after": _text(plan["after"]),
        "before_header": f"pool {desired['name']}",
        "after_header": f"pool {desired['name']}",
    }


def pool_result(summary, active, autostart, volumes):
    """What the module returns about a pool; None when it does not exist."""
    if summary is None:
        return None
    return {
        **summary,
        "state": "active" if active else "inactive",
        "autostart": autostart,
        "volume_count": volumes,
    }
