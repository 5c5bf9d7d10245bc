use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;
use spartan_sync::metrics::Metrics;
use spartan_sync::sync::related::RelatedPull;
use spartan_sync::sync::{SyncError, SyncMode};
use spartan_sync::{SyncEngine, SyncSummary};
use tokio::time::Instant;

use crate::payload::parse_requested_mode;

/// Time kept back from Lambda's deadline so a run can record its outcome.
const SAFETY_MARGIN: Duration = Duration::from_secs(10);
/// The budget when the context has no deadline (local invocations, tests).
const DEFAULT_BUDGET: Duration = Duration::from_secs(14 * 60);

/// Built once at cold start, borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct DeltaSync {
    pub engine: SyncEngine,
    pub metrics: Metrics,
    /// The other mirrored objects (`TWENTY_OBJECTS`), pulled after the leads (`None`
    /// when it names only the leads).
    pub related: Option<RelatedPull>,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("bad payload: {0}")]
    BadPayload(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match &e {
            HandlerError::BadPayload(_) => "NonRetryable.BadPayload",
            HandlerError::Sync(SyncError::Fetch { .. } | SyncError::Recheck { .. }) => {
                "Retryable.TwentyUnavailable"
            }
            HandlerError::Sync(_) => "Retryable.StoreFailure",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// One invocation: decide the mode from the payload, run the sync, return its summary.
pub async fn handle(
    function: &DeltaSync,
    event: LambdaEvent<Value>,
) -> Result<SyncSummary, HandlerError> {
    let requested = parse_requested_mode(&event.payload).map_err(HandlerError::BadPayload)?;
    let deadline = run_deadline(&event.context);
    // The other mirrored objects are pulled after the leads, under the same lease.
    let related = |mode: SyncMode, deadline: Instant| async move {
        match &function.related {
            Some(related) => related.pull(mode == SyncMode::Full, deadline).await,
            None => Vec::new(),
        }
    };
    match function.engine.run_then(requested, deadline, related).await {
        Ok(summary) => {
            // For the dashboard's open-conflicts number (a person's job, not an alarm): a
            // count that reads every conflict kept, so only when telemetry is written.
            let open = match function.metrics.enabled() {
                true => function.engine.store().open_conflict_count().await.ok(),
                false => None,
            };
            function.metrics.sync_run(&summary, open);
            Ok(summary)
        }
        Err(e) => {
            function.metrics.sync_failed();
            Err(e.into())
        }
    }
}

fn run_deadline(ctx: &Context) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let remaining = if ctx.deadline > now_ms {
        Duration::from_millis(ctx.deadline - now_ms).saturating_sub(SAFETY_MARGIN)
    } else {
        DEFAULT_BUDGET
    };
    Instant::now() + remaining
}
