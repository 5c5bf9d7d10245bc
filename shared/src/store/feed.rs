//! The change feed's pure parts: positions, the opaque cursor, removal marks, and how
//! two index partitions merge into one page. The DynamoDB reads are in `changes.rs`.
//!
//! A change's position is (`_changedAt`, `pk`): when the mirror wrote the item, then its
//! key to break ties. Leads sit in the `byKind` index's `LEAD` partition; a lead that
//! stops being live (hard delete, or a local create deleted before Twenty saw it)
//! leaves a removal mark in the `GONE` partition, written in the same transaction.

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

pub(crate) use super::item::RemovalItem;
use super::lead_store::TOMBSTONE_TTL;
use crate::domain::{LeadId, Timestamp};

/// The `byKind` partition of removal marks.
pub const REMOVED_KIND: &str = "GONE";

/// How old a change must be before the feed hands it out. A writer stamps
/// `_changedAt` before its write lands, and the index is updated a moment after the
/// table: a change younger than this could still be joined by one dated earlier, so
/// a cursor moved past it could skip that one.
pub const FEED_SETTLE: Duration = Duration::from_secs(5);

/// How long a cursor stays good: removal marks (like tombstones) expire after
/// [`TOMBSTONE_TTL`], less an hour for clocks that disagree.
pub const CURSOR_LIFETIME: Duration = TOMBSTONE_TTL.saturating_sub(Duration::from_secs(3600));

impl RemovalItem {
    pub fn new(id: &LeadId, now: Timestamp) -> Self {
        Self {
            pk: format!("{REMOVED_KIND}#{id}"),
            sk: REMOVED_KIND.into(),
            kind: REMOVED_KIND.into(),
            changed_at: now,
            expires_at: now.saturating_add(TOMBSTONE_TTL).unix_millis() / 1000,
            lead_id: id.to_string(),
        }
    }
}

/// Where in the feed an item sits; ordered by time, then key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub at: Timestamp,
    pub pk: String,
}

/// What a cursor says: every change up to `at` (and, when `pk` is set, only those at
/// `at` whose key sorts up to `pk`) was handed out by a page read at `issued`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedCursor {
    #[serde(rename = "v")]
    version: u8,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pk: Option<String>,
    pub issued: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(
        "invalid cursor: pass back exactly the cursor of an earlier page, or none to start over"
    )]
    BadCursor,
    #[error(
        "the cursor was issued at {issued}, longer ago than removals are kept; start over without a cursor"
    )]
    Expired { issued: Timestamp },
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

impl FeedCursor {
    /// The start of the feed: everything still in the mirror.
    pub fn origin(now: Timestamp) -> Self {
        Self {
            version: 1,
            at: Timestamp::from_unix_millis(0).unwrap_or(now),
            pk: None,
            issued: now,
        }
    }

    pub(crate) fn after(position: &Position, issued: Timestamp) -> Self {
        Self {
            version: 1,
            at: position.at,
            pk: Some(position.pk.clone()),
            issued,
        }
    }

    pub(crate) fn through(at: Timestamp, issued: Timestamp) -> Self {
        Self {
            version: 1,
            at,
            pk: None,
            issued,
        }
    }

    /// Whether `position` was already handed out.
    pub(crate) fn covers(&self, position: &Position) -> bool {
        match &self.pk {
            Some(pk) => (position.at, &position.pk) <= (self.at, pk),
            None => position.at <= self.at,
        }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor and refuses one too old to resume from.
    pub fn decode(raw: &str, now: Timestamp) -> Result<Self, FeedError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.trim())
            .map_err(|_| FeedError::BadCursor)?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| FeedError::BadCursor)?;
        let key_ok = cursor.pk.as_deref().is_none_or(|pk| {
            pk.strip_prefix("LEAD#")
                .or_else(|| pk.strip_prefix("GONE#"))
                .is_some_and(|id| LeadId::parse(id).is_ok())
        });
        if cursor.version != 1 || !key_ok {
            return Err(FeedError::BadCursor);
        }
        if cursor.issued.saturating_add(CURSOR_LIFETIME) < now {
            return Err(FeedError::Expired {
                issued: cursor.issued,
            });
        }
        Ok(cursor)
    }
}

/// One partition's items after the cursor, sorted, and complete: every item of the
/// partition up to the last one's time is there (`exhausted`: up to the horizon).
#[derive(Debug)]
pub(crate) struct PartitionRead<T> {
    pub items: Vec<(Position, T)>,
    pub exhausted: bool,
}

/// Decides whether a partition has been read far enough. `items` come in index order
/// (by time; equal times in no promised order). `Err` gives them back: read on.
pub(crate) fn settle<T>(
    mut items: Vec<(Position, T)>,
    ended: bool,
    limit: usize,
) -> Result<PartitionRead<T>, Vec<(Position, T)>> {
    if !ended {
        // Enough once the `limit`-th item's time is followed by a later one: its
        // whole group of equal times has been read and can be ordered by key.
        let boundary = match limit.checked_sub(1).and_then(|i| items.get(i)) {
            Some((p, _)) => p.at,
            None => return Err(items),
        };
        if items.last().is_none_or(|(p, _)| p.at <= boundary) {
            return Err(items);
        }
        items.retain(|(p, _)| p.at <= boundary);
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(PartitionRead {
        items,
        exhausted: ended,
    })
}

/// Merges partitions into one page of at most `limit` changes, in position order, and
/// says whether more may follow. Only positions every partition is complete up to are
/// handed out.
pub(crate) fn merge<T>(parts: Vec<PartitionRead<T>>, limit: usize) -> (Vec<(Position, T)>, bool) {
    let bound = parts
        .iter()
        .filter(|p| !p.exhausted)
        .filter_map(|p| p.items.last().map(|(pos, _)| pos.at))
        .min();
    let mut more = parts.iter().any(|p| !p.exhausted);
    let mut all: Vec<(Position, T)> = parts
        .into_iter()
        .flat_map(|p| p.items)
        .filter(|(pos, _)| bound.is_none_or(|b| pos.at <= b))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    if all.len() > limit {
        all.truncate(limit);
        more = true;
    }
    (all, more)
}

/// The cursor a page hands back: after its last change while more may follow,
/// otherwise through the horizon (never behind where the reader already was).
pub(crate) fn next_cursor(
    from: &FeedCursor,
    last: Option<&Position>,
    more: bool,
    horizon: Timestamp,
    now: Timestamp,
) -> FeedCursor {
    match last {
        Some(position) if more => FeedCursor::after(position, now),
        _ if horizon >= from.at => FeedCursor::through(horizon, now),
        _ => FeedCursor {
            issued: now,
            ..from.clone()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + ms).unwrap()
    }

    fn pos(ms: i64, key: &str) -> Position {
        Position {
            at: t(ms),
            pk: format!("LEAD#{key}"),
        }
    }

    #[test]
    fn a_page_waits_for_the_whole_group_of_equal_times_at_its_end() {
        // Index order: times ascending, equal times in any key order.
        let read = vec![(pos(1, "c"), ()), (pos(2, "z"), ()), (pos(2, "a"), ())];
        assert!(settle(read.clone(), false, 2).is_err(), "t=2 may go on");
        let mut more = read.clone();
        more.push((pos(2, "m"), ()));
        more.push((pos(3, "b"), ()));
        let part = settle(more, false, 2).unwrap();
        let keys: Vec<&str> = part.items.iter().map(|(p, _)| p.pk.as_str()).collect();
        assert_eq!(keys, ["LEAD#c", "LEAD#a", "LEAD#m", "LEAD#z"]);
        assert!(!part.exhausted);
        assert!(settle(read, true, 2).unwrap().exhausted);
    }

    #[test]
    fn merging_hands_out_only_what_every_partition_is_complete_up_to() {
        let leads = PartitionRead {
            items: vec![(pos(1, "a"), 'l'), (pos(5, "b"), 'l')],
            exhausted: false,
        };
        let gone = PartitionRead {
            items: vec![(pos(3, "x"), 'g'), (pos(9, "y"), 'g')],
            exhausted: true,
        };
        let (page, more) = merge(vec![leads, gone], 10);
        let at: Vec<Timestamp> = page.iter().map(|(p, _)| p.at).collect();
        assert_eq!(
            at,
            [t(1), t(3), t(5)],
            "t=9 waits: leads after 5 are unread"
        );
        assert!(more);
    }

    #[test]
    fn cursors_round_trip_cover_what_was_handed_out_and_expire() {
        let now = t(0);
        let c = FeedCursor::after(&pos(5, "7f1d5b9e-0000-4000-8000-000000000000"), now);
        let back = FeedCursor::decode(&c.encode(), now).unwrap();
        assert_eq!(back, c);
        assert!(back.covers(&pos(5, "7f1d5b9e-0000-4000-8000-000000000000")));
        assert!(!back.covers(&pos(5, "8")));
        assert!(back.covers(&pos(4, "9")));
        assert!(FeedCursor::through(t(5), now).covers(&pos(5, "zzz")));
        assert!(matches!(
            FeedCursor::decode("garbage!", now),
            Err(FeedError::BadCursor)
        ));
        let later = now.saturating_add(TOMBSTONE_TTL);
        assert!(matches!(
            FeedCursor::decode(&c.encode(), later),
            Err(FeedError::Expired { .. })
        ));
    }

    #[test]
    fn the_last_page_still_moves_the_cursor_to_the_horizon() {
        let from = FeedCursor::origin(t(0));
        let c = next_cursor(&from, Some(&pos(3, "a")), false, t(10), t(15));
        assert_eq!((c.at, c.pk, c.issued), (t(10), None, t(15)));
        let c = next_cursor(&from, Some(&pos(3, "a")), true, t(10), t(15));
        assert_eq!(c.pk.as_deref(), Some("LEAD#a"));
    }
}
