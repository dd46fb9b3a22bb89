# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# validate-modules wants every import below DOCUMENTATION/EXAMPLES, also in
# inventory plugins; pyproject.toml allows that (E402) for modules only.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
name: libvirt_fleet
short_description: Guests (libvirt domains) of many KVM hypervisors as an inventory
version_added: 0.1.0
description:
  - Reads the domains of many libvirt hypervisors, one read-only connection per hypervisor, several at a
    time, each bounded by O(timeout), and makes each domain an inventory host.
  - The hypervisors are libvirt URIs listed in O(hypervisors), the hosts of the inventory group
    O(hypervisor_group) (turned into URIs by O(hypervisor_uri_template)), or both.
  - Every host gets the same summary M(kvmops.kvm.libvirt_domain_info) returns for the domain as
    C(libvirt_fleet_domain), and C(libvirt_fleet_hypervisor) and C(libvirt_fleet_uri) for where it runs.
  - "Groups (O(group_prefix) C(libvirt_fleet) by default): C(libvirt_fleet) with every guest,
    C(libvirt_fleet_hypervisor_<hypervisor>), C(libvirt_fleet_state_<state>) (C(running), C(shutoff),
    C(paused)...), C(libvirt_fleet_managed) for domains carrying the collection's C(<kvmops:managed>)
    metadata (those M(kvmops.kvm.libvirt_domain) and the kvm_guests role define) and C(libvirt_fleet_unmanaged)
    for the others. Characters other than letters, digits and C(_) become C(_) in group names."
  - O(compose), O(groups) and O(keyed_groups) add variables and groups from these host variables.
  - A hypervisor that cannot be read (down, unreachable, refused, no answer within O(timeout)) is left out
    with a warning naming it, its URI and the cause; the guests of the others are listed. When no
    hypervisor at all can be read, the source fails (see the notes).
  - The inventory file name must end with C(libvirt_fleet.yml) or C(libvirt_fleet.yaml).
author:
  - kvmops maintainers (@kvmops)
requirements:
  - libvirt-python on the controller, in the Python that runs Ansible
  - lxml on the controller
  - an ssh client and key-based login to the hypervisors for C(qemu+ssh) URIs
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes the file a source of this plugin.
    required: true
    type: str
    choices: [kvmops.kvm.libvirt_fleet]
  hypervisors:
    description:
      - Hypervisors to read, each a libvirt URI such as C(qemu+ssh://root@hv1/system) or C(qemu:///system),
        or a dict with C(uri) and C(name).
      - The name is used in the group C(libvirt_fleet_hypervisor_<name>) and in C(libvirt_fleet_hypervisor).
        Without one it is the host part of the URI, or C(localhost) when the URI has none. Two hypervisors
        of one name are refused.
    type: list
    elements: raw
    default: []
  hypervisor_group:
    description:
      - Also read the hypervisors that are hosts of this inventory group (children included).
      - The group must come from an inventory source parsed B(before) this one, such as
        C(-i hosts.yml -i fleet.libvirt_fleet.yml); sources in one directory are parsed in name order.
        A group that is not in the inventory yet fails the source.
      - Each host's URI is its variable O(hypervisor_uri_var) when set, else O(hypervisor_uri_template).
    type: str
  hypervisor_uri_template:
    description:
      - libvirt URI of a host of O(hypervisor_group), with Python format fields C({host}) (C(ansible_host),
        else the host name; an IPv6 address in brackets), C({name}) (the inventory host name),
        C({user}) (C(ansible_user), else O(hypervisor_user)) and C({port}) (C(ansible_port), else 22).
      - These are not Jinja2 templates, and host variables that are templates are refused, because inventory
        variables are not templated while sources are parsed.
      - C(no_tty=1) keeps ssh from asking for a password or a host key on a controller without a terminal.
    type: str
    default: qemu+ssh://{user}@{host}/system?no_tty=1
  hypervisor_user:
    description: The C({user}) of O(hypervisor_uri_template) for hosts without C(ansible_user).
    type: str
    default: root
  hypervisor_uri_var:
    description:
      - Host variable that holds the complete libvirt URI of a host of O(hypervisor_group); when a host
        has it, O(hypervisor_uri_template) is not used for that host.
    type: str
    default: libvirt_uri
  use_vars_plugins:
    description:
      - Also read the variables of O(hypervisor_group)'s hosts from vars plugins, such as C(host_vars/) and
        C(group_vars/) files beside the inventory sources, for C(ansible_host), C(ansible_user),
        C(ansible_port) and O(hypervisor_uri_var). Without it only variables set by inventory sources count.
    type: bool
    default: false
  timeout:
    description:
      - Seconds one hypervisor may take, from opening its connection to the last domain read. One that has
        not answered by then is left out with a warning.
    type: int
    default: 30
  workers:
    description: How many hypervisors are read at the same time.
    type: int
    default: 10
  ssh_keyfile:
    description:
      - Private key for every hypervisor reached over SSH (C(qemu+ssh), C(qemu+libssh), C(qemu+libssh2)) whose
        URI names no C(keyfile) itself; it is added as libvirt's C(keyfile) URI parameter when connecting.
      - It does not show in C(libvirt_fleet_uri) or in the cache, so a key file at a new path each run (as
        AWX injects credentials) changes neither.
      - Without it, ssh uses its own defaults (C(~/.ssh/id_*), an ssh agent, C(~/.ssh/config)).
    type: path
    env:
      - name: KVMOPS_LIBVIRT_FLEET_SSH_KEYFILE
  group_prefix:
    description: First part of the name of every group this plugin makes (not of O(keyed_groups)).
    type: str
    default: libvirt_fleet
notes:
  - The plugin only reads, through libvirt's read-only socket (C(virsh --readonly)).
  - When no hypervisor can be read at all, the source fails with an error listing each hypervisor and its
    cause, rather than giving an empty inventory. Ansible turns a failed source into a warning unless
    C(inventory_unparsed_failed) or C(inventory_any_unparsed_is_failed) is set; AWX fails the inventory
    update and keeps the hosts it had.
  - A domain name found on several hypervisors (for example the definition left on the source host of a
    live migration) becomes one host, the running copy or else the one on the hypervisor listed first,
    and a warning names all of them.
  - With O(cache=true) the answers of all hypervisors are cached, failures included; the cache is read
    again only while the list of hypervisors is the same. C(ansible-inventory --flush-cache) reads them anew.
    When no hypervisor answered, nothing is cached.
  - A domain whose name is already an inventory host (from another source) adds its variables and groups
    to that host.
seealso:
  - module: kvmops.kvm.libvirt_domain_info
  - name: libvirt connection URIs
    description: Transports and URI parameters such as C(keyfile), C(no_verify) and C(no_tty).
    link: https://libvirt.org/uri.html
"""

EXAMPLES = r"""
# file: fleet.libvirt_fleet.yml
# Two hypervisors by URI; ansible-inventory -i fleet.libvirt_fleet.yml --graph
plugin: kvmops.kvm.libvirt_fleet
hypervisors:
  - qemu+ssh://root@hv1.example.net/system?no_tty=1
  - uri: qemu+ssh://root@203.0.113.12/system?no_tty=1
    name: hv2

---
# file: 20-guests.libvirt_fleet.yml, beside 10-hypervisors.yml in one inventory directory
# Every host of group hypervisors, with the SSH key libvirt should use; groups by the
# domain's title and its first interface's network, and the guest's address composed.
plugin: kvmops.kvm.libvirt_fleet
hypervisor_group: hypervisors
use_vars_plugins: true
hypervisor_uri_template: qemu+ssh://{user}@{host}:{port}/system?no_tty=1
ssh_keyfile: /etc/kvmops/id_ed25519
timeout: 20
workers: 16
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /var/cache/ansible/libvirt_fleet
cache_timeout: 600
compose:
  ansible_host: libvirt_fleet_domain.name ~ '.guests.example.net'
groups:
  needs_cold_boot: libvirt_fleet_domain.pending_changes
keyed_groups:
  - key: libvirt_fleet_domain.title | default('untitled', true)
    prefix: title
  - key: (libvirt_fleet_domain.interfaces | first | default({})).source | default('none', true)
    prefix: net
"""

from ansible.errors import AnsibleParserError
from ansible.inventory.helpers import get_group_vars
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.vars import combine_vars
from ansible.vars.plugins import get_vars_from_inventory_sources

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError
from ansible_collections.kvmops.kvm.plugins.module_utils._fleet_inventory import (
    FleetConfigError,
    all_failed_message,
    build_inventory,
    check_group_prefix,
    check_unique,
    collect,
    hypervisor_from_host,
    hypervisors_from_option,
    with_keyfile,
)

FILE_SUFFIXES = ("libvirt_fleet.yml", "libvirt_fleet.yaml")
CACHE_NOTE = " (from the inventory cache; --flush-cache reads the hypervisors again)"


def libvirt_reader(keyfile=None):
    """The function that reads one hypervisor's domains, importing libvirt-python only now.

    Only this plugin needs the bindings on the controller, so they are not
    imported before a source of this plugin is read (nor when it is read from
    the cache). A domain whose XML cannot be summarised is left out with a
    warning instead of losing its whole hypervisor.
    """
    from ansible_collections.kvmops.kvm.plugins.module_utils import _libvirt, _libvirt_domain_info
    from ansible_collections.kvmops.kvm.plugins.module_utils._domain_summary import HAS_LXML

    missing = [name for name, present in (("libvirt-python", _libvirt.HAS_LIBVIRT), ("lxml", HAS_LXML)) if not present]
    if missing:
        raise AnsibleParserError(
            f"kvmops.kvm.libvirt_fleet needs {' and '.join(missing)} on the controller, in the Python that runs "
            f"Ansible (pip install {' '.join(missing)}; libvirt-python builds against libvirt's development "
            "headers, for example Debian's libvirt-dev and pkg-config)"
        )

    def read(uri):
        target = with_keyfile(uri, keyfile)
        try:
            with _libvirt.libvirt_connection(target, readonly=True) as conn:
                all_reads = _libvirt_domain_info.read_domains(conn)
        except KvmopsError as exc:
            if exc.name != target:
                raise
            # Named by the URI as configured: the key file's path says nothing about what failed.
            raise KvmopsError(exc.kind, uri, exc.cause, exc.detail) from exc
        domains, problems = [], []
        for reads in all_reads:
            try:
                domains.extend(_libvirt_domain_info.domain_entries([reads]))
            except KvmopsError as exc:
                problems.append(f"{exc}; domain left out")
        return {"domains": domains, "problems": problems}

    return read


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "kvmops.kvm.libvirt_fleet"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(FILE_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            prefix = check_group_prefix(self.get_option("group_prefix"))
            hypervisors = self._hypervisors()
            if self.get_option("timeout") <= 0 or self.get_option("workers") < 1:
                raise FleetConfigError("timeout and workers must be at least 1")
        except FleetConfigError as exc:
            raise AnsibleParserError(f"{path}: {exc}") from exc
        outcomes, from_cache = self._outcomes(path, hypervisors, cache)
        if all("error" in outcome for outcome in outcomes):
            raise AnsibleParserError(all_failed_message(outcomes))
        built = build_inventory(outcomes, prefix)
        for warning in built["warnings"]:
            self.display.warning(warning + (CACHE_NOTE if from_cache else ""))
        self._populate(built)

    # --- hypervisors --------------------------------------------------------------

    def _hypervisors(self):
        hypervisors = hypervisors_from_option(self.get_option("hypervisors"))
        group = self.get_option("hypervisor_group")
        if group:
            if group not in self.inventory.groups:
                raise FleetConfigError(
                    f"hypervisor_group {group!r} is not in the inventory parsed so far; list the source that "
                    "defines it before this one (-i hosts.yml -i fleet.libvirt_fleet.yml; the files of an "
                    "inventory directory are parsed in name order)"
                )
            sources = self.inventory.processed_sources
            for host in self.inventory.groups[group].get_hosts():
                hypervisors.append(
                    hypervisor_from_host(
                        host.name,
                        self._host_vars(host, sources),
                        template=self.get_option("hypervisor_uri_template"),
                        user=self.get_option("hypervisor_user"),
                        uri_var=self.get_option("hypervisor_uri_var"),
                    )
                )
        if not hypervisors:
            raise FleetConfigError("no hypervisors to read: set hypervisors, or hypervisor_group to a group with hosts")
        return check_unique(hypervisors)

    def _host_vars(self, host, sources):
        """A hypervisor host's variables as far as they are known now, host over group (as constructed does)."""
        group_vars = get_group_vars(host.get_groups())
        host_vars = host.get_vars()
        if self.get_option("use_vars_plugins"):
            group_vars = combine_vars(
                group_vars, get_vars_from_inventory_sources(self.loader, sources, host.get_groups(), "all")
            )
            host_vars = combine_vars(host_vars, get_vars_from_inventory_sources(self.loader, sources, [host], "all"))
        return combine_vars(group_vars, host_vars)

    # --- reading, through the cache -----------------------------------------------

    def _outcomes(self, path, hypervisors, cache):
        """Each hypervisor's answer, from the cache when allowed and made for the same hypervisors."""
        use_cache = self.get_option("cache")
        key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                cached = self._cache[key]
            except KeyError:
                cached = None
            if isinstance(cached, dict) and cached.get("hypervisors") == hypervisors:
                return cached["outcomes"], True
        reader = libvirt_reader(self.get_option("ssh_keyfile"))
        outcomes = collect(hypervisors, reader, self.get_option("workers"), self.get_option("timeout"))
        if use_cache and any("error" not in outcome for outcome in outcomes):
            self._cache[key] = {"hypervisors": hypervisors, "outcomes": outcomes}
        return outcomes, False

    # --- into the inventory -------------------------------------------------------

    def _populate(self, built):
        for group in built["groups"]:
            self.inventory.add_group(group)
        for host_name, hostvars in built["hosts"].items():
            self.inventory.add_host(host_name)
            for var, value in hostvars.items():
                self.inventory.set_variable(host_name, var, value)
        for group, members in built["groups"].items():
            for host_name in members:
                self.inventory.add_child(group, host_name)
        strict = self.get_option("strict")
        for host_name in built["hosts"]:
            hostvars = self.inventory.get_host(host_name).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, host_name, strict=strict)
            # fetch_hostvars (the default) sees what compose just set.
            self._add_host_to_composed_groups(self.get_option("groups"), {}, host_name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), {}, host_name, strict=strict)
