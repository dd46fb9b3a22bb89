# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``numa_cells: []`` removes the guest NUMA cells libvirt has, and asks for nothing when there are none."""

from __future__ import annotations

import copy

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_compare import differences, merge
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import DOMAIN_OPTIONS
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_xml import build_desired

WITH_CELLS = """<domain type='qemu'><name>n</name><memory unit='KiB'>131072</memory>
<currentMemory unit='KiB'>131072</currentMemory><vcpu placement='static'>1</vcpu>
<features><acpi/><apic/></features>
<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model>
<numa><cell id='0' cpus='0' memory='131072' unit='KiB'/></numa></cpu>
<devices/></domain>"""
WITHOUT_CPU = """<domain type='qemu'><name>n</name><memory unit='KiB'>131072</memory>
<currentMemory unit='KiB'>131072</currentMemory><vcpu placement='static'>1</vcpu>
<features><acpi/><apic/></features><devices/></domain>"""


def cpu_differences(want, current):
    # The small fixtures lack <os> and our metadata; only the CPU part is under test here.
    return [d for d in differences(want, current) if d.startswith("domain/cpu")]


def desired():
    params = {"name": "n", "type": "qemu", "memory": 128, "numa_cells": []}
    result = ArgumentSpecValidator(copy.deepcopy(DOMAIN_OPTIONS)).validate(params)
    assert not result.error_messages
    return build_desired(result.validated_parameters)


def test_defined_cells_are_reported_and_removed():
    current = etree.fromstring(WITH_CELLS)
    assert cpu_differences(desired(), current) == ["domain/cpu/numa: present, to be removed"]
    merged = merge(desired(), current)
    assert merged.find("cpu/numa") is None
    # The CPU model libvirt filled in stays.
    assert merged.findtext("cpu/model") == "qemu64"
    assert cpu_differences(desired(), merged) == []


def test_no_cells_and_no_cpu_element_means_no_change():
    current = etree.fromstring(WITHOUT_CPU)
    assert cpu_differences(desired(), current) == []
    assert merge(desired(), current).find("cpu") is None
