# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt_volume's options in-process: ``volumes`` items validated as single volumes, top-level defaults."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.kvmops.kvm.plugins.modules import libvirt_volume


@pytest.fixture
def batch(monkeypatch):
    """Replaces the manager: records the items it gets, answers one result per item."""
    seen = {}

    def manage_volumes(uri, items, check_mode, want_diff):
        seen.update(uri=uri, items=items, check_mode=check_mode)
        results = []
        for item in items:
            result = {"pool": item["pool"], "name": item["name"], "changed": item["name"] != "same", "actions": []}
            if item["name"] == "bad":
                result.update(failed=True, msg=f"libvirt volume '{item['pool']}/bad': boom", changed=False)
            if want_diff:
                result["diff"] = {"before": {}, "after": {"name": item["name"]}}
            results.append(result)
        return results, [r["msg"] for r in results if r.get("failed")]

    monkeypatch.setattr(libvirt_volume, "manage_volumes", manage_volumes)
    return seen


def run(capsys, diff=False, **args):
    args.update(_ansible_check_mode=False, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit):
        libvirt_volume.main()
    return json.loads(capsys.readouterr().out)


def test_top_level_options_are_defaults_of_every_item(capsys, batch):
    out = run(
        capsys,
        diff=True,
        pool="default",
        format="qcow2",
        volumes=[{"name": "a.qcow2", "capacity": "1GiB"}, {"name": "b", "pool": "ceph-vms", "format": "raw"}],
    )
    first, second = batch["items"]
    assert (first["pool"], first["name"], first["format"], first["capacity"]) == ("default", "a.qcow2", "qcow2", "1GiB")
    assert (second["pool"], second["format"], second["state"]) == ("ceph-vms", "raw", "present")
    assert out["changed"] is True and [v["name"] for v in out["volumes"]] == ["a.qcow2", "b"]
    assert out["diff"] == [{"before": {}, "after": {"name": "a.qcow2"}}, {"before": {}, "after": {"name": "b"}}]


def test_nothing_changed_is_not_changed(capsys, batch):
    out = run(capsys, pool="default", volumes=[{"name": "same"}])
    assert out["changed"] is False and "diff" not in out


def test_a_failed_item_fails_the_module_naming_it(capsys, batch):
    out = run(capsys, pool="default", volumes=[{"name": "a", "capacity": 8}, {"name": "bad", "capacity": 8}])
    assert out["failed"] is True
    assert out["msg"] == "1 of 2 volumes failed: libvirt volume 'default/bad': boom"
    assert out["changed"] is True and len(out["volumes"]) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"volumes": [{"name": "a", "capacity": 8}]}, "a: missing required arguments: pool"),
        ({"pool": "default", "volumes": [{"capacity": 8}]}, "volumes[0]: missing required arguments: name"),
        (
            {"pool": "default", "volumes": [{"name": "a", "clone_from": "x", "backing_volume": "y"}]},
            "default/a: parameters are mutually exclusive: backing_volume|backing_path|clone_from|upload_src",
        ),
        ({"pool": "default", "volumes": [{"name": "a", "format": "vmdk"}]}, "default/a: value of format must be one"),
        ({"pool": "default", "volumes": [{"name": "a", "colour": "red"}]}, "default/a: colour. Supported parameters"),
    ],
)
def test_invalid_items_fail_before_anything_runs(capsys, batch, args, message):
    out = run(capsys, **args)
    assert out["failed"] is True
    assert out["msg"].startswith("invalid volumes, nothing was changed: ")
    assert message in out["msg"]
    assert "items" not in batch


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"pool": "default", "name": "a", "volumes": [{"name": "b"}]}, "mutually exclusive: name|volumes"),
        ({"pool": "default"}, "one of the following is required: name, volumes"),
        ({"name": "a"}, "missing parameter(s) required by 'name': pool"),
    ],
)
def test_single_and_batch_forms_exclude_each_other(capsys, batch, args, message):
    out = run(capsys, **args)
    assert out["failed"] is True and message in out["msg"]
