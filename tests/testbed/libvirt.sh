#!/usr/bin/env bash
# libvirtd and virtlogd for the integration tests and the lab, without systemd.
#
#   libvirt.sh start    reuse daemons that answer, clean stale pid files and
#                       sockets, start what is missing, check the RBD pool driver
#   libvirt.sh stop     stop the daemons named by their own pid files
#   libvirt.sh status   one line per daemon; exit 1 unless both are usable
#
# virtlogd is needed as well: without it a domain fails to start with
# "Failed to connect socket to '/run/libvirt/virtlogd-sock'".
#
# Measured on the 2-core Debian 12 test machine (busy with lab VMs): cold
# start 4.5-8.6 s (most of it libvirtd initialising), warm start 0.16-0.2 s,
# stop about 1 s, start after kill -9 of both daemons 4.5 s.
set -euo pipefail

# shellcheck disable=SC2034 # read by _lib.sh
TESTBED_NAME=libvirt.sh
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

URI=qemu:///system
# The daemons write these themselves when started with -d as root.
LIBVIRTD_PIDFILE=/run/libvirtd.pid
VIRTLOGD_PIDFILE=/run/virtlogd.pid
LIBVIRTD_SOCK=/run/libvirt/libvirt-sock
VIRTLOGD_SOCK=/run/libvirt/virtlogd-sock
START_TIMEOUT=${LIBVIRT_START_TIMEOUT:-30}

# "virsh version" can take seconds on a loaded machine (libvirt may re-probe
# QEMU's capabilities for it), so a cheap round trip to the QEMU driver stands
# in for "answers".
virsh_answers() {
    timeout 30 virsh -c "$URI" list --all --name >/dev/null 2>&1
}

libvirtd_pid() { owned_pid "$LIBVIRTD_PIDFILE" libvirtd; }
virtlogd_pid() { owned_pid "$VIRTLOGD_PIDFILE" virtlogd; }

virtlogd_up() {
    [[ -n $(virtlogd_pid) ]] && socket_answers "$VIRTLOGD_SOCK"
}

# Pid files and sockets of a daemon that is gone would make the next one
# refuse to start or make clients connect to nothing. Only removed when no
# process answers on the socket.
clean_stale() {
    local pidfile=$1 sock=$2 name=$3
    if socket_answers "$sock"; then
        return 0
    fi
    if [[ -e $pidfile || -e $sock ]]; then
        log "removing stale $name pid file/sockets"
    fi
    rm -f "$pidfile" "$sock" "${sock%-sock}-admin-sock"
    if [[ $name == libvirtd ]]; then
        rm -f /run/libvirt/libvirt-sock-ro
    fi
}

start_virtlogd() {
    if virtlogd_up; then
        return 0
    fi
    clean_stale "$VIRTLOGD_PIDFILE" "$VIRTLOGD_SOCK" virtlogd
    log "starting virtlogd"
    virtlogd -d || die "virtlogd -d failed to start"
    wait_until "$START_TIMEOUT" virtlogd_up ||
        die "virtlogd did not come up within ${START_TIMEOUT}s (no $VIRTLOGD_SOCK)"
}

start_libvirtd() {
    if virsh_answers; then
        return 0
    fi
    local pid
    pid=$(libvirtd_pid)
    # Alive but silent for 30 s: others may be mid-operation on it, so say so
    # rather than kill it.
    [[ -z $pid ]] || die "libvirtd (pid $pid) is running but does not answer on $URI"
    clean_stale "$LIBVIRTD_PIDFILE" "$LIBVIRTD_SOCK" libvirtd
    log "starting libvirtd"
    libvirtd -d || die "libvirtd -d failed to start"
    wait_until "$START_TIMEOUT" virsh_answers ||
        die "libvirtd does not answer 'virsh -c $URI version' within ${START_TIMEOUT}s"
}

rbd_pool_supported() {
    local caps
    # Captured first: "virsh | grep -q" dies of SIGPIPE under pipefail.
    caps=$(timeout 30 virsh -c "$URI" pool-capabilities 2>/dev/null) || return 1
    grep -qF "<pool type='rbd' supported='yes'>" <<<"$caps"
}

# libvirt loads storage backends when libvirtd starts: a daemon started before
# libvirt-daemon-driver-storage-rbd was installed reports rbd as unsupported
# until it is restarted.
ensure_rbd_driver() {
    if rbd_pool_supported; then
        return 0
    fi
    local pid
    pid=$(libvirtd_pid)
    [[ -n $pid ]] || die "libvirt has no RBD pool support and its libvirtd is not ours to restart"
    log "libvirtd reports no RBD pool support, restarting it to load the driver"
    stop_pid "$pid" libvirtd 15
    clean_stale "$LIBVIRTD_PIDFILE" "$LIBVIRTD_SOCK" libvirtd
    libvirtd -d || die "libvirtd -d failed to start"
    wait_until "$START_TIMEOUT" virsh_answers || die "libvirtd does not answer after restart"
    rbd_pool_supported ||
        die "libvirt reports <pool type='rbd' supported='no'>: install libvirt-daemon-driver-storage-rbd"
}

# Without udev nothing applies Debian's rule for /dev/kvm (root:kvm 0660), so the
# libvirt-qemu user cannot open it. libvirt then decides the host's KVM state
# changed since its last probe and re-probes QEMU on every capabilities call
# (8-13 s each here). Guests still use TCG: KVM acceleration itself does not work.
fix_dev_kvm() {
    [[ -c /dev/kvm ]] || return 0
    chgrp kvm /dev/kvm 2>/dev/null && chmod 0660 /dev/kvm
}

# libvirt runs swtpm_setup for a vTPM as its swtpm_user (tss on Debian), which
# keeps a local CA in /var/lib/swtpm-localca. A file there owned by root (from
# swtpm_setup run by hand) makes every later vTPM guest fail to start.
fix_swtpm_localca() {
    getent passwd tss >/dev/null || return 0
    install -d -o tss -g root -m 0750 /var/lib/swtpm-localca
    chown -R tss /var/lib/swtpm-localca
}

cmd_start() {
    require_root
    mkdir -p /run/libvirt
    fix_dev_kvm
    fix_swtpm_localca
    start_virtlogd
    start_libvirtd
    ensure_rbd_driver
    log "ready: libvirtd and virtlogd answer, rbd pools supported"
}

cmd_stop() {
    require_root
    local pid
    pid=$(libvirtd_pid)
    if [[ -n $pid ]]; then
        log "stopping libvirtd (pid $pid)"
        stop_pid "$pid" libvirtd 15
    fi
    pid=$(virtlogd_pid)
    if [[ -n $pid ]]; then
        log "stopping virtlogd (pid $pid)"
        stop_pid "$pid" virtlogd 15
    fi
    log "stopped"
}

cmd_status() {
    local rc=0 pid
    pid=$(libvirtd_pid)
    if virsh_answers; then
        printf 'libvirtd running (pid %s), %s answers\n' "${pid:-unknown}" "$URI"
    else
        printf 'libvirtd not answering on %s\n' "$URI"
        rc=1
    fi
    if virtlogd_up; then
        printf 'virtlogd running (pid %s)\n' "$(virtlogd_pid)"
    else
        printf 'virtlogd not running\n'
        rc=1
    fi
    if ((rc == 0)) && ! rbd_pool_supported; then
        printf 'libvirt reports no RBD pool support\n'
        rc=1
    fi
    return "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) usage "start|stop|status" ;;
esac
