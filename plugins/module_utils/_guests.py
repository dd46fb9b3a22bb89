# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure: the kvm_guests role's inventory VMs → checks, placement requests, volumes, seeds, domain specs.

Every function takes plain data (the ``kvm_guests_vms`` list as argument
specs validated it, a ``settings`` dict the role assembles from its
variables, results of libvirt_host_info/libvirt_domain_info and the
numa_placement filter) and returns plain data for the collection's modules.
Nothing here talks to a system, so all of it is unit tested.

``settings`` keys: ``dir_pool``, ``rbd_pool``, ``rbd_ceph_pool``,
``rbd_hosts`` (``[{name, port}]``), ``rbd_username``, ``rbd_secret_usage``,
``seed_dir``, ``domain_type``, ``machine``, ``cpu_mode``, ``cpu_model``,
``emulator_cpus``, ``disk_bus``, ``disk_cache``, ``domain_defaults``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.kvmops.kvm.plugins.module_utils._domain_spec import format_cpuset, normalize_mac
from ansible_collections.kvmops.kvm.plugins.module_utils._hugepages import POOL_PAGE_KIB
from ansible_collections.kvmops.kvm.plugins.module_utils._units import SizeError, parse_size, parse_size_kib

ABSENT = "absent"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$")
_DISK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_MIB = 1024 * 1024


def memory_mib(vm):
    """``memory`` as written (``4096``, ``"4GiB"``) → whole MiB; raises ValueError with the VM's name."""
    size = parse_size(vm["memory"], "MiB")
    if size % _MIB or size == 0:
        raise ValueError(f"VM '{vm['name']}': memory {vm['memory']!r} is not a positive whole number of MiB")
    return size // _MIB


def hugepage_kib(vm):
    """``hugepages`` (``2MiB``, ``1GiB``, ``2048`` = MiB like every bare size here) → page size in KiB, or None."""
    value = vm.get("hugepages")
    if value in (None, "", False):
        return None
    return parse_size_kib(value, "MiB")


def _disk_kind(disk):
    return "rbd" if disk.get("rbd") else "qcow2"


def volume_name(vm, disk):
    """The pool volume of a disk: ``<vm>-<disk>.qcow2`` in the dir pool, ``<vm>-<disk>`` as an RBD image."""
    base = f"{vm['name']}-{disk['name']}"
    return base if _disk_kind(disk) == "rbd" else base + ".qcow2"


def seed_path(vm, settings):
    return f"{settings['seed_dir'].rstrip('/')}/{vm['name']}-seed.iso"


def _vm_problems(vm, settings):
    name = vm.get("name") or "?"
    problems = []

    def bad(text):
        problems.append(f"VM '{name}': {text}")

    if not _NAME_RE.match(str(vm.get("name") or "")):
        bad("name must be 1-63 letters, digits, '.', '_', '+' or '-', starting with a letter or digit")
    if vm.get("state", "running") == ABSENT:
        return problems
    for key in ("vcpus", "memory"):
        if vm.get(key) in (None, ""):
            bad(f"{key} is required unless state is absent")
    if vm.get("memory") not in (None, ""):
        try:
            memory_mib(vm)
        except (SizeError, ValueError) as exc:
            bad(str(exc).replace(f"VM '{name}': ", ""))
    try:
        page = hugepage_kib(vm)
    except SizeError as exc:
        bad(f"hugepages: {exc}")
    else:
        if page is not None and (page < 64 or page & (page - 1)):
            bad(f"hugepages {vm['hugepages']!r} is not a page size such as 2MiB or 1GiB (a bare number is MiB)")
    numa = vm.get("numa", "auto")
    if numa not in ("auto", "none", None) and not re.match(r"^\d+$", str(numa)):
        bad(f"numa must be auto, none or a host NUMA node id, not {numa!r}")
    if (vm.get("initrd") or vm.get("cmdline")) and not vm.get("kernel"):
        bad("initrd and cmdline need kernel (direct kernel boot)")
    problems.extend(f"VM '{name}': {p}" for p in _disk_problems(vm, settings))
    problems.extend(f"VM '{name}': {p}" for p in _nic_problems(vm))
    return problems


def _disk_problems(vm, settings):
    problems, seen = [], set()
    for index, disk in enumerate(vm.get("disks") or []):
        label = f"disk '{disk.get('name') or index}'"
        if not _DISK_NAME_RE.match(str(disk.get("name") or "")):
            problems.append(f"{label}: name must be 1-32 letters, digits, '.', '_' or '-'")
        if disk.get("name") in seen:
            problems.append(f"{label}: listed twice")
        seen.add(disk.get("name"))
        if disk.get("rbd"):
            if disk.get("base_image"):
                problems.append(f"{label}: base_image is for qcow2 overlays, not rbd disks")
            if not disk.get("size"):
                problems.append(f"{label}: an rbd disk needs size")
            if not settings.get("rbd_pool"):
                problems.append(f"{label}: is rbd but kvm_guests_rbd_pool is empty (run kvm_ceph or set it)")
            if not settings.get("rbd_hosts"):
                problems.append(f"{label}: is rbd but no Ceph monitors are known (kvm_guests_rbd_hosts)")
        else:
            if not disk.get("base_image") and not disk.get("size"):
                problems.append(f"{label}: a qcow2 disk needs base_image (an overlay) or size (an empty disk)")
            if not settings.get("dir_pool"):
                problems.append(f"{label}: is qcow2 but kvm_guests_dir_pool is empty")
        if disk.get("size"):
            try:
                parse_size(disk["size"], "MiB")
            except SizeError as exc:
                problems.append(f"{label}: size: {exc}")
    return problems


def _nic_problems(vm):
    problems, macs = [], set()
    for index, nic in enumerate(vm.get("nics") or []):
        label = f"nic {index}"
        if bool(nic.get("bridge")) == bool(nic.get("network")):
            problems.append(f"{label}: give exactly one of bridge (Open vSwitch) and network (libvirt network)")
        if nic.get("portgroup") and not nic.get("network"):
            problems.append(f"{label}: portgroup needs network (a bridge NIC takes vlan instead)")
        if nic.get("vlan") is not None and not nic.get("bridge"):
            problems.append(f"{label}: vlan is for a bridge NIC; a network NIC takes its VLAN from portgroup")
        if nic.get("vlan") is not None and nic.get("bridge") and not nic.get("openvswitch", True):
            problems.append(f"{label}: vlan needs openvswitch (a Linux bridge port cannot carry tags)")
        if nic.get("mac"):
            try:
                mac = normalize_mac(nic["mac"])
            except ValueError as exc:
                problems.append(f"{label}: {exc}")
            else:
                if mac in macs:
                    problems.append(f"{label}: mac {mac} is used twice")
                macs.add(mac)
    return problems


def problems(vms, settings):
    """Every problem of the inventory that argument specs cannot see, each naming its VM."""
    found = []
    names = [vm.get("name") for vm in vms]
    for dup in sorted({n for n in names if names.count(n) > 1 and n}):
        found.append(f"VM '{dup}': listed twice in kvm_guests_vms")
    for vm in vms:
        found.extend(_vm_problems(vm, settings))
    return found


def present_vms(vms):
    return [vm for vm in vms if vm.get("state", "running") != ABSENT]


def placement_requests(vms):
    """The numa_placement filter's ``vms`` for the VMs that stay."""
    requests = []
    for vm in present_vms(vms):
        request = {
            "name": vm["name"],
            "vcpus": int(vm["vcpus"]),
            "memory_mib": memory_mib(vm),
            "dedicated_cpus": bool(vm.get("dedicated_cpus", False)),
            "numa": _numa(vm),
        }
        page = hugepage_kib(vm)
        if page:
            request["hugepage_size_kib"] = page
        requests.append(request)
    return requests


def _numa(vm):
    numa = vm.get("numa", "auto")
    if numa in (None, "auto", "none"):
        return numa or "auto"
    return int(numa)


def volume_specs(vms, settings):
    """kvmops.kvm.libvirt_volume options (plus ``vm``) for every disk of the VMs that stay."""
    specs = []
    for vm in present_vms(vms):
        for disk in vm.get("disks") or []:
            spec = {"vm": vm["name"], "name": volume_name(vm, disk)}
            if disk.get("rbd"):
                spec.update(pool=settings["rbd_pool"], format="raw", capacity=str(disk["size"]))
            else:
                spec.update(pool=settings["dir_pool"], format="qcow2")
                if disk.get("size"):
                    spec["capacity"] = str(disk["size"])
                base = disk.get("base_image")
                if base and base.startswith("/"):
                    spec.update(backing_path=base, backing_format=disk.get("base_format") or "qcow2")
                elif base:
                    spec["backing_volume"] = base
            specs.append(spec)
    return specs


def volume_options(volume_specs_):
    """:func:`volume_specs` as the items of one libvirt_volume ``volumes`` call (without ``vm``)."""
    return [{key: value for key, value in spec.items() if key != "vm"} for spec in volume_specs_]


def volume_paths(volume_results):
    """libvirt_volume's ``volumes`` results → ``{"pool/name": path}`` of the volumes with a path.

    In check mode a volume still to be created already has the path it will
    get, so the domain specs name the same file the real run gives them.
    """
    return {
        f"{result['pool']}/{result['name']}": result["path"]
        for result in volume_results or []
        if result.get("path") and not result.get("failed")
    }


def pending_storage(volume_results, seed_results, seeds, seeds_skipped=False):
    """What check mode only predicted the storage tasks make: libvirt_domain's ``pending_storage``.

    ``volume_results``: libvirt_volume's ``volumes`` (a volume is pending when
    it would change and does not exist yet: named by its coming path when
    that is absolute, else as ``pool/name``); ``seed_results``: the
    cloudinit_seed loop's ``results`` (pending when its actions hold
    ``create``); ``seeds``: the plan's seeds, all of whose present paths are
    pending when the seed task did not run (``seeds_skipped``: pycdlib was
    only simulated).
    """
    pending = []
    for result in volume_results or []:
        if not result.get("changed") or result.get("volume") is not None:
            continue
        path = result.get("path") or ""
        pending.append(path if path.startswith("/") else f"{result['pool']}/{result['name']}")
    if seeds_skipped:
        pending.extend(seed["path"] for seed in seeds or [] if seed.get("state", "present") == "present")
    else:
        for result in seed_results or []:
            if "create" in (result.get("actions") or []):
                pending.append(result["item"]["path"])
    return list(dict.fromkeys(pending))


def _plain(value):
    """Ansible's tagged/lazy containers and strings → plain Python types PyYAML can dump."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _yaml_text(value, header=""):
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    import yaml  # on the controller (filters), where ansible-core guarantees PyYAML

    # Sorted keys: the text must not depend on the order the inventory source
    # gives. AWX keeps inventories as JSON with sorted keys while a YAML file
    # keeps its own order, so unsorted, a CLI run and an AWX job of the same
    # inventory would each rewrite the other's seed (found by
    # molecule/site/tests/test_awx_templates.py).
    try:
        return header + yaml.safe_dump(_plain(value), default_flow_style=False, sort_keys=True)
    except yaml.YAMLError as exc:
        # Never echo the value: user-data holds secrets.
        raise ValueError(f"cloud_init content cannot be written as YAML ({type(exc).__name__})") from None


def seed_specs(vms, settings):
    """kvmops.kvm.cloudinit_seed options (plus ``vm``) per VM with ``cloud_init``; every absent VM's seed goes."""
    specs = []
    for vm in vms:
        cloud_init = vm.get("cloud_init")
        absent = vm.get("state", "running") == ABSENT
        # A removed VM loses its seed even when its entry no longer says cloud_init.
        if not cloud_init and not absent:
            continue
        spec = {"vm": vm["name"], "path": seed_path(vm, settings)}
        if absent:
            spec["state"] = ABSENT
        else:
            meta = cloud_init.get("meta_data")
            if meta is None:
                meta = {"instance-id": vm["name"], "local-hostname": vm["name"]}
            spec.update(
                state="present",
                user_data=_yaml_text(cloud_init.get("user_data"), "#cloud-config\n") or "",
                meta_data=_yaml_text(meta),
                network_config=_yaml_text(cloud_init.get("network_config")),
            )
        specs.append(spec)
    return specs


def _disk_spec(vm, disk, index, settings):
    spec = {
        "target": f"vd{chr(ord('a') + index)}",
        "bus": disk.get("bus") or settings.get("disk_bus") or "virtio",
    }
    if disk.get("rbd"):
        rbd = {
            "image": f"{settings['rbd_ceph_pool']}/{volume_name(vm, disk)}",
            "hosts": [dict(h) for h in settings["rbd_hosts"]],
        }
        if settings.get("rbd_username"):
            rbd.update(username=settings["rbd_username"], secret_usage=settings["rbd_secret_usage"])
        spec.update(rbd=rbd, format="raw")
    else:
        # A file disk at the volume's path, not <source pool= volume=>:
        # libvirt's AppArmor helper (virt-aa-helper, Debian 12's libvirt 9.0)
        # leaves volume disks out of the guest's profile, so QEMU is denied
        # the image. The path comes from the role's libvirt_volume results.
        name = volume_name(vm, disk)
        path = (settings.get("volume_paths") or {}).get(f"{settings['dir_pool']}/{name}")
        if path:
            spec.update(path=path, format="qcow2")
        else:
            spec.update(pool=settings["dir_pool"], volume=name, format="qcow2")
    for key in ("cache", "discard", "io", "serial", "boot_order"):
        value = disk.get(key, settings.get(f"disk_{key}"))
        if value not in (None, ""):
            spec[key] = value
    return spec


def _nic_spec(nic):
    spec = {"model": nic.get("model") or "virtio"}
    if nic.get("network"):
        spec["network"] = nic["network"]
        if nic.get("portgroup"):
            spec["portgroup"] = nic["portgroup"]
    else:
        spec["bridge"] = nic["bridge"]
        spec["openvswitch"] = bool(nic.get("openvswitch", True))
        if nic.get("vlan") is not None:
            spec["vlan"] = int(nic["vlan"])
    for key in ("mac", "mtu", "queues"):
        if nic.get(key) not in (None, ""):
            spec[key] = nic[key]
    if spec.get("mac"):
        spec["mac"] = normalize_mac(spec["mac"])
    return spec


def _emulator_pin(placement, numa_cells, emulator_cpus):
    """Dedicated VMs' emulator threads on the configured emulator CPUs, those of the VM's nodes first."""
    if not emulator_cpus or not placement.get("dedicated"):
        return placement["cputune"]["emulatorpin"]
    wanted = {int(c) for c in emulator_cpus}
    local = set()
    for cell in numa_cells or []:
        if cell["id"] in placement["nodes"]:
            local |= {c["id"] for c in cell["cpus"]} & wanted
    return format_cpuset(sorted(local or wanted))


def domain_spec(vm, placement, settings, numa_cells=None):
    """One item of kvmops.kvm.libvirt_domain's ``domains`` for an inventory VM and its placement."""
    if vm.get("state", "running") == ABSENT:
        return {"name": vm["name"], "state": ABSENT, "delete_volumes": bool(vm.get("delete_volumes", False))}
    spec = dict(settings.get("domain_defaults") or {})
    spec.update(
        name=vm["name"],
        type=vm.get("domain_type") or settings.get("domain_type") or "kvm",
        memory=f"{memory_mib(vm)}MiB",
        vcpus=int(vm["vcpus"]),
        state=vm.get("state", "running"),
    )
    machine = vm.get("machine") or settings.get("machine")
    if machine:
        spec["machine"] = machine
    cpu_mode = vm.get("cpu_mode") or settings.get("cpu_mode") or "host-passthrough"
    cpu = {"mode": cpu_mode}
    cpu_model = vm.get("cpu_model") or settings.get("cpu_model")
    if cpu_mode == "custom" and cpu_model:
        cpu["model"] = cpu_model
    if vm.get("autostart") is not None:
        spec["autostart"] = bool(vm["autostart"])
    if placement:
        cputune = dict(placement["cputune"])
        cputune["emulatorpin"] = _emulator_pin(placement, numa_cells, settings.get("emulator_cpus"))
        spec["cputune"] = cputune
        if placement.get("numatune"):
            spec["numatune"] = placement["numatune"]
        if placement.get("numa_cells"):
            spec["numa_cells"] = [
                {"id": c["id"], "cpus": c["cpus"], "memory": f"{c['memory_mib']}MiB"} for c in placement["numa_cells"]
            ]
        if placement.get("cpu_topology"):
            cpu["topology"] = dict(placement["cpu_topology"])
    spec["cpu"] = cpu
    page = hugepage_kib(vm)
    if page:
        spec["memory_backing"] = {"hugepages": [{"size": f"{page}KiB"}]}
    disks = [_disk_spec(vm, disk, i, settings) for i, disk in enumerate(vm.get("disks") or [])]
    if vm.get("cloud_init"):
        disks.append(
            {"target": "sda", "device": "cdrom", "bus": "sata", "path": seed_path(vm, settings), "readonly": True}
        )
    spec["disks"] = disks
    spec["interfaces"] = [_nic_spec(nic) for nic in vm.get("nics") or []]
    for key in ("kernel", "initrd", "cmdline"):
        if vm.get(key):
            spec[key] = vm[key]
    spec.update(vm.get("domain_extra") or {})
    return spec


def domain_specs(vms, placements, settings, numa_cells=None):
    """``domains`` for one libvirt_domain call: every inventory VM, in inventory order."""
    placements = placements or {}
    return [domain_spec(vm, placements.get(vm["name"]), settings, numa_cells) for vm in vms]


def _cpus_to_nodes(cpus, numa_cells):
    owner = {c["id"]: cell["id"] for cell in numa_cells or [] for c in cell["cpus"]}
    return sorted({owner[c] for c in cpus if c in owner})


def current_placement(domains, vms, numa_cells=None):
    """What the inventory's VMs have now, from libvirt_domain_info, as the numa_placement ``current``.

    A dedicated VM keeps its pinned host CPUs; every VM keeps the nodes of its
    ``numatune`` (or, without one, the nodes of its pinned CPUs). Domains
    without pinning, and domains not in the inventory, are left out.
    """
    wanted = {vm["name"]: vm for vm in present_vms(vms)}
    current = {}
    for dom in domains or []:
        vm = wanted.get(dom.get("name"))
        pinning = dom.get("pinning") or {}
        if vm is None or not pinning.get("vcpupin"):
            continue
        cpus = sorted({c for pin in pinning["vcpupin"] for c in pin.get("cpuset") or []})
        numatune = pinning.get("numatune") or {}
        nodes = list(numatune.get("nodeset") or [])
        if not nodes and numatune.get("memnodes"):
            nodes = sorted({n for m in numatune["memnodes"] for n in m.get("nodeset") or []})
        if not nodes:
            nodes = _cpus_to_nodes(cpus, numa_cells)
        current[vm["name"]] = {"nodes": nodes, "cpus": cpus if vm.get("dedicated_cpus") else []}
    return current


def unmanaged(domains, vms):
    """Names of the domains defined on the host that the inventory does not list (reported, never touched)."""
    listed = {vm["name"] for vm in vms}
    return sorted(d["name"] for d in domains or [] if d.get("name") not in listed)


def cells_with_pools(numa_cells, pools):
    """NUMA cells as they will be once kvm_tuning's hugepage ``pools`` are reserved.

    Each cell's pool of a page size becomes the larger of what it has and what
    ``pools`` (kvm_tuning_hugepages: ``size`` 2M or 1G, ``node`` or none for
    host-wide, ``count``) asks; a host-wide pool is counted as the kernel
    spreads it, evenly over the nodes (remainder on the first ones). Used in
    check mode, when the whole site is predicted before kvm_tuning has
    reserved anything.
    """
    cells = [dict(cell, pages=[dict(p) for p in cell.get("pages") or []]) for cell in numa_cells or []]
    wanted = {}
    ids = [cell["id"] for cell in cells]
    for pool in pools or []:
        size = POOL_PAGE_KIB.get(str(pool.get("size")))
        if size is None:
            raise ValueError(f"hugepage pool {pool!r}: size must be 2M or 1G")
        count = int(pool.get("count", 0))
        if pool.get("node") is None:
            share, rest = divmod(count, len(ids) or 1)
            spread = {node: share + (1 if i < rest else 0) for i, node in enumerate(ids)}
        else:
            spread = {int(pool["node"]): count}
        for node, pages in spread.items():
            wanted[(node, size)] = wanted.get((node, size), 0) + pages
    for cell in cells:
        for (node, size), count in wanted.items():
            if node != cell["id"]:
                continue
            page = next((p for p in cell["pages"] if p["size_kib"] == size), None)
            if page is None:
                cell["pages"].append({"size_kib": size, "total": count})
            else:
                page["total"] = max(page.get("total") or 0, count)
    return cells
