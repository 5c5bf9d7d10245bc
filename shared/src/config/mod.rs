//! Configuration, read once at cold start. This is the only module that looks at
//! environment variables: one file per function's settings ([`Config`] for the delta
//! sync, [`WebhookConfig`], [`ApiConfig`]), the secrets given by reference, and the
//! lookup helpers they share.

mod api;
mod delta_sync;
mod environment;
mod logging;
mod vars;
mod webhook;

pub use crate::twenty::TwentySettings;
pub use api::ApiConfig;
pub use delta_sync::{Config, TWENTY_MAX_PAGE_SIZE};
pub use logging::LogSettings;
pub use webhook::WebhookConfig;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} is not set; {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{name}: {reason}")]
    Secret { name: &'static str, reason: String },
}
