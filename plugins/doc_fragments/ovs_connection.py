# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The database options every kvmops.kvm Open vSwitch module shares; set them
    # once for a play with module_defaults on group/kvmops.kvm.ovs.
    DOCUMENTATION = r"""
options:
  db:
    description:
      - The OVSDB server to talk to, as C(ovs-vsctl --db) takes it, such as V(unix:/run/openvswitch/db.sock)
        or V(tcp:127.0.0.1:6640).
      - Left out, C(ovs-vsctl) uses its built-in default, the local C(unix:/var/run/openvswitch/db.sock).
    type: str
  timeout:
    description:
      - Seconds each C(ovs-vsctl) call may take, passed as C(--timeout) and enforced on the process as well.
      - A database that cannot be reached fails the task with a message naming it, at the latest after this time.
      - A change also waits this long for C(ovs-vswitchd) to apply it.
    type: int
    default: 10
requirements:
  - ovs-vsctl (Open vSwitch) on the managed host
"""
