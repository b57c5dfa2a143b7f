# The two commands: `make demo` and `make test`. Everything else is a step
# they need. Only Rust (cargo), Python 3 and Node.js 20 with npm must be on
# the machine: Python tools are installed, pinned, into ./.venv on first use,
# the console's npm packages into console/node_modules (`npm ci`), and
# Debian's chromium for its e2e test.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
LOCAL_AWS := $(VENV_PY) tools/local_aws.py
CARGO ?= cargo
# The SAM CLI has a venv of its own: its pins conflict with moto's and
# cfn-lint's (requirements-sam.txt).
SAM_VENV := .venv-sam
SAM_VENV_STAMP := $(SAM_VENV)/.installed
# The IaC scanner (checkov) too: its pins conflict with moto's and cfn-lint's
# (requirements-checkov.txt).
CHECKOV_VENV := .venv-checkov
CHECKOV_VENV_STAMP := $(CHECKOV_VENV)/.installed
export SAM_CLI_TELEMETRY := 0
# cargo-lambda and Zig (pinned in requirements-dev.txt) come from the venv.
TOOLS_PATH := $(abspath $(VENV))/bin:$(abspath $(SAM_VENV))/bin:$(PATH)
# Zig's cache (glibc stubs, compiled C) stays in the repository, like
# everything a build makes.
export ZIG_GLOBAL_CACHE_DIR ?= $(abspath $(or $(CARGO_TARGET_DIR),target))/zig-cache

.PHONY: help demo test fmt-check clippy lint-template iac-scan domain-purity domain-layers store-deps store-codecs test-python test-rust \
        local-aws-start local-aws-stop venv lock clean doc-tools package test-package sam-venv checkov-venv
.PHONY: bench-webhook bench-run bench-cold-start bench-collection bench-aging api
.PHONY: console console-build test-console console-e2e chromium bench-console

help:
	@echo "make demo   - run the billing pipeline locally against the local AWS endpoint"
	@echo "make test   - every check: fmt, clippy, template lint, IaC scan, domain purity, domain layers, store deps, store codecs, unit, property and integration tests, the console (unit + e2e in Chromium), the packages"
	@echo "make api    - the staff API on http://127.0.0.1:8787 against the local AWS (header X-Local-Role: billing|sales)"
	@echo "make console - the staff console on http://127.0.0.1:5173 with the seeded API and a local OpenID provider (clerk/clerk, sales/sales)"
	@echo "make package      - every function of the template built once for Lambda and zipped; prints the sizes"
	@echo "make test-package - the packaged functions on Lambda's OS, first polls, the README's deploy commands"

## ---------------------------------------------------------------- setup
# One recipe for the three venvs: the stamp file lives in the venv, the
# prerequisites are its requirements and their lock file.
define install-venv
	@command -v $(PYTHON) >/dev/null || { echo "python3 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/python -m pip install --quiet --disable-pip-version-check -r $(word 1,$^) -c $(word 2,$^)
	@touch $@
endef

$(VENV_STAMP): requirements-dev.txt requirements-lock.txt
	$(install-venv)

venv: $(VENV_STAMP)

$(SAM_VENV_STAMP): requirements-sam.txt requirements-sam-lock.txt
	$(install-venv)

sam-venv: $(SAM_VENV_STAMP)

$(CHECKOV_VENV_STAMP): requirements-checkov.txt requirements-checkov-lock.txt
	$(install-venv)

checkov-venv: $(CHECKOV_VENV_STAMP)

# Re-pin the transitive Python dependencies after changing requirements-dev.txt
# or requirements-sam.txt.
lock:
	rm -rf $(VENV).lock && $(PYTHON) -m venv $(VENV).lock
	$(VENV).lock/bin/pip install --quiet -r requirements-dev.txt
	$(VENV).lock/bin/pip freeze --all | grep -v -E '^(pip|setuptools|wheel)==' > requirements-lock.txt
	rm -rf $(VENV).lock
	rm -rf $(SAM_VENV).lock && $(PYTHON) -m venv $(SAM_VENV).lock
	$(SAM_VENV).lock/bin/pip install --quiet -r requirements-sam.txt
	$(SAM_VENV).lock/bin/pip freeze --all | grep -v -E '^(pip|setuptools|wheel)==' > requirements-sam-lock.txt
	rm -rf $(SAM_VENV).lock
	rm -rf $(CHECKOV_VENV).lock && $(PYTHON) -m venv $(CHECKOV_VENV).lock
	$(CHECKOV_VENV).lock/bin/pip install --quiet -r requirements-checkov.txt
	$(CHECKOV_VENV).lock/bin/pip freeze --all | grep -v -E '^(pip|setuptools|wheel)==' > requirements-checkov-lock.txt
	rm -rf $(CHECKOV_VENV).lock

## ----------------------------------------------------------------- demo
demo: $(VENV_STAMP)
	$(CARGO) build --quiet -p billing-tests --bin demo
	mkdir -p out
	$(LOCAL_AWS) run -- sh -c 'target/debug/demo && $(VENV_PY) tools/dashboard_body.py out/dashboard.json'
	$(CARGO) run --quiet -p billing-documents --example render_samples -- out/documents
	$(MAKE) --no-print-directory console-e2e
	@echo "demo: out/ holds the documents, bank files, journal and reports; out/console/ the console per role"

## ------------------------------------------------------- staff API, local
# Serves the staff API on a loopback port against a fresh local AWS, with a
# seeded seller; act as staff with the header `X-Local-Role: billing|sales`.
api: $(VENV_STAMP)
	$(CARGO) build --quiet -p billing-api --example serve
	$(LOCAL_AWS) run -- target/debug/examples/serve --seed

## ------------------------------------------------------ console, local
# The staff console (console/, issue 20): npm packages pinned by
# package-lock.json (`npm ci`), built by Vite into console/dist. It is never
# part of a Lambda package (those hold one bootstrap each, tools/package.py).
# `make console` serves it with the seeded staff API, which verifies the
# tokens of the local OpenID provider (console/dev/oidc.mjs) as API
# Gateway's JWT authorizer does; the e2e test drives Debian's Chromium.
CONSOLE_DIR := console
CONSOLE_STAMP := $(CONSOLE_DIR)/node_modules/.installed
CONSOLE_STACK := $(LOCAL_AWS) run --quiet -- node $(CONSOLE_DIR)/dev/stack.mjs

$(CONSOLE_STAMP): $(CONSOLE_DIR)/package.json $(CONSOLE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ with npm is required for the console" >&2; exit 1; }
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

console-build: $(CONSOLE_STAMP)
	cd $(CONSOLE_DIR) && npm run --silent build

# Debian's Chromium for the e2e test (no test tool downloads a browser).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian package chromium"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      || { echo "could not install Debian package chromium" >&2; exit 1; }; \
	  else \
	    echo "missing Debian package chromium - install with: sudo apt-get install chromium" >&2; exit 1; \
	  fi; \
	fi

# The staff API and the local documents step (tests/src/bin/console_local.rs:
# what the stream pipe and invoice-pdf do in AWS) for the console's stack.
CONSOLE_RUST := $(CARGO) build --quiet --workspace --locked --example serve --bin console_local

console: $(VENV_STAMP) console-build
	$(CONSOLE_RUST)
	$(LOCAL_AWS) run -- node $(CONSOLE_DIR)/dev/stack.mjs

# The console's unit tests (vitest), then its e2e walk.
test-console: $(VENV_STAMP) console-build chromium
	cd $(CONSOLE_DIR) && npx vitest run
	$(MAKE) --no-print-directory console-e2e

# The e2e walk in Chromium against one local stack: both roles sign in,
# every page in both languages; screenshots of the main pages per role go
# to out/console/ (so `make demo` runs it too).
console-e2e: $(VENV_STAMP) console-build chromium
	$(CONSOLE_RUST)
	STACK_QUIET=1 $(CONSOLE_STACK) -- node $(CONSOLE_DIR)/e2e/run.mjs

# Issue 20's budgets (docs/performance.md): the first screen's gzipped
# JS+CSS, the customer page's API requests, navigation to the customer page
# painted (p50/p95). Measured, not asserted.
bench-console: $(VENV_STAMP) console-build chromium
	$(CONSOLE_RUST)
	CONSOLE_SEED_INVOICES=200 CONSOLE_DOCUMENTS=off BENCH_CUSTOMER=Bench STACK_QUIET=1 $(CONSOLE_STACK) -- node $(CONSOLE_DIR)/dev/bench.mjs

## ----------------------------------------------------------------- test
# The one release build of every function (`make package`, about 18 min
# from clean on 2 cores) is the longest step. It runs in the background at
# the lowest priority while clippy and the tests run, on the CPU they leave
# idle (the integration tests mostly wait on the emulator), and
# test-package checks its packages once both are done.
PACKAGE_LOG := $(abspath $(or $(CARGO_TARGET_DIR),target))/package.log

test: fmt-check lint-template iac-scan domain-purity domain-layers store-deps store-codecs $(VENV_STAMP) $(SAM_VENV_STAMP)
	@mkdir -p $(dir $(PACKAGE_LOG))
	@echo "make package: in the background at low priority (log: $(PACKAGE_LOG))"
	@set -m; \
	nice -n 19 $(MAKE) --no-print-directory package > $(PACKAGE_LOG) 2>&1 & package=$$!; \
	trap 'kill -- -$$package 2>/dev/null || true' EXIT; \
	$(MAKE) --no-print-directory clippy test-python test-rust test-console; \
	if ! wait $$package; then \
	  tail -n 40 $(PACKAGE_LOG); echo "make package failed (log: $(PACKAGE_LOG))" >&2; exit 1; \
	fi; \
	trap - EXIT
	$(MAKE) --no-print-directory test-package
	@echo "make test: all checks passed"

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

lint-template: $(VENV_STAMP)
	$(VENV)/bin/cfn-lint infra/template.yaml

# The security gate (docs/security.md): checkov over the template, no failed
# check unless skipped with a reason (tools/iac_scan.py).
iac-scan: $(CHECKOV_VENV_STAMP)
	$(PYTHON) tools/iac_scan.py infra/template.yaml

# The domain crate must stay pure: no AWS, async runtime or network crate in
# its normal dependency tree.
domain-purity:
	tools/check_domain_purity.sh

# The domain's modules form a ladder: no import circle between them
# (docs/architecture.md, "Domain modules, bottom to top").
domain-layers:
	$(PYTHON) tools/check_domain_layers.py

# The store must stay free of the Lambda runtime: no lambda_runtime,
# lambda_http, aws_lambda_events or billing-lambda in its normal tree.
store-deps:
	tools/check_store_deps.sh

# Every stored attribute is named once, in its item's codec
# (shared/billing-store/src/codec/): no other store module spells one.
store-codecs:
	$(PYTHON) tools/check_store_codecs.py

test-python: $(VENV_STAMP) $(CHECKOV_VENV_STAMP) doc-tools
	$(VENV_PY) -m pytest -q tests/python

# qpdf and pdftotext check the rendered invoices (tests/python). They are
# Debian packages: installed with apt-get when missing and we are root,
# otherwise the target stops and names the package.
doc-tools:
	@missing=""; \
	command -v qpdf >/dev/null || missing="$$missing qpdf"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian package(s):$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
	      || { echo "could not install Debian package(s):$$missing" >&2; exit 1; }; \
	  else \
	    echo "missing Debian package(s):$$missing - install with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

test-rust: $(VENV_STAMP)
	$(LOCAL_AWS) run --quiet -- $(CARGO) test --workspace --locked

## -------------------------------------------------------------- package
# Every function of infra/template.yaml, built once (one cargo-lambda
# release build, x86_64 against glibc 2.34 as [workspace.metadata.lambda.build]
# says) into <target>/lambda/<binary>/bootstrap and zipped as `sam deploy`
# zips it. `sam build` finds these artifacts up to date and copies them.
package: $(VENV_STAMP) $(SAM_VENV_STAMP)
	PATH="$(TOOLS_PATH)" $(VENV_PY) tools/package.py build

# What make test proves of the packages: each runs on provided.al2023
# (glibc symbols, libraries, machine), the README's deploy commands work as
# written and `sam build` deploys exactly these bootstraps, and each starts
# on its template environment and reaches its first poll (`--workspace`:
# the same feature set as test-rust's build, so nothing is compiled again).
test-package: package
	PATH="$(TOOLS_PATH)" $(VENV_PY) -m pytest -q tests/packaging
	$(LOCAL_AWS) run --quiet -- $(CARGO) test --workspace --locked --test packaged_functions -- --ignored

## ----------------------------------------------------------- benchmarks
# Issue 4: the webhook's in-process time (criterion) and its release binary's
# start-up time next to a hello-world lambda_runtime binary, under the local
# AWS (the seller is read at start-up). Not part of `make test`; numbers go to
# docs/performance.md. The release binaries are built and copied first:
# `cargo bench` rebuilds the function with the bench profile into the same path.
BENCH_TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
BENCH_BIN_DIR := $(BENCH_TARGET_DIR)/startup-bench

bench-webhook: $(VENV_STAMP)
	$(CARGO) build --release -p opportunity-webhook --bin opportunity-webhook
	$(CARGO) build --release -p lambda-runtime-fake --bin hello-world
	mkdir -p $(BENCH_BIN_DIR)
	cp $(BENCH_TARGET_DIR)/release/opportunity-webhook $(BENCH_BIN_DIR)/
	cp $(BENCH_TARGET_DIR)/release/hello-world $(BENCH_BIN_DIR)/hello
	$(CARGO) bench -p opportunity-webhook --bench handler
	$(LOCAL_AWS) run --quiet -- env WEBHOOK_BIN=$(BENCH_BIN_DIR)/opportunity-webhook \
		HELLO_BIN=$(BENCH_BIN_DIR)/hello $(CARGO) bench -p opportunity-webhook --bench startup

# Issue 14: the cold start of every packaged function next to a hello-world
# lambda_runtime binary built the same way (cargo-lambda, release): first
# poll, init CPU time, first answer. Not part of `make test`; numbers go to
# docs/performance.md.
bench-cold-start: package
	PATH="$(TOOLS_PATH)" $(CARGO) lambda build --release --locked --bin hello-world
	$(CARGO) build --workspace --locked --bin cold_start
	$(LOCAL_AWS) run --quiet -- env HELLO_BIN=$(BENCH_TARGET_DIR)/lambda/hello-world/bootstrap \
		$(BENCH_TARGET_DIR)/debug/cold_start

# Issue 11: the invoice run under load on the local AWS: invoices per
# second, DynamoDB requests per invoice (counted by an SDK interceptor) and
# the planner's peak heap at two sizes. Not part of `make test`; numbers go
# to docs/performance.md.
# Today's receivables aging over 100,000 paid and 10,000 open invoices
# (docs/performance.md): DynamoDB requests and time of one call.
bench-aging: $(VENV_STAMP)
	$(CARGO) build --quiet -p billing-api --example aging_bench
	$(LOCAL_AWS) run --quiet -- target/debug/examples/aging_bench

bench-run: $(VENV_STAMP)
	$(CARGO) build --release -p billing-tests --bin run_load
	$(LOCAL_AWS) run --quiet -- $(BENCH_TARGET_DIR)/release/run_load --subscriptions 10000
	$(LOCAL_AWS) run --quiet -- $(BENCH_TARGET_DIR)/release/run_load --subscriptions 10000 --plan-only
	$(LOCAL_AWS) run --quiet -- $(BENCH_TARGET_DIR)/release/run_load --subscriptions 50000 --plan-only

# The SEPA collection step over direct-debit invoices due on one date
# (docs/performance.md, "SEPA collection step"); debug build, as the
# emulator bounds the time, not the code.
bench-collection: $(VENV_STAMP)
	$(CARGO) build --quiet -p billing-tests --bin collection_load
	$(LOCAL_AWS) run --quiet -- target/debug/collection_load --invoices 2000

## ---------------------------------------------- a long-lived local AWS
local-aws-start: $(VENV_STAMP)
	$(LOCAL_AWS) start

local-aws-stop: $(VENV_STAMP)
	$(LOCAL_AWS) stop

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .local-aws out infra/.aws-sam $(CONSOLE_DIR)/node_modules $(CONSOLE_DIR)/dist
	$(CARGO) clean
