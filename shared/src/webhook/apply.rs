use serde::Serialize;

use super::event::{Change, EventAction};
use crate::store::{DynamoLeadStore, PutOutcome, StoreError, WriteOrigin};

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
}

impl EventOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
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
    let origin = WriteOrigin::Webhook;
    let outcome = match change {
        Change::Ignored(_) => return Ok(EventOutcome::Ignored),
        Change::Lead(EventAction::Destroyed, record) => store.destroy_lead(record).await?,
        Change::Lead(_, record) => store.put_if_newer(record, origin).await?,
        Change::Note(EventAction::Destroyed, note) => store.remove_note(note).await?,
        Change::Note(_, note) => store.put_note(note, origin).await?,
        Change::NoteLink {
            action: EventAction::Destroyed | EventAction::Deleted,
            lead,
            link,
        } => store.remove_note_link(lead, link).await?,
        Change::NoteLink { lead, link, .. } => store.put_note_link(lead, link, origin).await?,
    };
    Ok(match outcome {
        PutOutcome::Inserted | PutOutcome::Updated => EventOutcome::Applied,
        PutOutcome::Unchanged => EventOutcome::Duplicate,
        PutOutcome::Stale => EventOutcome::Stale,
    })
}
