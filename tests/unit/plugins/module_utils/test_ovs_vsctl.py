# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ovs-vsctl edge with a recorded runner: command lines, one transaction, error mapping.

The stderr texts are what ovs-vsctl 3.1.0 printed on the test bed for each
case (a missing socket, a socket nobody answers on, a constraint violation,
a port for a missing device).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs import Vsctl, setup_warnings
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_manager import manage_bridge, manage_port

LAB_JSON = (Path(__file__).parent / "fixtures" / "ovs" / "state_lab.json").read_text()

NO_SOCKET = "ovs-vsctl: unix:/nonexistent.sock: database connection failed (No such file or directory)\n"
ALARM = "2026-11-26T16:50:31Z|00001|fatal_signal|WARN|terminating with signal 14 (Alarm clock)\n"
CONSTRAINT = (
    '2026-11-26T16:49:42Z|00002|ovsdb_idl|WARN|transaction error: {"details":"Transaction causes multiple rows",'
    '"error":"constraint violation"}\n'
    'ovs-vsctl: transaction error: {"details":"Transaction causes multiple rows","error":"constraint violation"}\n'
)
NODEV = (
    "ovs-vsctl: Error detected while setting up 'kvx-nodev': could not open network device kvx-nodev "
    "(No such device).  See ovs-vswitchd log for details.\n"
    'ovs-vsctl: The default log directory is "/var/log/openvswitch".\n'
)


class Runner:
    """Stands in for AnsibleModule.run_command: records argv, answers from a queue."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, argv, check_rc=False):
        assert check_rc is False
        self.calls.append(argv)
        return self.answers.pop(0)


def vsctl(runner, db=None, timeout=10, timeout_path="/usr/bin/timeout"):
    return Vsctl(runner, "/usr/bin/ovs-vsctl", timeout_path, db, timeout)


def test_read_is_one_bounded_call():
    runner = Runner((0, LAB_JSON, ""))
    state = vsctl(runner, db="unix:/x.sock", timeout=7).read_state()
    assert "kvx-fx" in state["bridges"]
    assert runner.calls == [
        [
            "/usr/bin/timeout",
            "--kill-after=2",
            "12",
            "/usr/bin/ovs-vsctl",
            "--timeout=7",
            "--db=unix:/x.sock",
            "--format=json",
            "--",
            "list",
            "Open_vSwitch",
            "--",
            "list",
            "Bridge",
            "--",
            "list",
            "Port",
            "--",
            "list",
            "Interface",
        ]
    ]


def test_without_coreutils_timeout_only_ovs_vsctl_bounds_itself():
    runner = Runner((0, "", ""))
    vsctl(runner, timeout_path=None).transact([["add-br", "b"]], "Open vSwitch bridge", "b")
    assert runner.calls == [["/usr/bin/ovs-vsctl", "--timeout=10", "--", "add-br", "b"]]


def test_transaction_joins_commands_and_dry_run_does_not_wait():
    runner = Runner((0, "", ""))
    commands = [["add-br", "b"], ["set", "Bridge", "b", "datapath_type=netdev"]]
    vsctl(runner, timeout_path=None).transact(commands, "Open vSwitch bridge", "b", dry_run=True)
    assert runner.calls[0] == [
        "/usr/bin/ovs-vsctl",
        "--timeout=10",
        "--dry-run",
        "--no-wait",
        "--",
        "add-br",
        "b",
        "--",
        "set",
        "Bridge",
        "b",
        "datapath_type=netdev",
    ]


def test_unreachable_database_names_it():
    with pytest.raises(KvmopsError) as info:
        vsctl(Runner((1, "", NO_SOCKET)), db="unix:/nonexistent.sock").read_state()
    assert str(info.value) == (
        "Open vSwitch database 'unix:/nonexistent.sock': cannot connect: database connection failed "
        "(No such file or directory); is ovsdb-server running? (Debian: systemctl start openvswitch-switch)"
    )


@pytest.mark.parametrize("rc", [-14, 142, 124, 137])
def test_read_timeout(rc):
    with pytest.raises(KvmopsError) as info:
        vsctl(Runner((rc, "", ALARM)), db="unix:/hang.sock", timeout=3).read_state()
    assert str(info.value) == "Open vSwitch database 'unix:/hang.sock': no answer within 3 s (is ovsdb-server hung?)"


def test_change_timeout_names_the_object_and_the_risk():
    with pytest.raises(KvmopsError) as info:
        vsctl(Runner((-14, "", ALARM))).transact([["add-br", "b"]], "Open vSwitch bridge", "b")
    message = str(info.value)
    assert message.startswith("Open vSwitch bridge 'b': no answer within 10 s")
    assert "the change may already be in the database" in message


def test_transaction_error_is_readable_and_names_the_port():
    with pytest.raises(KvmopsError) as info:
        vsctl(Runner((1, "", CONSTRAINT))).transact([["x"]], "Open vSwitch port", "br0/p0")
    assert str(info.value) == "Open vSwitch port 'br0/p0': constraint violation: Transaction causes multiple rows"


def test_plain_error_passes_through():
    with pytest.raises(KvmopsError) as info:
        vsctl(Runner((1, "", "ovs-vsctl: no bridge named nosuch\n"))).transact([["x"]], "Open vSwitch port", "p")
    assert str(info.value) == "Open vSwitch port 'p': no bridge named nosuch"


def test_setup_warnings():
    assert setup_warnings(NODEV) == [
        "Error detected while setting up 'kvx-nodev': could not open network device kvx-nodev (No such device)."
    ]
    assert setup_warnings("") == []


def test_check_mode_dry_runs_the_plan_and_never_commits():
    runner = Runner((0, LAB_JSON, ""), (0, "", ""))
    result = manage_bridge(vsctl(runner), {"name": "kvx-fx", "mtu": 9000}, check_mode=True, diff=True)
    assert result["changed"]
    assert result["bridge"]["mtu"] == 9000
    assert result["diff"]["before"]["mtu"] == 1600
    assert "--dry-run" in runner.calls[1]
    assert len(runner.calls) == 2


def test_noop_runs_only_the_read():
    runner = Runner((0, LAB_JSON, ""))
    result = manage_bridge(vsctl(runner), {"name": "kvx-fx"}, check_mode=False, diff=False)
    assert (result["changed"], result["commands"], len(runner.calls)) == (False, [], 1)
    assert "diff" not in result


def test_check_mode_on_a_missing_bridge_skips_the_dry_run():
    runner = Runner((0, LAB_JSON, ""))
    result = manage_port(vsctl(runner), {"bridge": "br-new", "name": "p0"}, check_mode=True, diff=False)
    assert result["changed"]
    assert len(runner.calls) == 1
    assert result["warnings"] == ["bridge 'br-new' does not exist yet; planned as if an earlier task created it"]


def test_real_run_applies_once_and_rereads():
    runner = Runner((0, LAB_JSON, ""), (0, "", NODEV), (0, LAB_JSON, ""))
    result = manage_port(
        vsctl(runner), {"bridge": "kvx-fx", "name": "kvx-nodev", "tag": 5}, check_mode=False, diff=False
    )
    assert len(runner.calls) == 3
    assert runner.calls[1][-5:] == ["--", "set", "Port", "kvx-nodev", "tag=5"]
    # The interface error from the database replaces ovs-vsctl's own line.
    assert result["warnings"] == ["interface 'kvx-nodev': could not open network device kvx-nodev (No such device)"]
