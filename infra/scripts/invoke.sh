#!/usr/bin/env bash
# make sync-now / make full-sync: invokes delta-sync synchronously and prints its summary.
#   invoke.sh delta   payload {}               (the schedule's own choice: delta, or full when due)
#   invoke.sh full    payload {"mode":"full"}  (re-reads every lead from Twenty)
# A full sync of a large workspace can take up to the 15-minute Lambda limit; the run
# checkpoints before it and the next run (scheduled or manual) carries on.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

mode="${1:-delta}"
case "$mode" in
  delta) payload='{}' ;;
  full) payload='{"mode":"full"}' ;;
  *) die "usage: invoke.sh delta|full" ;;
esac

require_aws
require_stack
make_private_tmp
fn="$(stack_output DeltaSyncFunctionName)"
[ -n "$fn" ] || die "stack $STACK_NAME has no DeltaSyncFunctionName output"
if ! api_key_is_set; then
  die "the Twenty API key is not set yet: run make set-api-key first"
fi

printf '%s' "$payload" >"$PRIVATE_TMP/payload.json"
say "invoking $fn with $payload (waits for the run to finish, up to 15 minutes)"
# Synchronous invoke: no read timeout (a full sync runs for minutes), no CLI retries
# (a retried invoke would be a second run).
if ! AWS_MAX_ATTEMPTS=1 aws lambda invoke --function-name "$fn" \
  --payload "fileb://$PRIVATE_TMP/payload.json" \
  --cli-read-timeout 0 --cli-connect-timeout 10 \
  "$PRIVATE_TMP/result.json" >"$PRIVATE_TMP/meta.json" 2>"$PRIVATE_TMP/err.txt"; then
  if grep -q 'TooManyRequestsException\|Rate Exceeded\|ReservedFunctionConcurrentInvocationLimitExceeded' "$PRIVATE_TMP/err.txt"; then
    die "a run is already in progress (delta-sync runs one at a time). Watch it with: make logs"
  fi
  cat "$PRIVATE_TMP/err.txt" >&2
  die "invoking $fn failed"
fi

python3 - "$PRIVATE_TMP/meta.json" "$PRIVATE_TMP/result.json" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
raw = open(sys.argv[2]).read()
try:
    result = json.loads(raw)
    text = json.dumps(result, indent=2, sort_keys=True)
except ValueError:
    result, text = None, raw
print(text)
if meta.get("FunctionError"):
    print(f"\nerror: the run failed ({meta['FunctionError']}); details: make logs", file=sys.stderr)
    sys.exit(1)
PY
