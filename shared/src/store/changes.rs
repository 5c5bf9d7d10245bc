//! The change feed over the mirror: every lead change and removal in the order the
//! mirror wrote them, resumable from an opaque cursor (see `feed.rs` for the rules).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::feed::{
    FEED_SETTLE, FeedCursor, FeedError, PartitionRead, Position, REMOVED_KIND, RemovalItem, merge,
    next_cursor, settle,
};
use super::item::attr;
use super::keys::{BY_KIND_INDEX, LEAD_KIND, PK};
use super::lead_table::{lead_from_item, transact_put};
use super::mirror::LeadWrite;
use super::{DynamoLeadStore, PendingKind, StoreError, StoredLead};
use crate::domain::{LeadId, Timestamp};

type Item = HashMap<String, AttributeValue>;

/// Why a lead is gone from the app's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Deletion {
    /// Deleted in Twenty but restorable there (`deletedAt` is set).
    Soft,
    /// Destroyed in Twenty, or a local create deleted before Twenty saw it.
    Hard,
    /// Deleted here; the delete waits for the next sync to reach Twenty.
    Local,
}

/// One entry of the feed: the lead as it now is, or its removal.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: LeadId,
    pub changed_at: Timestamp,
    pub deleted: Option<Deletion>,
    /// Absent for a hard deletion.
    pub lead: Option<StoredLead>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Where to resume; returned with every page, the last one too.
    pub cursor: String,
    /// More changes are ready now: ask again at once.
    pub more: bool,
}

impl DynamoLeadStore {
    /// Up to `limit` changes after `cursor` (from the start without one), as of `now`.
    pub async fn changes(
        &self,
        cursor: Option<&str>,
        limit: usize,
        now: Timestamp,
    ) -> Result<ChangePage, FeedError> {
        let limit = limit.clamp(1, 500);
        let from = match cursor {
            Some(raw) => FeedCursor::decode(raw, now)?,
            None => FeedCursor::origin(now),
        };
        let horizon = now.saturating_sub(FEED_SETTLE);
        let leads = self
            .read_partition(LEAD_KIND, &from, horizon, limit)
            .await?;
        let gone = self
            .read_partition(REMOVED_KIND, &from, horizon, limit)
            .await?;
        let (page, more) = merge(vec![leads, gone], limit);
        let cursor = next_cursor(&from, page.last().map(|(p, _)| p), more, horizon, now);
        let changes = page
            .into_iter()
            .map(|(position, item)| change_of(&position, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChangePage {
            changes,
            cursor: cursor.encode(),
            more,
        })
    }

    /// The items of one `byKind` partition after `from` and up to `horizon`.
    async fn read_partition(
        &self,
        kind: &str,
        from: &FeedCursor,
        horizon: Timestamp,
        limit: usize,
    ) -> Result<PartitionRead<Item>, StoreError> {
        // Without a key, the cursor's own time was handed out whole: start after it.
        let low = match from.pk {
            Some(_) => from.at,
            None => from.at.saturating_add(std::time::Duration::from_millis(1)),
        };
        if low > horizon {
            return Ok(PartitionRead {
                items: Vec::new(),
                exhausted: true,
            });
        }
        let mut items = Vec::new();
        let mut start = None;
        loop {
            // Key attributes cannot be filtered on: the cursor's own group of equal
            // times is read again and what it already handed out is dropped here.
            let request = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(BY_KIND_INDEX)
                .key_condition_expression("#k = :kind AND #c BETWEEN :low AND :high")
                .expression_attribute_names("#k", attr::KIND)
                .expression_attribute_names("#c", attr::CHANGED_AT)
                .expression_attribute_values(":kind", AttributeValue::S(kind.into()))
                .expression_attribute_values(":low", AttributeValue::S(low.to_string()))
                .expression_attribute_values(":high", AttributeValue::S(horizon.to_string()))
                .limit(limit as i32 + 1)
                .set_exclusive_start_key(start.take());
            let out = request
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let position = position_of(&item)?;
                if !from.covers(&position) {
                    items.push((position, item));
                }
            }
            let ended = out.last_evaluated_key.is_none();
            match settle(items, ended, limit) {
                Ok(read) => return Ok(read),
                Err(unsettled) => {
                    items = unsettled;
                    start = out.last_evaluated_key;
                }
            }
        }
    }
}

/// Transaction items a lead write adds for the feed: one mark when a live lead goes.
pub(crate) fn removal_marks(w: &LeadWrite) -> usize {
    usize::from(w.live_delta < 0)
}

/// The mark's put for the transaction of `w`, when `w` removes a live lead: readers
/// of the feed learn of the removal from it, and neither lands without the other.
pub(crate) fn removal_mark(
    table: &str,
    w: &LeadWrite,
) -> Result<Option<TransactWriteItem>, StoreError> {
    if removal_marks(w) == 0 {
        return Ok(None);
    }
    let mark =
        serde_dynamo::to_item(RemovalItem::new(&w.id, Timestamp::now())).map_err(|source| {
            StoreError::Mapping {
                key: w.id.to_string(),
                source,
            }
        })?;
    transact_put(table, mark).map(Some)
}

fn position_of(item: &Item) -> Result<Position, StoreError> {
    let pk = item
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let at = item
        .get(attr::CHANGED_AT)
        .and_then(|v| v.as_s().ok())
        .and_then(|s| Timestamp::parse(s).ok())
        .ok_or_else(|| StoreError::Corrupt {
            key: pk.clone(),
            reason: "no readable _changedAt".into(),
        })?;
    Ok(Position { at, pk })
}

fn change_of(position: &Position, item: Item) -> Result<Change, StoreError> {
    if position.pk.starts_with(REMOVED_KIND) {
        let removal: RemovalItem =
            serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                key: position.pk.clone(),
                source,
            })?;
        let id = LeadId::parse(&removal.lead_id).map_err(|reason| StoreError::Corrupt {
            key: position.pk.clone(),
            reason,
        })?;
        return Ok(Change {
            id,
            changed_at: position.at,
            deleted: Some(Deletion::Hard),
            lead: None,
        });
    }
    let lead =
        StoredLead::try_from(lead_from_item(item)?).map_err(|reason| StoreError::Corrupt {
            key: position.pk.clone(),
            reason,
        })?;
    let soft = lead.fields.get("deletedAt").is_some_and(|v| !v.is_null());
    let deleted = match lead.local.pending {
        Some(PendingKind::Delete) => Some(Deletion::Local),
        _ if soft => Some(Deletion::Soft),
        _ => None,
    };
    Ok(Change {
        id: lead.id.clone(),
        changed_at: position.at,
        deleted,
        lead: Some(lead),
    })
}
