//! The record of a conflict: a field both sides changed, or a local edit Twenty could
//! not take, and how it was settled. Kept 90 days under `CONFLICT#<lead>`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::item::ConflictItem;
use crate::domain::Timestamp;

/// The `field` of a conflict about the whole record (it was deleted in Twenty while a
/// local edit waited): the local edit is kept in `local_value`.
pub const WHOLE_RECORD: &str = "*";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub lead_id: String,
    /// A field, a composite's sub-field (`email.primaryEmail`), or [`WHOLE_RECORD`].
    pub field: String,
    pub local_value: Value,
    pub remote_value: Value,
    /// `local` or `remote` (for an open conflict: what both sides hold for now).
    pub chosen: String,
    pub policy: String,
    pub at: Timestamp,
    /// `open` while a person must decide (a `manual` rule); records written before
    /// there were rules read as `settled`.
    #[serde(default)]
    pub status: ConflictStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictStatus {
    Open,
    #[default]
    Settled,
}

impl ConflictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Settled => "settled",
        }
    }
}

pub(crate) const CONFLICT_KIND: &str = "CONFLICT";
const CONFLICT_TTL_DAYS: i64 = 90;

impl ConflictItem {
    pub fn new(conflict: &Conflict, seq: usize) -> Self {
        Self {
            pk: format!("CONFLICT#{}", conflict.lead_id),
            // The sequence keeps two conflicts of one push on one field apart.
            sk: format!("{}#{}#{seq}", conflict.at, conflict.field),
            kind: CONFLICT_KIND.into(),
            changed_at: conflict.at,
            expires_at: conflict.at.unix_millis() / 1000 + CONFLICT_TTL_DAYS * 86_400,
            conflict: conflict.clone(),
        }
    }
}
