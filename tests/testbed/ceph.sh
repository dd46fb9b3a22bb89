#!/usr/bin/env bash
# A real single-node Ceph for the integration tests: mon "a", mgr "x" and one
# bluestore OSD on a sparse file, without systemd or cephadm.
#
#   ceph.sh start    reuse a healthy cluster; restart a stopped or killed one
#                    from its data; wipe and create when that data is unusable
#   ceph.sh stop     stop OSD, mgr, mon (the PIDs from our own pid files), keep data
#   ceph.sh status   one line per daemon plus health; exit 1 unless ready
#   ceph.sh env      print export lines for CEPH_CONF and CEPH_KEYRING
#
# Every file lives under $CEPH_TESTBED_DIR, so teardown is one rm -rf. The
# monitor listens on CEPH_BIND_ADDR; the lab uses the lab bridge address
# (molecule/_shared/ceph_on_lab.yml, make lab) so lab VMs reach the same cluster. A different
# CEPH_BIND_ADDR than the cluster's recreates the cluster (new fsid and keys).
# Without CEPH_BIND_ADDR, a cluster already made on an address this machine
# still has keeps it (clients read the address from ceph.conf), else 127.0.0.1.
#
# Measured on the 2-core Debian 12 test machine (busy with lab VMs): cold start
# on an empty directory (create) 14-18 s; warm start (reuse) 0.6-1.1 s; stop
# 1.6-2.3 s; start after stop or after kill -9 of all daemons (restart from
# data) 7-12.5 s; start after the pid files were deleted under running daemons
# 18.5 s. The three daemons use about 380 MiB RSS, the directory about 40 MiB.
set -euo pipefail

# shellcheck disable=SC2034 # read by _lib.sh
TESTBED_NAME=ceph.sh
# shellcheck source=_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

DIR=${CEPH_TESTBED_DIR:-/var/lib/kvmops-testbed/ceph}
CONF=$DIR/ceph.conf
ADMIN_KEYRING=$DIR/ceph.client.admin.keyring
LIBVIRT_KEYRING=$DIR/ceph.client.libvirt.keyring
RUN=$DIR/run
# Written last by a successful create: data without it is a half-made cluster.
COMPLETE=$DIR/.complete
BIND_ADDR=${CEPH_BIND_ADDR:-127.0.0.1}
BIND_ADDR_ASKED=${CEPH_BIND_ADDR:-}
READY_TIMEOUT=${CEPH_READY_TIMEOUT:-90}
# 4 GiB sparse: bluestore needs a few GiB to be comfortable, the disk pays
# only for what is written.
OSD_BLOCK_SIZE=$((4 * 1024 * 1024 * 1024))
# In stop order: the OSD reports its shutdown to a mon that still runs.
DAEMONS=(osd.0 mgr.x mon.a)

ceph_cli() {
    # A client must never hang the script: the mon may be dead or starting.
    timeout 20 ceph --conf "$CONF" --connect-timeout 10 "$@"
}

daemon_pid() {
    # The daemons are started with "--conf $CONF", which makes their command
    # line unique to this test bed.
    owned_pid "$RUN/$1.pid" "$CONF"
}

write_conf() {
    local fsid=$1
    mkdir -p "$DIR" "$RUN" "$DIR/log" "$DIR/crash"
    cat >"$CONF" <<EOF
# Written by tests/testbed/ceph.sh: a throw-away single-node cluster.
[global]
fsid = $fsid
mon_initial_members = a
mon_host = [v2:$BIND_ADDR:3300,v1:$BIND_ADDR:6789]
public_addr = $BIND_ADDR
cluster_addr = $BIND_ADDR
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
# Pacific warns while insecure reclaim is allowed; nothing here needs it.
auth_allow_insecure_global_id_reclaim = false
run_dir = $RUN
crash_dir = $DIR/crash
# One OSD: pools of size one, CRUSH choosing among OSDs rather than hosts.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_autoscale_mode = off
# The machine's disk may be well used; a test cluster must not turn HEALTH_WARN over it.
mon_data_avail_warn = 2
mon_data_avail_crit = 1
osd_objectstore = bluestore
osd_memory_target = 536870912
bluestore_cache_autotune = false
bluestore_cache_size = 67108864
# The OSD makes its own sparse block file inside its data dir. Do not set
# bluestore_block_path to that same path: it becomes a symlink loop.
bluestore_block_create = true
bluestore_block_size = $OSD_BLOCK_SIZE

[client]
# admin and libvirt find their keyrings beside this file.
keyring = $DIR/\$cluster.\$name.keyring

[mon]
mon_data = $DIR/mon/\$cluster-\$id
pid_file = $RUN/\$name.pid
log_file = $DIR/log/\$cluster-\$name.log
mon_cluster_log_file = default=$DIR/log/\$cluster.\$channel.log cluster=$DIR/log/\$cluster.log

[mgr]
mgr_data = $DIR/mgr/\$cluster-\$id
pid_file = $RUN/\$name.pid
log_file = $DIR/log/\$cluster-\$name.log

[osd]
osd_data = $DIR/osd/\$cluster-\$id
pid_file = $RUN/\$name.pid
log_file = $DIR/log/\$cluster-\$name.log
EOF
}

conf_bind_addr() {
    sed -n 's/^public_addr = //p' "$CONF" 2>/dev/null
}

# Kill any daemon still running from this directory, then remove it all.
wipe() {
    stop_daemons
    rm -rf "$DIR"
}

stop_daemons() {
    local name pid
    for name in "${DAEMONS[@]}"; do
        pid=$(daemon_pid "$name")
        if [[ -n $pid ]]; then
            log "stopping $name (pid $pid)"
            stop_pid "$pid" "$name" 20
        fi
        rm -f "$RUN/$name.pid"
    done
    # A daemon whose pid file was deleted under it still holds the ports; it
    # is ours all the same, as only we start ceph daemons with this conf.
    for pid in $(orphan_pids); do
        log "stopping orphaned daemon pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
        stop_pid "$pid" "orphaned ceph daemon" 20
    done
}

orphan_pids() {
    local dir pid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        if pid_matches "$pid" "--conf $CONF -i"; then
            printf '%s\n' "$pid"
        fi
    done
}

daemon_running() {
    [[ -n $(daemon_pid "$1") ]]
}

all_daemons_running() {
    local name
    for name in "${DAEMONS[@]}"; do
        daemon_running "$name" || return 1
    done
}

# Prints "" when ready, else what is missing (one line). PG states come from
# the mgr ("pg ls") and must have been reported since the OSD last booted:
# after a restart the mon still serves the old cluster's "active+clean"
# summary for a few seconds while the PGs really peer again.
not_ready_reason() {
    local status pgs osds
    if ! status=$(ceph_cli status --format json 2>&1); then
        printf 'the monitor does not answer: %s\n' "$(tail -n1 <<<"$status")"
        return 0
    fi
    pgs=$(ceph_cli pg ls --format json 2>/dev/null) || pgs='{}'
    osds=$(ceph_cli osd dump --format json 2>/dev/null) || osds='{}'
    python3 - "$status" "$pgs" "$osds" <<'EOF' 2>/dev/null || printf 'cannot parse the output of ceph status\n'
import json
import sys

status, pgs, osds = (json.loads(arg) for arg in sys.argv[1:4])
why = []
health = status["health"]["status"]
if health != "HEALTH_OK":
    checks = ", ".join(sorted(status["health"].get("checks", {})))
    why.append(f"health is {health} ({checks})")
osd0 = [o for o in osds.get("osds", []) if o["osd"] == 0 and o["up"] and o["in"]]
if not osd0:
    why.append("osd.0 is not up and in")
stats = pgs.get("pg_stats", [])
booted = osd0[0]["up_from"] if osd0 else float("inf")
stale = [p["pgid"] for p in stats if p["reported_epoch"] < booted]
unclean = sorted({p["state"] for p in stats if p["state"] != "active+clean"})
if not pgs.get("pg_ready") or not stats:
    why.append("the mgr has no PG stats yet")
elif unclean:
    why.append(f"PGs not all active+clean: {', '.join(unclean)}")
elif stale:
    why.append(f"{len(stale)} PGs not reported since osd.0 booted")
print("; ".join(why))
EOF
}

is_ready() {
    [[ -z $(not_ready_reason) ]]
}

wait_ready() {
    local reason
    if ! wait_until "$READY_TIMEOUT" is_ready; then
        reason=$(not_ready_reason)
        die "cluster not ready after ${READY_TIMEOUT}s: ${reason:-unknown}; logs in $DIR/log"
    fi
}

start_daemon() {
    local type=$1 id=$2
    "ceph-$type" --conf "$CONF" -i "$id" >>"$DIR/log/start-$type.$id.log" 2>&1 ||
        die "ceph-$type -i $id did not start; see $DIR/log/ceph-$type.$id.log"
    wait_until 15 daemon_running "$type.$id" ||
        die "ceph-$type -i $id exited right after start; see $DIR/log/ceph-$type.$id.log"
}

mon_answers() {
    ceph_cli mon stat >/dev/null 2>&1
}

bind_addr_usable() {
    local addrs listeners
    # Captured, not piped into grep -q: that dies of SIGPIPE under pipefail.
    addrs=$(ip -o addr show)
    grep -qF " $BIND_ADDR/" <<<"$addrs" ||
        die "CEPH_BIND_ADDR $BIND_ADDR is not an address of this machine (bring its bridge up first)"
    listeners=$(ss -Hltnp "( sport = :3300 or sport = :6789 )")
    if [[ -n $listeners ]]; then
        die "ports 3300/6789 are taken by a process that is not this test bed: ${listeners%%$'\n'*}"
    fi
}

create_cluster() {
    local fsid osd_uuid osd_secret osd_id
    bind_addr_usable
    fsid=$(cat /proc/sys/kernel/random/uuid)
    write_conf "$fsid"
    mkdir -p "$DIR/mon/ceph-a" "$DIR/mgr/ceph-x"

    log "creating cluster $fsid on $BIND_ADDR"
    ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. \
        --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$ADMIN_KEYRING" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' \
        --cap mgr 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/mgr/ceph-x/keyring" --gen-key -n mgr.x \
        --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
    ceph-authtool "$DIR/mon.keyring" --import-keyring "$ADMIN_KEYRING" >/dev/null
    ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/mgr/ceph-x/keyring" >/dev/null

    monmaptool --create --fsid "$fsid" \
        --addv a "[v2:$BIND_ADDR:3300,v1:$BIND_ADDR:6789]" "$DIR/monmap" >/dev/null
    ceph-mon --conf "$CONF" --mkfs -i a --monmap "$DIR/monmap" \
        --keyring "$DIR/mon.keyring" >>"$DIR/log/mkfs.log" 2>&1 ||
        die "ceph-mon --mkfs failed; see $DIR/log/mkfs.log"

    start_daemon mon a
    wait_until 30 mon_answers || die "mon.a does not answer on $BIND_ADDR; see $DIR/log/ceph-mon.a.log"
    start_daemon mgr x

    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    osd_secret=$(ceph-authtool --gen-print-key)
    osd_id=$(printf '{"cephx_secret": "%s"}' "$osd_secret" |
        ceph_cli osd new "$osd_uuid" -i -) || die "ceph osd new failed"
    [[ $osd_id == 0 ]] || die "expected osd id 0 on a new cluster, got '$osd_id'"
    mkdir -p "$DIR/osd/ceph-0"
    ceph-authtool --create-keyring "$DIR/osd/ceph-0/keyring" -n osd.0 \
        --add-key "$osd_secret" >/dev/null
    ceph-osd --conf "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" \
        >>"$DIR/log/mkfs.log" 2>&1 || die "ceph-osd --mkfs failed; see $DIR/log/mkfs.log"
    start_daemon osd 0

    create_pool_and_user
    touch "$COMPLETE"
}

create_pool_and_user() {
    # 8 PGs as a power of two that peers fast on one OSD.
    ceph_cli osd pool create vms 8 8 >/dev/null 2>&1 || die "ceph osd pool create vms failed"
    timeout 60 rbd --conf "$CONF" pool init vms || die "rbd pool init vms failed"
    ceph_cli auth get-or-create client.libvirt \
        mon 'profile rbd' osd 'profile rbd pool=vms' -o "$LIBVIRT_KEYRING" ||
        die "ceph auth get-or-create client.libvirt failed"
}

# A cluster we can keep: complete, same address, all three daemons ours and
# running, and the mon answers with our fsid.
reusable() {
    [[ -e $COMPLETE ]] || return 1
    [[ $(conf_bind_addr) == "$BIND_ADDR" ]] || return 1
    all_daemons_running || return 1
    local fsid
    fsid=$(ceph_cli fsid 2>/dev/null) || return 1
    grep -qx "fsid = $fsid" "$CONF"
}

# A cluster made completely by us on the same address, whose daemons are not
# all running (stopped, killed, or the session ended): start them again on the
# same data, which keeps fsid and keys. Fails (and the caller recreates) when
# the old data does not come back to ready in a short budget.
restart_from_data() {
    [[ -e $COMPLETE && -s $LIBVIRT_KEYRING ]] || return 1
    [[ $(conf_bind_addr) == "$BIND_ADDR" ]] || return 1
    stop_daemons
    bind_addr_usable
    log "restarting the stopped cluster from $DIR"
    "ceph-mon" --conf "$CONF" -i a >>"$DIR/log/start-mon.a.log" 2>&1 || return 1
    wait_until 30 mon_answers || return 1
    "ceph-mgr" --conf "$CONF" -i x >>"$DIR/log/start-mgr.x.log" 2>&1 || return 1
    "ceph-osd" --conf "$CONF" -i 0 >>"$DIR/log/start-osd.0.log" 2>&1 || return 1
    wait_until 45 is_ready
}

# Without CEPH_BIND_ADDR, keep the address of a complete cluster while this
# machine has it: recreating a cluster only to move it costs 15 s and its keys.
keep_existing_bind_addr() {
    local existing addrs
    [[ -z $BIND_ADDR_ASKED && -e $COMPLETE ]] || return 0
    existing=$(conf_bind_addr)
    [[ -n $existing && $existing != "$BIND_ADDR" ]] || return 0
    addrs=$(ip -o addr show)
    if grep -qF " $existing/" <<<"$addrs"; then
        BIND_ADDR=$existing
    fi
}

cmd_start() {
    require_root
    keep_existing_bind_addr
    if reusable; then
        log "reusing the running cluster"
    elif ! restart_from_data; then
        if [[ -e $DIR ]]; then
            log "cleaning unusable state in $DIR"
        fi
        wipe
        create_cluster
    fi
    wait_ready
    [[ -s $LIBVIRT_KEYRING ]] || die "client.libvirt keyring $LIBVIRT_KEYRING is missing"
    log "ready: HEALTH_OK, all PGs active+clean, osd.0 up; mon on $BIND_ADDR"
}

cmd_stop() {
    require_root
    stop_daemons
    log "stopped (data kept in $DIR)"
}

cmd_status() {
    local name pid rc=0 reason
    for name in "${DAEMONS[@]}"; do
        pid=$(daemon_pid "$name")
        if [[ -n $pid ]]; then
            printf '%s running (pid %s)\n' "$name" "$pid"
        else
            printf '%s stopped\n' "$name"
            rc=1
        fi
    done
    if ((rc == 0)); then
        reason=$(not_ready_reason)
        if [[ -n $reason ]]; then
            printf 'cluster not ready: %s\n' "$reason"
            rc=1
        else
            printf 'cluster ready on %s\n' "$(conf_bind_addr)"
        fi
    fi
    return "$rc"
}

cmd_env() {
    printf 'export CEPH_CONF=%q\n' "$CONF"
    printf 'export CEPH_KEYRING=%q\n' "$ADMIN_KEYRING"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) usage "start|stop|status|env" ;;
esac
