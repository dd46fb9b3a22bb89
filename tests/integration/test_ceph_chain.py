# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The whole chain on the test bed's real Ceph: key → libvirt secret → RBD pool → volumes → a running guest.

Everything goes through this collection's modules and the kvm_ceph role; what
Ceph really holds is checked with the rbd CLI as admin. The second test runs
the role and the modules at -vvv with a fresh cephx key as a marker and looks
for it in every output, the Ansible log, the diffs and the file system areas a
run writes to. Teardown order everywhere: domains, libvirt pools, secrets
(the cluster itself belongs to the test bed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
POOL = "kvmops-it-chain"
SECRET_USAGE = "kvmops-it-chain"
IMAGE = "kvmops-it-chain-base"
CLONE = "kvmops-it-chain-root"
DOMAIN = "kvmops-it-chain-vm"
MIB = 1024**2
# The marker test's objects: Ceph user, cluster name for the client files, libvirt pool and secret.
MARKER_CLIENT = "kvmops-it-marker"
MARKER_CLUSTER = "kvmops-it"
MARKER_POOL = "kvmops-it-marker"
MARKER_USAGE = f"client.{MARKER_CLIENT} secret"
MARKER_KEYRING = Path(f"/etc/ceph/{MARKER_CLUSTER}.client.{MARKER_CLIENT}.keyring")
MARKER_CONF = Path(f"/etc/ceph/{MARKER_CLUSTER}.conf")
# Where a run could leave a copy of the key; the keyring and libvirt's secret store are the allowed places.
SEARCHED = ["/etc", "/var/lib/libvirt", "/var/log", "/tmp", str(REPO), str(Path.home() / ".ansible")]


def run(*args, check=True, timeout=120):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args[:3])}... failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def virsh(uri, *args, check=True):
    return run("virsh", "--connect", uri, *args, check=check)


def rbd_info(ceph, image):
    return json.loads(ceph.rbd("info", f"{ceph.pool}/{image}", "--format", "json").stdout)


def watchers(ceph, image):
    return json.loads(ceph.rbd("status", f"{ceph.pool}/{image}", "--format", "json").stdout).get("watchers", [])


def remove_images(ceph, *images):
    # Clones before their parents; snapshots (protected by libvirt's clone) before the image.
    for image in images:
        if image in ceph.images():
            for snap in json.loads(ceph.rbd("snap", "ls", f"{ceph.pool}/{image}", "--format", "json").stdout):
                ceph.rbd("snap", "unprotect", f"{ceph.pool}/{image}@{snap['name']}", check=False)
            ceph.rbd("snap", "purge", f"{ceph.pool}/{image}", check=False)
            ceph.rbd("rm", f"{ceph.pool}/{image}", check=False)


def teardown(uri, ceph, pool, usage, images=()):
    """Domains, then libvirt pools, then secrets: an active RBD pool must never outlive its cluster's use."""
    virsh(uri, "destroy", DOMAIN, check=False)
    virsh(uri, "undefine", DOMAIN, check=False)
    if virsh(uri, "pool-info", pool, check=False).returncode == 0:
        virsh(uri, "pool-destroy", pool, check=False)
        virsh(uri, "pool-undefine", pool, check=False)
    remove_images(ceph, *images)
    listing = virsh(uri, "secret-list").stdout.splitlines()[2:]
    for row in listing:
        if row.strip().endswith(usage):
            virsh(uri, "secret-undefine", row.split()[0], check=False)


@pytest.fixture
def chain(libvirtd, ceph):
    teardown(libvirtd, ceph, POOL, SECRET_USAGE, (CLONE, IMAGE))
    yield libvirtd
    teardown(libvirtd, ceph, POOL, SECRET_USAGE, (CLONE, IMAGE))


def ok(result):
    assert not result.failed, result.result.get("msg", result.result)
    return result


def test_secret_pool_volumes_and_a_running_guest_on_rbd(chain, ceph, run_module):
    uri = chain
    secret = ok(
        run_module("kvmops.kvm.libvirt_secret", {"uri": uri, "usage_name": SECRET_USAGE, "value": ceph.libvirt_key})
    )
    secret_uuid = secret["secret"]["uuid"]
    hosts = [{"name": ceph.mon_host, "port": ceph.mon_port}]
    pool_args = {
        "uri": uri,
        "name": POOL,
        "type": "rbd",
        "rbd": {"pool": ceph.pool, "hosts": hosts, "username": "libvirt", "secret_uuid": secret_uuid},
        "state": "active",
    }
    ok(run_module("kvmops.kvm.libvirt_pool", pool_args))

    def volume(name, **args):
        return ok(run_module("kvmops.kvm.libvirt_volume", {"uri": uri, "pool": POOL, "name": name, **args}))

    assert volume(IMAGE, capacity="64MiB")["actions"] == ["create"]
    assert rbd_info(ceph, IMAGE)["size"] == 64 * MIB
    assert volume(IMAGE, capacity="128MiB")["actions"] == ["resize 64MiB -> 128MiB"]
    assert rbd_info(ceph, IMAGE)["size"] == 128 * MIB
    assert volume(CLONE, clone_from=IMAGE)["actions"] == [f"clone from {IMAGE}"]
    assert {IMAGE, CLONE} <= ceph.images()

    guest = ok(
        run_module(
            "kvmops.kvm.libvirt_domain",
            {
                "uri": uri,
                "name": DOMAIN,
                "type": "qemu",
                "memory": "128MiB",
                "vcpus": 1,
                "disks": [
                    {
                        "target": "vda",
                        "bus": "virtio",
                        "rbd": {
                            "image": f"{ceph.pool}/{CLONE}",
                            "hosts": hosts,
                            "username": "libvirt",
                            "secret_uuid": secret_uuid,
                        },
                    }
                ],
                "state": "running",
            },
        )
    )
    assert guest["state"] == "running"
    deadline = time.monotonic() + 30
    while not watchers(ceph, CLONE) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert watchers(ceph, CLONE), "QEMU has the image open: rbd status shows its watcher"

    # A pool with volumes is not deleted. The Ceph pool may hold other images
    # too (the lab guests' disks after `make lab`, or of a Molecule scenario
    # running beside this test in make test), so the count is at least ours.
    refused = run_module("kvmops.kvm.libvirt_pool", {"uri": uri, "name": POOL, "state": "absent"})
    held = re.search(r"deleting the pool refused: the pool holds (\d+) volumes", refused.result.get("msg") or "")
    assert refused.failed and held and int(held.group(1)) >= 2, refused.result

    # Teardown through the modules, in order: domain, volumes, pool, secret.
    ok(run_module("kvmops.kvm.libvirt_domain", {"uri": uri, "name": DOMAIN, "state": "absent"}))
    assert watchers(ceph, CLONE) == []
    volume(CLONE, state="absent")
    # The source carries the snapshot libvirt's clone made: deleted with it.
    volume(IMAGE, state="absent")
    assert not ({IMAGE, CLONE} & ceph.images())
    # Images this test did not make (the lab guests' disks) keep the pool
    # "in use": undefining it then needs force, which never deletes volumes.
    others = bool(ceph.images())
    removed = run_module("kvmops.kvm.libvirt_pool", {"uri": uri, "name": POOL, "state": "absent", "force": others})
    assert ok(removed)["actions"] == [
        "destroy",
        "undefine",
    ]
    ok(run_module("kvmops.kvm.libvirt_secret", {"uri": uri, "uuid": secret_uuid, "state": "absent"}))


# -- the marker key must not leak ---------------------------------------------------------


def playbook(path, plays):
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def ansible(path, log, *extra, env_extra=None):
    """ansible-playbook at -vvv with --diff and the default callback; returns everything it printed."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_LOG_PATH": str(log),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
    )
    env.update(env_extra or {})
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable}),
        "-vvv",
        "--diff",
        *extra,
        str(path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=600, check=False)
    return proc


def role_play(ceph, **overrides):
    role_vars = {
        "kvm_ceph_fsid": ceph.fsid,
        "kvm_ceph_monitors": [{"host": ceph.mon_host, "port": ceph.mon_port}],
        "kvm_ceph_cluster_name": MARKER_CLUSTER,
        "kvm_ceph_client_name": MARKER_CLIENT,
        "kvm_ceph_fetch_key": True,
        "kvm_ceph_admin_host": "localhost",
        "kvm_ceph_admin_conf": ceph.conf,
        "kvm_ceph_pool": ceph.pool,
        "kvm_ceph_libvirt_pool_name": MARKER_POOL,
    }
    role_vars.update(overrides)
    return [
        {
            "name": "kvm_ceph on this machine",
            "hosts": "localhost",
            "gather_facts": False,
            "roles": [{"role": "kvmops.kvm.kvm_ceph", "vars": role_vars}],
        }
    ]


def where(marker, text):
    """Line numbers holding the marker, never the lines themselves (they would print it)."""
    return [number for number, line in enumerate(text.splitlines(), 1) if marker in line]


@pytest.fixture
def marker_setup(libvirtd, ceph):
    def clean():
        teardown(libvirtd, ceph, MARKER_POOL, MARKER_USAGE)
        ceph.ceph("auth", "del", f"client.{MARKER_CLIENT}", check=False)
        MARKER_KEYRING.unlink(missing_ok=True)
        MARKER_CONF.unlink(missing_ok=True)

    clean()
    yield libvirtd
    clean()


def test_the_key_never_leaks_from_role_or_modules(marker_setup, ceph, tmp_path):
    log = tmp_path / "ansible.log"
    outputs = {}
    # The packages of this machine are the test bed's; the role must not apt-get here.
    skip = ["--skip-tags", "kvm_ceph_packages"]

    # 1. The role fetches the key from the admin host (creating the user): the marker is
    #    born inside the run, so no input of the test can be where it shows up.
    first = ansible(playbook(tmp_path / "fetch.yml", role_play(ceph)), log, *skip)
    assert first.returncode == 0, first.stdout[-3000:]
    marker = ceph.ceph("auth", "get-key", f"client.{MARKER_CLIENT}").stdout.strip()
    assert len(marker) == 40
    outputs["role, key fetched"] = first

    # 2. The role again with the key from the inventory (here an environment lookup), writing
    #    it into the secret on every run, then in check mode.
    inventory_key = {
        "kvm_ceph_fetch_key": False,
        "kvm_ceph_client_key": "{{ lookup('ansible.builtin.env', 'KVMOPS_IT_MARKER') }}",
        "kvm_ceph_secret_update": "always",
    }
    env = {"KVMOPS_IT_MARKER": marker}
    second_path = playbook(tmp_path / "inventory.yml", role_play(ceph, **inventory_key))
    second = ansible(second_path, log, *skip, env_extra=env)
    assert second.returncode == 0, "role run with the inventory key failed (output withheld: it is under test)"
    outputs["role, key from inventory"] = second
    outputs["role, check mode"] = ansible(second_path, log, "--check", *skip, env_extra=env)

    # 3. The modules directly: a new secret, its value rewritten, check mode, and error paths.
    key = "{{ lookup('ansible.builtin.env', 'KVMOPS_IT_MARKER') }}"
    # Not base64: the module's error must not quote it.
    bad_key = "{{ '!' ~ lookup('ansible.builtin.env', 'KVMOPS_IT_MARKER') }}"
    usage = f"{MARKER_USAGE} 2"
    tasks = [
        {"kvmops.kvm.libvirt_secret": {"usage_name": usage, "value": key}},
        {"kvmops.kvm.libvirt_secret": {"usage_name": usage, "value": key, "update_value": "always"}},
        {"kvmops.kvm.libvirt_secret": {"usage_name": usage, "value": key, "private": False}, "ignore_errors": True},
        {"kvmops.kvm.libvirt_secret": {"usage_name": usage, "value": bad_key}, "ignore_errors": True},
        {
            "kvmops.kvm.libvirt_pool": {
                "name": f"{MARKER_POOL}-down",
                "type": "rbd",
                "state": "active",
                "rbd": {"pool": ceph.pool, "hosts": [{"name": "127.0.0.1", "port": 9}], "username": MARKER_CLIENT,
                        "secret_usage": usage},
            },
            "ignore_errors": True,
        },
        {"kvmops.kvm.libvirt_secret": {"usage_name": usage, "state": "absent"}},
    ]  # fmt: skip
    plays = [{"name": "modules", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    module_path = playbook(tmp_path / "modules.yml", plays)
    outputs["modules, check mode"] = ansible(module_path, log, "--check", env_extra=env)
    outputs["modules"] = ansible(module_path, log, env_extra=env)
    assert outputs["modules"].returncode == 0, "module run failed (output withheld: it is under test)"

    leaks = {}
    for label, proc in outputs.items():
        for stream in ("stdout", "stderr"):
            lines = where(marker, getattr(proc, stream))
            if lines:
                leaks[f"{label} {stream}"] = lines
    log_lines = where(marker, log.read_text())
    if log_lines:
        leaks["ANSIBLE_LOG_PATH"] = log_lines
    assert all("<localhost> EXEC" in proc.stdout for proc in outputs.values()), "not run at -vvv"
    assert "--- before" in outputs["role, key fetched"].stdout, "no diff was printed"

    # The file system: only the keyring and libvirt's secret store may hold the key.
    found = run(
        "grep", "-rlF", "--exclude-dir=.venv", "--exclude-dir=.git", "-e", marker, *SEARCHED, check=False, timeout=300
    ).stdout.split()
    allowed = {str(MARKER_KEYRING)}
    files = [path for path in found if path not in allowed and not path.startswith("/etc/libvirt/secrets/")]
    if files:
        leaks["files"] = files
    assert leaks == {}, f"the marker key leaked: {leaks}"
    # And it is where it belongs.
    assert str(MARKER_KEYRING) in found
    assert any(path.startswith("/etc/libvirt/secrets/") for path in found)
    assert oct(MARKER_KEYRING.stat().st_mode & 0o777) == "0o600"


def secret_exists(uri, usage):
    return any(row.strip().endswith(usage) for row in virsh(uri, "secret-list").stdout.splitlines()[2:])


def test_role_with_a_wrong_key_fails_clearly_and_leaves_nothing_half_made(marker_setup, ceph, tmp_path):
    uri = marker_setup
    log = tmp_path / "ansible.log"
    wrong = run("ceph-authtool", "--gen-print-key").stdout.strip()
    # The user exists with its own key; the inventory holds another one.
    ceph.ceph(
        "auth", "get-or-create", f"client.{MARKER_CLIENT}", "mon", "profile rbd", "osd", f"profile rbd pool={ceph.pool}"
    )
    env = {"KVMOPS_IT_MARKER": wrong}
    wrong_key = {
        "kvm_ceph_fetch_key": False,
        "kvm_ceph_client_key": "{{ lookup('ansible.builtin.env', 'KVMOPS_IT_MARKER') }}",
    }
    skip = ["--skip-tags", "kvm_ceph_packages"]

    # With the check (the default): stops before libvirt, naming user, pool and monitors.
    checked = ansible(playbook(tmp_path / "checked.yml", role_play(ceph, **wrong_key)), log, *skip, env_extra=env)
    assert checked.returncode != 0
    assert f"client.{MARKER_CLIENT} cannot list Ceph pool {ceph.pool}" in checked.stdout
    assert "Nothing was made in libvirt." in checked.stdout
    assert not secret_exists(uri, MARKER_USAGE)
    assert virsh(uri, "pool-info", MARKER_POOL, check=False).returncode != 0

    # Without it, libvirt_pool fails on the key; the pool and the secret this run made are removed again.
    unchecked = ansible(
        playbook(tmp_path / "unchecked.yml", role_play(ceph, kvm_ceph_check_pool=False, **wrong_key)),
        log,
        *skip,
        env_extra=env,
    )
    assert unchecked.returncode != 0
    assert f"libvirt pool '{MARKER_POOL}': start failed, pool definition removed again" in unchecked.stdout
    assert "(the secret created by this run was removed again)" in unchecked.stdout
    assert not secret_exists(uri, MARKER_USAGE)
    assert virsh(uri, "pool-info", MARKER_POOL, check=False).returncode != 0
    assert wrong not in checked.stdout + unchecked.stdout + log.read_text()


def task_outcome(stdout, task):
    """The first result line (ok/changed/skipping/failed/fatal) after the task's header."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"TASK [kvmops.kvm.kvm_ceph : {task}]"))
    outcome = re.compile(r"(ok|changed|skipping|failed|fatal):")
    return next(line.split(":", 1)[0] for line in lines[start + 1 :] if outcome.match(line))


def test_the_pool_listing_of_the_read_stands_only_while_the_files_stay(marker_setup, ceph, tmp_path):
    """A converged host is not listed twice; a changed keyring is listed again and refused."""
    log = tmp_path / "ansible.log"
    skip = ["--skip-tags", "kvm_ceph_packages"]
    ceph.ceph(
        "auth", "get-or-create", f"client.{MARKER_CLIENT}", "mon", "profile rbd", "osd", f"profile rbd pool={ceph.pool}"
    )
    right = ceph.ceph("auth", "get-key", f"client.{MARKER_CLIENT}").stdout.strip()
    from_env = {
        "kvm_ceph_fetch_key": False,
        "kvm_ceph_client_key": "{{ lookup('ansible.builtin.env', 'KVMOPS_IT_MARKER') }}",
    }
    path = playbook(tmp_path / "key.yml", role_play(ceph, **from_env))
    listing = "check | List the pool as the client"

    first = ansible(path, log, *skip, env_extra={"KVMOPS_IT_MARKER": right})
    assert first.returncode == 0, first.stdout[-3000:]
    # No keyring yet when the read ran: the listing is made after the files.
    assert task_outcome(first.stdout, listing) == "ok"

    again = ansible(path, log, *skip, env_extra={"KVMOPS_IT_MARKER": right})
    assert again.returncode == 0, again.stdout[-3000:]
    # The read's listing stands: same files, nothing installed.
    assert task_outcome(again.stdout, listing) == "skipping"
    assert task_outcome(again.stdout, "check | Fail unless the client could list the pool") == "ok"

    # The read still lists fine with the old keyring, but the keyring changes: listed again, refused.
    wrong = run("ceph-authtool", "--gen-print-key").stdout.strip()
    refused = ansible(path, log, *skip, env_extra={"KVMOPS_IT_MARKER": wrong})
    assert refused.returncode != 0
    assert task_outcome(refused.stdout, listing) == "ok"
    assert f"client.{MARKER_CLIENT} cannot list Ceph pool {ceph.pool}" in refused.stdout


def test_check_mode_on_a_fresh_client_predicts_the_run_and_makes_nothing(marker_setup, ceph, tmp_path):
    """kvm_ceph --check --diff where nothing of it exists yet: the fresh-host check of the former
    kvm_ceph scenario (then of site's fresh VM), on this machine's daemons."""
    uri = marker_setup
    log = tmp_path / "ansible.log"
    path = playbook(tmp_path / "fresh.yml", role_play(ceph))
    checked = ansible(path, log, "--check", "--skip-tags", "kvm_ceph_packages")
    assert checked.returncode == 0, checked.stdout[-3000:]
    # It predicts the files, the secret and the pool...
    recap = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", checked.stdout)
    assert recap and int(recap.group(1)) >= 3, checked.stdout[-3000:]
    assert str(MARKER_CONF) in checked.stdout, "no diff for ceph.conf"
    # ...and makes none of them, nor the Ceph user the real run creates.
    assert not MARKER_CONF.exists() and not MARKER_KEYRING.exists()
    assert not secret_exists(uri, MARKER_USAGE)
    assert virsh(uri, "pool-info", MARKER_POOL, check=False).returncode != 0
    assert ceph.ceph("auth", "get", f"client.{MARKER_CLIENT}", check=False).returncode != 0
