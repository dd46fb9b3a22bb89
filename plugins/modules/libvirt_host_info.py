#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_host_info
short_description: Read a libvirt host's capabilities, NUMA topology, hugepages and virtualization support
version_added: 0.1.0
description:
  - Reads what a KVM hypervisor offers, without changing anything, through a read-only libvirt connection.
  - Returns the host CPU (model, features, flags, virtualization extension), the NUMA cells with their
    CPUs and memory, hugepage pools per page size with free counts, IOMMU state, nested virtualization,
    the domain types libvirt offers (C(kvm), C(qemu)) and the libvirt and hypervisor versions.
  - CPU flags, IOMMU and nested virtualization come from procfs/sysfs of the host the module runs on;
    they describe the libvirt host only when O(uri) is a local URI.
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - kvmops.kvm.libvirt_connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    support: full
    membership:
      - kvmops.kvm.libvirt
  check_mode:
    support: full
    details:
      - This module only reads, so check mode returns exactly what a normal run returns.
  diff_mode:
    support: N/A
    details:
      - This module does not change anything.
  platform:
    support: full
    platforms: posix
options:
  domains:
    description:
      - Also read the domains defined on the host, in the same module run, returned in RV(domains) exactly
        as M(kvmops.kvm.libvirt_domain_info) returns them (without their XML).
      - For a role that places VMs on the topology it reads, this is one remote module run instead of two.
    type: bool
    default: false
    version_added: 0.1.0
requirements:
  - lxml
notes:
  - RV(kvm_available) being true means libvirt offers the C(kvm) domain type (QEMU found a usable
    C(/dev/kvm)); it does not prove that hardware acceleration works for every CPU model.
seealso:
  - name: libvirt capabilities XML format
    description: What libvirt reports about a host.
    link: https://libvirt.org/formatcaps.html
"""

EXAMPLES = r"""
- name: Read the topology and the defined domains in one run
  kvmops.kvm.libvirt_host_info:
    domains: true
  register: host_and_domains

- name: Read the hypervisor's capabilities
  kvmops.kvm.libvirt_host_info:
  register: host_info

- name: Stop when the host cannot run hardware-accelerated guests
  ansible.builtin.assert:
    that:
      - host_info.kvm_available
      - host_info.cpu.virtualization in ['vmx', 'svm']
    fail_msg: "{{ inventory_hostname }} offers only {{ host_info.hypervisor_types }}"

- name: Show free 2 MiB hugepages per NUMA cell
  ansible.builtin.debug:
    msg: "{{ (host_info.hugepages | selectattr('size_kib', '==', 2048) | first).cells }}"
  when: host_info.hugepages | selectattr('size_kib', '==', 2048) | list | length > 0

- name: Set the URI once for every kvmops.kvm libvirt module in a block
  module_defaults:
    group/kvmops.kvm.libvirt:
      uri: qemu+ssh://root@hv1.example.com/system
  block:
    - name: Read a remote hypervisor over SSH
      kvmops.kvm.libvirt_host_info:
      register: hv1_info
"""

RETURN = r"""
hypervisor_types:
  description: Domain types libvirt offers for hardware-virtualised guests of any architecture, sorted.
  returned: success
  type: list
  elements: str
  sample: [kvm, qemu]
domain_types_by_arch:
  description: Domain types offered per guest architecture.
  returned: success
  type: dict
  sample: {x86_64: [kvm, qemu], i686: [kvm, qemu]}
kvm_available:
  description: Whether libvirt offers the C(kvm) domain type for at least one architecture.
  returned: success
  type: bool
  sample: true
cpu:
  description: The host CPU.
  returned: success
  type: dict
  contains:
    arch:
      description: Host architecture.
      type: str
      sample: x86_64
    vendor:
      description: CPU vendor as libvirt names it.
      type: str
      sample: Intel
    model:
      description: The libvirt CPU model closest to the host CPU.
      type: str
      sample: Skylake-Server-IBRS
    topology:
      description: Sockets, dies, cores per socket and threads per core; null when libvirt does not report it.
      type: dict
      sample: {sockets: 2, dies: 1, cores: 8, threads: 2}
    features:
      description: CPU features libvirt reports on top of RV(cpu.model), sorted.
      type: list
      elements: str
      sample: [ds, pdcm, vmx]
    flags:
      description: Flags of the first CPU in C(/proc/cpuinfo) of the host the module runs on, sorted.
      type: list
      elements: str
      sample: [aes, avx2, sse4_2, vmx]
    virtualization:
      description:
        - Hardware virtualization extension found in the flags, C(vmx) (Intel VT-x) or C(svm) (AMD-V).
        - Null when the CPU, or the hypervisor below a virtual machine, offers neither.
      type: str
      sample: vmx
numa_cells:
  description: NUMA cells (nodes) of the host, by id. Empty when libvirt reports no topology.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Cell (NUMA node) id.
      type: int
      sample: 0
    memory_kib:
      description: Memory of the cell in KiB.
      type: int
      sample: 65844244
    free_memory_kib:
      description: Free memory of the cell in KiB.
      type: int
      sample: 60129540
    cpu_ids:
      description: Ids of the logical CPUs of the cell, sorted.
      type: list
      elements: int
      sample: [0, 1, 2, 3, 8, 9, 10, 11]
    cpus:
      description: Logical CPUs of the cell with their place in the topology.
      type: list
      elements: dict
      sample:
        - {id: 0, socket_id: 0, die_id: 0, core_id: 0, siblings: [0, 8]}
    pages:
      description: Page pools of the cell per page size, including the base page size.
      type: list
      elements: dict
      sample:
        - {size_kib: 4, total: 15870453, free: 14710288}
        - {size_kib: 2048, total: 1024, free: 512}
    distances:
      description: NUMA distance from this cell to each cell.
      type: list
      elements: dict
      sample: [{id: 0, value: 10}, {id: 1, value: 21}]
hugepages:
  description: Hugepage pools per page size (the base page size left out), summed over cells and per cell.
  returned: success
  type: list
  elements: dict
  contains:
    size_kib:
      description: Page size in KiB.
      type: int
      sample: 2048
    total:
      description: Pages reserved in the pool on all cells.
      type: int
      sample: 2048
    free:
      description: Pages free on all cells.
      type: int
      sample: 1024
    cells:
      description: The same per cell, as C(id), C(total), C(free).
      type: list
      elements: dict
      sample: [{id: 0, total: 1024, free: 512}, {id: 1, total: 1024, free: 512}]
memory:
  description: Host-wide memory statistics in KiB as libvirt reports them.
  returned: success
  type: dict
  sample: {total_kib: 131687816, free_kib: 120259080, buffers_kib: 26400, cached_kib: 712332}
iommu:
  description: IOMMU state of the host the module runs on.
  returned: success
  type: dict
  contains:
    enabled:
      description: Whether the kernel registered an IOMMU (an entry under C(/sys/class/iommu)).
      type: bool
      sample: true
    devices:
      description: Entries under C(/sys/class/iommu).
      type: list
      elements: str
      sample: [dmar0, dmar1]
    groups_present:
      description: Whether C(/sys/kernel/iommu_groups) has groups, as device assignment needs.
      type: bool
      sample: true
    group_count:
      description: Number of IOMMU groups.
      type: int
      sample: 87
    cmdline:
      description: IOMMU-related kernel command line options.
      type: list
      elements: str
      sample: [intel_iommu=on, iommu=pt]
    libvirt_support:
      description: libvirt's own verdict on device assignment support; null on libvirt older than 6.7.
      type: bool
      sample: true
nested_virtualization:
  description: Whether the loaded kvm_intel or kvm_amd module allows nested guests; null when neither is loaded.
  returned: success
  type: bool
  sample: false
versions:
  description: Software versions behind the connection.
  returned: success
  type: dict
  contains:
    libvirt:
      description: libvirt library version.
      type: str
      sample: 9.0.0
    driver:
      description: Hypervisor driver name.
      type: str
      sample: QEMU
    hypervisor:
      description: Hypervisor version (QEMU's for C(qemu://) URIs); null when the driver has none.
      type: str
      sample: 7.2.22
domains:
  description:
    - With O(domains=true), the domains defined on the host, sorted by name, each as
      M(kvmops.kvm.libvirt_domain_info) returns it.
  returned: when O(domains=true)
  type: list
  elements: dict
  sample: [{name: web1, active: true, state: running, managed: true}]
"""

# Imports follow the documentation blocks, as validate-modules requires (E402 is
# allowed for modules in pyproject.toml).
from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._host_caps import HAS_LXML, LXML_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._host_info import read_host_info
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import (
    HAS_LIBVIRT,
    LIBVIRT_IMPORT_ERROR,
    libvirt_connection,
)
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_domain_info import domain_entries, read_domains


def main():
    module = AnsibleModule(
        argument_spec={
            "uri": {"type": "str", "default": "qemu:///system"},
            "domains": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    if not HAS_LXML:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    try:
        # One read-only connection for both reads.
        with libvirt_connection(module.params["uri"], readonly=True) as conn:
            info = read_host_info(conn)
            # The same read libvirt_domain_info makes, so the two return the same shape.
            reads = read_domains(conn) if module.params["domains"] else None
        if reads is not None:
            info["domains"] = domain_entries(reads)
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **info)


if __name__ == "__main__":
    main()
