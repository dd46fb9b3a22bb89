# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ceph monitor probe against sockets of this test process (loopback only)."""

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _monitor_probe
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._monitor_probe import probe_monitors, require_monitors


@pytest.fixture
def listening_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port():
    # Bound and closed again: nothing listens there for the rest of the test.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_answering_monitor(listening_port):
    assert probe_monitors([("127.0.0.1", [listening_port])], 1) == ([f"127.0.0.1:{listening_port}"], [])


def test_second_port_is_tried(listening_port, closed_port):
    answering, failures = probe_monitors([("127.0.0.1", [closed_port, listening_port])], 1)
    assert answering == [f"127.0.0.1:{listening_port}"]
    assert failures == []


def test_refused_monitor_is_named_with_the_reason(closed_port):
    started = time.monotonic()
    answering, failures = probe_monitors([("127.0.0.1", [closed_port])], 2)
    assert answering == []
    assert failures == [f"127.0.0.1:{closed_port} (Connection refused)"]
    assert time.monotonic() - started < 1


def test_mixed(listening_port, closed_port):
    answering, failures = probe_monitors([("127.0.0.1", [listening_port]), ("localhost", [closed_port])], 1)
    assert answering == [f"127.0.0.1:{listening_port}"]
    assert failures == [f"localhost:{closed_port} (Connection refused)"]


def test_no_monitors():
    assert probe_monitors([], 1) == ([], [])


def test_dropped_packets_count_as_no_answer_within_the_timeout(monkeypatch):
    # A firewall that drops SYNs: connect() times out (socket.timeout), it is never refused.
    def dropped(address, timeout):
        raise socket.timeout("timed out")

    monkeypatch.setattr(_monitor_probe.socket, "create_connection", dropped)
    assert probe_monitors([("203.0.113.7", [3300, 6789])], 2) == (
        [],
        ["203.0.113.7:3300 (no answer within 2 s), 203.0.113.7:6789 (no answer within 2 s)"],
    )


def test_require_monitors_names_object_ceph_pool_and_each_monitor(closed_port):
    with pytest.raises(KvmopsError) as raised:
        require_monitors("libvirt pool", "ceph-vms", "vms", [("127.0.0.1", [closed_port])], 1)
    assert str(raised.value).startswith(
        f"libvirt pool 'ceph-vms': no Ceph monitor of Ceph pool 'vms' answers: 127.0.0.1:{closed_port} "
        "(Connection refused). libvirt would wait 30 s per call"
    )


def test_require_monitors_returns_the_silent_ones_when_one_answers(listening_port, closed_port):
    monitors = [("127.0.0.1", [listening_port]), ("localhost", [closed_port])]
    assert require_monitors("libvirt pool", "ceph-vms", "vms", monitors, 1) == [
        f"localhost:{closed_port} (Connection refused)"
    ]
