#!/usr/bin/env bash
# Builds (or finds in the cache) every lab image variant the given Molecule
# scenarios use (default: all of them), one after another.
#
# Two builds at once would waste minutes: tests/lab/kvmlab/image.py holds a
# lock per build, so a second caller waits and then finds the image cached.
# run-tests.sh starts this in the background right after bootstrap, so on a
# cold machine the images (about 110 s for debian, 300 s for selinux-hv, and
# debian-hv) are built while lint, sanity, unit and integration run instead
# of before the Molecule lanes; molecule-lanes.sh calls it again and finds
# them cached.
#
#   lab-images.sh [SCENARIO...]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(tests/ci/molecule-scenarios.sh all)
fi
mapfile -t variants < <(for s in "${scenarios[@]}"; do
  sed -n 's/^ *lab_variant: *\([a-z-]*\).*/\1/p' "molecule/$s/molecule.yml"
done | sort -u)
for v in "${variants[@]}"; do
  start=$(date +%s)
  if ! python tests/lab/labctl image --variant "$v" >/dev/null; then
    echo "lab-images: image $v failed" >&2
    exit 1
  fi
  echo "lab-images: image $v ready after $(( $(date +%s) - start ))s"
done
