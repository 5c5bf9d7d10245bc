//! One sync run, as the tests start it: `auto(&stack.engine)` for
//! `stack.engine.run(RequestedMode::Auto, <a deadline a minute away>)`.

use std::time::Duration;

use spartan_sync::store::Mirror;
use spartan_sync::sync::SyncError;
use spartan_sync::twenty::RemoteObjects;
use spartan_sync::{RequestedMode, SyncEngine, SyncSummary};
use tokio::time::Instant;

/// How long a test's run may take: far more than any needs, so only a hang reaches it.
pub const RUN_TIME: Duration = Duration::from_secs(60);

/// A run in the mode the engine picks itself (full on the first run, then deltas).
pub async fn auto<R: RemoteObjects, M: Mirror>(
    engine: &SyncEngine<R, M>,
) -> Result<SyncSummary, SyncError> {
    engine
        .run(RequestedMode::Auto, Instant::now() + RUN_TIME)
        .await
}

/// A full run, even when a delta would do.
pub async fn full<R: RemoteObjects, M: Mirror>(
    engine: &SyncEngine<R, M>,
) -> Result<SyncSummary, SyncError> {
    engine
        .run(RequestedMode::Full, Instant::now() + RUN_TIME)
        .await
}

/// A delta run, even when the engine would pick a full one.
pub async fn delta<R: RemoteObjects, M: Mirror>(
    engine: &SyncEngine<R, M>,
) -> Result<SyncSummary, SyncError> {
    engine
        .run(RequestedMode::Delta, Instant::now() + RUN_TIME)
        .await
}
