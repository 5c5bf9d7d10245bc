use delta_sync::DeltaSync;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use spartan_sync::metrics::Metrics;
use spartan_sync::sync::SyncMode;
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::stack::TestStack;

fn function(stack: &TestStack) -> DeltaSync {
    DeltaSync {
        engine: stack.engine.clone(),
        metrics: Metrics::new(None, "delta-sync"),
    }
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn the_scheduled_event_aws_sends_runs_a_sync() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let fixture: Value = serde_json::from_str(include_str!(
        "../../fixtures/aws/example-eventbridge-schedule.json"
    ))
    .unwrap();
    let first = delta_sync::handle(&function(&stack), event(fixture.clone()))
        .await
        .unwrap();
    assert_eq!((first.mode, first.changed), (SyncMode::Full, 47));
    let second = delta_sync::handle(&function(&stack), event(fixture))
        .await
        .unwrap();
    assert_eq!((second.mode, second.changed), (SyncMode::Delta, 0));
}

#[tokio::test]
async fn a_manual_full_payload_forces_a_full_sync() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    delta_sync::handle(&function(&stack), event(json!({})))
        .await
        .unwrap();
    let forced = delta_sync::handle(&function(&stack), event(json!({"mode": "full"})))
        .await
        .unwrap();
    assert_eq!((forced.mode, forced.fetched), (SyncMode::Full, 47));
    let summary = serde_json::to_value(&forced).unwrap();
    assert_eq!(summary["mode"], "full");
    assert_eq!(summary["totalInTable"], 47);
}

#[tokio::test]
async fn a_bad_payload_is_refused_and_syncs_nothing() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let err = delta_sync::handle(&function(&stack), event(json!({"mode": "sometimes"})))
        .await
        .unwrap_err();
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "NonRetryable.BadPayload");
    assert!(stack.store.scan_leads().await.unwrap().is_empty());
    assert!(stack.emulator.request_log().is_empty());
}
