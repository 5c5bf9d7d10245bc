//! The sync engine: where the Twenty client and the store meet.

mod engine;
mod error;
pub mod merge;
mod mode;
mod push;
mod summary;

pub use engine::{PageOutcome, SyncEngine, SyncRun, SyncSettings};
pub use error::SyncError;
pub use mode::{RequestedMode, SyncMode};
pub use summary::{PushSummary, RunStatus, SyncSummary};
