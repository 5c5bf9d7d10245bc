use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use spartan_sync::store::StoredLead;
use spartan_sync::{LeadId, Timestamp};
use spartan_sync_tests::stack::TestStack;
use tokio::time::Instant;

pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

pub fn id_of(record: &Value) -> LeadId {
    LeadId::parse(record["id"].as_str().expect("record id")).expect("uuid")
}

/// Every stored lead by id.
pub async fn stored(stack: &TestStack) -> BTreeMap<LeadId, StoredLead> {
    stack
        .store
        .scan_leads()
        .await
        .expect("scan")
        .into_iter()
        .map(|l| (l.id.clone(), l))
        .collect()
}

/// When each lead item was last written.
pub async fn write_times(stack: &TestStack) -> BTreeMap<LeadId, Option<Timestamp>> {
    stored(stack)
        .await
        .into_iter()
        .map(|(id, l)| (id, l.synced_at))
        .collect()
}

pub async fn watermark(stack: &TestStack) -> Option<Timestamp> {
    stack.store.load_state().await.expect("state").watermark
}

/// An API Gateway HTTP API v2 event, from the runtime's own fixture (the exact shape
/// AWS sends), turned into the given request.
pub fn apigw(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    headers: &[(String, String)],
    base64: bool,
) -> lambda_http::Request {
    use base64::Engine;
    use serde_json::json;
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut event: Value = serde_json::from_str(include_str!(
        "../../fixtures/aws/example-apigw-v2-request-no-authorizer.json"
    ))
    .unwrap();
    event["routeKey"] = json!(format!("{method} {path}"));
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    let mut params = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(k.to_string(), json!(v));
    }
    event["queryStringParameters"] = Value::Object(params);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    for (k, v) in headers {
        event["headers"][k.to_lowercase()] = json!(v);
    }
    event["headers"]["content-type"] = json!("application/json");
    if base64 {
        event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
    } else {
        event["body"] = json!(String::from_utf8(body.to_vec()).unwrap());
    }
    event["isBase64Encoded"] = json!(base64);
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}
