#!/usr/bin/env bash
# The whole test bed: libvirt, Open vSwitch and Ceph.
#
#   all.sh start    libvirt, then OVS, then Ceph (each script is idempotent)
#   all.sh stop     active libvirt RBD pools first, then Ceph, OVS, libvirt
#   all.sh status   every piece's status; exit 1 if any is not usable
#   all.sh stop-rbd-pools   only the first step of stop: pool-destroy every
#                   active libvirt RBD pool (for test teardowns)
#
# Teardown order matters: with the cluster gone, an active libvirt RBD pool
# makes pool-refresh/pool-start hang for 30 s, so RBD pools are stopped while
# Ceph still answers.
set -euo pipefail

# shellcheck disable=SC2034 # read by _lib.sh
TESTBED_NAME=all.sh
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=_lib.sh
source "$HERE/_lib.sh"

URI=qemu:///system

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
    destroy_active_rbd_pools
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
stop-rbd-pools) destroy_active_rbd_pools ;;
*) usage "start|stop|status|stop-rbd-pools" ;;
esac
