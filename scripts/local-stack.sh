# Sourced by run-local.sh and demo.sh: starts the pieces of the local stack and
# stops everything it started when the calling script exits (Ctrl-C included).
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUN="$ROOT/.run"; mkdir -p "$RUN"
export PATH="$ROOT/.tools/venv/bin:$PATH"
PIDS=()
DDB_PORT=""

stop_stack() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$DDB_PORT" ] && scripts/dynamodb-local.sh stop "$DDB_PORT"
  return 0
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v,list) else v[k]
print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }

start_dynamodb() {
  local endpoint
  endpoint=$(DYNAMODB_PORT="${DYNAMODB_PORT:-$(free_port)}" scripts/dynamodb-local.sh start)
  DDB_PORT="${endpoint##*:}"
  export AWS_ENDPOINT_URL_DYNAMODB="$endpoint" AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  echo "==> DynamoDB Local (in memory) at $endpoint"
}

build_binaries() {
  echo "==> building the functions and local tools"
  cargo build --quiet -p delta-sync -p webhook -p leads-api -p spartan-sync-tests --bins
}

create_table() {
  export LEADS_TABLE="${LEADS_TABLE:-spartan-leads}"
  target/debug/spartan-local create-table "$LEADS_TABLE" >/dev/null
  echo "==> table $LEADS_TABLE ready"
}

# Starts the Twenty emulator unless TWENTY_API_URL and TWENTY_API_KEY point at a real workspace.
start_twenty() {
  if [ -n "${TWENTY_API_URL:-}" ] && [ -n "${TWENTY_API_KEY:-}" ]; then
    echo "==> using the Twenty workspace at $TWENTY_API_URL"
    return
  fi
  export TWENTY_API_KEY="local-emulator-key" EMULATED_TWENTY=1
  # A fresh webhook secret per run, shared by the emulator's webhook and the function.
  TWENTY_WEBHOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  export TWENTY_WEBHOOK_SECRET
  local log="$RUN/emulator.log"
  # Remove the last run's output first: the background process truncates it only once it runs.
  rm -f "$RUN/emulator.out"
  target/debug/twenty-emulator --port 0 --seed "${EMULATOR_SEED:-demo}" --api-key "$TWENTY_API_KEY" \
    --rate-limit "${EMULATOR_RATE_LIMIT:-100/60}" >"$RUN/emulator.out" 2>"$log" &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$RUN/emulator.out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  TWENTY_API_URL=$(grep -o 'http://[0-9.:]*' "$RUN/emulator.out" 2>/dev/null | head -n1 || true)
  [ -n "$TWENTY_API_URL" ] || { echo "the Twenty emulator did not start:" >&2; cat "$log" >&2; exit 1; }
  export TWENTY_API_URL
  echo "==> Twenty emulator at $TWENTY_API_URL (seeded: ${EMULATOR_SEED:-demo})"
}

# Runs the functions under cargo lambda's local Lambda runtime emulator.
start_functions() {
  WATCH_PORT="${WATCH_PORT:-$(free_port)}"
  local vars=()
  for v in TWENTY_API_URL TWENTY_API_KEY LEADS_TABLE TWENTY_OBJECT SYNC_LOOKBACK_SECONDS CONFLICT_POLICY \
           TWENTY_WEBHOOK_SECRET WEBHOOK_ALLOW_UNSIGNED AWS_ENDPOINT_URL_DYNAMODB AWS_REGION \
           AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY RUST_LOG; do
    [ -n "${!v:-}" ] && vars+=(--env-var "$v=${!v}")
  done
  # POST /sync invokes delta-sync through the Lambda Invoke API that cargo lambda watch serves.
  vars+=(--env-var "AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$WATCH_PORT" --env-var "DELTA_SYNC_FUNCTION=delta-sync")
  cargo lambda watch --quiet --ignore-changes --invoke-port "$WATCH_PORT" "${vars[@]}" \
    >"$RUN/functions.log" 2>&1 &
  PIDS+=($!)
  # A TCP connect, not an HTTP request: the runtime emulator logs an error for "/".
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$WATCH_PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "==> functions served by cargo lambda watch on 127.0.0.1:$WATCH_PORT (log: .run/functions.log)"
  echo "    leads API: http://127.0.0.1:$WATCH_PORT/lambda-url/leads-api/leads"
  echo "    sync now:  curl -X POST http://127.0.0.1:$WATCH_PORT/lambda-url/leads-api/sync -d '{\"mode\": \"full\"}'"
}

# Registers the local webhook function with the emulator, through Twenty's own API
# (POST /rest/webhooks), exactly as `make register-webhook` does with a real workspace.
register_local_webhook() {
  [ -n "${EMULATED_TWENTY:-}" ] || { echo "==> not registering a webhook: a real Twenty cannot reach this machine"; return; }
  local target="http://127.0.0.1:$WATCH_PORT/lambda-url/webhook/api/webhooks/twenty"
  local body
  body=$(python3 -c 'import json,sys; print(json.dumps({"targetUrl": sys.argv[1], "operations": ["lead.*", "note.*", "noteTarget.*"], "description": "Spartan Sync (local)", "secret": sys.argv[2]}))' "$target" "$TWENTY_WEBHOOK_SECRET")
  curl -sf -H "Authorization: Bearer $TWENTY_API_KEY" -H "Content-Type: application/json" \
    -X POST "$TWENTY_API_URL/rest/webhooks" -d "$body" >/dev/null || { echo "webhook registration failed" >&2; exit 1; }
  echo "==> Twenty webhooks go to $target"
}

# invoke_sync [payload-file-or-json] — prints the run summary JSON.
invoke_sync() {
  local data="${1:-tests/fixtures/aws/example-eventbridge-schedule.json}"
  local args=(--data-file "$data")
  [ -f "$data" ] || args=(--data-ascii "$data")
  cargo lambda invoke delta-sync --invoke-port "$WATCH_PORT" "${args[@]}"
}
