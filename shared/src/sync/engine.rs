use std::time::Duration;

use tokio::time::Instant;

use super::{RequestedMode, RunStatus, SyncError, SyncMode, SyncSummary};
use crate::domain::Timestamp;
use crate::store::{ApplyCounts, DynamoLeadStore, WriteOrigin};
use crate::twenty::{ListQuery, RequestStats, TwentyClient};

#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How far before the watermark a delta looks again, for clock skew and
    /// transactions that commit after a later one was already read.
    pub lookback: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(120),
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
    /// The last page was stored.
    Done,
}

/// One run in progress, driven a page at a time (tests step it; `run` loops it).
#[derive(Debug)]
pub struct SyncRun<'a> {
    engine: &'a SyncEngine,
    mode: SyncMode,
    query: ListQuery,
    watermark_before: Option<Timestamp>,
    newest_seen: Option<Timestamp>,
    pages: u32,
    fetched: u64,
    counts: ApplyCounts,
    finished: bool,
    started: Instant,
    stats_before: RequestStats,
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

    /// A whole run. On failure the watermark stays where it was, the failure is
    /// recorded in the sync state, and the error is returned.
    pub async fn run(
        &self,
        requested: RequestedMode,
        deadline: Instant,
    ) -> Result<SyncSummary, SyncError> {
        let mut run = self.start(requested).await?;
        loop {
            match run.next_page(deadline).await {
                Ok(PageOutcome::More) => continue,
                Ok(PageOutcome::Done) => return run.finish().await,
                Err(e) => {
                    run.record_failure(&e).await;
                    return Err(e);
                }
            }
        }
    }

    /// Reads the sync state and decides the mode; nothing is fetched yet.
    pub async fn start(&self, requested: RequestedMode) -> Result<SyncRun<'_>, SyncError> {
        let started = Instant::now();
        let stats_before = self.twenty.stats();
        let state = self.store.load_state().await.map_err(SyncError::State)?;
        let watermark = state.watermark;
        let mode = match (requested, watermark) {
            (RequestedMode::Full, _)
            | (RequestedMode::Auto, None)
            | (RequestedMode::Delta, None) => SyncMode::Full,
            (_, Some(_)) => SyncMode::Delta,
        };
        let since = match mode {
            SyncMode::Full => {
                let why = if requested == RequestedMode::Full && watermark.is_some() {
                    "forced"
                } else {
                    "no previous sync found"
                };
                tracing::info!(mode = "full", "Performing FULL sync ({why})");
                None
            }
            SyncMode::Delta => {
                let w = watermark.unwrap_or_else(Timestamp::now);
                let since = w.saturating_sub(self.settings.lookback);
                tracing::info!(mode = "delta", watermark = %w, since = %since, "Performing DELTA sync (changes since {w})");
                Some(since)
            }
        };
        Ok(SyncRun {
            engine: self,
            mode,
            query: ListQuery::changes_since(since, self.twenty.page_size()),
            watermark_before: watermark,
            newest_seen: None,
            pages: 0,
            fetched: 0,
            counts: ApplyCounts::default(),
            finished: false,
            started,
            stats_before,
        })
    }
}

impl SyncRun<'_> {
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Fetches the next page and stores it. The cursor only moves once the page is
    /// stored, so a failure here loses nothing.
    pub async fn next_page(&mut self, deadline: Instant) -> Result<PageOutcome, SyncError> {
        if self.finished {
            return Ok(PageOutcome::Done);
        }
        let page_no = self.pages + 1;
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
            .apply_records(&page.records, WriteOrigin::Sync)
            .await
            .map_err(|source| SyncError::Store {
                page: page_no,
                source,
            })?;
        self.pages = page_no;
        self.fetched += page.records.len() as u64;
        self.counts.inserted += counts.inserted;
        self.counts.updated += counts.updated;
        self.counts.unchanged += counts.unchanged;
        self.counts.stale += counts.stale;
        if let Some(newest) = page.records.iter().map(|r| r.updated_at()).max() {
            self.newest_seen = self.newest_seen.max(Some(newest));
        }
        tracing::debug!(
            page = page_no,
            records = page.records.len(),
            written = counts.written(),
            "page stored"
        );
        // Keyset cursor: an empty page or a missing cursor ends the pass even if
        // Twenty claims there is more (limit=0 does that), so a run cannot spin.
        if page.has_next_page && !page.records.is_empty() && page.end_cursor.is_some() {
            self.query.starting_after = page.end_cursor;
            Ok(PageOutcome::More)
        } else {
            self.finished = true;
            Ok(PageOutcome::Done)
        }
    }

    /// Moves the watermark (only now that every page is stored) and records the run.
    pub async fn finish(self) -> Result<SyncSummary, SyncError> {
        let store = &self.engine.store;
        let watermark_after = self.watermark_before.max(self.newest_seen);
        let total = store
            .load_state()
            .await
            .map_err(SyncError::State)?
            .lead_count;
        let summary = self.summary(RunStatus::Succeeded, watermark_after, total, None);
        let changed = summary.changed;
        match self.mode {
            SyncMode::Full => tracing::info!(
                fetched = summary.fetched,
                changed,
                total,
                "Full sync complete: {changed} {} written, {total} in table",
                leads(changed)
            ),
            SyncMode::Delta => {
                tracing::info!(
                    fetched = summary.fetched,
                    changed,
                    total,
                    "Found {changed} changed {} out of {total} total",
                    leads(changed)
                );
                tracing::info!(
                    changed,
                    "Delta sync complete: {changed} {} updated",
                    leads(changed)
                );
            }
        }
        let doc = serde_json::to_value(&summary).unwrap_or_default();
        store
            .record_run(watermark_after, &doc, Some(Timestamp::now()))
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
        tracing::error!(error = %error, pages = self.pages, "Sync failed; watermark left at {:?}", self.watermark_before.map(|w| w.to_string()));
        let doc = serde_json::to_value(&summary).unwrap_or_default();
        if let Err(e) = self.engine.store.record_run(None, &doc, None).await {
            tracing::error!(error = %e, "could not record the failed run");
        }
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
            mode: self.mode,
            status,
            fetched: self.fetched,
            changed: self.counts.written(),
            inserted: self.counts.inserted,
            updated: self.counts.updated,
            unchanged: self.counts.unchanged,
            stale: self.counts.stale,
            total_in_table: total,
            pages: self.pages,
            requests: cost.requests,
            response_bytes: cost.response_bytes,
            retries: cost.retries,
            rate_limited: cost.rate_limited,
            watermark_before: self.watermark_before,
            watermark_after,
            duration_ms: self.started.elapsed().as_millis() as u64,
            error,
        }
    }
}

fn leads(n: u64) -> &'static str {
    if n == 1 { "lead" } else { "leads" }
}
