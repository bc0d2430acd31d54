# ops-lambdas: every command a person runs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# One target directory for every build, outside the clone: the AWS SDK crates take minutes to
# compile, and a fresh clone (CI's) reuses what an earlier build on this machine made. Outside the
# tree also keeps `cargo lambda watch` from seeing its own output and rebuilding forever.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/ops-lambdas/target
# The project's Python tools (moto, cargo-lambda, zig), pinned in infra/local/requirements.txt.
export VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
# AWS SAM CLI lives in a virtualenv of its own: it pins a boto3 that moto's would fight with.
export SAM_VENV ?= $(CURDIR)/.venv-sam
SAM := $(SAM_VENV)/bin/sam
# The functions' CPU architecture for `make package` and `make deploy`: arm64 or x86_64, as the
# template's Architecture parameter.
ARCH ?= arm64
FUNCTIONS := alarm-forwarder secret-rotator health-checker cost-reporter cleanup-scanner
# sam validate runs offline and must not need (or find) credentials.
OFFLINE_SAM := env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	-u AWS_ENDPOINT_URL AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null SAM_CLI_TELEMETRY=0
# Where `make stack-up` keeps the stack a person works with (tests make their own, elsewhere).
STACK_DIR ?= $(CURDIR)/.stack
# The Lambda Runtime API emulator of `make watch`, and where `make invoke` sends events.
WATCH_PORT ?= 9000

.PHONY: help setup setup-deploy build demo bench lint lint-infra test unit stack-up stack-down watch invoke status fmt package deploy destroy

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install what the local stack needs (PostgreSQL, moto, cargo-lambda, cfn-lint, SAM CLI); idempotent
	@infra/local/setup.sh

setup-deploy: ## install only what building and deploying need (cargo-lambda, zig, cfn-lint, SAM CLI); no root, no PostgreSQL
	@infra/local/setup.sh --deploy

build: ## build every crate
	cargo build --workspace

demo: setup ## the whole system on one machine: seed an account, run every function, check each step, stop everything
	cargo build --workspace --bins
	infra/local/demo.sh

bench: setup ## measure cold start, latency, memory, sizes and throughput (release builds); writes bench/RESULTS.md
	cargo build --release --workspace --bins
	$(MAKE) --no-print-directory package
	infra/local/with-stack.sh $(CARGO_TARGET_DIR)/release/ops-bench --out bench/RESULTS.md

fmt: ## format the code
	cargo fmt --all

lint: setup lint-infra ## formatting, clippy with warnings denied, and the SAM template checked offline
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

lint-infra: setup-deploy ## cfn-lint and sam validate on infra/template.yaml (cfn-lint on infra/member-role.yaml too), offline, without credentials
	cfn-lint infra/template.yaml infra/member-role.yaml
	$(OFFLINE_SAM) $(SAM) validate --lint --template-file infra/template.yaml --region us-east-1
	$(OFFLINE_SAM) $(SAM) validate --template-file infra/template.yaml --region us-east-1

unit: ## unit tests only (no local stack)
	cargo test --workspace --lib --bins

test: lint ## everything CI runs: lint, unit and integration tests over a fresh local stack
	# The integration tests run the functions' own binaries behind cargo lambda watch.
	cargo build --workspace --bins
	infra/local/with-stack.sh cargo test --workspace

package: setup-deploy ## build every function as a Lambda zip for ARCH (arm64) and print each zip's size
	@case "$(ARCH)" in arm64) t=aarch64-unknown-linux-gnu;; x86_64) t=x86_64-unknown-linux-gnu;; \
		*) echo "ARCH must be arm64 or x86_64, not $(ARCH)"; exit 1;; esac; \
	rustup target list --installed | grep -qx $$t || rustup target add $$t
	cargo lambda build --release --$(subst _,-,$(ARCH)) --output-format zip \
		$(addprefix -p ,$(FUNCTIONS)) --lambda-dir $(CARGO_TARGET_DIR)/lambda-$(ARCH)
	@for f in $(FUNCTIONS); do \
		z=$(CARGO_TARGET_DIR)/lambda-$(ARCH)/$$f/bootstrap.zip; \
		printf '  %-16s %8s bytes  %s\n' $$f $$(stat -c %s $$z) $$z; done

deploy: setup-deploy ## sam build + sam deploy (the first time: make deploy GUIDED=1); needs AWS credentials
	cd infra && SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 $(SAM) build --beta-features \
		--parameter-overrides Architecture=$(ARCH)
	@# The deployed Architecture follows ARCH: offered to the guided run, set in the saved parameters after.
	$(if $(GUIDED),,python3 infra/tools/set-architecture.py $(ARCH) infra/samconfig.toml)
	cd infra && $(SAM) deploy $(if $(GUIDED),--guided --parameter-overrides Architecture=$(ARCH),)

destroy: setup-deploy ## delete the deployed stack (the routing secret and log groups go with it)
	cd infra && $(SAM) delete

stack-up: setup ## start the local stack in .stack/, seed it, and print its variables (source .stack/env)
	cargo build --workspace --bins
	infra/local/stack-up.sh $(STACK_DIR)
	. $(STACK_DIR)/env && $(VENV)/bin/python infra/local/seed.py

stack-down: ## stop the stack started by make stack-up
	infra/local/stack-down.sh $(STACK_DIR)

watch: ## run the functions under cargo lambda watch, wired to the stack of make stack-up
	@test -f $(STACK_DIR)/env || { echo "no stack in $(STACK_DIR): run 'make stack-up' first"; exit 1; }
	. $(STACK_DIR)/env && cargo lambda watch --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) \
		--env-file infra/local/functions.env

status: ## ops status against the stack of make stack-up (the whole picture; exits with its code: 0 healthy, 1 degraded, 2 down, 3 could not tell)
	@test -f $(STACK_DIR)/env || { echo "no stack in $(STACK_DIR): run 'make stack-up' first"; exit 1; }
	cargo build -p ops-cli --bin ops
	. $(STACK_DIR)/env && $(CARGO_TARGET_DIR)/debug/ops status; code=$$?; \
		echo "ops status exited $$code (0 healthy, 1 degraded, 2 down, 3 could not tell)"; exit $$code

invoke: ## send an event to a watched function: make invoke FN=alarm-forwarder EVENT=events/alarm-forwarder/x.json
	@test -n "$(FN)" && test -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<events/...json>"; exit 1; }
	cargo lambda invoke $(FN) --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) --data-file $(EVENT)
