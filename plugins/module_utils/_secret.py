# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure libvirt secret logic: options → desired secret, XML both ways, and the plan.

The secret's value never leaves this file in any form but bytes handed to
the applier: no message, diff, result or exception text contains it, and
only the plan's ``set value`` action carries it. ``_libvirt_secret.py``
reads the current definition (and, for a non-private secret, whether its
value matches) and applies the plan.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._xml_subset import parse

try:
    from lxml import etree
    from lxml.builder import E
except ImportError:  # the module reports missing_required_lib
    etree = E = None

SECRET = "libvirt secret"
USAGE_TYPES = ("ceph", "volume")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# uuid5 namespace of secrets whose uuid the user left out: the same usage gives
# the same uuid on every host, which live migration needs (a domain names its
# disk's secret by uuid, and that definition moves with the guest).
UUID_NAMESPACE = uuid.UUID("0b6f0f8e-3c2d-5a61-9e41-6b766d6f7073")
# A cephx key is base64 of: type (u16), created (u32 s + u32 ns), length (u16), secret.
_CEPH_KEY_HEADER = 12


def secret_label(desired):
    """How messages name a secret: its usage, and its uuid when known."""
    usage = f"{desired['usage_type']} '{desired['usage_name']}'" if desired.get("usage_name") else None
    if desired.get("uuid") and usage:
        return f"{desired['uuid']} ({usage})"
    return desired.get("uuid") or usage or "(unnamed)"


def _refuse(desired, cause):
    return KvmopsError(SECRET, secret_label(desired), cause)


def default_uuid(usage_type, usage_name):
    """The stable uuid of a secret created without one: uuid5 of its usage."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{usage_type}:{usage_name}"))


def _looks_like_ceph_key(raw):
    if len(raw) < _CEPH_KEY_HEADER + 1:
        return False
    length = int.from_bytes(raw[10:12], "little")
    return length == len(raw) - _CEPH_KEY_HEADER


def decode_value(desired, value, encoding):
    """The bytes libvirt stores; the error never quotes the value."""
    if encoding == "text":
        raw = value.encode("utf-8")
    else:
        compact = "".join(value.split())
        try:
            raw = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _refuse(
                desired,
                "value is not valid base64 (value_encoding is base64); set value_encoding: text for a passphrase",
            ) from exc
    if not raw:
        raise _refuse(desired, "value is empty")
    if desired["usage_type"] == "ceph" and encoding == "base64" and not _looks_like_ceph_key(raw):
        raise _refuse(
            desired,
            "value is not a cephx key: give the base64 key of the client's keyring (its 'key = ...' line, "
            "or the output of 'ceph auth get-key client.NAME')",
        )
    return raw


def normalise_params(params):
    """Module parameters → the desired secret; raises KvmopsError naming it."""
    desired = {
        "state": params.get("state") or "present",
        "uuid": params.get("uuid").lower() if params.get("uuid") else None,
        "usage_type": params.get("usage_type") or "ceph",
        "usage_name": params.get("usage_name"),
        "description": params.get("description"),
        "private": params.get("private", True) is not False,
        "ephemeral": bool(params.get("ephemeral")),
        "update_value": params.get("update_value") or "on_create",
        "value": None,
    }
    if desired["uuid"] and not UUID_RE.match(desired["uuid"]):
        raise _refuse(desired, f"uuid {params['uuid']!r} is not a UUID")
    if desired["usage_type"] not in USAGE_TYPES:
        raise _refuse(desired, f"usage_type must be one of {', '.join(USAGE_TYPES)}")
    if not desired["uuid"] and not desired["usage_name"]:
        raise _refuse(desired, "give usage_name (and optionally uuid) to name the secret")
    if desired["usage_type"] == "volume" and desired["usage_name"] and not desired["usage_name"].startswith("/"):
        raise _refuse(desired, "usage_name of a volume secret is the absolute path of the volume")
    if desired["state"] == "present" and not desired["usage_name"]:
        raise _refuse(desired, "usage_name is required with state: present")
    if params.get("value") is not None and desired["state"] == "present":
        desired["value"] = decode_value(desired, params["value"], params.get("value_encoding") or "base64")
    return desired


def parse_secret_xml(xml_text):
    """``virSecretGetXMLDesc`` output → uuid, usage, description and flags."""
    root = parse(xml_text)
    usage = root.find("usage")
    usage_type = usage.get("type") if usage is not None else None
    usage_name = None
    if usage is not None:
        usage_name = usage.findtext("volume") if usage_type == "volume" else usage.findtext("name")
    return {
        "uuid": (root.findtext("uuid") or "").lower(),
        "usage_type": usage_type,
        "usage_name": usage_name,
        "description": root.findtext("description"),
        "private": root.get("private") == "yes",
        "ephemeral": root.get("ephemeral") == "yes",
    }


def build_secret_xml(spec):
    """The ``<secret>`` document for ``spec`` (uuid, usage, description, private, ephemeral)."""
    usage_child = E.volume(spec["usage_name"]) if spec["usage_type"] == "volume" else E.name(spec["usage_name"])
    secret = E.secret(
        E.uuid(spec["uuid"]),
        ephemeral="yes" if spec["ephemeral"] else "no",
        private="yes" if spec["private"] else "no",
    )
    if spec.get("description"):
        secret.append(E.description(spec["description"]))
    secret.append(E.usage(usage_child, type=spec["usage_type"]))
    return etree.tostring(secret, encoding="unicode")


def _metadata(secret):
    return {key: secret[key] for key in ("uuid", "usage_type", "usage_name", "description", "private", "ephemeral")}


def check_identity(desired, by_uuid, by_usage):
    """The existing secret this run manages (parsed) or None; refuses uuid/usage conflicts.

    ``by_uuid`` is the secret with the desired uuid, ``by_usage`` the one with
    the desired usage (either None when absent).
    """
    usage = (desired["usage_type"], desired["usage_name"])
    if by_uuid is not None and desired["usage_name"] and (by_uuid["usage_type"], by_uuid["usage_name"]) != usage:
        raise _refuse(
            desired,
            f"secret {by_uuid['uuid']} exists for {by_uuid['usage_type']} '{by_uuid['usage_name']}'; "
            "a secret's usage cannot change: delete it first (state: absent) or use another uuid",
        )
    if desired["uuid"] and by_uuid is None and by_usage is not None:
        raise _refuse(
            desired,
            f"{desired['usage_type']} '{desired['usage_name']}' already belongs to secret {by_usage['uuid']}; "
            "a secret's uuid cannot change: use that uuid, or delete the secret first",
        )
    return by_uuid if desired["uuid"] else by_usage


def plan_secret(desired, current, value_matches=None):
    """Decide everything a run does. Pure.

    ``current`` is the parsed existing secret or None. ``value_matches`` says,
    for a non-private existing secret, whether its stored value equals the
    desired one (None when it has no value or cannot be read). Returns
    ``{"changed", "actions", "before", "after", "value_written"}``; each
    action has an ``op`` for the applier and a ``text`` for the user.
    """
    if desired["state"] == "absent":
        if current is None:
            return _plan(False, [], None, None, False)
        return _plan(True, [{"op": "undefine", "uuid": current["uuid"], "text": "undefine"}], current, None, False)
    wanted = {
        "uuid": (current or {}).get("uuid")
        or desired["uuid"]
        or default_uuid(desired["usage_type"], desired["usage_name"]),
        "usage_type": desired["usage_type"],
        "usage_name": desired["usage_name"],
        "description": desired["description"]
        if desired["description"] is not None
        else (current or {}).get("description"),
        "private": desired["private"],
        "ephemeral": desired["ephemeral"],
    }
    value = desired["value"]
    set_value = {"op": "set value", "value": value, "text": "set value"}
    define = {"op": "define", "xml": build_secret_xml(wanted), "text": "define"}
    if current is None:
        actions = [define] + ([set_value] if value is not None else [])
        return _plan(True, actions, None, wanted, value is not None, created=True)
    if current["private"] and not wanted["private"]:
        # libvirt refuses to lift the private flag of an existing secret.
        if value is None:
            raise _refuse(
                desired,
                "is private and libvirt cannot make an existing secret readable; give value so the secret "
                "can be recreated non-private, or delete it first",
            )
        undefine = {"op": "undefine", "uuid": current["uuid"], "text": "undefine (to lift the private flag)"}
        return _plan(True, [undefine, define, set_value], current, wanted, True, created=True)
    actions = []
    if _metadata(current) != wanted:
        actions.append({"op": "define", "xml": build_secret_xml(wanted), "text": "update"})
    if value is not None and _write_value(desired, current, wanted, value_matches):
        actions.append(set_value)
    written = any(action["op"] == "set value" for action in actions)
    return _plan(bool(actions), actions, current, wanted, written)


def _write_value(desired, current, wanted, value_matches):
    if desired["update_value"] == "always":
        # A private secret cannot be read back: "always" must write it every run.
        return current["private"] or not value_matches
    # on_create: only a non-private secret can show that it has no value at all.
    return not current["private"] and value_matches is None


def _plan(changed, actions, before, after, value_written, created=False):
    return {
        "changed": changed,
        "actions": actions,
        "before": _metadata(before) if before else None,
        "after": after,
        "value_written": value_written,
        "created": created,
    }


def _yaml(state, value_note):
    if state is None:
        return "state: absent\n"
    lines = ["state: present"]
    for key in ("uuid", "usage_type", "usage_name", "description", "private", "ephemeral"):
        shown = state[key]
        if isinstance(shown, bool):
            shown = "true" if shown else "false"
        lines.append(f"{key}: {shown if shown is not None else 'null'}")
    if value_note:
        lines.append(f"value: ({value_note})")
    return "\n".join(lines) + "\n"


def build_diff(desired, plan):
    """Metadata only: the value is never shown, only whether the run writes one."""
    label = secret_label({**desired, "uuid": (plan["after"] or plan["before"] or {}).get("uuid") or desired["uuid"]})
    return {
        "before": _yaml(plan["before"], None),
        "after": _yaml(plan["after"], "written" if plan["value_written"] else None),
        "before_header": f"secret {label}",
        "after_header": f"secret {label}",
    }


def secret_result(secret):
    """What the module returns about a secret (metadata, never the value); None when absent."""
    return _metadata(secret) if secret else None
