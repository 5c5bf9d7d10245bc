//! The pass's pipeline: the next page fetched while this one is stored, and a first
//! pass into an empty mirror written without reading it first.

use std::time::Duration;

use serde_json::{Value, json};
use spartan_sync::domain::RemoteRecord;
use spartan_sync::store::WriteOrigin;
use spartan_sync::sync::{PageOutcome, RunStatus, SyncMode};
use spartan_sync::{RequestedMode, Timestamp};
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::runs::auto;
use spartan_sync_tests::stack::{StackOptions, TestStack};
use spartan_sync_tests::store_ext::StoreExt;

use crate::util::{deadline, id_of, stored};

fn record(mut fields: Value, changes: Value) -> RemoteRecord {
    for (k, v) in changes.as_object().unwrap() {
        fields[k] = v.clone();
    }
    RemoteRecord::from_fields(fields.as_object().unwrap().clone()).unwrap()
}

#[tokio::test]
async fn a_run_killed_with_the_next_page_fetched_but_not_stored_loses_nothing() {
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(1000),
        page_size: 100,
        ..StackOptions::default()
    })
    .await;
    stack
        .store
        .acquire_lease("killed-run", Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let mut killed = stack
        .engine
        .start(RequestedMode::Auto, "killed-run")
        .await
        .unwrap();
    assert_eq!(
        killed.next_page(deadline()).await.unwrap(),
        PageOutcome::More
    );
    assert_eq!(
        stack.engine.twenty().stats().requests,
        2,
        "page 2 was fetched while page 1 was stored"
    );
    // Killed here: page 2 is in memory only. The checkpoint names page 1's end.
    drop(killed);
    let state = stack.store.load_state().await.unwrap();
    let checkpoint = state.checkpoint.expect("a checkpoint after page 1");
    assert_eq!((checkpoint.pages, checkpoint.fetched), (1, 100));
    assert_eq!(stored(&stack).await.len(), 100, "only page 1 is stored");

    tokio::time::sleep(Duration::from_millis(5100)).await;
    let next = auto(&stack.engine).await.unwrap();
    assert_eq!(
        (next.status, next.resumed, next.pages),
        (RunStatus::Succeeded, true, 9),
        "the next run fetched page 2 again and went on"
    );
    assert_eq!(stored(&stack).await.len(), 1000);
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 1000);
}

#[tokio::test]
async fn a_first_pass_without_reading_still_keeps_what_a_webhook_wrote_first() {
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(300),
        page_size: 200,
        ..StackOptions::default()
    })
    .await;
    let leads = stack.emulator.records("leads");
    // Before the first sync, webhooks stored two of the leads: one in a version newer
    // than the list will show, one in an older one.
    let newer = record(
        leads[10].clone(),
        json!({"score": 9999, "updatedAt": Timestamp::now().to_string()}),
    );
    let older = record(
        leads[250].clone(),
        json!({"score": 1, "updatedAt": "2020-01-01T00:00:00.000Z"}),
    );
    for r in [&newer, &older] {
        stack
            .store
            .put_if_newer(r, WriteOrigin::Webhook)
            .await
            .unwrap();
    }
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 2);

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(
        (summary.status, summary.mode),
        (RunStatus::Succeeded, SyncMode::Full)
    );
    assert_eq!(
        (summary.inserted, summary.updated, summary.stale),
        (298, 1, 1),
        "every other lead was inserted; the two stored ones were decided on what was stored"
    );
    let mirror = stored(&stack).await;
    assert_eq!(mirror.len(), 300);
    assert_eq!(
        mirror[&id_of(&leads[10])].fields["score"],
        json!(9999),
        "the newer version a webhook stored is kept"
    );
    assert_eq!(
        mirror[&id_of(&leads[250])].fields["score"],
        leads[250]["score"],
        "the older one gave way to the list's"
    );
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 300);
    // The kept lead was seen by the pass: a forced full pass removes nothing.
    let full = stack
        .engine
        .run(RequestedMode::Full, deadline())
        .await
        .unwrap();
    assert_eq!((full.removed, full.changed), (0, 0));
}
