//! The DynamoDB mirror: one table, string keys `pk`/`sk`, leads stored losslessly.
//!
//! This is the only module that speaks DynamoDB (`AttributeValue`, `SdkError`).

mod error;
mod keys;
mod lead_item;
mod lead_store;
mod lease;
mod notes;
mod schema;
mod sync_state;

pub use error::StoreError;
pub use lead_item::{StoredLead, StoredVersion, WriteOrigin};
pub use lead_store::{ApplyCounts, DynamoLeadStore, PutOutcome, TOMBSTONE_TTL};
pub use lease::LeaseHolder;
pub use schema::create_table;
pub use sync_state::SyncState;

/// A DynamoDB client from the usual AWS configuration chain (`AWS_REGION`,
/// `AWS_ENDPOINT_URL` for DynamoDB Local, credentials, ...). Build it once at cold start.
pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&config)
}
