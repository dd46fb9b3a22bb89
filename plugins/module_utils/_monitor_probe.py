# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A bounded TCP probe of Ceph monitors, run before libvirt is asked to talk to them.

libvirt's rbd backend waits about 30 s per call (``client_mount_timeout``)
when no monitor answers, and a run touching several pools or volumes adds
those waits up. A TCP connect with a short timeout answers the same question
in milliseconds, or within the timeout when packets are dropped. Every
monitor is probed at once, so the whole probe takes at most about one timeout.
"""

from __future__ import annotations

import socket
import threading
import time

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

DEFAULT_PROBE_TIMEOUT = 3


def _probe_one(name, ports, timeout, results):
    failures = []
    for port in ports:
        try:
            with socket.create_connection((name, port), timeout=timeout):
                results[name] = (f"{name}:{port}", None)
                return
        except socket.timeout:
            failures.append(f"{name}:{port} (no answer within {timeout:g} s)")
        except OSError as exc:
            failures.append(f"{name}:{port} ({exc.strerror or exc})")
    results[name] = (None, ", ".join(failures))


def probe_monitors(monitors, timeout):
    """Probe ``[(name, [ports])]``; returns ``(answering, failures)`` as lists of readable strings.

    A monitor answers when any of its ports accepts a TCP connection. Name
    resolution that hangs counts as no answer once the overall budget is spent.
    """
    results = {}
    threads = []
    for name, ports in monitors:
        thread = threading.Thread(target=_probe_one, args=(name, ports, timeout, results), daemon=True)
        thread.start()
        threads.append((name, ports, thread))
    # Each port gets its own timeout; the budget covers the slowest monitor's ports.
    budget = timeout * max((len(ports) for _name, ports, _thread in threads), default=1) + 1
    deadline = time.monotonic() + budget
    answering, failures = [], []
    for name, ports, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        outcome = results.get(name)
        if outcome is None:
            failures.append(f"{name}:{'/'.join(str(p) for p in ports)} (no answer within {budget:g} s)")
        elif outcome[0]:
            answering.append(outcome[0])
        else:
            failures.append(outcome[1])
    return answering, failures


def require_monitors(kind, label, ceph_pool, monitors, timeout=DEFAULT_PROBE_TIMEOUT):
    """Raise, naming ``label``, the Ceph pool and each monitor, when none answers; else failure texts.

    Used by every module that is about to make libvirt talk to Ceph (a pool's
    start or refresh, a volume's create, resize or delete), so each fails in
    seconds the same way instead of libvirt's 30 s wait per call.
    """
    answering, failures = probe_monitors(monitors, timeout)
    if not answering:
        tried = "; ".join(failures) or "no monitors listed"
        raise KvmopsError(
            kind,
            label,
            f"no Ceph monitor of Ceph pool '{ceph_pool or '?'}' answers: {tried}. "
            "libvirt would wait 30 s per call for them; check that the cluster runs and this host reaches its "
            "monitors (the rbd pool's hosts)",
        )
    return failures
