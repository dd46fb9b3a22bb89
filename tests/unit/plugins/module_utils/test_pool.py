# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure pool logic: option checks, desired XML, comparison with libvirt's, the plan."""

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _pool as pl
from ansible_collections.kvmops.kvm.plugins.module_utils import _xml_subset as xs
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError

SECRET = "6b766f70-6974-2d65-7870-000000000001"

# Captured with `virsh pool-dumpxml --inactive` on the Debian 12 test bed (libvirt 9.0).
RBD_XML = f"""<pool type='rbd'>
  <name>ceph-vms</name>
  <uuid>15332937-ca9d-4593-8351-59ee7772093a</uuid>
  <capacity unit='bytes'>4294967296</capacity>
  <allocation unit='bytes'>10545</allocation>
  <available unit='bytes'>3984379904</available>
  <source>
    <host name='198.51.100.1' port='6789'/>
    <name>vms</name>
    <auth type='ceph' username='libvirt'>
      <secret uuid='{SECRET}'/>
    </auth>
  </source>
</pool>
"""

DIR_XML = """<pool type='dir'>
  <name>images</name>
  <uuid>3df6e6d3-0241-4787-ab1d-561c07ada7fb</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
  </source>
  <target>
    <path>/srv/images</path>
    <permissions>
      <mode>0711</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
</pool>
"""


def params(**overrides):
    base = {
        "name": "ceph-vms",
        "type": "rbd",
        "state": "active",
        "autostart": None,
        "build": False,
        "refresh": False,
        "force": False,
        "path": None,
        "logical": None,
        "netfs": None,
        "rbd": {
            "pool": "vms",
            "hosts": [{"name": "198.51.100.1", "port": 6789}],
            "username": "libvirt",
            "secret_uuid": SECRET,
            "secret_usage": None,
            "probe_timeout": 3,
        },
    }
    base.update(overrides)
    return base


def dir_params(**overrides):
    return params(name="images", type="dir", path="/srv/images", rbd=None, **overrides)


def current(xml=RBD_XML, active=True, autostart=False, volumes=0):
    return {"xml": xml, "active": active, "autostart": autostart, "volumes": volumes}


def ops(plan):
    return [action["op"] for action in plan["actions"]]


def test_parse_pool_summary():
    _root, summary = pl.parse_pool(RBD_XML)
    assert summary == {
        "name": "ceph-vms",
        "uuid": "15332937-ca9d-4593-8351-59ee7772093a",
        "type": "rbd",
        "path": None,
        "source_name": "vms",
        "hosts": [{"name": "198.51.100.1", "port": 6789}],
        "username": "libvirt",
        "secret_uuid": SECRET,
        "secret_usage": None,
        "capacity": 4294967296,
        "allocation": 10545,
        "available": 3984379904,
    }


def test_rbd_desired_xml():
    desired = pl.normalise_params(params())
    assert xs.to_xml(pl.build_desired(desired)) == (
        '<pool type="rbd"><name>ceph-vms</name><source><name>vms</name>'
        '<host name="198.51.100.1" port="6789"/>'
        f'<auth type="ceph" username="libvirt"><secret uuid="{SECRET}"/></auth></source></pool>'
    )


@pytest.mark.parametrize(
    ("kind", "options", "fragments"),
    [
        ("dir", {"path": "/srv/images"}, ["<target><path>/srv/images</path></target>"]),
        (
            "netfs",
            {"path": "/mnt/t", "netfs": {"host": "nfs1", "dir": "/export", "format": "nfs"}},
            ['<host name="nfs1"/>', '<dir path="/export"/>', '<format type="nfs"/>'],
        ),
        (
            "logical",
            {"logical": {"vg": "vg0", "devices": ["/dev/sdb"]}},
            ["<name>vg0</name>", '<device path="/dev/sdb"/>', '<format type="lvm2"/>'],
        ),
    ],
)
def test_other_types_desired_xml(kind, options, fragments):
    desired = pl.normalise_params(params(name="p", type=kind, rbd=None, **options))
    xml = xs.to_xml(pl.build_desired(desired))
    for fragment in fragments:
        assert fragment in xml


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "a/b"}, "the name must be"),
        ({"type": "dir", "rbd": None}, "a dir pool needs path"),
        ({"path": "/x"}, "path does not apply to a rbd pool"),
        ({"rbd": {"pool": "vms", "hosts": []}}, "at least one Ceph monitor"),
        ({"rbd": {"pool": "vms", "hosts": [{"name": "m", "port": 70000}]}}, "is not a TCP port"),
        ({"rbd": {"pool": "vms", "hosts": [{"name": "m"}], "username": "libvirt"}}, "needs rbd.secret_uuid"),
        ({"rbd": {"pool": "vms", "hosts": [{"name": "m"}], "secret_usage": "x"}}, "need rbd.username"),
        ({"rbd": {"pool": "vms", "hosts": [{"name": "m"}], "username": "u", "secret_uuid": "x"}}, "not a UUID"),
        ({"build": True}, "rbd pools cannot be built"),
        ({"type": None, "rbd": {"pool": "vms", "hosts": [{"name": "m"}]}}, "type is required"),
    ],
)
def test_invalid_options_name_the_pool(overrides, message):
    with pytest.raises(KvmopsError) as err:
        pl.normalise_params(params(**overrides))
    assert message in str(err.value)
    assert str(err.value).startswith("libvirt pool '")


def test_new_rbd_pool_is_defined_started_and_autostarted():
    plan = pl.plan_pool(pl.normalise_params(params(autostart=True)), None)
    assert ops(plan) == ["define", "start", "autostart"]
    assert plan["created"] and plan["changed"]
    assert plan["after"]["state"] == "active"


def test_new_dir_pool_built_when_asked_and_left_stopped_with_present():
    plan = pl.plan_pool(pl.normalise_params(dir_params(state="present", build=True)), None)
    assert ops(plan) == ["define", "build"]


def test_unchanged_pool_is_a_no_op_even_with_what_libvirt_filled_in():
    plan = pl.plan_pool(pl.normalise_params(params()), current())
    assert plan["actions"] == [] and not plan["changed"]
    plan = pl.plan_pool(pl.normalise_params(dir_params()), current(DIR_XML))
    assert plan["actions"] == []


def test_monitor_change_updates_and_restarts_an_empty_running_pool():
    hosts = [{"name": "198.51.100.1", "port": 6789}, {"name": "198.51.100.2", "port": 6789}]
    rbd = {**params()["rbd"], "hosts": hosts}
    plan = pl.plan_pool(pl.normalise_params(params(rbd=rbd)), current())
    assert ops(plan) == ["define", "destroy", "start"]
    assert plan["changes"] == ["pool/source/host[198.51.100.2:6789]: missing, to be added"]
    merged = xs.parse(plan["actions"][0]["xml"])
    # libvirt's uuid survives the merge.
    assert merged.findtext("uuid") == "15332937-ca9d-4593-8351-59ee7772093a"
    assert [h.get("name") for h in merged.iterfind("source/host")] == ["198.51.100.1", "198.51.100.2"]


def test_removed_monitor_is_removed_because_the_set_is_owned():
    rbd = {**params()["rbd"], "hosts": [{"name": "198.51.100.3", "port": 6789}]}
    plan = pl.plan_pool(pl.normalise_params(params(rbd=rbd)), current())
    merged = xs.parse(plan["actions"][0]["xml"])
    assert [h.get("name") for h in merged.iterfind("source/host")] == ["198.51.100.3"]


def test_changing_a_pool_with_volumes_is_refused_unless_forced():
    rbd = {**params()["rbd"], "pool": "other"}
    with pytest.raises(KvmopsError, match="holds 2 volumes; set force: true"):
        pl.plan_pool(pl.normalise_params(params(rbd=rbd)), current(volumes=2))
    plan = pl.plan_pool(pl.normalise_params(params(rbd=rbd, force=True)), current(volumes=2))
    assert ops(plan) == ["define", "destroy", "start"]


def test_changing_an_inactive_pool_is_refused_unless_forced():
    rbd = {**params()["rbd"], "pool": "other"}
    with pytest.raises(KvmopsError, match="the pool is inactive"):
        pl.plan_pool(pl.normalise_params(params(rbd=rbd, state="present")), current(active=False, volumes=None))


def test_secret_change_replaces_the_whole_auth():
    rbd = {**params()["rbd"], "secret_uuid": None, "secret_usage": "client.libvirt secret"}
    plan = pl.plan_pool(pl.normalise_params(params(rbd=rbd)), current())
    auth = xs.parse(plan["actions"][0]["xml"]).find("source/auth")
    assert auth.find("secret").attrib == {"usage": "client.libvirt secret"}


def test_type_cannot_change():
    with pytest.raises(KvmopsError, match="is a dir pool, not rbd"):
        pl.plan_pool(pl.normalise_params(params(name="images")), current(DIR_XML))


def test_absent_with_volumes_is_refused_then_forced():
    desired = pl.normalise_params(params(state="absent"))
    with pytest.raises(KvmopsError, match="deleting the pool refused: the pool holds 1 volume;"):
        pl.plan_pool(desired, current(volumes=1))
    plan = pl.plan_pool(pl.normalise_params(params(state="absent", force=True)), current(volumes=1))
    assert ops(plan) == ["destroy", "undefine"]
    assert ops(pl.plan_pool(desired, current(volumes=0))) == ["destroy", "undefine"]
    assert ops(pl.plan_pool(desired, None)) == []


def test_absent_of_an_inactive_pool_needs_force():
    desired = pl.normalise_params(params(state="absent", type=None, rbd=None))
    with pytest.raises(KvmopsError, match="cannot tell whether it holds volumes"):
        pl.plan_pool(desired, current(active=False, volumes=None))


def test_run_state_only_without_type():
    desired = pl.normalise_params(params(type=None, rbd=None, state="inactive", autostart=False))
    plan = pl.plan_pool(desired, current(autostart=True))
    assert [a["text"] for a in plan["actions"]] == ["stop", "autostart off"]


def test_refresh_is_not_a_change_and_skipped_right_after_start():
    plan = pl.plan_pool(pl.normalise_params(params(refresh=True)), current())
    assert ops(plan) == ["refresh"] and not plan["changed"]
    plan = pl.plan_pool(pl.normalise_params(params(refresh=True)), current(active=False, volumes=None))
    assert ops(plan) == ["start"]


def test_needs_ceph_only_for_calls_that_reach_the_cluster():
    desired = pl.normalise_params(params())
    assert pl.needs_ceph(desired, None, pl.plan_pool(desired, None))
    assert not pl.needs_ceph(desired, "rbd", pl.plan_pool(desired, current()))
    absent = pl.normalise_params(params(state="absent", type=None, rbd=None))
    assert not pl.needs_ceph(absent, "rbd", pl.plan_pool(absent, current()))


def test_monitors_of_uses_default_ports_when_none_given():
    rbd = {**params()["rbd"], "hosts": [{"name": "m1", "port": None}, {"name": "m2", "port": 6790}]}
    desired = pl.normalise_params(params(rbd=rbd))
    assert pl.monitors_of(desired, None) == [("m1", [3300, 6789]), ("m2", [6790])]
    bare = pl.normalise_params(params(type=None, rbd=None))
    assert pl.monitors_of(bare, pl.parse_pool(RBD_XML)[1]) == [("198.51.100.1", [6789])]


def test_diff_shows_state_autostart_and_xml():
    desired = pl.normalise_params(params(autostart=True))
    diff = pl.build_diff(desired, pl.plan_pool(desired, None))
    assert diff["before"] == "state: absent\n"
    assert diff["after"].startswith("state: active\nautostart: true\n<pool")
