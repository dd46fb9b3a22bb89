#!/usr/bin/env bash
# The test bed's Ceph bound to the lab bridge address, where lab VMs reach it
# (`make lab`, and Molecule scenarios whose VMs use Ceph). Rebinding
# recreates the cluster, so libvirt RBD pools of the old one are stopped
# first: with their cluster gone they hang libvirt. A cluster already bound
# there is reused (about 1 s).
set -euo pipefail
HERE=$(dirname "${BASH_SOURCE[0]}")
LAB_CEPH_ADDR=${LAB_CEPH_ADDR:-198.51.100.1}

if ! "$HERE/ceph.sh" status 2>/dev/null | grep -q "cluster ready on $LAB_CEPH_ADDR"; then
    "$HERE/all.sh" stop-rbd-pools
fi
CEPH_BIND_ADDR=$LAB_CEPH_ADDR "$HERE/ceph.sh" start
