#!/usr/bin/env bash
# Open vSwitch for the integration tests, without systemd.
#
#   ovs.sh start    reuse running daemons, else start ovsdb-server + ovs-vswitchd
#   ovs.sh stop     stop both through ovs-ctl (it uses their own pid files)
#   ovs.sh status   exit 1 unless both answer and the userspace datapath is there
#
# This machine has no loadable kernel modules, so the kernel datapath is
# missing: ovs-ctl says "Kernel has no loadable module support. Skipping
# modprobe." and carries on, and bridges must use datapath_type=netdev. Bridges
# left in the database by an earlier run are kept (tests clean their own); a
# netdev bridge comes back by itself when ovs-vswitchd starts.
#
# Measured on the 2-core Debian 12 test machine: cold start 0.16-0.24 s, warm
# start 0.02-0.03 s, stop 0.25 s, start after kill -9 of both daemons 0.11 s.
set -euo pipefail

# shellcheck disable=SC2034 # read by _lib.sh
TESTBED_NAME=ovs.sh
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
RUN=/run/openvswitch
START_TIMEOUT=${OVS_START_TIMEOUT:-30}

vsctl() {
    # --timeout: never hang on a dead ovsdb-server.
    ovs-vsctl --timeout=5 "$@"
}

# ovs-vswitchd fills datapath_types once it runs; "netdev" there is the
# userspace datapath this machine has to use.
userspace_datapath_ready() {
    local types
    types=$(vsctl get Open_vSwitch . datapath_types 2>/dev/null) || return 1
    [[ $types == *netdev* ]] && ovs-appctl --timeout=5 -t ovs-vswitchd version >/dev/null 2>&1
}

daemons_running() {
    [[ -n $(owned_pid "$RUN/ovsdb-server.pid" ovsdb-server) &&
        -n $(owned_pid "$RUN/ovs-vswitchd.pid" ovs-vswitchd) ]]
}

cmd_start() {
    require_root
    [[ -x $OVS_CTL ]] || die "$OVS_CTL not found: install openvswitch-switch"
    if daemons_running && userspace_datapath_ready; then
        log "reusing the running Open vSwitch"
        return 0
    fi
    # ovs-ctl starts only the daemons that are not running; stale pid files
    # and the db socket of dead ones are its own to replace. It cannot raise
    # the open-files limit in a container and says so; that is harmless.
    local out
    if ! out=$("$OVS_CTL" start --system-id=random 2>&1); then
        die "ovs-ctl start failed: $(tail -n1 <<<"$out")"
    fi
    wait_until "$START_TIMEOUT" userspace_datapath_ready ||
        die "ovs-vswitchd did not report the netdev (userspace) datapath within ${START_TIMEOUT}s; see /var/log/openvswitch/ovs-vswitchd.log"
    log "ready: ovsdb-server and ovs-vswitchd answer, userspace datapath available"
}

cmd_stop() {
    require_root
    "$OVS_CTL" stop >/dev/null
    log "stopped"
}

cmd_status() {
    if daemons_running && userspace_datapath_ready; then
        printf 'ovsdb-server running (pid %s)\n' "$(pid_from_file "$RUN/ovsdb-server.pid")"
        printf 'ovs-vswitchd running (pid %s), userspace datapath available\n' \
            "$(pid_from_file "$RUN/ovs-vswitchd.pid")"
        return 0
    fi
    printf 'Open vSwitch not usable: %s\n' "$("$OVS_CTL" status 2>&1 | tr '\n' ' ')"
    return 1
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) usage "start|stop|status" ;;
esac
