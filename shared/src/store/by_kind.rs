//! One kind's items from the `byKind` index in the order the mirror last changed them,
//! paged with an opaque cursor bound to that kind: the leads API's `GET /leads` and
//! `GET /objects/{plural}` are the same walk with different filters.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::attr;
use super::keys::{BY_KIND_INDEX, PK, SK};
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError, cursor};
use crate::domain::Timestamp;

pub(super) type Item = HashMap<String, AttributeValue>;

/// The filter that hides soft-deleted items (`deletedAt` set), with its names and values.
pub(super) fn without_deleted(query: QueryFluentBuilder) -> QueryFluentBuilder {
    query
        .expression_attribute_names("#del", "deletedAt")
        .expression_attribute_values(":null", AttributeValue::S("NULL".into()))
}

/// The expression [`without_deleted`] names.
pub(super) const NOT_DELETED: &str = "(attribute_not_exists(#del) OR attribute_type(#del, :null))";

impl DynamoLeadStore {
    /// Up to `limit` (1–500) items of `kind`, optionally only those changed since a time,
    /// each through `convert`; `filter` adds a filter expression. A page is full whenever
    /// more match (a filter can leave DynamoDB's page short: it reads on).
    pub(super) async fn page_by_kind<T>(
        &self,
        kind: &str,
        changed_since: Option<Timestamp>,
        cursor: Option<&str>,
        limit: usize,
        filter: impl Fn(QueryFluentBuilder) -> QueryFluentBuilder,
        mut convert: impl FnMut(Item) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let limit = limit.clamp(1, 500);
        let mut start = match cursor {
            Some(c) => Some(start_key(kind, c)?),
            None => None,
        };
        let mut found = Vec::with_capacity(limit);
        loop {
            let mut request = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(BY_KIND_INDEX)
                .expression_attribute_names("#k", attr::KIND)
                .expression_attribute_values(":kind", AttributeValue::S(kind.into()))
                .limit((limit - found.len()) as i32)
                .set_exclusive_start_key(start.take());
            request = match changed_since {
                Some(t) => request
                    .key_condition_expression("#k = :kind AND #c >= :since")
                    .expression_attribute_names("#c", attr::CHANGED_AT)
                    .expression_attribute_values(":since", AttributeValue::S(t.to_string())),
                None => request.key_condition_expression("#k = :kind"),
            };
            let request = filter(request);
            let out = retry_throttled(|| request.clone().send())
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(convert(item)?);
            }
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) if found.len() < limit => start = Some(k),
                Some(k) => return Ok((found, Some(cursor::encode(&k)))),
                None => return Ok((found, None)),
            }
        }
    }
}

/// A cursor's start key, refused unless it was issued for a page of `kind` (a cursor
/// of another list would make DynamoDB fail the query).
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
            start_key("LEAD", &raw),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            start_key("PERSON", "nope"),
            Err(StoreError::BadCursor)
        ));
    }
}
