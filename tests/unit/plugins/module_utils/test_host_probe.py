# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_probe's pure parsers and its file readers on a temporary directory."""

from __future__ import annotations

import os

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils import _host_probe as hp
from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError


def test_sysctl_keys_map_into_proc_sys():
    assert hp.sysctl_path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward"


@pytest.mark.parametrize("key", ["", "../etc/shadow", "/etc/passwd", ".hidden", "vm..x"])
def test_keys_that_would_leave_proc_sys_are_refused(key):
    with pytest.raises(KvmopsError, match="not a sysctl key"):
        hp.sysctl_path(key)


def test_sysctl_values_read_as_sysctl_prints_them():
    assert hp.sysctl_value("32768\t60999\n") == "32768 60999"
    assert hp.sysctl_value("1\n") == "1"


def test_dpkg_output_keeps_installed_packages_only():
    text = "qemu-utils\tinstalled\t1:7.2+dfsg-7\nswtpm\tconfig-files\t0.7.1-1\nlibc6:amd64\tinstalled\t2.36-9\n"
    assert hp.parse_dpkg(text) == {"qemu-utils": "1:7.2+dfsg-7", "libc6": "2.36-9"}


def test_rpm_output_skips_not_installed_lines():
    text = "qemu-kvm\t8.2.0-11.el9\npackage swtpm is not installed\n"
    assert hp.parse_rpm(text) == {"qemu-kvm": "8.2.0-11.el9"}


def test_read_file_reports_content_mode_and_missing(tmp_path):
    path = tmp_path / "a.conf"
    path.write_text("x=1\n")
    os.chmod(path, 0o640)
    found = hp.read_file(str(path))
    assert found["content"] == "x=1\n"
    assert found["mode"] == "0640"
    assert found["type"] == "file"
    missing = hp.read_file(str(tmp_path / "none"))
    assert missing == {"exists": False, "type": None, "mode": None, "owner": None, "group": None, "content": None}


def test_stat_does_not_follow_links(tmp_path):
    (tmp_path / "target").write_text("")
    os.symlink(tmp_path / "target", tmp_path / "link")
    assert hp.stat_path(str(tmp_path / "link"))["type"] == "link"
    assert hp.stat_path(str(tmp_path))["type"] == "directory"


def test_read_sysctl_of_a_key_the_kernel_lacks_is_none():
    assert hp.read_sysctl("kvmops.no.such.key") is None


def test_read_file_of_a_directory_reports_it_without_content(tmp_path):
    found = hp.read_file(str(tmp_path))
    assert (found["exists"], found["type"], found["content"]) == (True, "directory", None)
