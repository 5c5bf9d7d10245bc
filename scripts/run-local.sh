#!/usr/bin/env bash
# make run: the whole system on this machine. DynamoDB Local in memory, the Twenty
# emulator seeded with 47 leads (unless TWENTY_API_URL/TWENTY_API_KEY are set), the
# functions under cargo lambda watch, the emulator's webhooks sent to the webhook
# function, and delta-sync invoked on a schedule.
source "$(dirname "$0")/local-stack.sh"
INTERVAL="${SYNC_INTERVAL_SECONDS:-300}"

start_dynamodb
build_binaries
create_table
start_twenty
start_functions
register_local_webhook
tail -n +1 -f "$RUN/functions.log" &
PIDS+=($!)
echo "==> invoking delta-sync every ${INTERVAL}s (SYNC_INTERVAL_SECONDS); Ctrl-C stops everything"
while true; do
  if summary=$(invoke_sync); then
    echo "sync summary: $summary"
  else
    echo "sync failed (see the log above); the next run will retry"
  fi
  sleep "$INTERVAL"
done
