# shellcheck shell=bash
# Helpers shared by the test bed scripts. Sourced, never run.
#
# The scripts may only end processes they started, so every "is it ours and
# alive" check goes through a pid file *and* a look at /proc/PID/cmdline: a pid
# file left by a dead daemon may name a PID the kernel has since given to an
# unrelated process.

TESTBED_NAME=${TESTBED_NAME:-testbed}

log() {
    printf '%s: %s\n' "$TESTBED_NAME" "$*" >&2
}

# One clear line naming what did not come up, then exit 1.
die() {
    printf '%s: ERROR: %s\n' "$TESTBED_NAME" "$*" >&2
    exit 1
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root"
}

# pid_from_file FILE -> prints the PID in FILE, or nothing.
pid_from_file() {
    local file=$1 pid=""
    if [[ -r $file ]]; then
        read -r pid <"$file" 2>/dev/null || true
    fi
    [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
    return 0
}

# pid_matches PID NEEDLE -> true if PID is alive and its command line
# contains NEEDLE (guards against PID reuse after a stale pid file).
pid_matches() {
    local pid=$1 needle=$2 cmdline
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$needle"* ]]
}

# owned_pid FILE NEEDLE -> prints the PID from FILE when that process is alive
# and is what we think it is; prints nothing otherwise.
owned_pid() {
    local pid
    pid=$(pid_from_file "$1")
    if [[ -n $pid ]] && pid_matches "$pid" "$2"; then
        printf '%s\n' "$pid"
    fi
    return 0
}

# wait_until SECONDS CMD... -> run CMD every 0.5 s until it succeeds; false on timeout.
wait_until() {
    local budget=$1 deadline
    shift
    deadline=$((SECONDS + budget))
    while ((SECONDS < deadline)); do
        if "$@"; then
            return 0
        fi
        sleep 0.5
    done
    "$@"
}

# stop_pid PID NAME [GRACE] -> SIGTERM, wait GRACE seconds (default 15), then
# SIGKILL. Only ever called with a PID that owned_pid vouched for.
stop_pid() {
    local pid=$1 name=$2 grace=${3:-15}
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_until "$grace" pid_gone "$pid"; then
        log "$name (pid $pid) ignored SIGTERM for ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_until 5 pid_gone "$pid" || die "$name (pid $pid) does not exit"
    fi
}

pid_gone() {
    [[ ! -e /proc/$1 ]] || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]
}

# socket_answers PATH -> true if something accepts connections on the unix
# socket PATH. A socket file nobody listens on is stale and safe to remove.
socket_answers() {
    [[ -S $1 ]] || return 1
    python3 - "$1" <<'EOF'
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)
EOF
}

usage() {
    printf 'usage: %s %s\n' "$(basename "$0")" "$1" >&2
    exit 2
}
