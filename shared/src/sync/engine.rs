use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use super::merge::ConflictPolicy;
use super::push::Pusher;
use super::{PushSummary, RequestedMode, RunStatus, SyncError, SyncMode, SyncSummary};
use crate::domain::Timestamp;
use crate::store::{
    ApplyCounts, Checkpoint, CheckpointChange, DynamoLeadStore, Reachability, RunRecord,
    WriteOrigin,
};
use crate::twenty::{ListQuery, RequestStats, TwentyClient};

#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How far before the watermark a delta looks again, for clock skew and
    /// transactions that commit after a later one was already read.
    pub lookback: Duration,
    /// At most this long per run, besides the caller's deadline.
    pub time_budget: Option<Duration>,
    /// Time kept free before the deadline to store a page and record the run.
    pub reserve: Duration,
    /// How long a run's lease lasts unless renewed (it is renewed as pages go by).
    pub lease_ttl: Duration,
    /// How a field edited on both sides is settled when local edits are pushed.
    pub conflict_policy: ConflictPolicy,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(120),
            time_budget: None,
            reserve: Duration::from_secs(20),
            lease_ttl: Duration::from_secs(120),
            conflict_policy: ConflictPolicy::default(),
        }
    }
}

/// Pulls one Twenty object into the mirror. Holds no per-run state: build it once.
#[derive(Debug, Clone)]
pub struct SyncEngine {
    twenty: TwentyClient,
    store: DynamoLeadStore,
    settings: SyncSettings,
}

/// What one step of a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOutcome {
    /// A page was stored and Twenty has more.
    More,
    /// The last page was stored: the pass is complete.
    Done,
    /// Too little time is left for another page; the pass is checkpointed.
    OutOfTime,
}

/// One run in progress, driven a page at a time (tests step it; `run` loops it).
#[derive(Debug)]
pub struct SyncRun<'a> {
    engine: &'a SyncEngine,
    run_id: String,
    owner: String,
    mode: SyncMode,
    resumed: bool,
    query: ListQuery,
    /// The pass's progress as it would be checkpointed.
    pass: Checkpoint,
    watermark_before: Option<Timestamp>,
    unreachable_since: Option<Timestamp>,
    finished: bool,
    pages: u32,
    fetched: u64,
    counts: ApplyCounts,
    started: Instant,
    longest_page: Duration,
    lease_renewed: Instant,
    stats_before: RequestStats,
    push: Option<PushSummary>,
}

impl SyncEngine {
    pub fn new(twenty: TwentyClient, store: DynamoLeadStore, settings: SyncSettings) -> Self {
        Self {
            twenty,
            store,
            settings,
        }
    }

    pub fn store(&self) -> &DynamoLeadStore {
        &self.store
    }

    pub fn twenty(&self) -> &TwentyClient {
        &self.twenty
    }

    /// A whole run: take the lease (or report `skipped`), resume or start a pass, store
    /// pages until the pass completes or time runs short, then record the outcome.
    /// On failure the watermark stays where it was and the failure is recorded.
    pub async fn run(
        &self,
        requested: RequestedMode,
        deadline: Instant,
    ) -> Result<SyncSummary, SyncError> {
        let started = Instant::now();
        let deadline = match self.settings.time_budget {
            Some(budget) => deadline.min(started + budget),
            None => deadline,
        };
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
                return Ok(self.skipped_summary(owner, started));
            }
        }
        // Every log line of the run carries its id (JSON logs show the span's fields).
        let span = tracing::info_span!("sync_run", run_id = %owner, object = %self.twenty.object());
        let result = self
            .run_leased(requested, deadline, &owner)
            .instrument(span)
            .await;
        if let Err(e) = self.store.release_lease(&owner).await {
            tracing::warn!(error = %e, "could not release the run lease; it expires by itself");
        }
        result
    }

    async fn run_leased(
        &self,
        requested: RequestedMode,
        deadline: Instant,
        owner: &str,
    ) -> Result<SyncSummary, SyncError> {
        let stats_before = self.twenty.stats();
        let push_started = Instant::now();
        let push = self.push(deadline, Some(owner)).await?;
        let mut run = self.start(requested, owner).await?;
        run.push = push;
        run.stats_before = stats_before;
        // Conservative: the first page renews the lease if the push took a while.
        run.lease_renewed = push_started;
        loop {
            match run.next_page(deadline).await {
                Ok(PageOutcome::More) => continue,
                Ok(PageOutcome::Done) => return run.finish().await,
                Ok(PageOutcome::OutOfTime) => return run.pause(None).await,
                Err(e) if e.is_budget() => return run.pause(Some(e)).await,
                Err(e) => {
                    run.record_failure(&e).await;
                    return Err(e);
                }
            }
        }
    }

    /// Sends pending local edits to Twenty (the first step of every run).
    pub async fn push(
        &self,
        deadline: Instant,
        lease_owner: Option<&str>,
    ) -> Result<Option<PushSummary>, SyncError> {
        let reserve = self.settings.reserve;
        let pusher = Pusher {
            twenty: &self.twenty,
            store: &self.store,
            policy: self.settings.conflict_policy,
            lease: lease_owner.map(|owner| (owner, self.settings.lease_ttl)),
        };
        pusher
            .push_pending(deadline.checked_sub(reserve).unwrap_or(deadline))
            .await
    }

    /// Reads the sync state and decides what the run does: resume a checkpointed pass,
    /// or start a full or delta one. Nothing is fetched yet.
    pub async fn start(
        &self,
        requested: RequestedMode,
        owner: &str,
    ) -> Result<SyncRun<'_>, SyncError> {
        let started = Instant::now();
        let stats_before = self.twenty.stats();
        let state = self.store.load_state().await.map_err(SyncError::State)?;
        let watermark = state.watermark;
        let (mode, resumed, pass) = match state.checkpoint {
            // A pass in progress is finished first, whatever was asked: its records
            // are already partly stored and only its end moves the watermark.
            Some(cp) => {
                let mode = if cp.full {
                    SyncMode::Full
                } else {
                    SyncMode::Delta
                };
                tracing::info!(
                    mode = mode_name(mode),
                    pages = cp.pages,
                    fetched = cp.fetched,
                    "Resuming {} sync from its checkpoint ({} records in {} pages so far)",
                    mode_label(mode),
                    cp.fetched,
                    cp.pages
                );
                (mode, true, cp)
            }
            None => {
                let full = requested == RequestedMode::Full || watermark.is_none();
                let now = Timestamp::now();
                if full {
                    let why = if watermark.is_some() {
                        "forced"
                    } else {
                        "no previous sync found"
                    };
                    tracing::info!(mode = "full", "Performing FULL sync ({why})");
                    let generation = self
                        .store
                        .next_generation()
                        .await
                        .map_err(SyncError::State)?;
                    (
                        SyncMode::Full,
                        false,
                        Checkpoint {
                            full: true,
                            since: None,
                            cursor: None,
                            generation: Some(generation),
                            pass_started_at: now,
                            newest_seen: None,
                            pages: 0,
                            fetched: 0,
                        },
                    )
                } else {
                    let w = watermark.unwrap_or(now);
                    let since = w.saturating_sub(self.settings.lookback);
                    tracing::info!(mode = "delta", watermark = %w, since = %since, "Performing DELTA sync (changes since {w})");
                    (
                        SyncMode::Delta,
                        false,
                        Checkpoint {
                            full: false,
                            since: Some(since),
                            cursor: None,
                            generation: None,
                            pass_started_at: now,
                            newest_seen: None,
                            pages: 0,
                            fetched: 0,
                        },
                    )
                }
            }
        };
        if let Some(down) = state.unreachable_since {
            let outage = down.age_at(Timestamp::now());
            tracing::info!(
                outage_seconds = outage.as_secs(),
                "Twenty was unreachable for {}; catching up in this run",
                human(outage)
            );
        }
        let query = ListQuery::changes_since(pass.since, self.twenty.page_size())
            .after(pass.cursor.clone());
        Ok(SyncRun {
            engine: self,
            run_id: owner.to_string(),
            owner: owner.to_string(),
            mode,
            resumed,
            query,
            pass,
            watermark_before: watermark,
            unreachable_since: state.unreachable_since,
            finished: false,
            pages: 0,
            fetched: 0,
            counts: ApplyCounts::default(),
            started,
            longest_page: Duration::ZERO,
            lease_renewed: started,
            stats_before,
            push: None,
        })
    }

    fn skipped_summary(&self, run_id: String, started: Instant) -> SyncSummary {
        SyncSummary {
            run_id,
            mode: SyncMode::Delta,
            status: RunStatus::Skipped,
            resumed: false,
            fetched: 0,
            changed: 0,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            stale: 0,
            removed: 0,
            total_in_table: 0,
            pages: 0,
            requests: 0,
            response_bytes: 0,
            retries: 0,
            rate_limited: 0,
            watermark_before: None,
            watermark_after: None,
            watermark_lag_seconds: None,
            duration_ms: started.elapsed().as_millis() as u64,
            push: None,
            error: None,
        }
    }
}

impl SyncRun<'_> {
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Fetches the next page and stores it. The checkpoint only moves once the page is
    /// stored, so a failure or a kill here loses nothing.
    pub async fn next_page(&mut self, deadline: Instant) -> Result<PageOutcome, SyncError> {
        if self.finished {
            return Ok(PageOutcome::Done);
        }
        let reserve = self.engine.settings.reserve.max(self.longest_page * 2);
        if Instant::now() + reserve >= deadline {
            return Ok(PageOutcome::OutOfTime);
        }
        self.keep_lease().await?;
        let page_started = Instant::now();
        let page_no = self.pass.pages + 1;
        let page = self
            .engine
            .twenty
            .list(&self.query, deadline)
            .await
            .map_err(|source| SyncError::Fetch {
                page: page_no,
                source,
            })?;
        let counts = self
            .engine
            .store
            .apply_records(&page.records, WriteOrigin::Sync, self.pass.generation)
            .await
            .map_err(|source| SyncError::Store {
                page: page_no,
                source,
            })?;
        self.pages += 1;
        self.fetched += page.records.len() as u64;
        self.counts.inserted += counts.inserted;
        self.counts.updated += counts.updated;
        self.counts.unchanged += counts.unchanged;
        self.counts.stale += counts.stale;
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
        // An empty page or a missing cursor ends the pass even if Twenty claims there
        // is more (limit=0 does that), so a run cannot spin.
        if page.has_next_page && !page.records.is_empty() && page.end_cursor.is_some() {
            self.query.starting_after = page.end_cursor;
            self.pass.cursor = self.query.starting_after.clone();
            self.engine
                .store
                .save_checkpoint(&self.pass)
                .await
                .map_err(SyncError::State)?;
            Ok(PageOutcome::More)
        } else {
            self.finished = true;
            Ok(PageOutcome::Done)
        }
    }

    /// The pass is complete: sweep (full), move the watermark, record the run.
    pub async fn finish(self) -> Result<SyncSummary, SyncError> {
        let store = &self.engine.store;
        let removed = match (self.mode, self.pass.generation) {
            (SyncMode::Full, Some(g)) => store
                .sweep_unseen(g, self.pass.pass_started_at)
                .await
                .map_err(SyncError::State)?,
            _ => 0,
        };
        let watermark_after = self.watermark_before.max(self.pass.newest_seen);
        let total = store
            .load_state()
            .await
            .map_err(SyncError::State)?
            .lead_count;
        let mut summary = self.summary(RunStatus::Succeeded, watermark_after, total, None);
        summary.removed = removed;
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
        store
            .record_run(&RunRecord {
                watermark: watermark_after,
                last_run: serde_json::to_value(&summary).unwrap_or_default(),
                succeeded_at: Some(Timestamp::now()),
                checkpoint: CheckpointChange::Clear,
                reachability: Reachability::Reachable,
            })
            .await
            .map_err(SyncError::State)?;
        Ok(summary)
    }

    /// Stops cleanly: the pass stays checkpointed and the next run resumes it.
    async fn pause(self, cause: Option<SyncError>) -> Result<SyncSummary, SyncError> {
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
        tracing::warn!(run_id = %self.run_id, pages = self.pass.pages, fetched = self.pass.fetched,
            "Sync paused after {} pages ({why}); the next run resumes from the checkpoint", self.pass.pages);
        self.engine
            .store
            .record_run(&RunRecord {
                watermark: None,
                last_run: serde_json::to_value(&summary).unwrap_or_default(),
                succeeded_at: None,
                checkpoint: if self.pass.pages > 0 {
                    CheckpointChange::Set(self.pass.clone())
                } else {
                    CheckpointChange::Keep
                },
                reachability: if self.pages > 0 {
                    Reachability::Reachable
                } else {
                    Reachability::Unknown
                },
            })
            .await
            .map_err(SyncError::State)?;
        Ok(summary)
    }

    /// Best effort: the run has already failed; a second failure here is only logged.
    async fn record_failure(&self, error: &SyncError) {
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
        };
        if let Err(e) = self.engine.store.record_run(&record).await {
            tracing::error!(error = %e, "could not record the failed run");
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

    fn summary(
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
            removed: 0,
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
        }
    }
}

fn leads(n: u64) -> &'static str {
    if n == 1 { "lead" } else { "leads" }
}

fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "full",
        SyncMode::Delta => "delta",
    }
}

fn mode_label(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "FULL",
        SyncMode::Delta => "DELTA",
    }
}

/// `754 s` → `12m 34s`, for log lines people read.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(754)), "12m 34s");
        assert_eq!(human(Duration::from_secs(7300)), "2h 1m");
    }
}
