"""The alarms of infra/template.yaml replayed against situations they must and must not
fire on, with CloudWatch's alarm semantics, on a simulated metric stream.

What is simulated (`World`):
- the 5-minute schedule: one delta-sync invocation per tick, which succeeds or returns an
  error (Lambda's `Invocations` and `Errors`, timestamped when the invocation starts, as
  Lambda does); a tick the schedule never sends produces no datapoint at all;
- Twenty's webhook deliveries: a Poisson stream of changes (20 an hour unless said
  otherwise, none while nobody edits), plus bulk edits; each is one request on the HTTP
  API (`5xx` is 0 or 1 per request) and, when its signature is refused, one
  `WebhookUnauthorized` datapoint (the webhook publishes that metric only then);
- faults: Twenty down (runs fail, no deliveries), the API key revoked (runs fail),
  DynamoDB failing (runs fail, deliveries answer 5xx), the schedule disabled, the webhook
  secret changed in Twenty only, unsigned requests from a stranger.

How an alarm is evaluated (`evaluate`), as CloudWatch does for a standard-resolution
alarm: datapoints are aggregated per period with the alarm's statistic; every minute the
last `EvaluationPeriods` complete periods are looked at; a period without datapoints is
breaching or not as `TreatMissingData` says; the alarm is in ALARM when at least
`DatapointsToAlarm` of them breach, else OK. (CloudWatch adds its own delay of about a
minute before it evaluates a period; it is not modelled.) The alarm definitions are read
from the template, so the test exercises what gets deployed.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

import pytest

MIN = 60
HOUR = 3600
# Each simulation starts this long before t=0 (a healthy stack) and is judged from t=0.
WARMUP = 2 * HOUR

ALARM_LOGICAL_IDS = {
    "sync-stopped": "SyncStoppedAlarm",
    "sync-failing": "SyncFailingAlarm",
    "webhook-unauthorized": "WebhookUnauthorizedAlarm",
    "api-5xx": "ApiServerErrorAlarm",
}


# ---------------------------------------------------------------------------
# CloudWatch alarm semantics
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Alarm:
    name: str
    metric: str
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    missing: str

    @classmethod
    def from_template(cls, template, name: str) -> "Alarm":
        p = template["Resources"][ALARM_LOGICAL_IDS[name]]["Properties"]
        return cls(
            name=name,
            metric=p["MetricName"],
            statistic=p["Statistic"],
            period=int(p["Period"]),
            evaluation_periods=int(p["EvaluationPeriods"]),
            datapoints_to_alarm=int(p.get("DatapointsToAlarm", p["EvaluationPeriods"])),
            threshold=float(p["Threshold"]),
            comparison=p["ComparisonOperator"],
            missing=p.get("TreatMissingData", "missing"),
        )

    def breaches(self, value: float) -> bool:
        return {
            "GreaterThanThreshold": value > self.threshold,
            "GreaterThanOrEqualToThreshold": value >= self.threshold,
            "LessThanThreshold": value < self.threshold,
            "LessThanOrEqualToThreshold": value <= self.threshold,
        }[self.comparison]


def evaluate(alarm: Alarm, samples: list[tuple[float, float]], start: float, end: float):
    """State changes [(time, 'ALARM'|'OK')] between start and end; the alarm is OK at start."""
    assert alarm.missing in ("breaching", "notBreaching")
    aggregate = {"Sum": sum, "Maximum": max, "Minimum": min}[alarm.statistic]
    buckets: dict[int, list[float]] = defaultdict(list)
    for t, v in samples:
        buckets[math.floor(t / alarm.period)].append(v)
    state, changes = "OK", []
    t = math.ceil(start / MIN) * MIN
    while t <= end:
        last = math.floor(t / alarm.period) - 1  # the newest complete period
        breaching = 0
        for k in range(last - alarm.evaluation_periods + 1, last + 1):
            values = buckets.get(k)
            if values is None:
                breaching += alarm.missing == "breaching"
            else:
                breaching += alarm.breaches(aggregate(values))
        new = "ALARM" if breaching >= alarm.datapoints_to_alarm else "OK"
        if new != state:
            changes.append((t, new))
            state = new
        t += MIN
    return changes


# ---------------------------------------------------------------------------
# The world the metrics come from
# ---------------------------------------------------------------------------
Window = tuple[float, float]


def inside(t: float, windows: list[Window]) -> bool:
    return any(a <= t < b for a, b in windows)


@dataclass
class World:
    hours: float = 72
    seed: int = 1
    tick_phase: float = 137.0  # seconds after each 5-minute boundary
    changes_per_hour: float = 20
    nobody_edits: list[Window] = field(default_factory=list)
    schedule_off: list[Window] = field(default_factory=list)
    twenty_down: list[Window] = field(default_factory=list)
    key_revoked_from: float | None = None
    dynamodb_failing: list[Window] = field(default_factory=list)
    secret_mismatch_from: float | None = None
    unsigned_requests: list[tuple[float, int]] = field(default_factory=list)  # (time, count)
    bulk_edits: list[tuple[float, int]] = field(default_factory=list)  # (time, deliveries)
    # (start, seconds) of runs that take long, e.g. a full sync
    long_runs: list[tuple[float, float]] = field(default_factory=list)
    reserved_concurrency: bool = False

    @property
    def end(self) -> float:
        return self.hours * HOUR

    def metrics(self) -> dict[str, list[tuple[float, float]]]:
        rng = random.Random(self.seed)
        out: dict[str, list[tuple[float, float]]] = defaultdict(list)
        # -- the schedule and delta-sync -----------------------------------------
        t = -WARMUP + self.tick_phase
        busy_until = -math.inf
        while t < self.end:
            tick = t + rng.uniform(0, 2)  # the scheduler's own jitter
            t += 300
            if inside(tick, self.schedule_off):
                continue
            if self.reserved_concurrency and tick < busy_until:
                continue  # throttled; dropped once older than MaximumEventAgeInSeconds
            long = next((d for s, d in self.long_runs if s <= tick < s + 300), None)
            if long:
                busy_until = tick + long
            failed = (
                inside(tick, self.twenty_down)
                or inside(tick, self.dynamodb_failing)
                or (self.key_revoked_from is not None and tick >= self.key_revoked_from)
            )
            # a tick during a long run (no reservation) finds the lease taken: skipped, OK
            out["Invocations"].append((tick, 1))
            out["Errors"].append((tick, 1 if failed else 0))
        # -- Twenty's deliveries ---------------------------------------------------
        deliveries = []
        if self.changes_per_hour:
            t = -WARMUP
            while True:
                t += rng.expovariate(self.changes_per_hour / HOUR)
                if t >= self.end:
                    break
                if not inside(t, self.nobody_edits) and not inside(t, self.twenty_down):
                    deliveries.append(t)
        for at, n in self.bulk_edits:
            deliveries += [at + rng.uniform(0, 60) for _ in range(n)]
        for t in sorted(deliveries):
            if self.secret_mismatch_from is not None and t >= self.secret_mismatch_from:
                out["5xx"].append((t, 0))  # 401
                out["WebhookUnauthorized"].append((t, 1))
            else:
                out["5xx"].append((t, 1 if inside(t, self.dynamodb_failing) else 0))
        for at, n in self.unsigned_requests:
            for _ in range(n):
                out["5xx"].append((at, 0))
                out["WebhookUnauthorized"].append((at, 1))
        return out


def run(template, world: World) -> dict[str, list[tuple[float, str]]]:
    """Every alarm's state changes over the world's time, t >= 0."""
    metrics = world.metrics()
    out = {}
    for name in ALARM_LOGICAL_IDS:
        alarm = Alarm.from_template(template, name)
        out[name] = evaluate(alarm, metrics.get(alarm.metric, []), 0, world.end)
    return out


def first_alarm(changes) -> float | None:
    return next((t for t, s in changes if s == "ALARM"), None)


def fired(result) -> set[str]:
    return {name for name, changes in result.items() if first_alarm(changes) is not None}


# ---------------------------------------------------------------------------
# The situations
# ---------------------------------------------------------------------------
def test_the_alarms_under_test_are_all_the_alarms(template):
    deployed = {l for l, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert deployed == set(ALARM_LOGICAL_IDS.values())


def test_quiet_workspace_for_a_weekend_and_more_pages_nobody(template):
    # 72 hours in which nobody edits anything: runs keep succeeding every 5 minutes.
    world = World(hours=72, changes_per_hour=0)
    assert fired(run(template, world)) == set()


def test_the_old_watermark_lag_alarm_paged_that_quiet_workspace():
    """The test has teeth: the alarm this set replaces (now - newest updatedAt seen,
    Maximum > 1,800 s for 2 of 2 periods, missing not breaching) fires in the same
    quiet 72 hours."""
    old = Alarm("watermark-lag", "WatermarkLagSeconds", "Maximum", 300, 2, 2, 1800,
                "GreaterThanThreshold", "notBreaching")
    last_edit = -WARMUP / 2
    samples = []
    t = -WARMUP + 137.0
    while t < 72 * HOUR:
        samples.append((t, t - last_edit))
        t += 300
    assert first_alarm(evaluate(old, samples, 0, 72 * HOUR)) is not None


def test_a_busy_healthy_week_pages_nobody(template):
    for seed in range(3):
        world = World(hours=72, seed=seed, changes_per_hour=20,
                      nobody_edits=[(12 * HOUR, 20 * HOUR), (36 * HOUR, 44 * HOUR)])
        assert fired(run(template, world)) == set(), seed


@pytest.mark.parametrize("offset", range(0, 300, 20))
def test_twenty_down_for_20_minutes_heals_without_a_page(template, offset):
    # Twenty unreachable: runs fail (after their retries) and no deliveries come; the first
    # run after it catches up. Whatever the outage's phase against the schedule.
    start = 10 * HOUR + offset
    world = World(hours=14, twenty_down=[(start, start + 20 * MIN)])
    assert fired(run(template, world)) == set()


def test_twenty_down_for_an_hour_pages_once_and_clears(template):
    start = 10 * HOUR + 45
    result = run(template, World(hours=14, twenty_down=[(start, start + HOUR)]))
    assert fired(result) == {"sync-failing"}
    changes = result["sync-failing"]
    assert [s for _, s in changes] == ["ALARM", "OK"]
    assert changes[0][0] - start <= 35 * MIN
    assert changes[1][0] - (start + HOUR) <= 10 * MIN


@pytest.mark.parametrize("offset", range(0, 300, 20))
def test_schedule_disabled_pages_within_20_minutes(template, offset):
    off = 10 * HOUR + offset
    world = World(hours=14, schedule_off=[(off, 12 * HOUR)])
    result = run(template, world)
    assert fired(result) == {"sync-stopped"}
    fired_at = first_alarm(result["sync-stopped"])
    assert fired_at - off <= 20 * MIN, (offset, (fired_at - off) / MIN)
    # counted from the first run that did not happen, the stall: at most 15 minutes
    phase = World().tick_phase
    first_missed = off + ((phase - off) % 300)
    assert fired_at - first_missed <= 15 * MIN + 2
    # and it clears once the schedule runs again
    assert result["sync-stopped"][-1][1] == "OK"


def test_api_key_revoked_pages_within_35_minutes(template):
    revoked = 10 * HOUR + 200
    result = run(template, World(hours=14, key_revoked_from=revoked))
    assert fired(result) == {"sync-failing"}
    assert first_alarm(result["sync-failing"]) - revoked <= 35 * MIN


def test_webhook_secret_changed_in_twenty_only_pages(template):
    # Twenty signs with a secret the stack does not have: every delivery is refused (401).
    delays = []
    for seed in range(20):
        changed = 10 * HOUR + 100
        result = run(template, World(hours=14, seed=seed, secret_mismatch_from=changed))
        assert fired(result) == {"webhook-unauthorized"}, seed
        delays.append(first_alarm(result["webhook-unauthorized"]) - changed)
    assert max(delays) <= 60 * MIN, [d / MIN for d in delays]
    assert statistics.median(delays) <= 30 * MIN, [d / MIN for d in delays]


def test_webhook_secret_changed_while_nobody_edits_is_quiet(template):
    # nothing is delivered, so nothing is lost: the first edit will tell
    world = World(hours=14, changes_per_hour=0, secret_mismatch_from=10 * HOUR)
    assert fired(run(template, world)) == set()


def test_strangers_and_the_smoke_test_do_not_page(template):
    # a scanner trying the public URL 30 times in a minute, twice a day, and
    # `make smoke` (one unsigned request on purpose) every hour
    probes = [(9 * HOUR, 30), (30 * HOUR, 30)] + [(h * HOUR + 30, 1) for h in range(48)]
    world = World(hours=48, unsigned_requests=probes)
    assert fired(run(template, world)) == set()


@pytest.mark.parametrize("offset", range(0, 300, 20))
def test_a_burst_of_dynamodb_errors_does_not_page(template, offset):
    # 3 minutes of DynamoDB errors during a bulk edit of 50 leads: 50 webhook 5xx and a
    # failed run; the next delta run catches the lost deliveries up.
    start = 10 * HOUR + offset
    world = World(hours=14, dynamodb_failing=[(start, start + 3 * MIN)],
                  bulk_edits=[(start, 50)])
    assert fired(run(template, world)) == set()


def test_dynamodb_failing_for_good_pages(template):
    # e.g. the table's permissions or key broken: every delivery and every run fails
    start = 10 * HOUR + 70
    result = run(template, World(hours=14, dynamodb_failing=[(start, 13 * HOUR)]))
    assert fired(result) == {"api-5xx", "sync-failing"}
    assert first_alarm(result["api-5xx"]) - start <= 30 * MIN
    assert first_alarm(result["sync-failing"]) - start <= 35 * MIN


@pytest.mark.parametrize("reserved", [False, True])
def test_a_15_minute_full_sync_does_not_page(template, reserved):
    world = World(hours=14, long_runs=[(10 * HOUR, 14.5 * MIN)], reserved_concurrency=reserved)
    assert fired(run(template, world)) == set()


def test_the_evaluator_follows_m_out_of_n_and_missing_data():
    alarm = Alarm("x", "m", "Sum", 300, 3, 2, 1, "GreaterThanOrEqualToThreshold", "notBreaching")
    # breaching in periods 0 and 2 of 0..2: 2 of 3 -> ALARM once period 2 is complete
    changes = evaluate(alarm, [(10, 1), (310, 0), (610, 1)], 0, 1200)
    assert changes[0] == (900, "ALARM")
    # missing treated as breaching: nothing at all for 3 periods
    stopped = Alarm("y", "m", "Sum", 300, 3, 3, 1, "LessThanThreshold", "breaching")
    changes = evaluate(stopped, [(-300 + 10, 1), (10, 1)], 0, 1500)
    assert changes == [(1200, "ALARM")]
