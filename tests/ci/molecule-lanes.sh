#!/usr/bin/env bash
# Runs every Molecule scenario in N lanes (default 3) side by side.
#
# Each scenario has its own lab VM address, so scenarios do not share state.
# Under TCG a lab VM keeps a core busy only while it computes; much of a
# scenario is waiting (SSH round trips, reboots, the connection guard's
# rollback timers, Ceph), so three lanes on this two-core machine kind finish
# sooner than two.
# The lab images the scenarios need are built first, one at a time: two lanes
# building the same image at once would waste minutes and race to publish it.
#
#   molecule-lanes.sh [SCENARIO...]     (default: every molecule/* but _shared)
# Env: KVMOPS_MOLECULE_LANES (default 3); KVMOPS_MOLECULE_FAILED, the file
# that lists the failed scenarios (default build/logs/molecule-failed.txt: two
# runs side by side, as make test starts them, each need their own).
# Logs: build/logs/molecule-<scenario>.log
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

lanes=${KVMOPS_MOLECULE_LANES:-3}
# Each task's start time and duration in the scenario logs: where a scenario's
# minutes go is then read from any CI run's logs (docs/testing.md, Timings).
export ANSIBLE_CALLBACKS_ENABLED=${ANSIBLE_CALLBACKS_ENABLED-ansible.posix.profile_tasks}
logs=build/logs
mkdir -p "$logs"

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(tests/ci/molecule-scenarios.sh all)
fi
# Weights are about minutes / 4 of each scenario as measured on 2026-12-06
# after the roles read once and write only what differs (issue 12), beside
# other lab VMs (load 5-8): kvm_ovs 940 s (it reboots and waits out the
# connection guard's rollback), kvm_host 808 s (installs QEMU and libvirt
# under TCG), kvm_guests 667 s, kvm_hardening_selinux 252 s, kvm_tuning
# 223 s; site (every role, then the guests: --check on the fresh host,
# converge, changed=0 rerun, --check on the converged host, testinfra, which
# since issue 12 also holds the former kvm_hardening and kvm_ceph scenarios'
# checks) about 950 s.
# Each scenario, heaviest first, goes to the lane with the least weight so far.
weight() {
  case $1 in
    site | kvm_ovs) echo 4 ;;
    kvm_host | kvm_guests) echo 3 ;;
    kvm_tuning | kvm_hardening_selinux) echo 1 ;;
    *) echo 3 ;;
  esac
}
ordered=()
for w in 9 8 7 6 5 4 3 2 1; do
  for s in "${scenarios[@]}"; do [ "$(weight "$s")" -eq "$w" ] && ordered+=("$s"); done
done
declare -a load lane_of
for ((lane = 0; lane < lanes; lane++)); do load[lane]=0; done
for i in "${!ordered[@]}"; do
  best=0
  for ((lane = 1; lane < lanes; lane++)); do [ "${load[lane]}" -lt "${load[best]}" ] && best=$lane; done
  lane_of[i]=$best
  load[best]=$(( load[best] + $(weight "${ordered[$i]}") ))
done

# Every lab_variant any scenario uses, built (or found in the cache) up front.
echo "molecule-lanes: lab images"
tests/ci/lab-images.sh "${ordered[@]}" || { echo "molecule-lanes: lab images failed" >&2; exit 1; }

# Scenarios whose VMs use Ceph (molecule/_shared/ceph_on_lab.yml) need the
# test bed's cluster bound to the lab bridge. Moving it there recreates the
# cluster, so it is done once, here, before the lanes start: two prepare
# steps doing it at the same time would each recreate it under the other.
uses_ceph=no
mapfile -t ceph_scenarios < <(tests/ci/molecule-scenarios.sh ceph)
for s in "${ordered[@]}"; do
  for c in "${ceph_scenarios[@]}"; do [ "$s" = "$c" ] && uses_ceph=yes; done
done
if [ "$uses_ceph" = yes ]; then
  echo "molecule-lanes: test bed Ceph onto the lab bridge"
  python tests/lab/labctl net-up >/dev/null
  tests/testbed/ceph-on-lab.sh
fi

failed_list=${KVMOPS_MOLECULE_FAILED:-$logs/molecule-failed.txt}
: >"$failed_list"

run_lane() {
  local lane=$1 s start
  shift
  for s in "$@"; do
    start=$(date +%s)
    if molecule test -s "$s" >"$logs/molecule-$s.log" 2>&1; then
      echo "molecule-lanes: lane $lane: $s PASS $(( $(date +%s) - start ))s"
    else
      echo "molecule-lanes: lane $lane: $s FAIL $(( $(date +%s) - start ))s (log: $logs/molecule-$s.log)"
      echo "$s" >>"$failed_list"
    fi
  done
}

pids=()
for ((lane = 0; lane < lanes; lane++)); do
  mine=()
  for i in "${!ordered[@]}"; do [ "${lane_of[i]}" -eq "$lane" ] && mine+=("${ordered[$i]}"); done
  [ ${#mine[@]} -gt 0 ] || continue
  echo "molecule-lanes: lane $lane: ${mine[*]}"
  run_lane "$lane" "${mine[@]}" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# A failed scenario's log tail is printed, so CI output alone says why.
rc=0
while read -r s; do
  rc=1
  printf '\n===== molecule log (last 200 lines): %s =====\n' "$s"
  tail -n 200 "$logs/molecule-$s.log"
done <"$failed_list"
exit $rc
