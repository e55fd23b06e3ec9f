# The CI/CD strategy's commands, run against a lab of real hosts on this machine.
# `make help` lists them. Every target runs one command; prerequisites chain the rest, and the
# CI workflows call these same targets, so what passes here passes there.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# Steps that share a lab must not race each other.
.NOTPARALLEL:

VENV ?= .venv
BIN := $(VENV)/bin
OPS := $(BIN)/voicenote-ops
PYTEST := $(BIN)/pytest
# Which lab the lab targets work on, its shape (prod: lb1, app1, app2, db1; single: node1),
# and the host `logs` and `logs-api` follow.
LAB ?= lab
TOPOLOGY ?= prod
# What the lab's hosts start from: bare (a new server) or packages (their roles' packages baked in).
LAB_IMAGE ?= bare
# MONITORING=1 adds the monitoring host mon1, MONITORING=0 removes it; unset, the lab keeps what
# it has. HOST_MEMORY sets each host's memory limit when the lab is made (default 1536m).
MONITORING ?=
HOST_MEMORY ?=
LAB_UP_OPTIONS = $(if $(filter 1,$(MONITORING)), --monitoring)$(if $(filter 0,$(MONITORING)), --no-monitoring)$(if $(HOST_MEMORY), --host-memory $(HOST_MEMORY))
HOST ?= app1
# What `dev`, `build` and `deploy` ship: the reference app, at this version.
APP_DIR ?= examples/voicenote-api
VERSION ?= 1.0.0
# What `build` signs it with: the lab's committed, test-only key, the one labs trust (CI's deploy
# job signs with its own secret key; docs/app-and-bundles.md, Signing).
SIGNING_KEY ?= inventories/lab/release-signing-key
# The scenario `make molecule` tests (CI: one job per scenario of molecule/).
SCENARIO ?= base
# The compose stack (`compose-up`): its project name and its port on 127.0.0.1.
COMPOSE_PROJECT ?= voicenote
COMPOSE_PORT ?= 8000
# Coverage of voicenote_ops by the unit and integration tiers may not drop below this.
COVERAGE_MIN ?= 85
# The rules of ansible-lint that guard secrets and file ownership (the opt-in ones enabled).
ANSIBLE_SECURITY_RULES := security risky-file-permissions no-same-owner partial-become
ANSIBLE_SECURITY_OPT_IN := no-log-password no-same-owner
# Where `voicenote-ops lab up` writes the lab's inventory (voicenote_ops/paths.py, lab/state.py).
STATE_DIR ?= $(or $(VOICENOTE_OPS_STATE),$(or $(XDG_STATE_HOME),$(HOME)/.local/state)/voicenote-ops)
LAB_INVENTORY := $(STATE_DIR)/labs/$(LAB)/inventory
# Ad-hoc ansible runs get the project's settings wherever make was started from.
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

##@ Help

.PHONY: help
help: ## Show this list (variables: LAB, TOPOLOGY, HOST, VERSION, SIGNING_KEY, SCENARIO, COVERAGE_MIN, COMPOSE_PORT)
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n%s\n", substr($$0, 5)} /^[a-z][a-z0-9-]*:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Setup

$(BIN)/python:
	python3 -m venv $(VENV)

.PHONY: venv
venv: $(BIN)/python ## Make .venv with the pinned requirements (no root; CI's lint and unit jobs)
	$(BIN)/pip install --quiet -r requirements-dev.txt -e .

.PHONY: install
install: ## Install everything as root: Debian packages, lab prerequisites, .venv
	bash scripts/bootstrap.sh

.PHONY: promtool
promtool: ## Put promtool (of the distribution's prometheus package) in .venv/bin, for the rules' tests
	bash scripts/promtool.sh

.PHONY: requirements
requirements: ## Regenerate requirements*.txt from pyproject.toml
	$(BIN)/python scripts/gen_requirements.py

.PHONY: hooks
hooks: ## Install scripts/pre-push-check.sh as this checkout's git pre-push hook
	ln -sf $(CURDIR)/scripts/pre-push-check.sh $(shell git rev-parse --git-path hooks)/pre-push

##@ Lab: a prod-shaped environment on this machine

.PHONY: up
up: ## Start the lab's hosts (again: the same hosts)
	$(OPS) lab up --name $(LAB) --topology $(TOPOLOGY) --image $(LAB_IMAGE)$(LAB_UP_OPTIONS)

.PHONY: down
down: ## Remove the lab's hosts, network and files
	$(OPS) lab down --name $(LAB)

.PHONY: provision
provision: up ## Provision the lab's hosts (voicenote-ops provision)
	$(OPS) provision $(LAB) --yes

.PHONY: build
build: ## Build the release bundle dist/voicenote-api-VERSION.tar.gz, signed with SIGNING_KEY
	$(OPS) build $(APP_DIR) --version $(VERSION) --signing-key $(SIGNING_KEY)

.PHONY: deploy
deploy: provision build ## Deploy VERSION to the lab (voicenote-ops deploy)
	$(OPS) deploy $(LAB) --version $(VERSION) --artifact dist/voicenote-api-$(VERSION).tar.gz --yes

.PHONY: dev
dev: deploy ## The whole loop: lab up, provision, build, deploy, health check
	$(OPS) health $(LAB)

.PHONY: restart
restart: ## Restart the API's running units on the lab's app hosts
	$(BIN)/ansible app -i $(LAB_INVENTORY) --vault-password-file inventories/lab/vault-password.txt -m ansible.builtin.command -a "systemctl try-restart voicenote@*"

.PHONY: logs
logs: ## Follow every log of one lab host (HOST=app1)
	$(OPS) lab ssh --name $(LAB) $(HOST) -- sudo journalctl --follow

.PHONY: logs-api
logs-api: ## Follow the API's logs (both colors) on one lab host (HOST=app1)
	$(OPS) lab ssh --name $(LAB) $(HOST) -- sudo tail -F /var/log/voicenote/blue.log /var/log/voicenote/green.log

.PHONY: ping
ping: ## Every lab host: reachable over SSH, Python, sudo
	$(OPS) ping $(LAB)

.PHONY: health
health: ping ## Health check: SSH reachability, then the API's health endpoints
	$(OPS) health $(LAB)

.PHONY: compose-up
compose-up: ## The seed's local path: the app (VERSION) with PostgreSQL and Redis in containers here, on 127.0.0.1:COMPOSE_PORT (root)
	$(OPS) compose up --version $(VERSION) --port $(COMPOSE_PORT) --project $(COMPOSE_PROJECT)

.PHONY: compose-down
compose-down: ## Remove the compose stack's containers (its database volume stays; VOLUMES=1 removes it too)
	$(OPS) compose down --project $(COMPOSE_PROJECT)$(if $(filter 1,$(VOLUMES)), --volumes)

.PHONY: demo
demo: ## The main job: a provisioned prod-shaped lab, the example app deployed 1.0.0 then 1.1.0
	bash scripts/demo.sh

.PHONY: bench
bench: ## Benchmarks on labs of their own against stock Ansible settings; writes docs/BENCHMARKS.md
	$(OPS) bench

##@ Tests

.PHONY: test
test: ## Every tier but the heavy one: unit, lab integration, molecule (installs as root)
	bash scripts/test.sh

.PHONY: test-quick
test-quick: ## Unit tests only: no hosts, no root, under 2 minutes (on both cores)
	$(PYTEST) -m unit -q -n 2

.PHONY: test-integration
test-integration: ## Lab integration tests (root)
	bash scripts/test.sh -m integration

.PHONY: coverage
coverage: ## Unit and integration tests with the coverage gate (COVERAGE_MIN) (root)
	bash scripts/test.sh -m "unit or integration" --cov=voicenote_ops --cov-report=term-missing --cov-report=xml --cov-fail-under=$(COVERAGE_MIN)

.PHONY: image
image: ## Build (or find cached) the lab's base image, which molecule scenarios use
	$(OPS) lab image

.PHONY: molecule
molecule: image ## One molecule scenario (SCENARIO=base; deploy covers the deploy roles) (root)
	$(BIN)/molecule test --scenario-name $(SCENARIO)

.PHONY: test-heavy
test-heavy: ## Load, stress and performance tests against labs, one at a time; they print figures
	VOICENOTE_TEST_WORKERS=0 bash scripts/test.sh -m "load or stress or performance"

##@ Code quality

.PHONY: lint
lint: lint-python format-check lint-yaml lint-ansible security ## Every check CI's lint and security jobs run

.PHONY: lint-python
lint-python: ## ruff check
	$(BIN)/ruff check .

.PHONY: format-check
format-check: ## ruff format --check
	$(BIN)/ruff format --check .

.PHONY: lint-yaml
lint-yaml: ## yamllint (config: .yamllint)
	$(BIN)/yamllint --strict .

.PHONY: lint-ansible
lint-ansible: ## ansible-lint, production profile
	$(BIN)/ansible-lint --profile production

.PHONY: security
security: security-python security-ansible ## Security scan: bandit, ansible-lint's security rules

.PHONY: security-python
security-python: ## bandit over voicenote_ops (config: pyproject.toml)
	$(BIN)/bandit --quiet --configfile pyproject.toml --recursive voicenote_ops scripts

.PHONY: security-ansible
security-ansible: ## ansible-lint's rules on secrets in logs, file modes and owners, become
	$(BIN)/ansible-lint --profile production $(addprefix --tags ,$(ANSIBLE_SECURITY_RULES)) $(addprefix --enable-list ,$(ANSIBLE_SECURITY_OPT_IN))

.PHONY: format
format: fix ## Rewrite the code: ruff's fixes, then ruff format
	$(BIN)/ruff format .

.PHONY: fix
fix: ## ruff check --fix (what cannot be fixed is left for `make lint` to report)
	$(BIN)/ruff check --fix --exit-zero .

##@ Cleanup

.PHONY: clean
clean: clean-bytecode ## Remove caches, coverage, dist/ and build/ (keeps .venv)
	rm -rf .pytest_cache .ruff_cache .coverage .coverage.* coverage.xml htmlcov dist build *.egg-info examples/*/dist examples/*/build

.PHONY: clean-bytecode
clean-bytecode: ## Remove __pycache__ folders outside .venv
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: distclean
distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
