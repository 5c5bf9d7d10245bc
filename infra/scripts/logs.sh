#!/usr/bin/env bash
# make logs: tails a function's CloudWatch logs (the AWS CLI v1 has no `logs tail`).
#   FN=delta-sync|webhook|leads-api   which function (default delta-sync)
#   SINCE=30m                         how far back to start (s, m, h, d; default 10m)
#   FOLLOW=0                          print and stop instead of following
# Lines are the functions' JSON logs, shown as "time LEVEL message {fields}"; metric
# (EMF) lines as "metrics: Name=value ...".
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

fn="${FN:-delta-sync}"
case "$fn" in
  delta-sync | webhook | leads-api) ;;
  *) die "FN must be delta-sync, webhook or leads-api (got $fn)" ;;
esac
require_aws
require_stack
group="/aws/lambda/$STACK_NAME-$fn"
say "$group (Ctrl-C to stop)"
python="$ROOT/.tools/venv/bin/python3"
[ -x "$python" ] || python=python3
exec "$python" - "$group" "${SINCE:-10m}" "${FOLLOW:-1}" <<'PY'
import json, re, sys, time
import boto3

group, since, follow = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
m = re.fullmatch(r"(\d+)([smhd])", since)
if not m:
    sys.exit(f"error: SINCE must look like 30s, 10m, 2h or 1d (got {since})")
start = int((time.time() - int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]) * 1000)
logs = boto3.client("logs")

def show(event):
    ts = time.strftime("%H:%M:%S", time.localtime(event["timestamp"] / 1000))
    msg = event["message"].rstrip("\n")
    try:
        doc = json.loads(msg)
    except ValueError:
        print(ts, msg)
        return
    if not isinstance(doc, dict):
        print(ts, msg)
        return
    if "_aws" in doc:
        names = [m["Name"] for d in doc["_aws"].get("CloudWatchMetrics", []) for m in d.get("Metrics", [])]
        print(ts, "metrics:", " ".join(f"{n}={doc.get(n)}" for n in names))
        return
    if str(doc.get("type", "")).startswith("platform."):
        rec = doc.get("record", {})
        if doc["type"] == "platform.report":
            metrics = rec.get("metrics", {})
            print(ts, "REPORT", f"duration={metrics.get('durationMs')}ms",
                  f"memory={metrics.get('maxMemoryUsedMB')}MB", f"init={metrics.get('initDurationMs', 0)}ms")
        elif doc["type"] == "platform.runtimeDone" and rec.get("status") != "success":
            print(ts, "RUNTIME", rec.get("status"), rec.get("errorType", ""))
        return
    level = doc.pop("level", "")
    fields = doc.pop("fields", {}) if isinstance(doc.get("fields"), dict) else {}
    message = fields.pop("message", None) or doc.pop("message", "")
    for noise in ("timestamp", "time", "target", "span", "spans", "requestId"):
        doc.pop(noise, None)
    extra = {**fields, **doc}
    print(ts, f"{level:5}", message, json.dumps(extra) if extra else "")

def main():
    global start
    seen = {}  # eventId -> timestamp: the next poll overlaps, skip what was shown
    while True:
        kwargs = {"logGroupName": group, "startTime": start}
        events = []
        try:
            while True:
                page = logs.filter_log_events(**kwargs)
                events.extend(page["events"])
                if "nextToken" not in page:
                    break
                kwargs["nextToken"] = page["nextToken"]
        except logs.exceptions.ResourceNotFoundException:
            sys.exit(f"error: log group {group} does not exist (wrong STACK_NAME or region?)")
        for event in sorted(events, key=lambda e: e["timestamp"]):
            if event["eventId"] not in seen:
                seen[event["eventId"]] = int(event["timestamp"])
                show(event)
                start = max(start, int(event["timestamp"]))
        seen = {k: ts for k, ts in seen.items() if ts >= start}
        sys.stdout.flush()
        if not follow:
            break
        time.sleep(2)


try:
    main()
except (KeyboardInterrupt, BrokenPipeError):
    pass
PY
