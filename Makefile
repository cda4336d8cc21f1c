# SEN1 — every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help install run test test-unit test-integration lint fmt proto charts-lint bench bench-deps images clean check-uv system-deps screenshots

help: ## List the commands
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

check-uv:
	@command -v $(UV) >/dev/null 2>&1 || { echo "installing uv (pip --user)"; python3 -m pip install --user --quiet uv; }

install: check-uv ## Install Python 3.11 deps of every package (uv workspace, one lock)
	$(UV) sync --frozen --all-packages

system-deps: ## Best effort (root + apt): Mosquitto for MQTT tests, Chromium for browser tests, Prosody for XMPP tests
	@need=""; \
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need="$$need mosquitto"; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	[ -x /usr/bin/prosody ] || need="$$need prosody"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$need (Debian packages)"; \
	    apt-get install -y -qq --no-install-recommends $$need >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$need >/dev/null; } || \
	    echo "note: could not install$$need; MQTT tests use amqtt, browser tests skip"; \
	  else echo "note:$$need missing (not root); MQTT tests use amqtt, browser tests skip"; fi; \
	fi

run: install ## Run the whole platform on the embedded default (Ctrl-C stops it)
	$(RUN) sen1-stack run

test: install system-deps lint ## Install, lint, then run unit and integration tests
	$(RUN) pytest $(PYTEST_ARGS)

test-unit: install ## Unit tests only (no broker, no database)
	$(RUN) pytest -m "not integration and not e2e" $(PYTEST_ARGS)

test-integration: install system-deps ## Integration tests (real broker, PostgreSQL, MQTT, emulators)
	$(RUN) pytest -m integration $(PYTEST_ARGS)

screenshots: install system-deps ## Regenerate docs/screenshots from a fresh `make run` (the demo walk: every dashboard, desktop and phone, shot the moment it is alive)
	SEN1_SCREENSHOTS=docs/screenshots $(RUN) pytest -s -m e2e tools/sen1-stack/tests/e2e/test_stack_demo_walk.py $(PYTEST_ARGS)

lint: install ## ruff format --check, ruff check, mypy --strict, import contracts (every workspace package), helm lint
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) mypy
	$(RUN) python scripts/lint_imports.py
	$(RUN) python scripts/charts_lint.py
	$(RUN) python scripts/render_topics_values.py --check

fmt: install ## Format and autofix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

charts-lint: install ## helm lint --strict + render every chart (Helm Go SDK from PyPI, no helm binary)
	$(RUN) python scripts/charts_lint.py
	$(RUN) python scripts/render_topics_values.py --check

proto: install ## Regenerate energy_core._pb from proto/
	$(RUN) bash scripts/gen_proto.sh

bench-deps: ## Best effort (root + apt): wrk, the load generator of bench_api
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk >/dev/null; }; }; } || \
	  echo "note: wrk missing (apt-get install wrk): bench_api cannot run"

bench: install system-deps bench-deps ## Run the benchmarks in bench/ (prints figures and the machine; bench_api keeps ~25 GB in .var/bench-api; `python bench/<script> --help` explains one without running it)
	@for b in bench/bench_*.py; do echo "== $$b"; $(RUN) python $$b || exit 1; done

# image:distribution, one per services/<name> that has charts/<name> (the Dockerfile
# builds one distribution per image); derived, so a new service needs no edit here.
IMAGES = $(shell $(RUN) python scripts/workspace.py images)
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

images: ## Build one image per services/<name> with a chart (needs a Docker engine): sen1/<name>:IMAGE_TAG
	@for pair in $(IMAGES); do image=$${pair%%:*}; package=$${pair##*:}; \
	  echo "== sen1/$$image:$(IMAGE_TAG) ($$package)"; \
	  docker build --build-arg PACKAGE=$$package -t sen1/$$image:$(IMAGE_TAG) . || exit 1; \
	done

clean: ## Remove caches and the local data folder (.var: PostgreSQL data, logs)
	rm -rf .var .mypy_cache .ruff_cache .pytest_cache
