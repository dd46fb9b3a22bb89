# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one edge of this collection that runs ``ovs-vsctl``.

Commands run through the module's own ``run_command`` (no shell), always with
``--timeout`` and, where coreutils ``timeout`` exists, inside it with a few
seconds' grace, so neither a dead database nor a hung ovs-vswitchd can hold a
run beyond its timeout. Every failure becomes a KvmopsError: connection and
timeout failures name the database, transaction failures the bridge or port
that was being changed.
"""

from __future__ import annotations

import json
import re

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._ovs_state import READ_TABLES, parse_state

DATABASE = "Open vSwitch database"
DEFAULT_DB_LABEL = "unix:/var/run/openvswitch/db.sock"
# Beyond ovs-vsctl's own --timeout: time to start and print, then the hard stop.
GRACE_SECONDS = 5
KILL_AFTER_SECONDS = 2
# Exit codes of a command that ran out of time: coreutils timeout (124, or 137
# after KILL), ovs-vsctl killed by its own SIGALRM (142 from a shell, -14 from
# Python's subprocess).
_TIMEOUT_CODES = (124, 137, 142, -14, -9)
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z\|")


def _clean_stderr(stderr):
    """ovs-vsctl's own messages without its prefix; its timestamped log lines dropped."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    own = [line[len("ovs-vsctl: ") :] for line in lines if line.startswith("ovs-vsctl: ")]
    return own or [line for line in lines if not _LOG_LINE.match(line)] or lines


def _readable(message):
    """``transaction error: {"details": ..., "error": ...}`` → ``constraint violation: details``."""
    prefix = "transaction error: "
    if message.startswith(prefix):
        try:
            details = json.loads(message[len(prefix) :])
        except ValueError:
            return message
        if isinstance(details, dict):
            return f"{details.get('error', 'transaction error')}: {details.get('details', '')}".rstrip(": ")
    return message


def setup_warnings(stderr):
    """ "Error detected while setting up 'X': ..." lines of a successful run; the log-directory hint dropped."""
    return [
        line.replace("  See ovs-vswitchd log for details.", "")
        for line in _clean_stderr(stderr)
        if line.startswith("Error detected while setting up")
    ]


class Vsctl:
    """``ovs-vsctl`` against one database, bounded by ``timeout`` seconds."""

    def __init__(self, run_command, vsctl_path, timeout_path=None, db=None, timeout=10):
        self._run_command = run_command
        self.vsctl_path = vsctl_path
        self.timeout_path = timeout_path
        self.db = db
        self.timeout = timeout
        self.db_label = db or DEFAULT_DB_LABEL

    @classmethod
    def from_module(cls, module):
        """Built from an AnsibleModule with the shared ``db`` and ``timeout`` options."""
        timeout = module.params["timeout"]
        if timeout < 1:
            raise KvmopsError(DATABASE, module.params["db"] or DEFAULT_DB_LABEL, "timeout must be at least 1 second")
        vsctl_path = module.get_bin_path("ovs-vsctl", opt_dirs=["/usr/sbin", "/usr/local/bin"])
        if not vsctl_path:
            raise KvmopsError(
                "Open vSwitch",
                "ovs-vsctl",
                "not found: install Open vSwitch (openvswitch-switch on Debian/Ubuntu, openvswitch3.x on RHEL 9)",
            )
        return cls(module.run_command, vsctl_path, module.get_bin_path("timeout"), module.params["db"], timeout)

    def argv(self, args, dry_run=False):
        """The full command line for ovs-vsctl ``args`` (global options first, then ``--`` commands)."""
        prefix = []
        if self.timeout_path:
            prefix = [
                self.timeout_path,
                f"--kill-after={KILL_AFTER_SECONDS}",
                str(self.timeout + GRACE_SECONDS),
            ]
        options = [self.vsctl_path, f"--timeout={self.timeout}"]
        if self.db:
            options.append(f"--db={self.db}")
        if dry_run:
            # Without --no-wait a dry run waits for ovs-vswitchd to apply a
            # transaction that was never committed, until the timeout.
            options += ["--dry-run", "--no-wait"]
        return prefix + options + list(args)

    def _run(self, args, dry_run=False):
        rc, stdout, stderr = self._run_command(self.argv(args, dry_run), check_rc=False)
        return rc, stdout or "", stderr or ""

    def _failure(self, rc, stderr, kind, name, changing):
        messages = [_readable(line) for line in _clean_stderr(stderr)]
        text = "; ".join(messages) or f"ovs-vsctl exited with {rc}"
        if rc in _TIMEOUT_CODES or "Alarm clock" in stderr:
            if changing:
                cause = (
                    f"no answer within {self.timeout} s: ovsdb-server or ovs-vswitchd is not responding "
                    "(is ovs-vswitchd running?); the change may already be in the database"
                )
                return KvmopsError(kind, name, f"{cause} [{self.db_label}]")
            return KvmopsError(DATABASE, self.db_label, f"no answer within {self.timeout} s (is ovsdb-server hung?)")
        if "database connection failed" in text:
            # ovs-vsctl repeats the database's name in front of its reason.
            reason = text.split(": ", 1)[1] if text.startswith(f"{self.db_label}: ") else text
            return KvmopsError(
                DATABASE,
                self.db_label,
                f"cannot connect: {reason}; is ovsdb-server running? (Debian: systemctl start openvswitch-switch)",
            )
        return KvmopsError(kind, name, text)

    def read_state(self):
        """The whole switch (Open_vSwitch, Bridge, Port, Interface tables) as ``_ovs_state`` parses it."""
        args = ["--format=json"]
        for table in READ_TABLES:
            args += ["--", "list", table]
        rc, stdout, stderr = self._run(args)
        if rc != 0:
            raise self._failure(rc, stderr, DATABASE, self.db_label, changing=False)
        return parse_state(stdout, self.db_label)

    def transact(self, commands, kind, name, dry_run=False):
        """Run ``commands`` as one transaction; returns the setup warnings ovs-vsctl printed."""
        args = []
        for command in commands:
            args += ["--"] + list(command)
        rc, _stdout, stderr = self._run(args, dry_run)
        if rc != 0:
            raise self._failure(rc, stderr, kind, name, changing=not dry_run)
        return setup_warnings(stderr)
