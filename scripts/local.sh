#!/usr/bin/env bash
# The everyday local actions, from another terminal, against the stack `make run` serves
# (it writes .run/stack.env when ready and removes it when it stops):
#   scripts/local.sh sync          a delta sync now (the schedule's event); prints the summary
#   scripts/local.sh full-sync     a full sync now ({"mode":"full"})
#   scripts/local.sh state         the sync state item
#   scripts/local.sh edit          edit a lead in the emulator (ID=<lead id>, SET='<json>')
#   scripts/local.sh logs          follow the functions' log
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
RUN="${SPARTAN_RUN_DIR:-$ROOT/.run}"
export PATH="$ROOT/.tools/venv/bin:$PATH"
die() { echo "$*" >&2; exit 1; }

[ -f "$RUN/stack.env" ] || die "no local stack is running: start one with 'make run' (in another terminal)"
set -a
# shellcheck source=/dev/null
source "$RUN/stack.env"
set +a
kill -0 "$STACK_PID" 2>/dev/null || die "the local stack (pid $STACK_PID) is gone: start one with 'make run'"

invoke() {
  cargo lambda invoke delta-sync --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" "$@" \
    | python3 -m json.tool
}

case "${1:-}" in
  sync) invoke --data-file tests/fixtures/aws/example-eventbridge-schedule.json ;;
  full-sync) invoke --data-ascii '{"mode":"full"}' ;;
  state) exec target/debug/spartan-local state ;;
  logs) exec tail -n 40 -f "$RUN/functions.log" ;;
  edit)
    [ -n "${EMULATED_TWENTY:-}" ] || die "make local-edit edits the Twenty emulator; with a real workspace, edit the lead in Twenty"
    auth=(-H "Authorization: Bearer $TWENTY_API_KEY" -H "Content-Type: application/json")
    api="$TWENTY_API_URL/rest/$TWENTY_OBJECT"
    id="${ID:-}"
    if [ -z "$id" ]; then
      id=$(curl -sf "${auth[@]}" "$api?limit=1" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(next(iter(d.values()))[0]["id"])') \
        || die "could not list the emulator's leads"
    fi
    set_json="${SET:-}"
    if [ -z "$set_json" ]; then
      # The lead's score plus one: a change every time.
      set_json=$(curl -sf "${auth[@]}" "$api/$id" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; r=next(iter(d.values()))
print(json.dumps({"score": ((r.get("score") or 0) + 1) % 100}))' 2>/dev/null) || die "no lead $id in the emulator"
    fi
    curl -sf "${auth[@]}" -X PATCH "$api/$id" -d "$set_json" >/dev/null || die "the emulator refused PATCH $id $set_json"
    echo "edited lead $id in Twenty (the emulator): $set_json"
    started=$(($(date +%s%N) / 1000000))
    for _ in $(seq 1 150); do
      if stored=$(target/debug/spartan-local get-lead "$id" 2>/dev/null | python3 -c 'import json,sys
want=json.loads(sys.argv[1]); have=json.load(sys.stdin)
def same(h, w):  # a composite is set by sub-field, as Twenty applies the PATCH
    return all(h.get(s) == v for s, v in w.items()) if isinstance(w, dict) and isinstance(h, dict) else h == w
sys.exit(1) if not all(same(have.get(k), v) for k, v in want.items()) else print(json.dumps({k: have[k] for k in want}))' "$set_json"); then
        echo "in DynamoDB after $(( $(date +%s%N) / 1000000 - started )) ms (by webhook): $stored"
        exit 0
      fi
      sleep 0.02
    done
    die "the edit did not reach DynamoDB within 3 s: see make local-logs; the next sync will bring it"
    ;;
  *) die "usage: $0 sync | full-sync | state | edit | logs" ;;
esac
