use std::time::Duration;

use serde_json::json;
use spartan_sync::sync::SyncError;
use spartan_sync_tests::emulator::{Fault, Seed};
use spartan_sync_tests::runs::auto;
use spartan_sync_tests::stack::TestStack;

use crate::util::{id_of, watermark};

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
    let summary = auto(&stack.engine).await.unwrap();
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
    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.changed, 47);
    assert_eq!(summary.retries, 2);
}

#[tokio::test]
async fn a_persistent_failure_fails_the_run_and_keeps_the_watermark() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
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
    let err = auto(&stack.engine).await.unwrap_err();
    assert!(matches!(err, SyncError::Fetch { page: 1, .. }), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(watermark(&stack).await, wm);
    let state = stack.store.load_state().await.unwrap();
    assert_eq!(state.last_run.unwrap()["status"], "failed");

    // Twenty is back: the change made during the outage is picked up.
    stack.emulator.clear_faults();
    let summary = auto(&stack.engine).await.unwrap();
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
    let err = auto(&engine).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the key never appears in an error"
    );
}

/// Issue #13, item 8: a request started near the run's deadline gets only the time
/// left, not the client's whole timeout, so the run can still record itself.
#[tokio::test]
async fn a_request_never_outlives_the_runs_deadline() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    // Slower than the time left, faster than the client's 2 s request timeout: without
    // the cap this request would simply succeed after the deadline.
    stack
        .emulator
        .push_fault(Fault::Slow(Duration::from_millis(1500)));
    let query = spartan_sync::twenty::ListQuery::changes_since(None, 200);
    let near = tokio::time::Instant::now() + Duration::from_millis(600);
    let err = stack.engine.twenty().list(&query, near).await.unwrap_err();
    assert!(err.is_budget(), "out of time, not a late answer: {err}");
}

/// Issue #13, item 8, against DynamoDB: the state item's checkpoint and run record are
/// written only by the lease's current holder.
#[tokio::test]
async fn a_run_that_lost_its_lease_cannot_write_the_state_in_dynamodb() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let store = &stack.store;
    let ttl = Duration::from_millis(500);
    assert!(store.acquire_lease("old", ttl).await.unwrap().is_ok());
    let record = spartan_sync::store::RunRecord::default();
    assert!(store.record_run("old", &record).await.unwrap());
    assert!(!store.record_run("someone-else", &record).await.unwrap());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(store.acquire_lease("new", ttl).await.unwrap().is_ok());
    let cp = spartan_sync::store::Checkpoint {
        full: true,
        since: None,
        cursor: Some("c".into()),
        generation: Some(1),
        pass_started_at: spartan_sync::Timestamp::now(),
        newest_seen: None,
        pages: 1,
        fetched: 200,
        sweep: None,
    };
    assert!(!store.save_checkpoint("old", &cp).await.unwrap());
    assert!(store.load_state().await.unwrap().checkpoint.is_none());
    assert!(store.save_checkpoint("new", &cp).await.unwrap());
    assert_eq!(store.load_state().await.unwrap().checkpoint, Some(cp));
}
