//! A run under the lease, with what follows the leads' pass (the other mirrored objects'
//! pulls) still under it: one run at a time does all of a stack's pulling.

use std::future::Future;

use tokio::time::Instant;
use tracing::Instrument;

use super::related::RelatedSummary;
use super::{RequestedMode, SyncEngine, SyncError, SyncMode, SyncSummary};
use crate::store::Mirror;
use crate::twenty::RemoteObjects;

impl<R: RemoteObjects, M: Mirror> SyncEngine<R, M> {
    /// [`SyncEngine::run`], then `then(mode, deadline)` while the lease is still held
    /// (unless the run was skipped or failed); what it returns is the summary's
    /// `related`. The lease is renewed for its usual term first, not to the deadline: a
    /// run that dies in `then` blocks the next ones no longer than one that dies in its
    /// pass. (What `then` does outliving the lease is safe: the other objects' writes
    /// are all versioned.)
    pub async fn run_then<F, Fut>(
        &self,
        requested: RequestedMode,
        deadline: Instant,
        then: F,
    ) -> Result<SyncSummary, SyncError>
    where
        F: FnOnce(SyncMode, Instant) -> Fut,
        Fut: Future<Output = Vec<RelatedSummary>>,
    {
        self.run_leased_then(requested, deadline, Some(then)).await
    }

    /// The whole run; `then`, if any, as [`SyncEngine::run_then`] says.
    pub(super) async fn run_leased_then<F, Fut>(
        &self,
        requested: RequestedMode,
        deadline: Instant,
        then: Option<F>,
    ) -> Result<SyncSummary, SyncError>
    where
        F: FnOnce(SyncMode, Instant) -> Fut,
        Fut: Future<Output = Vec<RelatedSummary>>,
    {
        let started = Instant::now();
        let deadline = self.budgeted(started, deadline);
        let owner = uuid::Uuid::new_v4().to_string();
        match self
            .store
            .acquire_lease(&owner, self.settings.lease_ttl)
            .await
            .map_err(SyncError::State)?
        {
            Ok(()) => {}
            Err(holder) => {
                let until = holder.until.map(|t| t.to_string()).unwrap_or_default();
                tracing::info!(holder = %holder.owner, until = %until, "Skipping: another sync run is in progress (lease held until {until})");
                return Ok(self.skipped_summary(owner, requested, started));
            }
        }
        // Every log line of the run carries its id (JSON logs show the span's fields).
        let span = tracing::info_span!("sync_run", run_id = %owner, object = %self.twenty.object());
        let result = async {
            let mut summary = self.run_leased(requested, deadline, &owner).await?;
            let Some(then) = then else {
                return Ok(summary);
            };
            match self.store.renew_lease(&owner, self.settings.lease_ttl).await {
                Ok(true) => summary.related = then(summary.mode, deadline).await,
                Ok(false) => {
                    tracing::warn!("the run lease was taken over; the other objects are left to the run holding it")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not extend the run lease; the other objects are left to the next run")
                }
            }
            Ok(summary)
        }
        .instrument(span)
        .await;
        if let Err(e) = self.store.release_lease(&owner).await {
            tracing::warn!(error = %e, "could not release the run lease; it expires by itself");
        }
        result
    }
}
