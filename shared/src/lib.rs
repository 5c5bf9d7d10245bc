//! Spartan Sync's shared library: everything both Lambda functions use.
//!
//! The Twenty client ([`twenty`]) and the DynamoDB store ([`store`]) know nothing of
//! each other; they meet only in the sync engine ([`sync`]).

pub mod config;
pub mod domain;
pub mod invoke;
pub mod logging;
pub mod metrics;
pub mod pii;
pub mod secrets;
#[cfg(test)]
mod shape;
pub mod store;
pub mod sync;
pub mod twenty;
pub mod webhook;

pub use config::{ApiConfig, Config, ConfigError, WebhookConfig};
pub use domain::{LeadId, ObjectName, RemoteRecord, Timestamp};
pub use store::DynamoLeadStore;
pub use sync::{RequestedMode, SyncEngine, SyncSettings, SyncSummary};
pub use twenty::TwentyClient;
