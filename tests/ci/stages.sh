#!/usr/bin/env bash
# The stages of `make test`, one function each, so `make <stage>` and CI run the
# same commands. Sourced by run-tests.sh; also runnable as `stages.sh STAGE`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

stage_lint() {
  ruff check .
  ruff format --check .
  yamllint --strict .
  ansible-lint --nocolor
  # The docs markup resolves (M(), O(), P(...#role)); it must run from the
  # collection's ansible_collections path, which make bootstrap links.
  (cd .cache/collections/ansible_collections/kvmops/kvm && antsibull-docs lint-collection-docs --plugin-docs .)
}

# ansible-test wants the collection as a real directory under
# ansible_collections/<ns>/<name>, outside any other git checkout.
stage_sanity() {
  local root="${TMPDIR:-/tmp}/kvmops-sanity"
  local dest="$root/ansible_collections/kvmops/kvm"
  rm -rf "$root"
  mkdir -p "$dest"
  git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/"
  (cd "$dest" && ansible-test sanity --venv --python 3.11 --color no)
}

stage_unit() {
  pytest -q tests/unit
}

stage_testbed_up() {
  tests/testbed/all.sh start
}

# Two workers, whole files each (tests/integration/conftest.py says why that
# is safe), then the test that stops the test bed's Ceph monitor on its own,
# while no other test uses Ceph. The slowest tests are listed in the log so
# the next cut is read, not guessed.
stage_integration() {
  pytest -q -n 2 --dist loadfile --durations=25 -m "not stops_ceph" tests/integration &&
    pytest -q -m stops_ceph tests/integration
}

# Every scenario, in lanes side by side (tests/ci/molecule-lanes.sh): under TCG a lab
# VM keeps a core busy only part of the time, so one after another would take longer.
stage_molecule() {
  tests/ci/molecule-lanes.sh
}

stage_testbed_down() {
  # The lab bridge, apt proxy and overlay pool go too, unless lab VMs
  # (`make lab`) still use them. Order: what uses Ceph and Ceph itself first
  # (Ceph may listen on the bridge's address, molecule/_shared/ceph_on_lab.yml), then the lab
  # network while libvirtd still answers (net-down undefines the lab pool
  # through it), then OVS and libvirt. The last CI failed here because
  # net-down ran after libvirtd had stopped.
  local lab_vms
  lab_vms="$(python tests/lab/labctl status 2>/dev/null || true)"
  tests/testbed/all.sh stop-rbd-pools
  tests/testbed/ceph.sh stop
  if [ -z "$lab_vms" ]; then
    python tests/lab/labctl net-down
  fi
  tests/testbed/all.sh stop
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  [ $# -eq 1 ] || { echo "usage: $0 STAGE" >&2; exit 2; }
  "stage_${1//-/_}"
fi
