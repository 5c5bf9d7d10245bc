//! Notes and their links to leads (`notes`, `noteTargets`), pulled after the leads by
//! every run, so that a delivery Twenty failed to make (it tries once, never retries) is
//! recovered by the next delta as lead edits are. Each object keeps its own state item
//! (`SYNC#notes`, `SYNC#noteTargets`: watermark, `freshAsOf`, last pull) and the same
//! window rule as the leads ([`super::window`]); the requests share the leads' client,
//! so one rate budget covers them all.
//!
//! A pull is read-only towards Twenty and every write is versioned (an older version
//! never replaces a newer one), so two pulls may overlap: the state only moves for the
//! pull that began last. A pull stores its cursor after each page; one that runs short
//! of time is resumed from there by the next run, and only its end moves the state.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::window;
use crate::domain::{LeadId, ObjectName, RemoteRecord, Timestamp};
use crate::store::{DynamoLeadStore, NoteOutcome, PullProgress, StoreError, WriteOrigin};
use crate::twenty::{ListQuery, TwentyClient, TwentyError};

/// The related objects every run pulls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Related {
    Notes,
    NoteTargets,
}

impl Related {
    pub const ALL: [Related; 2] = [Related::Notes, Related::NoteTargets];

    pub fn object(self) -> ObjectName {
        match self {
            Self::Notes => ObjectName::new("notes", "note"),
            Self::NoteTargets => ObjectName::new("noteTargets", "noteTarget"),
        }
    }
}

/// What one pulled record does to the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelatedWrite {
    /// The note as Twenty holds it (soft-deleted ones too, with `deletedAt`).
    Note,
    /// A live link of a note to a lead.
    Link(LeadId),
    /// A soft-deleted link: gone from the lead's notes.
    Unlink(LeadId),
    /// A link to something other than a lead (a person, a company).
    Skip,
}

/// Pure: what a pulled record of `kind` writes.
pub fn decide(kind: Related, record: &RemoteRecord) -> RelatedWrite {
    match kind {
        Related::Notes => RelatedWrite::Note,
        Related::NoteTargets => {
            let fields = record.fields();
            let lead = fields
                .get("targetLeadId")
                .and_then(Value::as_str)
                .and_then(|id| LeadId::parse(id).ok());
            let deleted = fields.get("deletedAt").is_some_and(|d| !d.is_null());
            match (lead, deleted) {
                (None, _) => RelatedWrite::Skip,
                (Some(lead), true) => RelatedWrite::Unlink(lead),
                (Some(lead), false) => RelatedWrite::Link(lead),
            }
        }
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
    /// The pull reached its last page and moved the object's state.
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

/// Pulls the related objects with the leads' client and table.
#[derive(Debug, Clone)]
pub struct RelatedPull {
    objects: Vec<(Related, TwentyClient, DynamoLeadStore)>,
    lookback: Duration,
    clock_skew: Duration,
    reserve: Duration,
}

impl RelatedPull {
    pub fn new(
        leads: &TwentyClient,
        store: &DynamoLeadStore,
        lookback: Duration,
        clock_skew: Duration,
        reserve: Duration,
    ) -> Self {
        let objects = Related::ALL
            .iter()
            .map(|&kind| {
                let object = kind.object();
                let state = store.for_object(object.plural());
                (kind, leads.for_object(object), state)
            })
            .collect();
        Self {
            objects,
            lookback,
            clock_skew,
            reserve,
        }
    }

    /// One pull of each object (`full`: every record, as the reconcile asks). A failure
    /// of one object is reported in its summary and does not stop the others.
    pub async fn pull(&self, full: bool, deadline: Instant) -> Vec<RelatedSummary> {
        let mut summaries = Vec::with_capacity(self.objects.len());
        for (kind, twenty, state) in &self.objects {
            let mut summary = RelatedSummary {
                object: kind.object().plural().to_string(),
                full,
                resumed: false,
                pages: 0,
                fetched: 0,
                written: 0,
                complete: false,
                error: None,
            };
            if let Err(e) = self
                .pull_one(*kind, twenty, state, full, deadline, &mut summary)
                .await
            {
                tracing::warn!(object = %summary.object, error = %e, "pulling {} failed; the next run tries again", summary.object);
                summary.error = Some(e.to_string());
            }
            summaries.push(summary);
        }
        summaries
    }

    async fn pull_one(
        &self,
        kind: Related,
        twenty: &TwentyClient,
        state: &DynamoLeadStore,
        full: bool,
        deadline: Instant,
        summary: &mut RelatedSummary,
    ) -> Result<(), PullError> {
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
            },
        };
        let mut query = ListQuery::changes_since(progress.since, twenty.page_size())
            .after(progress.cursor.clone());
        loop {
            if Instant::now() + self.reserve >= deadline {
                tracing::info!(object = %summary.object, pages = summary.pages, "out of time: {} resumes from its last stored page next run", summary.object);
                return Ok(());
            }
            let page = twenty.list(&query, deadline).await?;
            summary.pages += 1;
            summary.fetched += page.records.len() as u64;
            for record in &page.records {
                if self.store_one(kind, state, record).await? == NoteOutcome::Applied {
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
                _ => break,
            }
        }
        summary.complete = true;
        let report = serde_json::to_value(&*summary).unwrap_or(Value::Null);
        state
            .record_pull(progress.newest_seen, progress.began, &report)
            .await?;
        Ok(())
    }

    async fn store_one(
        &self,
        kind: Related,
        state: &DynamoLeadStore,
        record: &RemoteRecord,
    ) -> Result<NoteOutcome, StoreError> {
        match decide(kind, record) {
            RelatedWrite::Note => state.put_note(record, WriteOrigin::Sync).await,
            RelatedWrite::Link(lead) => state.put_note_link(&lead, record, WriteOrigin::Sync).await,
            RelatedWrite::Unlink(lead) => state.remove_note_link(&lead, record).await,
            RelatedWrite::Skip => Ok(NoteOutcome::Duplicate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> RemoteRecord {
        RemoteRecord::from_fields(v.as_object().cloned().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const LEAD: &str = "73affd6e-2319-4ad1-82d8-f8eb9312a232";

    fn link(target: Value, deleted: Value) -> RemoteRecord {
        record(json!({
            "id": "8d969ae5-8538-4664-85fc-96a6fa79311e",
            "updatedAt": "2026-11-27T12:00:00.000Z",
            "noteId": "5b2f7c1e-8d3a-4f6b-9c0d-1e2f3a4b5c6d",
            "targetLeadId": target,
            "deletedAt": deleted,
        }))
    }

    #[test]
    fn a_live_link_to_a_lead_is_stored_under_that_lead() {
        let lead = LeadId::parse(LEAD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            decide(Related::NoteTargets, &link(json!(LEAD), Value::Null)),
            RelatedWrite::Link(lead)
        );
    }

    #[test]
    fn a_soft_deleted_link_is_removed() {
        let lead = LeadId::parse(LEAD).unwrap_or_else(|e| panic!("{e}"));
        let deleted = json!("2026-11-27T12:00:00.000Z");
        assert_eq!(
            decide(Related::NoteTargets, &link(json!(LEAD), deleted)),
            RelatedWrite::Unlink(lead)
        );
    }

    /// Twenty nulls `targetLeadId` when the lead is destroyed, and a link may point at a
    /// person or a company instead: neither is a lead's note.
    #[test]
    fn a_link_to_no_lead_is_skipped() {
        assert_eq!(
            decide(Related::NoteTargets, &link(Value::Null, Value::Null)),
            RelatedWrite::Skip
        );
    }
}
