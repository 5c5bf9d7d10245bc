//! The leads API, fed API Gateway HTTP API v2 events in the shape AWS sends.

use lambda_http::Body;
use leads_api::{LeadsApi, handle};
use serde_json::{Value, json};
use spartan_sync::domain::{MirrorSet, ObjectName};
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::lambda_fake::FakeLambda;
use spartan_sync_tests::runs::auto;
use spartan_sync_tests::stack::TestStack;

use crate::util::apigw;

pub(crate) struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Value,
}

pub(crate) async fn call(
    api: &LeadsApi,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let response = handle(api, apigw(method, path, body.as_bytes(), &headers, false))
        .await
        .unwrap();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap(),
        _ => Value::Null,
    };
    Answer {
        status: response.status().as_u16(),
        etag,
        body,
    }
}

/// The demo workspace after its first (full) sync, and the API over it; `POST /sync`
/// goes to a stand-in for the Lambda Invoke API.
pub(crate) async fn api() -> (TestStack, LeadsApi) {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let lambda = FakeLambda::start().await;
    let api = LeadsApi {
        store: stack.store.clone(),
        invoker: lambda.invoker("delta-sync").await,
        objects: MirrorSet::with_defaults(&ObjectName::from_plural("leads")),
    };
    (stack, api)
}

#[tokio::test]
async fn create_read_edit_delete_with_etags() {
    let (stack, api) = api().await;
    let created = call(
        &api,
        "POST",
        "/leads",
        r#"{"name": "Pied Piper", "score": 12, "status": "NEW"}"#,
        &[],
    )
    .await;
    assert_eq!(created.status, 201);
    let etag1 = created.etag.clone().unwrap();
    assert!(etag1.starts_with("\"1-"), "{etag1}");
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["_sync"]["pending"], "create");

    let read = call(&api, "GET", &format!("/leads/{id}"), "", &[]).await;
    assert_eq!(
        (read.status, read.body["name"].as_str()),
        (200, Some("Pied Piper"))
    );

    let edited = call(
        &api,
        "PATCH",
        &format!("/leads/{id}"),
        r#"{"score": 13}"#,
        &[("If-Match", &etag1)],
    )
    .await;
    assert_eq!(
        (edited.status, edited.body["score"].as_i64()),
        (200, Some(13))
    );
    assert!(edited.etag.as_deref().unwrap().starts_with("\"2-"));

    // A second writer still holding the first version loses nothing: it is told to re-read.
    let lost = call(
        &api,
        "PATCH",
        &format!("/leads/{id}"),
        r#"{"score": 99}"#,
        &[("If-Match", &etag1)],
    )
    .await;
    assert_eq!(lost.status, 412, "{}", lost.body);
    assert_eq!(
        call(&api, "GET", &format!("/leads/{id}"), "", &[])
            .await
            .body["score"],
        13
    );

    let before_push = call(&api, "GET", &format!("/leads/{id}"), "", &[])
        .await
        .etag
        .unwrap();
    auto(&stack.engine).await.unwrap();
    assert_eq!(
        stack.emulator.get("leads", &id).unwrap()["score"],
        13,
        "pushed to Twenty"
    );
    // The push brought Twenty's version back: an ETag read before it no longer matches.
    let stale = call(
        &api,
        "PATCH",
        &format!("/leads/{id}"),
        r#"{"score": 14}"#,
        &[("If-Match", &before_push)],
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.body);

    let deleted = call(&api, "DELETE", &format!("/leads/{id}"), "", &[]).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        call(&api, "GET", &format!("/leads/{id}"), "", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn lists_page_and_filter() {
    let (_stack, api) = api().await;
    let first = call(&api, "GET", "/leads?limit=20", "", &[]).await;
    assert_eq!(
        (first.status, first.body["data"].as_array().unwrap().len()),
        (200, 20)
    );
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let mut seen = 20;
    let mut next = Some(cursor);
    while let Some(c) = next {
        let page = call(&api, "GET", &format!("/leads?limit=20&cursor={c}"), "", &[]).await;
        seen += page.body["data"].as_array().unwrap().len();
        next = page.body["nextCursor"].as_str().map(String::from);
    }
    assert_eq!(seen, 47);
    let qualified = call(&api, "GET", "/leads?status=QUALIFIED&limit=500", "", &[]).await;
    assert!(
        qualified.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "QUALIFIED")
    );
    let future = call(
        &api,
        "GET",
        "/leads?updatedSince=2999-01-01T00:00:00Z",
        "",
        &[],
    )
    .await;
    assert_eq!(future.body["data"], json!([]));
}

#[tokio::test]
async fn bad_requests_get_a_reason_and_change_nothing() {
    let (stack, api) = api().await;
    let id = stack.emulator.records("leads")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        ("POST", "/leads".to_string(), "not json", 400),
        ("POST", "/leads".to_string(), "[1]", 400),
        (
            "PATCH",
            format!("/leads/{id}"),
            r#"{"updatedAt": "2020-01-01T00:00:00Z"}"#,
            400,
        ),
        (
            "PATCH",
            format!("/leads/{id}"),
            r#"{"_pending": "create"}"#,
            400,
        ),
        ("PATCH", format!("/leads/{id}"), "{}", 400),
        (
            "PATCH",
            "/leads/7f1d5b9e-0000-4000-8000-000000000000".to_string(),
            r#"{"score": 1}"#,
            404,
        ),
        ("GET", "/leads/not-a-uuid".to_string(), "", 404),
        ("GET", "/leads?limit=0".to_string(), "", 400),
        ("GET", "/leads?updatedSince=yesterday".to_string(), "", 400),
        ("GET", "/leads?cursor=garbage".to_string(), "", 400),
        ("PUT", format!("/leads/{id}"), "{}", 405),
        ("GET", "/people".to_string(), "", 404),
    ];
    for (method, path, body, expected) in cases {
        let answer = call(&api, method, &path, body, &[]).await;
        assert_eq!(
            answer.status, expected,
            "{method} {path} {body}: {}",
            answer.body
        );
        assert!(
            answer.body["error"].is_string(),
            "{method} {path}: {}",
            answer.body
        );
    }
    assert!(
        stack.store.pending_ids(10).await.unwrap().is_empty(),
        "nothing was written"
    );
}

#[tokio::test]
async fn conflicts_are_listed() {
    let (stack, api) = api().await;
    let id = stack.emulator.records("leads")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    stack.emulator.update("leads", &id, json!({"score": 1}));
    call(
        &api,
        "PATCH",
        &format!("/leads/{id}"),
        r#"{"score": 2}"#,
        &[],
    )
    .await;
    auto(&stack.engine).await.unwrap();
    let conflicts = call(&api, "GET", "/conflicts", "", &[]).await;
    assert_eq!(conflicts.status, 200);
    let list = conflicts.body["data"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["field"].as_str(), list[0]["chosen"].as_str()),
        (Some("score"), Some("remote"))
    );
}
