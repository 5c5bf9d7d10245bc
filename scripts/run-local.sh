#!/usr/bin/env bash
# make run: the whole system on this machine, on 127.0.0.1 only. DynamoDB Local in memory,
# the Twenty emulator seeded with 47 leads (unless TWENTY_API_URL/TWENTY_API_KEY are set),
# the functions under cargo lambda watch (port WATCH_PORT, default 9000), each started
# before the emulator's webhooks are sent to the webhook function, and delta-sync invoked
# every SYNC_INTERVAL_SECONDS, a full pass (the reconcile, which finds hard deletes) every
# RECONCILE_INTERVAL_SECONDS. Prints what to do next once ready; Ctrl-C stops everything.
source "$(dirname "$0")/local-stack.sh"
# Ctrl-C is how make run ends: a clean stop, exit status 0 (no "make: *** Error 130").
trap 'echo; echo "==> stopping"; exit 0' INT TERM
INTERVAL="${SYNC_INTERVAL_SECONDS:-300}"
RECONCILE="${RECONCILE_INTERVAL_SECONDS:-86400}"
WATCH_PORT="${WATCH_PORT:-9000}"
started=$(now_ms)

if [ -f "$RUN/stack.env" ]; then
  other=$(sed -n 's/^STACK_PID=//p' "$RUN/stack.env")
  if [ -n "$other" ] && kill -0 "$other" 2>/dev/null; then
    echo "a local stack is already running (pid $other; ${RUN#"$ROOT/"}/stack.env): use it, or stop it first" >&2
    exit 1
  fi
  rm -f "$RUN/stack.env"
fi

start_dynamodb
build_binaries
create_table
start_twenty
start_functions
# Start every function before Twenty may deliver a webhook: the first sync starts delta-sync.
warm_functions
echo "==> first sync (starts delta-sync)"
if summary=$(invoke_sync); then
  echo "    $(summary_line <<<"$summary")"
else
  echo "    the first sync failed (see ${RUN#"$ROOT/"}/functions.log); the next run will retry"
fi
register_local_webhook
write_stack_env

cat <<BANNER

==> ready in $(( ($(now_ms) - started) / 1000 )) s, on 127.0.0.1 only
    leads API   $LEADS_API_URL   (no auth locally)
    webhook     $WEBHOOK_URL
    Twenty      $TWENTY_API_URL$([ -n "${EMULATED_TWENTY:-}" ] && echo "   (emulator, API key $TWENTY_API_KEY)")
    DynamoDB    $AWS_ENDPOINT_URL_DYNAMODB   table $LEADS_TABLE
    sync        every ${INTERVAL} s (SYNC_INTERVAL_SECONDS); a full pass every ${RECONCILE} s (RECONCILE_INTERVAL_SECONDS)

    From another terminal:
      make local-sync          # a delta sync now; prints its summary
      make local-full-sync     # a full sync now
      make local-state         # the sync state: watermark, leadCount, lastRun, ...
      make local-edit          # edit a lead in the emulator; shows it reach DynamoDB by webhook
      make local-logs          # follow the functions' log
      curl -s '$LEADS_API_URL?limit=2'

    The functions' log follows. Ctrl-C stops everything.

BANNER

spawn /dev/stdout tail -n 0 -f "$RUN/functions.log"
reconciled=$(now_ms)
while true; do
  pause "$INTERVAL"
  # The reconcile, as the deployed schedule runs it: a full pass finds hard deletes.
  payload=tests/fixtures/aws/example-eventbridge-schedule.json
  if (( $(now_ms) - reconciled >= RECONCILE * 1000 )); then
    payload='{"mode":"full"}'
    reconciled=$(now_ms)
  fi
  if summary=$(invoke_sync "$payload"); then
    echo "==> $(summary_line <<<"$summary")"
  else
    echo "==> sync failed (see the log above); the next run will retry"
  fi
done
