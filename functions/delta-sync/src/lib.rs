//! The delta-sync Lambda: an EventBridge schedule (or a manual payload) in, one sync
//! run out. All logic lives in `spartan_sync`; this crate only translates.

mod handler;
mod payload;

pub use handler::{DeltaSync, HandlerError, handle};
pub use payload::parse_requested_mode;
