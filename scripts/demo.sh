#!/usr/bin/env bash
# make demo: a scripted story that exits 0 only if it held.
#   1. the first sync is FULL and stores the 47 seeded leads;
#   2. a one-digit phone change in Twenty (8563057016 -> 8553057016)
#   3. is found by the next DELTA sync as exactly 1 changed lead of 47,
#   4. and the new number is in DynamoDB;
#   5. with the webhook registered, an edit in Twenty reaches DynamoDB within a second,
#      through a real signed HTTP POST to the webhook function under cargo lambda watch.
unset TWENTY_API_URL TWENTY_API_KEY
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
register_local_webhook
curl -sf "${auth[@]}" -X PATCH "$TWENTY_API_URL/rest/leads/$id" -d '{"score": 99, "status": "QUALIFIED"}' >/dev/null || fail "PATCH refused"
start=$(date +%s%N)
for _ in $(seq 1 40); do
  score=$(target/debug/spartan-local get-lead "$LEADS_TABLE" "$id" | json_get score)
  [ "$score" = "99" ] && break
  sleep 0.05
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect "stored score after the webhook" "$score" "99"
[ "$elapsed_ms" -lt 2000 ] || fail "the webhook took ${elapsed_ms} ms"
grep -q '"status":"applied"' "$RUN/functions.log" 2>/dev/null || grep -q "lead.updated" "$RUN/functions.log" || fail "no webhook in the function log"
echo "    ok: in DynamoDB ${elapsed_ms} ms after the PATCH (webhook applied)"

echo "DEMO PASSED"
