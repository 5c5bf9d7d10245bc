#!/usr/bin/env bash
# make demo: a scripted story that exits 0 only if it held.
#   1. the first sync is FULL and stores the 47 seeded leads;
#   2. a one-digit phone change in Twenty (8563057016 -> 8553057016)
#   3. is found by the next DELTA sync as exactly 1 changed lead of 47,
#   4. and the new number is in DynamoDB;
#   5. with the webhook registered, an edit in Twenty reaches DynamoDB within a second,
#      through a real signed HTTP POST to the webhook function under cargo lambda watch;
#   6. an edit made through the leads API reaches Twenty with the next sync.
unset TWENTY_API_URL TWENTY_API_KEY
# Its own logs, so a demo beside a running make run leaves that one's log alone.
SPARTAN_RUN_DIR="$(cd "$(dirname "$0")/.." && pwd)/.run/demo"
source "$(dirname "$0")/local-stack.sh"
fail() { echo "DEMO FAILED: $*" >&2; echo "--- function log ---" >&2; tail -n 40 "$RUN/functions.log" >&2; exit 1; }
expect() { [ "$2" = "$3" ] || fail "$1: expected $3, got $2"; echo "    ok: $1 = $2"; }

LEADS_TABLE="demo-leads" EMULATOR_RATE_LIMIT=off
export LEADS_TABLE EMULATOR_RATE_LIMIT
start_dynamodb
build_binaries
create_table
start_twenty
start_functions

echo "==> 1. first sync (the schedule's event)"
s=$(invoke_sync) || fail "delta-sync invocation failed"
echo "    $s"
expect "mode" "$(echo "$s" | json_get mode)" "full"
expect "leads written" "$(echo "$s" | json_get changed)" "47"
expect "leads in table" "$(echo "$s" | json_get totalInTable)" "47"

echo "==> 2. change one digit of a phone number in Twenty"
auth=(-H "Authorization: Bearer $TWENTY_API_KEY" -H "Content-Type: application/json")
found=$(curl -sf "${auth[@]}" --get "$TWENTY_API_URL/rest/leads" \
  --data-urlencode 'filter=phones.primaryPhoneNumber[eq]:"8563057016"') || fail "could not query Twenty"
id=$(echo "$found" | json_get data.leads.0.id) || fail "no lead has 8563057016"
phones=$(echo "$found" | json_get data.leads.0.phones)
patched=$(echo "$phones" | python3 -c 'import json,sys; p=json.load(sys.stdin); p["primaryPhoneNumber"]="8553057016"; print(json.dumps({"phones": p}))')
curl -sf "${auth[@]}" -X PATCH "$TWENTY_API_URL/rest/leads/$id" -d "$patched" >/dev/null || fail "PATCH refused"
echo "    lead $id: 8563057016 -> 8553057016"

echo "==> 3. next sync"
s=$(invoke_sync) || fail "delta-sync invocation failed"
echo "    $s"
expect "mode" "$(echo "$s" | json_get mode)" "delta"
expect "changed leads" "$(echo "$s" | json_get changed)" "1"
expect "leads in table" "$(echo "$s" | json_get totalInTable)" "47"
grep -q "Found 1 changed lead out of 47 total" "$RUN/functions.log" || fail "the sync log does not say 'Found 1 changed lead out of 47 total'"
echo "    ok: log says 'Found 1 changed lead out of 47 total'"

echo "==> 4. DynamoDB holds the new number"
stored=$(target/debug/spartan-local get-lead "$LEADS_TABLE" "$id") || fail "lead $id not in DynamoDB"
expect "stored phone" "$(echo "$stored" | json_get phones.primaryPhoneNumber)" "8553057016"

echo "==> 5. webhooks: an edit in Twenty reaches DynamoDB within a second, no sync needed"
# As make run does: every function started before Twenty may deliver, so the first
# delivery is not lost to a cold start longer than Twenty's 5 s timeout.
warm_functions
register_local_webhook
# edit_and_wait SCORE: PATCH the score in Twenty, then poll DynamoDB until it shows; prints ms.
edit_and_wait() {
  curl -sf "${auth[@]}" -X PATCH "$TWENTY_API_URL/rest/leads/$id" -d "{\"score\": $1}" >/dev/null || fail "PATCH refused"
  local start score
  start=$(date +%s%N)
  for _ in $(seq 1 100); do
    score=$(target/debug/spartan-local get-lead "$LEADS_TABLE" "$id" | json_get score)
    [ "$score" = "$1" ] && { echo $(( ($(date +%s%N) - start) / 1000000 )); return; }
    sleep 0.02
  done
  fail "score $1 did not reach DynamoDB (last seen: $score)"
}
first_ms=$(edit_and_wait 98)
[ "$first_ms" -lt 1000 ] || fail "the first webhook took ${first_ms} ms to reach DynamoDB"
echo "    ok: first delivery in DynamoDB after ${first_ms} ms"
warm_ms=$(edit_and_wait 99)
[ "$warm_ms" -lt 1000 ] || fail "a webhook took ${warm_ms} ms to reach DynamoDB"
grep -q "Webhook lead.updated: applied" "$RUN/functions.log" || fail "no applied webhook in the function log"
echo "    ok: next delivery in DynamoDB after ${warm_ms} ms (webhook applied)"

echo "==> 6. a local edit through the leads API reaches Twenty with the next sync"
api="$LEADS_API_URL/$id"
etag=$(curl -sf -D - -o /dev/null "$api" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}') || fail "GET $api failed"
edited=$(curl -sf -X PATCH -H "If-Match: $etag" -H "Content-Type: application/json" "$api" -d '{"source": "spartan app"}') || fail "PATCH through the leads API failed"
expect "pending after the local edit" "$(echo "$edited" | json_get _sync.pending)" "update"
s=$(invoke_sync) || fail "delta-sync invocation failed"
echo "    $s"
expect "pushed" "$(echo "$s" | json_get push.pushed)" "1"
remote=$(curl -sf "${auth[@]}" "$TWENTY_API_URL/rest/leads/$id") || fail "GET from Twenty failed"
expect "source in Twenty" "$(echo "$remote" | json_get data.lead.source)" "spartan app"

echo "DEMO PASSED"
