//! Key shapes of the single-table design (documented in the README).

use crate::domain::LeadId;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const LEAD_SK: &str = "LEAD";
pub const STATE_SK: &str = "STATE";

/// The `byKind` index lists every item of one kind (`LEAD`) by when it last changed,
/// so that the leads API never scans the whole table.
pub const BY_KIND_INDEX: &str = "byKind";
pub const LEAD_KIND: &str = "LEAD";

/// The `bySweep` index lists every live lead (tombstones carry no `_kind`) in key order
/// with only what the hard-delete sweep decides on (`_generation`, `_syncedAt`,
/// `_pending`): a page of it costs ~130 B a lead instead of the whole item, and a lead
/// keeps its place in it when written, so a sweep's position stays valid across runs.
pub const BY_SWEEP_INDEX: &str = "bySweep";

/// The sparse `byPending` index holds only leads with a local edit waiting for Twenty,
/// so the push step finds them without reading the rest.
pub const BY_PENDING_INDEX: &str = "byPending";

pub fn lead_pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}

pub fn sync_pk(object_plural: &str) -> String {
    format!("SYNC#{object_plural}")
}
