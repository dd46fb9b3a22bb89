# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The connection options every kvmops.kvm libvirt module shares; set them once
    # for a play with module_defaults on group/kvmops.kvm.libvirt.
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - libvirt connection URI, as accepted by C(virsh --connect).
      - The default is the local system QEMU/KVM driver.
      - A remote URI such as C(qemu+ssh://root@host/system) is opened from the host the module runs on.
    type: str
    default: qemu:///system
requirements:
  - libvirt-python
"""
