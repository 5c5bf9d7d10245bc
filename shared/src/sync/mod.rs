//! The sync core: where Twenty ([`crate::twenty::RemoteObjects`]) and the mirror
//! ([`crate::store::Mirror`]) meet. Decisions are pure functions ([`rules`], [`merge`],
//! [`rebase`], [`local`]); the rest reads, decides and writes.

pub mod apply;
mod engine;
mod error;
mod leased;
pub mod local;
pub mod merge;
mod mode;
mod object_status;
mod pipeline;
mod push;
pub mod rebase;
mod recheck;
pub mod related;
mod report;
pub mod resolve;
pub mod rewrite;
pub mod rules;
mod run;
pub mod status;
mod summary;
pub mod window;

pub use apply::ApplyCounts;
pub use engine::{PageOutcome, SyncEngine, SyncRun, SyncSettings};
pub use error::SyncError;
pub use local::LocalEditError;
pub use mode::{RequestedMode, SyncMode};
pub use object_status::ObjectStatus;
pub use rules::{Applied, Context};
pub use status::SyncStatus;
pub use summary::{PushSummary, RunStatus, SyncSummary};
