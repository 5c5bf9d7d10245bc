//! The mirror: one table, string keys `pk`/`sk`, leads stored losslessly.
//!
//! [`Mirror`] is what the sync core needs of it; [`DynamoLeadStore`] is the real one
//! and the only module that speaks DynamoDB (`AttributeValue`, `SdkError`);
//! [`MemoryMirror`] is the in-memory one for tests and the simulator.

mod by_kind;
mod changes;
mod conflict;
mod counts;
mod cursor;
mod error;
mod feed;
mod item;
mod keys;
mod lead_reads;
mod lead_store;
mod lead_table;
mod lease;
mod memory;
mod mirror;
mod notes;
mod pull_state;
mod queries;
mod recheck;
mod record_conditions;
mod record_reads;
mod records;
mod resolve;
mod schema;
mod sync_state;
mod throttle;

pub use changes::{Change, ChangePage, Deletion};
pub use conflict::{
    Conflict, ConflictStatus, Resolution, WHOLE_RECORD, conflict_id, parse_conflict_id,
};
pub use cursor::BadCursor;
pub use error::StoreError;
pub use feed::{CURSOR_LIFETIME, FEED_SETTLE, FeedCursor, FeedError};
pub use item::{LeadItem, LocalState, PendingKind, StoredLead, WriteOrigin};
pub use lead_store::{DynamoLeadStore, TOMBSTONE_TTL};
pub use lease::{Lease, LeaseHolder};
pub use memory::{Latency, MemoryData, MemoryMirror};
pub use mirror::{Expect, LeadWrite, Mirror, Recheck, SweepEntry, SweepPage};
pub use notes::{NOTE_KIND, NOTE_LINK_KIND, note_link_place};
pub use pull_state::PullProgress;
pub use record_reads::RecordPage;
pub use records::{RecordOutcome, RecordPlace, SweptPage};
pub use schema::create_table;
pub use sync_state::{
    Checkpoint, CheckpointChange, Reachability, RunRecord, SweepProgress, SyncState,
};

/// A DynamoDB client from the usual AWS configuration chain (`AWS_REGION`,
/// `AWS_ENDPOINT_URL` for DynamoDB Local, credentials, ...). Build it once at cold start.
pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// DynamoDB's own advice: retry throttling and 5xx with exponential backoff from about
/// 50 ms. More attempts than the SDK's default 3, so a burst of throttling during a large
/// page costs time, not data.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(std::time::Duration::from_millis(50))
        .with_max_backoff(std::time::Duration::from_secs(5))
}
