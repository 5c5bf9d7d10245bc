//! A run's first read: the leads a write left in doubt (see [`crate::store::Recheck`]),
//! read again by id from Twenty, whatever their `updatedAt` and wherever the delta
//! window now starts. A lead Twenty no longer returns (destroyed) is left to the sweep.

use tokio::time::Instant;

use super::SyncError;
use super::apply::{self, ApplyCounts};
use super::engine::SyncEngine;
use super::rules::Context;
use crate::domain::{LeadId, Timestamp};
use crate::store::{Mirror, WriteOrigin};
use crate::twenty::{ListQuery, MAX_IDS, RemoteObjects};

impl<R: RemoteObjects, M: Mirror> SyncEngine<R, M> {
    /// Reads up to one request's worth of queued rechecks (more wait for the next run)
    /// and applies what Twenty holds as a list read: it orders any version within the
    /// doubtful millisecond. A recheck is cleared only once its lead was read.
    pub async fn read_rechecks(&self, deadline: Instant) -> Result<ApplyCounts, SyncError> {
        // One page must hold every lead asked for: a lead missing from a complete page
        // is gone from Twenty, one missing from a cut-off page is not.
        let batch = MAX_IDS.min(self.twenty.page_size().max(1) as usize);
        let queued = self.store.rechecks(batch).await.map_err(SyncError::State)?;
        if queued.is_empty() {
            return Ok(ApplyCounts::default());
        }
        let ids: Vec<LeadId> = queued.iter().map(|r| r.id.clone()).collect();
        let read_at = Timestamp::now();
        let page = self
            .twenty
            .list(&ListQuery::by_ids(&ids), deadline)
            .await
            .map_err(|source| SyncError::Recheck { source })?;
        let ctx = Context {
            origin: WriteOrigin::Sync,
            now: Timestamp::now(),
            generation: None,
            read_at: Some(read_at),
        };
        let counts = apply::apply_page(&self.store, &page.records, &ctx)
            .await
            .map_err(SyncError::RecheckStore)?;
        // Should Twenty cut the page short anyway, only the leads it returned are done.
        let done = |r: &&crate::store::Recheck| {
            !page.has_next_page || page.records.iter().any(|rec| rec.id() == &r.id)
        };
        for r in queued.iter().filter(done) {
            self.store
                .clear_recheck(r)
                .await
                .map_err(SyncError::State)?;
        }
        tracing::info!(
            queued = queued.len(),
            found = page.records.len(),
            written = counts.written(),
            "Rechecked {} lead(s) a write had left in doubt",
            queued.len()
        );
        Ok(counts)
    }
}
