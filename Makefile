# Entry points. `make lab` and `make test` work on a fresh Debian 12 machine:
# each installs what it needs first (tests/ci/bootstrap.sh).
SHELL := /bin/bash
VENV := .venv/bin
LABCTL := $(VENV)/python tests/lab/labctl
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV):$(PATH)

.PHONY: help bootstrap lab lab-down test lint sanity unit integration molecule molecule-early molecule-late molecule-site testbed-up testbed-down clean

help:
	@echo "make lab        bring up the lab hypervisor VMs and run playbooks/site.yml against them"
	@echo "make lab-down   remove the lab VMs, their overlays and the lab network"
	@echo "make test       every check CI runs (lint, sanity, unit, integration, molecule)"
	@echo "make lint|sanity|unit|integration|molecule   one stage (after make bootstrap)"
	@echo "make molecule-early|molecule-late   the scenarios without or with Ceph (make test splits them)"
	@echo "make molecule-site   only the end-to-end site scenario (make test runs it with the others)"

bootstrap:
	@tests/ci/bootstrap.sh

lab: bootstrap
	tests/testbed/libvirt.sh start
	$(LABCTL) inventory-up inventories/lab
	@# The guests' RBD disks live in the test bed's Ceph, on the lab bridge.
	tests/testbed/ceph-on-lab.sh
	ansible-playbook playbooks/site.yml -i inventories/lab

lab-down: bootstrap
	tests/testbed/libvirt.sh start
	$(LABCTL) down --all

test:
	@tests/ci/run-tests.sh

lint sanity unit integration molecule molecule-early molecule-late testbed-up testbed-down: bootstrap
	@tests/ci/stages.sh $@

# The whole site on one lab VM alone (make test and CI run it beside the role
# scenarios).
molecule-site: bootstrap testbed-up
	tests/ci/molecule-lanes.sh site

clean:
	rm -rf build .pytest_cache .ruff_cache tests/output
