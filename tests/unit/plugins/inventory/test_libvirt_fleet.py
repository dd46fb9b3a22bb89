# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The kvmops.kvm.libvirt_fleet inventory plugin in this process, without libvirt.

The plugin runs on an InventoryData, with its option definitions taken from
its DOCUMENTATION and its libvirt reader replaced by a fake fleet, so its
options, hypervisor_group, constructed groups, warnings, all-down error and
cache are tested without a daemon; its real reader runs with libvirt's
connection replaced. test_fleet_inventory.py tests the pure parts,
tests/integration/test_inventory_fleet.py the plugin against libvirtd.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.doc_fragments import constructed, inventory_cache

from ansible_collections.kvmops.kvm.plugins.inventory import libvirt_fleet
from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt, _libvirt_domain_info
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._fleet_inventory import failure_text
from ansible_collections.kvmops.kvm.tests.unit.plugins.inventory.test_fleet_inventory import HV1, HV2, domain

NAME = "kvmops.kvm.libvirt_fleet"
FIXTURES = Path(__file__).resolve().parents[1] / "module_utils" / "fixtures"


def _register_options():
    """The plugin's options as ansible-doc reads them: its own plus the two core fragments it extends."""
    options = {}
    for text in (
        constructed.ModuleDocFragment.DOCUMENTATION,
        inventory_cache.ModuleDocFragment.DOCUMENTATION,
        libvirt_fleet.DOCUMENTATION,
    ):
        options.update(yaml.safe_load(text)["options"])
    C.config.initialize_plugin_configuration_definitions("inventory", NAME, options)


class Fleet:
    """A fake fleet: ``answers`` maps URIs to domain lists or to an exception to raise."""

    def __init__(self, answers):
        self.answers = answers
        self.read = []
        self.keyfile = None

    def reader(self, keyfile=None):
        self.keyfile = keyfile

        def read(uri):
            self.read.append(uri)
            answer = self.answers[uri]
            if isinstance(answer, Exception):
                raise answer
            return {"domains": answer, "problems": []}

        return read


@pytest.fixture
def run_plugin(tmp_path, monkeypatch):
    """``run_plugin(config, fleet, inventory=None)`` → (InventoryData, warnings)."""
    _register_options()

    def run(config, fleet, inventory=None, file_name="fleet.libvirt_fleet.yml"):
        monkeypatch.setattr(libvirt_fleet, "libvirt_reader", fleet.reader)
        path = tmp_path / file_name
        path.write_text(yaml.safe_dump(dict({"plugin": NAME}, **config)))
        plugin = libvirt_fleet.InventoryModule()
        plugin._load_name = plugin.ansible_name = NAME
        warnings = []
        monkeypatch.setattr(plugin.display, "warning", warnings.append)
        inventory = inventory or InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=True)
        if config.get("cache"):
            plugin.update_cache_if_changed()
        return inventory, warnings

    return run


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts())


def test_plugin_lists_the_guests_of_the_answering_hypervisors_and_warns_about_the_down_one(run_plugin):
    fleet = Fleet(
        {
            HV1: [domain("db01", managed=True, title="Database")],
            HV2: KvmopsError("libvirt connection", HV2, "Cannot recv data: ssh: connect to host hv2: refused"),
        }
    )
    config = {
        "hypervisors": [HV1, HV2],
        "keyed_groups": [{"key": "libvirt_fleet_domain.title", "prefix": "title"}],
        "groups": {"databases": "libvirt_fleet_domain.name.startswith('db')"},
        "compose": {"ansible_host": "libvirt_fleet_domain.name ~ '.example.net'"},
    }
    inventory, warnings = run_plugin(config, fleet)
    assert warnings == [
        f"libvirt_fleet: hypervisor hv2 ({HV2}) is left out: Cannot recv data: ssh: connect to host hv2: refused"
    ]
    assert members(inventory, "libvirt_fleet_hypervisor_hv1") == ["db01"]
    assert "libvirt_fleet_hypervisor_hv2" not in inventory.groups
    assert members(inventory, "title_Database") == ["db01"]
    assert members(inventory, "databases") == ["db01"]
    host_vars = inventory.get_host("db01").get_vars()
    assert host_vars["ansible_host"] == "db01.example.net"
    assert host_vars["libvirt_fleet_uri"] == HV1
    assert host_vars["libvirt_fleet_domain"]["title"] == "Database"


def test_plugin_reads_the_hosts_of_an_earlier_sources_group(run_plugin):
    inventory = InventoryData()
    inventory.add_group("hypervisors")
    inventory.add_group("rack_a")
    inventory.add_child("hypervisors", "rack_a")
    inventory.add_host("hv-a01", "rack_a")
    inventory.set_variable("hv-a01", "ansible_host", "203.0.113.21")
    inventory.add_host("hv-a02", "rack_a")
    inventory.set_variable("rack_a", "ansible_user", "kvmops")
    inventory.set_variable("hv-a02", "libvirt_uri", "qemu+tls://hv-a02.example.net/system")
    uri_a01 = "qemu+ssh://kvmops@203.0.113.21/system?no_tty=1"
    fleet = Fleet({uri_a01: [domain("web01")], "qemu+tls://hv-a02.example.net/system": [domain("web02", "shutoff")]})
    inventory, warnings = run_plugin({"hypervisor_group": "hypervisors"}, fleet, inventory)
    assert warnings == []
    assert sorted(fleet.read) == sorted(fleet.answers)
    assert members(inventory, "libvirt_fleet_hypervisor_hv_a01") == ["web01"]
    assert members(inventory, "libvirt_fleet_state_shutoff") == ["web02"]
    assert inventory.get_host("web02").get_vars()["libvirt_fleet_hypervisor"] == "hv-a02"


def test_plugin_passes_the_ssh_key_to_the_reader_not_into_the_uri(run_plugin):
    fleet = Fleet({HV1: [domain("web01")]})
    inventory, _warnings = run_plugin({"hypervisors": [HV1], "ssh_keyfile": "/run/awx/key"}, fleet)
    assert (fleet.keyfile, fleet.read) == ("/run/awx/key", [HV1])
    assert inventory.get_host("web01").get_vars()["libvirt_fleet_uri"] == HV1


def test_plugin_fails_when_the_group_is_not_parsed_yet(run_plugin):
    with pytest.raises(
        AnsibleParserError, match="hypervisor_group 'hypervisors' is not in the inventory parsed so far"
    ):
        run_plugin({"hypervisor_group": "hypervisors"}, Fleet({}))


def test_plugin_fails_without_any_hypervisor(run_plugin):
    with pytest.raises(AnsibleParserError, match="no hypervisors to read"):
        run_plugin({}, Fleet({}))


def test_plugin_fails_when_every_hypervisor_fails_naming_each(run_plugin):
    fleet = Fleet({HV1: KvmopsError("libvirt connection", HV1, "refused"), HV2: OSError("gone")})
    with pytest.raises(AnsibleParserError) as caught:
        run_plugin({"hypervisors": [HV1, HV2]}, fleet)
    assert str(caught.value).startswith(
        f"libvirt_fleet: no hypervisor could be read, so there is no inventory to give: hv1 ({HV1}): refused; "
        f"hv2 ({HV2}): OSError: gone"
    )


def test_plugin_cache_answers_the_second_run_and_is_refreshed_for_other_hypervisors(run_plugin, tmp_path):
    cache = {"cache": True, "cache_plugin": "jsonfile", "cache_connection": str(tmp_path / "cache")}
    first = Fleet({HV1: [domain("web01")], HV2: KvmopsError("libvirt connection", HV2, "refused")})
    run_plugin(dict(cache, hypervisors=[HV1, HV2]), first)
    assert sorted(first.read) == sorted([HV1, HV2])

    nothing = Fleet({})  # any read would raise KeyError
    inventory, warnings = run_plugin(dict(cache, hypervisors=[HV1, HV2]), nothing)
    assert nothing.read == []
    assert members(inventory, "libvirt_fleet") == ["web01"]
    assert warnings == [f"libvirt_fleet: hypervisor hv2 ({HV2}) is left out: refused" + libvirt_fleet.CACHE_NOTE]

    changed = Fleet({HV1: [domain("web02")]})
    inventory, _warnings = run_plugin(dict(cache, hypervisors=[HV1]), changed)
    assert changed.read == [HV1]
    assert members(inventory, "libvirt_fleet") == ["web02"]


@pytest.mark.parametrize(
    ("file_name", "accepted"),
    [("fleet.libvirt_fleet.yml", True), ("libvirt_fleet.yaml", True), ("fleet.yml", False), ("fleet.json", False)],
)
def test_verify_file_wants_the_documented_file_names(tmp_path, file_name, accepted):
    path = tmp_path / file_name
    path.write_text(f"plugin: {NAME}\n")
    assert libvirt_fleet.InventoryModule().verify_file(str(path)) is accepted


def test_missing_libvirt_python_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", False)
    with pytest.raises(AnsibleParserError, match=r"needs libvirt-python on the controller.*pip install libvirt-python"):
        libvirt_fleet.libvirt_reader()


def test_the_plugin_does_not_import_libvirt_until_it_reads():
    # .../collections/ansible_collections/kvmops/kvm/plugins/inventory/libvirt_fleet.py
    collections = Path(libvirt_fleet.__file__).parents[5]
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "import ansible_collections.kvmops.kvm.plugins.inventory.libvirt_fleet; "
        "print('libvirt' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(collections)], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "False"


# --- the real reader with libvirt replaced ------------------------------------------


def _reads(name, xml):
    """read_domains' answer for one shut-off persistent domain."""
    return {
        "name": name,
        "state": 5,
        "reason": 1,
        "active": 0,
        "persistent": 1,
        "autostart": 0,
        "xml": xml,
        "inactive_xml": xml,
    }


def test_reader_summarises_each_domain_and_leaves_out_one_that_does_not_parse(monkeypatch):
    good = _reads("web01", (FIXTURES / "domain_plain_inactive.xml").read_text())
    bad = _reads("broken", "<domain>")
    opened = []

    @contextlib.contextmanager
    def fake_connection(uri, readonly=False):
        opened.append((uri, readonly))
        yield "connection"

    monkeypatch.setattr(_libvirt, "libvirt_connection", fake_connection)
    monkeypatch.setattr(_libvirt_domain_info, "read_domains", lambda conn: [good, bad] if conn == "connection" else [])
    answer = libvirt_fleet.libvirt_reader("/run/awx/key")(HV1)
    assert opened == [(HV1 + "?keyfile=/run/awx/key", True)]
    assert [entry["name"] for entry in answer["domains"]] == ["web01"]
    assert answer["domains"] == _libvirt_domain_info.domain_entries([good])
    assert len(answer["problems"]) == 1
    assert answer["problems"][0].startswith("libvirt domain 'broken': domain XML does not parse")
    assert answer["problems"][0].endswith("; domain left out")


def test_reader_names_a_failed_connection_by_the_configured_uri(monkeypatch):
    def refused(uri, readonly=False):
        raise KvmopsError("libvirt connection", uri, "Connection refused")

    monkeypatch.setattr(_libvirt, "libvirt_connection", refused)
    with pytest.raises(KvmopsError) as caught:
        libvirt_fleet.libvirt_reader("/run/awx/key")(HV1)
    assert (caught.value.name, str(caught.value.cause)) == (HV1, "Connection refused")
    assert failure_text(caught.value, HV1) == "Connection refused"


def test_plugin_reads_host_vars_files_with_use_vars_plugins(run_plugin, tmp_path):
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "hv-b01.yml").write_text("ansible_host: 203.0.113.31\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "hypervisors.yml").write_text("ansible_user: ops\n")
    hosts_file = tmp_path / "hosts.yml"
    hosts_file.write_text("all:\n  children:\n    hypervisors:\n      hosts:\n        hv-b01:\n")

    def inventory_with_hypervisor():
        inventory = InventoryData()
        inventory.add_group("hypervisors")
        inventory.add_host("hv-b01", "hypervisors")
        inventory.processed_sources.append(str(hosts_file))
        return inventory

    from_files = Fleet({"qemu+ssh://ops@203.0.113.31/system?no_tty=1": [domain("app01")]})
    config = {"hypervisor_group": "hypervisors", "use_vars_plugins": True}
    inventory, _warnings = run_plugin(config, from_files, inventory_with_hypervisor())
    assert members(inventory, "libvirt_fleet_hypervisor_hv_b01") == ["app01"]
    # Without the option the files are not read yet: the template falls back to the name and root.
    without = Fleet({"qemu+ssh://root@hv-b01/system?no_tty=1": []})
    run_plugin({"hypervisor_group": "hypervisors"}, without, inventory_with_hypervisor())
    assert without.read == ["qemu+ssh://root@hv-b01/system?no_tty=1"]
