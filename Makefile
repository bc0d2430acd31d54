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
# Where `make stack-up` keeps the stack a person works with (tests make their own, elsewhere).
STACK_DIR ?= $(CURDIR)/.stack
# The Lambda Runtime API emulator of `make watch`, and where `make invoke` sends events.
WATCH_PORT ?= 9000

.PHONY: help setup build lint test unit stack-up stack-down watch invoke fmt

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install what the local stack needs (PostgreSQL, moto, cargo-lambda); idempotent
	@infra/local/setup.sh

build: ## build every crate
	cargo build --workspace

fmt: ## format the code
	cargo fmt --all

lint: setup ## formatting and clippy, warnings denied
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

unit: ## unit tests only (no local stack)
	cargo test --workspace --lib --bins

test: lint ## everything CI runs: lint, unit and integration tests over a fresh local stack
	# The integration tests run the functions' own binaries behind cargo lambda watch.
	cargo build --workspace --bins
	infra/local/with-stack.sh cargo test --workspace

stack-up: setup ## start the local stack in .stack/, seed it, and print its variables (source .stack/env)
	cargo build -p pagerduty-receiver
	infra/local/stack-up.sh $(STACK_DIR)
	. $(STACK_DIR)/env && $(VENV)/bin/python infra/local/seed.py

stack-down: ## stop the stack started by make stack-up
	infra/local/stack-down.sh $(STACK_DIR)

watch: ## run the functions under cargo lambda watch, wired to the stack of make stack-up
	@test -f $(STACK_DIR)/env || { echo "no stack in $(STACK_DIR): run 'make stack-up' first"; exit 1; }
	. $(STACK_DIR)/env && cargo lambda watch --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) \
		--env-file infra/local/functions.env

invoke: ## send an event to a watched function: make invoke FN=alarm-forwarder EVENT=events/alarm-forwarder/x.json
	@test -n "$(FN)" && test -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<events/...json>"; exit 1; }
	cargo lambda invoke $(FN) --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) --data-file $(EVENT)
