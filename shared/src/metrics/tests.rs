use super::*;

const ALL_DELIVERIES: [WebhookMetric; 7] = [
    WebhookMetric::Outcome(EventOutcome::Applied),
    WebhookMetric::Outcome(EventOutcome::Duplicate),
    WebhookMetric::Outcome(EventOutcome::Stale),
    WebhookMetric::Outcome(EventOutcome::Ignored),
    WebhookMetric::Unauthorized,
    WebhookMetric::BadRequest,
    WebhookMetric::Error,
];

fn summary(status: RunStatus) -> SyncSummary {
    use crate::sync::{PushSummary, SyncMode};
    SyncSummary {
        run_id: "r".into(),
        mode: SyncMode::Delta,
        status,
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
        related: Vec::new(),
    }
}

fn on() -> Metrics {
    Metrics::new(Some("SpartanSync".into()), "webhook")
}

#[test]
fn a_received_delivery_counts_as_what_it_answered() {
    use crate::webhook::{EventError, VerifyError};
    let cases = [
        (Received::Done(EventOutcome::Stale), "WebhookStale"),
        (Received::Done(EventOutcome::Refused), "WebhookBadRequest"),
        (Received::Refused(Refusal::NotPost), "WebhookBadRequest"),
        (
            Received::Refused(Refusal::BadBody(EventError::NotJson("x".into()))),
            "WebhookBadRequest",
        ),
        (
            Received::Refused(Refusal::BadSignature(VerifyError::BadSignature)),
            WEBHOOK_UNAUTHORIZED,
        ),
    ];
    for (received, name) in cases {
        assert_eq!(WebhookMetric::from(&received).name(), name, "{received:?}");
    }
}

#[test]
fn alarm_metrics_follow_the_embedded_metric_format() {
    let doc = on()
        .document(
            WEBHOOK_EVENT,
            &[("outcome", json!("unauthorized"))],
            &[(WEBHOOK_UNAUTHORIZED, 1.0, Unit::Count)],
        )
        .unwrap();
    let cw = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(cw["Namespace"], "SpartanSync");
    assert_eq!(cw["Dimensions"], json!([["Function"]]));
    assert_eq!(
        cw["Metrics"],
        json!([{"Name": "WebhookUnauthorized", "Unit": "Count"}])
    );
    assert_eq!(doc["Function"], "webhook");
    assert_eq!(doc["event"], "webhook-delivery");
    assert_eq!(doc["WebhookUnauthorized"], 1.0);
    assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
}

#[test]
fn only_a_refused_signature_is_a_custom_metric() {
    for outcome in ALL_DELIVERIES {
        let (fields, alarm) = webhook_values(outcome, 3.5);
        let doc = on().document(WEBHOOK_EVENT, &fields, &alarm).unwrap();
        assert_eq!(doc[outcome.name()].as_f64(), Some(1.0), "{outcome:?}");
        assert_eq!(doc["WebhookLatencyMs"], json!(3.5));
        assert_eq!(
            doc.get("_aws").is_some(),
            outcome == WebhookMetric::Unauthorized,
            "{outcome:?}"
        );
    }
    // a run's line is a log line, never a metric
    let m = Metrics::new(Some("SpartanSync".into()), "delta-sync");
    let mut fields = vec![("status", json!("partial"))];
    fields.extend(run_values(&summary(RunStatus::Partial)));
    let doc = m.document(SYNC_RUN_EVENT, &fields, &[]).unwrap();
    assert!(doc.get("_aws").is_none());
    assert_eq!(doc["event"], "sync-run");
}

#[test]
fn run_status_flags_are_exclusive() {
    for status in [
        RunStatus::Succeeded,
        RunStatus::Partial,
        RunStatus::Skipped,
        RunStatus::Failed,
    ] {
        let values = run_values(&summary(status));
        let flags: Vec<u64> = values
            .iter()
            .filter(|(n, _)| n.starts_with("Run") && *n != "RunDurationMs")
            .map(|(_, v)| v.as_u64().unwrap())
            .collect();
        assert_eq!(flags.len(), 4);
        assert_eq!(flags.iter().sum::<u64>(), 1, "{status:?}");
    }
}

#[test]
fn every_value_logged_is_one_the_template_charts() {
    let template = include_str!("../../../infra/template.yaml");
    let mut names: Vec<&str> = run_values(&summary(RunStatus::Partial))
        .iter()
        .map(|(n, _)| *n)
        .collect();
    names.extend(ALL_DELIVERIES.iter().map(|o| o.name()));
    names.extend([
        "WebhookLatencyMs",
        "OpenConflicts",
        SYNC_RUN_EVENT,
        WEBHOOK_EVENT,
    ]);
    for name in names {
        assert!(
            template.contains(name),
            "infra/template.yaml never reads {name}"
        );
    }
    for refused in ["unauthorized", "bad-request", "error"] {
        assert!(template.contains(&format!("'{refused}'")), "{refused}");
    }
    assert!(template.contains(&format!("MetricName: {WEBHOOK_UNAUTHORIZED}")));
}

#[test]
fn no_namespace_no_telemetry() {
    assert!(
        Metrics::new(None, "webhook")
            .document(WEBHOOK_EVENT, &[], &[("X", 1.0, Unit::Count)])
            .is_none()
    );
}
