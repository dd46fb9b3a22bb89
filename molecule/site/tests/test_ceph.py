"""What kvmops.kvm.kvm_ceph leaves on the site's hypervisor (lab group_vars: pool vms).

This was molecule/kvm_ceph (issue 12 folded it in here): site.yml runs the
same role against the test bed's Ceph on the lab bridge, then kvm_guests puts
the guests' root disks on it; their watcher is checked in test_default.py.

The chain is checked end to end with the host's own tools: the rbd CLI with
the files the role wrote, libvirt's view of secret and pool, and a volume
made through libvirt that shows up in Ceph. The key itself is read from the
keyring and must appear in no other file the run could have touched.
"""

import os
import uuid

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")

KEYRING = "/etc/ceph/ceph.client.libvirt.keyring"
POOL = "ceph-vms"
USAGE = "client.libvirt secret"


@pytest.mark.parametrize("name", ["ceph-common", "libvirt-daemon-driver-storage-rbd", "qemu-block-extra"])
def test_package_installed(host, name):
    assert host.package(name).is_installed


def test_ceph_conf_names_cluster_and_monitor(host):
    conf = host.file("/etc/ceph/ceph.conf")
    assert conf.mode == 0o644
    lines = conf.content_string.splitlines()
    assert "# Ansible managed" in lines
    assert any(line.startswith("fsid = ") for line in lines)
    assert "mon_host = [v2:198.51.100.1:3300,v1:198.51.100.1:6789]" in lines


def test_keyring_is_root_only(host):
    keyring = host.file(KEYRING)
    assert (keyring.user, keyring.group, keyring.mode) == ("root", "root", 0o600)
    assert keyring.content_string.startswith("[client.libvirt]\n\tkey = AQ")


def test_client_lists_the_pool_with_default_paths(host):
    # No --conf/--keyring: the files are where the ceph tools look by themselves.
    cmd = host.run("rbd --id libvirt --client_mount_timeout 20 ls vms")
    assert cmd.rc == 0, cmd.stderr


def test_secret_is_private_and_holds_a_value(host):
    listing = host.check_output("virsh -c qemu:///system secret-list")
    assert f"ceph {USAGE}" in listing
    secret_uuid = next(line.split()[0] for line in listing.splitlines() if USAGE in line)
    xml = host.check_output(f"virsh -c qemu:///system secret-dumpxml {secret_uuid}")
    assert "private='yes'" in xml and "ephemeral='no'" in xml
    denied = host.run(f"virsh -c qemu:///system secret-get-value {secret_uuid}")
    assert denied.rc != 0 and "private" in denied.stderr
    # A value is stored (libvirt keeps it beside the definition).
    assert host.file(f"/etc/libvirt/secrets/{secret_uuid}.base64").exists


def test_pool_is_active_autostarted_and_points_at_the_cluster(host):
    info = host.check_output(f"virsh -c qemu:///system pool-info {POOL}")
    assert "State:          running" in info
    assert "Autostart:      yes" in info
    xml = host.check_output(f"virsh -c qemu:///system pool-dumpxml --inactive {POOL}")
    assert "<host name='198.51.100.1' port='6789'/>" in xml
    assert "<name>vms</name>" in xml
    assert "username='libvirt'" in xml and f"usage='{USAGE}'" in xml


def test_volume_made_through_libvirt_is_an_rbd_image(host):
    image = f"kvmops-it-mol-{uuid.uuid4().hex[:8]}"
    host.check_output(f"virsh -c qemu:///system vol-create-as {POOL} {image} 16M")
    try:
        assert image in host.check_output("rbd --id libvirt ls vms").split()
    finally:
        host.run(f"virsh -c qemu:///system vol-delete --pool {POOL} {image}")
    assert image not in host.check_output("rbd --id libvirt ls vms").split()


def test_key_is_in_no_other_file(host):
    key = host.file(KEYRING).content_string.split("key = ", 1)[1].split()[0]
    # Everything a run could have written to: config, logs, temp, Ansible's own.
    cmd = host.run(
        "grep -rlF --exclude-dir=secrets -e %s /etc /var/log /var/lib/libvirt /var/tmp /tmp /root",
        key,
    )
    found = [path for path in cmd.stdout.split() if path != KEYRING]
    assert found == [], found
