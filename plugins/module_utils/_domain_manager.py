# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Manager of libvirt_domain: converge many domains over one connection and one listing.

For each domain: build the desired tree (pure), compare it with libvirt's
inactive XML (pure), define the merged XML only when something managed
differs, then drive the run state and wait until libvirt reports it. Check
mode walks the same path and stops short of every call that changes
something, so it predicts the real run.
"""

from __future__ import annotations

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_compare import (
    Context,
    differences,
    merge,
    normalize_units,
    render,
    to_xml,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_references import (
    NO_PENDING,
    parse_pending_storage,
    reference_problems,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import SpecError, check_name, wants_definition
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml import build_desired
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt_connection
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_domain import (
    ACTIVE_STATES,
    DOMAIN,
    DomainApi,
    host_bridge_exists,
    host_path_exists,
    is_local_uri,
)

try:
    from lxml import etree
except ImportError:  # the module reports missing_required_lib
    etree = None


def machine_aliases(capabilities_xml, arch):
    """QEMU machine aliases for ``arch`` from capabilities: {"pc": "pc-i440fx-7.2", ...}."""
    root = etree.fromstring(capabilities_xml.encode())
    aliases = {}
    for guest_arch in root.iterfind("guest/arch"):
        if guest_arch.get("name") != arch:
            continue
        for machine in guest_arch.iter("machine"):
            if machine.get("canonical") and machine.text:
                aliases.setdefault(machine.text.strip(), machine.get("canonical"))
    return aliases


def domain_name(spec):
    if spec.get("xml") and not spec.get("name"):
        try:
            return etree.fromstring(spec["xml"].encode()).findtext("name")
        except etree.XMLSyntaxError:
            return None
    return spec.get("name")


def prepare(spec):
    """Validate one domain's params before anything touches libvirt.

    Returns the desired tree (None when the params only drive the run state);
    raises SpecError naming the option.
    """
    name = domain_name(spec)
    check_name(name)
    spec["name"] = name
    if spec["state"] == "absent" or not wants_definition(spec):
        return None
    desired = build_desired(spec)
    if spec.get("xml"):
        normalize_units(desired)
    return desired


class DomainConverger:
    """One connection's worth of domains: listing read once, each domain converged in turn."""

    def __init__(self, api, check_mode=False, diff_mode=False, local=True, pending=None):
        self.api = api
        self.check_mode = check_mode
        # Disk sources earlier tasks only predicted: accepted in check mode only.
        self.pending = (pending or NO_PENDING) if check_mode else NO_PENDING
        self.diff_mode = diff_mode
        self.local = local
        self.domains = api.list_by_name()
        self._aliases = {}
        # Graceful shutdowns of this call: the button is pressed during each
        # domain's turn, the wait for all of them happens once, in
        # finish_shutdowns(), so N guests take one shutdown, not N in a row.
        self._shutdowns = []

    def context(self, arch, live=False):
        if arch not in self._aliases:
            self._aliases[arch] = machine_aliases(self.api.capabilities_xml(), arch)
        return Context(self._aliases[arch], live=live)

    # -- one domain ------------------------------------------------------------
    def converge(self, spec, desired):
        name = spec["name"]
        result = {
            "name": name,
            "changed": False,
            "actions": [],
            "restart_required": False,
            "pending_changes": [],
        }
        diffs = []
        dom = self.domains.get(name)
        try:
            if spec["state"] == "absent":
                self._absent(spec, dom, result, diffs)
                return self._finish(result, diffs, dom)
            if desired is not None:
                dom = self._definition(spec, desired, dom, result, diffs)
            elif dom is None:
                raise KvmopsError(DOMAIN, name, "is not defined, and no spec (memory... or xml) was given to define it")
            self._autostart(spec, dom, result, diffs)
            self._run_state(spec, desired, dom, result, diffs)
        except KvmopsError as exc:
            # What was done before the failure stays reported: a define followed
            # by a failed start did change the host.
            result["failed"] = True
            result["msg"] = str(exc)
            dom = self.domains.get(name)
        return self._finish(result, diffs, dom)

    def _finish(self, result, diffs, dom):
        result["changed"] = bool(result["actions"])
        if self.diff_mode:
            result["diff"] = diffs
        if dom is not None and not (self.check_mode and dom == "new"):
            result["uuid"] = dom.UUIDString() if hasattr(dom, "UUIDString") else None
        return result

    def _definition(self, spec, desired, dom, result, diffs):
        name = spec["name"]
        ctx = self.context(self._arch(spec, desired))
        if dom is None:
            self._check_references(spec, desired)
            result["actions"].append("define")
            xml = to_xml(desired)
            diffs.append({"before": "", "after": render(etree.fromstring(xml)), "after_header": f"{name} (new)"})
            if self.check_mode:
                return "new"
            dom = self.api.define(xml, name)
            self.domains[name] = dom
            return dom
        current = etree.fromstring(self.api.inactive_xml(dom, name).encode())
        want_uuid = desired.findtext("uuid")
        if want_uuid and want_uuid.lower() != (current.findtext("uuid") or "").lower():
            raise KvmopsError(
                DOMAIN,
                name,
                f"exists with uuid {current.findtext('uuid')}; a domain's uuid cannot change to {want_uuid}",
            )
        changes = differences(desired, current, ctx)
        if not changes:
            return dom
        self._check_references(spec, desired)
        merged = merge(desired, current, ctx)
        result["actions"].append("update")
        result["changes"] = changes
        diffs.append(
            {
                "before": render(current),
                "after": render(merged),
                "before_header": f"{name} (defined)",
                "after_header": f"{name} (to define)",
            }
        )
        if not self.check_mode:
            dom = self.api.define(to_xml(merged), name)
            self.domains[name] = dom
        return dom

    @staticmethod
    def _arch(spec, desired):
        """The guest architecture: raw XML names its own, the structured spec has ``arch``."""
        os_type = desired.find("os/type") if desired is not None else None
        return (os_type.get("arch") if os_type is not None else None) or spec.get("arch") or "x86_64"

    def _check_references(self, spec, desired):
        """Refuse a definition that points at things that do not exist, before libvirt stores it."""
        problems = reference_problems(desired, self.api, self.local, self.pending, host_path_exists, host_bridge_exists)
        if problems:
            raise KvmopsError(DOMAIN, spec["name"], "; ".join(problems))

    def _autostart(self, spec, dom, result, diffs):
        wanted = spec.get("autostart")
        if wanted is None:
            return
        current = False if dom == "new" else self.api.autostart(dom, spec["name"])
        if current == wanted:
            return
        result["actions"].append(f"autostart {'on' if wanted else 'off'}")
        diffs.append({"before": f"autostart: {current}\n", "after": f"autostart: {wanted}\n"})
        if not self.check_mode:
            self.api.set_autostart(dom, spec["name"], wanted)

    # -- run state ------------------------------------------------------------------
    def _current_state(self, dom, name):
        return "shutoff" if dom == "new" else self.api.state(dom, name)

    def _run_state(self, spec, desired, dom, result, diffs):
        name = spec["name"]
        target = spec["state"]
        state = self._current_state(dom, name)
        before = state
        was_active = state in ACTIVE_STATES
        if target == "present":
            pass
        elif target == "running":
            state = self._ensure_running(spec, dom, state, result)
        elif target == "paused":
            state = self._ensure_running(spec, dom, state, result)
            if state != "paused":
                self._do(result, "pause", lambda: self.api.suspend(dom, name))
                state = self._wait(dom, name, ("paused",), spec["shutdown_timeout"], "pause")
        elif target == "shutdown":
            if state in ACTIVE_STATES and not self.check_mode:
                self._press_power_button(spec, dom, state, result)
                self._shutdowns.append((spec, dom, result, diffs, before))
                return
            state = self._ensure_off(spec, dom, state, result, graceful=True)
        elif target == "destroyed":
            state = self._ensure_off(spec, dom, state, result, graceful=False)
        if desired is not None and was_active and state in ACTIVE_STATES:
            # A domain started by this run already runs the new definition.
            state = self._pending(spec, desired, dom, state, result)
        if state != before:
            diffs.append({"before": f"state: {before}\n", "after": f"state: {state}\n"})
        result["state"] = state

    def _do(self, result, action, call):
        result["actions"].append(action)
        if not self.check_mode:
            call()

    def _wait(self, dom, name, wanted, timeout, what):
        if self.check_mode:
            return wanted[0]
        reached = self.api.wait_for_state(dom, name, wanted, timeout)
        if reached is None:
            raise KvmopsError(DOMAIN, name, f"did not reach {'/'.join(wanted)} within {timeout} s after {what}")
        return reached

    def _ensure_running(self, spec, dom, state, result):
        name = spec["name"]
        if state in ("shutoff", "crashed", "nostate"):
            if state == "crashed":
                self._do(result, "destroy crashed", lambda: self.api.destroy(dom, name))
            self._do(result, "start", lambda: self.api.start(dom, name))
            return self._wait(dom, name, ("running", "blocked"), spec["shutdown_timeout"], "start")
        if state == "paused" and spec["state"] == "running":
            self._do(result, "resume", lambda: self.api.resume(dom, name))
            return self._wait(dom, name, ("running", "blocked"), spec["shutdown_timeout"], "resume")
        if state == "pmsuspended":
            self._do(result, "wake up", lambda: self.api.wakeup(dom, name))
            return self._wait(dom, name, ("running", "blocked"), spec["shutdown_timeout"], "wake-up")
        return state

    def _ensure_off(self, spec, dom, state, result, graceful):
        name = spec["name"]
        if state not in ACTIVE_STATES:
            return state
        if not graceful:
            self._do(result, "destroy", lambda: self.api.destroy(dom, name))
            return self._wait(dom, name, ("shutoff",), 30, "destroy")
        return self._graceful_shutdown(spec, dom, state, result)

    def _press_power_button(self, spec, dom, state, result):
        name = spec["name"]
        if state == "paused":
            # A paused guest cannot see the power button.
            self._do(result, "resume", lambda: self.api.resume(dom, name))
        self._do(result, "shutdown", lambda: self.api.shutdown(dom, name))

    def _graceful_shutdown(self, spec, dom, state, result):
        """ACPI shutdown that waits; on timeout fail, or power off when ``force`` is set."""
        self._press_power_button(spec, dom, state, result)
        if self.check_mode:
            return "shutoff"
        if self.api.wait_for_state(dom, spec["name"], ("shutoff",), spec["shutdown_timeout"]) == "shutoff":
            return "shutoff"
        return self._after_shutdown_timeout(spec, dom, result)

    def _after_shutdown_timeout(self, spec, dom, result):
        """Still on after ``shutdown_timeout``: fail clearly, or power off when ``force`` is set."""
        name = spec["name"]
        timeout = spec["shutdown_timeout"]
        if not spec["force"]:
            raise KvmopsError(
                DOMAIN,
                name,
                f"did not shut down within {timeout} s of the ACPI power button (the guest ignored it or is "
                "still stopping); raise shutdown_timeout or set force: true to power it off",
            )
        result["actions"].append(f"destroy after {timeout} s shutdown timeout")
        self.api.destroy(dom, name)
        return self._wait(dom, name, ("shutoff",), 30, "destroy")

    def _pending(self, spec, desired, dom, state, result):
        """What the running domain does not have yet; restart it when allowed."""
        name = spec["name"]
        if dom == "new":
            return state
        live = etree.fromstring(self.api.live_xml(dom, name).encode())
        pending = differences(desired, live, self.context(self._arch(spec, desired), live=True))
        if not pending:
            return state
        if not spec["restart_on_change"]:
            result["pending_changes"] = pending
            result["restart_required"] = True
            return state
        result["pending_changes"] = pending
        paused = state == "paused"
        self._graceful_shutdown(spec, dom, state, result)
        self._do(result, "start", lambda: self.api.start(dom, name))
        state = self._wait(dom, name, ("running", "blocked"), spec["shutdown_timeout"], "start")
        if paused:
            self._do(result, "pause", lambda: self.api.suspend(dom, name))
            state = self._wait(dom, name, ("paused",), spec["shutdown_timeout"], "pause")
        return state

    def finish_shutdowns(self):
        """Wait, all together, for the domains whose power button this call pressed.

        Each result gets what the one-by-one path gives it: ``state: shutoff``
        and its state diff, or ``failed`` with the same message, or the
        power-off after the timeout when ``force`` is set.
        """
        shutdowns, self._shutdowns = self._shutdowns, []
        waits = [
            (index, dom, spec["name"], spec["shutdown_timeout"]) for index, (spec, dom, *_r) in enumerate(shutdowns)
        ]
        reached = self.api.wait_all_for_state(waits, ("shutoff",)) if waits else {}
        for index, (spec, dom, result, diffs, before) in enumerate(shutdowns):
            try:
                outcome = reached[index]
                if isinstance(outcome, KvmopsError):
                    raise outcome
                if outcome != "shutoff":
                    self._after_shutdown_timeout(spec, dom, result)
                diffs.append({"before": f"state: {before}\n", "after": "state: shutoff\n"})
                result["state"] = "shutoff"
            except KvmopsError as exc:
                result["failed"] = True
                result["msg"] = str(exc)
            result["changed"] = bool(result["actions"])

    # -- absent ---------------------------------------------------------------------
    def _absent(self, spec, dom, result, diffs):
        name = spec["name"]
        if dom is None:
            result["state"] = "absent"
            return
        current = etree.fromstring(self.api.inactive_xml(dom, name).encode())
        state = self.api.state(dom, name)
        if state in ACTIVE_STATES:
            self._do(result, "destroy", lambda: self.api.destroy(dom, name))
            self._wait(dom, name, ("shutoff",), 30, "destroy")
        volumes = self._volumes(current) if spec["delete_volumes"] else []
        self._do(result, "undefine", lambda: self.api.undefine(dom, name))
        deleted, kept = [], []
        for kind, ref in volumes:
            label = ref if kind == "path" else f"{ref[0]}/{ref[1]}"
            # Looked up in check mode too, so the prediction lists what the run deletes.
            exists = self.api.find_volume_by_path(ref) if kind == "path" else self.api.volume_exists(*ref)
            if exists and not self.check_mode:
                if kind == "path":
                    self.api.delete_volume_by_path(ref)
                else:
                    self.api.delete_volume(ref[0], ref[1], with_snapshots=kind == "rbd")
            (deleted if exists else kept).append(label)
        if deleted:
            result["actions"].append("delete volumes")
        result["deleted_volumes"] = deleted
        result["kept_volumes"] = kept
        self.domains.pop(name, None)
        diffs.append(
            {"before": render(current), "after": "", "before_header": f"{name} (defined)", "after_header": "(absent)"}
        )
        result["state"] = "absent"

    def _volumes(self, current):
        """Disks whose storage ``delete_volumes`` removes: writable disks, not CD-ROMs or shared disks."""
        found = []
        for disk in current.iterfind("devices/disk"):
            if disk.get("device") != "disk" or disk.find("readonly") is not None or disk.find("shareable") is not None:
                continue
            source = disk.find("source")
            if source is None:
                continue
            if source.get("pool") and source.get("volume"):
                found.append(("volume", (source.get("pool"), source.get("volume"))))
            elif source.get("file") or source.get("dev"):
                found.append(("path", source.get("file") or source.get("dev")))
            elif source.get("protocol") == "rbd" and "/" in (source.get("name") or ""):
                ceph_pool, image = source.get("name").split("/", 1)
                pool = self.api.rbd_pool_for(ceph_pool)
                # Without an active libvirt rbd pool the image cannot be deleted from here: reported as kept.
                found.append(("rbd", (pool or f"(no active rbd pool for {ceph_pool})", image)))
        return found


def converge_all(uri, specs, check_mode=False, diff_mode=False, pending_storage=(), pending_bridges=()):
    """Validate every spec first (nothing is touched if one is invalid), then converge each.

    ``pending_storage`` and ``pending_bridges`` (check mode only) list disk
    sources and host bridges earlier tasks only predicted. Returns (results, failures): one result per spec in
    order; a domain whose libvirt work failed has ``failed: true`` and ``msg``.
    """
    prepared = []
    errors = []
    names = set()
    pending = NO_PENDING
    try:
        pending = parse_pending_storage(pending_storage, pending_bridges) if check_mode else NO_PENDING
    except SpecError as exc:
        errors.append(str(exc))
    for index, spec in enumerate(specs):
        label = spec.get("name") or f"domains[{index}]"
        try:
            desired = prepare(spec)
        except SpecError as exc:
            errors.append(f"{DOMAIN} '{label}': {exc}")
            continue
        if spec["name"] in names:
            errors.append(f"{DOMAIN} '{spec['name']}': listed twice")
        names.add(spec["name"])
        prepared.append((spec, desired))
    if errors:
        raise KvmopsError(DOMAIN, "spec", "invalid input, nothing was changed: " + " | ".join(errors))
    with libvirt_connection(uri) as conn:
        converger = DomainConverger(DomainApi(conn), check_mode, diff_mode, local=is_local_uri(uri), pending=pending)
        results = converge_prepared(converger, prepared)
    failures = [result["msg"] for result in results if result.get("failed")]
    return results, failures


def converge_prepared(converger, prepared):
    """Each ``(spec, desired)`` in turn, then the shutdowns' one common wait; the results in order."""
    results = [converger.converge(spec, desired) for spec, desired in prepared]
    converger.finish_shutdowns()
    return results
