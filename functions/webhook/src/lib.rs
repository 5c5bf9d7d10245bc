//! The webhook Lambda: Twenty's POST through API Gateway in, the event applied to the
//! mirror, a small JSON answer out. All logic lives in `spartan_sync`.

mod handler;
mod response;

pub use handler::{WebhookState, handle, handle_at};
