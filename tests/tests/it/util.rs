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
