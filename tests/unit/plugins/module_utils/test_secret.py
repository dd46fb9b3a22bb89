# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure secret logic: option checks, XML both ways, the plan and the update_value contract."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _secret as sec
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

# A cephx key in the shape ceph-authtool writes (type 1, 16-byte secret); made up for the tests.
CEPH_KEY = base64.b64encode(b"\x01\x00" + b"\x00" * 8 + b"\x10\x00" + bytes(range(16))).decode()

# Captured with `virsh secret-dumpxml` on the Debian 12 test bed (libvirt 9.0).
CURRENT_XML = """<secret ephemeral='no' private='yes'>
  <uuid>6B766F70-6974-2d65-7870-000000000001</uuid>
  <usage type='ceph'>
    <name>client.libvirt secret</name>
  </usage>
</secret>
"""


def params(**overrides):
    base = {
        "state": "present",
        "uuid": None,
        "usage_type": "ceph",
        "usage_name": "client.libvirt secret",
        "description": None,
        "private": True,
        "ephemeral": False,
        "value": None,
        "value_encoding": "base64",
        "update_value": "on_create",
    }
    base.update(overrides)
    return base


def current(**overrides):
    parsed = sec.parse_secret_xml(CURRENT_XML)
    parsed.update(overrides)
    return parsed


def test_parse_secret_xml_reads_usage_flags_and_lowercases_uuid():
    assert sec.parse_secret_xml(CURRENT_XML) == {
        "uuid": "6b766f70-6974-2d65-7870-000000000001",
        "usage_type": "ceph",
        "usage_name": "client.libvirt secret",
        "description": None,
        "private": True,
        "ephemeral": False,
    }


def test_parse_volume_usage():
    xml = (
        "<secret ephemeral='yes' private='no'><uuid>u</uuid><usage type='volume'><volume>/v/a</volume></usage></secret>"
    )
    parsed = sec.parse_secret_xml(xml)
    assert (parsed["usage_type"], parsed["usage_name"], parsed["private"], parsed["ephemeral"]) == (
        "volume",
        "/v/a",
        False,
        True,
    )


def test_build_secret_xml_round_trips():
    spec = current(description="key of client.libvirt")
    assert sec.parse_secret_xml(sec.build_secret_xml(spec)) == spec


def test_default_uuid_is_stable_and_depends_on_usage():
    first = sec.default_uuid("ceph", "client.libvirt secret")
    assert first == sec.default_uuid("ceph", "client.libvirt secret")
    assert first != sec.default_uuid("ceph", "client.other secret")
    assert first != sec.default_uuid("volume", "client.libvirt secret")


def test_ceph_value_is_decoded_to_the_key_bytes():
    desired = sec.normalise_params(params(value=CEPH_KEY))
    assert desired["value"] == base64.b64decode(CEPH_KEY)


@pytest.mark.parametrize(
    ("value", "encoding", "message"),
    [
        ("not base64 at all!", "base64", "is not valid base64"),
        (base64.b64encode(b"too short").decode(), "base64", "is not a cephx key"),
        ("", "text", "value is empty"),
    ],
)
def test_bad_values_fail_without_quoting_the_value(value, encoding, message):
    with pytest.raises(KvmopsError) as err:
        sec.normalise_params(params(value=value, value_encoding=encoding))
    assert message in str(err.value)
    if value:
        assert value not in str(err.value)


def test_text_value_for_a_volume_passphrase():
    desired = sec.normalise_params(
        params(usage_type="volume", usage_name="/v/a.luks", value="s3cret", value_encoding="text")
    )
    assert desired["value"] == b"s3cret"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"uuid": "nope"}, "is not a UUID"),
        ({"usage_type": "volume", "usage_name": "relative"}, "absolute path"),
        ({"usage_name": None}, "give usage_name"),
        ({"usage_name": None, "uuid": "6b766f70-6974-2d65-7870-000000000001"}, "usage_name is required"),
    ],
)
def test_invalid_options(overrides, message):
    with pytest.raises(KvmopsError) as err:
        sec.normalise_params(params(**overrides))
    assert message in str(err.value)


def test_new_secret_is_defined_with_the_derived_uuid_then_valued():
    desired = sec.normalise_params(params(value=CEPH_KEY))
    plan = sec.plan_secret(desired, None)
    assert [a["op"] for a in plan["actions"]] == ["define", "set value"]
    assert plan["value_written"] is True
    assert plan["after"]["uuid"] == sec.default_uuid("ceph", "client.libvirt secret")
    assert 'private="yes"' in plan["actions"][0]["xml"]


def test_new_secret_without_value_is_only_defined():
    plan = sec.plan_secret(sec.normalise_params(params()), None)
    assert [a["op"] for a in plan["actions"]] == ["define"]
    assert plan["value_written"] is False


def test_existing_private_secret_on_create_is_left_alone():
    plan = sec.plan_secret(sec.normalise_params(params(value=CEPH_KEY)), current())
    assert plan == {**plan, "changed": False, "actions": [], "value_written": False}


def test_existing_private_secret_always_is_written_every_run():
    plan = sec.plan_secret(sec.normalise_params(params(value=CEPH_KEY, update_value="always")), current())
    assert [a["op"] for a in plan["actions"]] == ["set value"]
    assert plan["changed"] and plan["value_written"]


@pytest.mark.parametrize(
    ("update_value", "matches", "written"),
    [
        ("always", True, False),
        ("always", False, True),
        ("always", None, True),
        ("on_create", False, False),
        # A readable secret that visibly has no value gets one even with on_create.
        ("on_create", None, True),
    ],
)
def test_readable_secret_value_is_compared(update_value, matches, written):
    desired = sec.normalise_params(params(value=CEPH_KEY, update_value=update_value, private=False))
    plan = sec.plan_secret(desired, current(private=False), matches)
    assert plan["value_written"] is written
    assert plan["changed"] is written


def test_metadata_change_redefines_and_keeps_the_uuid():
    plan = sec.plan_secret(sec.normalise_params(params(description="new")), current())
    assert [a["text"] for a in plan["actions"]] == ["update"]
    assert plan["after"]["uuid"] == "6b766f70-6974-2d65-7870-000000000001"
    assert "<description>new</description>" in plan["actions"][0]["xml"]


def test_description_left_out_is_kept():
    plan = sec.plan_secret(sec.normalise_params(params()), current(description="kept"))
    assert not plan["changed"]


def test_lifting_private_needs_the_value_and_recreates():
    with pytest.raises(KvmopsError, match="cannot make an existing secret readable"):
        sec.plan_secret(sec.normalise_params(params(private=False)), current())
    plan = sec.plan_secret(sec.normalise_params(params(private=False, value=CEPH_KEY)), current())
    assert [a["op"] for a in plan["actions"]] == ["undefine", "define", "set value"]


def test_absent():
    desired = sec.normalise_params(params(state="absent"))
    assert sec.plan_secret(desired, None)["changed"] is False
    plan = sec.plan_secret(desired, current())
    assert [a["op"] for a in plan["actions"]] == ["undefine"]


def test_identity_conflicts_are_refused():
    desired = sec.normalise_params(params(uuid="6b766f70-6974-2d65-7870-000000000002"))
    with pytest.raises(KvmopsError, match="already belongs to secret 6b766f70-6974-2d65-7870-000000000001"):
        sec.check_identity(desired, None, current())
    other_usage = current(usage_name="client.other secret")
    desired = sec.normalise_params(params(uuid="6b766f70-6974-2d65-7870-000000000001"))
    with pytest.raises(KvmopsError, match="usage cannot change"):
        sec.check_identity(desired, other_usage, None)


def test_identity_by_usage_when_no_uuid_given():
    desired = sec.normalise_params(params())
    assert sec.check_identity(desired, None, current()) == current()


def test_diff_shows_metadata_never_the_value():
    desired = sec.normalise_params(params(value=CEPH_KEY))
    plan = sec.plan_secret(desired, None)
    diff = sec.build_diff(desired, plan)
    text = diff["before"] + diff["after"] + diff["before_header"] + diff["after_header"]
    assert CEPH_KEY not in text
    assert "value: (written)" in diff["after"]
    assert diff["before"] == "state: absent\n"
    # Nor do the plan's texts or its metadata.
    assert CEPH_KEY not in repr([a["text"] for a in plan["actions"]]) + repr(plan["after"])
