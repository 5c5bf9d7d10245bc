//! Reads of the read-only objects' records (people, companies, notes, custom objects)
//! for the leads API: one kind's records from the `byKind` index, paged like the leads,
//! and one record by id. Each is shown as Twenty sent it; a destroyed record's
//! tombstone is never shown (it has no `_kind`, so the index does not list it).

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::by_kind::{Item, NOT_DELETED, without_deleted};
use super::item::attr;
use super::keys::{PK, SK};
use super::records::RecordPlace;
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError};
use crate::domain::{LeadId, Timestamp};

/// A page of records as Twenty sent them, and the cursor of the next (`None`: the last).
pub type RecordPage = (Vec<Map<String, Value>>, Option<String>);

/// A stored record's fields as Twenty sent them: our `_` bookkeeping and the keys go.
pub(super) fn as_sent(key: &str, item: Item) -> Result<Map<String, Value>, StoreError> {
    let mut doc: Map<String, Value> =
        serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
            key: key.to_string(),
            source,
        })?;
    doc.retain(|k, _| !k.starts_with('_') && k != PK && k != SK);
    Ok(doc)
}

impl DynamoLeadStore {
    /// The live records of `kind` (`PERSON`) in the order the mirror last changed them,
    /// optionally only those changed since a time, soft-deleted ones (`deletedAt` set)
    /// only if asked; paged with an opaque cursor. A page is full (`limit` records)
    /// whenever more match.
    pub async fn mirrored_records(
        &self,
        kind: &str,
        changed_since: Option<Timestamp>,
        include_deleted: bool,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RecordPage, StoreError> {
        let filter = |query: QueryFluentBuilder| match include_deleted {
            true => query,
            false => without_deleted(query).filter_expression(NOT_DELETED),
        };
        let convert = |item: Item| {
            let key = item
                .get(PK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_else(|| kind.to_string());
            as_sent(&key, item)
        };
        self.page_by_kind(kind, changed_since, cursor, limit, filter, convert)
            .await
    }

    /// One record of `kind` as Twenty sent it; `None` when absent or destroyed (a
    /// tombstone). A soft-deleted record is shown, with its `deletedAt`.
    pub async fn mirrored_record(
        &self,
        kind: &str,
        id: &LeadId,
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        let place = RecordPlace::record(kind, id.as_str());
        let request = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(place.pk.clone()))
            .key(SK, AttributeValue::S(place.sk))
            .consistent_read(true);
        let out = retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        match out.item {
            Some(item) if !item.contains_key(attr::DESTROYED_AT) => {
                as_sent(&place.pk, item).map(Some)
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_shown_without_bookkeeping_or_keys() {
        let item = Item::from([
            (PK.to_string(), AttributeValue::S("PERSON#x".into())),
            (SK.to_string(), AttributeValue::S("PERSON".into())),
            (attr::KIND.to_string(), AttributeValue::S("PERSON".into())),
            ("id".to_string(), AttributeValue::S("x".into())),
            ("deletedAt".to_string(), AttributeValue::Null(true)),
        ]);
        let doc = as_sent("PERSON#x", item).unwrap();
        assert_eq!(
            Value::Object(doc),
            serde_json::json!({"id": "x", "deletedAt": null})
        );
    }
}
