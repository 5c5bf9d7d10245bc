//! The webhook handler, fed API Gateway HTTP API v2 events in the exact shape AWS
//! sends (the runtime's own fixture), carrying real Twenty deliveries.

use std::time::Duration;

use lambda_http::Body;
use serde_json::{Value, json};
use spartan_sync::metrics::Metrics;
use spartan_sync::webhook::sign;
use spartan_sync::{DynamoLeadStore, LeadId, Timestamp, WebhookConfig};
use spartan_sync_tests::stack::{dynamo_local, fresh_table};
use webhook::{WebhookState, handle_at};

const SECRET: &str = "twenty-test-secret";
const LEAD: &str = "73affd6e-2319-4ad1-82d8-f8eb9312a232";

/// A named request: body, headers, and the time it is received.
type Case<'a> = (&'a str, Vec<u8>, Vec<(String, String)>, Timestamp);

pub(crate) struct Delivery {
    pub event: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub(crate) fn captured() -> Vec<Delivery> {
    include_str!("../../fixtures/twenty/deliveries.jsonl")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Delivery {
                event: v["eventName"].as_str().unwrap().into(),
                headers: v["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().into()))
                    .collect(),
                body: v["body"].as_str().unwrap().into(),
            }
        })
        .collect()
}

pub(crate) fn signed_at(delivery: &Delivery) -> Timestamp {
    let ts = delivery
        .headers
        .iter()
        .find(|(k, _)| k == "x-twenty-webhook-timestamp")
        .unwrap();
    Timestamp::from_unix_millis(ts.1.parse().unwrap()).unwrap()
}

fn apigw(
    method: &str,
    body: &[u8],
    headers: &[(String, String)],
    base64: bool,
) -> lambda_http::Request {
    crate::util::apigw(method, "/api/webhooks/twenty", body, headers, base64)
}

/// A fresh delivery of `event` for `record`, signed now, exactly as Twenty would send it.
fn deliver(event: &str, record: Value, now: Timestamp) -> (Vec<u8>, Vec<(String, String)>) {
    let object = event.split('.').next().unwrap();
    let body = json!({
        "targetUrl": "https://example.execute-api.eu-west-1.amazonaws.com/api/webhooks/twenty",
        "eventName": event,
        "objectMetadata": {"id": "17714a70-29e7-4dda-819c-789b7c8a9fb5", "nameSingular": object},
        "workspaceId": "20202020-1c25-4d02-bf25-6aeccf7ea419",
        "webhookId": "0e70af78-ded4-4328-a5fb-b1dafabc601d",
        "eventDate": now.to_string(),
        "record": record,
    })
    .to_string()
    .into_bytes();
    (body.clone(), sign_headers(&body, now))
}

fn sign_headers(body: &[u8], now: Timestamp) -> Vec<(String, String)> {
    let ts = now.unix_millis().to_string();
    vec![
        ("X-Twenty-Webhook-Timestamp".into(), ts.clone()),
        (
            "X-Twenty-Webhook-Signature".into(),
            sign(SECRET.as_bytes(), &ts, body),
        ),
        (
            "X-Twenty-Webhook-Nonce".into(),
            "00112233445566778899aabbccddeeff".into(),
        ),
    ]
}

fn lead(updated_at: &str, score: i64) -> Value {
    json!({"id": LEAD, "name": "Globex lead", "updatedAt": updated_at, "deletedAt": null, "score": score,
           "phones": {"primaryPhoneNumber": "8553057016", "primaryPhoneCountryCode": "US", "primaryPhoneCallingCode": "+1", "additionalPhones": []}})
}

async fn state() -> WebhookState {
    state_for(None).await
}

/// The webhook function over a fresh table, mirroring `objects` (`TWENTY_OBJECTS`,
/// `None`: the default).
pub(crate) async fn state_for(objects: Option<&str>) -> WebhookState {
    let dynamo = dynamo_local().await;
    let table = fresh_table(&dynamo).await;
    let config = WebhookConfig::from_lookup(|k| match k {
        "LEADS_TABLE" => Some(table.clone()),
        "TWENTY_WEBHOOK_SECRET" => Some(SECRET.into()),
        "TWENTY_OBJECTS" => objects.map(str::to_string),
        _ => None,
    })
    .unwrap();
    let store = DynamoLeadStore::new(dynamo, &table, "leads");
    WebhookState {
        config,
        store,
        metrics: Metrics::new(None, "webhook"),
    }
}

pub(crate) async fn post(
    state: &WebhookState,
    body: &[u8],
    headers: &[(String, String)],
    now: Timestamp,
) -> (u16, Value) {
    let response = handle_at(state, apigw("POST", body, headers, false), now).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

async fn table_is_empty(state: &WebhookState) -> bool {
    let out = state
        .store
        .client()
        .scan()
        .table_name(state.store.table())
        .send()
        .await
        .unwrap();
    out.count == 0
}

#[tokio::test]
async fn every_captured_twenty_delivery_is_accepted_and_applied() {
    let state = state().await;
    for d in captured() {
        let (status, body) = post(&state, d.body.as_bytes(), &d.headers, signed_at(&d)).await;
        assert_eq!(status, 200, "{} → {body}", d.event);
        let expected = if d.event.starts_with("person.") {
            "ignored"
        } else {
            "applied"
        };
        assert_eq!(body["status"], expected, "{}", d.event);
    }
    // The captured story ends with Globex's phone at 8553057016 and a note linked to it.
    let id = LeadId::parse(LEAD).unwrap();
    let stored = state.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(stored.fields["phones"]["primaryPhoneNumber"], "8553057016");
    let notes = state.store.notes_of(&id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["title"], "Called about pricing");
    // Initech was hard-deleted: gone, and counted out.
    assert!(
        state
            .store
            .get_lead(&LeadId::parse("8d969ae5-8538-4664-85fc-96a6fa79311e").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(state.store.load_state().await.unwrap().lead_count, 4);
}

#[tokio::test]
async fn a_base64_encoded_body_verifies_on_its_decoded_bytes() {
    let state = state().await;
    let d = &captured()[2];
    let response = handle_at(
        &state,
        apigw("POST", d.body.as_bytes(), &d.headers, true),
        signed_at(d),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn forged_stale_or_unsigned_deliveries_are_refused_and_write_nothing() {
    let state = state().await;
    let d = &captured()[2];
    let at = signed_at(d);
    let header = |name: &str| d.headers.iter().find(|(k, _)| k == name).unwrap().1.clone();
    let with = |name: &str, value: String| -> Vec<(String, String)> {
        d.headers
            .iter()
            .map(|(k, v)| (k.clone(), if k == name { value.clone() } else { v.clone() }))
            .collect()
    };
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        let last = b.len() - 1;
        b[last] = if b[last] == b'1' { b'2' } else { b'1' };
        String::from_utf8(b).unwrap()
    };
    let mut body = d.body.clone().into_bytes();
    body[120] ^= 0x01;
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<Value>(&d.body).unwrap()).unwrap();
    let cases: Vec<Case> = vec![
        ("flipped body byte", body, d.headers.clone(), at),
        (
            "flipped signature",
            d.body.clone().into_bytes(),
            with(
                "x-twenty-webhook-signature",
                flip(&header("x-twenty-webhook-signature")),
            ),
            at,
        ),
        (
            "flipped timestamp",
            d.body.clone().into_bytes(),
            with(
                "x-twenty-webhook-timestamp",
                flip(&header("x-twenty-webhook-timestamp")),
            ),
            at,
        ),
        ("re-serialised JSON", pretty, d.headers.clone(), at),
        (
            "stale delivery",
            d.body.clone().into_bytes(),
            d.headers.clone(),
            at.saturating_add(Duration::from_secs(301)),
        ),
        ("no headers", d.body.clone().into_bytes(), vec![], at),
    ];
    for (case, body, headers, now) in cases {
        let (status, answer) = post(&state, &body, &headers, now).await;
        assert_eq!(status, 401, "{case}: {answer}");
    }
    assert!(table_is_empty(&state).await);
}

#[tokio::test]
async fn bad_bodies_are_refused_with_a_reason_and_write_nothing() {
    let state = state().await;
    let now = Timestamp::now();
    let no_id = deliver(
        "lead.updated",
        json!({"updatedAt": "2026-11-24T17:19:47.098Z"}),
        now,
    )
    .0;
    let bad_date = deliver(
        "lead.updated",
        json!({"id": LEAD, "updatedAt": "last tuesday"}),
        now,
    )
    .0;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty", vec![], 400, "not JSON"),
        ("not JSON", b"{\"eventName\": ".to_vec(), 400, "not JSON"),
        ("a JSON array", b"[1,2,3]".to_vec(), 400, "object"),
        ("no record.id", no_id, 400, "id"),
        ("updatedAt not a date", bad_date, 400, "updatedAt"),
        ("2 MiB", vec![b' '; 2 * 1024 * 1024], 413, "larger"),
    ];
    for (case, body, expected, says) in cases {
        let (status, answer) = post(&state, &body, &sign_headers(&body, now), now).await;
        assert_eq!(status, expected, "{case}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{case}: {answer}"
        );
    }
    assert!(table_is_empty(&state).await);
}

#[tokio::test]
async fn other_objects_are_acknowledged_and_ignored_and_only_post_is_allowed() {
    let state = state().await;
    let now = Timestamp::now();
    let (body, headers) = deliver(
        "company.created",
        json!({"id": LEAD, "updatedAt": now.to_string()}),
        now,
    );
    let (status, answer) = post(&state, &body, &headers, now).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("ignored")));
    let response = handle_at(&state, apigw("GET", b"", &[], false), now).await;
    assert_eq!(response.status().as_u16(), 405);
    assert!(table_is_empty(&state).await);
}

#[tokio::test]
async fn an_older_update_arriving_late_changes_nothing() {
    let state = state().await;
    let now = Timestamp::now();
    let (b1, h1) = deliver("lead.updated", lead("2026-11-24T17:19:47.098Z", 2), now);
    let (b0, h0) = deliver("lead.updated", lead("2026-11-24T17:19:46.058Z", 1), now);
    assert_eq!(post(&state, &b1, &h1, now).await.1["status"], "applied");
    assert_eq!(post(&state, &b0, &h0, now).await.1["status"], "stale");
    let stored = state
        .store
        .get_lead(&LeadId::parse(LEAD).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fields["score"], 2);
}

#[tokio::test]
async fn a_late_update_does_not_resurrect_a_deleted_lead() {
    let state = state().await;
    let now = Timestamp::now();
    let mut deleted = lead("2026-11-24T17:20:00.000Z", 2);
    deleted["deletedAt"] = json!("2026-11-24T17:20:00.000Z");
    let (bd, hd) = deliver("lead.deleted", deleted, now);
    let (bu, hu) = deliver("lead.updated", lead("2026-11-24T17:19:47.098Z", 3), now);
    assert_eq!(post(&state, &bd, &hd, now).await.1["status"], "applied");
    assert_eq!(post(&state, &bu, &hu, now).await.1["status"], "stale");
    let stored = state
        .store
        .get_lead(&LeadId::parse(LEAD).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fields["deletedAt"], "2026-11-24T17:20:00.000Z");

    // Hard delete: a late update of the last state cannot bring the lead back either.
    let (bx, hx) = deliver("lead.destroyed", lead("2026-11-24T17:20:00.000Z", 2), now);
    let (bl, hl) = deliver("lead.updated", lead("2026-11-24T17:20:00.000Z", 2), now);
    assert_eq!(post(&state, &bx, &hx, now).await.1["status"], "applied");
    assert_ne!(post(&state, &bl, &hl, now).await.1["status"], "applied");
    assert!(
        state
            .store
            .get_lead(&LeadId::parse(LEAD).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(state.store.load_state().await.unwrap().lead_count, 0);
}

#[tokio::test]
async fn a_redelivered_event_is_written_once() {
    let state = state().await;
    let now = Timestamp::now();
    let (body, headers) = deliver("lead.updated", lead("2026-11-24T17:19:47.098Z", 2), now);
    assert_eq!(
        post(&state, &body, &headers, now).await.1["status"],
        "applied"
    );
    let first = state
        .store
        .get_lead(&LeadId::parse(LEAD).unwrap())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        post(&state, &body, &headers, now).await.1["status"],
        "duplicate"
    );
    let second = state
        .store
        .get_lead(&LeadId::parse(LEAD).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.synced_at, second.synced_at,
        "the redelivery wrote nothing"
    );
    assert_eq!(state.store.load_state().await.unwrap().lead_count, 1);
}

#[tokio::test]
async fn fifty_concurrent_versions_of_one_lead_end_with_the_newest() {
    let state = state().await;
    let now = Timestamp::now();
    let base = Timestamp::parse("2026-11-24T17:00:00.000Z").unwrap();
    let mut deliveries: Vec<_> = (0..50)
        .map(|i| {
            let ts = base.saturating_add(Duration::from_millis(i * 7));
            deliver("lead.updated", lead(&ts.to_string(), i as i64), now)
        })
        .collect();
    deliveries.reverse(); // newest first: every later one must lose
    let results =
        futures::future::join_all(deliveries.iter().map(|(b, h)| post(&state, b, h, now))).await;
    assert!(results.iter().all(|(s, _)| *s == 200));
    let stored = state
        .store
        .get_lead(&LeadId::parse(LEAD).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.fields["score"], 49);
    assert_eq!(state.store.load_state().await.unwrap().lead_count, 1);
}
