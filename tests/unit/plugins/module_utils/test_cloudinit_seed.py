# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure seed code: files → ISO bytes → files again, the plan and the diff text."""

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _cloudinit_seed as seed

USER = "#cloud-config\npassword: s3cret-for-test\n"
META = "instance-id: web1\nlocal-hostname: web1\n"
NET = "version: 2\nethernets:\n  eth0:\n    addresses: [203.0.113.21/24]\n"


def test_built_iso_reads_back_with_label_and_files(tmp_path):
    files = seed.desired_files(USER, META, NET)
    path = tmp_path / "seed.iso"
    path.write_bytes(seed.build_iso(files))
    label, got = seed.read_iso(path.read_bytes())
    assert label == "cidata"
    assert got == {"user-data": USER.encode(), "meta-data": META.encode(), "network-config": NET.encode()}
    # ISO 9660 images are whole 2 KiB sectors with the primary descriptor at sector 16.
    data = path.read_bytes()
    assert len(data) % 2048 == 0
    assert data[16 * 2048 + 1 : 16 * 2048 + 6] == b"CD001"


def test_network_config_is_left_out_when_not_given():
    files = seed.desired_files(USER, META)
    assert sorted(files) == ["meta-data", "user-data"]
    assert seed.read_iso(seed.build_iso(files))[1] == files


def test_dicts_become_json_and_user_data_a_cloud_config():
    files = seed.desired_files({"packages": ["nginx"]}, {"instance-id": "a"}, {"version": 2})
    assert files["user-data"].startswith(b"#cloud-config\n{")
    assert files["meta-data"] == b'{\n  "instance-id": "a"\n}\n'
    assert b'"version": 2' in files["network-config"]


def test_plan_is_empty_for_the_same_files_even_with_new_timestamps():
    files = seed.desired_files(USER, META, NET)
    first = seed.read_iso(seed.build_iso(files))
    assert seed.plan(files, first) == []
    assert seed.plan(files, None) == ["create"]


def test_plan_names_each_changed_added_and_removed_file():
    before = seed.read_iso(seed.build_iso(seed.desired_files(USER, META, NET)))
    after = seed.desired_files(USER + "hostname: x\n", META)
    assert seed.plan(after, before) == ["update user-data", "remove network-config"]
    grown = seed.desired_files(USER, META, NET)
    smaller = seed.read_iso(seed.build_iso(seed.desired_files(USER, META)))
    assert seed.plan(grown, smaller) == ["add network-config"]


def test_plan_relabels_an_iso_with_another_label():
    files = seed.desired_files(USER, META)
    other = seed.read_iso(seed.build_iso(files, label="OTHER"))
    assert other[0] == "OTHER"
    assert seed.plan(files, other) == ["label OTHER -> cidata"]


def test_non_iso_bytes_are_refused():
    with pytest.raises(seed.SeedFormatError):
        seed.read_iso(b"not an iso at all" * 4096)
    with pytest.raises(seed.SeedFormatError):
        seed.read_iso(b"")


def test_unknown_file_names_are_refused():
    with pytest.raises(ValueError, match="unknown seed files"):
        seed.build_iso({"vendor-data": b"x"})


def test_diff_text_hides_user_data_unless_asked():
    files = seed.desired_files(USER, META, NET)
    hidden = seed.render_seed("cidata", files)
    assert "s3cret" not in hidden
    assert "sha256" in hidden and "# --- user-data" in hidden
    assert "instance-id: web1" in hidden and "203.0.113.21/24" in hidden
    shown = seed.render_seed("cidata", files, show_user_data=True)
    assert "password: s3cret-for-test" in shown
    assert seed.render_seed(None, {}) == ""


def test_changed_user_data_changes_the_hidden_diff_line():
    one = seed.render_seed("cidata", seed.desired_files(USER, META))
    two = seed.render_seed("cidata", seed.desired_files(USER + "x: 1\n", META))
    assert one != two
