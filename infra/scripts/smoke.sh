#!/usr/bin/env bash
# make smoke: checks the deployed stack end to end (after make deploy): a delivery signed
# like Twenty signs it must be accepted and an unsigned one refused; a SigV4-signed
# GET /leads must answer 200 and an unsigned one 403. Prints PASS/FAIL per check and a
# verdict; exits 1 on any failure. Writes nothing to the mirror (the smoke delivery is an
# event of an object the mirror does not keep). See smoke.py for the details.
#   STACK_NAME, AWS_REGION       which stack
#   SMOKE_WEBHOOK_URL, SMOKE_API_URL   other URLs to test (default: the stack outputs)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_aws
require_stack
python="$ROOT/.tools/venv/bin/python3"
[ -x "$python" ] || python=python3
args=(--stack-name "$STACK_NAME" --region "$AWS_REGION")
if [ -n "${SMOKE_WEBHOOK_URL:-}" ]; then args+=(--webhook-url "$SMOKE_WEBHOOK_URL"); fi
if [ -n "${SMOKE_API_URL:-}" ]; then args+=(--api-url "$SMOKE_API_URL"); fi
say "smoke test of stack $STACK_NAME in $AWS_REGION"
exec "$python" "$ROOT/infra/scripts/smoke.py" "${args[@]}"
