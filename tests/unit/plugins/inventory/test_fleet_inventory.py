# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure parts of kvmops.kvm.libvirt_fleet (``module_utils/_fleet_inventory.py``), without libvirt.

Hypervisor lists, URI templates and host variables, reading side by side
with fake reader functions that answer, fail, hang or take their time, and
outcomes turned into hosts, variables, groups and warnings.
test_libvirt_fleet.py runs the plugin itself.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._fleet_inventory import (
    FleetConfigError,
    build_inventory,
    check_group_prefix,
    check_unique,
    collect,
    failure_text,
    group_name,
    hypervisor_from_host,
    hypervisors_from_option,
    name_from_uri,
    render_uri,
    with_keyfile,
)

HV1 = "qemu+ssh://root@hv1/system"
HV2 = "qemu+ssh://root@hv2/system"
HV3 = "qemu+ssh://root@203.0.113.9/system"


def domain(name, state="running", managed=False, title=None):
    """The fields of a libvirt_domain_info entry the plugin reads, plus one it only passes on."""
    return {"name": name, "state": state, "active": state in ("running", "paused"), "managed": managed, "title": title}


# --- hypervisor lists and URIs -------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("qemu+ssh://root@hv1/system", "hv1"),
        ("qemu+ssh://root@HV2.example.net:2222/system?no_tty=1", "hv2.example.net"),
        ("qemu+tcp://[2001:db8::1]:16509/system", "2001:db8::1"),
        ("qemu:///system", "localhost"),
        ("qemu+unix:///system?socket=/run/libvirt/libvirt-sock", "localhost"),
    ],
)
def test_name_from_uri(uri, name):
    assert name_from_uri(uri) == name


def test_hypervisors_option_takes_uris_and_named_items_in_order():
    items = [HV1, {"uri": " qemu:///system ", "name": "local"}, {"uri": HV2}]
    assert hypervisors_from_option(items) == [
        {"name": "hv1", "uri": HV1},
        {"name": "local", "uri": "qemu:///system"},
        {"name": "hv2", "uri": HV2},
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (42, r"hypervisors\[0\] must be a URI or a dict"),
        ({"uri": HV1, "nmae": "x"}, r"hypervisors\[0\]: unknown keys \['nmae'\]"),
        ({"name": "x"}, r"hypervisors\[0\] has no uri"),
        ("  ", r"hypervisors\[0\] has no uri"),
    ],
)
def test_hypervisors_option_refuses_bad_items(item, message):
    with pytest.raises(FleetConfigError, match=message):
        hypervisors_from_option([item])


def test_host_uri_from_default_template():
    hv = hypervisor_from_host("hv-a01", {"ansible_host": "203.0.113.7"})
    assert hv == {"name": "hv-a01", "uri": "qemu+ssh://root@203.0.113.7/system?no_tty=1"}


def test_host_uri_fields_come_from_connection_variables():
    hostvars = {"ansible_host": "2001:db8::7", "ansible_user": "ops", "ansible_port": 2222}
    hv = hypervisor_from_host("hv-a02", hostvars, template="qemu+ssh://{user}@{host}:{port}/system#{name}")
    assert hv["uri"] == "qemu+ssh://ops@[2001:db8::7]:2222/system#hv-a02"


def test_host_uri_without_connection_variables_uses_name_user_option_and_port_22():
    hv = hypervisor_from_host("hv9.example.net", {}, template="qemu+ssh://{user}@{host}:{port}/system", user="admin")
    assert hv["uri"] == "qemu+ssh://admin@hv9.example.net:22/system"


def test_host_uri_variable_wins_over_the_template():
    hostvars = {"ansible_host": "203.0.113.7", "libvirt_uri": "qemu+tls://hv1.example.net/system"}
    assert hypervisor_from_host("hv1", hostvars, uri_var="libvirt_uri")["uri"] == "qemu+tls://hv1.example.net/system"
    # Without uri_var the variable means nothing.
    assert hypervisor_from_host("hv1", hostvars)["uri"] == "qemu+ssh://root@203.0.113.7/system?no_tty=1"


def test_jinja_template_is_refused_with_the_fields_it_takes():
    with pytest.raises(FleetConfigError, match=r"Jinja2 braces; .*\{host\}, \{name\}, \{user\}, \{port\}"):
        render_uri("qemu+ssh://{{ user }}@{host}/system", {"host": "hv1", "user": "root"})


def test_unknown_template_field_is_refused():
    with pytest.raises(FleetConfigError, match=r"unknown fields \['address'\]"):
        hypervisor_from_host("hv1", {}, template="qemu+ssh://{address}/system")


def test_templated_host_variable_is_refused_naming_host_and_variable():
    with pytest.raises(FleetConfigError, match=r"hypervisor host 'hv1': ansible_host is a template"):
        hypervisor_from_host("hv1", {"ansible_host": "{{ hv1_address }}"})


def test_check_unique_refuses_shared_names_and_uris():
    with pytest.raises(FleetConfigError, match=r"two hypervisors are named 'localhost' \(qemu:///system and qemu"):
        check_unique([{"name": "localhost", "uri": "qemu:///system"}, {"name": "localhost", "uri": "qemu:///session"}])
    with pytest.raises(FleetConfigError, match=re.escape(f"URI {HV1} is listed twice (hv1 and hv1b)")):
        check_unique([{"name": "hv1", "uri": HV1}, {"name": "hv1b", "uri": HV1}])


@pytest.mark.parametrize("prefix", ["", "9fleet", "fleet-a", None])
def test_group_prefix_must_be_a_group_name(prefix):
    with pytest.raises(FleetConfigError, match="group_prefix"):
        check_group_prefix(prefix)


def test_group_name_replaces_unsafe_characters():
    assert group_name("fleet", "hypervisor", "hv-a01.example.net") == "fleet_hypervisor_hv_a01_example_net"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("qemu+ssh://root@hv1/system?no_tty=1", "qemu+ssh://root@hv1/system?no_tty=1&keyfile=/run/key%20dir/id"),
        (
            "qemu+libssh2://root@[2001:db8::1]/system",
            "qemu+libssh2://root@[2001:db8::1]/system?keyfile=/run/key%20dir/id",
        ),
        ("qemu+ssh://root@hv1/system?keyfile=/root/.ssh/other", "qemu+ssh://root@hv1/system?keyfile=/root/.ssh/other"),
        ("qemu+tls://hv1/system", "qemu+tls://hv1/system"),
        ("qemu:///system", "qemu:///system"),
    ],
)
def test_with_keyfile_only_adds_a_key_to_ssh_uris_without_one(uri, expected):
    assert with_keyfile(uri, "/run/key dir/id") == expected
    assert with_keyfile(uri, None) == uri


# --- failures and reading in parallel ------------------------------------------------


def test_failure_text_does_not_repeat_the_uri():
    assert failure_text(KvmopsError("libvirt connection", HV1, "Connection refused"), HV1) == "Connection refused"
    assert failure_text(KvmopsError("libvirt domain", "web", "bad XML"), HV1) == "libvirt domain 'web': bad XML"
    assert failure_text(ValueError("no"), HV1) == "ValueError: no"
    assert failure_text(TimeoutError(), HV1) == "TimeoutError"


def test_collect_keeps_order_and_turns_a_failure_into_that_hypervisors_error():
    def fetch(uri):
        if uri == HV2:
            raise KvmopsError("libvirt connection", uri, "Cannot recv data: ssh: connect to host hv2: No route to host")
        return {"domains": [domain(f"vm-{name_from_uri(uri)}")]}

    hypervisors = [{"name": "hv1", "uri": HV1}, {"name": "hv2", "uri": HV2}, {"name": "hv3", "uri": HV3}]
    assert collect(hypervisors, fetch, workers=2, timeout=5) == [
        {"name": "hv1", "uri": HV1, "domains": [domain("vm-hv1")]},
        {"name": "hv2", "uri": HV2, "error": "Cannot recv data: ssh: connect to host hv2: No route to host"},
        {"name": "hv3", "uri": HV3, "domains": [domain("vm-203.0.113.9")]},
    ]


def test_collect_leaves_a_hung_hypervisor_behind_after_its_timeout():
    release = threading.Event()

    def fetch(uri):
        if uri == HV1:
            release.wait(30)
        return {"domains": []}

    hypervisors = [{"name": "hv1", "uri": HV1}, {"name": "hv2", "uri": HV2}]
    started = time.monotonic()
    try:
        outcomes = collect(hypervisors, fetch, workers=1, timeout=0.3)
    finally:
        release.set()
    elapsed = time.monotonic() - started
    assert outcomes == [
        {"name": "hv1", "uri": HV1, "error": "no answer within 0.3 s"},
        {"name": "hv2", "uri": HV2, "domains": []},
    ]
    # With one worker, hv2 starts only when hv1's slot is given up at its timeout.
    assert 0.3 <= elapsed < 2


def test_collect_reads_side_by_side_but_never_more_than_workers_at_once():
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def fetch(uri):
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.2)
        with lock:
            running["now"] -= 1
        return {"domains": []}

    hypervisors = [{"name": f"hv{n}", "uri": f"qemu+ssh://hv{n}/system"} for n in range(6)]
    started = time.monotonic()
    outcomes = collect(hypervisors, fetch, workers=3, timeout=5)
    elapsed = time.monotonic() - started
    assert [outcome["name"] for outcome in outcomes] == [f"hv{n}" for n in range(6)]
    assert running["most"] == 3
    # Two rounds of 0.2 s, not six.
    assert 0.4 <= elapsed < 1.0


# --- hosts, variables, groups --------------------------------------------------------


def test_build_inventory_groups_hosts_and_warns_about_the_failed_hypervisor():
    outcomes = [
        {"name": "hv-1", "uri": HV1, "domains": [domain("db01", managed=True), domain("old", "shutoff")]},
        {"name": "hv2", "uri": HV2, "error": "Connection refused"},
        {"name": "hv3", "uri": HV3, "domains": [domain("web01", "paused", managed=True)], "problems": ["bad XML"]},
        {"name": "hv4", "uri": "qemu+ssh://hv4/system", "domains": []},
    ]
    built = build_inventory(outcomes)
    assert built["groups"] == {
        "libvirt_fleet": ["db01", "old", "web01"],
        "libvirt_fleet_managed": ["db01", "web01"],
        "libvirt_fleet_unmanaged": ["old"],
        "libvirt_fleet_hypervisor_hv_1": ["db01", "old"],
        "libvirt_fleet_state_running": ["db01"],
        "libvirt_fleet_state_shutoff": ["old"],
        "libvirt_fleet_hypervisor_hv3": ["web01"],
        "libvirt_fleet_state_paused": ["web01"],
        "libvirt_fleet_hypervisor_hv4": [],
    }
    assert built["hosts"]["web01"] == {
        "libvirt_fleet_domain": domain("web01", "paused", managed=True),
        "libvirt_fleet_hypervisor": "hv3",
        "libvirt_fleet_uri": HV3,
    }
    assert built["warnings"] == [
        f"libvirt_fleet: hypervisor hv2 ({HV2}) is left out: Connection refused",
        f"libvirt_fleet: hypervisor hv3 ({HV3}): bad XML",
    ]


def test_build_inventory_uses_the_group_prefix():
    built = build_inventory([{"name": "hv1", "uri": HV1, "domains": [domain("a")]}], prefix="dc2")
    assert sorted(built["groups"]) == ["dc2", "dc2_hypervisor_hv1", "dc2_managed", "dc2_state_running", "dc2_unmanaged"]


def test_a_name_on_two_hypervisors_is_one_host_the_running_one():
    outcomes = [
        {"name": "hv1", "uri": HV1, "domains": [domain("web01", "shutoff")]},
        {"name": "hv2", "uri": HV2, "domains": [domain("web01", "running")]},
    ]
    built = build_inventory(outcomes)
    assert built["hosts"]["web01"]["libvirt_fleet_hypervisor"] == "hv2"
    assert built["groups"]["libvirt_fleet_hypervisor_hv1"] == []
    assert built["groups"]["libvirt_fleet_hypervisor_hv2"] == ["web01"]
    assert built["warnings"] == [
        "libvirt_fleet: domain web01 is defined on several hypervisors (hv1 (shutoff), hv2 (running)); "
        "host web01 describes the one on hv2"
    ]


def test_a_name_on_two_stopped_hypervisors_is_the_first_listed():
    outcomes = [
        {"name": "hv1", "uri": HV1, "domains": [domain("web01", "shutoff")]},
        {"name": "hv2", "uri": HV2, "domains": [domain("web01", "shutoff")]},
    ]
    assert build_inventory(outcomes)["hosts"]["web01"]["libvirt_fleet_hypervisor"] == "hv1"
