use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::domain::ObjectName;

/// What a [`super::TwentyClient`] is built from: plain values, so the client knows
/// nothing of where they came from (`config` reads them from the environment).
#[derive(Debug, Clone)]
pub struct TwentySettings {
    pub api_url: Url,
    pub api_key: SecretString,
    pub object: ObjectName,
    pub page_size: u32,
    pub request_timeout: Duration,
    /// Requests per minute the client allows itself (0: no pacing).
    pub rate_limit_per_minute: u32,
}
