//! The DynamoDB mirror: one table, string keys `pk`/`sk`, leads stored losslessly.
//!
//! This is the only module that speaks DynamoDB (`AttributeValue`, `SdkError`).

mod bulk;
mod error;
mod keys;
mod lead_item;
mod lead_store;
mod lease;
mod local_edits;
mod notes;
mod schema;
mod sweep;
mod sync_state;
mod throttle;

pub use error::StoreError;
pub use lead_item::{LocalState, PendingKind, StoredLead, StoredVersion, WriteOrigin};
pub use lead_store::{ApplyCounts, DynamoLeadStore, PutOutcome, TOMBSTONE_TTL};
pub use lease::LeaseHolder;
pub use local_edits::{Conflict, LocalEditError};
pub use schema::create_table;
pub use sync_state::{Checkpoint, CheckpointChange, Reachability, RunRecord, SyncState};

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
