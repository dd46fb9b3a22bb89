# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.kvmops.kvm.plugins.module_utils._errors import KvmopsError, reraise_as


class LibraryError(Exception):
    """Stands in for a library's own exception type (libvirtError, CalledProcessError...)."""


def test_message_names_object_and_cause():
    error = KvmopsError("libvirt connection", "qemu:///system", "Failed to connect socket")
    assert str(error) == "libvirt connection 'qemu:///system': Failed to connect socket"
    assert (error.kind, error.name) == ("libvirt connection", "qemu:///system")


def test_empty_cause_still_reads_as_a_sentence():
    assert str(KvmopsError("libvirt domain", "web1", "  ")) == "libvirt domain 'web1': unknown error"


def test_reraise_as_context_manager_keeps_cause():
    with pytest.raises(KvmopsError) as info, reraise_as(LibraryError, "libvirt domain", "web1"):
        raise LibraryError("Domain not found")
    assert str(info.value) == "libvirt domain 'web1': Domain not found"
    assert isinstance(info.value.__cause__, LibraryError)


def test_reraise_as_decorator():
    @reraise_as((LibraryError, OSError), "ovs bridge", "br-int")
    def fail():
        raise OSError("ovs-vsctl: no such file")

    with pytest.raises(KvmopsError, match="^ovs bridge 'br-int': ovs-vsctl: no such file$"):
        fail()


def test_reraise_as_keeps_inner_kvmops_error():
    with (
        pytest.raises(KvmopsError, match="^libvirt domain 'web1'"),
        reraise_as(LibraryError, "libvirt connection", "qemu:///system"),
        reraise_as(LibraryError, "libvirt domain", "web1"),
    ):
        raise LibraryError("boom")


def test_reraise_as_lets_other_errors_through():
    with pytest.raises(KeyError), reraise_as(LibraryError, "libvirt domain", "web1"):
        raise KeyError("not a library error")


def test_error_log_named_by_libvirt_is_quoted(tmp_path):
    log = tmp_path / "vm-swtpm.log"
    log.write_text("start\n\nNeed read/write rights on /var/lib/swtpm-localca for user tss.\nAuthoring failed.\n")
    message = f"internal error: Could not run '/usr/bin/swtpm_setup'. Check error log '{log}' for details."
    with pytest.raises(KvmopsError) as info, reraise_as(LibraryError, "libvirt domain", "vm"):
        raise LibraryError(message)
    assert str(info.value).endswith(
        f"; {log} ends with: start | Need read/write rights on /var/lib/swtpm-localca for user tss. | Authoring failed."
    )


def test_missing_error_log_leaves_message_alone(tmp_path):
    message = f"Could not run swtpm_setup. Check error log '{tmp_path / 'gone.log'}' for details."
    with pytest.raises(KvmopsError) as info, reraise_as(LibraryError, "libvirt domain", "vm"):
        raise LibraryError(message)
    assert str(info.value) == f"libvirt domain 'vm': {message}"
