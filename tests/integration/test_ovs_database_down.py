# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An Open vSwitch database that cannot be reached fails each module clearly, within its timeout.

The shared ovsdb-server is never stopped: the modules are pointed at a socket
that does not exist, and at one the test listens on but never answers (a hung
server), through their ``db`` option.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

MODULES = ("kvmops.kvm.ovs_bridge", "kvmops.kvm.ovs_port", "kvmops.kvm.ovs_info")
ARGS = {
    "kvmops.kvm.ovs_bridge": {"name": "kvit-dbdown"},
    "kvmops.kvm.ovs_port": {"bridge": "kvit-dbdown", "name": "kvit-dbp"},
    "kvmops.kvm.ovs_info": {},
}
TIMEOUT = 2
# ansible-playbook itself takes a few seconds to start and finish on these machines.
ANSIBLE_OVERHEAD = 15


@pytest.mark.parametrize("module", MODULES)
def test_missing_socket_fails_with_the_database_named(run_module, ovs, module):
    started = time.monotonic()
    result = run_module(module, {**ARGS[module], "db": "unix:/nonexistent.sock", "timeout": TIMEOUT})
    assert result.failed
    assert result["msg"] == (
        "Open vSwitch database 'unix:/nonexistent.sock': cannot connect: database connection failed "
        "(No such file or directory); is ovsdb-server running? (Debian: systemctl start openvswitch-switch)"
    )
    assert time.monotonic() - started < ANSIBLE_OVERHEAD
    # Nothing happened on the real switch either.
    assert "kvit-dbdown" not in ovs.vsctl("list-br").split()


@pytest.fixture
def silent_server(tmp_path):
    """A unix socket that accepts connections and never says a word, like a hung ovsdb-server."""
    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    accepted = []

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"unix:{path}", accepted
    stop.set()
    thread.join(timeout=5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("module", ["kvmops.kvm.ovs_bridge", "kvmops.kvm.ovs_info"])
def test_hung_database_fails_within_the_timeout(run_module, silent_server, module):
    db, accepted = silent_server
    started = time.monotonic()
    result = run_module(module, {**ARGS[module], "db": db, "timeout": TIMEOUT})
    elapsed = time.monotonic() - started
    assert result.failed
    assert result["msg"] == f"Open vSwitch database '{db}': no answer within {TIMEOUT} s (is ovsdb-server hung?)"
    assert accepted, "ovs-vsctl never connected to the silent server"
    assert TIMEOUT <= elapsed < TIMEOUT + ANSIBLE_OVERHEAD
