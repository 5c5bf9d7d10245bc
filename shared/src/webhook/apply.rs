use serde::Serialize;

use super::event::{Change, EventAction};
use crate::domain::Timestamp;
use crate::store::{
    DynamoLeadStore, NOTE_KIND, RecordOutcome, RecordPlace, StoreError, WriteOrigin,
    note_link_place,
};
use crate::sync::apply::{apply_one, destroy_one};
use crate::sync::{Applied, Context};

/// What a delivery did to the mirror; the webhook answers it as `{"status": ...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventOutcome {
    /// The mirror changed.
    Applied,
    /// The mirror already held this version (a redelivery, or the sync got there first).
    Duplicate,
    /// The mirror holds a newer version; nothing was written.
    Stale,
    /// Not an event the mirror keeps.
    Ignored,
    /// The record claims an `updatedAt` too far ahead of this function's clock to be
    /// trusted as a version; the delta sync reads it from Twenty instead.
    Refused,
}

impl EventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::Refused => "refused",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("applying the event failed: {0}")]
pub struct ApplyError(#[from] pub StoreError);

/// Applies one classified event. Every write is conditional on the record's version,
/// so replays and out-of-order deliveries change nothing, and racing the delta sync
/// is safe.
pub async fn apply_event(
    store: &DynamoLeadStore,
    change: &Change,
) -> Result<EventOutcome, ApplyError> {
    let ctx = Context {
        origin: WriteOrigin::Webhook,
        now: Timestamp::now(),
        generation: None,
        read_at: None,
    };
    let lead = |applied: Applied| match applied {
        Applied::Inserted | Applied::Updated | Applied::Removed | Applied::Deferred => {
            EventOutcome::Applied
        }
        Applied::Unchanged => EventOutcome::Duplicate,
        Applied::Stale => EventOutcome::Stale,
        Applied::Refused => EventOutcome::Refused,
    };
    let other = |outcome: RecordOutcome| match outcome {
        RecordOutcome::Applied => EventOutcome::Applied,
        RecordOutcome::Duplicate => EventOutcome::Duplicate,
        RecordOutcome::Stale => EventOutcome::Stale,
    };
    Ok(match change {
        Change::Ignored(_) => EventOutcome::Ignored,
        Change::Lead(EventAction::Destroyed, record) => lead(destroy_one(store, record).await?),
        Change::Lead(_, record) => lead(apply_one(store, record, &ctx).await?),
        Change::Record {
            action,
            kind,
            record,
        } => {
            let place = RecordPlace::record(kind, record.id().as_str());
            other(match action {
                EventAction::Destroyed => {
                    let outcome = store.destroy_versioned(&place, record, ctx.origin).await?;
                    // Twenty removes a destroyed note's links without an event.
                    if kind == NOTE_KIND {
                        store.unlink_note(record.id().as_str()).await?;
                    }
                    outcome
                }
                _ => {
                    store
                        .put_versioned(&place, record, ctx.origin, None)
                        .await?
                }
            })
        }
        Change::NoteLink {
            action: EventAction::Destroyed | EventAction::Deleted,
            lead,
            link,
        } => other(
            store
                .destroy_versioned(&note_link_place(lead, link)?, link, ctx.origin)
                .await?,
        ),
        Change::NoteLink { lead, link, .. } => {
            other(store.put_note_link(lead, link, ctx.origin, None).await?)
        }
    })
}
