"""What kvmops.kvm.kvm_tuning leaves on a lab VM with two NUMA nodes, checked in the running kernel."""

import os
import re

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")

ARGS = ["isolcpus=1", "nohz_full=1", "rcu_nocbs=1", "irqaffinity=0", "transparent_hugepage=madvise"]


@pytest.mark.parametrize(("node", "count"), [(0, 64), (1, 32)])
def test_hugepages_allocated_per_node(host, node, count):
    pool = host.file(f"/sys/devices/system/node/node{node}/hugepages/hugepages-2048kB/nr_hugepages")
    assert int(pool.content_string) == count
    # libvirt sees the same pools, as guests placed on the node will.
    caps = host.check_output("virsh -c qemu:///system capabilities")
    cell = re.search(rf"<cell id='{node}'>.*?</cell>", caps, re.S).group(0)
    assert f"<pages unit='KiB' size='2048'>{count}</pages>" in cell


def test_hugetlbfs_mount_and_qemu_conf(host):
    mount = host.mount_point("/dev/hugepages2M")
    assert mount.filesystem == "hugetlbfs"
    assert "pagesize=2M" in mount.options
    assert 'hugetlbfs_mount = ["/dev/hugepages2M"]' in host.file("/etc/libvirt/qemu.conf").content_string
    assert host.service("libvirtd").is_running


def test_thp_mode(host):
    assert "[madvise]" in host.file("/sys/kernel/mm/transparent_hugepage/enabled").content_string


def test_ksm_off(host):
    assert host.file("/sys/kernel/mm/ksm/run").content_string.strip() == "0"


@pytest.mark.parametrize(
    ("key", "value"), [("vm.swappiness", 10), ("vm.dirty_ratio", 10), ("net.core.netdev_max_backlog", 16384)]
)
def test_performance_sysctls_are_live(host, key, value):
    assert host.sysctl(key) == value


@pytest.mark.parametrize("unit", ["init.scope", "system.slice", "user.slice"])
def test_host_cgroups_hold_the_host_cpu(host, unit):
    assert host.check_output(f"systemctl show -p AllowedCPUs {unit}") == "AllowedCPUs=0"


def test_host_processes_run_on_the_host_cpu(host):
    # PID 1, a service (sshd) and this login: the kernel applied the cpuset of
    # their cgroups, which the machine.slice cpuset would otherwise have reset.
    for pid in ("1", host.check_output("pgrep -o sshd"), "self"):
        status = host.file(f"/proc/{pid}/status").content_string
        assert re.search(r"^Cpus_allowed_list:\s+0$", status, re.M), (pid, status)


def test_guests_are_kept_off_the_host_cpu(host):
    assert host.check_output("systemctl show -p AllowedCPUs machine.slice") == "AllowedCPUs=1"


def test_irqbalance_bans_the_guest_cpu(host):
    assert "IRQBALANCE_BANNED_CPULIST=1" in host.file("/etc/default/irqbalance").content_string
    # Enabled; with a single host CPU systemd itself skips it (ConditionCPUs=>1).
    assert host.service("irqbalance").is_enabled


def test_kernel_arguments_reach_grub_cfg(host):
    dropin = host.file("/etc/default/grub.d/60-kvmops-tuning.cfg").content_string
    assert f'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX {" ".join(ARGS)}"' in dropin
    linux_lines = [
        line
        for line in host.file("/boot/grub/grub.cfg").content_string.splitlines()
        if line.strip().startswith("linux")
    ]
    assert linux_lines
    for line in linux_lines:
        assert all(arg in line.split() for arg in ARGS), line


def test_running_kernel_lacks_them_so_a_reboot_is_pending(host):
    # The lab VM boots its kernel directly with its own command line: this is
    # why the role reports kvm_tuning_reboot_required (converge.yml asserts it).
    assert "isolcpus=1" not in host.file("/proc/cmdline").content_string.split()
