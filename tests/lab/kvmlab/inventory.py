"""`labctl inventory-up`: every host of group lab_vms in an Ansible inventory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from . import common
from .common import LabError

GROUP = "lab_vms"


def read_vms(inventory_dir: str) -> list[dict]:
    """The VMs of group lab_vms, with the keys of a Molecule platform (tests/lab/tasks/up.yml)."""
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
    vms = []
    for host in sorted(hosts):
        hv = hostvars.get(host, {})
        if "ansible_host" not in hv:
            raise LabError(f"{host}: lab VMs need ansible_host (their address)")
        numa_nodes = int(hv.get("lab_numa_nodes", 0))
        vms.append(
            {
                "name": common.check_name(host),
                "lab_ip": common.check_ip(hv["ansible_host"]),
                "lab_variant": hv.get("lab_variant", "debian"),
                "lab_memory": int(hv.get("lab_memory_mib", 2048)),
                # Every NUMA cell needs at least one vCPU.
                "lab_vcpus": max(int(hv.get("lab_vcpus", 1)), numa_nodes),
                "lab_numa_nodes": numa_nodes,
            }
        )
    return vms


def _group_hosts(data: dict, group: str) -> set[str]:
    entry = data.get(group, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts |= _group_hosts(data, child)
    return hosts
