"""What kvmops.kvm.kvm_host leaves on a host, checked on the lab VM.

The expected values are the ones molecule/kvm_host/converge.yml sets; the
daemon's own view (virt-admin) proves the config was read, not just written.
"""

import os

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")


@pytest.mark.parametrize(
    "name",
    [
        "qemu-system-x86",
        "qemu-utils",
        "libvirt-daemon-system",
        "libvirt-clients",
        "python3-libvirt",
        "python3-lxml",
        "python3-netaddr",
    ],
)
def test_package_installed(host, name):
    assert host.package(name).is_installed


def test_recommended_drivers_not_installed(host):
    # kvm_host_install_recommends defaults to false: no Xen driver on a KVM host.
    assert not host.package("libvirt-daemon-driver-xen").is_installed


@pytest.mark.parametrize("unit", ["libvirtd", "virtlogd", "libvirtd.socket", "libvirtd-ro.socket"])
def test_unit_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running, f"{unit} is not running"
    assert service.is_enabled, f"{unit} is not enabled"


def test_libvirtd_has_no_idle_timeout(host):
    # kvm_host_daemon_idle_timeout: 0 overrides the unit's --timeout 120.
    assert 'LIBVIRTD_ARGS=""' in host.file("/etc/default/libvirtd").content_string
    args = host.check_output("ps -o args= -C libvirtd")
    assert args.strip() and "--timeout" not in args, args


def test_virsh_answers_on_system_uri(host):
    out = host.check_output("virsh -c qemu:///system version")
    assert "Using library: libvirt" in out
    assert "Running hypervisor: QEMU" in out


def test_qemu_conf_holds_converge_settings(host):
    conf = host.file("/etc/libvirt/qemu.conf")
    assert conf.mode == 0o600
    lines = conf.content_string.splitlines()
    # Edited setting by setting: the distribution's documentation stays, and a
    # new setting sits right under its commented-out example.
    assert "#max_processes = 0" in lines
    assert lines[lines.index("#max_processes = 0") + 1] == "max_processes = 4096"
    assert 'cgroup_controllers = ["cpu", "memory", "cpuset"]' in lines
    # Baseline keys, booleans written as 1/0.
    assert "set_process_name = 1" in lines
    assert 'vnc_listen = "127.0.0.1"' in lines
    # Set to null in converge: left out, libvirt's default applies.
    assert not [line for line in lines if line.startswith("spice_listen")]


def test_libvirtd_conf_holds_converge_settings(host):
    lines = host.file("/etc/libvirt/libvirtd.conf").content_string.splitlines()
    assert "max_clients = 64" in lines
    assert "admin_max_clients = 3" in lines
    assert 'log_outputs = "3:journald"' in lines


@pytest.mark.parametrize(("server", "limit"), [("libvirtd", 64), ("admin", 3)])
def test_running_daemon_uses_the_config(host, server, limit):
    out = host.check_output(f"virt-admin -c libvirtd:///system srv-clients-info {server}")
    fields = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}
    assert int(fields["nclients_max"]) == limit, out


def test_apparmor_local_abstraction_holds_the_numa_rule(host):
    # A marked block, not the whole file: the file is the site's place for its own rules.
    local = host.file("/etc/apparmor.d/local/abstractions/libvirt-qemu")
    assert local.user == "root" and local.mode == 0o644
    lines = local.content_string.splitlines()
    begin = lines.index("# BEGIN kvmops.kvm.kvm_host: NUMA CPU maps for libnuma")
    assert lines[begin + 1 : begin + 3] == [
        "  /sys/devices/system/node/node[0-9]*/cpumap r,",
        "# END kvmops.kvm.kvm_host: NUMA CPU maps for libnuma",
    ]


def test_python_bindings_reach_libvirt(host):
    # What this collection's modules do on the host: import and connect.
    cmd = host.run(
        "python3 -c 'import libvirt, lxml.etree, netaddr; print(libvirt.open(\"qemu:///system\").getLibVersion())'"
    )
    assert cmd.rc == 0, cmd.stderr
    assert int(cmd.stdout) >= 9_000_000
