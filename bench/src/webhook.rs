//! The webhook path: real API Gateway HTTP API v2 requests carrying deliveries signed
//! the way Twenty signs them, through `webhook::handle_at` (verify, parse, apply) into
//! DynamoDB Local; and the same deliveries through verify + parse + classify alone.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use futures::StreamExt as _;
use lambda_http::Body;
use serde::Serialize;
use serde_json::{Value, json};
use spartan_sync::metrics::Metrics;
use spartan_sync::webhook::{Change, SignatureHeaders, WebhookEvent, sign, verify};
use spartan_sync::{DynamoLeadStore, RemoteRecord, Timestamp, WebhookConfig};
use webhook::{WebhookState, handle_at};

use super::counting::{DynamoCounter, DynamoCounts};
use super::percentile;
use spartan_sync_tests::emulator::{Emulator, EmulatorOptions, Seed};
use spartan_sync_tests::stack::{dynamo_local, fresh_table};

const SECRET: &str = "bench-webhook-secret";
const APIGW_V2_FIXTURE: &str =
    include_str!("../../tests/fixtures/aws/example-apigw-v2-request-no-authorizer.json");

/// One delivery, ready to send: its API Gateway event and the parts the handler checks.
pub struct Delivery {
    pub apigw_event: String,
    pub body: Vec<u8>,
    pub timestamp: String,
    pub signature: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandlerRun {
    pub events: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub events_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Answers by `status` (`applied`, `duplicate`, ...).
    pub outcomes: BTreeMap<String, u64>,
    /// Counted in the handler's SDK client.
    pub dynamo: DynamoCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub us_per_event: f64,
    pub events_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookResults {
    pub leads: usize,
    pub mean_body_bytes: f64,
    pub runs: Vec<HandlerRun>,
    /// No I/O: best of 3 passes over the same deliveries.
    pub stages: Vec<Stage>,
}

pub async fn run(events: usize, leads: usize) -> anyhow::Result<WebhookResults> {
    ensure!(leads > 0 && events >= leads, "need events >= leads > 0");
    let records = lead_records(leads).await?;
    let dynamo = dynamo_local().await;
    let table = fresh_table(&dynamo).await;
    let config = WebhookConfig::from_lookup(|k| match k {
        "LEADS_TABLE" => Some(table.clone()),
        "TWENTY_WEBHOOK_SECRET" => Some(SECRET.into()),
        _ => None,
    })?;

    let mut runs = Vec::new();
    let mut first = Vec::new();
    // One Lambda instance handles one event at a time; several instances run at once.
    for (pass, concurrency) in [1usize, 8].into_iter().enumerate() {
        let deliveries = deliveries(&records, events, pass * events)?;
        let counter = DynamoCounter::default();
        let store = DynamoLeadStore::new(counter.install(&dynamo), &table, "leads");
        let state = WebhookState {
            config: config.clone(),
            store,
            // Metrics off (no namespace), as in local runs: on Lambda they are one
            // stdout line per event.
            metrics: Metrics::new(None, "webhook"),
        };
        let mut run = drive(&state, &deliveries, concurrency).await?;
        run.dynamo = counter.snapshot();
        let applied = run.outcomes.get("applied").copied().unwrap_or(0);
        ensure!(
            applied == events as u64,
            "every delivery carries a newer version and must be applied: {:?}",
            run.outcomes
        );
        runs.push(run);
        if pass == 0 {
            first = deliveries;
        }
    }
    let mean_body_bytes =
        first.iter().map(|d| d.body.len()).sum::<usize>() as f64 / first.len() as f64;
    Ok(WebhookResults {
        leads,
        mean_body_bytes,
        runs,
        stages: stages(&first)?,
    })
}

/// `leads` records exactly as the emulator (Twenty) shapes them.
async fn lead_records(leads: usize) -> anyhow::Result<Vec<Value>> {
    let emulator = Emulator::start(EmulatorOptions {
        seed: Seed::Backdated {
            count: leads,
            age: Duration::from_secs(3600),
            span: Duration::from_secs(30 * 24 * 3600),
        },
        ..EmulatorOptions::default()
    })
    .await?;
    let records = emulator.records("leads");
    emulator.shutdown().await;
    Ok(records)
}

/// `events` deliveries round-robin over the leads: each lead's first is `lead.created`,
/// every later one a `lead.updated` one second newer with a new score. `offset` continues
/// the versions of an earlier batch.
pub fn deliveries(
    records: &[Value],
    events: usize,
    offset: usize,
) -> anyhow::Result<Vec<Delivery>> {
    let mut out = Vec::with_capacity(events);
    for i in offset..offset + events {
        let base = &records[i % records.len()];
        let version = i / records.len();
        let mut record = base.clone();
        let updated = Timestamp::parse(base["updatedAt"].as_str().context("updatedAt")?)?
            .saturating_add(Duration::from_secs(version as u64));
        record["updatedAt"] = json!(updated.to_string());
        record["score"] = json!(version);
        let (event_name, updated_fields) = if version == 0 {
            ("lead.created", Value::Null)
        } else {
            ("lead.updated", json!(["score"]))
        };
        let now = Timestamp::now();
        let body = serde_json::to_vec(&json!({
            "targetUrl": "https://example.execute-api.us-east-1.amazonaws.com/api/webhooks/twenty",
            "eventName": event_name,
            "objectMetadata": {"id": "17714a70-29e7-4dda-819c-789b7c8a9fb5", "nameSingular": "lead"},
            "workspaceId": "20202020-1c25-4d02-bf25-6aeccf7ea419",
            "webhookId": "0e70af78-ded4-4328-a5fb-b1dafabc601d",
            "eventDate": now.to_string(),
            "record": record,
            "updatedFields": updated_fields,
        }))?;
        let timestamp = now.unix_millis().to_string();
        let signature = sign(SECRET.as_bytes(), &timestamp, &body);
        let nonce = format!("{:032x}", rand::random::<u128>());
        let apigw_event = apigw_event(
            &body,
            &[
                ("x-twenty-webhook-timestamp", &timestamp),
                ("x-twenty-webhook-signature", &signature),
                ("x-twenty-webhook-nonce", &nonce),
            ],
        )?;
        out.push(Delivery {
            apigw_event,
            body,
            timestamp,
            signature,
        });
    }
    Ok(out)
}

/// The API Gateway HTTP API v2 event AWS would send for this POST (the runtime's own
/// fixture, re-pointed at our route).
pub fn apigw_event(body: &[u8], headers: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut event: Value = serde_json::from_str(APIGW_V2_FIXTURE)?;
    event["routeKey"] = json!("POST /api/webhooks/twenty");
    event["rawPath"] = json!("/api/webhooks/twenty");
    event["requestContext"]["http"]["method"] = json!("POST");
    event["requestContext"]["http"]["path"] = json!("/api/webhooks/twenty");
    for (k, v) in headers {
        event["headers"][*k] = json!(v);
    }
    event["headers"]["content-type"] = json!("application/json");
    event["headers"]["content-length"] = json!(body.len().to_string());
    event["body"] = json!(std::str::from_utf8(body)?);
    event["isBase64Encoded"] = json!(false);
    Ok(event.to_string())
}

/// Sends every delivery through the handler, `concurrency` at a time; the requests are
/// decoded from their API Gateway events before the clock starts.
async fn drive(
    state: &WebhookState,
    deliveries: &[Delivery],
    concurrency: usize,
) -> anyhow::Result<HandlerRun> {
    let requests = deliveries
        .iter()
        .map(|d| lambda_http::request::from_str(&d.apigw_event))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let answers: Vec<(Duration, u16, String)> = futures::stream::iter(requests)
        .map(|request| async move {
            let t = Instant::now();
            let response = handle_at(state, request, Timestamp::now()).await;
            let took = t.elapsed();
            let status = match response.body() {
                Body::Text(t) => serde_json::from_str::<Value>(t)
                    .ok()
                    .and_then(|v| v["status"].as_str().map(String::from))
                    .unwrap_or_else(|| t.clone()),
                _ => String::new(),
            };
            (took, response.status().as_u16(), status)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.0).collect();
    latencies.sort();
    let mut outcomes = BTreeMap::new();
    for (_, code, status) in &answers {
        let key = if *code == 200 {
            status.clone()
        } else {
            format!("{code} {status}")
        };
        *outcomes.entry(key).or_default() += 1;
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(HandlerRun {
        events: deliveries.len(),
        concurrency,
        seconds,
        events_per_second: deliveries.len() as f64 / seconds,
        p50_us: us(percentile(&latencies, 50.0)),
        p99_us: us(percentile(&latencies, 99.0)),
        max_us: us(latencies.last().copied().unwrap_or_default()),
        outcomes,
        dynamo: DynamoCounts::default(),
    })
}

fn headers(d: &Delivery) -> SignatureHeaders<'_> {
    SignatureHeaders {
        timestamp: Some(d.timestamp.as_str()),
        signature: Some(d.signature.as_str()),
    }
}

/// The handler's work before any I/O, stage by stage, best of 3 passes.
fn stages(deliveries: &[Delivery]) -> anyhow::Result<Vec<Stage>> {
    let tolerance = Duration::from_secs(300);
    let secret = SECRET.as_bytes();
    // Verify against each delivery's own signing time: the stage has no clock in it.
    let at = |d: &Delivery| -> anyhow::Result<Timestamp> {
        Timestamp::from_unix_millis(d.timestamp.parse()?).context("timestamp")
    };
    let times: Vec<Timestamp> = deliveries.iter().map(at).collect::<Result<_, _>>()?;
    let objects = spartan_sync::domain::MirrorSet::with_defaults(
        &spartan_sync::domain::ObjectName::from_plural("leads"),
    );
    let parsed: Vec<WebhookEvent> = deliveries
        .iter()
        .map(|d| WebhookEvent::parse(&d.body))
        .collect::<Result<_, _>>()?;
    for (d, now) in deliveries.iter().zip(&times) {
        verify(&d.body, headers(d), secret, *now, tolerance)?;
    }

    let n = deliveries.len();
    let mut out = Vec::new();
    let mut time = |name: &str, pass: &mut dyn FnMut() -> anyhow::Result<()>| {
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            pass()?;
            best = best.min(t.elapsed());
        }
        let secs = best.as_secs_f64();
        out.push(Stage {
            name: name.to_string(),
            us_per_event: secs * 1e6 / n as f64,
            events_per_second: n as f64 / secs,
        });
        anyhow::Ok(())
    };
    time("verify (HMAC-SHA256 + timestamp)", &mut || {
        for (d, now) in deliveries.iter().zip(&times) {
            black_box(verify(&d.body, headers(d), secret, *now, tolerance)).ok();
        }
        Ok(())
    })?;
    time("parse (WebhookEvent::parse)", &mut || {
        for d in deliveries {
            black_box(WebhookEvent::parse(black_box(&d.body))).ok();
        }
        Ok(())
    })?;
    time("classify (WebhookEvent::change)", &mut || {
        for e in &parsed {
            black_box(e.change(&objects)).ok();
        }
        Ok(())
    })?;
    let records: Vec<RemoteRecord> = parsed
        .iter()
        .filter_map(|e| match e.change(&objects) {
            Ok(Change::Lead(_, record)) => Some(record),
            _ => None,
        })
        .collect();
    ensure!(records.len() == n, "every delivery is a lead event");
    // Computed once per record, when the event is parsed (RemoteRecord keeps it).
    time("content hash (domain::content_hash)", &mut || {
        for r in &records {
            black_box(spartan_sync::domain::content_hash(black_box(r.fields())));
        }
        Ok(())
    })?;
    time("verify + parse + classify", &mut || {
        for (d, now) in deliveries.iter().zip(&times) {
            verify(&d.body, headers(d), secret, *now, tolerance)?;
            black_box(WebhookEvent::parse(&d.body)?.change(&objects)?);
        }
        Ok(())
    })?;
    time("API Gateway v2 event decode (lambda_http)", &mut || {
        for d in deliveries {
            black_box(lambda_http::request::from_str(&d.apigw_event)).ok();
        }
        Ok(())
    })?;
    Ok(out)
}
