# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place that runs ``systemctl`` (systemd_units, host_probe); failures become KvmopsError."""

from __future__ import annotations

import os

from ansible_collections.kvmops.kvm.plugins.module_utils import _systemd_units as su
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

# A stuck unit start must not hang the play forever; systemd's own default
# start timeout is 90 s, so this only catches a systemctl that never returns.
CALL_TIMEOUT = 300


def systemd_booted():
    """sd_booted(3): systemd is PID 1 exactly when /run/systemd/system exists."""
    return os.path.isdir("/run/systemd/system")


class Systemctl:
    def __init__(self, module):
        self.module = module
        self.binary = module.get_bin_path("systemctl")
        if not self.binary:
            raise KvmopsError(su.KIND, "systemctl", "not found: the host does not run systemd")

    def _run(self, args):
        timeout = self.module.get_bin_path("timeout")
        argv = ([timeout, str(CALL_TIMEOUT)] if timeout else []) + [self.binary] + args
        return self.module.run_command(argv)

    def show(self, names):
        """{name: state} for every name, from one ``systemctl show`` call."""
        if not names:
            return {}
        rc, out, err = self._run(["show", "--property=" + ",".join(su.PROPERTIES), "--"] + list(names))
        if rc != 0:
            raise KvmopsError(su.KIND, ", ".join(names), f"systemctl show failed (rc {rc}): {err.strip()}")
        return su.parse_show(out, list(names))

    def daemon_reload(self):
        rc, _out, err = self._run(["daemon-reload"])
        if rc != 0:
            raise KvmopsError(su.KIND, "daemon-reload", f"systemctl daemon-reload failed (rc {rc}): {err.strip()}")

    def _status_tail(self, name):
        _rc, out, _err = self._run(["status", "--no-pager", "--lines=4", "--", name])
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        return " | ".join(lines[-4:])

    def act(self, action, names):
        """One ``systemctl ACTION a b c``; on failure each unit alone, so the message names the one that failed."""
        rc, _out, err = self._run([action, "--"] + list(names))
        if rc == 0:
            return
        for name in names:
            rc, _out, err = self._run([action, "--", name])
            if rc != 0:
                raise KvmopsError(
                    su.KIND, name, f"systemctl {action} failed (rc {rc}): {err.strip()}", detail=self._status_tail(name)
                )
        # The batch failed but each unit alone succeeded (a transient failure): nothing is left undone.


def manage_units(module):
    """Run systemd_units for ``module.params``; returns the result dict for exit_json."""
    systemctl = Systemctl(module)
    items = module.params["units"]
    if module.params["daemon_reload"] and not module.check_mode:
        systemctl.daemon_reload()
    states = systemctl.show([item["name"] for item in items])
    plans = su.plan_units(items, states)
    if not module.check_mode:
        for action, names in su.calls(plans):
            systemctl.act(action, names)
    changed = [plan.name for plan in plans if plan.actions]
    result = {
        "changed": bool(changed),
        "changed_units": changed,
        "units": {plan.name: plan.as_result() for plan in plans},
    }
    if module._diff:
        result["diff"] = [su.diff_of(plan) for plan in plans if plan.actions]
    return result
