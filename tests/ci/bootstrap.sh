#!/usr/bin/env bash
# Installs everything `make test` and `make lab` need on a fresh Debian 12 machine:
# Debian packages, the pinned virtualenv, the collection link, and the offline
# stand-in ansible-test needs. Each step is skipped when it is already satisfied,
# so a warm run costs a few seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

log() { printf 'bootstrap: %s\n' "$*"; }

install_debian_packages() {
  local wanted missing=()
  mapfile -t wanted < <(grep -Ev '^\s*(#|$)' tests/ci/debian-packages.txt)
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages present"
    return
  fi
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  # No systemd here: keep package scripts from trying to start services; the
  # test bed starts what it needs itself.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' RETURN
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pyenv shims re-exec through bash; venvs and ansible-test want the real binary.
find_python() {
  if [ -n "${KVMOPS_PYTHON:-}" ]; then echo "$KVMOPS_PYTHON"; return; fi
  python3.11 -c 'import sys; print(sys.executable)'
}

make_venv() {
  local stamp want
  want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
  stamp=.venv/.kvmops-requirements
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    log "virtualenv up to date"
    return
  fi
  log "creating .venv"
  rm -rf .venv
  "$(find_python)" -m venv .venv
  # pip's output goes to a log: this machine's pip config adds local indexes
  # that print a warning per package.
  mkdir -p build/logs
  if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -r requirements-dev.txt; } \
      >build/logs/pip.log 2>&1; then
    tail -n 40 build/logs/pip.log
    log "pip install failed (full log: build/logs/pip.log)"
    exit 1
  fi
  echo "$want" > "$stamp"
}

# Ansible finds the checkout as kvmops.kvm through this link (ansible.cfg).
link_collection() {
  mkdir -p .cache/collections/ansible_collections/kvmops
  ln -sfn "$top" .cache/collections/ansible_collections/kvmops/kvm
}

# ansible-test downloads get-pip.py for each sanity venv, and that host is not
# reachable here. This stand-in bootstraps pip from ensurepip, then asks PyPI
# (which is reachable) for the version ansible-test requested.
install_get_pip_standin() {
  local cache=$HOME/.ansible/test/cache
  mkdir -p "$cache"
  for ver in 24_2 25_0 25_1; do
    cat > "$cache/get_pip_$ver.py" <<'PY'
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; the follow-up
# install must read the machine's pip configuration (CA bundle, indexes).
env = {k: v for k, v in os.environ.items() if k not in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS")}
wanted = [arg for arg in sys.argv[1:] if arg.startswith("pip")]
if wanted:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + wanted, env=env)
PY
  done
}

install_debian_packages
make_venv
link_collection
install_get_pip_standin
log "done"
