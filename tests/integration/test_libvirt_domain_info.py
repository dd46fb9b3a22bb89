# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_domain_info through Ansible against the test bed's real libvirtd.

The module fixture defines three TCG domains named ``kvmops-it-info-*`` with
virsh: one persistent and shut off (managed, autostart, with a disk and an OVS
VLAN NIC), one persistent and running (no disk, no boot device: it sits in the
BIOS), one transient and running. Expected values come from virsh, not from the
module's own parsing code. Teardown destroys and undefines them; the setup also
removes leftovers of an interrupted run.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap

import pytest

MODULE = "kvmops.kvm.libvirt_domain_info"
PREFIX = "kvmops-it-info-"
OFF = f"{PREFIX}off"
RUN = f"{PREFIX}run"
TRANSIENT = f"{PREFIX}transient"
MISSING = f"{PREFIX}nosuch"

OFF_XML = textwrap.dedent(
    f"""\
    <domain type='qemu'>
      <name>{OFF}</name>
      <title>integration: shut off</title>
      <metadata>
        <kvmops:managed xmlns:kvmops="https://kvmops.example/xmlns/domain/1" version="1"/>
      </metadata>
      <memory unit='MiB'>64</memory>
      <vcpu placement='static' current='1'>2</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='qcow2' cache='none'/>
          <source file='/var/lib/libvirt/images/{OFF}.qcow2'/>
          <target dev='vda' bus='virtio'/>
        </disk>
        <interface type='bridge'>
          <mac address='52:54:00:3a:59:01'/>
          <source bridge='kvmops-it-info-br'/>
          <vlan trunk='yes'><tag id='10' nativeMode='untagged'/><tag id='20'/></vlan>
          <virtualport type='openvswitch'/>
          <model type='virtio'/>
        </interface>
        <memballoon model='none'/>
      </devices>
    </domain>
    """
)


def small_running_domain(name):
    """64 MiB, no disk, no NIC, no boot device: runs under TCG and touches nothing outside."""
    return textwrap.dedent(
        f"""\
        <domain type='qemu'>
          <name>{name}</name>
          <memory unit='MiB'>64</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os>
          <features><tcg><tb-cache unit='MiB'>32</tb-cache></tcg></features>
          <devices><memballoon model='none'/></devices>
        </domain>
        """
    )


def virsh(uri, *args, check=True):
    proc = subprocess.run(
        [shutil.which("virsh"), "--connect", uri, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"virsh {' '.join(args)} failed: {proc.stderr.strip()}", pytrace=False)
    return proc.stdout.strip()


def remove_test_domains(uri):
    """Destroy and undefine every ``kvmops-it-info-*`` domain, running or not."""
    names = virsh(uri, "list", "--all", "--name").split()
    for name in names:
        if name.startswith(PREFIX):
            virsh(uri, "destroy", name, check=False)
            virsh(uri, "undefine", "--nvram", name, check=False)


@pytest.fixture(scope="module")
def domains(libvirtd, tmp_path_factory):
    remove_test_domains(libvirtd)
    folder = tmp_path_factory.mktemp("domains")
    files = {OFF: OFF_XML, RUN: small_running_domain(RUN), TRANSIENT: small_running_domain(TRANSIENT)}
    for name, xml in files.items():
        (folder / f"{name}.xml").write_text(xml)
    try:
        virsh(libvirtd, "define", str(folder / f"{OFF}.xml"))
        virsh(libvirtd, "autostart", OFF)
        virsh(libvirtd, "define", str(folder / f"{RUN}.xml"))
        virsh(libvirtd, "start", RUN)
        virsh(libvirtd, "create", str(folder / f"{TRANSIENT}.xml"))
        yield libvirtd
    finally:
        remove_test_domains(libvirtd)


def by_name(result):
    return {domain["name"]: domain for domain in result["domains"]}


# virsh's words for the states whose name differs from libvirt's enum.
VIRSH_STATES = {"shut off": "shutoff", "in shutdown": "shutdown", "idle": "blocked", "no state": "unknown"}


def domstate(uri, name):
    """``virsh domstate --reason``: "shut off (unknown)" → ("shutoff", "unknown")."""
    state, reason = virsh(uri, "domstate", "--reason", name).rsplit(" (", 1)
    return VIRSH_STATES.get(state, state), reason.rstrip(")").replace(" ", "_")


@pytest.fixture(scope="module")
def listing(domains, run_module):
    result = run_module(MODULE, {"uri": domains})
    assert result.rc == 0, result.result.get("msg", result.stdout)
    return result.result


def test_listing_contains_the_test_domains_sorted(listing):
    assert listing["changed"] is False
    names = [domain["name"] for domain in listing["domains"]]
    assert names == sorted(names)
    assert {OFF, RUN, TRANSIENT} <= set(names)


def test_host_info_reads_the_same_domains_in_its_one_run(domains, listing, run_module):
    """kvm_guests reads topology and domains with one libvirt_host_info run (domains: true)."""
    result = run_module("kvmops.kvm.libvirt_host_info", {"uri": domains, "domains": True})
    assert result.rc == 0, result.result.get("msg", result.stdout)
    assert result.result["numa_cells"], "the host part of the read is missing"
    ours = {name: entry for name, entry in by_name(result.result).items() if name in (OFF, RUN, TRANSIENT)}
    assert ours == {name: by_name(listing)[name] for name in (OFF, RUN, TRANSIENT)}
    without = run_module("kvmops.kvm.libvirt_host_info", {"uri": domains})
    assert "domains" not in without.result


def test_state_and_flags_match_virsh(domains, listing):
    found = by_name(listing)
    for name in (OFF, RUN, TRANSIENT):
        domain = found[name]
        state, reason = domstate(domains, name)
        assert (domain["state"], domain["state_reason"]) == (state, reason), name
        assert domain["uuid"] == virsh(domains, "domuuid", name)
        domid = virsh(domains, "domid", name)
        assert domain["id"] == (None if domid == "-" else int(domid))
        assert domain["active"] is (state == "running")
    assert (found[OFF]["state"], found[RUN]["state"], found[TRANSIENT]["state"]) == ("shutoff", "running", "running")
    assert found[RUN]["state_reason"] == "booted"
    assert (found[OFF]["persistent"], found[RUN]["persistent"], found[TRANSIENT]["persistent"]) == (True, True, False)
    assert (found[OFF]["autostart"], found[RUN]["autostart"]) == (True, False)
    assert found[TRANSIENT]["pending_changes"] is False


def test_shut_off_domain_summary(domains, run_module):
    result = run_module(MODULE, {"uri": domains, "name": OFF})
    assert result.rc == 0, result.result.get("msg")
    (domain,) = result["domains"]
    assert domain["id"] is None
    assert domain["pending_changes"] is False
    assert domain["managed"] is True
    assert domain["title"] == "integration: shut off"
    assert domain["type"] == "qemu"
    assert domain["vcpus"] == {"current": 1, "max": 2, "placement": "static", "cpuset": None}
    assert (domain["memory_kib"], domain["current_memory_kib"]) == (65536, 65536)
    (disk,) = domain["disks"]
    assert (disk["target"], disk["type"], disk["format"], disk["cache"]) == ("vda", "file", "qcow2", "none")
    assert disk["source"] == {"path": f"/var/lib/libvirt/images/{OFF}.qcow2"}
    (nic,) = domain["interfaces"]
    assert (nic["type"], nic["source"], nic["virtualport"], nic["target"]) == (
        "bridge",
        "kvmops-it-info-br",
        "openvswitch",
        None,
    )
    assert nic["vlan"] == {"tags": [10, 20], "trunk": True, "native": {"tag": 10, "mode": "untagged"}}
    assert domain["os"]["boot"] == ["hd"]
    assert domain["os"]["machine"].startswith("pc-i440fx-")


def test_running_domain_by_name(domains, run_module):
    result = run_module(MODULE, {"uri": domains, "name": RUN, "must_exist": True})
    assert result.rc == 0, result.result.get("msg")
    (domain,) = result["domains"]
    assert domstate(domains, RUN) == ("running", "booted")
    assert (domain["state"], domain["active"], domain["id"]) == ("running", True, int(virsh(domains, "domid", RUN)))
    assert domain["managed"] is False
    assert domain["disks"] == []


def test_pending_changes_follow_the_persistent_definition(domains, run_module):
    before = run_module(MODULE, {"uri": domains, "name": RUN})
    assert before.rc == 0, before.result.get("msg")
    assert before["domains"][0]["pending_changes"] is False
    virsh(domains, "desc", RUN, "--config", "--title", "--new-desc", "changed while running")
    after = run_module(MODULE, {"uri": domains, "name": RUN})
    assert after.rc == 0, after.result.get("msg")
    (domain,) = after["domains"]
    assert domain["pending_changes"] is True
    # The summary describes what runs; the new title waits for the next boot.
    assert domain["title"] is None


def test_xml_option_returns_both_definitions(domains, run_module):
    plain = run_module(MODULE, {"uri": domains, "name": RUN})
    assert "xml" not in plain["domains"][0]
    result = run_module(MODULE, {"uri": domains, "name": RUN, "xml": True})
    assert result.rc == 0, result.result.get("msg")
    (domain,) = result["domains"]
    assert f"<name>{RUN}</name>" in domain["xml"]
    assert f"<name>{RUN}</name>" in domain["inactive_xml"]
    assert domain["xml"].startswith(f"<domain type='qemu' id='{domain['id']}'>")
    assert domain["inactive_xml"].startswith("<domain type='qemu'>")
    assert domain["inactive_xml"] == virsh(domains, "--readonly", "dumpxml", "--inactive", RUN) + "\n"


def test_managed_only(domains, run_module):
    result = run_module(MODULE, {"uri": domains, "managed_only": True})
    assert result.rc == 0, result.result.get("msg")
    names = {domain["name"] for domain in result["domains"]}
    assert OFF in names
    assert not names & {RUN, TRANSIENT}
    assert all(domain["managed"] for domain in result["domains"])


def test_unknown_name_returns_an_empty_list(domains, run_module):
    result = run_module(MODULE, {"uri": domains, "name": MISSING})
    assert result.rc == 0, result.result.get("msg")
    assert result["domains"] == []
    assert result["changed"] is False


def test_unknown_name_with_must_exist_fails_naming_it(domains, run_module):
    result = run_module(MODULE, {"uri": domains, "name": MISSING, "must_exist": True})
    assert result.failed
    assert result["msg"].startswith(f"libvirt domain '{MISSING}': ")
    assert "Domain not found" in result["msg"]


def test_must_exist_needs_a_name(domains, run_module):
    result = run_module(MODULE, {"uri": domains, "must_exist": True})
    assert result.failed
    assert "must_exist is True but all of the following are missing: name" in result["msg"]


def test_check_mode_returns_the_same(domains, run_module):
    normal = run_module(MODULE, {"uri": domains, "name": OFF})
    checked = run_module(MODULE, {"uri": domains, "name": OFF}, check=True)
    assert checked.rc == 0, checked.result.get("msg")
    assert checked["changed"] is False
    assert checked["domains"] == normal["domains"]


def test_unreachable_uri_fails_naming_it(libvirtd, run_module):
    uri = "qemu:///system?socket=/nonexistent"
    result = run_module(MODULE, {"uri": uri})
    assert result.rc != 0
    assert result.failed
    assert result["msg"].startswith(f"libvirt connection '{uri}': ")
    assert "Failed to connect socket to '/nonexistent'" in result["msg"]
    assert not result.result.get("module_stderr")


def test_uri_from_module_defaults_action_group(libvirtd, run_tasks):
    uri = "qemu:///system?socket=/nonexistent/from-module-defaults"
    block = {
        "name": "uri from the action group",
        "module_defaults": {"group/kvmops.kvm.libvirt": {"uri": uri}},
        "block": [{"name": "domain info", MODULE: {}}],
    }
    (result,) = run_tasks([block])
    assert result.failed
    assert result["msg"].startswith(f"libvirt connection '{uri}': ")


def test_destroyed_domain_reports_why(domains, run_module):
    """Last on purpose: the other tests need the domain running."""
    virsh(domains, "desc", RUN, "--config", "--title", "--new-desc", "for the next boot")
    virsh(domains, "destroy", RUN)
    result = run_module(MODULE, {"uri": domains, "name": RUN})
    assert result.rc == 0, result.result.get("msg")
    (domain,) = result["domains"]
    assert domstate(domains, RUN) == ("shutoff", "destroyed")
    assert (domain["state"], domain["state_reason"], domain["active"], domain["id"]) == (
        "shutoff",
        "destroyed",
        False,
        None,
    )
    # Shut off, the summary comes from the persistent definition.
    assert domain["title"] == "for the next boot"
    assert domain["pending_changes"] is False
