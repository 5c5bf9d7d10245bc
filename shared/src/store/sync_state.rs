use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Timestamp;

/// The `SYNC#<object>` / `STATE` item: where the last complete pass got to, and how
/// the last run went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// Newest remote `updatedAt` that every earlier change is known to be stored up to.
    #[serde(default)]
    pub watermark: Option<Timestamp>,
    /// Lead items in the table, kept by atomic counters on insert and removal.
    #[serde(default)]
    pub lead_count: i64,
    /// The last run's summary, as the engine reported it.
    #[serde(default)]
    pub last_run: Option<Value>,
    #[serde(default)]
    pub last_success_at: Option<Timestamp>,
}
