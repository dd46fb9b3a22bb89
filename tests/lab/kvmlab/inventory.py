"""`labctl inventory-up`: every host of group lab_vms in an Ansible inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import image, network, vm
from .common import LabError, log
from .domain import VmSpec

GROUP = "lab_vms"


def read_specs(inventory_dir: str) -> list[VmSpec]:
    # ansible-inventory from the same venv as this interpreter, so vars plugins
    # and group_vars resolve exactly as they do for the playbooks.
    tool = Path(sys.executable).parent / "ansible-inventory"
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [str(tool), "-i", inventory_dir, "--list"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise LabError(f"ansible-inventory -i {inventory_dir} failed: {proc.stderr.strip()[-300:]}")
    data = json.loads(proc.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    hosts = _group_hosts(data, GROUP)
    if not hosts:
        raise LabError(f"inventory {inventory_dir} has no hosts in group {GROUP}")
    specs = []
    for host in sorted(hosts):
        hv = hostvars.get(host, {})
        if "ansible_host" not in hv:
            raise LabError(f"{host}: lab VMs need ansible_host (their address)")
        specs.append(
            VmSpec(
                name=host,
                ip=hv["ansible_host"],
                variant=hv.get("lab_variant", "debian"),
                memory=int(hv.get("lab_memory_mib", 2048)),
                vcpus=int(hv.get("lab_vcpus", 1)),
                numa_nodes=int(hv.get("lab_numa_nodes", 0)),
            )
        )
    return specs


def _group_hosts(data: dict, group: str) -> set[str]:
    entry = data.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= _group_hosts(data, child)
    return hosts


def up(inventory_dir: str, timeout: float) -> list[str]:
    specs = read_specs(inventory_dir)
    # Images and the network first, once: the parallel part only boots VMs.
    for variant in sorted({s.variant for s in specs}):
        image.ensure(variant)
    network.up()
    log(f"bringing up {', '.join(s.name for s in specs)}")
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        futures = {s.name: pool.submit(vm.up, s, timeout) for s in specs}
    results, errors = [], []
    for name, future in futures.items():
        try:
            results.append(future.result())
        except LabError as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        raise LabError("\n".join(errors))
    return results
