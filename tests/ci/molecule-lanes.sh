#!/usr/bin/env bash
# Runs every Molecule scenario in N lanes (default 3) side by side.
#
# Each scenario has its own lab VM address, so scenarios do not share state.
# Under TCG a lab VM keeps a core busy only while it computes; much of a
# scenario is waiting (SSH round trips, reboots, the connection guard's
# rollback timers, Ceph), so three lanes on this two-core machine kind finish
# sooner than two.
# Each lane makes sure of its scenario's lab image just before the scenario
# (tests/ci/lab-images.sh): a cached one is found in a second; one still being
# built (by make test's background builder or another lane) is waited for,
# because tests/lab/kvmlab/image.py builds one image at a time under a lock.
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
# Weights are about minutes / 4 of each scenario's lane time in make test of
# 2026-12-06 (three lanes, load 4-5; ansible.posix.profile_tasks in the logs
# shows where it goes): kvm_ovs about 1150 s before its prepare took one
# host_files run (about 5 min less), site about 1500 s before it dropped its
# fresh-VM --check (about 570 s less), kvm_guests about 700 s, kvm_host about
# 700 s (the bare-image install), kvm_hardening_selinux about 390 s,
# kvm_tuning about 200 s.
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
    # This scenario's image only, found in the cache or waited for: on a cold
    # machine a lane whose image is built starts while the others are still
    # being built (image.py's build lock keeps two builds of one image apart).
    if ! tests/ci/lab-images.sh "$s" >>"$logs/molecule-$s.images.log" 2>&1; then
      echo "molecule-lanes: lane $lane: $s FAIL (lab image, log: $logs/molecule-$s.images.log)"
      echo "$s" >>"$failed_list"
      continue
    fi
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
