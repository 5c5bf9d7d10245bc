//! Every mirrored object besides the leads (`TWENTY_OBJECTS`: notes and their links by
//! default; people, companies or custom objects too), pulled after the leads by every
//! run, so that a delivery Twenty failed to make (it tries once, never retries) is
//! recovered by the next delta as lead edits are. Each object keeps its own state item
//! (`SYNC#<object>`: watermark, `freshAsOf`, last pull) and the same window rule as the
//! leads ([`super::window`]); the requests share the leads' client, so one rate budget
//! covers them all.
//!
//! A pull is read-only towards Twenty and every write is versioned (an older version
//! never replaces a newer one). A pull stores its cursor after each page; one that runs
//! short of time is resumed from there by the next run, and only its end moves the
//! state. A full pull (the reconcile) tags what it sees and ends by sweeping what it
//! did not see and nobody wrote since it began: records destroyed while no webhook
//! reached us.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::window;
use crate::domain::{LeadId, MirrorRole, MirrorSet, Mirrored, RemoteRecord, Timestamp};
use crate::store::{
    DynamoLeadStore, PullProgress, RecordOutcome, RecordPlace, StoreError, SweepProgress,
    WriteOrigin, note_link_place,
};
use crate::twenty::{ListQuery, RequestStats, TwentyClient, TwentyError};

/// What one pulled record does to the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelatedWrite {
    /// The record as Twenty holds it (soft-deleted ones too, with `deletedAt`).
    Record,
    /// A live link of a note to a lead.
    Link(LeadId),
    /// A soft-deleted link: gone from the lead's notes.
    Unlink(LeadId),
    /// A link to something other than a lead (a person, a company).
    Skip,
}

/// Pure: what a pulled record of `object` writes. `lead_field` is the field by which a
/// note link names a lead (`targetLeadId`).
pub fn decide(object: &Mirrored, lead_field: &str, record: &RemoteRecord) -> RelatedWrite {
    if object.role != MirrorRole::NoteLinks {
        return RelatedWrite::Record;
    }
    let fields = record.fields();
    let lead = fields
        .get(lead_field)
        .and_then(Value::as_str)
        .and_then(|id| LeadId::parse(id).ok());
    let deleted = fields.get("deletedAt").is_some_and(|d| !d.is_null());
    match (lead, deleted) {
        (None, _) => RelatedWrite::Skip,
        (Some(lead), true) => RelatedWrite::Unlink(lead),
        (Some(lead), false) => RelatedWrite::Link(lead),
    }
}

/// How one object's pull went, reported beside the leads' summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RelatedSummary {
    pub object: String,
    pub full: bool,
    /// This pull continued one an earlier run had stored progress of.
    pub resumed: bool,
    pub pages: u32,
    pub fetched: u64,
    /// Items written or removed (a version already stored costs nothing).
    pub written: u64,
    /// Records the reconcile's sweep found gone from Twenty.
    pub removed: u64,
    /// Requests to Twenty, retries included.
    pub requests: u64,
    pub duration_ms: u64,
    /// The pull reached its last page (and swept, if full) and moved the object's state.
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum PullError {
    #[error("Twenty: {0}")]
    Twenty(#[from] TwentyError),
    #[error("DynamoDB: {0}")]
    Store(#[from] StoreError),
}

/// One object besides the leads: its client (sharing the leads' rate budget) and its
/// state's view of the table.
#[derive(Debug, Clone)]
struct Puller {
    object: Mirrored,
    twenty: TwentyClient,
    state: DynamoLeadStore,
}

/// What a pull cost from its start: requests to Twenty (retries included) and time.
struct Cost {
    started: Instant,
    before: RequestStats,
}

impl Cost {
    fn start(puller: &Puller) -> Self {
        Self {
            started: Instant::now(),
            before: puller.twenty.stats(),
        }
    }

    fn count(&self, puller: &Puller, summary: &mut RelatedSummary) {
        summary.requests = puller.twenty.stats().since(&self.before).requests;
        summary.duration_ms = self.started.elapsed().as_millis() as u64;
    }
}

/// Pulls the other mirrored objects with the leads' client and table.
#[derive(Debug, Clone)]
pub struct RelatedPull {
    objects: Vec<Puller>,
    lead_field: String,
    lookback: Duration,
    clock_skew: Duration,
    reserve: Duration,
}

impl RelatedPull {
    pub fn new(
        leads: &TwentyClient,
        store: &DynamoLeadStore,
        objects: &MirrorSet,
        lookback: Duration,
        clock_skew: Duration,
        reserve: Duration,
    ) -> Self {
        let pullers = objects
            .related()
            .iter()
            .map(|object| Puller {
                object: object.clone(),
                twenty: leads.for_object(object.name.clone()),
                state: store.for_object(object.name.plural()),
            })
            .collect();
        Self {
            objects: pullers,
            lead_field: objects.lead_link_field(),
            lookback,
            clock_skew,
            reserve,
        }
    }

    /// Whether there is anything to pull (`TWENTY_OBJECTS` names more than the leads).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// One pull of each object (`full`: every record, as the reconcile asks). A failure
    /// of one object is reported in its summary and does not stop the others.
    pub async fn pull(&self, full: bool, deadline: Instant) -> Vec<RelatedSummary> {
        let mut summaries = Vec::with_capacity(self.objects.len());
        for puller in &self.objects {
            let mut summary = RelatedSummary {
                object: puller.object.name.plural().to_string(),
                full,
                resumed: false,
                pages: 0,
                fetched: 0,
                written: 0,
                removed: 0,
                requests: 0,
                duration_ms: 0,
                complete: false,
                error: None,
            };
            let cost = Cost::start(puller);
            let outcome = self
                .pull_one(puller, full, deadline, &cost, &mut summary)
                .await;
            cost.count(puller, &mut summary);
            if let Err(e) = outcome {
                tracing::warn!(object = %summary.object, error = %e, "pulling {} failed; the next run tries again", summary.object);
                summary.error = Some(e.to_string());
            }
            summaries.push(summary);
        }
        let requests: u64 = summaries.iter().map(|s| s.requests).sum();
        let written: u64 = summaries.iter().map(|s| s.written).sum();
        let removed: u64 = summaries.iter().map(|s| s.removed).sum();
        tracing::info!(
            objects = summaries.len(),
            requests,
            written,
            removed,
            "Pulled {} other object(s): {requests} request(s), {written} written, {removed} removed",
            summaries.len()
        );
        summaries
    }

    async fn pull_one(
        &self,
        puller: &Puller,
        full: bool,
        deadline: Instant,
        cost: &Cost,
        summary: &mut RelatedSummary,
    ) -> Result<(), PullError> {
        let Puller { twenty, state, .. } = puller;
        let loaded = state.load_state().await?;
        // A pull in progress is finished first, whatever was asked (as the leads' pass).
        let mut progress = match loaded.pull {
            Some(p) => {
                summary.full = p.full;
                summary.resumed = true;
                p
            }
            None => PullProgress {
                full,
                // The first pull of an object reads it whole.
                since: match (full, loaded.fresh_as_of) {
                    (false, Some(began)) => Some(window::delta_since(
                        loaded.watermark.unwrap_or(began),
                        Some(began),
                        self.lookback,
                        self.clock_skew,
                    )),
                    _ => None,
                },
                cursor: None,
                began: Timestamp::now(),
                newest_seen: loaded.watermark,
                sweep: None,
            },
        };
        // A full pull's mark on what it saw: its start, in milliseconds.
        let generation = progress
            .full
            .then(|| u64::try_from(progress.began.unix_millis()).unwrap_or(0));
        let mut query = ListQuery::changes_since(progress.since, twenty.page_size())
            .after(progress.cursor.clone());
        // A pull resumed mid-sweep has stored every page already.
        while progress.sweep.is_none() {
            if Instant::now() + self.reserve >= deadline {
                tracing::info!(object = %summary.object, pages = summary.pages, "out of time: {} resumes from its last stored page next run", summary.object);
                return Ok(());
            }
            let page = twenty.list(&query, deadline).await?;
            summary.pages += 1;
            summary.fetched += page.records.len() as u64;
            for record in &page.records {
                if self.store_one(puller, record, generation).await? == RecordOutcome::Applied {
                    summary.written += 1;
                }
                progress.newest_seen = progress.newest_seen.max(Some(record.updated_at()));
            }
            match page.end_cursor {
                Some(cursor) if page.has_next_page && !page.records.is_empty() => {
                    query.starting_after = Some(cursor);
                    progress.cursor = query.starting_after.clone();
                    state.save_pull(&progress).await?;
                }
                _ if progress.full => progress.sweep = Some(SweepProgress::default()),
                _ => break,
            }
        }
        let mut count = None;
        if let Some(generation) = generation {
            self.sweep(puller, generation, &mut progress, deadline, summary)
                .await?;
            if progress.sweep.is_some() {
                return Ok(());
            }
            // Once a day is cheap enough to count the records by reading them all.
            count = Some(state.kind_count(&puller.object.kind()).await?);
        }
        summary.complete = true;
        // The stored summary too says what the pull cost, up to its last write.
        cost.count(puller, summary);
        let report = serde_json::to_value(&*summary).unwrap_or(Value::Null);
        state
            .record_pull(progress.newest_seen, progress.began, &report, count)
            .await?;
        Ok(())
    }

    /// The end of a full pull: removes, a page of the index at a time, what it did not
    /// see. Leaves `progress.sweep` set (and stored) when time runs short first.
    async fn sweep(
        &self,
        puller: &Puller,
        generation: u64,
        progress: &mut PullProgress,
        deadline: Instant,
        summary: &mut RelatedSummary,
    ) -> Result<(), PullError> {
        let tombstones = puller.object.role != MirrorRole::NoteLinks;
        let kind = puller.object.kind();
        while let Some(at) = progress.sweep.clone() {
            if Instant::now() + self.reserve >= deadline {
                puller.state.save_pull(progress).await?;
                tracing::info!(object = %summary.object, "out of time: the sweep of {} resumes next run", summary.object);
                return Ok(());
            }
            let (removed, next) = puller
                .state
                .sweep_records(&kind, tombstones, generation, progress.began, at.after)
                .await?;
            summary.removed += removed;
            progress.sweep = next.map(|after| SweepProgress {
                after: Some(after),
                done: false,
            });
            if progress.sweep.is_some() {
                puller.state.save_pull(progress).await?;
            }
        }
        Ok(())
    }

    async fn store_one(
        &self,
        puller: &Puller,
        record: &RemoteRecord,
        seen_by: Option<u64>,
    ) -> Result<RecordOutcome, StoreError> {
        let state = &puller.state;
        match decide(&puller.object, &self.lead_field, record) {
            RelatedWrite::Record => {
                let place = RecordPlace::record(&puller.object.kind(), record.id().as_str());
                state
                    .put_versioned(&place, record, WriteOrigin::Sync, seen_by)
                    .await
            }
            RelatedWrite::Link(lead) => {
                state
                    .put_note_link(&lead, record, WriteOrigin::Sync, seen_by)
                    .await
            }
            RelatedWrite::Unlink(lead) => {
                let place = note_link_place(&lead, record)?;
                state
                    .destroy_versioned(&place, record, WriteOrigin::Sync)
                    .await
            }
            RelatedWrite::Skip => Ok(RecordOutcome::Duplicate),
        }
    }
}

#[cfg(test)]
mod tests;
