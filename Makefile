# soakmon — developer entry points. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
# uv from PATH when present, else a private copy in .tools/ (bootstrapped from PyPI).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
SOAKMON := $(VENV)/bin/soakmon
# helm v3, built from the Go module proxy into .tools/bin when missing (scripts/install-helm.sh).
HELM := .tools/bin/helm
# kustomize, built the same way (the tests build deploy/kubernetes overlays with it).
KUSTOMIZE := .tools/bin/kustomize
# The real prometheus-operator and Chaos Mesh CRDs, fetched through the Go module proxy into
# .tools/crds/ (scripts/fetch-crds.sh; the tests install them into the test control plane).
CRDS := .tools/crds/.stamp
# Toxiproxy server and CLI (network chaos actions), built the same way (scripts/install-toxiproxy.sh).
TOXIPROXY := .tools/bin/toxiproxy-server
# vegeta (Go, MIT), the compiled reference of `make bench` only (scripts/install-vegeta.sh).
VEGETA := .tools/bin/vegeta

FUZZ_ARGS ?= --inputs 10000

.PHONY: fuzz help demo test lint lint-deploy dashboards manifests format bench stats stats-openapi chaos-stats spread trial system-deps clean kube-tools kube-up kube-down crds image

help:
	@echo "make demo    set up .venv and run the demo job against the embedded reference target"
	@echo "make test    install what the tests need and run them all"
	@echo "make lint    ruff (lint + format check), strict mypy, import contracts"
	@echo "make bench   benchmarks (bench/), not part of make test"
	@echo "make fuzz    10,000 mutated suites/profiles/daemon configs through soakmon validate"
	@echo "make chaos-stats   chaos experiments of issue 18 repeated (tests/chaos_stats/, ~15 min), not part of make test"
	@echo "make stats   race detection statistics (tests/stats/, ~1-2 h on a busy 2-core machine), not part of make test"
	@echo "make spread  send/arrival spread of concurrent phases (floor, aiohttp, last-byte, TLS, single-packet)"
	@echo "make image   build the container image with buildah (localhost/soakmon/soakmon)"
	@echo "make kube-up / kube-down   a local Kubernetes control plane (prints its kubeconfig)"

.tools/bin/uv:
	@scripts/bootstrap-uv.sh

$(HELM): scripts/install-helm.sh
	@scripts/install-helm.sh

$(TOXIPROXY): scripts/install-toxiproxy.sh
	@scripts/install-toxiproxy.sh

$(VEGETA): scripts/install-vegeta.sh
	@scripts/install-vegeta.sh

$(CRDS): scripts/fetch-crds.sh
	@scripts/fetch-crds.sh

$(KUSTOMIZE):
	PATH="$$PATH:/usr/local/go/bin:/usr/lib/go/bin" GOBIN=$(CURDIR)/.tools/bin GOFLAGS=-buildvcs=false \
	  go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.1

$(VENV)/.synced-main: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --no-dev
	@rm -f $(VENV)/.synced-*; touch $@

$(VENV)/.synced-dev: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --group dev
	@rm -f $(VENV)/.synced-*; touch $@

$(VENV)/.synced-bench: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --group dev --group bench
	@rm -f $(VENV)/.synced-*; touch $@

demo: $(VENV)/.synced-dev
	$(SOAKMON) demo --json reports/demo.json --html reports/demo.html --junit reports/demo.xml

crds: $(CRDS)

# The container image from the Dockerfile, with buildah (scripts/build-image.sh: cached by
# content, so nothing is built when nothing it is made from changed). Needs root.
image:
	@scripts/system-deps.sh image
	@scripts/build-image.sh

system-deps:
	@scripts/system-deps.sh test

# kube-apiserver, controller-manager, scheduler and kwok in .tools/bin (cached; the first build
# takes ~20 minutes on 2 cores).
kube-tools:
	@scripts/kube-tools.sh

KUBE_DIR ?= .tools/kube
kube-up: $(VENV)/.synced-dev system-deps kube-tools
	@$(VENV)/bin/python -m tests.plugins.kube up $(KUBE_DIR)

kube-down: $(VENV)/.synced-dev
	@$(VENV)/bin/python -m tests.plugins.kube down $(KUBE_DIR)

# The container image of tests/deploy/test_image.py is built beside the Go tools (root only:
# buildah's chroot isolation): its cold build (a few minutes) waits on downloads and the disk
# much of the time. Nothing is built when it is up to date (cached by content).
IMAGE_LOG := .tools/image-build.log
test: $(VENV)/.synced-dev system-deps $(CRDS)
	@mkdir -p .tools; pid=; \
	if [ "$$(id -u)" = 0 ]; then scripts/build-image.sh >$(IMAGE_LOG) 2>&1 & pid=$$!; fi; \
	$(MAKE) --no-print-directory $(HELM) $(KUSTOMIZE) $(TOXIPROXY) kube-tools \
	  || { [ -z "$$pid" ] || wait $$pid; exit 1; }; \
	if [ -n "$$pid" ]; then \
	  if wait $$pid; then grep '^build-image:' $(IMAGE_LOG) | tail -n 1; \
	  else cat $(IMAGE_LOG) >&2; echo "make test: the image build failed (above)" >&2; exit 1; fi; \
	fi
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(VENV)/bin/pytest -ra $(PYTEST_ARGS)

# Race detection statistics: every race fault at --race-window 0 on SQLite and PostgreSQL, the
# wallet stand-in and clean runs, 20 runs each (STATS_ARGS="--stats-runs 5 -k sqlite" to narrow).
# Over HTTP/2 (HAProxy in front of the target): STATS_ARGS="--stats-sync single-packet
# --stats-h2 tls" (or h2c); --stats-attempts 1 measures the per-attempt rate.
# The chaos experiments of issue 18 repeated (CHAOS_ARGS="--chaos-runs 2 -k network" to narrow).
chaos-stats: $(VENV)/.synced-dev system-deps $(TOXIPROXY)
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(VENV)/bin/pytest -p no:cacheprovider -q -s -rfE tests/chaos_stats --chaos-stats $(CHAOS_ARGS)

stats: $(VENV)/.synced-dev system-deps stats-openapi
	@scripts/system-deps.sh stats
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(VENV)/bin/pytest -p no:cacheprovider -q -rfE tests/stats --stats $(STATS_ARGS)

# soakmon probe on the three OpenAPI stand-ins: each planted race flagged in >= 19 of 20 runs,
# no finding on the correct variants (OPENAPI_STATS_ARGS: --runs N --concurrency N).
stats-openapi: $(VENV)/.synced-dev
	$(VENV)/bin/python -m tests.openapi.stats $(OPENAPI_STATS_ARGS)

lint: $(VENV)/.synced-dev
	$(VENV)/bin/ruff check monitor tests bench
	$(VENV)/bin/ruff format --check monitor tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory lint-deploy

# The chart and the image recipe (needs helm: built into .tools/bin when missing).
lint-deploy: $(VENV)/.synced-dev $(HELM)
	$(HELM) lint --strict helm/soakmon
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/ruff check deploy/grafana
	$(VENV)/bin/ruff format --check deploy/grafana
	$(VENV)/bin/python deploy/grafana/dashboards.py --check
	$(VENV)/bin/ruff check deploy/kubernetes
	$(VENV)/bin/ruff format --check deploy/kubernetes
	$(VENV)/bin/python deploy/kubernetes/generate.py --check --helm $(HELM)

# Regenerate deploy/kubernetes (kustomize base + overlays) from the chart.
manifests: $(VENV)/.synced-dev $(HELM)
	$(VENV)/bin/python deploy/kubernetes/generate.py --helm $(HELM)

# Regenerate the Grafana dashboards (deploy/grafana/*.json and the chart's copies) from code.
dashboards: $(VENV)/.synced-dev
	$(VENV)/bin/python deploy/grafana/dashboards.py

format: $(VENV)/.synced-dev
	$(VENV)/bin/ruff check --fix monitor tests bench
	$(VENV)/bin/ruff format monitor tests bench

# Send and arrival spread of concurrent phases: a bare write(2) loop (the floor), today's aiohttp
# path, last-byte (plaintext and TLS) and single-packet (50 phases of 20 requests on a loopback
# reference target; nginx as h2 and TLS front).
spread: $(VENV)/.synced-dev
	@scripts/system-deps.sh bench
	$(VENV)/bin/python -m bench.spread $(SPREAD_ARGS)

# A third-party service tried as a new user would (not part of make test: installs Kinto from
# PyPI into .tools/trial-kinto): scenarios/examples/kinto.yaml against a loopback Kinto,
# TRIAL_RUNS (10) runs per --sync mode; reports/trial-kinto/.
trial: $(VENV)/.synced-dev | $(UV)
	bench/trial_kinto.sh

# Long fuzzing run (not part of make test): mutated shipped examples through `soakmon validate`,
# each in a child limited to 20 s CPU and measured for RSS; new failures kept in
# tests/fuzz/regressions/ (FUZZ_ARGS="--inputs N --seed S --jobs J --keep").
fuzz: $(VENV)/.synced-dev
	$(VENV)/bin/python -m tests.fuzz $(FUZZ_ARGS)

bench: $(VENV)/.synced-bench $(VEGETA)
	@scripts/system-deps.sh bench
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache reports
