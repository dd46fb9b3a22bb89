#!/usr/bin/env bash
# Prints the Molecule scenarios (molecule/* but _shared), one per line, sorted.
#
#   molecule-scenarios.sh [all|ceph|no-ceph]
#
# `ceph`: those whose VMs use the test bed's Ceph (they import
# molecule/_shared/ceph_on_lab.yml, which binds the cluster to the lab bridge).
# `no-ceph`: the others. make test runs the `no-ceph` ones beside
# integration, whose Ceph tests stop a monitor and restart the cluster, and
# the `ceph` ones after it (tests/ci/run-tests.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
group=${1:-all}
case $group in all | ceph | no-ceph) ;; *) echo "usage: $0 [all|ceph|no-ceph]" >&2; exit 2 ;; esac
for dir in molecule/*/; do
  s=$(basename "$dir")
  [[ $s == _* || ! -f $dir/molecule.yml ]] && continue
  if grep -q ceph_on_lab.yml "$dir"*.yml; then uses=ceph; else uses=no-ceph; fi
  if [[ $group == all || $group == "$uses" ]]; then echo "$s"; fi
done
