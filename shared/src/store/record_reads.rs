//! Reads of the read-only objects' records (people, companies, notes, custom objects)
//! for the leads API: one kind's records from the `byKind` index, paged like the leads,
//! and one record by id. Each is shown as Twenty sent it; a destroyed record's
//! tombstone is never shown (it has no `_kind`, so the index does not list it).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::item::attr;
use super::keys::{BY_KIND_INDEX, PK, SK};
use super::records::RecordPlace;
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError, cursor};
use crate::domain::{LeadId, Timestamp};

/// A page of records as Twenty sent them, and the cursor of the next (`None`: the last).
pub type RecordPage = (Vec<Map<String, Value>>, Option<String>);

type Item = HashMap<String, AttributeValue>;

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
        let limit = limit.clamp(1, 500);
        let mut start = match cursor {
            Some(c) => Some(start_key(kind, c)?),
            None => None,
        };
        let mut records = Vec::with_capacity(limit);
        loop {
            let mut request = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(BY_KIND_INDEX)
                .expression_attribute_names("#k", attr::KIND)
                .expression_attribute_values(":kind", AttributeValue::S(kind.into()))
                .limit((limit - records.len()) as i32)
                .set_exclusive_start_key(start.take());
            request = match changed_since {
                Some(t) => request
                    .key_condition_expression("#k = :kind AND #c >= :since")
                    .expression_attribute_names("#c", attr::CHANGED_AT)
                    .expression_attribute_values(":since", AttributeValue::S(t.to_string())),
                None => request.key_condition_expression("#k = :kind"),
            };
            if !include_deleted {
                request = request
                    .filter_expression("attribute_not_exists(#del) OR attribute_type(#del, :null)")
                    .expression_attribute_names("#del", "deletedAt")
                    .expression_attribute_values(":null", AttributeValue::S("NULL".into()));
            }
            let out = retry_throttled(|| request.clone().send())
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let key = item
                    .get(PK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_else(|| kind.to_string());
                records.push(as_sent(&key, item)?);
            }
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                // A filter can leave a page short: read on until it is full.
                Some(k) if records.len() < limit => start = Some(k),
                Some(k) => return Ok((records, Some(cursor::encode(&k)))),
                None => return Ok((records, None)),
            }
        }
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

/// A cursor's start key, refused unless it was issued for a page of `kind` (a cursor
/// of another object's list would make DynamoDB fail the query).
fn start_key(kind: &str, raw: &str) -> Result<Item, StoreError> {
    let key = cursor::decode(raw).map_err(|_| StoreError::BadCursor)?;
    let of_kind = key
        .get(attr::KIND)
        .and_then(|v| v.as_s().ok())
        .is_some_and(|k| k == kind);
    if of_kind && key.contains_key(PK) && key.contains_key(SK) {
        Ok(key)
    } else {
        Err(StoreError::BadCursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_good_only_for_the_kind_it_was_issued_for() {
        let key = Item::from([
            (PK.to_string(), AttributeValue::S("PERSON#x".into())),
            (SK.to_string(), AttributeValue::S("PERSON".into())),
            (attr::KIND.to_string(), AttributeValue::S("PERSON".into())),
            (attr::CHANGED_AT.to_string(), AttributeValue::S("t".into())),
        ]);
        let raw = cursor::encode(&key);
        assert_eq!(start_key("PERSON", &raw).ok(), Some(key));
        assert!(matches!(
            start_key("COMPANY", &raw),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            start_key("PERSON", "nope"),
            Err(StoreError::BadCursor)
        ));
    }

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
