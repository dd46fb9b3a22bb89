# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvmops.kvm.libvirt_fleet inventory plugin through ansible-inventory against the test bed's libvirtd.

The module fixture defines three TCG domains named ``kvmops-it-fleet-*``
with virsh: one running and managed (kvmops metadata, a title), one shut
off, one paused. The fleet has four hypervisors: the test bed's libvirtd
(a host of an earlier inventory source, with its URI in ``libvirt_uri``), a
host at 198.51.100.254 reached through the URI template (nothing answers
there: the lab bridge has no such VM, and without the bridge an unreachable
route stays on the machine), a UNIX socket that does not exist, and a
loopback TCP port of this test that accepts connections but never answers
(a hung libvirtd: only the plugin's timeout ends the wait). Expected
values come from virsh and from the kvmops.kvm.libvirt_domain_info module,
not from the plugin's code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from ansible_collections.kvmops.kvm.tests.helpers.tools import ansible_tool
from ansible_collections.kvmops.kvm.tests.integration.test_libvirt_domain_info import (
    domstate,
    small_running_domain,
    virsh,
)

REPO = Path(__file__).resolve().parents[2]
PREFIX = "kvmops-it-fleet-"
RUN = f"{PREFIX}run"
OFF = f"{PREFIX}off"
PAUSED = f"{PREFIX}paused"
OURS = (RUN, OFF, PAUSED)
TITLE = "fleet it web"
DOWN_HOST = "198.51.100.254"
DOWN_SSH_URI = f"qemu+ssh://root@{DOWN_HOST}/system?no_tty=1"
NO_SOCKET_URI = "qemu+unix:///system?socket=/nonexistent/kvmops-it-fleet/libvirt-sock"
TIMEOUT = 5
INVENTORY_TIMEOUT = 120


def managed_running_domain(name):
    metadata = (
        f"<title>{TITLE}</title><metadata>"
        '<kvmops:managed xmlns:kvmops="https://kvmops.example/xmlns/domain/1" by="kvmops.kvm.libvirt_domain"/>'
        "</metadata>"
    )
    return small_running_domain(name).replace(f"<name>{name}</name>", f"<name>{name}</name>{metadata}", 1)


def remove_test_domains(uri):
    """Our three names only, whatever state a previous, interrupted run left them in (or none)."""
    for name in OURS:
        virsh(uri, "destroy", name, check=False)
        virsh(uri, "undefine", "--nvram", name, check=False)


@pytest.fixture(scope="module")
def silent_uri():
    """qemu+tcp to a loopback port whose connections the kernel accepts and nobody ever answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"qemu+tcp://127.0.0.1:{server.getsockname()[1]}/system"


@pytest.fixture(scope="module")
def fleet(libvirtd, silent_uri, tmp_path_factory):
    """The two inventory sources (hypervisor hosts, then the plugin's file), and our domains defined."""
    folder = tmp_path_factory.mktemp("fleet")
    hosts = folder / "10-hypervisors.yml"
    hosts.write_text(
        textwrap.dedent(
            f"""\
            all:
              children:
                fleet_it_hypervisors:
                  hosts:
                    testbed:
                      libvirt_uri: "{libvirtd}"
                    hv-down:
                      ansible_host: {DOWN_HOST}
            """
        )
    )
    source = folder / "20-guests.libvirt_fleet.yml"
    source.write_text(
        textwrap.dedent(
            f"""\
            plugin: kvmops.kvm.libvirt_fleet
            hypervisors:
              - uri: "{NO_SOCKET_URI}"
                name: nosocket
              - uri: "{silent_uri}"
                name: hung
            hypervisor_group: fleet_it_hypervisors
            timeout: {TIMEOUT}
            keyed_groups:
              - key: libvirt_fleet_domain.title
                prefix: title
            """
        )
    )
    xml = {RUN: managed_running_domain(RUN), OFF: small_running_domain(OFF), PAUSED: small_running_domain(PAUSED)}
    remove_test_domains(libvirtd)
    try:
        for name in OURS:
            (folder / f"{name}.xml").write_text(xml[name])
            virsh(libvirtd, "define", str(folder / f"{name}.xml"))
        virsh(libvirtd, "start", RUN)
        virsh(libvirtd, "start", PAUSED)
        virsh(libvirtd, "suspend", PAUSED)
        yield {"uri": libvirtd, "sources": [hosts, source], "folder": folder, "silent_uri": silent_uri}
    finally:
        remove_test_domains(libvirtd)


def ansible_inventory(sources, *args, extra_env=None):
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".cache" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    env.update(extra_env or {})
    cmd = [ansible_tool("ansible-inventory")]
    for source in sources:
        cmd += ["-i", str(source)]
    started = time.monotonic()
    proc = subprocess.run(
        cmd + list(args), capture_output=True, text=True, env=env, timeout=INVENTORY_TIMEOUT, check=False
    )
    return proc, time.monotonic() - started


def plain(value):
    """ansible-core 2.19 prints untrusted strings (all of this plugin's) as {"__ansible_unsafe": text}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def warnings_of(stderr):
    # Display may wrap a long warning; compare with whitespace collapsed.
    return " ".join(stderr.split())


@pytest.fixture(scope="module")
def listing(fleet):
    proc, _elapsed = ansible_inventory(fleet["sources"], "--list")
    assert proc.returncode == 0, proc.stderr
    return {"data": json.loads(proc.stdout), "stderr": proc.stderr}


def group_hosts(data, group):
    return set(data.get(group, {}).get("hosts", []))


def test_down_hypervisors_are_warnings_naming_uri_and_cause(fleet, listing):
    stderr = warnings_of(listing["stderr"])
    assert (
        f"libvirt_fleet: hypervisor nosocket ({NO_SOCKET_URI}) is left out: Failed to connect socket to "
        "'/nonexistent/kvmops-it-fleet/libvirt-sock': No such file or directory"
    ) in stderr
    # The cause over ssh depends on whether the lab bridge is up; the hypervisor and URI are always named.
    assert f"libvirt_fleet: hypervisor hv-down ({DOWN_SSH_URI}) is left out: " in stderr
    assert f"libvirt_fleet: hypervisor hung ({fleet['silent_uri']}) is left out: no answer within {TIMEOUT} s" in stderr
    assert "testbed" not in stderr


def test_guests_of_the_answering_hypervisor_are_grouped(fleet, listing):
    data = listing["data"]
    assert set(OURS) <= group_hosts(data, "libvirt_fleet")
    assert set(OURS) <= group_hosts(data, "libvirt_fleet_hypervisor_testbed")
    assert "libvirt_fleet_hypervisor_hv_down" not in data
    assert "libvirt_fleet_hypervisor_nosocket" not in data
    assert "libvirt_fleet_hypervisor_hung" not in data
    expected_states = {name: domstate(fleet["uri"], name)[0] for name in OURS}
    assert expected_states == {RUN: "running", OFF: "shutoff", PAUSED: "paused"}
    for name, state in expected_states.items():
        assert name in group_hosts(data, f"libvirt_fleet_state_{state}"), name
    assert RUN in group_hosts(data, "libvirt_fleet_managed")
    assert {OFF, PAUSED} <= group_hosts(data, "libvirt_fleet_unmanaged")
    assert not {OFF, PAUSED} & group_hosts(data, "libvirt_fleet_managed")
    assert group_hosts(data, "title_fleet_it_web") == {RUN}


def test_host_vars_are_libvirt_domain_info_entries(fleet, listing, run_module):
    hostvars = listing["data"]["_meta"]["hostvars"]
    result = run_module("kvmops.kvm.libvirt_domain_info", {"uri": fleet["uri"]})
    assert result.rc == 0, result.result.get("msg")
    module_entries = {entry["name"]: entry for entry in result["domains"] if entry["name"] in OURS}
    assert sorted(module_entries) == sorted(OURS)
    for name in OURS:
        host = plain(hostvars[name])
        assert host["libvirt_fleet_hypervisor"] == "testbed"
        assert host["libvirt_fleet_uri"] == fleet["uri"]
        assert host["libvirt_fleet_domain"] == module_entries[name], name
        assert host["libvirt_fleet_domain"]["uuid"] == virsh(fleet["uri"], "domuuid", name)
    assert plain(hostvars[RUN])["libvirt_fleet_domain"]["managed"] is True
    assert plain(hostvars[RUN])["libvirt_fleet_domain"]["title"] == TITLE


def test_graph_is_quick_and_bounded_by_the_timeout(fleet, capsys):
    proc, elapsed = ansible_inventory(fleet["sources"], "--graph")
    assert proc.returncode == 0, proc.stderr
    with capsys.disabled():
        print(f"\nansible-inventory --graph (4 hypervisors: 2 down, 1 hung, timeout {TIMEOUT} s) took {elapsed:.2f} s")
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert "|--@libvirt_fleet_hypervisor_testbed:" in lines
    assert f"|  |--{RUN}" in lines
    # The hung hypervisor costs its timeout once, beside the others, and does not hold up the exit.
    assert TIMEOUT <= elapsed < TIMEOUT + 20


def test_every_hypervisor_down_fails_the_source(fleet):
    source = fleet["folder"] / "all-down.libvirt_fleet.yml"
    source.write_text(f'plugin: kvmops.kvm.libvirt_fleet\nhypervisors:\n  - "{NO_SOCKET_URI}"\ntimeout: {TIMEOUT}\n')
    proc, _elapsed = ansible_inventory([source], "--list", extra_env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert proc.returncode != 0
    assert (
        f"libvirt_fleet: no hypervisor could be read, so there is no inventory to give: localhost ({NO_SOCKET_URI})"
        in warnings_of(proc.stderr)
    )
