#!/usr/bin/env bash
# The whole test bed: libvirt, Open vSwitch and Ceph.
#
#   all.sh start    libvirt, then OVS, then Ceph (each script is idempotent)
#   all.sh stop     what uses Ceph first (running domains with RBD disks, active
#                   libvirt RBD pools, the tests' leftover secrets), then Ceph,
#                   OVS, libvirt
#   all.sh status   every piece's status; exit 1 if any is not usable
#   all.sh stop-rbd-pools   only that first step: domains, pools, leftover test
#                   secrets (for test teardowns, CI's testbed-down, and before
#                   the cluster is recreated)
#
# Teardown order matters: domains, libvirt RBD pools, secrets, then the
# cluster. With the cluster gone, an active libvirt RBD pool makes
# pool-refresh/pool-start hang for 30 s, and a guest's I/O on its RBD disk
# hangs, so they are stopped while Ceph still answers.
set -euo pipefail

# shellcheck disable=SC2034 # read by _lib.sh
TESTBED_NAME=all.sh
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=_lib.sh
source "$HERE/_lib.sh"

URI=qemu:///system

# Stops (destroy: the definition stays) every running domain with an RBD disk.
destroy_rbd_domains() {
    local domains dom
    if ! domains=$(timeout 30 virsh -c "$URI" list --name 2>/dev/null); then
        log "libvirt does not answer; no domains to stop"
        return 0
    fi
    for dom in $domains; do
        if timeout 30 virsh -c "$URI" dumpxml "$dom" 2>/dev/null | grep -q "protocol='rbd'"; then
            log "stopping domain $dom (it has an RBD disk)"
            timeout 60 virsh -c "$URI" destroy "$dom" >/dev/null ||
                die "virsh destroy $dom failed"
        fi
    done
}

# Undefines the libvirt secrets interrupted integration tests left behind
# (usage names containing kvmops-it); every other secret stays.
remove_test_secrets() {
    local rows uuid
    if ! rows=$(timeout 30 virsh -c "$URI" secret-list 2>/dev/null); then
        return 0
    fi
    while read -r uuid _rest; do
        log "removing leftover test secret $uuid"
        timeout 30 virsh -c "$URI" secret-undefine "$uuid" >/dev/null || true
    done < <(awk 'NR > 2 && /kvmops-it/ {print}' <<<"$rows")
}

# Stops (pool-destroy: the definition stays, nothing is deleted in Ceph) every
# active libvirt storage pool of type rbd.
destroy_active_rbd_pools() {
    local pools pool
    if ! pools=$(timeout 30 virsh -c "$URI" pool-list --type rbd --name 2>/dev/null); then
        log "libvirt does not answer; no RBD pools to stop"
        return 0
    fi
    for pool in $pools; do
        log "stopping libvirt RBD pool $pool"
        timeout 60 virsh -c "$URI" pool-destroy "$pool" >/dev/null ||
            die "virsh pool-destroy $pool failed"
    done
}

cmd_start() {
    "$HERE/libvirt.sh" start
    "$HERE/ovs.sh" start
    "$HERE/ceph.sh" start
}

cmd_stop() {
    destroy_rbd_domains
    destroy_active_rbd_pools
    remove_test_secrets
    "$HERE/ceph.sh" stop
    "$HERE/ovs.sh" stop
    "$HERE/libvirt.sh" stop
}

cmd_status() {
    local rc=0 piece
    for piece in libvirt ovs ceph; do
        "$HERE/$piece.sh" status || rc=1
    done
    return "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
stop-rbd-pools)
    destroy_rbd_domains
    destroy_active_rbd_pools
    remove_test_secrets
    ;;
*) usage "start|stop|status|stop-rbd-pools" ;;
esac
