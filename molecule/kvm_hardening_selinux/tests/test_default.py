"""kvmops.kvm.kvm_hardening with SELinux on the enforcing lab image, checked on the running system."""

import os
import re

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")

GUEST = "kvmops-svirt"


def test_selinux_is_enforcing(host):
    assert host.check_output("getenforce") == "Enforcing"
    config = host.file("/etc/selinux/config").content_string
    assert re.search(r"^SELINUX=enforcing$", config, re.M)


def test_virt_booleans_are_set_persistently(host):
    live = host.check_output("getsebool virt_use_execmem virt_use_usb")
    assert "virt_use_execmem --> on" in live
    assert "virt_use_usb --> off" in live
    # Persistent: in the policy store, so it survives a reboot.
    stored = host.check_output("semanage boolean -l -C")
    assert re.search(r"^virt_use_execmem\s+\(on\s*,\s*on\)", stored, re.M), stored


def test_local_policy_module_is_loaded(host):
    assert "kvmops_libvirt" in host.check_output("semodule --list-modules").split()


def test_image_directory_has_the_virt_image_label(host):
    assert "/srv/kvmops-images(/.*)?" in host.check_output("semanage fcontext -l -C")
    # The file that was there before the role ran was relabelled too.
    assert ":virt_image_t:" in host.check_output("stat -c %C /srv/kvmops-images/base.img")


def test_qemu_conf_names_selinux(host):
    lines = host.file("/etc/libvirt/qemu.conf").content_string.splitlines()
    assert 'security_driver = "selinux"' in lines
    assert "security_require_confined = 1" in lines


def test_guest_runs_with_an_svirt_label(host):
    dominfo = host.check_output(f"virsh -c qemu:///system dominfo {GUEST}")
    assert re.search(r"Security model:\s+selinux", dominfo), dominfo
    pid = host.check_output(f"pgrep -f 'guest={GUEST},'").split()[0]
    label = host.file(f"/proc/{pid}/attr/current").content_string.strip("\x00\n")
    # system_u:system_r:svirt_t:s0:c123,c456 - its own MCS category pair.
    assert re.fullmatch(r"system_u:system_r:svirt(_tcg)?_t:s0:c\d+,c\d+", label), label
    assert host.check_output(f"ps -o user= -p {pid}").strip() == "libvirt-qemu"
