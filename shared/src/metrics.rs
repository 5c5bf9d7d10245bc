//! Metrics as CloudWatch Embedded Metric Format: one JSON line on stdout per event,
//! which CloudWatch Logs turns into metrics with no API call and no extra latency.

use serde_json::{Map, Value, json};

use crate::sync::{RunStatus, SyncSummary};
use crate::webhook::EventOutcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Bytes => "Bytes",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
        }
    }
}

/// Where a function's metrics go: namespace `METRICS_NAMESPACE`, dimension `Function`.
/// Without a namespace (local runs) nothing is written.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: Option<String>,
    function: &'static str,
}

impl Metrics {
    pub fn new(namespace: Option<String>, function: &'static str) -> Self {
        Self {
            namespace,
            function,
        }
    }

    /// The EMF document for these values (`None` when metrics are off).
    pub fn document(
        &self,
        values: &[(&str, f64, Unit)],
        properties: &[(&str, Value)],
    ) -> Option<Value> {
        let namespace = self.namespace.as_ref()?;
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut doc = Map::new();
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
        doc.insert("Function".into(), Value::from(self.function));
        for (name, value, _) in values {
            doc.insert((*name).into(), json!(value));
        }
        for (name, value) in properties {
            doc.insert((*name).into(), value.clone());
        }
        Some(Value::Object(doc))
    }

    pub fn emit(&self, values: &[(&str, f64, Unit)], properties: &[(&str, Value)]) {
        if let Some(doc) = self.document(values, properties) {
            println!("{doc}");
        }
    }

    /// One delta-sync run. Partial runs count as succeeding: they made progress and
    /// the next run continues, so "sync not succeeding" must not fire for them.
    pub fn sync_run(&self, s: &SyncSummary) {
        self.emit(
            &run_values(s),
            &[
                ("runId", Value::from(s.run_id.clone())),
                ("mode", json!(s.mode)),
                ("status", Value::from(s.status.as_str())),
            ],
        );
    }

    /// A run that failed outright (no summary).
    pub fn sync_failed(&self) {
        self.emit(
            &[
                ("RunFailed", 1.0, Unit::Count),
                ("RunSucceeded", 0.0, Unit::Count),
            ],
            &[],
        );
    }

    /// One webhook delivery, by what the function answered.
    pub fn webhook(&self, outcome: WebhookMetric, latency_ms: f64) {
        self.emit(
            &[
                (outcome.name(), 1.0, Unit::Count),
                ("WebhookLatencyMs", latency_ms, Unit::Milliseconds),
            ],
            &[],
        );
    }
}

/// The metrics of one run, by the names the dashboard and alarms use.
fn run_values(s: &SyncSummary) -> Vec<(&'static str, f64, Unit)> {
    let is = |status: RunStatus| if s.status == status { 1.0 } else { 0.0 };
    let mut values = vec![
        ("LeadsFetched", s.fetched as f64, Unit::Count),
        ("LeadsChanged", s.changed as f64, Unit::Count),
        ("Requests", s.requests as f64, Unit::Count),
        ("ResponseBytes", s.response_bytes as f64, Unit::Bytes),
        ("Retries", s.retries as f64, Unit::Count),
        ("RateLimited", s.rate_limited as f64, Unit::Count),
        ("RunDurationMs", s.duration_ms as f64, Unit::Milliseconds),
        (
            "RunSucceeded",
            is(RunStatus::Succeeded) + is(RunStatus::Partial),
            Unit::Count,
        ),
        ("RunFailed", is(RunStatus::Failed), Unit::Count),
        ("RunSkipped", is(RunStatus::Skipped), Unit::Count),
        ("RunPartial", is(RunStatus::Partial), Unit::Count),
        ("HardDeletesRemoved", s.removed as f64, Unit::Count),
    ];
    if let Some(lag) = s.watermark_lag_seconds {
        values.push(("WatermarkLagSeconds", lag as f64, Unit::Seconds));
    }
    if let Some(push) = &s.push {
        values.push(("PushedChanges", push.pushed as f64, Unit::Count));
        values.push(("PushFailures", push.failed as f64, Unit::Count));
        values.push(("PushConflicts", push.conflicts as f64, Unit::Count));
    }
    values
}

/// How a webhook delivery ended, as counted on the dashboard.
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
            Self::Unauthorized => "WebhookUnauthorized",
            Self::BadRequest | Self::Outcome(EventOutcome::Refused) => "WebhookBadRequest",
            Self::Error => "WebhookError",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_embedded_metric_format() {
        let m = Metrics::new(Some("SpartanSync".into()), "webhook");
        let doc = m
            .document(&[("WebhookApplied", 1.0, Unit::Count)], &[])
            .unwrap();
        let cw = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "SpartanSync");
        assert_eq!(cw["Dimensions"], json!([["Function"]]));
        assert_eq!(
            cw["Metrics"][0],
            json!({"Name": "WebhookApplied", "Unit": "Count"})
        );
        assert_eq!(doc["Function"], "webhook");
        assert_eq!(doc["WebhookApplied"], 1.0);
        assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    }

    #[test]
    fn every_metric_emitted_is_one_the_dashboard_and_alarms_read() {
        use crate::sync::{PushSummary, SyncMode};
        let template = include_str!("../../infra/template.yaml");
        let summary = SyncSummary {
            run_id: "r".into(),
            mode: SyncMode::Delta,
            status: RunStatus::Partial,
            resumed: false,
            fetched: 3,
            changed: 1,
            inserted: 0,
            updated: 1,
            unchanged: 2,
            stale: 0,
            removed: 0,
            total_in_table: 47,
            pages: 1,
            requests: 1,
            response_bytes: 2048,
            retries: 0,
            rate_limited: 0,
            watermark_before: None,
            watermark_after: None,
            watermark_lag_seconds: Some(30),
            duration_ms: 120,
            push: Some(PushSummary::default()),
            error: None,
        };
        let mut names: Vec<&str> = run_values(&summary).iter().map(|(n, _, _)| *n).collect();
        assert_eq!(
            run_values(&summary)[7],
            ("RunSucceeded", 1.0, Unit::Count),
            "a partial run counts as success"
        );
        for outcome in [
            EventOutcome::Applied,
            EventOutcome::Duplicate,
            EventOutcome::Stale,
            EventOutcome::Ignored,
        ] {
            names.push(WebhookMetric::Outcome(outcome).name());
        }
        names.extend([
            WebhookMetric::Unauthorized.name(),
            WebhookMetric::BadRequest.name(),
            WebhookMetric::Error.name(),
            "WebhookLatencyMs",
        ]);
        for name in names {
            assert!(
                template.contains(name),
                "infra/template.yaml never reads the metric {name}"
            );
        }
    }

    #[test]
    fn no_namespace_no_metrics() {
        assert!(
            Metrics::new(None, "webhook")
                .document(&[("X", 1.0, Unit::Count)], &[])
                .is_none()
        );
    }
}
