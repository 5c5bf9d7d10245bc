//! `POST /sync` and `GET /sync` through the leads API handler: a run started with a
//! real Lambda Invoke call (to a stand-in endpoint), the state read back.

use std::time::Duration;

use leads_api::LeadsApi;
use serde_json::json;
use spartan_sync::RequestedMode;
use spartan_sync_tests::lambda_fake::FakeLambda;

use crate::leads_api::{api, call};
use crate::util::deadline;

#[tokio::test]
async fn post_sync_invokes_delta_sync_asynchronously_and_a_second_ask_is_not_an_error() {
    let (stack, api) = api().await;
    let lambda = FakeLambda::start().await;
    let api = LeadsApi {
        invoker: lambda.invoker("spartan-sync-delta-sync").await,
        ..api
    };
    let started = call(&api, "POST", "/sync", r#"{"mode": "full"}"#, &[]).await;
    assert_eq!(started.status, 202, "{}", started.body);
    assert_eq!(
        (&started.body["started"], &started.body["mode"]),
        (&json!(true), &json!("full"))
    );
    assert!(started.body["requestedAt"].is_string());
    let calls = lambda.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function, "spartan-sync-delta-sync");
    assert_eq!(calls[0].invocation_type.as_deref(), Some("Event"));
    assert_eq!(calls[0].payload, json!({"mode": "full"}));

    // An empty body is a delta.
    let delta = call(&api, "POST", "/sync", "", &[]).await;
    assert_eq!((delta.status, &delta.body["mode"]), (202, &json!("delta")));
    assert_eq!(lambda.calls()[1].payload, json!({"mode": "delta"}));

    // While a run holds the lease, asking again answers 202 with that run.
    stack
        .store
        .acquire_lease("run-in-progress", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let again = call(&api, "POST", "/sync", r#"{"mode": "delta"}"#, &[]).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["started"], false);
    assert_eq!(again.body["running"]["runId"], "run-in-progress");
    assert_eq!(lambda.calls().len(), 2, "no second run was queued");
    let status = call(&api, "GET", "/sync", "", &[]).await;
    assert_eq!(status.body["running"]["runId"], "run-in-progress");
}

#[tokio::test]
async fn post_sync_refuses_what_is_not_a_mode_and_says_why() {
    let (_stack, api) = api().await;
    for body in [
        r#"{"mode": "everything"}"#,
        r#"{"mode": "auto"}"#,
        r#"{"mode": "full", "force": true}"#,
        r#"{}"#,
        "full",
    ] {
        let answer = call(&api, "POST", "/sync", body, &[]).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert!(
            answer.body["error"].as_str().unwrap().contains("mode"),
            "{body}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn a_failed_invoke_is_a_503_with_a_generic_body() {
    let (_stack, api) = api().await;
    let lambda = FakeLambda::start().await;
    lambda.fail();
    let api = LeadsApi {
        invoker: lambda.invoker("delta-sync").await,
        ..api
    };
    let answer = call(&api, "POST", "/sync", r#"{"mode": "delta"}"#, &[]).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(!answer.body["error"].as_str().unwrap().contains("Service"));
}

#[tokio::test]
async fn get_sync_shows_the_last_run_counts_and_an_honest_lag() {
    let (stack, api) = api().await;
    let status = call(&api, "GET", "/sync", "", &[]).await;
    assert_eq!(status.status, 200, "{}", status.body);
    let s = &status.body;
    assert_eq!(s["object"], "leads");
    assert_eq!(s["running"], json!(null));
    assert_eq!(s["lastRun"]["status"], "succeeded");
    assert_eq!(s["lastRun"]["mode"], "full");
    assert_eq!(
        s["lastRun"]["message"],
        "Full sync complete: 47 leads written, 0 removed, 47 in table"
    );
    assert!(s["lastRun"]["at"].is_string() && s["lastSuccessAt"].is_string());
    assert!(s["watermark"].is_string() && s["freshAsOf"].is_string());
    assert!(s["lagSeconds"].as_u64().unwrap() < 60, "{s}");
    assert_eq!(s["records"], json!({"leads": 47}));
    assert_eq!(
        (&s["pendingPushes"], &s["openConflicts"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        (&s["outage"], &s["passInProgress"]),
        (&json!(null), &json!(null))
    );

    // A local edit waits for the push; a field changed on both sides becomes a conflict
    // record.
    let id = stack.emulator.records("leads")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &api,
        "PATCH",
        &format!("/leads/{id}"),
        r#"{"score": 2}"#,
        &[],
    )
    .await;
    assert_eq!(
        call(&api, "GET", "/sync", "", &[]).await.body["pendingPushes"],
        1
    );
    stack.emulator.update("leads", &id, json!({"score": 1}));
    stack
        .engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap();
    let after = call(&api, "GET", "/sync", "", &[]).await.body;
    // Settled by the default rule (remote-wins): nothing waits for a person.
    assert_eq!(
        (&after["pendingPushes"], &after["openConflicts"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(after["oldestOpenConflict"], json!(null));
    let settled = call(&api, "GET", "/conflicts?status=settled", "", &[]).await;
    assert_eq!(settled.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(settled.body["data"][0]["status"], "settled");
    assert_eq!(after["lastRun"]["mode"], "delta");
    let message = after["lastRun"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Found ") && message.ends_with(" out of 47 total"),
        "{message}"
    );
}
