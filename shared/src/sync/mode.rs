use serde::{Deserialize, Serialize};

/// What the caller asked for. `Auto` is the schedule's choice: full the first time,
/// delta after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestedMode {
    #[default]
    Auto,
    Full,
    Delta,
}

/// What a run actually does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Full,
    Delta,
}
