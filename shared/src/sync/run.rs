//! One run's steps: a page at a time, then the end of the pass (sweep, watermark,
//! record) or a clean pause at its checkpoint.

use tokio::time::Instant;

use super::apply::{self, Prior};
use super::engine::{PageOutcome, SyncRun};
use super::pipeline::Fetched;
use super::report::{human, leads};
use super::rules::{Context, FUTURE_TOLERANCE};
use super::{RunStatus, SyncError, SyncMode, SyncSummary};
use crate::domain::Timestamp;
use crate::store::{CheckpointChange, Mirror, Reachability, RunRecord, SweepProgress, WriteOrigin};
use crate::twenty::RemoteObjects;

impl<R: RemoteObjects, M: Mirror> SyncRun<'_, R, M> {
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Stores the next page — fetched by the step before while it stored its own page,
    /// or now — and meanwhile fetches the one after it. The checkpoint only moves once
    /// the page it names is stored, so a failure or a kill here loses nothing: a page
    /// fetched ahead and not yet stored is simply fetched again by the next run.
    pub async fn next_page(&mut self, deadline: Instant) -> Result<PageOutcome, SyncError> {
        // A pass resumed while sweeping has stored every page already.
        if self.finished || self.pass.sweep.is_some() {
            return Ok(PageOutcome::Done);
        }
        let reserve = self.engine.settings.reserve.max(self.longest_page * 2);
        if Instant::now() + reserve >= deadline {
            return Ok(PageOutcome::OutOfTime);
        }
        self.keep_lease().await?;
        let page_started = Instant::now();
        let page_no = self.pass.pages + 1;
        let twenty = &self.engine.twenty;
        let fetched = match self.pipeline.next.take() {
            Some(ahead) => ahead,
            None => Fetched::now(twenty, &self.query, deadline).await,
        };
        let read_at = fetched.read_at;
        let page = fetched.page.map_err(|source| SyncError::Fetch {
            page: page_no,
            source,
        })?;
        // An empty page or a missing cursor ends the pass even if Twenty claims there
        // is more (limit=0 does that), so a run cannot spin.
        let next_query = (page.has_next_page && !page.records.is_empty())
            .then(|| page.end_cursor.clone())
            .flatten()
            .map(|cursor| self.query.clone().after(Some(cursor)));
        let prior = *self.pipeline.prior.get_or_insert_with(|| {
            // No pass has ever completed and this one is a full pass: the mirror holds
            // at most what this pass stored (other keys) and what webhooks or the app
            // wrote meanwhile (caught by the writes' conditions).
            if self.mode == SyncMode::Full && self.watermark_before.is_none() {
                Prior::Absent
            } else {
                Prior::Read
            }
        });
        let ctx = Context {
            origin: WriteOrigin::Sync,
            now: Timestamp::now(),
            generation: self.pass.generation,
            read_at: Some(read_at),
        };
        let store = apply::apply_page_as(&self.engine.store, &page.records, &ctx, prior);
        // The next page is asked for only while a next step could still start, so the
        // reserve is never spent on it; the client paces it like any other request.
        let ahead = async {
            match &next_query {
                Some(q) if Instant::now() + reserve < deadline => {
                    Some(Fetched::now(twenty, q, deadline).await)
                }
                _ => None,
            }
        };
        // Both run to the end: a failed fetch must not cut the store short, and its
        // error belongs to the next step (after this page's checkpoint), as when the
        // fetch was made there. Polled in a fixed order, so a simulation replays.
        let (stored, ahead) = tokio::join!(biased; store, ahead);
        let applied = stored.map_err(|source| SyncError::Store {
            page: page_no,
            source,
        })?;
        let counts = applied.counts;
        if prior == Prior::Absent && applied.found_stored * 10 > page.records.len() as u64 {
            // Not the empty mirror it looked like: read before writing from now on.
            self.pipeline.prior = Some(Prior::Read);
        }
        self.pipeline.next = ahead;
        self.pages += 1;
        self.fetched += page.records.len() as u64;
        self.counts.merge(counts);
        self.pass.pages = page_no;
        self.pass.fetched += page.records.len() as u64;
        if let Some(newest) = page.records.iter().map(|r| r.updated_at()).max() {
            self.pass.newest_seen = self.pass.newest_seen.max(Some(newest));
        }
        self.longest_page = self.longest_page.max(page_started.elapsed());
        tracing::debug!(
            page = page_no,
            records = page.records.len(),
            written = counts.written(),
            "page stored"
        );
        match next_query {
            Some(q) => {
                self.query = q;
                self.pass.cursor = self.query.starting_after.clone();
                self.save_checkpoint().await?;
                Ok(PageOutcome::More)
            }
            None => {
                self.finished = true;
                Ok(PageOutcome::Done)
            }
        }
    }

    /// One page of the hard-delete sweep that ends a full pass, once every page of the
    /// pass is stored (`Done` at once for a delta pass). Like a page, it is skipped when
    /// too little time is left (`OutOfTime`), and its position is checkpointed after it,
    /// so a run that stops or dies mid-sweep leaves the next run the rest of the sweep.
    pub async fn next_sweep_page(&mut self, deadline: Instant) -> Result<PageOutcome, SyncError> {
        let generation = match (self.mode, self.pass.generation) {
            (SyncMode::Full, Some(g)) => g,
            _ => return Ok(PageOutcome::Done),
        };
        // From here on the pass is sweeping: a pause checkpoints that, not the last page.
        let progress = self.pass.sweep.get_or_insert_with(SweepProgress::default);
        if progress.done {
            return Ok(PageOutcome::Done);
        }
        let after = progress.after.clone();
        let reserve = self.engine.settings.reserve.max(self.longest_page * 2);
        if Instant::now() + reserve >= deadline {
            return Ok(PageOutcome::OutOfTime);
        }
        self.keep_lease().await?;
        let page_started = Instant::now();
        let (removed, next) = apply::sweep_page(
            &self.engine.store,
            after,
            generation,
            self.pass.pass_started_at,
        )
        .await
        .map_err(SyncError::State)?;
        self.removed += removed;
        self.longest_page = self.longest_page.max(page_started.elapsed());
        let done = next.is_none();
        self.pass.sweep = Some(SweepProgress { after: next, done });
        if done {
            return Ok(PageOutcome::Done);
        }
        self.save_checkpoint().await?;
        Ok(PageOutcome::More)
    }

    /// Fenced by the lease: a run that lost it cannot overwrite the progress of the run
    /// that took over.
    async fn save_checkpoint(&self) -> Result<(), SyncError> {
        let saved = self
            .engine
            .store
            .save_checkpoint(&self.owner, &self.pass)
            .await
            .map_err(SyncError::State)?;
        if saved {
            Ok(())
        } else {
            Err(SyncError::LeaseLost)
        }
    }

    /// Every page is stored: sweep (full), move the watermark, record the run — or,
    /// when time runs short mid-sweep, pause with the sweep's position checkpointed.
    pub async fn finish(mut self, deadline: Instant) -> Result<SyncSummary, SyncError> {
        loop {
            match self.next_sweep_page(deadline).await {
                Ok(PageOutcome::More) => continue,
                Ok(PageOutcome::Done) => break,
                Ok(PageOutcome::OutOfTime) => return self.pause(None).await,
                Err(e) => {
                    self.record_failure(&e).await;
                    return Err(e);
                }
            }
        }
        let store = &self.engine.store;
        let removed = self.removed;
        // A version dated further ahead than our clock allows cannot carry the
        // watermark past it: one bad clock must not make later deltas skip changes.
        let ceiling = self.pass.pass_started_at.saturating_add(FUTURE_TOLERANCE);
        let newest = self.pass.newest_seen.map(|n| n.min(ceiling));
        let watermark_after = self.watermark_before.max(newest);
        let total = store
            .load_state()
            .await
            .map_err(SyncError::State)?
            .lead_count;
        let summary = self.summary(RunStatus::Succeeded, watermark_after, total, None);
        let changed = summary.changed;
        match self.mode {
            SyncMode::Full => tracing::info!(
                run_id = %self.run_id, fetched = self.pass.fetched, changed, removed, total,
                "Full sync complete: {changed} {} written, {removed} removed, {total} in table", leads(changed)
            ),
            SyncMode::Delta => {
                tracing::info!(run_id = %self.run_id, fetched = summary.fetched, changed, total, "Found {changed} changed {} out of {total} total", leads(changed));
                tracing::info!(run_id = %self.run_id, changed, "Delta sync complete: {changed} {} updated", leads(changed));
            }
        }
        if let Some(down) = self.unreachable_since {
            let outage = down.age_at(Timestamp::now());
            tracing::info!(
                outage_seconds = outage.as_secs(),
                changed,
                "Connection restored after {} of outage; caught up with {changed} {}",
                human(outage),
                leads(changed)
            );
        }
        let recorded = store
            .record_run(
                &self.owner,
                &RunRecord {
                    watermark: watermark_after,
                    last_run: serde_json::to_value(&summary).unwrap_or_default(),
                    succeeded_at: Some(Timestamp::now()),
                    checkpoint: CheckpointChange::Clear,
                    reachability: Reachability::Reachable,
                    fresh_as_of: Some(self.pass.pass_started_at),
                },
            )
            .await
            .map_err(SyncError::State)?;
        if !recorded {
            return Err(SyncError::LeaseLost);
        }
        Ok(summary)
    }

    /// Stops cleanly: the pass stays checkpointed and the next run resumes it.
    pub(super) async fn pause(self, cause: Option<SyncError>) -> Result<SyncSummary, SyncError> {
        let total = self
            .engine
            .store
            .load_state()
            .await
            .map_err(SyncError::State)?
            .lead_count;
        let summary = self.summary(
            RunStatus::Partial,
            self.watermark_before,
            total,
            cause.as_ref().map(ToString::to_string),
        );
        let why = match &cause {
            Some(e) => format!("{e}"),
            None => "the time budget is nearly spent".to_string(),
        };
        let sweeping = if self.pass.sweep.is_some() {
            " and part of the sweep"
        } else {
            ""
        };
        tracing::warn!(run_id = %self.run_id, pages = self.pass.pages, fetched = self.pass.fetched, removed = self.removed,
            "Sync paused after {} pages{sweeping} ({why}); the next run resumes from the checkpoint", self.pass.pages);
        let recorded = self
            .engine
            .store
            .record_run(
                &self.owner,
                &RunRecord {
                    watermark: None,
                    last_run: serde_json::to_value(&summary).unwrap_or_default(),
                    succeeded_at: None,
                    checkpoint: if self.pass.pages > 0 || self.pass.sweep.is_some() {
                        CheckpointChange::Set(self.pass.clone())
                    } else {
                        CheckpointChange::Keep
                    },
                    reachability: if self.pages > 0 {
                        Reachability::Reachable
                    } else {
                        Reachability::Unknown
                    },
                    fresh_as_of: None,
                },
            )
            .await
            .map_err(SyncError::State)?;
        if !recorded {
            return Err(SyncError::LeaseLost);
        }
        Ok(summary)
    }

    /// Best effort: the run has already failed; a second failure here is only logged.
    pub(super) async fn record_failure(&self, error: &SyncError) {
        let summary = self.summary(
            RunStatus::Failed,
            self.watermark_before,
            0,
            Some(error.to_string()),
        );
        tracing::error!(run_id = %self.run_id, error = %error, pages = self.pass.pages,
            "Sync failed; watermark left at {}", self.watermark_before.map(|w| w.to_string()).unwrap_or_else(|| "none".into()));
        let record = RunRecord {
            watermark: None,
            last_run: serde_json::to_value(&summary).unwrap_or_default(),
            succeeded_at: None,
            checkpoint: CheckpointChange::Keep,
            reachability: if error.twenty_unreachable() {
                Reachability::UnreachableAt(Timestamp::now())
            } else {
                Reachability::Unknown
            },
            fresh_as_of: None,
        };
        match self.engine.store.record_run(&self.owner, &record).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the failed run was not recorded: its lease had lapsed"),
            Err(e) => tracing::error!(error = %e, "could not record the failed run"),
        }
    }

    /// Renews the lease once a third of it has passed; a lost lease stops the run.
    async fn keep_lease(&mut self) -> Result<(), SyncError> {
        let ttl = self.engine.settings.lease_ttl;
        if self.lease_renewed.elapsed() < ttl / 3 {
            return Ok(());
        }
        let held = self
            .engine
            .store
            .renew_lease(&self.owner, ttl)
            .await
            .map_err(SyncError::State)?;
        if !held {
            return Err(SyncError::LeaseLost);
        }
        self.lease_renewed = Instant::now();
        Ok(())
    }

    pub(super) fn summary(
        &self,
        status: RunStatus,
        watermark_after: Option<Timestamp>,
        total: i64,
        error: Option<String>,
    ) -> SyncSummary {
        let cost = self.engine.twenty.stats().since(&self.stats_before);
        SyncSummary {
            run_id: self.run_id.clone(),
            mode: self.mode,
            status,
            resumed: self.resumed,
            fetched: self.fetched,
            changed: self.counts.written(),
            inserted: self.counts.inserted,
            updated: self.counts.updated,
            unchanged: self.counts.unchanged,
            stale: self.counts.stale,
            removed: self.removed,
            total_in_table: total,
            pages: self.pages,
            requests: cost.requests,
            response_bytes: cost.response_bytes,
            retries: cost.retries,
            rate_limited: cost.rate_limited,
            watermark_before: self.watermark_before,
            watermark_after,
            watermark_lag_seconds: watermark_after.map(|w| w.age_at(Timestamp::now()).as_secs()),
            duration_ms: self.started.elapsed().as_millis() as u64,
            push: self.push.clone(),
            error,
            related: Vec::new(),
        }
    }
}
