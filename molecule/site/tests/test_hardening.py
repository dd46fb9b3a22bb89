"""kvmops.kvm.kvm_hardening with AppArmor, checked on the site's hypervisor.

This was molecule/kvm_hardening (issue 12 folded it in here): site.yml hardens
the same debian-hv image with every control on, then kvm_guests starts the
guests on it, so the confinement checks look at the site's own guest. The
checks look at processes, sockets and kernel state, not only at the files the
role wrote. The SELinux variant stays in molecule/kvm_hardening_selinux.
"""

import os
import re

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")

# A guest started by kvm_guests after kvm_hardening ran.
GUEST = "kvmlab-mol-site-db"


def qemu_pid(host):
    return host.check_output(f"pgrep -f 'guest={GUEST},'").split()[0]


def test_qemu_conf_holds_the_security_settings(host):
    lines = host.file("/etc/libvirt/qemu.conf").content_string.splitlines()
    for line in (
        'security_driver = "apparmor"',
        "security_default_confined = 1",
        "security_require_confined = 1",
        'user = "libvirt-qemu"',
        'group = "libvirt-qemu"',
        "dynamic_ownership = 1",
        "remember_owner = 1",
        "seccomp_sandbox = 1",
        "vnc_tls = 0",
        'cgroup_device_acl = ["/dev/null", "/dev/full", "/dev/zero", '
        '"/dev/random", "/dev/urandom", "/dev/ptmx", "/dev/kvm"]',
    ):
        assert line in lines, line
    # Edited setting by setting: the shipped documentation is still there.
    assert '#security_driver = "selinux"' in lines


def test_libvirtd_conf_requires_authentication(host):
    lines = host.file("/etc/libvirt/libvirtd.conf").content_string.splitlines()
    assert 'auth_unix_rw = "polkit"' in lines
    assert 'auth_tcp = "sasl"' in lines


def test_libvirtd_runs_under_its_apparmor_profile(host):
    assert host.check_output("ps -o label= -C libvirtd").strip() == "libvirtd (enforce)"
    assert "<model>apparmor</model>" in host.check_output("virsh -c qemu:///system capabilities")


def test_guest_started_after_hardening_is_confined(host):
    uuid = host.check_output(f"virsh -c qemu:///system domuuid {GUEST}").strip()
    dominfo = host.check_output(f"virsh -c qemu:///system dominfo {GUEST}")
    assert re.search(r"Security model:\s+apparmor", dominfo), dominfo
    assert f"libvirt-{uuid} (enforcing)" in dominfo
    # The kernel's own view of the QEMU process, not libvirt's bookkeeping.
    label = host.check_output(f"cat /proc/{qemu_pid(host)}/attr/current").strip()
    assert label == f"libvirt-{uuid} (enforce)"
    assert f"libvirt-{uuid}" in host.check_output("aa-status --enforced --verbose 2>/dev/null || aa-status")


def test_qemu_is_not_root_and_sandboxed(host):
    pid = qemu_pid(host)
    assert host.check_output(f"ps -o user= -p {pid}").strip() == "libvirt-qemu"
    status = host.file(f"/proc/{pid}/status").content_string
    assert re.search(r"^Seccomp:\s+2$", status, re.M), "QEMU runs without a seccomp filter"


def test_unconfined_guest_is_refused(host):
    xml = (
        "<domain type='qemu'><name>kvmops-unconfined</name><memory unit='MiB'>32</memory>"
        "<os><type arch='x86_64'>hvm</type></os><seclabel type='none'/></domain>"
    )
    host.run_test(f'echo "{xml}" > /tmp/unconfined.xml && virsh -c qemu:///system define /tmp/unconfined.xml')
    try:
        started = host.run("virsh -c qemu:///system start kvmops-unconfined")
        assert started.rc != 0
        assert "nconfined guests are not allowed" in started.stderr, started.stderr
    finally:
        host.run("virsh -c qemu:///system undefine kvmops-unconfined")


@pytest.mark.parametrize("socket", ["/run/libvirt/libvirt-sock", "/run/libvirt/libvirt-sock-ro"])
def test_libvirt_sockets_are_closed_to_others(host, socket):
    sock = host.file(socket)
    assert sock.is_socket
    assert (sock.user, sock.group, sock.mode) == ("root", "libvirt", 0o660)


def test_operator_manages_guests_without_root(host):
    assert "libvirt" in host.user("kvmops-operator").groups
    listing = host.run("runuser -u kvmops-operator -- virsh -c qemu:///system list --name")
    assert listing.rc == 0, listing.stderr
    assert GUEST in listing.stdout
    outsider = host.run("runuser -u nobody -- virsh -c qemu:///system list --name")
    assert outsider.rc != 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("kernel.kptr_restrict", 2),
        ("kernel.dmesg_restrict", 1),
        ("fs.protected_regular", 2),
        ("net.ipv4.conf.all.accept_redirects", 0),
    ],
)
def test_security_sysctls_are_live(host, key, value):
    assert host.sysctl(key) == value


def test_unused_protocols_cannot_load(host):
    assert "install /bin/false" in host.check_output("modprobe -n -v sctp 2>&1 || true")


def test_dev_kvm_mode(host):
    kvm = host.file("/dev/kvm")
    assert (kvm.user, kvm.group, kvm.mode) == ("root", "kvm", 0o660)


def test_audit_watches_libvirt_config(host):
    rules = host.check_output("auditctl -l")
    assert "-k kvmops-libvirt-config" in rules
    assert "-w /dev/kvm -p wa -k kvmops-kvm-device" in rules


def test_firewall_admits_only_the_named_networks(host):
    assert host.service("kvmops-firewall").is_enabled
    table = host.check_output("nft list table inet kvmops_firewall")
    assert "policy drop;" in table
    assert re.search(r"ip saddr 198\.51\.100\.0/24 tcp dport \{ 22, 16514 \} accept", table), table
    assert re.search(r"ip saddr 198\.51\.100\.1 tcp dport 9100 accept", table), table


def test_machine_slice_leaves_the_host_its_share(host):
    memtotal_kib = int(re.search(r"MemTotal:\s+(\d+)", host.file("/proc/meminfo").content_string).group(1))
    cpus = int(host.check_output("nproc --all"))
    # The kernel's own view of the slice's cgroup, which exists while the guest runs.
    slice_dir = "/sys/fs/cgroup/machine.slice"
    memory_max = int(host.file(f"{slice_dir}/memory.max").content_string)
    assert memory_max == (memtotal_kib // 1024 - 512) * 1024 * 1024
    # Reserved 20% of one CPU: the quota is (cpus * 100 - 20)% of each 100 ms period.
    assert host.file(f"{slice_dir}/cpu.max").content_string.split() == [str((cpus * 100 - 20) * 1000), "100000"]
    assert host.file(f"{slice_dir}/pids.max").content_string.strip() == "16384"
    assert "machine.slice" in host.file(f"/proc/{qemu_pid(host)}/cgroup").content_string
