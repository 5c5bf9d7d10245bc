# Every command a person runs. `make help` lists them.
SHELL := bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.tools/venv/bin:$(PATH)

.PHONY: help tools run demo test test-unit soak lint fmt bench package clean \
	local-sync local-full-sync local-state local-edit local-logs readme-check

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

tools: ## install the local tools into .tools/ (DynamoDB Local, cargo-lambda, zig)
	@scripts/tools.sh

run: tools ## the whole system locally on 127.0.0.1 (WATCH_PORT=9000): DynamoDB Local, Twenty emulator, functions, sync every 5 min
	@scripts/run-local.sh

# The everyday local actions, from a second terminal while `make run` is up.
local-sync: ## (make run up) a delta sync now; prints the run summary
	@scripts/local.sh sync

local-full-sync: ## (make run up) a full sync now; prints the run summary
	@scripts/local.sh full-sync

local-state: ## (make run up) the sync state: watermark, leadCount, lastRun, checkpoint, ...
	@scripts/local.sh state

local-edit: ## (make run up) edit a lead in the emulator and see it reach DynamoDB (ID=<lead id> SET='{"source": "conference"}')
	@scripts/local.sh edit

local-logs: ## (make run up) follow the functions' log
	@scripts/local.sh logs

demo: tools ## scripted story: full sync of 47, a phone edit in Twenty, a delta of exactly 1
	@scripts/demo.sh

test: tools ## every test, with DynamoDB Local started and stopped by itself
	@scripts/with-dynamodb.sh cargo test --workspace --all-targets
	@scripts/demo.sh
	@scripts/readme-check.py

readme-check: tools ## the README's commands, run as written against a fresh make run stack (part of make test)
	@scripts/readme-check.py

test-unit: ## the hermetic tests only (no DynamoDB Local, no emulator process): seconds once built
	cargo test --workspace --lib --bins

SEEDS ?= 1000000
soak: ## the deterministic simulation over SEEDS scenarios (default 1,000,000 from seed 100,001, past make test's; FIRST=n to start elsewhere); prints failing seeds with a replay command
	SIM_SCENARIOS=$(SEEDS) SIM_FIRST_SEED=$(or $(FIRST),100001) SIM_VERBOSE=1 cargo test -p spartan-sync-sim --test sim -- --nocapture

lint: ## formatting and clippy, warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	cargo fmt --all

include infra/infra.mk
include bench.mk

clean: ## remove build output and local state (keeps .tools)
	cargo clean
	rm -rf .run
