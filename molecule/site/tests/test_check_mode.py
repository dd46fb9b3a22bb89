"""`--check --diff` on the converged lab hypervisor reports nothing to change.

Molecule's own `check` step only fails on errors; this runs the same
converge playbook in check mode through Molecule's inventory and asserts
that no task on any host would change anything, naming the ones that would.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1]


def test_check_diff_on_converged_host_changes_nothing():
    # No other callback may print into the JSON report (a timing callback
    # enabled for the Molecule run, such as ansible.posix.profile_tasks), so
    # the variable is removed; an empty value is not "none": ansible-core
    # then tries to load a callback named "" and stops with rc 250.
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    playbook = Path(sys.executable).parent / "ansible-playbook"
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    cmd = [str(playbook), "-i", inventory, str(SCENARIO / "converge.yml"), "--check", "--diff"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook printed no JSON report:\n{proc.stdout[-4000:]}") from None
    would_change = [
        f"{host}: {task['task']['name']}"
        for play in report["plays"]
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("changed")
    ]
    assert not would_change, would_change
    assert all(stats["changed"] == 0 and stats["failures"] == 0 for stats in report["stats"].values()), report["stats"]
