# Sourced by run-local.sh, demo.sh and readme-check.sh: starts the pieces of the local stack
# and stops everything it started when the calling script exits (Ctrl-C included).
# Every server listens on 127.0.0.1 only. Each piece runs in a session of its own, so a
# Ctrl-C reaches only the calling script, which then stops the pieces in order.
#   SPARTAN_RUN_DIR   where logs and stack.env go (default .run)
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUN="${SPARTAN_RUN_DIR:-$ROOT/.run}"; mkdir -p "$RUN"
export SPARTAN_RUN_DIR="$RUN"
export PATH="$ROOT/.tools/venv/bin:$PATH"
PIDS=()
DDB_PORT=""
SLEEPER=""
STACK_ENV=""
FUNCTIONS_ENV=""
REAL_WEBHOOK_ID=""

stop_stack() {
  trap '' INT TERM
  [ -n "$STACK_ENV" ] && rm -f "$STACK_ENV"
  [ -n "$FUNCTIONS_ENV" ] && rm -f "$FUNCTIONS_ENV"
  # The webhook registered in a real workspace goes with the stack it pointed at.
  if [ -n "$REAL_WEBHOOK_ID" ]; then
    if curl -sf -m 10 -H "Authorization: Bearer $TWENTY_API_KEY" \
      -X DELETE "$TWENTY_API_URL/rest/webhooks/$REAL_WEBHOOK_ID" >/dev/null; then
      echo "==> removed the webhook $REAL_WEBHOOK_ID from $TWENTY_API_URL"
    else
      echo "==> could not remove the webhook $REAL_WEBHOOK_ID from $TWENTY_API_URL: remove it in Settings → APIs & Webhooks" >&2
    fi
  fi
  [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
  # Each piece leads its own process group: the group takes cargo lambda's function
  # processes with it.
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ -n "$DDB_PORT" ] && scripts/dynamodb-local.sh stop "$DDB_PORT"
  [ -z "$DDB_PORT" ] || echo "==> local stack stopped"
  return 0
}
trap stop_stack EXIT
trap 'exit 130' INT TERM

# spawn LOG CMD...: starts CMD in a session of its own, output to LOG, and remembers it.
spawn() {
  local log="$1"; shift
  setsid "$@" >"$log" 2>&1 &
  PIDS+=($!)
}

# pause SECONDS: a sleep that a Ctrl-C interrupts at once (the trap runs during `wait`).
pause() { sleep "$1" & SLEEPER=$!; wait "$SLEEPER" || true; SLEEPER=""; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if isinstance(v,list) else v[k]
print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }
# One line for a run summary: "full sync succeeded: 47 fetched, 47 changed, 47 in table (997 ms)".
summary_line() { python3 -c 'import json,sys; s=json.load(sys.stdin)
extra=", ".join(f"{s[k]} {k}" for k in ("removed","stale") if s.get(k))
push=s.get("push") or {}
pushed=", {} pushed".format(push["pushed"]) if push.get("pushed") else ""
err=" error: {}".format(s["error"]) if s.get("error") else ""
print("{} sync {}: {} fetched, {} changed{}{}, {} in table ({} ms){}".format(s.get("mode"), s.get("status"),
  s.get("fetched",0), s.get("changed",0), ", "+extra if extra else "", pushed, s.get("totalInTable","?"), s.get("durationMs","?"), err))'; }

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
    # The webhook function and the webhook registered there share this secret.
    if [ -z "${TWENTY_WEBHOOK_SECRET:-}" ]; then
      TWENTY_WEBHOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
      export TWENTY_WEBHOOK_SECRET
    fi
    return
  fi
  export TWENTY_API_KEY="local-emulator-key" EMULATED_TWENTY=1
  # A fresh webhook secret per run, shared by the emulator's webhook and the function.
  TWENTY_WEBHOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  export TWENTY_WEBHOOK_SECRET
  # Remove the last run's output first: the background process truncates it only once it runs.
  rm -f "$RUN/emulator.out"
  setsid target/debug/twenty-emulator --port 0 --seed "${EMULATOR_SEED:-demo}" --api-key "$TWENTY_API_KEY" \
    --rate-limit "${EMULATOR_RATE_LIMIT:-100/60}" >"$RUN/emulator.out" 2>"$RUN/emulator.log" &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$RUN/emulator.out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  TWENTY_API_URL=$(grep -o 'http://[0-9.:]*' "$RUN/emulator.out" 2>/dev/null | head -n1 || true)
  [ -n "$TWENTY_API_URL" ] || { echo "the Twenty emulator did not start:" >&2; cat "$RUN/emulator.log" >&2; exit 1; }
  export TWENTY_API_URL
  echo "==> Twenty emulator at $TWENTY_API_URL (seeded: ${EMULATOR_SEED:-demo})"
}

# Runs the functions under cargo lambda's local Lambda runtime emulator, on 127.0.0.1 only.
# WATCH_PORT picks the port (default: a free one).
start_functions() {
  WATCH_PORT="${WATCH_PORT:-$(free_port)}"
  if port_taken "$WATCH_PORT"; then
    echo "port $WATCH_PORT is taken (another make run?): pick another one, e.g. WATCH_PORT=9001 make run" >&2
    exit 1
  fi
  WATCH_URL="http://127.0.0.1:$WATCH_PORT"
  LEADS_API_URL="$WATCH_URL/lambda-url/leads-api/leads"
  WEBHOOK_URL="$WATCH_URL/lambda-url/webhook/api/webhooks/twenty"
  # The functions' environment goes in a file only this user can read, removed when the
  # stack stops: cargo lambda splits an --env-var value at its commas (TWENTY_OBJECTS,
  # CONFLICT_RULES), and a command line shows the API key and the secret to anyone's ps.
  FUNCTIONS_ENV="$RUN/functions.env"
  (
    umask 077
    : >"$FUNCTIONS_ENV"
    for v in TWENTY_API_URL TWENTY_API_KEY LEADS_TABLE TWENTY_OBJECT TWENTY_OBJECTS SYNC_LOOKBACK_SECONDS CONFLICT_POLICY CONFLICT_RULES \
             TWENTY_WEBHOOK_SECRET WEBHOOK_ALLOW_UNSIGNED AWS_ENDPOINT_URL_DYNAMODB AWS_REGION \
             AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY RUST_LOG; do
      if [ -n "${!v:-}" ]; then printf '%s=%s\n' "$v" "${!v}" >>"$FUNCTIONS_ENV"; fi
    done
  )
  # POST /sync invokes delta-sync through the Lambda Invoke API that cargo lambda watch serves.
  local vars=(--env-file "$FUNCTIONS_ENV"
    --env-var "AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$WATCH_PORT" --env-var "DELTA_SYNC_FUNCTION=delta-sync")
  spawn "$RUN/functions.log" cargo lambda watch --quiet --ignore-changes \
    --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" "${vars[@]}"
  # A TCP connect, not an HTTP request: the runtime emulator logs an error for "/".
  for _ in $(seq 1 300); do
    if port_taken "$WATCH_PORT"; then break; fi
    sleep 0.1
  done
  echo "==> functions served by cargo lambda watch on 127.0.0.1:$WATCH_PORT (log: ${RUN#"$ROOT/"}/functions.log)"
}

# The first request to a function under cargo lambda watch starts it (a `cargo run`),
# which can take longer than Twenty's 5 s delivery timeout: a webhook delivered then would
# be lost. Starts the webhook and leads-api functions with a harmless request each (a GET:
# 405, and one lead); delta-sync starts with the first sync.
warm_functions() {
  local started; started=$(now_ms)
  curl -s -o /dev/null -m 120 "$WEBHOOK_URL" & local webhook=$!
  curl -s -o /dev/null -m 120 "$LEADS_API_URL?limit=1" & local api=$!
  wait "$webhook" "$api" || true
  echo "==> webhook and leads-api functions started in $(( $(now_ms) - started )) ms"
}

# The webhook's operations: <singular>.* for every object of TWENTY_OBJECTS (default: the
# lead object, notes and noteTargets), the singular as the functions derive it.
webhook_operations() {
  python3 - "${TWENTY_OBJECTS:-${TWENTY_OBJECT:-leads},notes,noteTargets}" "${TWENTY_OBJECT:-leads}" "${TWENTY_OBJECT_SINGULAR:-}" <<'PY'
import json, sys
objects, lead, lead_singular = sys.argv[1:4]
def singular(entry):
    plural, _, named = entry.strip().partition(":")
    if named:
        return named
    if plural == lead and lead_singular:
        return lead_singular
    if plural == "people":
        return "person"
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural
print(json.dumps([f"{singular(e)}.*" for e in objects.split(",")]))
PY
}

# Registers the local webhook function with the emulator, through Twenty's own API
# (POST /rest/webhooks), exactly as `make register-webhook` does with a real workspace.
register_local_webhook() {
  local body answer host operations
  operations=$(webhook_operations)
  body=$(python3 -c 'import json,sys; print(json.dumps({"targetUrl": sys.argv[1], "operations": json.loads(sys.argv[3]), "description": "Spartan Sync (local)", "secret": sys.argv[2]}))' "$WEBHOOK_URL" "$TWENTY_WEBHOOK_SECRET" "$operations")
  if [ -z "${EMULATED_TWENTY:-}" ]; then
    # Every local server listens on 127.0.0.1 only: a real Twenty can deliver to it only
    # from this machine.
    host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname or "")' "$TWENTY_API_URL")
    case "$host" in
      localhost|127.*|::1) ;;
      *)
        echo "==> not registering a webhook: Twenty at $host cannot reach 127.0.0.1:$WATCH_PORT."
        echo "    Expose the webhook (e.g. a tunnel to 127.0.0.1:$WATCH_PORT) and register it with:"
        echo "    curl -H \"Authorization: Bearer \$TWENTY_API_KEY\" -H 'Content-Type: application/json' -X POST $TWENTY_API_URL/rest/webhooks \\"
        echo "      -d '{\"targetUrl\": \"<tunnel URL>/lambda-url/webhook/api/webhooks/twenty\", \"operations\": $operations, \"secret\": \"<TWENTY_WEBHOOK_SECRET of this run>\"}'"
        echo "    Until then the delta sync every ${SYNC_INTERVAL_SECONDS:-300} s keeps the mirror fresh."
        return ;;
    esac
  fi
  answer=$(curl -sf -H "Authorization: Bearer $TWENTY_API_KEY" -H "Content-Type: application/json" \
    -X POST "$TWENTY_API_URL/rest/webhooks" -d "$body") || { echo "webhook registration failed" >&2; exit 1; }
  if [ -z "${EMULATED_TWENTY:-}" ]; then
    # Removed again when the stack stops (the answer is the webhook, or wraps it in data).
    REAL_WEBHOOK_ID=$(python3 -c 'import json,sys
d=json.load(sys.stdin)
while isinstance(d, dict) and "id" not in d and len(d) == 1: d = next(iter(d.values()))
print(d.get("id", "") if isinstance(d, dict) else "")' <<<"$answer")
    echo "==> registered webhook ${REAL_WEBHOOK_ID:-?} in $TWENTY_API_URL (removed when make run stops)"
  fi
  echo "==> Twenty webhooks go to $WEBHOOK_URL"
}

# Writes $RUN/stack.env: what scripts/local.sh (make local-*) and spartan-local read to
# reach this stack from another terminal. Removed again when the stack stops.
write_stack_env() {
  STACK_ENV="$RUN/stack.env"
  {
    echo "# the local stack of make run (pid $$); removed when it stops"
    echo "STACK_PID=$$"
    echo "LEADS_TABLE=$LEADS_TABLE"
    echo "TWENTY_OBJECT=${TWENTY_OBJECT:-leads}"
    echo "TWENTY_OBJECTS=${TWENTY_OBJECTS:-${TWENTY_OBJECT:-leads},notes,noteTargets}"
    echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
    echo "AWS_REGION=$AWS_REGION"
    echo "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
    echo "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
    echo "WATCH_PORT=$WATCH_PORT"
    echo "LEADS_API_URL=$LEADS_API_URL"
    echo "WEBHOOK_URL=$WEBHOOK_URL"
    echo "TWENTY_API_URL=$TWENTY_API_URL"
    # The emulator's key only: a real workspace's key never goes to disk.
    if [ -n "${EMULATED_TWENTY:-}" ]; then
      echo "EMULATED_TWENTY=1"
      echo "TWENTY_API_KEY=$TWENTY_API_KEY"
    fi
  } >"$STACK_ENV.tmp"
  mv "$STACK_ENV.tmp" "$STACK_ENV"
}

# invoke_sync [payload-file-or-json] — prints the run summary JSON.
invoke_sync() {
  local data="${1:-tests/fixtures/aws/example-eventbridge-schedule.json}"
  local args=(--data-file "$data")
  [ -f "$data" ] || args=(--data-ascii "$data")
  cargo lambda invoke delta-sync --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" "${args[@]}"
}
