# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kvmops.kvm.libvirt_secret through Ansible against the test bed's real libvirtd.

Values are fresh cephx keys from ceph-authtool (no cluster needed); what
libvirt stored is checked with virsh and in libvirt's own secret store, never
through the module.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = "kvmops.kvm.libvirt_secret"
USAGE = "kvmops-it-secret"
VOLUME_PATH = "/var/lib/kvmops-it/secret/disk.luks"
SECRETS_DIR = Path("/etc/libvirt/secrets")


def run(*args, check=True):
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False)
    return proc


def virsh(uri, *args, check=True):
    return run("virsh", "--connect", uri, *args, check=check)


def new_key():
    if not shutil.which("ceph-authtool"):
        pytest.fail("ceph-authtool not found: install ceph-common", pytrace=False)
    return run("ceph-authtool", "--gen-print-key").stdout.strip()


def secret_uuids(uri, usage):
    rows = virsh(uri, "secret-list").stdout.splitlines()[2:]
    return [row.split()[0] for row in rows if row.strip().endswith(usage)]


def stored_value(uuid):
    """What libvirt keeps on disk for a persistent secret: the value, base64."""
    return (SECRETS_DIR / f"{uuid}.base64").read_text().strip()


def remove(uri):
    for usage in (USAGE, f"{USAGE}-2", VOLUME_PATH):
        for uuid in secret_uuids(uri, usage):
            virsh(uri, "secret-undefine", uuid, check=False)


@pytest.fixture
def clean(libvirtd):
    remove(libvirtd)
    yield libvirtd
    remove(libvirtd)


def secret(run_module, uri, check=False, diff=False, **args):
    return run_module(MODULE, {"uri": uri, "usage_name": USAGE, **args}, check=check, diff=diff)


def test_create_predicted_by_check_mode_then_idempotent(clean, run_module):
    key = new_key()
    predicted = secret(run_module, clean, check=True, diff=True, value=key)
    assert not predicted.failed, predicted.result
    assert (predicted["changed"], predicted["actions"], predicted["value_written"]) == (
        True,
        ["define", "set value"],
        True,
    )
    assert secret_uuids(clean, USAGE) == []
    assert key not in predicted.stdout

    created = secret(run_module, clean, diff=True, value=key, description="it key")
    assert (created["changed"], created["actions"], created["value_written"]) == (True, ["define", "set value"], True)
    (uuid,) = secret_uuids(clean, USAGE)
    assert created["secret"] == {
        "uuid": uuid,
        "usage_type": "ceph",
        "usage_name": USAGE,
        "description": "it key",
        "private": True,
        "ephemeral": False,
    }
    # The diff is metadata only.
    assert "value: (written)" in created["diff"]["after"]
    assert key not in created.stdout and key not in created.stderr
    # Stored as the decoded key, which libvirt keeps base64-encoded: the same text.
    assert stored_value(uuid) == key
    # Private: libvirt refuses to hand it out.
    denied = virsh(clean, "secret-get-value", uuid, check=False)
    assert denied.returncode != 0 and "private" in denied.stderr

    again = secret(run_module, clean, value=new_key(), description="it key")
    assert (again["changed"], again["actions"], again["value_written"]) == (False, [], False)
    assert stored_value(uuid) == key, "on_create must not overwrite an existing value"


def test_uuid_is_derived_from_the_usage_and_stable(clean, run_module):
    first = secret(run_module, clean)["secret"]["uuid"]
    secret(run_module, clean, state="absent")
    assert secret(run_module, clean)["secret"]["uuid"] == first
    other = run_module(MODULE, {"uri": clean, "usage_name": f"{USAGE}-2"})["secret"]["uuid"]
    assert other != first


def test_update_value_always_writes_a_private_secret_every_run(clean, run_module):
    secret(run_module, clean, value=new_key())
    rotated = new_key()
    first = secret(run_module, clean, value=rotated, update_value="always")
    assert (first["changed"], first["value_written"], first["actions"]) == (True, True, ["set value"])
    assert stored_value(first["secret"]["uuid"]) == rotated
    # A private value cannot be compared, so "always" keeps writing (and saying so).
    second = secret(run_module, clean, value=rotated, update_value="always")
    assert (second["changed"], second["value_written"]) == (True, True)


def test_readable_secret_is_compared_before_writing(clean, run_module):
    key = new_key()
    secret(run_module, clean, value=key, private=False)
    same = secret(run_module, clean, value=key, private=False, update_value="always")
    assert (same["changed"], same["value_written"]) == (False, False)
    other = new_key()
    changed = secret(run_module, clean, value=other, private=False, update_value="always")
    assert (changed["changed"], changed["value_written"]) == (True, True)
    uuid = changed["secret"]["uuid"]
    assert virsh(clean, "secret-get-value", uuid).stdout.strip() == other


def test_metadata_change_keeps_the_value(clean, run_module):
    key = new_key()
    uuid = secret(run_module, clean, value=key)["secret"]["uuid"]
    updated = secret(run_module, clean, diff=True, description="new words")
    assert (updated["changed"], updated["actions"], updated["value_written"]) == (True, ["update"], False)
    assert "-description: null\n" not in updated["diff"]["before"]
    assert "description: new words" in updated["diff"]["after"]
    assert stored_value(uuid) == key


def test_private_cannot_be_lifted_without_the_value(clean, run_module):
    secret(run_module, clean, value=new_key())
    refused = secret(run_module, clean, private=False)
    assert refused.failed
    assert "cannot make an existing secret readable" in refused["msg"]
    key = new_key()
    recreated = secret(run_module, clean, private=False, value=key)
    assert recreated["actions"] == ["undefine (to lift the private flag)", "define", "set value"]
    assert virsh(clean, "secret-get-value", recreated["secret"]["uuid"]).stdout.strip() == key


def test_volume_secret_with_a_text_passphrase(clean, run_module):
    result = run_module(
        MODULE,
        {
            "uri": clean,
            "usage_type": "volume",
            "usage_name": VOLUME_PATH,
            "value": "correct horse battery staple",
            "value_encoding": "text",
            "private": False,
        },
    )
    assert result["value_written"]
    stored = virsh(clean, "secret-get-value", result["secret"]["uuid"]).stdout.strip()
    assert base64.b64decode(stored) == b"correct horse battery staple"


def test_bad_key_fails_without_echoing_it_and_defines_nothing(clean, run_module):
    bad = base64.b64encode(b"this is not a cephx key").decode()
    result = secret(run_module, clean, value=bad)
    assert result.failed
    assert result["msg"] == (
        f"libvirt secret 'ceph '{USAGE}'': value is not a cephx key: give the base64 key of the client's keyring "
        "(its 'key = ...' line, or the output of 'ceph auth get-key client.NAME')"
    )
    assert bad not in result.stdout
    assert secret_uuids(clean, USAGE) == []


def test_uuid_and_usage_conflicts_name_the_secret(clean, run_module):
    uuid = secret(run_module, clean)["secret"]["uuid"]
    other_uuid = "6b766f70-6974-2d73-6563-000000000001"
    taken = secret(run_module, clean, uuid=other_uuid)
    assert taken.failed
    assert f"already belongs to secret {uuid}" in taken["msg"]
    moved = run_module(MODULE, {"uri": clean, "uuid": uuid, "usage_name": f"{USAGE}-2"})
    assert moved.failed
    assert f"secret {uuid} exists for ceph '{USAGE}'" in moved["msg"]


def test_absent_predicted_then_done(clean, run_module):
    secret(run_module, clean, value=new_key())
    predicted = secret(run_module, clean, check=True, state="absent")
    assert predicted["changed"] and predicted["actions"] == ["undefine"]
    assert len(secret_uuids(clean, USAGE)) == 1
    assert secret(run_module, clean, state="absent")["changed"]
    assert secret_uuids(clean, USAGE) == []
    assert not secret(run_module, clean, state="absent")["changed"]
