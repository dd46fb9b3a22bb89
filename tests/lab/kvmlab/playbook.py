"""Run tests/lab/tasks/{up,down}.yml (the collection's modules) for `labctl up|inventory-up|down`.

The same task files back molecule/_shared/create.yml and destroy.yml, so the
lab and Molecule make and remove VMs the same way. Ansible's progress goes to
stderr; labctl prints one line per VM from the results the play writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import LabError, log

LAB_DIR = Path(__file__).resolve().parents[1]
REPO = LAB_DIR.parents[1]
PLAYBOOK = LAB_DIR / "labctl.yml"


def run(action: str, vms: list[dict], ssh_timeout: float = 240) -> list[dict]:
    """Run `action` (up or down) for the VMs (Molecule platform keys); returns one result per VM."""
    tool = Path(sys.executable).parent / "ansible-playbook"
    if not tool.exists():
        raise LabError(f"{tool} not found: run labctl with the venv's python")
    with tempfile.TemporaryDirectory(prefix="labctl-") as tmp:
        result_file = Path(tmp) / "results.json"
        extra = {
            "lab_action": action,
            "lab_vms": vms,
            "lab_repo_dir": str(REPO),
            "lab_python": sys.executable,
            "lab_ssh_timeout": int(ssh_timeout),
            "lab_result_file": str(result_file),
        }
        vars_file = Path(tmp) / "vars.json"
        vars_file.write_text(json.dumps(extra))
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_RETRY_FILES_ENABLED="0")
        argv = [str(tool), "-i", "localhost,", "-e", f"@{vars_file}", str(PLAYBOOK)]
        started = time.monotonic()
        # stdout to our stderr: the play's progress is for people, our stdout for scripts.
        proc = subprocess.run(argv, cwd=REPO, env=env, stdout=sys.stderr, check=False)  # noqa: S603 - fixed argv
        if proc.returncode != 0:
            raise LabError(f"{action} of {', '.join(vm['name'] for vm in vms)} failed (ansible-playbook above)")
        log(f"{PLAYBOOK.name} {action} ran in {time.monotonic() - started:.1f} s")
        return json.loads(result_file.read_text())
