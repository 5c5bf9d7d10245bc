use serde::Serialize;

use super::SyncMode;
use crate::domain::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The pass completed; the watermark moved.
    Succeeded,
    /// Stopped cleanly before the deadline or a rate-limit wall; the next run resumes
    /// from the checkpoint.
    Partial,
    /// Could not finish (Twenty or DynamoDB kept failing); the watermark did not move.
    Failed,
    /// Another run held the lease; nothing was done.
    Skipped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// What a run did and cost: returned by the function, stored as `lastRun`, logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    pub run_id: String,
    pub mode: SyncMode,
    pub status: RunStatus,
    /// This run continued a pass an earlier run had checkpointed.
    pub resumed: bool,
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
    /// Leads removed because a completed full pass no longer found them in Twenty.
    pub removed: u64,
    pub total_in_table: i64,
    pub pages: u32,
    pub requests: u64,
    pub response_bytes: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub watermark_before: Option<Timestamp>,
    pub watermark_after: Option<Timestamp>,
    /// How far the watermark trails now, in seconds, after the run.
    pub watermark_lag_seconds: Option<u64>,
    pub duration_ms: u64,
    /// Local edits sent to Twenty before the pull (absent when nothing was pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The notes and note links pulled after the leads (see [`super::related`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<super::related::RelatedSummary>,
}

/// What the push step did with pending local edits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSummary {
    /// Creates, updates and deletes Twenty accepted.
    pub pushed: u64,
    /// Failed this time (Twenty unreachable, 5xx); they stay pending and are retried.
    pub failed: u64,
    /// Refused by Twenty (400/404): marked on the lead for a person to look at.
    pub rejected: u64,
    /// Fields changed on both sides, settled by the conflict policy and recorded.
    pub conflicts: u64,
}
