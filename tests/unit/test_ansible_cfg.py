"""The checkout's ansible.cfg is safe for production runs from the repository root.

`ansible-playbook site.yml -i prod` and AWX jobs of a project built from this
repository read the root ansible.cfg. The lab's SSH relaxations (no host key
checking, known_hosts in /dev/null) belong to inventories/lab, never here.
This asks ansible-config itself, from the root, what a run there would use.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOOL = Path(sys.executable).parent / "ansible-config"


def _dump(env_extra):
    # Every ANSIBLE_* variable of the calling shell (stages.sh exports some)
    # would hide what the file says; only the ones under test are kept.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(env_extra)
    proc = subprocess.run(
        [str(TOOL), "dump", "--format", "json", "--type", "all"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _settings(dump_json):
    """{name: (value, origin)} for the base settings and "<plugin>.<option>" for
    connection plugins, from `ansible-config dump --format json --type all`
    (ansible-core 2.19: a list of base settings, then one dict per plugin type)."""
    out = {}
    for item in json.loads(dump_json):
        if "name" in item:
            out[item["name"]] = (item["value"], item.get("origin"))
            continue
        for plugin in item.get("CONNECTION_PLUGINS", []):
            for name, options in plugin.items():
                for option in options:
                    out[f"{name}.{option['name']}"] = (option["value"], option.get("origin"))
    return out


@pytest.mark.parametrize("how", ["found in the working directory", "named by ANSIBLE_CONFIG"])
def test_root_config_checks_host_keys(how):
    extra = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg")} if how.startswith("named") else {}
    settings = _settings(_dump(extra))
    value, origin = settings["HOST_KEY_CHECKING"]
    assert value is True, f"HOST_KEY_CHECKING is {value} (from {origin})"
    value, origin = settings["ssh.host_key_checking"]
    assert value is True, f"ssh host_key_checking is {value} (from {origin})"
    ssh_args = settings["ssh.ssh_args"][0] or ""
    assert "StrictHostKeyChecking" not in ssh_args, ssh_args
    assert "UserKnownHostsFile" not in ssh_args, ssh_args
    # The file really was read: its own ssh_args are in force.
    assert "ServerAliveInterval=15" in ssh_args, settings["ssh.ssh_args"]


def test_root_config_has_no_default_inventory():
    value, origin = _settings(_dump({}))["DEFAULT_HOST_LIST"]
    assert "inventories/lab" not in " ".join(value or []), (value, origin)


def test_the_relaxations_live_with_the_lab():
    lab = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "all.yml").read_text())
    assert lab["ansible_host_key_checking"] is False
    assert "StrictHostKeyChecking=no" in lab["ansible_ssh_common_args"]
