#!/usr/bin/env python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Apply an Open vSwitch + network configuration change on the host; undo it unless confirmed.

The kvm_ovs role starts this detached (``async``, ``poll: 0``) when a change
touches the interfaces that carry the Ansible connection, so the change does
not depend on that connection surviving:

1. back up the OVS database (``ovsdb-client backup``) and the role's network
   configuration files;
2. apply every OVS command in one ``ovs-vsctl`` transaction, swap in the staged
   network files and reload the network service;
3. wait up to ``--timeout`` seconds for the confirm file, which the controller
   writes once it has reconnected over the new configuration;
4. without it, restore the database and the files and reload again.

Progress goes to ``<workdir>/status`` (one word: applying, applied, confirmed,
rolled-back, failed) and a log beside it; no ``at``/systemd timer is needed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

POLL_SECONDS = 0.5


class Guard:
    def __init__(self, plan, workdir, log):
        self.plan = plan
        self.workdir = workdir
        self.log_file = log
        self.db = plan.get("db") or "unix:/var/run/openvswitch/db.sock"
        self.vsctl_timeout = int(plan.get("ovsdb_timeout") or 10)
        # Further global ovs-vsctl options (tests against a bare ovsdb-server pass --no-wait).
        self.vsctl_options = list(plan.get("vsctl_options") or [])
        network = plan.get("network") or {}
        self.net_dir = network.get("dir")
        self.net_glob = network.get("glob")
        self.staged = network.get("staged")
        self.reload = network.get("reload") or []
        self.backup_db = os.path.join(workdir, "ovsdb.backup")
        self.backup_net = os.path.join(workdir, "network.backup")

    def log(self, message):
        self.log_file.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}\n")
        self.log_file.flush()

    def status(self, word):
        path = os.path.join(self.workdir, "status")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(word + "\n")
        os.replace(path + ".tmp", path)
        self.log(f"status {word}")

    def run(self, argv, stdin=None, stdout=None, check=True):
        self.log("run " + " ".join(argv))
        proc = subprocess.run(
            argv,
            stdin=stdin,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=self.vsctl_timeout + 30,
            check=False,
        )
        if proc.returncode != 0:
            message = f"{argv[0]} exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}"
            self.log(message)
            if check:
                raise RuntimeError(message)
        return proc

    def _managed_files(self):
        if not self.net_dir or not self.net_glob:
            return []
        return sorted(glob.glob(os.path.join(self.net_dir, self.net_glob)))

    def backup(self):
        with open(self.backup_db, "wb") as handle:
            self.run(["ovsdb-client", "backup", self.db, "Open_vSwitch"], stdout=handle)
        shutil.rmtree(self.backup_net, ignore_errors=True)
        os.makedirs(self.backup_net)
        for path in self._managed_files():
            shutil.copy2(path, self.backup_net)

    def _replace_files(self, source_dir):
        if not self.net_dir or not self.net_glob:
            return
        for path in self._managed_files():
            os.unlink(path)
        for path in sorted(glob.glob(os.path.join(source_dir, self.net_glob))):
            shutil.copy2(path, self.net_dir)

    def _reload(self):
        # Never a reason to roll back by itself: whether the host is still reachable decides.
        for argv in self.reload:
            self.run(argv, check=False)

    def apply(self):
        commands = self.plan.get("ovs_commands") or []
        if commands:
            argv = ["ovs-vsctl", f"--timeout={self.vsctl_timeout}", f"--db={self.db}", *self.vsctl_options]
            for command in commands:
                argv += ["--"] + list(command)
            self.run(argv)
        if self.staged:
            self._replace_files(self.staged)
            self._reload()

    def rollback(self):
        # Best effort on every step: a half-restored host is still better than none.
        with open(self.backup_db, "rb") as handle:
            self.run(["ovsdb-client", "restore", self.db], stdin=handle, check=False)
        if self.staged:
            self._replace_files(self.backup_net)
            self._reload()

    def wait_for_confirmation(self, confirm, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(confirm):
                return True
            time.sleep(POLL_SECONDS)
        return os.path.exists(confirm)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="JSON: ovs_commands, db, ovsdb_timeout, network")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--confirm", required=True, help="file whose existence confirms the change")
    parser.add_argument("--timeout", type=int, required=True, help="seconds to wait for the confirm file")
    args = parser.parse_args(argv)

    with open(args.plan, encoding="utf-8") as handle:
        plan = json.load(handle)
    os.makedirs(args.workdir, exist_ok=True)
    with open(os.path.join(args.workdir, "guard.log"), "a", encoding="utf-8") as log:
        guard = Guard(plan, args.workdir, log)
        guard.status("applying")
        try:
            guard.backup()
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            guard.log(f"backup failed, nothing changed: {exc}")
            guard.status("failed")
            return 2
        try:
            guard.apply()
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            guard.log(f"apply failed: {exc}")
            guard.rollback()
            guard.status("failed")
            return 1
        guard.status("applied")
        if guard.wait_for_confirmation(args.confirm, args.timeout):
            guard.status("confirmed")
            return 0
        guard.log(f"no confirmation within {args.timeout} s: rolling back")
        guard.rollback()
        guard.status("rolled-back")
        return 3


if __name__ == "__main__":
    sys.exit(main())
