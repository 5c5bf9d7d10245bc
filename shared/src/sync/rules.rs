//! What a remote version does to a stored lead: pure functions from (what is stored,
//! what arrived) to (what happened, what to write). The webhook and the sync both go
//! through them, against DynamoDB or in memory alike.

use std::time::Duration;

use serde_json::Value;

use crate::domain::{RemoteRecord, Timestamp};
use crate::store::{
    Conflict, ConflictStatus, LeadItem, SweepEntry, TOMBSTONE_TTL, WHOLE_RECORD, WriteOrigin,
};

/// How far ahead of our clock a version may claim to be. Beyond it, a delivered
/// version is refused and a stored one no longer fences what Twenty's own list says —
/// so one bad clock (or one forged-but-signed delivery) cannot freeze a lead.
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(300);

/// What applying one remote version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The lead was not in the table (or only its tombstone was).
    Inserted,
    /// The stored lead changed to the new version.
    Updated,
    /// Same content as stored (a replay, or a PATCH that changed nothing).
    Unchanged,
    /// The table holds a newer version; nothing about the lead changed.
    Stale,
    /// A local edit is pending: the version is kept beside it for the merge.
    Deferred,
    /// Hard-deleted: the lead became a tombstone.
    Removed,
    /// The version claims a time too far ahead of our clock to be trusted.
    Refused,
}

/// Where a version comes from, and when.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub origin: WriteOrigin,
    pub now: Timestamp,
    /// The full pass (if any) whose page this is: every lead it sees is tagged.
    pub generation: Option<u64>,
    /// When the page was requested from Twenty (sync only): a lead written after
    /// that is newer than anything on the page with the same `updatedAt`.
    pub read_at: Option<Timestamp>,
}

/// A decision: what happened, and the item to write (`None`: nothing to write).
pub type Decision = (Applied, Option<LeadItem>);

fn next(current: &LeadItem, mut item: LeadItem) -> LeadItem {
    item.rev = current.rev + 1;
    item
}

fn untrusted(ts: Timestamp, now: Timestamp) -> bool {
    ts > now.saturating_add(FUTURE_TOLERANCE)
}

/// A created, updated, soft-deleted, restored or upserted version of a lead.
pub fn on_remote(current: Option<&LeadItem>, record: &RemoteRecord, ctx: &Context) -> Decision {
    let incoming = record.updated_at();
    if ctx.origin == WriteOrigin::Webhook && untrusted(incoming, ctx.now) {
        return (Applied::Refused, None);
    }
    let fresh = |rev: u64| {
        let mut item = LeadItem::from_remote(record, ctx.origin, ctx.now);
        item.rev = rev;
        item.generation = ctx.generation;
        item
    };
    let Some(cur) = current else {
        return (Applied::Inserted, Some(fresh(1)));
    };
    if !cur.is_live() {
        // A tombstone fences the versions before the destroy; anything newer is a
        // record Twenty still has (soft-deleted, say) and comes back.
        return if incoming > cur.remote_updated_at {
            (Applied::Inserted, Some(fresh(cur.rev + 1)))
        } else {
            (Applied::Stale, None)
        };
    }
    let tag = ctx.generation.is_some() && cur.generation != ctx.generation;
    if cur.is_pending() {
        // A version sharing the stored one's millisecond is newer on the same terms as
        // below: otherwise a soft delete made in the millisecond of our own push would be
        // passed over here and never listed again by a delta.
        let after_stored = incoming > cur.remote_updated_at
            || (incoming == cur.remote_updated_at
                && record.content_hash() != cur.content_hash
                && same_millisecond_order(cur, ctx).unwrap_or(true));
        let newer = after_stored && cur.local.incoming_updated_at.is_none_or(|t| incoming > t);
        if !newer && !tag {
            return (Applied::Stale, None);
        }
        let mut item = cur.clone();
        if newer {
            item.local.incoming = Some(record.fields().clone());
            item.local.incoming_updated_at = Some(incoming);
        }
        if tag {
            item.generation = ctx.generation;
        }
        let applied = if newer {
            Applied::Deferred
        } else {
            Applied::Unchanged
        };
        return (applied, Some(next(cur, item)));
    }
    let keep_generation = |mut item: LeadItem| {
        if ctx.generation.is_none() {
            item.generation = cur.generation;
        }
        item
    };
    let stored = cur.remote_updated_at;
    // Twenty's own list is the system of record at the time it was read: a stored
    // version from an untrusted future gives way to it.
    let list_overrides_future = ctx.origin == WriteOrigin::Sync && untrusted(stored, ctx.now);
    if cur.content_hash == record.content_hash() {
        if incoming > stored || (list_overrides_future && incoming < stored) {
            // A PATCH that changed nothing (or a corrected clock): only the version
            // moves, so an older version arriving later is still seen as older.
            let mut item = cur.clone();
            item.remote_updated_at = incoming;
            if tag {
                item.generation = ctx.generation;
            }
            return (Applied::Unchanged, Some(next(cur, item)));
        }
        return (Applied::Unchanged, tag.then(|| tagged(cur, ctx)));
    }
    let newer = if incoming == stored {
        // Twenty keeps microseconds and shows milliseconds: two versions can share
        // one `updatedAt`. A list read after the stored version was written is the
        // later of the two; a webhook cannot tell, so the last delivery wins and the
        // write queues a recheck (see [`in_doubt`]) that settles it.
        same_millisecond_order(cur, ctx).unwrap_or(true)
    } else {
        incoming > stored || list_overrides_future
    };
    if newer {
        (Applied::Updated, Some(keep_generation(fresh(cur.rev + 1))))
    } else {
        (Applied::Stale, tag.then(|| tagged(cur, ctx)))
    }
}

/// Whether a version sharing the stored version's millisecond is the later one: known
/// for a list read (it is later if read after the stored version was written), not for
/// a webhook delivery.
fn same_millisecond_order(cur: &LeadItem, ctx: &Context) -> Option<bool> {
    match (ctx.origin, ctx.read_at, cur.synced_at) {
        (WriteOrigin::Sync, Some(read), Some(written)) => Some(read >= written),
        _ => None,
    }
}

/// Whether [`on_remote`]'s write is a guess: a different version within the stored
/// version's millisecond that nothing can order (kept as the lead's version, or beside a
/// pending edit for its merge). Such a write queues a recheck of the
/// lead (a read by id from Twenty in the next run), so the guess never outlives a run
/// however far the delta window has moved.
pub fn in_doubt(current: Option<&LeadItem>, record: &RemoteRecord, ctx: &Context) -> bool {
    current.is_some_and(|cur| {
        cur.is_live()
            && record.updated_at() == cur.remote_updated_at
            && cur.content_hash != record.content_hash()
            && same_millisecond_order(cur, ctx).is_none()
    })
}

fn tagged(cur: &LeadItem, ctx: &Context) -> LeadItem {
    let mut item = cur.clone();
    item.generation = ctx.generation;
    next(cur, item)
}

/// A tombstone in place of `cur` (or of nothing), fencing versions up to `fence`. Its
/// only fields are `id` and `deletedAt` (the destroy's time): a reader that filters on
/// `deletedAt`, as the leads API and any scan of `LEAD` items should, skips it; one that
/// needs to tell hard from soft reads `_destroyedAt`.
pub fn tombstone(
    current: Option<&LeadItem>,
    pk: String,
    fence: Timestamp,
    now: Timestamp,
) -> LeadItem {
    let fields = tombstone_fields(&pk, now);
    LeadItem {
        pk,
        sk: crate::store::LeadItem::LEAD_SK.into(),
        kind: None,
        changed_at: Some(now),
        rev: current.map_or(1, |c| c.rev + 1),
        remote_updated_at: current.map_or(fence, |c| c.remote_updated_at.max(fence)),
        content_hash: "destroyed".into(),
        synced_at: Some(now),
        synced_by: None,
        generation: None,
        destroyed_at: Some(now),
        expires_at: Some(now.saturating_add(TOMBSTONE_TTL).unix_millis() / 1000),
        local: Default::default(),
        fields,
    }
}

fn tombstone_fields(pk: &str, now: Timestamp) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    if let Some(id) = pk.strip_prefix("LEAD#") {
        fields.insert("id".into(), Value::String(id.to_string()));
    }
    fields.insert("deletedAt".into(), Value::String(now.to_string()));
    fields
}

/// A hard delete in Twenty. A pending local edit cannot be pushed any more: it is
/// kept in a conflict record instead of vanishing with the lead.
pub fn on_destroyed(
    current: Option<&LeadItem>,
    record: &RemoteRecord,
    now: Timestamp,
) -> (Applied, Option<LeadItem>, Vec<Conflict>) {
    let pk = crate::store::LeadItem::pk_of(record.id());
    match current {
        None => (
            Applied::Removed,
            Some(tombstone(None, pk, record.updated_at(), now)),
            Vec::new(),
        ),
        Some(cur) if !cur.is_live() => (Applied::Unchanged, None, Vec::new()),
        Some(cur) if !cur.is_pending() && cur.remote_updated_at > record.updated_at() => {
            (Applied::Stale, None, Vec::new())
        }
        Some(cur) => {
            let conflicts = lost_edit(cur, "deleted-in-twenty", now)
                .into_iter()
                .collect();
            (
                Applied::Removed,
                Some(tombstone(Some(cur), pk, record.updated_at(), now)),
                conflicts,
            )
        }
    }
}

/// The conflict record of a pending local edit that can no longer reach Twenty.
pub fn lost_edit(cur: &LeadItem, why: &str, now: Timestamp) -> Option<Conflict> {
    cur.local.pending?;
    let id = cur.id().ok()?;
    Some(Conflict {
        lead_id: id.to_string(),
        field: WHOLE_RECORD.into(),
        local_value: Value::Object(cur.fields.clone()),
        remote_value: Value::Null,
        chosen: "remote".into(),
        policy: why.into(),
        at: now,
        status: ConflictStatus::Settled,
        resolution: None,
        id: None,
    })
}

/// Whether the sweep at the end of full pass `generation` removes this lead: not seen
/// by the pass, not written since it began, and no local edit waiting.
pub fn unseen(entry: &SweepEntry, generation: u64, pass_started_at: Timestamp) -> bool {
    crate::domain::unseen_by(
        entry.generation,
        entry.synced_at,
        generation,
        pass_started_at,
    ) && !entry.pending
}

#[cfg(test)]
mod tests;
