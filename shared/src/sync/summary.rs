use serde::Serialize;

use super::SyncMode;
use crate::domain::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// What a run did and cost: returned by the function, stored as `lastRun`, logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    pub mode: SyncMode,
    pub status: RunStatus,
    /// Records Twenty returned (a lookback window can return some twice).
    pub fetched: u64,
    /// Lead items written: inserted plus updated.
    pub changed: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Fetched records whose content was already stored.
    pub unchanged: u64,
    /// Fetched records older than what the table already holds (a webhook got there first).
    pub stale: u64,
    pub total_in_table: i64,
    pub pages: u32,
    pub requests: u64,
    pub response_bytes: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub watermark_before: Option<Timestamp>,
    pub watermark_after: Option<Timestamp>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
