# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure parts of the kvmops.kvm.libvirt_fleet inventory plugin.

Which hypervisors to read (``hypervisors`` items and hosts of an inventory
group turned into libvirt URIs), reading them side by side with a bounded
number of threads and a timeout each, and turning what each one answered
(libvirt_domain_info's ``domains`` entries) into hosts, host variables,
groups and warnings. The reading itself is a function passed in, so
everything here is tested without libvirt; the plugin passes one that opens
a read-only connection through ``_libvirt.py``.
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

DEFAULT_GROUP_PREFIX = "libvirt_fleet"
# no_tty=1: ssh must never stop to ask for a password or a host key on a controller without a terminal.
DEFAULT_URI_TEMPLATE = "qemu+ssh://{user}@{host}/system?no_tty=1"
DEFAULT_USER = "root"
DEFAULT_URI_VAR = "libvirt_uri"
DEFAULT_WORKERS = 10
DEFAULT_TIMEOUT = 30

HOSTVAR_DOMAIN = "libvirt_fleet_domain"
HOSTVAR_HYPERVISOR = "libvirt_fleet_hypervisor"
HOSTVAR_URI = "libvirt_fleet_uri"

URI_FIELDS = ("host", "name", "user", "port")
# libvirt's transports that log in with an SSH key and take its keyfile= parameter.
SSH_TRANSPORTS = ("ssh", "libssh", "libssh2")
_GROUP_PREFIX_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


class FleetConfigError(ValueError):
    """An option or a hypervisor host that cannot give a list of libvirt URIs; the message says which."""


# --- which hypervisors --------------------------------------------------------------


def name_from_uri(uri):
    """The host part of a libvirt URI (``hv1`` of ``qemu+ssh://root@hv1/system``), ``localhost`` without one."""
    try:
        host = urlsplit(uri).hostname
    except ValueError as exc:
        raise FleetConfigError(f"hypervisor URI {uri!r} does not parse: {exc}") from None
    return host or "localhost"


def hypervisors_from_option(items):
    """``hypervisors`` items (a URI, or ``{uri, name}``) → ``[{name, uri}]`` in the order given."""
    result = []
    for index, item in enumerate(items or []):
        if isinstance(item, str):
            uri, name = item, None
        elif isinstance(item, Mapping):
            unknown = sorted(set(item) - {"uri", "name"})
            if unknown:
                raise FleetConfigError(f"hypervisors[{index}]: unknown keys {unknown}; an item takes uri and name")
            uri, name = item.get("uri"), item.get("name")
        else:
            raise FleetConfigError(f"hypervisors[{index}] must be a URI or a dict with uri and name, got {item!r}")
        if not isinstance(uri, str) or not uri.strip():
            raise FleetConfigError(f"hypervisors[{index}] has no uri")
        uri = uri.strip()
        result.append({"name": str(name) if name else name_from_uri(uri), "uri": uri})
    return result


def render_uri(template, fields):
    """``hypervisor_uri_template`` with Python format fields (``{host}``...) → URI; FleetConfigError on others."""
    if "{{" in template:
        raise FleetConfigError(
            f"hypervisor_uri_template {template!r} uses Jinja2 braces; it takes format fields "
            f"such as {{host}}: {', '.join('{' + field + '}' for field in URI_FIELDS)}"
        )
    try:
        used = [field for _text, field, _spec, _conv in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise FleetConfigError(f"hypervisor_uri_template {template!r} does not parse: {exc}") from None
    unknown = sorted(set(used) - set(URI_FIELDS))
    if unknown:
        raise FleetConfigError(
            f"hypervisor_uri_template {template!r} uses unknown fields {unknown}; known: {', '.join(URI_FIELDS)}"
        )
    return template.format(**fields)


def _plain(host_name, hostvars, var):
    value = hostvars.get(var)
    if value is None or value == "":
        return None
    text = str(value)
    if "{{" in text or "{%" in text:
        # Inventory variables are not templated yet while sources are parsed.
        raise FleetConfigError(
            f"hypervisor host {host_name!r}: {var} is a template ({text!r}), which an inventory plugin cannot "
            "render; give it a plain value or set the URI variable on that host"
        )
    return text


def hypervisor_from_host(host_name, hostvars, template=DEFAULT_URI_TEMPLATE, user=DEFAULT_USER, uri_var=None):
    """One host of ``hypervisor_group`` and its variables → ``{name, uri}``.

    The host's ``uri_var`` (``libvirt_uri``) is taken as it is when set; else
    ``template`` is filled with ``host`` (``ansible_host``, else the host
    name; an IPv6 address in brackets), ``name`` (the host name), ``user``
    (``ansible_user``, else ``user``) and ``port`` (``ansible_port``, else 22).
    """
    uri = _plain(host_name, hostvars, uri_var) if uri_var else None
    if uri is None:
        host = _plain(host_name, hostvars, "ansible_host") or host_name
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        fields = {
            "host": host,
            "name": host_name,
            "user": _plain(host_name, hostvars, "ansible_user") or user,
            "port": _plain(host_name, hostvars, "ansible_port") or "22",
        }
        uri = render_uri(template, fields)
    return {"name": host_name, "uri": uri}


def check_unique(hypervisors):
    """Refuse two hypervisors of one name (they would share a group) or one URI read twice."""
    names, uris = {}, {}
    for hypervisor in hypervisors:
        name, uri = hypervisor["name"], hypervisor["uri"]
        if name in names:
            raise FleetConfigError(
                f"two hypervisors are named {name!r} ({names[name]} and {uri}); give one a name "
                "(hypervisors: [{uri: ..., name: ...}])"
            )
        if uri in uris:
            raise FleetConfigError(f"hypervisor URI {uri} is listed twice ({uris[uri]} and {name})")
        names[name], uris[uri] = uri, name
    return hypervisors


def with_keyfile(uri, keyfile):
    """``uri`` with ``keyfile=`` added when it goes over SSH and names no key file itself; else unchanged."""
    if not keyfile:
        return uri
    parts = urlsplit(uri)
    if parts.scheme.partition("+")[2] not in SSH_TRANSPORTS:
        return uri
    if any(key == "keyfile" for key, _value in parse_qsl(parts.query, keep_blank_values=True)):
        return uri
    query = "&".join(filter(None, [parts.query, "keyfile=" + quote(keyfile, safe="/")]))
    return urlunsplit(parts._replace(query=query))


# --- reading them side by side -------------------------------------------------------


def failure_text(exc, uri):
    """What went wrong, once: a KvmopsError about the connection already names the URI the warning names."""
    if isinstance(exc, KvmopsError):
        text = str(exc)
        prefix = f"{exc.kind} '{exc.name}': "
        return text[len(prefix) :] if exc.name == uri and text.startswith(prefix) else text
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def collect(hypervisors, fetch, workers=DEFAULT_WORKERS, timeout=DEFAULT_TIMEOUT):
    """Call ``fetch(uri)`` for every hypervisor, at most ``workers`` at a time; outcomes in the given order.

    An outcome is the hypervisor's ``{name, uri}`` plus what ``fetch``
    returned (a dict: ``domains`` and optional ``problems``), or plus
    ``error``: the exception ``fetch`` raised, or that it gave no answer
    within ``timeout`` seconds of its start. A hung call is left behind in its
    daemon thread (libvirt has no connect timeout for ssh), so it frees its
    worker slot and never holds up the others or the end of the process.
    """
    workers = max(1, workers)
    outcomes = {}
    started = {}
    waiting = list(hypervisors)
    done = threading.Condition()

    def run(hypervisor):
        try:
            outcome = dict(fetch(hypervisor["uri"]))
        except Exception as exc:
            # Any failure, not only libvirt's: one hypervisor must never end the others' reading.
            outcome = {"error": failure_text(exc, hypervisor["uri"])}
        with done:
            # A late answer after the timeout is dropped: the warning has been decided.
            if started.pop(hypervisor["name"], None) is not None:
                outcomes[hypervisor["name"]] = outcome
            done.notify_all()

    with done:
        while waiting or started:
            now = time.monotonic()
            for name, since in list(started.items()):
                if now - since >= timeout:
                    del started[name]
                    outcomes[name] = {"error": f"no answer within {timeout:g} s"}
            while waiting and len(started) < workers:
                hypervisor = waiting.pop(0)
                started[hypervisor["name"]] = time.monotonic()
                worker = threading.Thread(target=run, args=(hypervisor,), name=f"libvirt_fleet {hypervisor['name']}")
                worker.daemon = True
                worker.start()
            if started:
                done.wait(max(0.0, min(started.values()) + timeout - time.monotonic()))
    return [dict(hypervisor, **outcomes[hypervisor["name"]]) for hypervisor in hypervisors]


def failure_warning(outcome):
    return f"libvirt_fleet: hypervisor {outcome['name']} ({outcome['uri']}) is left out: {outcome['error']}"


def all_failed_message(outcomes):
    reasons = "; ".join(f"{o['name']} ({o['uri']}): {o['error']}" for o in outcomes)
    return f"libvirt_fleet: no hypervisor could be read, so there is no inventory to give: {reasons}"


# --- hosts, variables and groups -------------------------------------------------------


def check_group_prefix(prefix):
    if not isinstance(prefix, str) or not _GROUP_PREFIX_RE.match(prefix):
        raise FleetConfigError(f"group_prefix {prefix!r} must be letters, digits and _, not starting with a digit")
    return prefix


def group_name(prefix, kind, value):
    """``libvirt_fleet`` + ``state`` + ``shutoff`` → ``libvirt_fleet_state_shutoff``; other characters become _."""
    return _UNSAFE_GROUP_CHARS.sub("_", f"{prefix}_{kind}_{value}")


def _host_groups(prefix, hypervisor, domain):
    return [
        prefix,
        group_name(prefix, "hypervisor", hypervisor),
        group_name(prefix, "state", domain["state"]),
        f"{prefix}_managed" if domain["managed"] else f"{prefix}_unmanaged",
    ]


def _rank(candidate):
    # A running copy wins over defined-only ones (the source side of a live migration
    # keeps its definition); then the hypervisor listed first.
    _order, _outcome, domain = candidate
    return (not domain["active"], _order)


def build_inventory(outcomes, prefix=DEFAULT_GROUP_PREFIX):
    """Outcomes of :func:`collect` → ``{hosts, groups, warnings}``.

    ``hosts`` maps each domain name to its host variables; ``groups`` maps
    group names to their hosts in order, with a group for every hypervisor
    that answered even when it has no domain. A domain name found on several
    hypervisors becomes one host (see :func:`_rank`) and a warning.
    """
    groups = {prefix: [], f"{prefix}_managed": [], f"{prefix}_unmanaged": []}
    warnings = []
    candidates = {}
    for order, outcome in enumerate(outcomes):
        if "error" in outcome:
            warnings.append(failure_warning(outcome))
            continue
        groups.setdefault(group_name(prefix, "hypervisor", outcome["name"]), [])
        for problem in outcome.get("problems") or []:
            warnings.append(f"libvirt_fleet: hypervisor {outcome['name']} ({outcome['uri']}): {problem}")
        for domain in outcome["domains"]:
            candidates.setdefault(domain["name"], []).append((order, outcome, domain))
    hosts = {}
    for host_name, found in candidates.items():
        _order, outcome, domain = min(found, key=_rank)
        if len(found) > 1:
            where = ", ".join(f"{o['name']} ({d['state']})" for _n, o, d in found)
            warnings.append(
                f"libvirt_fleet: domain {host_name} is defined on several hypervisors ({where}); "
                f"host {host_name} describes the one on {outcome['name']}"
            )
        hosts[host_name] = {
            HOSTVAR_DOMAIN: domain,
            HOSTVAR_HYPERVISOR: outcome["name"],
            HOSTVAR_URI: outcome["uri"],
        }
        for group in _host_groups(prefix, outcome["name"], domain):
            groups.setdefault(group, []).append(host_name)
    return {"hosts": hosts, "groups": groups, "warnings": warnings}
