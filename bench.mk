# Benchmarks. Included by the main Makefile; also works on its own: make -f bench.mk bench
# Not part of `make test`. docs/performance.md explains the numbers and how they are made.

SHELL := bash

.PHONY: bench

bench: ## benchmarks against DynamoDB Local and the emulator: sync bandwidth, full-sync and webhook throughput, cold start (< 10 min; results in target/bench/)
	@scripts/bench.sh
