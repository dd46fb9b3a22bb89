# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lifecycle of DomainConverger over the real DomainApi, with a stand-in virDomain.

Two known failures of other modules, pinned without a daemon:
- ``shutdown`` returning while the guest is still stopping (it must wait for
  shutoff, then fail clearly or power off with ``force``);
- ``absent`` failing for a UEFI domain because plain undefine() refuses a
  domain with nvram.
And the batch: every power button is pressed first, then all guests are
waited for together, each reported as the one-by-one path reports it.
The stand-in behaves as libvirt does for these calls (state codes, the
"cannot undefine domain with nvram" refusal); a fake clock keeps the waits
instant. The integration tests run the same paths on a real libvirtd.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt_domain
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_manager import DomainConverger, converge_prepared
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import DOMAIN_OPTIONS
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import libvirt
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_domain import DomainApi

UEFI_XML = (Path(__file__).parent / "fixtures" / "domain_libvirt" / "uefi_secure_tpm.xml").read_text()
RUNNING, SHUTDOWN, SHUTOFF = 1, 4, 5


class Clock:
    """time.monotonic/time.sleep for the module under test: sleeping advances time."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeDomain:
    """The virDomain calls DomainApi makes, with libvirt's observable behaviour.

    ``stops_after``: seconds of fake time between the ACPI button and shutoff
    (None: the guest ignores the button). ``nvram``: undefine without
    VIR_DOMAIN_UNDEFINE_NVRAM is refused, as libvirt refuses it.
    """

    def __init__(self, clock, state=RUNNING, stops_after=None, nvram=False, name="vm1"):
        self.clock = clock
        self._name = name
        self.code = state
        self.stops_after = stops_after
        self.nvram = nvram
        self.off_at = None
        self.calls = []
        self.defined = True

    def name(self):
        return self._name

    def UUIDString(self):  # noqa: N802 - libvirt's method name
        return "4f1c7b9e-0d0e-4c55-9f6e-2a6f0b5d9d11"

    def state(self):
        if self.off_at is not None and self.clock.now >= self.off_at:
            self.code = SHUTOFF
        return [self.code, 0]

    def shutdownFlags(self, flags):  # noqa: N802
        self.calls.append(("shutdown", flags))
        self.pressed_at = self.clock.now
        if self.stops_after is not None:
            self.code = SHUTDOWN  # libvirt's "being shut down": still active
            self.off_at = self.clock.now + self.stops_after

    def destroy(self):
        self.calls.append(("destroy",))
        self.code = SHUTOFF

    def XMLDesc(self, flags):  # noqa: N802
        return UEFI_XML

    def undefineFlags(self, flags):  # noqa: N802
        self.calls.append(("undefine", flags))
        if self.nvram and not flags & libvirt.VIR_DOMAIN_UNDEFINE_NVRAM:
            raise libvirt.libvirtError("Requested operation is not valid: cannot undefine domain with nvram")
        self.defined = False

    def undefine(self):
        """What a module calling plain undefine() does."""
        self.undefineFlags(0)


class FakeConnection:
    uri = "qemu:///system"

    def __init__(self, *domains):
        self.raw = self
        self.domains = domains

    def listAllDomains(self, flags):  # noqa: N802
        return list(self.domains)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(_libvirt_domain.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(_libvirt_domain.time, "sleep", fake.sleep)
    return fake


def params(name="vm1", **options):
    result = ArgumentSpecValidator(copy.deepcopy(DOMAIN_OPTIONS)).validate({"name": name, **options})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def converge_many(domains, check_mode=False):
    """``domains``: [(FakeDomain, options)]; one converger, one listing, as converge_all runs them."""
    converger = DomainConverger(DomainApi(FakeConnection(*[dom for dom, _o in domains])), check_mode=check_mode)
    return converge_prepared(converger, [(params(dom.name(), **options), None) for dom, options in domains])


def converge(dom, check_mode=False, **options):
    return converge_many([(dom, options)], check_mode)[0]


class TestShutdownWaits:
    def test_returns_only_once_the_guest_is_off(self, clock):
        dom = FakeDomain(clock, stops_after=7)
        start = clock.now
        result = converge(dom, state="shutdown", shutdown_timeout=60)
        assert dom.calls == [("shutdown", libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)]
        assert result["state"] == "shutoff" and not result.get("failed")
        # It waited the guest's 7 s, not returned at the button press.
        assert 7 <= clock.now - start < 8
        assert dom.state()[0] == SHUTOFF

    def test_a_guest_still_stopping_at_the_timeout_fails_clearly(self, clock):
        dom = FakeDomain(clock, stops_after=None)
        result = converge(dom, state="shutdown", shutdown_timeout=30)
        assert result["failed"]
        assert "vm1" in result["msg"] and "did not shut down within 30 s" in result["msg"]
        assert "force: true" in result["msg"]
        assert ("destroy",) not in dom.calls

    def test_force_powers_off_after_the_timeout(self, clock):
        dom = FakeDomain(clock, stops_after=None)
        result = converge(dom, state="shutdown", shutdown_timeout=30, force=True)
        assert not result.get("failed")
        assert result["actions"] == ["shutdown", "destroy after 30 s shutdown timeout"]
        assert result["state"] == "shutoff"
        assert dom.calls[-1] == ("destroy",)

    def test_check_mode_predicts_the_shutdown_without_pressing_the_button(self, clock):
        dom = FakeDomain(clock, stops_after=5)
        result = converge(dom, check_mode=True, state="shutdown")
        assert result["changed"] and result["actions"] == ["shutdown"] and result["state"] == "shutoff"
        assert dom.calls == [] and dom.state()[0] == RUNNING


class TestAbsentUefi:
    def test_plain_undefine_is_refused_for_a_domain_with_nvram(self, clock):
        dom = FakeDomain(clock, state=SHUTOFF, nvram=True)
        with pytest.raises(libvirt.libvirtError, match="nvram"):
            dom.undefine()
        assert dom.defined

    def test_absent_undefines_a_running_uefi_domain_with_its_nvram(self, clock):
        dom = FakeDomain(clock, state=RUNNING, nvram=True)
        result = converge(dom, state="absent")
        assert not result.get("failed"), result.get("msg")
        assert result["actions"] == ["destroy", "undefine"] and result["state"] == "absent"
        assert not dom.defined
        (flags,) = [call[1] for call in dom.calls if call[0] == "undefine"]
        for flag in ("NVRAM", "MANAGED_SAVE", "SNAPSHOTS_METADATA", "CHECKPOINTS_METADATA"):
            assert flags & getattr(libvirt, f"VIR_DOMAIN_UNDEFINE_{flag}"), flag

    def test_absent_in_check_mode_changes_nothing(self, clock):
        dom = FakeDomain(clock, state=SHUTOFF, nvram=True)
        result = converge(dom, check_mode=True, state="absent")
        assert result["changed"] and result["actions"] == ["undefine"]
        assert dom.defined and dom.calls == []


class TestBatchShutdown:
    def test_every_button_is_pressed_first_then_all_are_waited_for_together(self, clock):
        doms = [FakeDomain(clock, stops_after=after, name=f"vm{after}") for after in (9, 5, 7)]
        start = clock.now
        results = converge_many([(dom, {"state": "shutdown", "shutdown_timeout": 60}) for dom in doms])
        assert [dom.pressed_at for dom in doms] == [start] * 3
        # One common wait: the slowest guest's 9 s, not 9 + 5 + 7.
        assert 9 <= clock.now - start < 10
        assert [(r["name"], r["state"], r["changed"], r["actions"]) for r in results] == [
            (dom.name(), "shutoff", True, ["shutdown"]) for dom in doms
        ]

    def test_each_guest_keeps_its_own_outcome(self, clock):
        stubborn = FakeDomain(clock, stops_after=None, name="stubborn")
        forced = FakeDomain(clock, stops_after=None, name="forced")
        quick = FakeDomain(clock, stops_after=2, name="quick")
        off = FakeDomain(clock, state=SHUTOFF, name="off")
        results = converge_many(
            [
                (stubborn, {"state": "shutdown", "shutdown_timeout": 20}),
                (forced, {"state": "shutdown", "shutdown_timeout": 10, "force": True}),
                (quick, {"state": "shutdown", "shutdown_timeout": 20}),
                (off, {"state": "shutdown"}),
            ]
        )
        by_name = {r["name"]: r for r in results}
        assert by_name["stubborn"]["failed"] and "did not shut down within 20 s" in by_name["stubborn"]["msg"]
        assert "state" not in by_name["stubborn"]
        assert by_name["forced"]["actions"] == ["shutdown", "destroy after 10 s shutdown timeout"]
        assert by_name["forced"]["state"] == "shutoff" and not by_name["forced"].get("failed")
        assert by_name["quick"]["state"] == "shutoff" and not by_name["quick"].get("failed")
        assert (by_name["off"]["changed"], by_name["off"]["state"]) == (False, "shutoff")
        # The stubborn guest's 20 s bound the whole wait.
        assert clock.now - 1000.0 < 21

    def test_batch_and_one_by_one_give_the_same_results(self, clock):
        def fleet():
            return [
                (FakeDomain(clock, stops_after=3, name="a"), {"state": "shutdown", "shutdown_timeout": 10}),
                (FakeDomain(clock, stops_after=None, name="b"), {"state": "shutdown", "shutdown_timeout": 10}),
                (FakeDomain(clock, state=RUNNING, nvram=True, name="c"), {"state": "absent"}),
            ]

        batch = converge_many(fleet())
        single = [converge_many([item])[0] for item in fleet()]
        assert batch == single
