#!/usr/bin/env bash
# Builds the Lambda zips: cargo lambda build --release --arm64 --output-format zip, one
# workspace package per function, into target/lambda/<fn>/bootstrap.zip (under
# $CARGO_TARGET_DIR when that is set).
# A function whose package does not exist (yet) is skipped with a warning.
# cargo-lambda and zig come from .tools/venv (make tools); cargo-lambda finds the
# ziglang module of that venv's python by itself.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

need_cmd cargo "Install Rust (https://rustup.rs)."
need_cmd cargo-lambda "Run make tools (it installs cargo-lambda and ziglang into .tools/venv)."
if ! command -v zig >/dev/null 2>&1 && ! python3 -c 'import ziglang' >/dev/null 2>&1; then
  die "zig is missing: run make tools (it installs the ziglang package into .tools/venv)."
fi
if command -v rustup >/dev/null 2>&1 \
  && ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  say "adding the Rust target aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu >&2 \
    || die "could not add the Rust target aarch64-unknown-linux-gnu (rustup target add aarch64-unknown-linux-gnu)"
fi

# Packages that exist in the workspace, by name.
members="$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))')"

args=()
built=()
for fn in "${FUNCTIONS[@]}"; do
  if grep -qx "$fn" <<<"$members"; then
    args+=(-p "$fn" --bin "$fn")
    built+=("$fn")
  else
    warn "package $fn is not in the workspace yet; skipping it (its stack parameter keeps the previous code)"
  fi
done
[ "${#built[@]}" -gt 0 ] || die "none of ${FUNCTIONS[*]} is a workspace package"

say "building ${built[*]} (release, arm64, zip)"
cargo lambda build --release --arm64 --output-format zip "${args[@]}"

printf '\n%-12s %10s  %s\n' function size artifact
for fn in "${built[@]}"; do
  zip="$LAMBDA_DIR/$fn/bootstrap.zip"
  [ -f "$zip" ] || die "expected $zip after the build, it is missing"
  printf '%-12s %10s  %s\n' "$fn" "$(du -h "$zip" | cut -f1)" "$zip"
done
