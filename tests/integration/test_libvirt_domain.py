# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_domain through Ansible against the test bed's real libvirtd (TCG domains).

Every expectation is checked independently of the module: with virsh, the
domain XML libvirt stores, the files libvirt keeps (nvram, TPM state) and
Open vSwitch. Domains are named ``kvmops-it-dom-*`` and removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from lxml import etree

MODULE = "kvmops.kvm.libvirt_domain"
PREFIX = "kvmops-it-dom-"
WORKDIR = Path("/var/lib/kvmops-it/dom")
NETWORK = "kvmops-it-dom-net"
OVS_BRIDGE = "kvmitdom-br"  # Linux interface names stop at 15 characters
REPO = Path(__file__).resolve().parents[2]
SECRET = "Vnc7f3aQ"  # VNC passwords stop at 8 characters


def virsh(*args, check=True):
    proc = subprocess.run(
        ["virsh", "--connect", "qemu:///system", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(f"virsh {' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
    return proc


def domstate(name):
    proc = virsh("domstate", name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else "absent"


def dumpxml(name, inactive=True):
    args = ["dumpxml", name, "--security-info"] + (["--inactive"] if inactive else [])
    return etree.fromstring(virsh(*args).stdout.encode())


def remove_domain(name):
    if domstate(name) == "absent":
        return
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--nvram", "--tpm", "--managed-save", "--snapshots-metadata", check=False)


def qemu_img(*args):
    subprocess.run(["qemu-img", *args], capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture(scope="module")
def workdir(libvirtd):
    WORKDIR.mkdir(parents=True, exist_ok=True)
    yield WORKDIR
    for listing in virsh("list", "--all", "--name").stdout.split():
        if listing.startswith(PREFIX):
            remove_domain(listing)
    shutil.rmtree(WORKDIR, ignore_errors=True)


@pytest.fixture(scope="module")
def network(libvirtd):
    """An isolated libvirt network without addresses (nothing routed, nothing served)."""
    xml = f"<network><name>{NETWORK}</name><bridge name='kvmitdom0' stp='off'/></network>"
    path = Path("/tmp/kvmops-it-dom-net.xml")
    path.write_text(xml)
    virsh("net-destroy", NETWORK, check=False)
    virsh("net-undefine", NETWORK, check=False)
    virsh("net-define", str(path))
    virsh("net-start", NETWORK)
    yield NETWORK
    virsh("net-destroy", NETWORK, check=False)
    virsh("net-undefine", NETWORK, check=False)


@pytest.fixture(scope="module")
def ovs_bridge():
    if shutil.which("ovs-vsctl") is None:
        pytest.fail("ovs-vsctl missing: the test bed needs openvswitch-switch", pytrace=False)
    proc = subprocess.run(
        ["ovs-vsctl", "--timeout=10", "--may-exist", "add-br", OVS_BRIDGE, "--", "set", "bridge", OVS_BRIDGE,
         "datapath_type=netdev"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"Open vSwitch not usable ({proc.stderr.strip()}): run tests/testbed/ovs.sh start", pytrace=False)
    yield OVS_BRIDGE
    subprocess.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", OVS_BRIDGE], timeout=30, check=False)


@pytest.fixture(scope="module")
def lab_image():
    """The lab's Debian image (kernel, initrd, base disk): a guest that honours ACPI shutdown."""
    proc = subprocess.run(
        [str(REPO / ".venv/bin/python"), str(REPO / "tests/lab/labctl"), "image"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"labctl image failed: {proc.stderr.strip()[-500:]}", pytrace=False)
    return Path(proc.stdout.strip().splitlines()[-1])


def disk_file(name, size="64M"):
    path = WORKDIR / f"{name}.qcow2"
    if not path.exists():
        qemu_img("create", "-f", "qcow2", str(path), size)
    return str(path)


def rich_spec(name, network, bridge):
    """Most of what an inventory VM uses; the first NIC has no MAC (libvirt generates one)."""
    return {
        "name": name,
        "type": "qemu",
        "memory": "128MiB",
        "vcpus": 2,
        "max_vcpus": 4,
        "title": "integration test domain",
        "cpu": {"mode": "custom", "model": "qemu64", "topology": {"sockets": 1, "cores": 2, "threads": 2}},
        "numa_cells": [{"id": 0, "cpus": "0-1", "memory": "64MiB"}, {"id": 1, "cpus": "2,3", "memory": "64MiB"}],
        "cputune": {"vcpupin": [{"vcpu": 0, "cpuset": "0"}, {"vcpu": 1, "cpuset": "1"}], "emulatorpin": "0,1"},
        "numatune": {"nodeset": "0", "memnodes": [{"cellid": 0, "nodeset": "0"}, {"cellid": 1, "nodeset": "0"}]},
        "clock": {"offset": "utc", "timers": [{"name": "rtc", "tickpolicy": "catchup"}]},
        "on_crash": "destroy",
        "disks": [
            {"target": "vda", "path": disk_file(name), "format": "qcow2", "cache": "none", "discard": "unmap"},
            {"target": "sda", "device": "cdrom", "bus": "sata"},
        ],
        "interfaces": [
            {"network": network},
            {"bridge": bridge, "openvswitch": True, "vlan": 10, "mac": "52:54:00:C6:0A:01"},
            {"bridge": bridge, "openvswitch": True, "trunk": [20, 30], "native_vlan": 20},
        ],
        "graphics": [{"type": "vnc", "password": SECRET}],
        "guest_agent": True,
        "rng": {},
        "memballoon": {"model": "virtio", "period": 10},
        "autostart": False,
    }


def run_ok(run_module, args, check=False, diff=False):
    result = run_module(MODULE, args, check=check, diff=diff)
    assert not result.failed, result.result.get("msg", result.stdout)
    return result


# -- definition and convergence -------------------------------------------------------------


def test_define_is_idempotent_and_check_mode_changes_nothing(libvirtd, workdir, network, ovs_bridge, run_module):
    name = PREFIX + "rich"
    spec = {"uri": libvirtd, **rich_spec(name, network, ovs_bridge)}

    predicted = run_ok(run_module, spec, check=True, diff=True)
    assert predicted["changed"] is True and predicted["actions"] == ["define"]
    assert domstate(name) == "absent", "check mode must not define the domain"

    first = run_ok(run_module, spec, diff=True)
    assert first["changed"] is True and first["actions"] == predicted["actions"]
    xml = dumpxml(name)
    generated_mac = xml.find("devices/interface/mac").get("address")
    assert xml.findtext("memory") == str(128 * 1024)
    assert [t.get("id") for t in xml.iterfind("devices/interface/vlan/tag")] == ["10", "20", "30"]
    assert xml.find("devices/interface[2]/virtualport").get("type") == "openvswitch"
    assert xml.find("metadata/{https://kvmops.example/xmlns/domain/1}managed") is not None

    second = run_ok(run_module, spec, diff=True)
    assert second["changed"] is False, second.result.get("changes")
    assert dumpxml(name).find("devices/interface/mac").get("address") == generated_mac, "MAC was regenerated"
    again_check = run_ok(run_module, spec, check=True, diff=True)
    assert again_check["changed"] is False, again_check.result.get("changes")
    assert SECRET not in first.stdout + second.stdout + again_check.stdout


def test_memory_and_disk_changes_are_applied(libvirtd, workdir, network, ovs_bridge, run_module):
    name = PREFIX + "grow"
    spec = {"uri": libvirtd, **rich_spec(name, network, ovs_bridge)}
    run_ok(run_module, spec)
    spec["memory"] = "256MiB"
    spec["numa_cells"] = [{"id": 0, "cpus": "0-1", "memory": "128MiB"}, {"id": 1, "cpus": "2-3", "memory": "128MiB"}]
    spec["disks"] = spec["disks"] + [{"target": "vdb", "path": disk_file(name + "-b"), "format": "qcow2"}]
    spec["disks"][0]["cache"] = "writeback"

    predicted = run_ok(run_module, spec, check=True, diff=True)
    applied = run_ok(run_module, spec, diff=True)
    assert predicted["changed"] is applied["changed"] is True
    assert predicted["changes"] == applied["changes"]
    xml = dumpxml(name)
    assert xml.findtext("memory") == xml.findtext("currentMemory") == str(256 * 1024)
    assert [d.get("dev") for d in xml.iterfind("devices/disk/target")] == ["vda", "sda", "vdb"]
    assert xml.find("devices/disk/driver").get("cache") == "writeback"
    (definition_diff,) = [d for d in applied["diff"] if "before_header" in d]
    assert "writeback" in definition_diff["after"] and "writeback" not in definition_diff["before"]
    assert SECRET not in applied.stdout, "the VNC password leaked into the output or diff"
    assert run_ok(run_module, spec)["changed"] is False

    spec["disks"] = spec["disks"][:1]
    removed = run_ok(run_module, spec)
    assert removed["changed"] is True
    assert [d.get("dev") for d in dumpxml(name).iterfind("devices/disk/target")] == ["vda"]


def test_unmanaged_settings_are_kept(libvirtd, workdir, run_module):
    name = PREFIX + "keep"
    spec = {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64}
    run_ok(run_module, spec)
    # An operator adds something the spec does not manage.
    xml = dumpxml(name)
    etree.SubElement(xml.find("devices"), "watchdog", model="i6300esb", action="reset")
    path = WORKDIR / "keep.xml"
    path.write_bytes(etree.tostring(xml))
    virsh("define", str(path))
    assert run_ok(run_module, spec)["changed"] is False
    spec["vcpus"] = 2
    assert run_ok(run_module, spec)["changed"] is True
    kept = dumpxml(name)
    assert kept.findtext("vcpu") == "2" and kept.find("devices/watchdog") is not None


# -- run states --------------------------------------------------------------------------------


def test_states_running_paused_destroyed(libvirtd, workdir, run_module):
    name = PREFIX + "states"
    base = {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64}
    for state, virsh_state in (("running", "running"), ("paused", "paused"), ("destroyed", "shut off")):
        predicted = run_ok(run_module, {**base, "state": state}, check=True)
        result = run_ok(run_module, {**base, "state": state})
        assert result["actions"] == predicted["actions"], state
        assert result["state"] == predicted["state"]
        assert domstate(name) == virsh_state, f"returned before libvirt reported {state}"
        assert run_ok(run_module, {**base, "state": state})["changed"] is False


def test_pending_changes_and_restart_on_change(libvirtd, workdir, run_module):
    name = PREFIX + "pending"
    base = {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64, "state": "running"}
    run_ok(run_module, base)
    grown = {**base, "memory": 96}
    result = run_ok(run_module, grown)
    assert result["changed"] is True and result["restart_required"] is True
    assert any("memory" in change for change in result["pending_changes"])
    assert dumpxml(name, inactive=False).findtext("memory") == str(64 * 1024), "the live domain changed"
    # Still pending on the next run (nothing changes, the restart is still owed).
    again = run_ok(run_module, grown)
    assert again["changed"] is False and again["restart_required"] is True
    # This guest has no OS and ignores ACPI: force after a short timeout.
    restarted = run_ok(run_module, {**grown, "restart_on_change": True, "shutdown_timeout": 3, "force": True})
    assert restarted["changed"] is True and "start" in restarted["actions"]
    assert restarted["restart_required"] is False
    assert dumpxml(name, inactive=False).findtext("memory") == str(96 * 1024)
    assert domstate(name) == "running"


def test_shutdown_timeout_fails_clearly_then_force(libvirtd, workdir, run_module):
    name = PREFIX + "deaf"
    base = {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64}
    run_ok(run_module, {**base, "state": "running"})
    failed = run_module(MODULE, {**base, "state": "shutdown", "shutdown_timeout": 3})
    assert failed.failed
    assert name in failed["msg"] and "did not shut down within 3 s" in failed["msg"]
    assert domstate(name) == "running"
    forced = run_ok(run_module, {**base, "state": "shutdown", "shutdown_timeout": 3, "force": True})
    assert forced["state"] == "shutoff" and domstate(name) == "shut off"


def wait_for_login_prompt(log_path, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.exists() and "login:" in log_path.read_text(errors="replace"):
            return
        time.sleep(1)
    pytest.fail(f"the ACPI test guest did not boot within {timeout} s (see {log_path})", pytrace=False)


def test_graceful_shutdown_waits_for_the_guest(libvirtd, workdir, lab_image, run_module):
    name = PREFIX + "acpi"
    overlay = WORKDIR / f"{name}.qcow2"
    log_path = WORKDIR / f"{name}.console.log"
    qemu_img("create", "-f", "qcow2", "-F", "qcow2", "-b", str(lab_image / "base.qcow2"), str(overlay))
    spec = {
        "uri": libvirtd,
        "name": name,
        "type": "qemu",
        "memory": "384MiB",
        "kernel": str(lab_image / "vmlinuz"),
        "initrd": str(lab_image / "initrd.img"),
        "cmdline": "root=/dev/vda rw console=ttyS0 net.ifnames=0",
        "disks": [{"target": "vda", "path": str(overlay), "format": "qcow2", "cache": "unsafe"}],
        "serials": [{"type": "file", "path": str(log_path)}],
        "state": "running",
    }
    run_ok(run_module, spec)
    wait_for_login_prompt(log_path)
    started = time.monotonic()
    result = run_ok(run_module, {**spec, "state": "shutdown", "shutdown_timeout": 180})
    took = time.monotonic() - started
    assert result["actions"] == ["shutdown"], "the guest should honour ACPI without force"
    # The module returned only once libvirt reported the domain off.
    assert domstate(name) == "shut off"
    assert result["state"] == "shutoff"
    assert "reboot: Power down" in log_path.read_text(errors="replace") or took > 1


# -- absent --------------------------------------------------------------------------------------


def test_absent_removes_uefi_nvram_and_tpm_state(libvirtd, workdir, run_module):
    name = PREFIX + "uefi"
    spec = {
        "uri": libvirtd,
        "name": name,
        "type": "qemu",
        "machine": "q35",
        "memory": 128,
        "firmware": {"type": "efi", "secure_boot": True},
        "tpm": {"model": "tpm-crb"},
        "state": "running",
    }
    run_ok(run_module, spec)
    assert run_ok(run_module, spec)["changed"] is False
    # Firmware autoselection fills in the nvram path when the domain starts.
    xml = dumpxml(name, inactive=False)
    nvram = Path(xml.findtext("os/nvram"))
    uuid = xml.findtext("uuid")
    tpm_state = Path(f"/var/lib/libvirt/swtpm/{uuid}")
    assert nvram.exists() and tpm_state.exists()
    removed = run_ok(run_module, {"uri": libvirtd, "name": name, "state": "absent"})
    assert removed["actions"] == ["destroy", "undefine"]
    assert domstate(name) == "absent"
    assert not nvram.exists() and not tpm_state.exists()
    assert run_ok(run_module, {"uri": libvirtd, "name": name, "state": "absent"})["changed"] is False


def test_absent_copes_with_snapshots_and_deletes_volumes_only_when_asked(libvirtd, workdir, run_module):
    pool = "kvmops-it-dom-pool"
    pool_dir = WORKDIR / "pool"
    pool_dir.mkdir(exist_ok=True)
    virsh("pool-destroy", pool, check=False)
    virsh("pool-undefine", pool, check=False)
    virsh("pool-define-as", pool, "dir", "--target", str(pool_dir))
    virsh("pool-start", pool)
    try:
        for volume in ("keep.qcow2", "drop.qcow2"):
            virsh("vol-create-as", pool, volume, "16M", "--format", "qcow2")
        for volume, delete in (("keep.qcow2", False), ("drop.qcow2", True)):
            name = PREFIX + volume.partition(".")[0]
            disks = [{"target": "vda", "pool": pool, "volume": volume, "format": "qcow2"}]
            run_ok(run_module, {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64, "disks": disks})
            virsh("snapshot-create-as", name, "before-absent")
            result = run_ok(run_module, {"uri": libvirtd, "name": name, "state": "absent", "delete_volumes": delete})
            assert domstate(name) == "absent"
            assert result["deleted_volumes"] == ([f"{pool}/{volume}"] if delete else [])
        volumes = virsh("vol-list", pool).stdout
        assert "keep.qcow2" in volumes and "drop.qcow2" not in volumes
    finally:
        virsh("pool-destroy", pool, check=False)
        virsh("pool-undefine", pool, check=False)


# -- many domains in one call ------------------------------------------------------------------------


def test_batch_converges_each_and_reports_each(libvirtd, workdir, run_module):
    names = [f"{PREFIX}batch-{i}" for i in range(3)]
    args = {
        "uri": libvirtd,
        "type": "qemu",
        "memory": 64,
        "domains": [{"name": names[0]}, {"name": names[1], "vcpus": 2}, {"name": names[2], "memory": 96}],
    }
    first = run_ok(run_module, args)
    assert first["changed"] is True and [d["name"] for d in first["domains"]] == names
    assert all(d["actions"] == ["define"] for d in first["domains"])
    assert dumpxml(names[1]).findtext("vcpu") == "2" and dumpxml(names[2]).findtext("memory") == str(96 * 1024)
    assert run_ok(run_module, args)["changed"] is False
    assert run_ok(run_module, args, check=True)["changed"] is False

    args["domains"][0]["vcpus"] = 3
    args["domains"][1]["disks"] = [{"target": "vda", "pool": "no-such-pool", "volume": "x"}]
    mixed = run_module(MODULE, args)
    assert mixed.failed and "1 of 3 domains failed" in mixed["msg"] and names[1] in mixed["msg"]
    by_name = {d["name"]: d for d in mixed["domains"]}
    assert by_name[names[0]]["changed"] is True and by_name[names[1]]["failed"] is True
    assert dumpxml(names[0]).findtext("vcpu") == "3"


# -- bad input fails clearly and changes nothing -------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "bad name!"}, "not a valid domain name"),
        ({"interfaces": [{"network": NETWORK, "mac": "01:00:5e:00:00:01"}]}, "multicast"),
        ({"interfaces": [{"network": NETWORK, "mac": "52:54:00:zz:00:01"}]}, "is not valid"),
        ({"interfaces": [{"bridge": "kvmops-no-such-br"}]}, "bridge 'kvmops-no-such-br' does not exist"),
        ({"disks": [{"target": "vdb", "pool": "kvmops-no-pool", "volume": "v"}]}, "libvirt pool 'kvmops-no-pool'"),
        (
            {"disks": [{"target": "vdb", "path": "/var/lib/kvmops-it/dom/missing.qcow2"}]},
            "missing.qcow2 does not exist",
        ),
        ({"cputune": {"emulatorpin": "0", "shares": -5}}, "failed to validate against schema"),
    ],
    ids=["name", "multicast-mac", "bad-mac", "unknown-bridge", "missing-pool", "missing-file", "libvirt-rejects"],
)
def test_bad_input_fails_clearly_and_leaves_definition_unchanged(
    libvirtd, workdir, network, run_module, change, expected
):
    name = PREFIX + "stable"
    spec = {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64}
    run_ok(run_module, spec)
    before = virsh("dumpxml", "--inactive", name).stdout
    result = run_module(MODULE, {**spec, **change})
    assert result.failed, f"{change} was accepted"
    assert expected in result["msg"], result["msg"]
    assert (change.get("name") or name) in result["msg"], "the message must name the domain"
    assert virsh("dumpxml", "--inactive", name).stdout == before


def test_xml_libvirt_rejects_is_reported_with_libvirts_reason(libvirtd, workdir, run_module):
    name = PREFIX + "rawbad"
    xml = (
        f"<domain type='qemu'><name>{name}</name><memory>65536</memory><vcpu>1</vcpu>"
        "<os><type>hvm</type></os><devices><disk type='file' device='floppy-drive'/></devices></domain>"
    )
    result = run_module(MODULE, {"uri": libvirtd, "xml": xml})
    assert result.failed and name in result["msg"] and "failed to validate against schema" in result["msg"]
    assert "\n" not in result["msg"], "the message should be one line"
    assert domstate(name) == "absent"


def test_check_mode_predicts_update_and_start_of_a_stopped_domain(libvirtd, workdir, run_module):
    name = PREFIX + "predict"
    base = {"uri": libvirtd, "name": name, "type": "qemu", "memory": 64}
    run_ok(run_module, base)
    wanted = {**base, "memory": 80, "state": "running", "restart_on_change": True}
    predicted = run_ok(run_module, wanted, check=True)
    done = run_ok(run_module, wanted)
    assert predicted["actions"] == done["actions"] == ["update", "start"]
    assert predicted["restart_required"] is done["restart_required"] is False
    assert run_ok(run_module, wanted)["changed"] is False
    run_ok(run_module, {**base, "state": "destroyed"})


def test_batch_shutdown_waits_for_every_guest_and_reports_each(libvirtd, workdir, run_module):
    # SeaBIOS guests without a disk ignore the ACPI button: with force they are
    # powered off after the timeout, the one without force fails, each on its own.
    names = [f"{PREFIX}off-{i}" for i in range(3)]
    base = {"uri": libvirtd, "type": "qemu", "memory": 64}
    run_ok(run_module, {**base, "domains": [{"name": n, "state": "running"} for n in names]})
    started = time.monotonic()
    result = run_module(
        MODULE,
        {
            **base,
            "shutdown_timeout": 5,
            "domains": [
                {"name": names[0], "state": "shutdown", "force": True},
                {"name": names[1], "state": "shutdown", "force": True},
                {"name": names[2], "state": "shutdown"},
            ],
        },
    )
    took = time.monotonic() - started
    assert result.failed and "1 of 3 domains failed" in result["msg"] and names[2] in result["msg"]
    by_name = {d["name"]: d for d in result["domains"]}
    for name in names[:2]:
        assert by_name[name]["actions"] == ["shutdown", "destroy after 5 s shutdown timeout"]
        assert by_name[name]["state"] == "shutoff" and domstate(name) == "shut off"
    assert "did not shut down within 5 s" in by_name[names[2]]["msg"]
    assert domstate(names[2]) == "running"
    # One common wait (about 5 s), not three in a row (15 s); printed, not asserted.
    print(f"batch shutdown of 3 deaf guests, timeout 5 s each: {took:.1f} s (whole ansible-playbook run)")
    run_ok(run_module, {**base, "domains": [{"name": n, "state": "destroyed"} for n in names]})


def test_batch_inherits_nested_top_level_options(libvirtd, workdir, run_module):
    names = [f"{PREFIX}nested-{i}" for i in range(2)]
    args = {
        "uri": libvirtd,
        "type": "qemu",
        "memory": 64,
        "cpu": {"mode": "custom", "model": "qemu64"},
        "domains": [{"name": names[0]}, {"name": names[1], "cpu": {"mode": "custom", "model": "kvm64"}}],
    }
    result = run_ok(run_module, args)
    assert [d["actions"] for d in result["domains"]] == [["define"], ["define"]]
    assert dumpxml(names[0]).findtext("cpu/model") == "qemu64"
    assert dumpxml(names[1]).findtext("cpu/model") == "kvm64"
    assert run_ok(run_module, args)["changed"] is False
