# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure volume logic: option normalisation, volume XML both ways, image sniffing and the plan."""

from __future__ import annotations

import pytest
from lxml import etree

from ansible_collections.kvmops.kvm.plugins.module_utils import _volume as vol
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

MIB = 1024**2
GIB = 1024**3

# Captured with `virsh vol-dumpxml` on the Debian 12 test bed (libvirt 9.0): a
# qcow2 overlay in a dir pool on a qcow2 backing volume.
OVERLAY_XML = """<volume type='file'>
  <name>c</name>
  <key>/var/lib/kvmops-it/vol-exp/c</key>
  <capacity unit='bytes'>1048576</capacity>
  <allocation unit='bytes'>200704</allocation>
  <physical unit='bytes'>196616</physical>
  <target>
    <path>/var/lib/kvmops-it/vol-exp/c</path>
    <format type='qcow2'/>
    <permissions>
      <mode>0600</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
    <timestamps>
      <atime>1795710556.972925295</atime>
      <mtime>1795710556.968220906</mtime>
      <ctime>1795710556.972863623</ctime>
      <btime>0</btime>
    </timestamps>
  </target>
  <backingStore>
    <path>/var/lib/kvmops-it/vol-exp/a</path>
    <format type='qcow2'/>
    <permissions>
      <mode>0600</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </backingStore>
</volume>
"""

# Hand-written in the shape libvirt's rbd backend reports: no <format>, path pool/image.
RBD_XML = """<volume type='network'>
  <name>web1-root</name>
  <key>vms/web1-root</key>
  <capacity unit='bytes'>10737418240</capacity>
  <allocation unit='bytes'>10737418240</allocation>
  <target>
    <path>vms/web1-root</path>
  </target>
</volume>
"""


def params(**overrides):
    base = {"pool": "images", "name": "disk1", "state": "present"}
    base.update(overrides)
    return base


def desired(**overrides):
    return vol.normalise_params(params(**overrides))


def existing(capacity=GIB, fmt="qcow2", backing=None, name="disk1"):
    return {
        "name": name,
        "key": f"/var/lib/libvirt/images/{name}",
        "path": f"/var/lib/libvirt/images/{name}",
        "capacity": capacity,
        "allocation": 200704,
        "format": fmt,
        "backing": backing,
    }


def qcow2_head(virtual_size, backing_offset=0):
    """The first 32 bytes of a qcow2 v3 header, the rest of the sector zero."""
    head = vol.QCOW2_MAGIC + (3).to_bytes(4, "big") + backing_offset.to_bytes(8, "big")
    head += (0).to_bytes(4, "big") + (16).to_bytes(4, "big") + virtual_size.to_bytes(8, "big")
    return head.ljust(vol.IMAGE_HEAD_BYTES, b"\0")


def refused(want, pool_type, current, sources=None):
    with pytest.raises(KvmopsError) as info:
        vol.plan_volume(want, pool_type, current, sources or {})
    assert info.value.kind == "libvirt volume"
    assert info.value.name == f"{want['pool']}/{want['name']}"
    return str(info.value)


def texts(plan):
    return [action["text"] for action in plan["actions"]]


class TestNormalise:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("20GiB", 20 * GIB), ("512MiB", 512 * MIB), ("10G", 10 * GIB), (64, 64 * MIB), ("64", 64 * MIB)],
    )
    def test_capacity_in_bytes_bare_numbers_are_mib(self, value, expected):
        assert desired(capacity=value)["capacity"] == expected

    def test_allocation_and_defaults(self):
        want = desired(capacity="1GiB", allocation=0)
        assert want["allocation"] == 0
        assert (want["force"], want["delete_snapshots"], want["refresh_pool"]) == (False, False, False)
        assert want["format"] is None

    @pytest.mark.parametrize(
        ("value", "cause"),
        [
            ("20XB", "invalid capacity: size '20XB' has unknown unit 'XB'"),
            ("1.5GiB", "invalid capacity: size '1.5GiB' is not a whole number"),
            ("lots", "invalid capacity: size 'lots' is not a whole number"),
            (True, "invalid capacity: size True is not a number"),
            ("1000B", "invalid capacity: '1000B' is not a positive whole number of 512-byte sectors"),
            (0, "invalid capacity: 0 is not a positive whole number of 512-byte sectors"),
        ],
    )
    def test_bad_capacity_names_the_volume(self, value, cause):
        with pytest.raises(KvmopsError) as info:
            desired(capacity=value)
        assert str(info.value).startswith(f"libvirt volume 'images/disk1': {cause}")

    def test_bad_allocation(self):
        with pytest.raises(KvmopsError, match=r"^libvirt volume 'images/disk1': invalid allocation: size '1QB'"):
            desired(capacity="1GiB", allocation="1QB")

    def test_relative_backing_path_refused(self):
        with pytest.raises(KvmopsError, match="backing_path 'base.qcow2' is not an absolute path"):
            desired(backing_path="base.qcow2")

    @pytest.mark.parametrize("option", ["clone_from", "backing_volume"])
    def test_volume_cannot_derive_from_itself(self, option):
        with pytest.raises(KvmopsError, match=f"{option} names the volume itself"):
            desired(**{option: "disk1"})


class TestXml:
    def test_parse_overlay(self):
        assert vol.parse_volume_xml(OVERLAY_XML) == {
            "name": "c",
            "key": "/var/lib/kvmops-it/vol-exp/c",
            "path": "/var/lib/kvmops-it/vol-exp/c",
            "capacity": MIB,
            "allocation": 200704,
            "format": "qcow2",
            "backing": {"path": "/var/lib/kvmops-it/vol-exp/a", "format": "qcow2"},
        }

    def test_parse_rbd_volume_without_format(self):
        parsed = vol.parse_volume_xml(RBD_XML)
        assert (parsed["path"], parsed["format"], parsed["backing"]) == ("vms/web1-root", None, None)
        assert parsed["capacity"] == 10 * GIB

    def test_parse_empty_backing_store_means_none(self):
        xml = "<volume><name>v</name><capacity unit='KiB'>4</capacity><target><path>/v</path></target>"
        xml += "<backingStore/></volume>"
        parsed = vol.parse_volume_xml(xml)
        assert parsed["backing"] is None
        assert parsed["capacity"] == 4096

    def test_build_plain(self):
        xml = vol.build_volume_xml("disk1", 20 * GIB, "qcow2")
        assert xml == (
            "<volume>\n"
            "  <name>disk1</name>\n"
            '  <capacity unit="bytes">21474836480</capacity>\n'
            "  <target>\n"
            '    <format type="qcow2"/>\n'
            "  </target>\n"
            "</volume>\n"
        )

    def test_build_overlay_with_allocation(self):
        xml = vol.build_volume_xml(
            "web1", GIB, "qcow2", allocation=0, backing={"path": "/images/base.raw", "format": "raw"}
        )
        assert xml == (
            "<volume>\n"
            "  <name>web1</name>\n"
            '  <capacity unit="bytes">1073741824</capacity>\n'
            '  <allocation unit="bytes">0</allocation>\n'
            "  <target>\n"
            '    <format type="qcow2"/>\n'
            "  </target>\n"
            "  <backingStore>\n"
            "    <path>/images/base.raw</path>\n"
            '    <format type="raw"/>\n'
            "  </backingStore>\n"
            "</volume>\n"
        )

    def test_names_are_escaped_not_templated(self):
        xml = vol.build_volume_xml("a<b>&c", MIB, "raw")
        assert etree.fromstring(xml).findtext("name") == "a<b>&c"

    def test_built_xml_reads_back(self):
        xml = vol.build_volume_xml("x", 3 * MIB, "raw", backing={"path": "/b", "format": "qcow2"})
        parsed = vol.parse_volume_xml(xml)
        assert (parsed["capacity"], parsed["format"], parsed["backing"]) == (
            3 * MIB,
            "raw",
            {"path": "/b", "format": "qcow2"},
        )


class TestInspectImage:
    def test_qcow2_virtual_size(self):
        assert vol.inspect_image(qcow2_head(8 * MIB), 1376256) == {
            "format": "qcow2",
            "virtual_size": 8 * MIB,
            "size": 1376256,
        }

    def test_anything_else_is_raw_of_its_own_size(self):
        assert vol.inspect_image(b"\xeb\x63\x90" + b"\0" * 509, 3 * MIB) == {
            "format": "raw",
            "virtual_size": 3 * MIB,
            "size": 3 * MIB,
        }

    def test_qcow2_with_backing_file_refused(self):
        with pytest.raises(vol.ImageError, match="backing file; flatten it first"):
            vol.inspect_image(qcow2_head(MIB, backing_offset=0x200), 1 << 20)

    @pytest.mark.parametrize(
        ("head", "fmt"),
        [
            (b"KDMV" + b"\0" * 508, "vmdk"),
            (b"vhdxfile" + b"\0" * 504, "vhdx"),
            (b"conectix" + b"\0" * 504, "vpc"),
            (b"\0" * 0x40 + b"\x7f\x10\xda\xbe" + b"\0" * 444, "vdi"),
        ],
    )
    def test_other_containers_refused(self, head, fmt):
        with pytest.raises(vol.ImageError, match=f"is a {fmt}"):
            vol.inspect_image(head, 4096)

    def test_empty_and_truncated(self):
        with pytest.raises(vol.ImageError, match="is empty"):
            vol.inspect_image(b"", 0)
        with pytest.raises(vol.ImageError, match="truncated qcow2"):
            vol.inspect_image(vol.QCOW2_MAGIC + b"\0" * 8, 12)


class TestPlanCreate:
    def test_create_defaults_to_qcow2_in_dir_pool(self):
        plan = vol.plan_volume(desired(capacity="2GiB"), "dir", None, {})
        assert plan["changed"] is True
        assert texts(plan) == ["create"]
        assert plan["actions"][0]["xml"] == vol.build_volume_xml("disk1", 2 * GIB, "qcow2")
        assert plan["before"] == {"name": "disk1", "pool": "images", "state": "absent"}
        assert plan["after"] == {
            "name": "disk1",
            "pool": "images",
            "state": "present",
            "capacity": 2 * GIB,
            "capacity_human": "2GiB",
            "format": "qcow2",
            "backing": None,
        }

    def test_create_defaults_to_raw_in_rbd_pool(self):
        plan = vol.plan_volume(desired(capacity="2GiB"), "rbd", None, {})
        assert plan["actions"][0]["xml"] == vol.build_volume_xml("disk1", 2 * GIB, "raw")
        assert plan["after"]["format"] == "raw"

    def test_qcow2_refused_in_rbd_pool(self):
        assert "pool type 'rbd' holds raw volumes only, not qcow2" in refused(
            desired(capacity="2GiB", format="qcow2"), "rbd", None
        )

    def test_create_with_allocation(self):
        plan = vol.plan_volume(desired(capacity="1GiB", allocation="1GiB", format="raw"), "dir", None, {})
        assert plan["actions"][0]["xml"] == vol.build_volume_xml("disk1", GIB, "raw", allocation=GIB)

    def test_create_needs_capacity(self):
        assert refused(desired(), "dir", None).endswith("capacity is required to create the volume")

    def test_overlay_on_backing_volume_takes_its_size(self):
        backing = {"path": "/images/base.qcow2", "format": "qcow2", "capacity": 4 * GIB}
        plan = vol.plan_volume(desired(backing_volume="base.qcow2"), "dir", None, {"backing": backing})
        assert texts(plan) == ["create"]
        assert plan["actions"][0]["xml"] == vol.build_volume_xml(
            "disk1", 4 * GIB, "qcow2", backing={"path": "/images/base.qcow2", "format": "qcow2"}
        )
        assert plan["after"]["backing"] == {"path": "/images/base.qcow2", "format": "qcow2"}
        assert plan["after"]["capacity"] == 4 * GIB

    def test_overlay_can_be_larger(self):
        backing = {"path": "/images/base.qcow2", "format": "qcow2", "capacity": 4 * GIB}
        plan = vol.plan_volume(desired(backing_volume="b", capacity="40GiB"), "dir", None, {"backing": backing})
        assert plan["after"]["capacity"] == 40 * GIB
        assert '<capacity unit="bytes">42949672960</capacity>' in plan["actions"][0]["xml"]

    def test_overlay_must_be_qcow2(self):
        backing = {"path": "/images/base.qcow2", "format": "qcow2", "capacity": GIB}
        assert "an overlay on a backing image must be qcow2, not raw" in refused(
            desired(backing_volume="b", format="raw"), "dir", None, {"backing": backing}
        )

    def test_overlay_refused_in_rbd_pool(self):
        backing = {"path": "vms/base", "format": None, "capacity": GIB}
        for want in (desired(backing_volume="base", format="qcow2"), desired(backing_volume="base")):
            message = refused(want, "rbd", None, {"backing": backing})
            assert message.endswith("pool type 'rbd' cannot hold qcow2 overlays on a backing image")

    def test_overlay_on_unknown_path_needs_format_and_capacity(self):
        unknown = {"path": "/srv/base.img", "format": None, "capacity": None}
        assert "set backing_format" in refused(desired(backing_path="/srv/base.img"), "dir", None, {"backing": unknown})
        assert "capacity is required" in refused(
            desired(backing_path="/srv/base.img", backing_format="raw"), "dir", None, {"backing": unknown}
        )
        plan = vol.plan_volume(
            desired(backing_path="/srv/base.img", backing_format="raw", capacity="1GiB"),
            "dir",
            None,
            {"backing": unknown},
        )
        assert plan["after"]["backing"] == {"path": "/srv/base.img", "format": "raw"}

    def test_backing_format_contradicting_libvirt_refused(self):
        known = {"path": "/images/base.qcow2", "format": "qcow2", "capacity": GIB}
        assert "backing_format raw does not match '/images/base.qcow2', which is qcow2" in refused(
            desired(backing_path="/images/base.qcow2", backing_format="raw"), "dir", None, {"backing": known}
        )

    def test_clone_keeps_source_size_and_format(self):
        source = existing(capacity=3 * GIB, fmt="raw", name="golden")
        plan = vol.plan_volume(desired(clone_from="golden"), "dir", None, {"clone": source})
        assert texts(plan) == ["clone from golden"]
        action = plan["actions"][0]
        assert (action["op"], action["source"]) == ("clone", "golden")
        assert action["xml"] == vol.build_volume_xml("disk1", 3 * GIB, "raw")
        assert (plan["after"]["capacity"], plan["after"]["format"]) == (3 * GIB, "raw")

    def test_clone_then_grow(self):
        source = existing(capacity=GIB, name="golden")
        plan = vol.plan_volume(desired(clone_from="golden", capacity="2GiB"), "dir", None, {"clone": source})
        assert texts(plan) == ["clone from golden", "resize 1GiB -> 2GiB"]
        assert plan["actions"][1]["capacity"] == 2 * GIB

    def test_clone_smaller_than_source_refused_even_forced(self):
        source = existing(capacity=2 * GIB, name="golden")
        message = refused(desired(clone_from="golden", capacity="1GiB", force=True), "dir", None, {"clone": source})
        assert message.endswith(
            "capacity 1GiB is smaller than the size 2GiB of the source volume 'golden'; a clone starts at its "
            "source's size (shrink it with force in a later run)"
        )

    def test_clone_in_rbd_pool_is_raw(self):
        source = vol.parse_volume_xml(RBD_XML)
        plan = vol.plan_volume(desired(clone_from="web1-root"), "rbd", None, {"clone": source})
        assert plan["actions"][0]["xml"] == vol.build_volume_xml("disk1", 10 * GIB, "raw")

    def test_upload_creates_at_virtual_size_then_grows(self):
        upload = vol.inspect_image(qcow2_head(8 * MIB), 1376256)
        plan = vol.plan_volume(desired(upload_src="/tmp/img.qcow2", capacity=16), "dir", None, {"upload": upload})
        assert texts(plan) == ["create", "upload", "resize 8MiB -> 16MiB"]
        assert plan["actions"][0]["xml"] == vol.build_volume_xml("disk1", 8 * MIB, "qcow2")
        assert plan["actions"][1] == {"op": "upload", "path": "/tmp/img.qcow2", "length": 1376256, "text": "upload"}
        assert plan["after"]["format"] == "qcow2"

    def test_upload_raw_without_capacity(self):
        upload = vol.inspect_image(b"\0" * 512, 3 * MIB)
        plan = vol.plan_volume(desired(upload_src="/tmp/disk.raw"), "dir", None, {"upload": upload})
        assert texts(plan) == ["create", "upload"]
        assert plan["after"]["capacity"] == 3 * MIB
        assert plan["after"]["format"] == "raw"

    def test_upload_format_must_match_the_file(self):
        upload = vol.inspect_image(qcow2_head(8 * MIB), 1376256)
        assert "upload_src '/tmp/i' is a qcow2 image, not raw" in refused(
            desired(upload_src="/tmp/i", format="raw"), "dir", None, {"upload": upload}
        )
        assert "holds raw volumes only, not qcow2" in refused(
            desired(upload_src="/tmp/i"), "logical", None, {"upload": upload}
        )

    def test_upload_refused_where_libvirt_cannot_upload(self):
        upload = vol.inspect_image(b"\0" * 512, 3 * MIB)
        message = refused(desired(upload_src="/tmp/disk.raw"), "rbd", None, {"upload": upload})
        assert message.endswith(
            "pool type 'rbd' does not support uploads through libvirt; import the image with "
            "the storage's own tools (for rbd: rbd import) and use refresh_pool"
        )

    def test_upload_capacity_below_image_refused(self):
        upload = vol.inspect_image(qcow2_head(8 * MIB), 1376256)
        message = refused(desired(upload_src="/tmp/i", capacity="4MiB", force=True), "dir", None, {"upload": upload})
        assert "capacity 4MiB is smaller than the virtual size 8MiB of upload_src '/tmp/i'" in message


class TestPlanExisting:
    def test_no_op(self):
        plan = vol.plan_volume(desired(capacity="1GiB"), "dir", existing(), {})
        assert (plan["changed"], plan["actions"]) == (False, [])
        assert plan["before"] == plan["after"]

    def test_no_capacity_accepts_any_size(self):
        plan = vol.plan_volume(desired(), "dir", existing(capacity=5 * GIB), {})
        assert plan["changed"] is False

    def test_grow(self):
        plan = vol.plan_volume(desired(capacity="2GiB"), "dir", existing(), {})
        assert texts(plan) == ["resize 1GiB -> 2GiB"]
        assert plan["actions"][0]["shrink"] is False
        assert (plan["before"]["capacity"], plan["after"]["capacity"]) == (GIB, 2 * GIB)
        assert (plan["before"]["capacity_human"], plan["after"]["capacity_human"]) == ("1GiB", "2GiB")

    def test_shrink_refused(self):
        message = refused(desired(capacity="512MiB"), "dir", existing())
        assert message == (
            "libvirt volume 'images/disk1': capacity 512MiB is smaller than the current 1GiB; shrinking cuts off "
            "the end of the disk and the data on it: set force: true to shrink"
        )

    def test_shrink_forced(self):
        plan = vol.plan_volume(desired(capacity="512MiB", force=True), "dir", existing(), {})
        assert texts(plan) == ["resize 1GiB -> 512MiB"]
        assert plan["actions"][0]["shrink"] is True
        assert plan["actions"][0]["capacity"] == 512 * MIB

    def test_shrink_below_allocation_refused_as_libvirt_would(self):
        current = existing(capacity=16 * MIB, fmt="raw")
        current["allocation"] = 16 * MIB
        message = refused(desired(capacity="4MiB", force=True), "dir", current)
        assert message.endswith(
            "cannot shrink to 4MiB: libvirt does not shrink a volume below the space it occupies (16MiB allocated)"
        )

    def test_human_sizes_that_are_not_whole_units(self):
        plan = vol.plan_volume(desired(capacity="1536MiB"), "dir", existing(capacity=GIB + 512), {})
        assert texts(plan) == ["resize 1073742336B -> 1536MiB"]

    def test_format_mismatch_refused(self):
        message = refused(desired(format="raw"), "dir", existing(fmt="qcow2"))
        assert "format is qcow2, not raw; changing it would need recreating the volume" in message

    def test_unset_format_accepts_existing(self):
        plan = vol.plan_volume(desired(capacity="1GiB"), "dir", existing(fmt="raw"), {})
        assert plan["changed"] is False
        assert plan["after"]["format"] == "raw"

    def test_rbd_volume_without_format_is_raw(self):
        plan = vol.plan_volume(desired(format="raw"), "rbd", vol.parse_volume_xml(RBD_XML), {})
        assert plan["changed"] is False
        assert plan["before"]["format"] == "raw"

    def test_same_backing_is_a_no_op(self):
        backing = {"path": "/images/base.qcow2", "format": "qcow2"}
        current = existing(backing=backing)
        plan = vol.plan_volume(
            desired(backing_volume="base.qcow2"), "dir", current, {"backing": dict(backing, capacity=GIB)}
        )
        assert plan["changed"] is False
        assert plan["after"]["backing"] == backing

    def test_different_backing_refused(self):
        current = existing(backing={"path": "/images/old.qcow2", "format": "qcow2"})
        wanted = {"path": "/images/new.qcow2", "format": "qcow2", "capacity": GIB}
        message = refused(desired(backing_volume="new.qcow2"), "dir", current, {"backing": wanted})
        assert "has '/images/old.qcow2', not '/images/new.qcow2'; changing the backing image would need" in message

    def test_backing_on_a_standalone_volume_refused(self):
        wanted = {"path": "/images/base.qcow2", "format": "qcow2", "capacity": GIB}
        message = refused(desired(backing_volume="base.qcow2"), "dir", existing(), {"backing": wanted})
        assert "has no backing image, not '/images/base.qcow2'" in message

    def test_clone_and_upload_ignored_once_present(self):
        for option in ({"clone_from": "golden"}, {"upload_src": "/tmp/img"}):
            plan = vol.plan_volume(desired(**option), "dir", existing(), {})
            assert plan["changed"] is False

    def test_forced_upload_replaces_the_volume(self):
        upload = vol.inspect_image(qcow2_head(GIB), 1376256)
        want = desired(upload_src="/tmp/img", force=True, delete_snapshots=True)
        plan = vol.plan_volume(want, "dir", existing(), {"upload": upload})
        assert texts(plan) == ["delete", "create", "upload"]
        # The dir backend rejects the snapshot flag, and delete_snapshots is for state=absent.
        assert plan["actions"][0]["with_snapshots"] is False

    def test_forced_upload_cannot_change_format(self):
        upload = vol.inspect_image(b"\0" * 512, GIB)
        assert "format is qcow2, not raw" in refused(
            desired(upload_src="/tmp/img", force=True), "dir", existing(), {"upload": upload}
        )


class TestPlanAbsent:
    def test_absent_no_op(self):
        plan = vol.plan_volume(desired(state="absent"), "dir", None, {})
        assert (plan["changed"], plan["actions"]) == (False, [])
        assert plan["after"] == {"name": "disk1", "pool": "images", "state": "absent"}

    def test_delete(self):
        plan = vol.plan_volume(desired(state="absent", capacity="9GiB", format="raw"), "dir", existing(), {})
        assert texts(plan) == ["delete"]
        assert plan["actions"][0]["with_snapshots"] is False
        assert plan["before"]["state"] == "present"
        assert plan["after"] == {"name": "disk1", "pool": "images", "state": "absent"}

    def test_rbd_always_deletes_snapshots(self):
        plan = vol.plan_volume(desired(state="absent"), "rbd", vol.parse_volume_xml(RBD_XML), {})
        assert plan["actions"][0]["with_snapshots"] is True

    def test_delete_snapshots_outside_rbd_refused(self):
        message = refused(desired(state="absent", delete_snapshots=True), "dir", existing())
        assert message.endswith("delete_snapshots applies to rbd pools only; pool 'images' is dir")

    def test_delete_snapshots_on_missing_volume_is_a_no_op(self):
        assert vol.plan_volume(desired(state="absent", delete_snapshots=True), "dir", None, {})["changed"] is False


def test_diff_and_result():
    want = desired(capacity="2GiB")
    plan = vol.plan_volume(want, "dir", existing(), {})
    diff = vol.build_diff(want, plan)
    assert diff["before_header"] == diff["after_header"] == "images/disk1"
    assert (diff["before"]["capacity"], diff["after"]["capacity"]) == (GIB, 2 * GIB)
    assert vol.volume_result(None, "images") is None
    assert vol.volume_result(existing(), "images")["pool"] == "images"


class TestPlannedPath:
    """Where check mode says a volume still to be created will be: what libvirt then names it."""

    @pytest.mark.parametrize(
        ("summary", "expected"),
        [
            ({"type": "dir", "path": "/var/lib/libvirt/images"}, "/var/lib/libvirt/images/web1-root.qcow2"),
            ({"type": "dir", "path": "/var/lib/libvirt/images/"}, "/var/lib/libvirt/images/web1-root.qcow2"),
            ({"type": "netfs", "path": "/mnt/nfs"}, "/mnt/nfs/web1-root.qcow2"),
            ({"type": "logical", "path": "/dev/vg0"}, "/dev/vg0/web1-root.qcow2"),
            # libvirt's rbd backend sets target/path to "<ceph pool>/<image>".
            ({"type": "rbd", "path": None, "source_name": "vms"}, "vms/web1-root.qcow2"),
            # Pool types naming volumes otherwise (partitions, LUNs): unknown, never guessed.
            ({"type": "disk", "path": "/dev"}, None),
            ({"type": "iscsi", "path": "/dev/disk/by-path"}, None),
            ({"type": "dir", "path": None}, None),
            ({"type": "rbd", "source_name": None}, None),
        ],
    )
    def test_by_pool_type(self, summary, expected):
        assert vol.planned_path(summary, "web1-root.qcow2") == expected
