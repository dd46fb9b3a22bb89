"""Job templates of playbooks/controller.yml run as AWX runs a job, on the converged lab hypervisor.

tests/awx/run_template.py builds the private data dir AWX writes for a job
(the project as a clone, collections/requirements.yml installed the way a
project update does, the inventory as AWX's inventory script, extravars
from the survey defaults, the Ceph credential type's injector) and runs it
through ansible-runner. The inventory is this scenario's (the lab's
group_vars and this VM). The Ceph credential carries the lab's real client
key, read from the test bed, so kvm_ceph has nothing to change; afterwards
every artifact (job events, stdout, fact cache) is searched for that key.

The Site and Hypervisors templates run the same playbooks as
tests/test_entry_points.py already runs twice on this host; their private
data dirs are only prepared here (--prepare-only), to keep the lane short.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "tests" / "awx" / "run_template.py"
CEPH_CONF = Path("/var/lib/kvmops-testbed/ceph/ceph.conf")
HOST = "kvmlab-mol-site"


@pytest.fixture(scope="module")
def inventory():
    return str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent)


@pytest.fixture(scope="module")
def ceph_key_file(tmp_path_factory):
    """The lab client's key (kvm_ceph_client_name libvirt), as an operator would paste it into the credential."""
    proc = subprocess.run(
        ["ceph", "--conf", str(CEPH_CONF), "auth", "get-key", "client.libvirt"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.strip(), f"cannot read the lab's Ceph key: {proc.stderr}"
    path = tmp_path_factory.mktemp("cred") / "ceph.key"
    path.write_text(proc.stdout.strip())
    path.chmod(0o600)
    return path


def run_template(tmp_path, template, inventory, *extra):
    cmd = [
        sys.executable,
        str(HARNESS),
        template,
        "--inventory",
        inventory,
        "--quiet",
        "--private-data-dir",
        str(tmp_path / "job"),
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600, check=False)
    out = proc.stdout + proc.stderr
    print(out[-3000:])
    return proc.returncode, out


def counts(out, host):
    """The harness's per-host row: ok, changed, failures, dark, skipped."""
    row = re.search(rf"^{re.escape(host)}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", out, re.M)
    assert row, out[-3000:]
    return dict(zip(("ok", "changed", "failures", "dark", "skipped"), map(int, row.groups())))


@pytest.mark.parametrize(
    ("template", "extra"),
    [
        # job_type check, diff on: what a run would change; nothing, converged.
        ("Plan", []),
        # A real run of playbooks/guests.yml with the survey's defaults.
        ("Guests", []),
        # The per-role template by tags: kvm_host only, a real run.
        ("Role run", ["--tags", "kvm_host"]),
    ],
)
def test_template_changes_nothing_and_leaks_no_key(tmp_path, inventory, ceph_key_file, template, extra):
    rc, out = run_template(tmp_path, template, inventory, "--ceph-key-file", str(ceph_key_file), *extra)
    # Exit status 3 is the harness finding the credential's key in an artifact
    # (it prints only the variable's name, never the key).
    assert rc == 0, out[-3000:]
    assert "status=successful" in out, out[-3000:]
    row = counts(out, HOST)
    assert row["ok"] > 0 and row["changed"] == 0 and row["failures"] == 0 and row["dark"] == 0, row


@pytest.mark.parametrize("template", ["Site", "Hypervisors"])
def test_run_templates_prepare(tmp_path, inventory, ceph_key_file, template):
    rc, out = run_template(tmp_path, template, inventory, "--ceph-key-file", str(ceph_key_file), "--prepare-only")
    assert rc == 0, out[-3000:]
    job = tmp_path / "job"
    assert (job / "inventory" / "hosts").exists() and (job / "env" / "extravars").exists()
    assert (job / "requirements_collections" / "ansible_collections" / "kvmops" / "kvm").is_dir()
