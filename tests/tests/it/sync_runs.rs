use serde_json::json;
use spartan_sync::sync::SyncMode;
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::runs::{auto, full};
use spartan_sync_tests::stack::TestStack;

use crate::util::{id_of, stored, watermark, write_times};

#[tokio::test]
async fn first_run_is_full_and_stores_every_lead_losslessly() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.mode, SyncMode::Full);
    assert_eq!(
        (summary.fetched, summary.changed, summary.total_in_table),
        (47, 47, 47)
    );

    let table = stored(&stack).await;
    let remote = stack.emulator.records("leads");
    assert_eq!(table.len(), 47);
    for record in &remote {
        let lead = &table[&id_of(record)];
        // Every field, the custom composite `budget` included, exactly as Twenty sent it.
        assert_eq!(&serde_json::Value::Object(lead.fields.clone()), record);
        assert!(lead.fields.contains_key("budget"));
    }
    let newest = remote
        .iter()
        .filter_map(|r| r["updatedAt"].as_str())
        .max()
        .unwrap();
    assert_eq!(watermark(&stack).await.unwrap().to_string(), newest);
}

#[tokio::test]
async fn a_one_digit_phone_change_is_one_changed_lead_and_the_only_write() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let before = write_times(&stack).await;

    let lead = stack
        .emulator
        .find_lead_by_phone("8563057016")
        .expect("demo lead");
    let id = id_of(&lead);
    let mut phones = lead["phones"].clone();
    phones["primaryPhoneNumber"] = json!("8553057016");
    stack
        .emulator
        .update("leads", id.as_str(), json!({ "phones": phones }));

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.mode, SyncMode::Delta);
    assert_eq!((summary.changed, summary.total_in_table), (1, 47));
    assert_eq!(summary.requests, 1, "one page holds the delta");

    let after = write_times(&stack).await;
    let rewritten: Vec<_> = after
        .iter()
        .filter(|(k, v)| before[*k] != **v)
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(rewritten, vec![id.clone()]);
    let stored = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(stored.fields["phones"]["primaryPhoneNumber"], "8553057016");
}

#[tokio::test]
async fn a_run_with_no_remote_change_writes_nothing() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let before = write_times(&stack).await;
    let wm = watermark(&stack).await;

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.mode, SyncMode::Delta);
    assert_eq!(summary.changed, 0);
    assert_eq!(write_times(&stack).await, before);
    assert_eq!(watermark(&stack).await, wm);
}

#[tokio::test]
async fn a_patch_that_changes_nothing_is_not_a_change() {
    // Twenty bumps updatedAt on every PATCH, even one that sets the same values.
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let lead = &stack.emulator.records("leads")[3];
    stack.emulator.update(
        "leads",
        id_of(lead).as_str(),
        json!({ "score": lead["score"].clone() }),
    );

    let summary = auto(&stack.engine).await.unwrap();
    // The lookback window re-reads the seed too; none of it, nor the no-op PATCH, is news.
    assert!(summary.fetched >= 1);
    assert_eq!((summary.changed, summary.unchanged), (0, summary.fetched));
}

#[tokio::test]
async fn five_hundred_leads_sharing_one_updated_at_all_arrive_across_pages() {
    let stack = TestStack::with_page_size(Seed::Generated(500), 60).await;
    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.pages, 9);
    assert_eq!((summary.fetched, summary.changed), (500, 500));
    let table = stored(&stack).await;
    assert_eq!(table.len(), 500);
    for record in stack.emulator.records("leads") {
        assert!(table.contains_key(&id_of(&record)));
    }
}

#[tokio::test]
async fn a_forced_full_sync_rereads_everything_and_writes_nothing_new() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let summary = full(&stack.engine).await.unwrap();
    assert_eq!(summary.mode, SyncMode::Full);
    assert_eq!(
        (summary.fetched, summary.changed, summary.unchanged),
        (47, 0, 47)
    );
}

#[tokio::test]
async fn soft_deleted_leads_arrive_as_tombstones_in_the_delta() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let id = id_of(&stack.emulator.records("leads")[5]);
    stack.emulator.soft_delete("leads", id.as_str()).unwrap();

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.changed, 1);
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert!(
        lead.fields["deletedAt"].is_string(),
        "tombstone keeps deletedAt"
    );
}
