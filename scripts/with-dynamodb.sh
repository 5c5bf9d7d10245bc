#!/usr/bin/env bash
# Runs a command with a fresh in-memory DynamoDB Local, stopped again however the command ends.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint=$(scripts/dynamodb-local.sh start)
port="${endpoint##*:}"
trap 'scripts/dynamodb-local.sh stop "$port"' EXIT INT TERM
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
export AWS_REGION="${AWS_REGION:-us-east-1}"
# DynamoDB Local accepts any credentials; these keep the SDK from looking for real ones.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
echo "==> DynamoDB Local at $endpoint"
"$@"
