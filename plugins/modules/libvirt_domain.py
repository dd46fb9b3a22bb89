#!/usr/bin/python
# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_domain
short_description: Define, converge and drive libvirt domains (VMs) from structured specs
version_added: 0.1.0
description:
  - Defines a libvirt domain (virtual machine) from structured options, or from raw libvirt XML in O(xml),
    keeps an existing definition converged to them, drives its run state and undefines it.
  - B(Subset semantics.) What the options describe must be contained in libvirt's inactive (persistent)
    definition. Everything the options leave out is kept as libvirt or an operator wrote it, including
    PCI addresses, controllers, the MAC addresses libvirt generated and settings made with C(virsh edit).
    A second run with the same options therefore changes nothing.
  - B(Owned sets.) A list option the task gives is the complete set of those elements; elements the list
    does not name are removed. This holds for O(disks) (matched by target), O(interfaces) (matched by MAC,
    otherwise by position), O(graphics) (by type), O(serials), O(hostdevs), O(boot), O(numa_cells),
    O(cpu.features), O(cputune.vcpupin), O(cputune.iothreadpin), O(numatune.memnodes),
    O(memory_backing.hugepages) and the VLAN tags of an interface. Leaving a list option out keeps the
    current elements; an empty list removes them all.
  - A dict option or scalar option left out keeps what is defined; it does not remove what an earlier run
    set (for example dropping O(tpm) keeps the TPM). Exceptions, which are always written, are O(type),
    O(arch), O(vcpus) (1 when left out), O(current_memory) (equal to O(memory) when left out) and the
    C(acpi) and C(apic) O(features).
  - Only differing places are changed; the module defines libvirt's own definition with those places
    changed, with libvirt's schema validation on, and only when something differs.
  - Changes go to the persistent definition. A running domain gets them at its next cold boot; the
    module reports them in RV(pending_changes) and RV(restart_required), or restarts the domain when
    O(restart_on_change) is true. Nothing is hot-plugged.
  - The module marks each domain it defines with a C(<kvmops:managed>) element in C(<metadata>), so the
    first run on a domain defined elsewhere reports one change for that marker.
  - Every domain's options are validated before anything changes; with O(domains), one invalid item means
    that no domain is changed.
  - Before a definition is stored (created or changed), the module checks that what it refers to exists
    (libvirt networks, pool volumes, bridges, disk files, kernel, initrd and loader) and fails naming the
    missing objects instead. Paths and bridges are only checked for local URIs.
  - Several domains can be handled in one call with O(domains), over one connection and one listing.
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
      - Check mode computes the same plan as a real run and stops before every call that changes something,
        so C(changed), RV(actions), RV(changes) and the diff predict what the real run does.
      - A graceful shutdown is predicted to succeed; whether the guest obeys the power button within
        O(shutdown_timeout) is only known in the real run.
      - Disk sources and host bridges that earlier tasks of the same playbook create, which check mode only
        predicted, can be listed in O(pending_storage) and O(pending_bridges); check mode then plans the domain
        with them instead of refusing it.
  diff_mode:
    support: full
    details:
      - Shows the definition as pretty-printed XML before and after (the whole definition for a new or
        removed domain), with graphics passwords masked, plus C(autostart) and C(state) lines when those
        change. With O(domains), the diffs of all domains are returned in order.
  platform:
    support: full
    platforms: posix
requirements:
  - lxml
  - netaddr
options:
  name:
    description:
      - Name of the domain, 1 to 63 letters, digits, C(.), C(_), C(+) or C(-), starting with a letter or digit.
      - Required unless O(xml) (whose C(<name>) is used) or O(domains) is given. When given with O(xml),
        it must equal the C(<name>) in the XML.
      - Not allowed together with O(domains); each item of O(domains) has its own name.
    type: str
  state:
    description:
      - V(present) defines the domain, or converges its definition, and leaves the run state alone.
      - V(running) also starts a shut off domain (a crashed one is destroyed first), resumes a paused one
        and wakes up a suspended (pmsuspended) one, then waits until libvirt reports it running.
      - V(paused) makes the domain running as V(running) does, then pauses it.
      - V(shutdown) presses the ACPI power button (a paused domain is resumed first so the guest sees it)
        and waits O(shutdown_timeout) seconds for the domain to shut off; then the module fails, or with
        O(force) powers it off.
      - V(destroyed) powers the domain off at once, like pulling the plug.
      - V(absent) powers the domain off at once if it is active (no graceful shutdown; use V(shutdown) in
        an earlier task for that) and undefines it together with its NVRAM file, managed save image,
        snapshot and checkpoint metadata and, from libvirt 8.9 on, its TPM state. Its storage is kept
        unless O(delete_volumes) is true. Definition options are ignored.
      - Except with V(absent), a domain that is not defined needs definition options (or O(xml)) to be
        defined; with only O(name) and run-state options the module fails for it.
      - Definition options given with any state other than V(absent) are converged first.
    type: str
    choices: [present, running, shutdown, destroyed, paused, absent]
    default: present
  xml:
    description:
      - A complete libvirt domain definition, used instead of the structured options. The structured
        definition options (O(memory), O(disks) and so on, and O(uuid)) are ignored when it is given.
      - Subset semantics apply as for the structured options. Each device type present under C(<devices>)
        (except C(<controller>) and C(<emulator>)) is owned as a set, so devices of that type the XML does
        not list are removed; device types it does not mention are kept.
      - Memory sizes in C(<memory>), C(<currentMemory>), C(<maxMemory>), NUMA cells and hugepages are
        compared in KiB whatever unit the XML uses.
      - Not allowed together with O(domains); items of O(domains) can each have their own O(xml).
    type: str
  uuid:
    description:
      - UUID of the domain. Left out, libvirt generates one when it defines the domain.
      - The UUID of a defined domain cannot change; the module fails when it differs.
      - Not inherited by the items of O(domains).
    type: str
  title:
    description:
      - Short one-line title of the domain (C(<title>)).
    type: str
  description:
    description:
      - Free-form description of the domain (C(<description>)).
    type: str
  type:
    description:
      - Domain type. V(kvm) uses hardware acceleration; V(qemu) is plain emulation, for hosts without it.
    type: str
    choices: [kvm, qemu]
    default: kvm
  arch:
    description:
      - Guest CPU architecture, as in C(<os><type arch=...>).
      - Also selects which of the host's machine type aliases O(machine) is compared with.
    type: str
    default: x86_64
  machine:
    description:
      - QEMU machine type, such as V(q35), V(pc) or a versioned type such as V(pc-q35-7.2).
      - libvirt stores an alias as the versioned type it stands for. An alias given here matches any version
        of its family, so a QEMU upgrade never changes the machine type (the guest ABI) of an existing
        domain; a versioned type must match exactly.
      - Left out, libvirt's default for O(arch) is used when the domain is defined and kept afterwards.
    type: str
  emulator:
    description:
      - Path of the emulator binary on the libvirt host (C(<emulator>)). Left out, libvirt chooses it.
    type: str
  firmware:
    description:
      - Firmware of the domain.
      - Left out, the firmware settings of the definition are kept.
    type: dict
    suboptions:
      type:
        description:
          - V(bios) is SeaBIOS and writes nothing, so it does not turn an EFI domain back into a BIOS one.
          - V(efi) is UEFI (OVMF). Without O(firmware.loader), libvirt's firmware autoselection picks the
            loader and NVRAM template from the host's firmware descriptors.
        type: str
        choices: [bios, efi]
        default: bios
      secure_boot:
        description:
          - Boot with UEFI secure boot, from firmware with keys enrolled (on most distributions Microsoft's).
          - Needs O(firmware.type=efi) and a q35 O(machine) (the value must contain V(q35)).
          - Turns on the C(smm) feature, which secure boot firmware needs, unless O(features) sets it.
        type: bool
        default: false
      loader:
        description:
          - Absolute path of the UEFI firmware image on the libvirt host, used read-only as pflash, instead of
            autoselection. Checked to exist before defining when O(uri) is local.
          - Needs O(firmware.type=efi).
        type: str
      nvram:
        description:
          - Path of the domain's own UEFI variable store. Left out, libvirt names one after the domain.
          - Needs O(firmware.type=efi).
        type: str
      nvram_template:
        description:
          - Path of the variable store template the NVRAM file is created from when it does not exist yet.
          - Only used with O(firmware.type=efi).
        type: str
  memory:
    description:
      - Maximum memory of the domain, such as V(4GiB) or V(512MiB); a bare number is MiB.
      - Binary units (V(KiB), V(MiB), V(GiB), V(TiB), V(K), V(M), V(G), V(T)) are powers of 1024, V(KB),
        V(MB), V(GB), V(TB) powers of 1000. The size must be a whole number of KiB; fractions are refused.
      - Required when the task defines or converges a definition, that is when any definition option is given.
    type: raw
  current_memory:
    description:
      - Memory the domain gets at boot when the balloon is used (C(<currentMemory>)), in the notation of
        O(memory); at most O(memory).
      - Left out, it equals O(memory), so growing O(memory) is not held back by an old balloon size.
    type: raw
  vcpus:
    description:
      - Number of vCPUs the domain starts with.
      - Left out, the domain gets 1 vCPU; the current count is not kept.
    type: int
  max_vcpus:
    description:
      - Maximum number of vCPUs, for vCPU hot-plug; at least O(vcpus). Left out, it equals O(vcpus).
      - O(cpu.topology), O(numa_cells) and O(cputune.vcpupin) count vCPUs up to this number.
    type: int
  vcpu_placement:
    description:
      - V(static) places vCPUs on O(vcpu_cpuset) (or all host CPUs); V(auto) lets numad choose.
    type: str
    choices: [static, auto]
  vcpu_cpuset:
    description:
      - Host CPUs all vCPUs may run on by default, such as V(0-7,^3) or V(16-31).
      - O(cputune.vcpupin) overrides it per vCPU.
    type: str
  iothreads:
    description:
      - Number of I/O threads, numbered from 1, for O(cputune.iothreadpin).
    type: int
  cpu:
    description:
      - The guest CPU model and topology (C(<cpu>)).
    type: dict
    suboptions:
      mode:
        description:
          - V(host-passthrough) shows the host CPU as it is (best performance, hinders migration between
            unlike hosts), V(host-model) the closest named model with the host's features, V(custom) the
            model in O(cpu.model), V(maximum) everything the hypervisor can offer.
        type: str
        choices: [host-passthrough, host-model, custom, maximum]
        required: true
      model:
        description:
          - Named CPU model such as V(Skylake-Server-IBRS). Required with O(cpu.mode=custom).
        type: str
      fallback:
        description:
          - Whether libvirt may fall back to another model when O(cpu.model) is not supported.
        type: str
        choices: [allow, forbid]
      match:
        description:
          - How strictly the guest CPU must match O(cpu.model).
        type: str
        choices: [minimum, exact, strict]
      migratable:
        description:
          - With V(host-passthrough) or V(maximum), whether to leave out features that block migration.
        type: bool
      features:
        description:
          - CPU features to add or remove on top of the model. When given, this is the complete set of
            features in the definition.
          - Only compared with the definition, not with a running domain, which lists the features its
            model expanded to.
        type: list
        elements: dict
        suboptions:
          name:
            description:
              - Feature name as libvirt knows it, such as V(vmx) or V(pcid).
            type: str
            required: true
          policy:
            description:
              - What to do with the feature.
            type: str
            choices: [force, require, optional, disable, forbid]
            default: require
      topology:
        description:
          - The vCPU topology. Sockets x dies x cores x threads must equal O(max_vcpus) (or O(vcpus)).
        type: dict
        suboptions:
          sockets:
            description:
              - Number of sockets.
            type: int
            required: true
          dies:
            description:
              - Number of dies per socket. Left out, libvirt assumes 1.
            type: int
          cores:
            description:
              - Number of cores per die.
            type: int
            required: true
          threads:
            description:
              - Number of threads per core.
            type: int
            required: true
  numa_cells:
    description:
      - The guest's NUMA cells. When given, this is the complete set of cells.
      - Ids must run from 0 without gaps, each vCPU may be in one cell only, and the cell memory must add
        up to O(memory).
    type: list
    elements: dict
    suboptions:
      id:
        description:
          - Cell id, 0 for the first cell.
        type: int
        required: true
      cpus:
        description:
          - vCPUs of the cell, such as V(0-3) or V(0,2,4-7); all below O(max_vcpus).
        type: str
        required: true
      memory:
        description:
          - Memory of the cell, in the notation of O(memory) (a bare number is MiB).
        type: raw
        required: true
      memory_access:
        description:
          - Whether the cell memory is mapped shared (needed for vhost-user devices and virtiofs) or private.
        type: str
        choices: [shared, private]
  cputune:
    description:
      - CPU pinning and CPU time limits (C(<cputune>)).
    type: dict
    suboptions:
      vcpupin:
        description:
          - Host CPUs each vCPU runs on. When given, this is the complete set of pinned vCPUs.
        type: list
        elements: dict
        suboptions:
          vcpu:
            description:
              - vCPU number, from 0 to O(max_vcpus) - 1; each vCPU may be pinned once.
            type: int
            required: true
          cpuset:
            description:
              - Host CPUs, such as V(8) or V(8-9).
            type: str
            required: true
      emulatorpin:
        description:
          - Host CPUs for QEMU's emulator threads, such as V(0-1).
        type: str
      iothreadpin:
        description:
          - Host CPUs each I/O thread runs on. When given, this is the complete set of pinned I/O threads.
        type: list
        elements: dict
        suboptions:
          iothread:
            description:
              - I/O thread number, from 1 to O(iothreads).
            type: int
            required: true
          cpuset:
            description:
              - Host CPUs, such as V(2-3).
            type: str
            required: true
      shares:
        description:
          - Relative CPU weight of the domain against other domains.
        type: int
      period:
        description:
          - Enforcement period of O(cputune.quota) for vCPU threads, in microseconds.
        type: int
      quota:
        description:
          - CPU time vCPU threads may use per O(cputune.period), in microseconds.
        type: int
      emulator_period:
        description:
          - Like O(cputune.period), for emulator threads.
        type: int
      emulator_quota:
        description:
          - Like O(cputune.quota), for emulator threads.
        type: int
  numatune:
    description:
      - Host NUMA nodes the domain's memory comes from (C(<numatune>)).
    type: dict
    suboptions:
      mode:
        description:
          - Memory policy for O(numatune.nodeset) or O(numatune.placement); without either of them it has
            no effect.
        type: str
        choices: [strict, preferred, interleave, restrictive]
        default: strict
      nodeset:
        description:
          - Host NUMA nodes, such as V(1) or V(0-1).
        type: str
      placement:
        description:
          - V(auto) lets numad choose the nodes; V(static) uses O(numatune.nodeset).
        type: str
        choices: [static, auto]
      memnodes:
        description:
          - Host nodes per guest NUMA cell. When given, this is the complete set.
        type: list
        elements: dict
        suboptions:
          cellid:
            description:
              - Guest cell, an O(numa_cells[].id).
            type: int
            required: true
          mode:
            description:
              - Memory policy for the cell.
            type: str
            choices: [strict, preferred, interleave, restrictive]
            default: strict
          nodeset:
            description:
              - Host NUMA nodes for the cell.
            type: str
            required: true
  memory_backing:
    description:
      - How guest memory is backed (C(<memoryBacking>)).
    type: dict
    suboptions:
      hugepages:
        description:
          - Back guest memory with hugepages, per page size. When given, this is the complete set of page
            entries; an empty list uses the host's default hugepage size for all memory.
          - The host must have enough pages of the size reserved, or the domain does not start.
        type: list
        elements: dict
        suboptions:
          size:
            description:
              - Page size, such as V(2MiB) or V(1GiB); a bare number is MiB.
            type: raw
            required: true
          nodeset:
            description:
              - Guest NUMA cells (O(numa_cells[].id)) that use this page size. Left out, all cells do.
            type: str
      locked:
        description:
          - Lock guest memory in host RAM so it is never swapped. V(false) removes the setting.
        type: bool
        default: false
      nosharepages:
        description:
          - Keep the host from merging identical pages (KSM) of this domain. V(false) removes the setting.
        type: bool
        default: false
      source:
        description:
          - Memory source.
        type: str
        choices: [file, anonymous, memfd]
      access:
        description:
          - Whether memory is mapped shared (needed for vhost-user devices and virtiofs) or private.
        type: str
        choices: [shared, private]
  boot:
    description:
      - Boot devices in order, each one of V(hd), V(cdrom), V(network) and V(fd). When given, this is the
        complete boot order.
      - Cannot be combined with O(disks[].boot_order) or O(interfaces[].boot_order).
    type: list
    elements: str
  kernel:
    description:
      - Path of a kernel on the libvirt host to boot directly, without a boot loader in the guest.
        Checked to exist before defining when O(uri) is local.
    type: str
  initrd:
    description:
      - Path of the initrd for O(kernel). Needs O(kernel); checked like it.
    type: str
  cmdline:
    description:
      - Kernel command line for O(kernel). Needs O(kernel).
    type: str
  features:
    description:
      - Hypervisor features (C(<features>)), by element name.
      - V(true) adds the feature, V(false) or null removes it, the strings V('on') and V('off') set its
        C(state) attribute and a dict sets its attributes (booleans become C(on)/C(off)).
      - Quote V('on') and V('off'); unquoted, YAML reads them as booleans.
      - Features the dict does not name are kept, except C(acpi) and C(apic), which are always on unless set
        V(false) here; without ACPI the guest never sees the power button, so O(state=shutdown) cannot work.
    type: dict
  tcg_tb_cache:
    description:
      - Size of QEMU's TCG translation cache (C(<features><tcg><tb-cache>)), as V(256MiB) or a number of MiB.
      - Only for emulated domains (O(type=qemu)); QEMU's default is 1 GiB per guest, and a smaller cache
        roughly halves the memory an emulated guest uses, at little cost in speed.
    type: raw
  clock:
    description:
      - The guest clock (C(<clock>)).
    type: dict
    suboptions:
      offset:
        description:
          - What the guest clock is set to at boot. Linux guests want V(utc), Windows guests V(localtime).
        type: str
        choices: [utc, localtime, timezone, variable]
        default: utc
      timezone:
        description:
          - Time zone such as V(Europe/Paris). Required with O(clock.offset=timezone).
        type: str
      timers:
        description:
          - Timers, matched by name. Timers the list does not name are kept.
        type: list
        elements: dict
        suboptions:
          name:
            description:
              - Timer name, such as V(rtc), V(pit), V(hpet) or V(kvmclock).
            type: str
            required: true
          present:
            description:
              - Whether the guest sees the timer.
            type: bool
          tickpolicy:
            description:
              - What to do with ticks the guest missed.
            type: str
            choices: [delay, catchup, merge, discard]
  on_poweroff:
    description:
      - What libvirt does when the guest powers off.
    type: str
    choices: [destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart]
  on_reboot:
    description:
      - What libvirt does when the guest reboots.
    type: str
    choices: [destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart]
  on_crash:
    description:
      - What libvirt does when the guest crashes.
    type: str
    choices: [destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart]
  disks:
    description:
      - Disks and CD-ROM drives. When given, this is the complete set of disks, matched by O(disks[].target);
        a defined disk whose target is not listed is removed from the definition (its storage is kept).
      - Each disk needs exactly one source, O(disks[].path), O(disks[].pool) with O(disks[].volume), or
        O(disks[].rbd); only a CD-ROM may have none (an empty drive).
    type: list
    elements: dict
    suboptions:
      target:
        description:
          - Device name in the guest, such as V(vda), V(sdb) or V(hdc); unique within the domain.
        type: str
        required: true
      device:
        description:
          - Kind of device.
        type: str
        choices: [disk, cdrom, lun]
        default: disk
      bus:
        description:
          - Bus the disk is attached to. Left out, libvirt chooses from the target prefix.
          - When the bus changes between PCI (V(virtio)) and the others, the old address is dropped
            and libvirt assigns a new one.
        type: str
        choices: [virtio, scsi, sata, ide, usb]
      type:
        description:
          - Source type. Left out, it follows the source, which it must fit when given; V(block) for a
            O(disks[].path) under C(/dev/), V(file) for another path, V(volume) for O(disks[].volume) and
            V(network) for O(disks[].rbd).
        type: str
        choices: [file, block, volume, network]
      path:
        description:
          - Path of an image file or block device on the libvirt host. When O(uri) is local, it must exist
            (or be a volume of a libvirt pool) before the domain is defined.
        type: str
      pool:
        description:
          - libvirt storage pool holding O(disks[].volume).
        type: str
      volume:
        description:
          - Volume of O(disks[].pool) to use; it must exist before the domain is defined (see
            M(kvmops.kvm.libvirt_volume)). Needs O(disks[].pool).
        type: str
      rbd:
        description:
          - A Ceph RBD image, attached through QEMU's own RBD client.
        type: dict
        suboptions:
          image:
            description:
              - The image as V(ceph-pool/image).
            type: str
            required: true
          hosts:
            description:
              - Ceph monitors.
            type: list
            elements: dict
            required: true
            suboptions:
              name:
                description:
                  - Monitor host name or address.
                type: str
                required: true
              port:
                description:
                  - Monitor port.
                type: int
                default: 6789
          username:
            description:
              - cephx user name, without the C(client.) prefix. Needs O(disks[].rbd.secret_uuid) or
                O(disks[].rbd.secret_usage).
            type: str
          secret_uuid:
            description:
              - UUID of the libvirt secret (usage type C(ceph)) holding the user's key.
              - Mutually exclusive with O(disks[].rbd.secret_usage).
            type: str
          secret_usage:
            description:
              - Usage name of the libvirt secret holding the user's key.
              - Mutually exclusive with O(disks[].rbd.secret_uuid).
            type: str
      format:
        description:
          - Image format QEMU reads (C(<driver type>)).
        type: str
        choices: [raw, qcow2]
      cache:
        description:
          - Host cache mode. V(none) (with V(native) O(disks[].io)) is the usual choice for production disks.
        type: str
        choices: [default, none, writethrough, writeback, directsync, unsafe]
      io:
        description:
          - Asynchronous I/O mode.
        type: str
        choices: [native, threads, io_uring]
      discard:
        description:
          - Whether guest discard (TRIM) requests free space in the image (V(unmap)) or are ignored.
        type: str
        choices: [unmap, ignore]
      detect_zeroes:
        description:
          - Whether QEMU detects writes of zeroes and turns them into holes.
        type: str
        choices: ['off', 'on', unmap]
      serial:
        description:
          - Serial number the guest sees, for stable names under C(/dev/disk/by-id).
        type: str
      readonly:
        description:
          - V(true) makes the disk read-only, V(false) read-write; left out, the setting is kept.
        type: bool
      shareable:
        description:
          - V(true) lets several domains use the disk at once (for cluster file systems), V(false)
            removes that; left out, the setting is kept.
        type: bool
      boot_order:
        description:
          - Boot priority of the disk, unique across disks and interfaces. Cannot be combined with O(boot).
        type: int
  interfaces:
    description:
      - Network interfaces. When given, this is the complete set of interfaces; a defined interface the list
        does not match is removed.
      - An interface with O(interfaces[].mac) matches the defined interface with that MAC; one without matches
        the defined interfaces by position, so it keeps the MAC libvirt generated for it.
      - Each interface needs exactly one of O(interfaces[].network), O(interfaces[].bridge) and
        O(interfaces[].dev).
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - Interface type. Left out, it follows the source, which it must fit when given; V(network) for
            O(interfaces[].network), V(bridge) for O(interfaces[].bridge) and V(direct) (macvtap) for
            O(interfaces[].dev).
        type: str
        choices: [network, bridge, direct]
      network:
        description:
          - libvirt network to connect to. It must be defined before the domain is defined.
        type: str
      bridge:
        description:
          - Host bridge (Linux or Open vSwitch) to connect to. When O(uri) is local, it must exist before the
            domain is defined.
        type: str
      dev:
        description:
          - Host network device for a macvtap (direct) interface.
        type: str
      source_mode:
        description:
          - macvtap mode of an O(interfaces[].dev) interface. Left out, V(bridge) is used.
        type: str
        choices: [vepa, bridge, private, passthrough]
      portgroup:
        description:
          - Port group of O(interfaces[].network). Not possible for a bridge interface.
        type: str
      openvswitch:
        description:
          - Connect O(interfaces[].bridge) as an Open vSwitch port (C(<virtualport type='openvswitch'>)).
            Needed for VLAN tags on a bridge.
          - Only for bridge interfaces; a libvirt network sets its own virtual port.
        type: bool
        default: false
      vlan:
        description:
          - VLAN id (0-4095) for an access port. Mutually exclusive with O(interfaces[].trunk).
          - Needs O(interfaces[].openvswitch) on a bridge interface (a Linux bridge port cannot carry tags).
        type: int
      trunk:
        description:
          - VLAN ids (0-4095) the port carries tagged, as a trunk. The set of tags is owned.
          - Needs O(interfaces[].openvswitch) on a bridge interface.
        type: list
        elements: int
      native_vlan:
        description:
          - VLAN of O(interfaces[].trunk) whose frames go untagged; added to the trunk if it is not in it.
            Needs O(interfaces[].trunk).
        type: int
      mac:
        description:
          - Unicast MAC address, in any common notation; quote it in YAML. Must be unique within the domain.
          - Left out, libvirt generates one when the interface is added, and later runs keep it.
        type: str
      model:
        description:
          - Device model the guest sees, such as V(virtio), V(e1000e) or V(rtl8139).
        type: str
        default: virtio
      mtu:
        description:
          - MTU of the interface, 68 to 65535.
        type: int
      queues:
        description:
          - Number of virtio multiqueue queue pairs, 1 to 256 (usually the number of vCPUs).
        type: int
      offloads:
        description:
          - Offloads of the vhost backend to switch on or off, as C(host_<x>) or C(guest_<x>) keys with boolean
            values, where x is one of C(csum), C(gso), C(tso4), C(tso6), C(ecn), C(ufo) and (host only)
            C(mrg_rxbuf), for example C(host_tso4=false).
          - Keys the dict does not name are kept.
        type: dict
      boot_order:
        description:
          - Boot priority of the interface (network boot), unique across disks and interfaces. Cannot be
            combined with O(boot).
        type: int
      link_state:
        description:
          - Whether the guest sees the link up or down.
        type: str
        choices: [up, down]
  graphics:
    description:
      - Graphical consoles, matched by O(graphics[].type). When given, this is the complete set of consoles;
        an empty list removes them all.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - Console protocol.
        type: str
        choices: [vnc, spice]
        required: true
      listen:
        description:
          - IP address the console listens on, on the libvirt host.
        type: str
        default: 127.0.0.1
      port:
        description:
          - TCP port. Left out, libvirt picks a free port when the domain starts.
        type: int
      password:
        description:
          - Password of the console. It is never shown in output, RV(changes) or the diff.
          - VNC allows at most 8 characters; a longer password for V(vnc) is refused.
          - Left out, the current password is kept.
        type: str
      keymap:
        description:
          - Keyboard layout, such as V(en-us) or V(de).
        type: str
  serials:
    description:
      - Serial ports, numbered in list order from 0. When given, this is the complete set of serial ports.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - V(pty) for C(virsh console), V(file) to write the output to O(serials[].path).
        type: str
        choices: [pty, file]
        default: pty
      path:
        description:
          - Output file on the libvirt host. Required with O(serials[].type=file).
        type: str
      log_file:
        description:
          - File on the libvirt host that also receives everything the port outputs, appended.
        type: str
  guest_agent:
    description:
      - V(true) adds the channel the QEMU guest agent talks over, V(false) removes it; left out, it is kept
        or left absent.
    type: bool
  rng:
    description:
      - A virtio random number generator, fed from the host.
    type: dict
    suboptions:
      model:
        description:
          - Device model.
        type: str
        default: virtio
      backend:
        description:
          - Host source of randomness.
        type: str
        default: /dev/urandom
      rate_bytes:
        description:
          - Bytes the guest may read per O(rng.rate_period).
        type: int
      rate_period:
        description:
          - Period of O(rng.rate_bytes) in milliseconds. Only used with O(rng.rate_bytes).
        type: int
  watchdog:
    description:
      - A watchdog device, and what happens when the guest stops feeding it.
    type: dict
    suboptions:
      model:
        description:
          - Watchdog model; V(itco) fits q35 machines, V(i6300esb) others, V(diag288) s390x.
        type: str
        choices: [i6300esb, itco, ib700, diag288]
        required: true
      action:
        description:
          - What happens when the watchdog fires.
        type: str
        choices: [reset, shutdown, poweroff, pause, none, dump, inject-nmi]
        default: reset
  tpm:
    description:
      - An emulated TPM (swtpm), as Windows 11 and measured boot need. Its state is removed with the domain.
    type: dict
    suboptions:
      model:
        description:
          - TPM interface model.
        type: str
        choices: [tpm-crb, tpm-tis]
        default: tpm-crb
      version:
        description:
          - TPM version; quote it in YAML.
        type: str
        choices: ['1.2', '2.0']
        default: '2.0'
  hostdevs:
    description:
      - Host PCI devices passed through to the guest. When given, this is the complete set of host devices.
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - PCI address on the host, as V([dddd:]bb:ss.f), such as V(0000:3b:00.1).
        type: str
        required: true
      managed:
        description:
          - Let libvirt detach the device from its host driver when the domain starts, and give it back
            when it stops.
        type: bool
        default: true
  memballoon:
    description:
      - The memory balloon device.
    type: dict
    suboptions:
      model:
        description:
          - V(virtio) for a balloon, V(none) for none.
        type: str
        choices: [virtio, none]
        default: virtio
      autodeflate:
        description:
          - Deflate the balloon before the guest runs out of memory.
        type: bool
      period:
        description:
          - Interval in seconds of the memory statistics the balloon reports. Needs O(memballoon.model=virtio).
        type: int
  seclabel:
    description:
      - Security label (SELinux, AppArmor or DAC) of the domain's processes and files.
    type: dict
    suboptions:
      type:
        description:
          - V(dynamic) lets libvirt generate a label, V(static) uses O(seclabel.label), V(none) confines nothing.
        type: str
        choices: [dynamic, static, none]
        required: true
      model:
        description:
          - Security driver the label is for. Left out, the host's primary driver.
        type: str
        choices: [selinux, apparmor, dac]
      label:
        description:
          - The label. Required with O(seclabel.type=static).
        type: str
      relabel:
        description:
          - Whether libvirt relabels the domain's files.
        type: bool
  autostart:
    description:
      - Whether libvirt starts the domain when the host boots. Left out, the setting is kept.
    type: bool
  shutdown_timeout:
    description:
      - Seconds to wait for a graceful shutdown (O(state=shutdown) and restarts for O(restart_on_change)),
        and for the domain to be running after a start, resume or wake-up or paused after a pause.
      - A power-off (destroy) is waited for 30 seconds.
    type: int
    default: 120
  force:
    description:
      - Power the domain off when it does not shut down within O(shutdown_timeout), instead of failing.
      - Applies to O(state=shutdown) and to restarts for O(restart_on_change).
    type: bool
    default: false
  restart_on_change:
    description:
      - When the running domain lacks changes of its definition (RV(pending_changes)), shut it down
        gracefully and start it again, so the changes take effect. A paused domain is paused again after.
      - V(false) leaves the domain running and reports RV(restart_required).
    type: bool
    default: false
  delete_volumes:
    description:
      - With O(state=absent), also delete the storage of the domain's writable disks (device C(disk), neither
        read-only nor shareable); CD-ROMs, read-only and shareable disks are always kept.
      - Deleted are pool volumes, files and block devices that are volumes of a libvirt pool, and RBD images
        of a Ceph pool that an active libvirt C(rbd) pool serves (with their snapshots). A path that is no
        pool's volume is kept and listed in RV(kept_volumes).
    type: bool
    default: false
  domains:
    description:
      - Converge several domains in one call, over one connection, in list order.
      - Each item takes the same options as a single domain (every option of this module except O(uri) and
        O(domains)) and is validated against them when the module runs.
      - The module's top-level options are defaults for every item, except O(name), O(xml) and O(uuid). An
        option an item sets replaces the top-level value as a whole; dicts and lists are not merged.
      - All items are validated before anything changes, and no name may appear twice. A failure on one
        domain does not stop the others; the module fails at the end, naming every domain that failed.
      - Items with O(state=shutdown) get their ACPI power button pressed in list order, and are then waited
        for together, each up to its own O(shutdown_timeout); so ten guests take about as long as the
        slowest of them, not ten shutdowns in a row. Each is reported as it would be on its own.
      - Mutually exclusive with O(name) and O(xml).
    type: list
    elements: dict
  pending_storage:
    description:
      - B(Check mode only.) Disk sources that do not exist yet because an earlier task creates them, and that
        check mode only predicted, such as the volumes C(kvmops.kvm.libvirt_volume) reports in its C(path) in
        check mode, or a cloud-init seed image still to be written.
      - Each entry is an absolute path (a C(file) or C(block) disk source, including CD-ROM images) or
        C(pool/volume) (a disk with O(disks[].pool) and O(disks[].volume)).
      - In check mode, a disk whose source is listed passes the definition check although it does not exist,
        so a new domain is reported with its full definition and a changed one with its real definition diff,
        exactly what the real run, after the earlier tasks made the storage, defines.
      - Ignored outside check mode, where every disk source must exist as usual; nothing else is relaxed
        (networks, kernel, initrd and loader are always checked; bridges only relax with O(pending_bridges)).
      - Applies to every domain of the call; with O(domains), it is a top-level option only.
    type: list
    elements: str
    default: []
  pending_bridges:
    description:
      - B(Check mode only.) Host bridges (C(bridge) interface sources) that do not exist yet because an earlier
        task creates them, such as the Open vSwitch bridges of C(kvmops.kvm.kvm_ovs) in a check run on a
        fresh host (that role sets C(kvm_ovs_planned_bridges) for this).
      - In check mode, an interface on a listed bridge passes the definition check although the bridge is not
        there, so the domain is reported with the definition the real run defines.
      - Ignored outside check mode. Applies to every domain of the call; with O(domains), it is a top-level
        option only.
    type: list
    elements: str
    default: []
notes:
  - One of O(name), O(xml) and O(domains) is required.
  - The module converges the persistent definition only. Device hot-plug and live changes are not made;
    a running domain picks changes up at its next cold boot (a reboot inside the guest is not enough).
  - The definition checks (networks, pool volumes, bridges, files) only run when the definition is created
    or changed. A libvirt network only has to be defined, not active.
  - Memory sizes (O(memory), O(current_memory), O(numa_cells[].memory), O(memory_backing.hugepages[].size))
    take units such as V(4GiB) or V(512MiB); a bare number is MiB.
seealso:
  - module: kvmops.kvm.libvirt_domain_info
  - module: kvmops.kvm.libvirt_volume
  - name: libvirt domain XML format
    description: What each option becomes in the definition.
    link: https://libvirt.org/formatdomain.html
"""

EXAMPLES = r"""
- name: A small VM with a qcow2 volume as its disk and a NIC on a libvirt network
  kvmops.kvm.libvirt_domain:
    name: web1
    memory: 2GiB
    vcpus: 2
    machine: q35
    cpu:
      mode: host-passthrough
    disks:
      - target: vda
        bus: virtio
        pool: default
        volume: web1-root.qcow2
        format: qcow2
        discard: unmap
    interfaces:
      - network: default
    serials:
      - type: pty
    guest_agent: true
    autostart: true
    state: running

- name: A database VM on host NUMA node 1, pinned and backed by 1 GiB hugepages
  kvmops.kvm.libvirt_domain:
    name: db1
    memory: 16GiB
    vcpus: 4
    machine: q35
    iothreads: 1
    cpu:
      mode: host-passthrough
      topology:
        sockets: 1
        cores: 2
        threads: 2
    numa_cells:
      - id: 0
        cpus: 0-3
        memory: 16GiB
    memory_backing:
      hugepages:
        - size: 1GiB
      locked: true
    cputune:
      vcpupin:
        - {vcpu: 0, cpuset: "12"}
        - {vcpu: 1, cpuset: "13"}
        - {vcpu: 2, cpuset: "14"}
        - {vcpu: 3, cpuset: "15"}
      emulatorpin: 8-9
      iothreadpin:
        - {iothread: 1, cpuset: 8-9}
    numatune:
      mode: strict
      nodeset: "1"
    disks:
      - target: vda
        pool: fast
        volume: db1-root.qcow2
        format: qcow2
        cache: none
        io: native
    interfaces:
      - bridge: br-db
        queues: 4
    state: running

- name: A router VM with an access port and a VLAN trunk on an Open vSwitch bridge
  kvmops.kvm.libvirt_domain:
    name: router1
    memory: 1GiB
    vcpus: 2
    disks:
      - target: vda
        pool: default
        volume: router1-root.qcow2
        format: qcow2
    interfaces:
      - bridge: br-tenant
        openvswitch: true
        vlan: 42
        mac: "52:54:00:3a:52:01"
      - bridge: br-tenant
        openvswitch: true
        trunk: [10, 20, 30]
        native_vlan: 10
        mac: "52:54:00:3a:52:02"
        offloads:
          host_tso4: false
          guest_tso4: false
    state: running

- name: A VM whose root disk is a Ceph RBD image, authenticated with a cephx secret
  kvmops.kvm.libvirt_domain:
    name: app1
    memory: 4GiB
    vcpus: 2
    disks:
      - target: vda
        bus: virtio
        format: raw
        cache: writeback
        discard: unmap
        rbd:
          image: vms/app1-root
          hosts:
            - name: 203.0.113.10
            - name: 203.0.113.11
            - name: 203.0.113.12
          username: libvirt
          secret_uuid: 5a0c8c5e-8c1d-4a4b-9a55-2b1b7d0e7c11
    interfaces:
      - network: default
    state: running

- name: A q35 VM booting with UEFI secure boot, with a TPM 2.0 and a SPICE console
  kvmops.kvm.libvirt_domain:
    name: desk1
    memory: 8GiB
    vcpus: 4
    machine: q35
    firmware:
      type: efi
      secure_boot: true
    tpm:
      model: tpm-crb
      version: "2.0"
    disks:
      - target: vda
        pool: default
        volume: desk1-root.qcow2
        format: qcow2
        boot_order: 1
      - target: sda
        device: cdrom
        bus: sata
        path: /var/lib/libvirt/images/debian-12-netinst.iso
        readonly: true
        boot_order: 2
    interfaces:
      - network: default
    graphics:
      - type: spice
        password: "{{ desk1_console_password }}"
    state: running

- name: Three web servers in one call, sharing size, machine, autostart and state
  kvmops.kvm.libvirt_domain:
    memory: 4GiB
    vcpus: 2
    machine: q35
    autostart: true
    state: running
    domains:
      - name: web1
        disks:
          - {target: vda, pool: default, volume: web1-root.qcow2, format: qcow2}
        interfaces:
          - network: frontend
      - name: web2
        disks:
          - {target: vda, pool: default, volume: web2-root.qcow2, format: qcow2}
        interfaces:
          - network: frontend
      - name: web3
        memory: 8GiB
        disks:
          - {target: vda, pool: default, volume: web3-root.qcow2, format: qcow2}
        interfaces:
          - network: frontend
  register: web

- name: Show which web servers need a restart to pick up their new definition
  ansible.builtin.debug:
    msg: "{{ web.domains | selectattr('restart_required') | map(attribute='name') | list }}"

- name: Grow db1 and restart it gracefully when it is running, so the change takes effect
  kvmops.kvm.libvirt_domain:
    name: db1
    memory: 32GiB
    vcpus: 4
    numa_cells:
      - id: 0
        cpus: 0-3
        memory: 32GiB
    restart_on_change: true
    shutdown_timeout: 300

- name: Shut web1 down, giving the guest five minutes before powering it off
  kvmops.kvm.libvirt_domain:
    name: web1
    state: shutdown
    shutdown_timeout: 300
    force: true

- name: Remove web3 and delete its disk volumes
  kvmops.kvm.libvirt_domain:
    name: web3
    state: absent
    delete_volumes: true
  register: web3_removed

- name: Show storage that was not deleted
  ansible.builtin.debug:
    var: web3_removed.kept_volumes

- name: Define and start a domain from raw libvirt XML
  kvmops.kvm.libvirt_domain:
    xml: "{{ lookup('ansible.builtin.template', 'legacy-app.xml.j2') }}"
    autostart: false
    state: running

- name: Drive domains on a remote hypervisor, setting the URI once
  module_defaults:
    group/kvmops.kvm.libvirt:
      uri: qemu+ssh://root@hv1.example.com/system
  block:
    - name: Pause a batch job VM
      kvmops.kvm.libvirt_domain:
        name: batch1
        state: paused
"""

RETURN = r"""
name:
  description: Name of the domain.
  returned: when O(domains) is not given; also when the run failed on the domain after its options were validated
  type: str
  sample: web1
uuid:
  description:
    - UUID of the domain, or of the domain that was undefined.
    - Not returned for a domain that did not exist (with O(state=absent)), nor in check mode for a domain
      that would be defined.
  returned: success, when O(domains) is not given and the domain existed or was defined
  type: str
  sample: 0838da32-3888-409e-a502-56819c701e5d
state:
  description:
    - The domain's state after the run (in check mode, the state the run would reach), as libvirt names it,
      V(running), V(blocked), V(paused), V(shutdown) (still shutting down), V(shutoff), V(crashed),
      V(pmsuspended) or V(nostate); or V(absent).
  returned: success, when O(domains) is not given
  type: str
  sample: running
actions:
  description:
    - What the run did (in check mode, would do), in order. C(changed) is true exactly when this is not empty.
    - Possible actions are C(define), C(update), C(autostart on), C(autostart off), C(destroy crashed), C(start),
      C(resume), C(wake up), C(pause), C(shutdown), C(destroy), C(destroy after N s shutdown timeout),
      C(undefine) and C(delete volumes).
  returned: success, when O(domains) is not given
  type: list
  elements: str
  sample: [update, shutdown, start]
changes:
  description:
    - Places where the existing definition differed from the options, as C(path@attribute) or C(path) with the
      old and new value, or as an element to add or remove. Passwords show as C(********).
  returned: when an existing definition was updated (in check mode, would be), and O(domains) is not given
  type: list
  elements: str
  sample:
    - "domain/memory: '2097152' -> '4194304'"
    - "domain/currentMemory: '2097152' -> '4194304'"
    - "domain/devices/disk[vdb]: missing, to be added"
pending_changes:
  description:
    - Places where the running (or paused) domain differs from its definition as the options describe it;
      they take effect at its next cold boot.
    - Empty when there are none, when the domain is not active and when the task gives no definition options.
    - With O(restart_on_change), the changes the restart applied.
  returned: success, when O(domains) is not given
  type: list
  elements: str
  sample: ["domain/vcpu: '2' -> '4'"]
restart_required:
  description:
    - Whether the domain is active with RV(pending_changes) that were not applied because
      O(restart_on_change) is false. A restart (shut down, then start) applies them.
  returned: success, when O(domains) is not given
  type: bool
  sample: true
deleted_volumes:
  description:
    - Storage deleted by O(delete_volumes), as C(pool/volume) or path. Empty when O(delete_volumes) is false.
    - In check mode, every volume O(delete_volumes) would try to delete.
  returned: success, with O(state=absent) when the domain existed, when O(domains) is not given
  type: list
  elements: str
  sample: [default/web3-root.qcow2, /var/lib/libvirt/images/web3-data.raw]
kept_volumes:
  description:
    - Storage O(delete_volumes) did not delete because no libvirt pool holds it (a plain file or device, or a
      volume that no longer exists).
  returned: success, with O(state=absent) when the domain existed, when O(domains) is not given
  type: list
  elements: str
  sample: [/srv/legacy/web3-swap.img]
domains:
  description:
    - One result per item of O(domains), in the same order, each with the keys a single domain returns
      (RV(name), RV(uuid), RV(state), RV(actions), RV(changes), RV(pending_changes), RV(restart_required),
      RV(deleted_volumes), RV(kept_volumes)) under the same conditions, plus its own C(changed).
    - A domain that failed has only C(name), C(changed) (false), C(failed) (true) and C(msg).
    - In diff mode each result also holds the domain's C(diff) list.
  returned: when O(domains) is given, also when some domains failed
  type: list
  elements: dict
  sample:
    - name: web1
      uuid: 0838da32-3888-409e-a502-56819c701e5d
      changed: false
      state: running
      actions: []
      pending_changes: []
      restart_required: false
    - name: web3
      changed: false
      failed: true
      msg: "libvirt domain 'web3': interface 0: libvirt network 'frontend' is not defined"
"""

# Imports follow the documentation blocks, as validate-modules requires.
import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_manager import converge_all
from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import DOMAIN_OPTIONS, HAS_NETADDR
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._host_caps import HAS_LXML, LXML_IMPORT_ERROR
from ansible_collections.kvmops.kvm.plugins.module_utils._libvirt import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR

# Per-domain identity: never inherited from the top level by items of ``domains``.
NOT_INHERITED = ("name", "xml", "uuid")


def argument_spec():
    spec = copy.deepcopy(DOMAIN_OPTIONS)
    spec["uri"] = {"type": "str", "default": "qemu:///system"}
    spec["domains"] = {"type": "list", "elements": "dict"}
    spec["pending_storage"] = {"type": "list", "elements": "str", "default": []}
    spec["pending_bridges"] = {"type": "list", "elements": "str", "default": []}
    return spec


def drop_none(value):
    """Validated params with the suboptions nobody set (None) left out, ready to validate again."""
    if isinstance(value, dict):
        return {key: drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_none(item) for item in value]
    return value


def item_specs(module):
    """The params of each domain: top-level options are defaults for every item of ``domains``.

    Each item is validated against the same option spec as a single domain, so
    a batch means exactly what the same calls one by one mean.
    """
    params = module.params
    if params["domains"] is None:
        return [{key: params[key] for key in DOMAIN_OPTIONS}]
    inherited = {
        key: drop_none(value)
        for key, value in params.items()
        if key in DOMAIN_OPTIONS and key not in NOT_INHERITED and value is not None
    }
    validator = ArgumentSpecValidator(copy.deepcopy(DOMAIN_OPTIONS))
    specs, errors = [], []
    for index, item in enumerate(params["domains"]):
        merged = dict(inherited)
        merged.update({key: value for key, value in item.items() if value is not None})
        result = validator.validate(merged)
        # Passwords inside list items are not covered by the top-level no_log.
        module.no_log_values.update(result._no_log_values)
        if result.error_messages:
            label = item.get("name") or f"domains[{index}]"
            errors.append(f"{label}: {'; '.join(result.error_messages)}")
            continue
        specs.append(result.validated_parameters)
    if errors:
        module.fail_json(msg="invalid domains, nothing was changed: " + " | ".join(errors))
    return specs


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[["name", "domains"], ["xml", "domains"], ["uuid", "domains"]],
        required_one_of=[["name", "xml", "domains"]],
    )
    for ok, lib, error in (
        (HAS_LIBVIRT, "libvirt-python", LIBVIRT_IMPORT_ERROR),
        (HAS_LXML, "lxml", LXML_IMPORT_ERROR),
        (HAS_NETADDR, "netaddr", None),
    ):
        if not ok:
            module.fail_json(msg=missing_required_lib(lib), exception=error)
    specs = item_specs(module)
    try:
        results, failures = converge_all(
            module.params["uri"],
            specs,
            module.check_mode,
            module._diff,
            # Only check mode may plan with storage that earlier tasks only predicted.
            pending_storage=module.params["pending_storage"] if module.check_mode else (),
            pending_bridges=module.params["pending_bridges"] if module.check_mode else (),
        )
    except KvmopsError as exc:
        module.fail_json(msg=str(exc))
    changed = any(r["changed"] for r in results)
    if module.params["domains"] is None:
        (result,) = results
        result = dict(result)
        diff = result.pop("diff", None)
        if diff is not None:
            result["diff"] = diff
        result.pop("changed")
        if result.pop("failed", False):
            module.fail_json(changed=changed, **result)
        module.exit_json(changed=changed, **result)
    output = {"changed": changed, "domains": results}
    if module._diff:
        output["diff"] = [d for r in results for d in r.get("diff", [])]
    if failures:
        module.fail_json(msg=f"{len(failures)} of {len(results)} domains failed: " + " | ".join(failures), **output)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
