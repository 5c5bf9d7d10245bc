//! Twenty's webhooks: signature verification, event parsing, applying an event to the
//! mirror, and [`receive`], which does all of it for one delivery.

mod apply;
mod event;
mod receive;
mod verify;

pub use apply::{ApplyError, EventOutcome, apply_event};
pub use event::{Change, EventAction, EventError, WebhookEvent};
pub use receive::{Delivery, Received, Refusal, admit, receive};
pub use verify::{SignatureHeaders, VerifyError, sign, verify};
