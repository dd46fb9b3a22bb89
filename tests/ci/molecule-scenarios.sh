#!/usr/bin/env bash
# Prints the Molecule scenarios (molecule/* but _shared), one per line, sorted.
#
#   molecule-scenarios.sh [all|ceph]
#
# `ceph`: those whose VMs use the test bed's Ceph (they import
# molecule/_shared/ceph_on_lab.yml, which binds the cluster to the lab
# bridge); molecule-lanes.sh moves the cluster there before their lanes start.
set -euo pipefail
cd "$(dirname "$0")/../.."
group=${1:-all}
case $group in all | ceph) ;; *) echo "usage: $0 [all|ceph]" >&2; exit 2 ;; esac
for dir in molecule/*/; do
  s=$(basename "$dir")
  [[ $s == _* || ! -f $dir/molecule.yml ]] && continue
  if [[ $group == all ]] || grep -q ceph_on_lab.yml "$dir"*.yml; then echo "$s"; fi
done
