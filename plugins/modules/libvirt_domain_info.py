#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_domain_info
short_description: Read libvirt domains (virtual machines) as structured data
version_added: 0.1.0
description:
  - Lists the domains of a libvirt host, or reads one by name, without changing anything, through a
    read-only libvirt connection.
  - Returns per domain its state, flags and a summary of its definition - vCPUs, memory, hugepages,
    CPU model and NUMA cells, pinning, disks, network interfaces, graphics and boot settings - with
    every size in KiB and every CPU or node set as a sorted list of numbers.
  - A running domain is summarised from its live XML (what runs now), any other domain from its
    persistent definition. RV(domains[].pending_changes) says whether the persistent definition of a
    running domain differs from what runs, that is whether the next cold boot changes something.
author:
  - kvmops maintainers (@kvmops)
extends_documentation_fragment:
  - kvmops.kvm.libvirt_connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
options:
  name:
    description:
      - Name of the one domain to read.
      - When omitted, every domain of the host is read, running or not, persistent or transient.
      - A name that does not exist returns an empty RV(domains) list, unless O(must_exist=true).
    type: str
  must_exist:
    description:
      - Fail when the domain O(name) does not exist, instead of returning an empty list.
      - Needs O(name).
    type: bool
    default: false
  managed_only:
    description:
      - Return only the domains managed by this collection, those whose XML carries the
        C(<kvmops:managed>) metadata element (namespace C(https://kvmops.example/xmlns/domain/1)).
    type: bool
    default: false
  xml:
    description:
      - Also return each domain's live XML as RV(domains[].xml) and its persistent definition as
        RV(domains[].inactive_xml).
      - Secrets such as VNC passwords are never included, because the connection is read-only.
    type: bool
    default: false
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
requirements:
  - lxml
notes:
  - RV(domains[].pending_changes) compares the live and the persistent XML after leaving out what
    libvirt adds only to a running domain (ids, device aliases, interface target devices, allocated
    graphics ports, pty paths, security labels, the balloon size C(currentMemory), the CPU features
    libvirt expands at start, the firmware it picks for C(<os firmware=...>), and what a libvirt network
    applies to its NICs). A change to only those parts is therefore not reported.
  - A domain that is undefined while the module reads the list is left out of the result.
seealso:
  - module: kvmops.kvm.libvirt_host_info
  - name: libvirt domain XML format
    description: Every element the summary is read from.
    link: https://libvirt.org/formatdomain.html
"""

EXAMPLES = r"""
- name: Read every domain of the hypervisor
  kvmops.kvm.libvirt_domain_info:
  register: vms

- name: Show which domains run
  ansible.builtin.debug:
    msg: "{{ vms.domains | selectattr('state', '==', 'running') | map(attribute='name') | list }}"

- name: Read one domain with its XML; fail when it does not exist
  kvmops.kvm.libvirt_domain_info:
    name: web01
    must_exist: true
    xml: true
  register: web01

- name: Warn when web01 runs with an older definition than the one stored
  ansible.builtin.debug:
    msg: "web01 needs a cold boot to apply its definition"
  when: web01.domains[0].pending_changes

- name: List the VLAN tags of every OVS port of the managed domains
  kvmops.kvm.libvirt_domain_info:
    managed_only: true
  register: managed

- name: Show them per domain
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.interfaces | selectattr('vlan') | map(attribute='vlan.tags') | list }}"
  loop: "{{ managed.domains }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
domains:
  description:
    - The domains read, sorted by name. Empty when O(name) does not exist or no domain is defined.
    - A running domain is described by its live XML, any other by its persistent definition.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
      sample: web01
    uuid:
      description: Domain UUID.
      type: str
      sample: 4dea22b3-1d52-d8f3-2516-782e98ab3fa0
    id:
      description: Id of the running domain; null when it is not running.
      type: int
      sample: 7
    state:
      description: Domain state.
      type: str
      choices: [running, blocked, paused, shutdown, shutoff, crashed, pmsuspended, unknown]
      sample: running
    state_reason:
      description:
        - Why the domain is in that state, as libvirt reports it (C(virsh domstate --reason)), in
          snake case, for example C(booted), C(user), C(destroyed), C(shutdown), C(crashed) or C(unknown).
      type: str
      sample: booted
    active:
      description: Whether the domain is running (also when paused).
      type: bool
      sample: true
    persistent:
      description: Whether the domain has a persistent definition (false for a transient domain).
      type: bool
      sample: true
    autostart:
      description: Whether libvirt starts the domain when the host boots.
      type: bool
      sample: false
    pending_changes:
      description:
        - Whether the domain runs and its persistent definition differs from what runs, so that the next
          cold boot changes it. Always false for a domain that does not run and for transient domains.
        - See the notes for what the comparison leaves out.
      type: bool
      sample: false
    type:
      description: Domain type, C(kvm) for hardware acceleration, C(qemu) for emulation (TCG).
      type: str
      sample: kvm
    managed:
      description: Whether the domain carries this collection's C(<kvmops:managed>) metadata element.
      type: bool
      sample: true
    title:
      description: Short title; null when unset.
      type: str
      sample: Web server 01
    description:
      description: Free-form description; null when unset.
      type: str
      sample: Front-end web server, rack B2
    vcpus:
      description: Virtual CPUs.
      type: dict
      contains:
        current:
          description: vCPUs online at boot.
          type: int
          sample: 2
        max:
          description: Maximum vCPUs (hot-plug limit).
          type: int
          sample: 4
        placement:
          description: C(static) or C(auto) (placed by numad).
          type: str
          sample: static
        cpuset:
          description: Host CPUs the vCPUs may run on by default; null when unrestricted.
          type: list
          elements: int
          sample: [2, 3, 5, 6, 7]
    memory_kib:
      description: Maximum memory at boot in KiB.
      type: int
      sample: 4194304
    current_memory_kib:
      description: Memory the balloon gives the guest, in KiB; on a running domain its actual size.
      type: int
      sample: 4194304
    hugepages:
      description:
        - Hugepages backing guest memory, empty when none. An entry with a null C(size_kib) means the
          host's default hugepage size; a null C(nodeset) means every guest NUMA node.
      type: list
      elements: dict
      sample: [{size_kib: 1048576, nodeset: [0]}, {size_kib: 2048, nodeset: [1]}]
    cpu:
      description: Guest CPU.
      type: dict
      contains:
        mode:
          description: C(host-passthrough), C(host-model), C(custom) or C(maximum); null when not set.
          type: str
          sample: host-passthrough
        model:
          description: CPU model name for custom mode; null otherwise.
          type: str
          sample: qemu64
        topology:
          description: C(sockets), C(dies), C(cores), C(threads); null when not set.
          type: dict
          sample: {sockets: 1, dies: 1, cores: 2, threads: 2}
        numa_cells:
          description: Guest NUMA cells with C(id), C(cpus) (vCPU ids), C(memory_kib), C(mem_access).
          type: list
          elements: dict
          sample: [{id: 0, cpus: [0, 1], memory_kib: 4194304, mem_access: shared}]
    pinning:
      description: Where vCPUs, the emulator and memory are placed on the host.
      type: dict
      contains:
        vcpupin:
          description: Per-vCPU host CPU sets, as C(vcpu) and C(cpuset).
          type: list
          elements: dict
          sample: [{vcpu: 0, cpuset: [2]}, {vcpu: 1, cpuset: [3]}]
        emulatorpin:
          description: Host CPUs of the emulator threads; null when not pinned.
          type: list
          elements: int
          sample: [0, 1]
        numatune:
          description:
            - Host NUMA memory policy, C(mode) and C(nodeset), plus C(memnodes) per guest cell
              (C(cellid), C(mode), C(nodeset)); null when not set.
          type: dict
          sample: {mode: strict, nodeset: [0], memnodes: [{cellid: 0, mode: strict, nodeset: [0]}]}
    disks:
      description:
        - Disks and CD-ROMs in definition order.
        - C(source) depends on C(type) - C(path) for C(file), C(block) and C(dir); C(pool) and C(volume)
          for C(volume); C(protocol), C(name) and C(hosts) (C(name), C(port)) for C(network) (RBD...);
          the source attributes as they are for other types; null for an empty CD-ROM.
      type: list
      elements: dict
      contains:
        target:
          description: Device name in the guest.
          type: str
          sample: vda
        bus:
          description: Bus, such as C(virtio), C(scsi) or C(sata).
          type: str
          sample: virtio
        device:
          description: C(disk), C(cdrom), C(floppy) or C(lun).
          type: str
          sample: disk
        type:
          description: Source type, C(file), C(block), C(volume), C(network) or C(dir).
          type: str
          sample: network
        source:
          description: Where the data lives, see above.
          type: dict
          sample: {protocol: rbd, name: vms/db01-root, hosts: [{name: 203.0.113.10, port: 6789}]}
        format:
          description: Image format as the driver reads it, such as C(qcow2) or C(raw); null when unset.
          type: str
          sample: qcow2
        cache:
          description: Cache mode; null for the hypervisor default.
          type: str
          sample: none
        readonly:
          description: Whether the guest sees the disk read-only.
          type: bool
          sample: false
        shareable:
          description: Whether the disk may be shared with other domains.
          type: bool
          sample: false
        boot_order:
          description: Per-device boot order; null when not set.
          type: int
          sample: 1
    interfaces:
      description: Network interfaces in definition order.
      type: list
      elements: dict
      contains:
        mac:
          description: MAC address.
          type: str
          sample: "52:54:00:3a:52:01"
        type:
          description:
            - Interface type, such as C(network), C(bridge), C(direct) or C(vhostuser). A NIC on a libvirt
              network is reported as C(network) also when the running domain shows the network's bridge.
          type: str
          sample: bridge
        source:
          description: Network name, bridge name, host device (C(direct)) or socket path (C(vhostuser)).
          type: str
          sample: br-tenant
        source_mode:
          description: Mode of the source, such as C(bridge) or C(vepa) for C(direct); null when not set.
          type: str
          sample: null
        bridge:
          description: Host bridge the NIC is plugged into, when known (for a network NIC only while running).
          type: str
          sample: br-tenant
        portgroup:
          description: Port group of the libvirt network; null when not set.
          type: str
          sample: vlan-100
        virtualport:
          description: Virtual port type, such as C(openvswitch); null when not set.
          type: str
          sample: openvswitch
        vlan:
          description:
            - VLAN settings, null when none. C(tags) lists the VLAN ids, C(trunk) is true for a trunk
              port (several tags, or C(trunk='yes')), C(native) is the native VLAN as C(tag) and C(mode)
              (C(tagged) or C(untagged)) or null.
          type: dict
          sample: {tags: [10, 20, 30], trunk: true, native: {tag: 10, mode: untagged}}
        model:
          description: NIC model, such as C(virtio) or C(e1000e).
          type: str
          sample: virtio
        mtu:
          description: MTU set for the NIC; null when not set.
          type: int
          sample: 9000
        target:
          description: Host device name of the NIC (such as C(vnet3)) while running; null otherwise.
          type: str
          sample: vnet3
        boot_order:
          description: Per-device boot order; null when not set.
          type: int
          sample: null
    graphics:
      description: Graphical consoles as C(type), C(port) (null until allocated), C(autoport), C(listen).
      type: list
      elements: dict
      sample: [{type: vnc, port: 5900, autoport: true, listen: 127.0.0.1}]
    os:
      description: Boot settings.
      type: dict
      contains:
        type:
          description: OS type, C(hvm) for full virtualisation.
          type: str
          sample: hvm
        arch:
          description: Guest architecture.
          type: str
          sample: x86_64
        machine:
          description: Machine type.
          type: str
          sample: pc-q35-7.2
        firmware:
          description: C(efi) or C(bios).
          type: str
          sample: efi
        loader:
          description: Firmware loader path; null when libvirt picks it (or has not picked it yet).
          type: str
          sample: /usr/share/OVMF/OVMF_CODE_4M.ms.fd
        boot:
          description: Boot devices in order (C(hd), C(cdrom), C(network), C(fd)).
          type: list
          elements: str
          sample: [hd, cdrom]
        kernel:
          description: Kernel of a direct kernel boot; null otherwise.
          type: str
          sample: null
        initrd:
          description: Initrd of a direct kernel boot; null otherwise.
          type: str
          sample: null
        cmdline:
          description: Kernel command line of a direct kernel boot; null otherwise.
          type: str
          sample: null
    xml:
      description: The live XML (for a domain that does not run, its persistent definition).
      returned: when O(xml=true)
      type: str
      sample: "<domain type='kvm' id='7'>...</domain>"
    inactive_xml:
      description: The persistent definition, as C(virsh dumpxml --inactive) prints it.
      returned: when O(xml=true)
      type: str
      sample: "<domain type='kvm'>...</domain>"
"""

# Imports follow the documentation blocks, as validate-modules requires (E402 is
# allowed for modules in pyproject.toml).
from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_summary import HAS_LXML, LXML_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt_domain_info import gather_domain_info

ARGUMENT_SPEC = {
    "uri": {"type": "str", "default": "qemu:///system"},
    "name": {"type": "str"},
    "must_exist": {"type": "bool", "default": False},
    "managed_only": {"type": "bool", "default": False},
    "xml": {"type": "bool", "default": False},
}


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("must_exist", True, ("name",))],
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    if not HAS_LXML:
        module.fail_json(msg=missing_required_lib("lxml"), exception=LXML_IMPORT_ERROR)
    params = module.params
    try:
        domains = gather_domain_info(
            params["uri"],
            name=params["name"],
            include_xml=params["xml"],
            must_exist=params["must_exist"],
            managed_only=params["managed_only"],
        )
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, domains=domains)


if __name__ == "__main__":
    main()
