# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check mode that shows the diff the run makes, and batched volumes, on the test bed's libvirtd and Ceph.

- libvirt_volume with ``volumes``: check mode predicts each volume's
  ``changed``, actions, diff and the path it will have; the run makes exactly
  that; the rerun changes nothing.
- libvirt_domain's ``pending_storage``: in check mode a disk on a volume only
  predicted is planned (a changed domain with its real definition diff, a new
  one with its whole definition), as the real run then defines it; outside
  check mode the option is ignored and the missing disk refused as always.
- libvirt_domain's ``pending_bridges``: the same for a host bridge that an
  earlier role (kvm_ovs) only predicted in a check run on a fresh host.
- The kvm_guests role on this host with issue 12's change: a running VM
  grows its memory, moves its NIC to another VLAN and gets a second (RBD)
  disk, and a new VM with a cloud-init seed appears. ``--check --diff`` shows
  the update and the creation with the same definition diffs the run then
  makes, and the rerun is ``changed=0``.

Everything is named ``kvmops-it-gcm*`` and removed afterwards; the answers are
checked with virsh, rbd and ovs-vsctl as well as the modules' results.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

PREFIX = "kvmops-it-gcm-"
DIR_POOL = "kvmops-it-gcm"
POOL_DIR = Path("/var/lib/kvmops-it/gcm-pool")
SEED_DIR = Path("/var/lib/kvmops-it/gcm-seeds")
RBD_POOL = "kvmops-it-gcm-rbd"
RBD_SECRET_UUID = "6b766f70-732d-6974-2d67-636d2d726264"
RBD_USAGE = "kvmops-it-gcm client.libvirt secret"
OVS_BRIDGE = "kvmitgcm-br"  # Linux interface names stop at 15 characters
MIB = 1024**2


def run(*args, check=True, timeout=120):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def virsh(*args, check=True):
    return run("virsh", "--connect", "qemu:///system", *args, check=check)


def volume_names(pool):
    # libvirt 9.0's vol-list has no --name: a two-line header, then "name path" rows.
    rows = virsh("vol-list", pool, check=False).stdout.splitlines()[2:]
    return [row.split()[0] for row in rows if row.strip()]


def remove_domains():
    for name in virsh("list", "--all", "--name").stdout.split():
        if name.startswith(PREFIX):
            virsh("destroy", name, check=False)
            virsh("undefine", name, "--nvram", check=False)


def remove_pool(pool):
    if virsh("pool-info", pool, check=False).returncode != 0:
        return
    if "running" in virsh("pool-info", pool).stdout:
        for name in volume_names(pool):
            if name.startswith(PREFIX):
                virsh("vol-delete", "--pool", pool, "--delete-snapshots", name, check=False)
        virsh("pool-destroy", pool)
    virsh("pool-undefine", pool)


def clean():
    remove_domains()
    remove_pool(DIR_POOL)
    remove_pool(RBD_POOL)
    virsh("secret-undefine", RBD_SECRET_UUID, check=False)
    shutil.rmtree(POOL_DIR, ignore_errors=True)
    shutil.rmtree(SEED_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def bed(libvirtd, ceph, ovs, tmp_path_factory):
    """A dir pool, an rbd pool on the test bed's Ceph (with its secret) and an OVS bridge."""
    clean()
    xml_dir = tmp_path_factory.mktemp("gcm")
    (xml_dir / "secret.xml").write_text(
        f"<secret ephemeral='no' private='yes'><uuid>{RBD_SECRET_UUID}</uuid>"
        f"<usage type='ceph'><name>{RBD_USAGE}</name></usage></secret>"
    )
    (xml_dir / "pool.xml").write_text(
        f"<pool type='rbd'><name>{RBD_POOL}</name><source><name>{ceph.pool}</name>"
        f"<host name='{ceph.mon_host}' port='{ceph.mon_port}'/>"
        f"<auth username='libvirt' type='ceph'><secret uuid='{RBD_SECRET_UUID}'/></auth></source></pool>"
    )
    ovs.vsctl("--may-exist", "add-br", OVS_BRIDGE, "--", "set", "bridge", OVS_BRIDGE, "datapath_type=netdev")
    try:
        virsh("pool-define-as", DIR_POOL, "dir", "--target", str(POOL_DIR))
        virsh("pool-build", DIR_POOL)
        virsh("pool-start", DIR_POOL)
        virsh("secret-define", str(xml_dir / "secret.xml"))
        virsh("secret-set-value", RBD_SECRET_UUID, "--base64", ceph.libvirt_key)
        virsh("pool-define", str(xml_dir / "pool.xml"))
        virsh("pool-start", RBD_POOL)
        yield ceph
    finally:
        clean()
        ovs.del_br(OVS_BRIDGE)


def ok(result):
    assert not result.failed, result.result.get("msg", result.stdout[-3000:])
    return result


def domain_results(results):
    """The libvirt_domain task among a play's results (libvirt_domain_info's ``domains`` have no actions)."""
    found = [r for r in results if isinstance(r.result.get("domains"), list) and "changed" in r.result]
    found = [r for r in found if all("actions" in d for d in r["domains"])]
    assert len(found) == 1, [r.result for r in results]
    return found[0]


def by_name(result):
    return {d["name"]: d for d in result["domains"]}


# -- libvirt_volume with volumes ----------------------------------------------------------------


def test_batched_volumes_check_predicts_the_run_and_the_rerun_changes_nothing(bed, run_module):
    args = {
        "pool": DIR_POOL,
        "format": "qcow2",
        "volumes": [
            {"name": PREFIX + "vol-a.qcow2", "capacity": "16MiB"},
            {"name": PREFIX + "vol-b.qcow2", "capacity": "8MiB"},
            {"name": PREFIX + "vol-rbd", "pool": RBD_POOL, "format": "raw", "capacity": "16MiB"},
        ],
    }
    module = "kvmops.kvm.libvirt_volume"
    checked = ok(run_module(module, args, check=True, diff=True))
    assert checked["changed"] is True
    assert [(v["name"], v["changed"], v["actions"], v["volume"]) for v in checked["volumes"]] == [
        (PREFIX + "vol-a.qcow2", True, ["create"], None),
        (PREFIX + "vol-b.qcow2", True, ["create"], None),
        (PREFIX + "vol-rbd", True, ["create"], None),
    ]
    assert [v["path"] for v in checked["volumes"]] == [
        str(POOL_DIR / (PREFIX + "vol-a.qcow2")),
        str(POOL_DIR / (PREFIX + "vol-b.qcow2")),
        f"{bed.pool}/{PREFIX}vol-rbd",
    ]
    assert not set(volume_names(DIR_POOL)) and PREFIX + "vol-rbd" not in bed.images()

    made = ok(run_module(module, args, diff=True))
    assert [(v["changed"], v["actions"], v["path"], v["diff"]) for v in made["volumes"]] == [
        (v["changed"], v["actions"], v["path"], v["diff"]) for v in checked["volumes"]
    ]
    assert made["diff"] == checked["diff"]
    # libvirt's own answer, not the module's: the paths check mode announced.
    for item in made["volumes"]:
        pool = item["pool"]
        assert virsh("vol-path", "--pool", pool, item["name"]).stdout.strip() == item["path"]
    assert made["volumes"][0]["volume"]["capacity"] == 16 * MIB
    assert PREFIX + "vol-rbd" in bed.images()

    again = ok(run_module(module, args))
    assert again["changed"] is False
    assert [v["changed"] for v in again["volumes"]] == [False, False, False]
    assert ok(run_module(module, args, check=True))["changed"] is False


def test_batched_volumes_report_each_failure_and_keep_going(bed, run_module):
    args = {
        "pool": DIR_POOL,
        "volumes": [
            {"name": PREFIX + "vol-a.qcow2", "capacity": "8MiB"},  # made 16 MiB above: a shrink
            {"name": PREFIX + "vol-c.qcow2", "capacity": "8MiB"},
        ],
    }
    result = run_module("kvmops.kvm.libvirt_volume", args)
    assert result.failed
    assert result["msg"].startswith(f"1 of 2 volumes failed: libvirt volume '{DIR_POOL}/{PREFIX}vol-a.qcow2'")
    assert result["volumes"][1]["changed"] is True
    assert PREFIX + "vol-c.qcow2" in volume_names(DIR_POOL)


# -- libvirt_domain's pending_storage -----------------------------------------------------------


def plain_domain(name, disks, memory="64MiB", vlan=110):
    return {
        "name": name,
        "type": "qemu",
        "memory": memory,
        "vcpus": 1,
        "machine": "q35",
        "cpu": {"mode": "custom", "model": "qemu64"},
        "disks": disks,
        "interfaces": [{"bridge": OVS_BRIDGE, "openvswitch": True, "vlan": vlan}],
        "state": "present",
    }


def test_pending_storage_plans_in_check_mode_only(bed, run_module):
    name = PREFIX + "pend"
    root = POOL_DIR / f"{name}-root.qcow2"
    data = POOL_DIR / f"{name}-data.qcow2"
    seed = SEED_DIR / f"{name}-seed.iso"
    run("qemu-img", "create", "-f", "qcow2", str(root), "16M")
    module = "kvmops.kvm.libvirt_domain"
    ok(run_module(module, plain_domain(name, [{"target": "vda", "path": str(root)}])))
    changed = plain_domain(
        name,
        [
            {"target": "vda", "path": str(root)},
            {"target": "vdb", "path": str(data)},
            {"target": "vdc", "pool": DIR_POOL, "volume": f"{name}-vol.qcow2"},
            {"target": "sda", "device": "cdrom", "bus": "sata", "path": str(seed), "readonly": True},
        ],
        memory="96MiB",
        vlan=120,
    )
    pending = [str(data), f"{DIR_POOL}/{name}-vol.qcow2", str(seed)]

    # Check mode without the option: refused, naming each missing source (as before).
    refused = run_module(module, changed, check=True)
    assert refused.failed
    for missing in (f"disk vdb: {data} does not exist", f"'{DIR_POOL}/{name}-vol.qcow2': does not exist"):
        assert missing in refused["msg"]

    # With it: the real definition diff of the existing domain.
    checked = ok(run_module(module, {**changed, "pending_storage": pending}, check=True, diff=True))
    assert checked["changed"] is True and checked["actions"] == ["update"]
    after = checked["diff"][0]["after"]
    assert '<memory unit="KiB">98304</memory>' in after and '<tag id="120"/>' in after
    for source in (f'file="{data}"', f'volume="{name}-vol.qcow2"', f'file="{seed}"'):
        assert source in after
    assert '<memory unit="KiB">65536</memory>' in checked["diff"][0]["before"]
    assert etree.fromstring(virsh("dumpxml", "--inactive", name).stdout.encode()).findtext("memory") == "65536"

    # Outside check mode the option is ignored: the missing storage is refused as always.
    real = run_module(module, {**changed, "pending_storage": pending})
    assert real.failed and f"disk vdb: {data} does not exist" in real["msg"]
    assert etree.fromstring(virsh("dumpxml", "--inactive", name).stdout.encode()).findtext("memory") == "65536"

    # A malformed entry is refused in check mode.
    bad = run_module(module, {**changed, "pending_storage": ["web1.qcow2"]}, check=True)
    assert bad.failed and "pending_storage: 'web1.qcow2' is neither an absolute path nor pool/volume" in bad["msg"]

    # Once the storage exists, the run makes exactly the diff check mode showed.
    run("qemu-img", "create", "-f", "qcow2", str(data), "8M")
    ok(run_module("kvmops.kvm.libvirt_volume", {"pool": DIR_POOL, "name": f"{name}-vol.qcow2", "capacity": 8}))
    SEED_DIR.mkdir(parents=True, exist_ok=True)
    seed.write_bytes(b"\0" * 2048)
    made = ok(run_module(module, changed, diff=True))
    assert made["actions"] == checked["actions"] and made["changes"] == checked["changes"]
    assert made["diff"] == checked["diff"]
    assert ok(run_module(module, changed))["changed"] is False


# -- the kvm_guests role: issue 12's change under --check --diff, then for real ------------------


def role_play(bed, vms):
    return [
        {
            "name": "kvm_guests",
            "ansible.builtin.include_role": {"name": "kvmops.kvm.kvm_guests"},
            "vars": {
                "kvm_guests_vms": vms,
                "kvm_guests_domain_type": "qemu",
                "kvm_guests_cpu_mode": "custom",
                "kvm_guests_cpu_model": "qemu64",
                "kvm_guests_placement": False,
                "kvm_guests_install_packages": False,
                "kvm_guests_dir_pool": DIR_POOL,
                "kvm_guests_rbd_pool": RBD_POOL,
                "kvm_guests_rbd_ceph_pool": bed.pool,
                "kvm_guests_rbd_monitors": [{"host": bed.mon_host, "port": bed.mon_port}],
                "kvm_guests_rbd_username": "libvirt",
                "kvm_guests_rbd_secret_usage": RBD_USAGE,
                "kvm_guests_seed_dir": str(SEED_DIR),
            },
        }
    ]


OLD = PREFIX + "old"
NEW = PREFIX + "new"


def inventory(changed):
    """Before: one running VM. After: issue 12's change to it, and a new VM with a seed."""
    old = {
        "name": OLD,
        "vcpus": 1,
        "memory": 96 if changed else 64,
        "disks": [{"name": "root", "size": "16MiB"}]
        + ([{"name": "data", "rbd": True, "size": "16MiB"}] if changed else []),
        "nics": [{"bridge": OVS_BRIDGE, "vlan": 120 if changed else 110, "mac": "52:54:00:00:12:01"}],
    }
    new = {
        "name": NEW,
        "vcpus": 1,
        "memory": 64,
        "disks": [{"name": "root", "size": "16MiB"}],
        "nics": [{"bridge": OVS_BRIDGE, "vlan": 120, "mac": "52:54:00:00:12:02"}],
        "cloud_init": {"user_data": {"hostname": NEW}},
    }
    return [old, new] if changed else [old]


def changed_tasks(results):
    return [r.result for r in results if r.result.get("changed")]


def test_role_check_diff_is_the_diff_the_run_makes(bed, run_tasks, ovs):
    ok(run_tasks(role_play(bed, inventory(changed=False)))[-1])
    assert virsh("domstate", OLD).stdout.strip() == "running"

    checked = run_tasks(role_play(bed, inventory(changed=True)), check=True, diff=True)
    assert not any(r.failed for r in checked), [r.result.get("msg") for r in checked if r.failed]
    # Nothing made by check mode, and no VM left out of its plan.
    assert NEW not in virsh("list", "--all", "--name").stdout.split()
    assert PREFIX + "old-data" not in bed.images()
    assert not any("would create" in json.dumps(r.result) for r in checked)
    planned = domain_results(checked)
    domains = by_name(planned)
    assert domains[OLD]["actions"] == ["update"] and domains[OLD]["restart_required"] is True
    assert domains[NEW]["actions"] == ["define", "start"]
    old_diff = next(d for d in planned["diff"] if d.get("before_header") == f"{OLD} (defined)")
    assert '<memory unit="KiB">98304</memory>' in old_diff["after"]
    assert '<tag id="120"/>' in old_diff["after"] and '<tag id="110"/>' in old_diff["before"]
    assert f'name="{bed.pool}/{PREFIX}old-data"' in old_diff["after"]
    new_diff = next(d for d in planned["diff"] if d.get("after_header") == f"{NEW} (new)")
    assert f'file="{POOL_DIR}/{NEW}-root.qcow2"' in new_diff["after"]
    assert f'file="{SEED_DIR}/{NEW}-seed.iso"' in new_diff["after"]

    made_all = run_tasks(role_play(bed, inventory(changed=True)), diff=True)
    assert not any(r.failed for r in made_all), [r.result.get("msg") for r in made_all if r.failed]
    made = domain_results(made_all)
    for name in (OLD, NEW):
        assert by_name(made)[name]["actions"] == domains[name]["actions"]
        assert by_name(made)[name].get("changes") == domains[name].get("changes")
    assert made["diff"] == planned["diff"]
    # Independently: libvirt has the new definition, OVS still the old tag until the cold boot.
    old_xml = etree.fromstring(virsh("dumpxml", "--inactive", OLD).stdout.encode())
    assert old_xml.findtext("memory") == str(96 * 1024)
    assert old_xml.find("devices/interface/vlan/tag").get("id") == "120"
    assert virsh("domstate", NEW).stdout.strip() == "running"
    assert PREFIX + "old-data" in bed.images()

    rerun = run_tasks(role_play(bed, inventory(changed=True)))
    assert not any(r.failed for r in rerun)
    assert changed_tasks(rerun) == []
    rechecked = run_tasks(role_play(bed, inventory(changed=True)), check=True)
    assert changed_tasks(rechecked) == []


def test_pending_bridges_plan_a_new_guest_in_check_mode_only(bed, run_module):
    """site.yml --check on a fresh host: kvm_ovs only predicted the bridge the guest goes on."""
    name = PREFIX + "pbr"
    root = POOL_DIR / f"{name}-root.qcow2"
    run("qemu-img", "create", "-f", "qcow2", str(root), "16M")
    module = "kvmops.kvm.libvirt_domain"
    missing = "kvitgcm-nobr"
    assert run("ip", "link", "show", missing, check=False).returncode != 0
    spec = plain_domain(name, [{"target": "vda", "path": str(root)}])
    spec["interfaces"] = [{"bridge": missing, "openvswitch": True, "vlan": 120}]

    refused = run_module(module, spec, check=True)
    assert refused.failed and f"interface 0: bridge '{missing}' does not exist on the host" in refused["msg"]

    checked = ok(run_module(module, {**spec, "pending_bridges": [missing]}, check=True, diff=True))
    assert checked["changed"] is True and checked["actions"] == ["define"]
    assert f'<source bridge="{missing}"/>' in checked["diff"][0]["after"]
    assert virsh("dominfo", name, check=False).returncode != 0, "check mode defined the domain"

    # Outside check mode the option is ignored: the bridge must exist.
    real = run_module(module, {**spec, "pending_bridges": [missing]})
    assert real.failed and f"bridge '{missing}' does not exist on the host" in real["msg"]
    assert virsh("dominfo", name, check=False).returncode != 0
