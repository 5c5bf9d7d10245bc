//! Telemetry: one JSON line on stdout per sync run and per webhook delivery.
//!
//! CloudWatch Logs keeps every line, and Logs Insights charts their fields (the saved
//! queries and the optional dashboard in `infra/template.yaml`): that costs only the log
//! bytes. Only a value an alarm reads is also a CloudWatch custom metric (Embedded Metric
//! Format: the same line with an `_aws` block), and only on the lines where it happens.
//! Custom metrics are billed per hour in which they receive data, so a metric that is
//! published only when something is wrong costs nothing while all is well.
//!
//! The alarms on the sync itself read Lambda's own `Invocations`/`Errors` (free), so no
//! sync value needs to be a custom metric.

use serde_json::{Map, Value, json};

use crate::sync::{RunStatus, SyncSummary};
use crate::webhook::{EventOutcome, Received, Refusal};

/// A custom metric's unit, as EMF spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    Count,
    Milliseconds,
}

/// The `event` field of a sync run's line.
pub const SYNC_RUN_EVENT: &str = "sync-run";
/// The `event` field of a webhook delivery's line.
pub const WEBHOOK_EVENT: &str = "webhook-delivery";

/// Where a function's telemetry goes: namespace `METRICS_NAMESPACE` for the few custom
/// metrics, dimension `Function`. Without a namespace (local runs) nothing is written.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: Option<String>,
    function: &'static str,
}

impl Metrics {
    /// Whether anything is written: callers skip work done only for telemetry otherwise.
    pub fn enabled(&self) -> bool {
        self.namespace.is_some()
    }

    pub fn new(namespace: Option<String>, function: &'static str) -> Self {
        Self {
            namespace,
            function,
        }
    }

    /// The line for one event (`None` when telemetry is off): `event`, `Function`, the
    /// fields, and for each of `alarm_metrics` its value plus its EMF definition.
    pub fn document(
        &self,
        event: &str,
        fields: &[(&str, Value)],
        alarm_metrics: &[(&str, f64, Unit)],
    ) -> Option<Value> {
        let namespace = self.namespace.as_ref()?;
        let mut doc = Map::new();
        if !alarm_metrics.is_empty() {
            let definitions: Vec<Value> = alarm_metrics
                .iter()
                .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                .collect();
            doc.insert(
                "_aws".into(),
                json!({
                    "Timestamp": crate::domain::Timestamp::now().unix_millis(),
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [["Function"]],
                        "Metrics": definitions,
                    }],
                }),
            );
        }
        doc.insert("event".into(), Value::from(event));
        doc.insert("Function".into(), Value::from(self.function));
        for (name, value) in fields {
            doc.insert((*name).into(), value.clone());
        }
        for (name, value, _) in alarm_metrics {
            doc.insert((*name).into(), json!(value));
        }
        Some(Value::Object(doc))
    }

    fn emit(&self, event: &str, fields: &[(&str, Value)], alarm_metrics: &[(&str, f64, Unit)]) {
        if let Some(doc) = self.document(event, fields, alarm_metrics) {
            println!("{doc}");
        }
    }

    /// One delta-sync run: a log line only. Whether runs succeed is alarmed on Lambda's
    /// `Invocations` and `Errors` (a failed run returns an error to Lambda).
    /// `open_conflicts`: conflicts waiting for a person, for the dashboard.
    pub fn sync_run(&self, s: &SyncSummary, open_conflicts: Option<u64>) {
        let mut fields = vec![
            ("runId", Value::from(s.run_id.clone())),
            ("mode", json!(s.mode)),
            ("status", Value::from(s.status.as_str())),
        ];
        fields.extend(run_values(s));
        fields.extend(open_conflicts.map(|n| ("OpenConflicts", json!(n))));
        self.emit(SYNC_RUN_EVENT, &fields, &[]);
    }

    /// A run that failed outright (no summary).
    pub fn sync_failed(&self) {
        let status = |name: &'static str| (name, json!(u8::from(name == "RunFailed")));
        self.emit(
            SYNC_RUN_EVENT,
            &[
                ("status", Value::from(RunStatus::Failed.as_str())),
                status("RunSucceeded"),
                status("RunPartial"),
                status("RunSkipped"),
                status("RunFailed"),
            ],
            &[],
        );
    }

    /// One webhook delivery, by what the function answered. A refused signature is also
    /// the custom metric `WebhookUnauthorized` (its alarm catches a secret that differs
    /// between Twenty and the stack); nothing else is.
    pub fn webhook(&self, outcome: WebhookMetric, latency_ms: f64) {
        let (fields, alarm) = webhook_values(outcome, latency_ms);
        self.emit(WEBHOOK_EVENT, &fields, &alarm);
    }
}

type Fields = Vec<(&'static str, Value)>;
type AlarmMetrics = Vec<(&'static str, f64, Unit)>;

/// A delivery's fields, and its alarm metric when it has one: a refused signature is
/// counted as the metric itself, everything else as a field named like the metric.
fn webhook_values(outcome: WebhookMetric, latency_ms: f64) -> (Fields, AlarmMetrics) {
    let mut fields = vec![
        ("outcome", Value::from(outcome.outcome())),
        ("WebhookLatencyMs", json!(latency_ms)),
    ];
    match outcome {
        WebhookMetric::Unauthorized => (fields, vec![(WEBHOOK_UNAUTHORIZED, 1.0, Unit::Count)]),
        _ => {
            fields.push((outcome.name(), json!(1)));
            (fields, Vec::new())
        }
    }
}

/// The one custom metric (namespace `METRICS_NAMESPACE`, `Function` = `webhook`).
pub const WEBHOOK_UNAUTHORIZED: &str = "WebhookUnauthorized";

/// The numbers of one run, by the names the saved queries and dashboard chart. The four
/// status flags are exclusive: a partial run is not also counted as succeeded.
fn run_values(s: &SyncSummary) -> Vec<(&'static str, Value)> {
    let is = |status: RunStatus| json!(u8::from(s.status == status));
    let mut values = vec![
        ("LeadsFetched", json!(s.fetched)),
        ("LeadsChanged", json!(s.changed)),
        ("HardDeletesRemoved", json!(s.removed)),
        ("Requests", json!(s.requests)),
        ("ResponseBytes", json!(s.response_bytes)),
        ("Retries", json!(s.retries)),
        ("RateLimited", json!(s.rate_limited)),
        ("RunDurationMs", json!(s.duration_ms)),
        ("RunSucceeded", is(RunStatus::Succeeded)),
        ("RunPartial", is(RunStatus::Partial)),
        ("RunSkipped", is(RunStatus::Skipped)),
        ("RunFailed", is(RunStatus::Failed)),
    ];
    if let Some(lag) = s.watermark_lag_seconds {
        values.push(("WatermarkLagSeconds", json!(lag)));
    }
    if !s.related.is_empty() {
        // Notes and note links pulled after the leads: a pull that fails every run
        // shows here, not in the run's status.
        let failed = s.related.iter().filter(|r| r.error.is_some()).count();
        let written: u64 = s.related.iter().map(|r| r.written).sum();
        values.push(("RelatedPullsFailed", json!(failed)));
        values.push(("RelatedWritten", json!(written)));
    }
    if let Some(push) = &s.push {
        values.push(("PushedChanges", json!(push.pushed)));
        values.push(("PushFailures", json!(push.failed)));
        values.push(("PushConflicts", json!(push.conflicts)));
    }
    values
}

/// How a webhook delivery ended, as counted in the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMetric {
    Outcome(EventOutcome),
    Unauthorized,
    BadRequest,
    Error,
}

impl WebhookMetric {
    fn name(self) -> &'static str {
        match self {
            Self::Outcome(EventOutcome::Applied) => "WebhookApplied",
            Self::Outcome(EventOutcome::Duplicate) => "WebhookDuplicate",
            Self::Outcome(EventOutcome::Stale) => "WebhookStale",
            Self::Outcome(EventOutcome::Ignored) => "WebhookIgnored",
            Self::Unauthorized => WEBHOOK_UNAUTHORIZED,
            Self::BadRequest | Self::Outcome(EventOutcome::Refused) => "WebhookBadRequest",
            Self::Error => "WebhookError",
        }
    }

    fn outcome(self) -> &'static str {
        match self {
            Self::Outcome(outcome) => outcome.as_str(),
            Self::Unauthorized => "unauthorized",
            Self::BadRequest => "bad-request",
            Self::Error => "error",
        }
    }
}

impl From<&Received> for WebhookMetric {
    fn from(received: &Received) -> Self {
        match received {
            Received::Done(outcome) => Self::Outcome(*outcome),
            Received::Refused(Refusal::BadSignature(_)) => Self::Unauthorized,
            Received::Refused(_) => Self::BadRequest,
            Received::Failed(_) => Self::Error,
        }
    }
}

#[cfg(test)]
mod tests;
