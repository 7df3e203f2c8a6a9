# One entry point for every check. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTION_LINK := $(VENV)/collections/ansible_collections/osworld/aws
# galaxy-importer pins its own ansible-lint and dependencies: a venv of its own.
IMPORTER_VENV := $(CURDIR)/.venv-importer
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(VENV)/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: venv demo test checks lint mypy sanity unit integration molecule publishable bench clean

venv: $(VENV)/.installed $(COLLECTION_LINK)

$(VENV)/.installed: requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	# OSWorld's AWS provider, for the evaluate.yml tests: its code needs only boto3, python-dotenv
	# and requests, not the heavy dependencies the package declares.
	$(BIN)/python -m pip install --quiet --no-deps desktop-env==1.0.2
	touch $@

$(COLLECTION_LINK): | $(VENV)/.installed
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

demo: venv
	$(BIN)/python scripts/demo.py

# Two at a time (the machines have two cores): the virtualenvs side by side, then integration beside
# the other checks one after another. --output-sync prints each check's output whole, when it ends.
test:
	$(MAKE) --no-print-directory -j2 venv $(IMPORTER_VENV)/.installed
	$(MAKE) --no-print-directory -j2 --output-sync=target integration checks

# Every check but integration, one after another.
checks: lint sanity unit molecule publishable

lint: venv mypy
	ansible-lint --profile production --offline

mypy: venv
	$(BIN)/python -m mypy --config-file .mypy.ini

sanity: venv
	$(BIN)/python scripts/sanity.py

unit: venv
	$(PYTEST) tests/unit

# Three workers on two cores: a worker also waits (on botocore's backoff in the fault tests, on the
# modules' polls and on the emulator); three keep both busy: 1,026 CPU-s in 536 s, alone here.
integration: venv
	$(PYTEST) -n 3 --dist worksteal --durations=25 tests/integration

# Ansible runs keep the AnsiballZ payloads they build and the bytecode their modules compile, as
# the integration tests' do (tests/support/build_caches/sitecustomize.py).
molecule: venv
	cd extensions && OSWORLD_MOLECULE_MOTO_PORT=$$($(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
		PYTHONPATH=$(CURDIR)/tests/support/build_caches$${PYTHONPATH:+:$$PYTHONPATH} \
		molecule test --all

# What Galaxy and Automation Hub run on every upload, on the built tarball (lint on, ansible-test off).
publishable: venv $(IMPORTER_VENV)/.installed
	$(BIN)/python scripts/publishable.py $(IMPORTER_VENV)

$(IMPORTER_VENV)/.installed: requirements/importer.txt
	$(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(IMPORTER_VENV)/bin/python -m pip install --quiet -r requirements/importer.txt
	touch $@

bench: venv
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) $(IMPORTER_VENV) tests/output build *.tar.gz
