use std::time::Duration;

use tokio::time::Instant;

use super::apply::ApplyCounts;
use super::pipeline::Pipeline;
use super::push::Pusher;
use super::related::RelatedSummary;
use super::report::{human, mode_label, mode_name};
use super::window;
use super::{PushSummary, RequestedMode, RunStatus, SyncError, SyncMode, SyncSummary};
use crate::domain::{ConflictRules, Timestamp};
use crate::store::{Checkpoint, DynamoLeadStore, Mirror};
use crate::twenty::{ListQuery, RemoteObjects, RequestStats, TwentyClient};

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
    pub conflict_rules: ConflictRules,
    /// How far Twenty's clock may trail the functions' (see [`super::window`]).
    pub clock_skew: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(120),
            time_budget: None,
            reserve: Duration::from_secs(20),
            lease_ttl: Duration::from_secs(120),
            conflict_rules: ConflictRules::default(),
            clock_skew: Duration::from_secs(60),
        }
    }
}

/// Pulls one Twenty object into the mirror and pushes local edits back. Holds no
/// per-run state: build it once. Generic over Twenty and the mirror so the same core
/// runs against the real ones and, in the simulator, against in-memory ones.
#[derive(Debug, Clone)]
pub struct SyncEngine<R = TwentyClient, M = DynamoLeadStore> {
    pub(super) twenty: R,
    pub(super) store: M,
    pub(super) settings: SyncSettings,
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
pub struct SyncRun<'a, R = TwentyClient, M = DynamoLeadStore> {
    pub(super) engine: &'a SyncEngine<R, M>,
    pub(super) run_id: String,
    pub(super) owner: String,
    pub(super) mode: SyncMode,
    pub(super) resumed: bool,
    pub(super) query: ListQuery,
    /// The pass's progress as it would be checkpointed.
    pub(super) pass: Checkpoint,
    pub(super) watermark_before: Option<Timestamp>,
    pub(super) unreachable_since: Option<Timestamp>,
    pub(super) finished: bool,
    pub(super) pages: u32,
    pub(super) fetched: u64,
    pub(super) counts: ApplyCounts,
    /// Leads this run's share of the sweep removed.
    pub(super) removed: u64,
    pub(super) started: Instant,
    pub(super) longest_page: Duration,
    pub(super) lease_renewed: Instant,
    pub(super) stats_before: RequestStats,
    pub(super) push: Option<PushSummary>,
    /// The page fetched ahead, and how pages are written.
    pub(super) pipeline: Pipeline,
}

impl<R: RemoteObjects, M: Mirror> SyncEngine<R, M> {
    pub fn new(twenty: R, store: M, settings: SyncSettings) -> Self {
        Self {
            twenty,
            store,
            settings,
        }
    }

    /// The caller's deadline, or the configured time budget from `started` if sooner:
    /// when a run begun at `started` must end, whatever it still does after the pass.
    pub fn budgeted(&self, started: Instant, deadline: Instant) -> Instant {
        match self.settings.time_budget {
            Some(budget) => deadline.min(started + budget),
            None => deadline,
        }
    }

    pub fn store(&self) -> &M {
        &self.store
    }

    pub fn twenty(&self) -> &R {
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
        type Nothing = fn(SyncMode, Instant) -> std::future::Ready<Vec<RelatedSummary>>;
        self.run_leased_then(requested, deadline, None::<Nothing>)
            .await
    }

    pub(super) async fn run_leased(
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
        match self.read_rechecks(deadline).await {
            Ok(counts) => run.counts.merge(counts),
            Err(e) if e.is_budget() => return run.pause(Some(e)).await,
            Err(e) => {
                run.record_failure(&e).await;
                return Err(e);
            }
        }
        // Conservative: the first page renews the lease if the push took a while.
        run.lease_renewed = push_started;
        loop {
            match run.next_page(deadline).await {
                Ok(PageOutcome::More) => continue,
                Ok(PageOutcome::Done) => return run.finish(deadline).await,
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
            remote: &self.twenty,
            mirror: &self.store,
            rules: &self.settings.conflict_rules,
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
    ) -> Result<SyncRun<'_, R, M>, SyncError> {
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
                            sweep: None,
                        },
                    )
                } else {
                    let w = watermark.unwrap_or(now);
                    let since = window::delta_since(
                        w,
                        state.fresh_as_of,
                        self.settings.lookback,
                        self.settings.clock_skew,
                    );
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
                            sweep: None,
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
            removed: 0,
            started,
            longest_page: Duration::ZERO,
            lease_renewed: started,
            stats_before,
            push: None,
            pipeline: Pipeline::default(),
        })
    }

    pub(super) fn skipped_summary(
        &self,
        run_id: String,
        requested: RequestedMode,
        started: Instant,
    ) -> SyncSummary {
        SyncSummary {
            run_id,
            // What was asked for: a skipped forced full sync says so.
            mode: if requested == RequestedMode::Full {
                SyncMode::Full
            } else {
                SyncMode::Delta
            },
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
            related: Vec::new(),
        }
    }
}
