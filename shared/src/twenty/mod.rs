//! Twenty's REST API, as it really behaves (see `twenty-api.md`): bearer key,
//! `{data: {<plural>: [...]}}` envelopes, keyset cursors, 429 without `Retry-After`.

mod call;
mod client;
mod decode;
mod error;
mod pacing;
mod page;
mod query;
mod remote;
mod retry;
mod settings;
mod stats;

pub use client::TwentyClient;
pub use error::TwentyError;
pub use pacing::Pacer;
pub use page::Page;
pub use query::{ListQuery, MAX_IDS, filter};
pub use remote::RemoteObjects;
pub use retry::RetryPolicy;
pub use settings::TwentySettings;
pub use stats::RequestStats;
