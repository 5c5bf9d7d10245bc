use std::time::Duration;

use serde_json::json;
use spartan_sync::RequestedMode;
use spartan_sync::sync::SyncError;
use spartan_sync_tests::emulator::{Fault, Seed};
use spartan_sync_tests::stack::TestStack;

use crate::util::{deadline, id_of, watermark};

#[tokio::test]
async fn rate_limits_and_a_burst_of_server_errors_are_retried() {
    let stack = TestStack::with_page_size(Seed::DemoLeads, 20).await;
    stack.emulator.push_fault(Fault::Status {
        code: 429,
        retry_after_secs: Some(1),
    });
    stack.emulator.push_faults(
        Fault::Status {
            code: 500,
            retry_after_secs: None,
        },
        3,
    );
    let started = std::time::Instant::now();
    let summary = stack
        .engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(summary.changed, 47);
    assert_eq!((summary.retries, summary.rate_limited), (4, 1));
    assert_eq!(
        summary.requests,
        3 + 4,
        "three pages plus four failed attempts"
    );
}

#[tokio::test]
async fn truncated_json_and_slow_responses_are_retried() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    stack.emulator.push_fault(Fault::TruncatedJson);
    stack
        .emulator
        .push_fault(Fault::Slow(Duration::from_secs(3)));
    let summary = stack
        .engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap();
    assert_eq!(summary.changed, 47);
    assert_eq!(summary.retries, 2);
}

#[tokio::test]
async fn a_persistent_failure_fails_the_run_and_keeps_the_watermark() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    stack
        .engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap();
    let wm = watermark(&stack).await;
    let id = id_of(&stack.emulator.records("leads")[0]);
    stack
        .emulator
        .update("leads", id.as_str(), json!({"score": 1}));

    stack.emulator.push_faults(
        Fault::Status {
            code: 503,
            retry_after_secs: None,
        },
        50,
    );
    let err = stack
        .engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Fetch { page: 1, .. }), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(watermark(&stack).await, wm);
    let state = stack.store.load_state().await.unwrap();
    assert_eq!(state.last_run.unwrap()["status"], "failed");

    // Twenty is back: the change made during the outage is picked up.
    stack.emulator.clear_faults();
    let summary = stack
        .engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap();
    assert_eq!(summary.changed, 1);
}

#[tokio::test]
async fn a_refused_api_key_fails_at_once_without_retrying() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let settings = spartan_sync_tests::stack::twenty_settings(&stack.emulator, 200);
    let bad = spartan_sync::config::TwentySettings {
        api_key: secrecy::SecretString::from("wrong".to_string()),
        ..settings
    };
    let client = spartan_sync::TwentyClient::new(&bad).unwrap();
    let engine = spartan_sync::SyncEngine::new(client, stack.store.clone(), Default::default());
    let err = engine
        .run(RequestedMode::Auto, deadline())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the key never appears in an error"
    );
}
