//! Twenty's webhooks: signature verification, event parsing, and applying an event
//! to the mirror.

mod apply;
mod event;
mod verify;

pub use apply::{ApplyError, EventOutcome, apply_event};
pub use event::{Change, EventAction, EventError, WebhookEvent};
pub use verify::{SignatureHeaders, VerifyError, sign, verify};
