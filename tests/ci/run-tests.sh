#!/usr/bin/env bash
# `make test`: every check CI runs, in order. Each stage's output streams as it
# runs; a summary line per stage and a closing count follow. Stages after a
# failure still run (except after bootstrap or test bed start-up, which the rest
# needs), so one run shows everything that is red. Exit status is non-zero if any
# stage failed.
#
# CI shows only the tail of this output, so the last lines say why each failed
# stage failed (tests/ci/why_failed.py: scenario, step, task, message, or the
# failed pytest ids). Each stage's whole output is also kept in build/logs.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

summary=()
why=()
passed=0
failed=0
logs=build/logs
mkdir -p "$logs"

run_stage() {
  local name=$1 start rc
  start=$(date +%s)
  printf '\n===== stage %s =====\n' "$name"
  # Into a file, streamed by tail: through a pipe, a daemon the stage starts
  # (libvirtd, Ceph, apt-cacher-ng) could keep the pipe open and hang the run.
  # The file is emptied first so tail never starts before it exists.
  : >"$logs/ci-$name.log"
  bash tests/ci/stages.sh "$name" >"$logs/ci-$name.log" 2>&1 &
  local pid=$!
  tail -n +1 --pid="$pid" -f "$logs/ci-$name.log"
  wait "$pid"
  rc=$?
  local took=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    summary+=("$(printf 'stage %-14s PASS %5ss' "$name" "$took")")
    passed=$((passed + 1))
  else
    summary+=("$(printf 'stage %-14s FAIL %5ss (exit %s)' "$name" "$took" "$rc")")
    failed=$((failed + 1))
    why+=("--- $name:" "$(python3 tests/ci/why_failed.py "$name" "$logs/ci-$name.log" 8)")
  fi
  return $rc
}

finish() {
  printf '\n===== summary =====\n'
  printf '%s\n' "${summary[@]}"
  printf 'stages: %d passed, %d failed\n' "$passed" "$failed"
  if [ ${#why[@]} -gt 0 ]; then
    printf '===== why =====\n'
    printf '%s\n' "${why[@]}"
  fi
  [ "$failed" -eq 0 ]
  exit $?
}

t0=$(date +%s)
printf '\n===== stage bootstrap =====\n'
if bash tests/ci/bootstrap.sh; then
  summary+=("$(printf 'stage %-14s PASS %5ss' bootstrap "$(( $(date +%s) - t0 ))")")
  passed=$((passed + 1))
else
  summary+=("stage bootstrap     FAIL")
  failed=$((failed + 1))
  finish
fi

# The lab images Molecule needs are built in the background from here (on a
# cold machine 6-10 min of building, mostly one core and the package mirror);
# each Molecule lane waits only for its own scenario's image (image.py builds
# one at a time under a lock). Warm, they are found cached in a second.
bash tests/ci/lab-images.sh >"$logs/ci-lab-images.log" 2>&1 &
images_pid=$!
images_waited=no
wait_for_images() {
  [ "$images_waited" = yes ] && return 0
  images_waited=yes
  local rc=0
  wait "$images_pid" || rc=$?
  printf '\n===== lab images (built beside the stages above) =====\n'
  cat "$logs/ci-lab-images.log"
  # A failure here is not a stage of its own: each Molecule lane builds
  # what is missing again and fails with the reason.
  [ $rc -eq 0 ] || echo "lab images: background build failed (rc $rc); the Molecule lanes tried again"
}

# Stages that run beside others write only to their logs; their output and
# summary lines follow when they are collected.
background_results="$logs/ci-background.results"
: >"$background_results"
run_quietly() {
  local name start rc
  for name in "$@"; do
    start=$(date +%s)
    bash tests/ci/stages.sh "$name" >"$logs/ci-$name.log" 2>&1
    rc=$?
    echo "$name $rc $(( $(date +%s) - start ))" >>"$background_results"
  done
}
collect() {
  local pid=$1 beside=$2 name rc took
  shift 2
  wait "$pid"
  for name in "$@"; do
    read -r _ rc took < <(grep "^$name " "$background_results")
    printf '\n===== stage %s (ran beside %s) =====\n' "$name" "$beside"
    cat "$logs/ci-$name.log"
    if [ "${rc:-1}" -eq 0 ]; then
      summary+=("$(printf 'stage %-14s PASS %5ss' "$name" "$took")")
      passed=$((passed + 1))
    else
      summary+=("$(printf 'stage %-14s FAIL %5ss (exit %s)' "$name" "${took:-?}" "${rc:-none}")")
      failed=$((failed + 1))
      why+=("--- $name:" "$(python3 tests/ci/why_failed.py "$name" "$logs/ci-$name.log" 8)")
    fi
  done
}

# lint, sanity and unit need no daemon and run one after another beside the
# test bed's start-up and integration (about 150 s of one core; integration's
# two workers leave some CPU idle while they wait on daemons). The Molecule scenarios follow
# integration rather than run beside it: tried beside it on 2026-12-06, both
# kept the two cores busy, integration took 1459 s instead of about 620 s and
# the whole run got longer, not shorter (docs/testing.md, Timings).
run_quietly lint sanity unit &
static_pid=$!

if run_stage testbed-up; then
  run_stage integration
  collect "$static_pid" "the test bed and integration" lint sanity unit
  run_stage molecule
else
  collect "$static_pid" "the test bed" lint sanity unit
fi
wait_for_images
# Always stop what we started, in the order the test bed needs.
run_stage testbed-down
printf 'total wall time: %ss\n' "$(( $(date +%s) - t0 ))"
finish
