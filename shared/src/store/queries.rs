//! The store's index queries: the push queue, the sweep's walk, the leads API's list
//! and the conflict list.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::by_kind::{NOT_DELETED, without_deleted};
use super::conflict::{CONFLICT_KIND, Conflict, ConflictStatus};
use super::cursor;
use super::item::{ConflictItem, attr};
use super::keys::{BY_KIND_INDEX, BY_PENDING_INDEX, BY_SWEEP_INDEX, LEAD_KIND, PK};
use super::lead_table::lead_from_item;
use super::mirror::{SweepEntry, SweepPage};
use super::{DynamoLeadStore, StoreError, StoredLead};
use crate::domain::{LeadId, Timestamp};

/// Leads the sweep reads per request: ~130 B each in its index, so a page is ~130 kB,
/// far under DynamoDB's 1 MB, and the memory a page takes stays small and constant.
const SWEEP_PAGE: i32 = 1000;

impl DynamoLeadStore {
    /// A query of the items whose `key` is `value` in `index`.
    pub(super) fn partition(&self, index: &str, key: &str, value: &str) -> QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.table())
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":v", AttributeValue::S(value.into()))
    }
}

/// Only conflicts with `status` (records from before there were statuses are settled).
pub(super) fn with_status(
    query: QueryFluentBuilder,
    status: Option<ConflictStatus>,
) -> QueryFluentBuilder {
    let Some(status) = status else {
        return query;
    };
    query
        .filter_expression(match status {
            ConflictStatus::Open => "#s = :s",
            ConflictStatus::Settled => "attribute_not_exists(#s) OR #s = :s",
        })
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", AttributeValue::S(status.as_str().into()))
}

fn lead_id_of(item: &std::collections::HashMap<String, AttributeValue>) -> Option<LeadId> {
    item.get(PK)
        .and_then(|v| v.as_s().ok())
        .and_then(|pk| pk.strip_prefix("LEAD#"))
        .and_then(|id| LeadId::parse(id).ok())
}

impl DynamoLeadStore {
    /// Leads with a local edit waiting, oldest edit first.
    pub async fn pending_ids(&self, limit: usize) -> Result<Vec<LeadId>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_PENDING_INDEX)
            .key_condition_expression("#q = :lead")
            .expression_attribute_names("#q", attr::PENDING_QUEUE)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_KIND.into()))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(lead_id_of)
            .collect())
    }

    /// One page of the live leads with just what the sweep decides on, in key order
    /// from the `bySweep` index (which projects nothing else).
    pub(crate) async fn sweep_entries(
        &self,
        after: Option<String>,
    ) -> Result<SweepPage, StoreError> {
        let mut request = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_SWEEP_INDEX)
            .key_condition_expression("#k = :lead")
            .projection_expression("#pk, #g, #s, #p")
            .expression_attribute_names("#k", attr::KIND)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#g", attr::GENERATION)
            .expression_attribute_names("#s", attr::SYNCED_AT)
            .expression_attribute_names("#p", attr::PENDING)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_KIND.into()))
            .limit(SWEEP_PAGE);
        if let Some(c) = after {
            request = request.set_exclusive_start_key(Some(cursor::decode(&c).map_err(|_| {
                StoreError::Corrupt {
                    key: "sweep checkpoint".into(),
                    reason: "the sweep's cursor does not decode".into(),
                }
            })?));
        }
        let out = request
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        let entries = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                Some(SweepEntry {
                    id: lead_id_of(item)?,
                    generation: item
                        .get(attr::GENERATION)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse().ok()),
                    synced_at: item
                        .get(attr::SYNCED_AT)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|s| Timestamp::parse(s).ok()),
                    pending: item.contains_key(attr::PENDING),
                })
            })
            .collect();
        Ok((entries, out.last_evaluated_key.map(|k| cursor::encode(&k))))
    }

    /// Leads in the order they last changed (here or in Twenty), optionally only those
    /// changed since a time or with a `status`; paged with an opaque cursor. A page is
    /// full (`limit` leads) whenever more match.
    pub async fn list_leads(
        &self,
        changed_since: Option<Timestamp>,
        status: Option<&str>,
        include_deleted: bool,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<StoredLead>, Option<String>), StoreError> {
        let filter = |mut query: QueryFluentBuilder| {
            let mut filters = Vec::new();
            if let Some(s) = status {
                filters.push("#status = :status");
                query = query
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", AttributeValue::S(s.to_string()));
            }
            if !include_deleted {
                // A lead deleted here and not yet pushed is gone for readers too.
                filters.push(NOT_DELETED);
                filters.push("(attribute_not_exists(#p) OR #p <> :delete)");
                query = without_deleted(query)
                    .expression_attribute_names("#p", attr::PENDING)
                    .expression_attribute_values(":delete", AttributeValue::S("delete".into()));
            }
            match filters.is_empty() {
                true => query,
                false => query.filter_expression(filters.join(" AND ")),
            }
        };
        let convert = |item| {
            let lead = lead_from_item(item)?;
            let key = lead.pk.clone();
            StoredLead::try_from(lead).map_err(|reason| StoreError::Corrupt { key, reason })
        };
        self.page_by_kind(LEAD_KIND, changed_since, cursor, limit, filter, convert)
            .await
    }

    /// Recorded conflicts, newest first.
    /// The newest `limit` conflicts, all or only those with `status` (records from
    /// before there were statuses count as settled).
    pub async fn conflicts(
        &self,
        limit: usize,
        status: Option<ConflictStatus>,
    ) -> Result<Vec<Conflict>, StoreError> {
        self.conflicts_in_order(limit, status, false).await
    }

    /// The conflict that has waited longest for a person.
    pub async fn oldest_open_conflict(&self) -> Result<Option<Conflict>, StoreError> {
        Ok(self
            .conflicts_in_order(1, Some(ConflictStatus::Open), true)
            .await?
            .pop())
    }

    async fn conflicts_in_order(
        &self,
        limit: usize,
        status: Option<ConflictStatus>,
        oldest_first: bool,
    ) -> Result<Vec<Conflict>, StoreError> {
        let limit = limit.clamp(1, 1000);
        let mut found = Vec::new();
        let mut start = None;
        loop {
            // A filter applies after the limit: pages are read until enough match.
            let query = self
                .partition(BY_KIND_INDEX, attr::KIND, CONFLICT_KIND)
                .scan_index_forward(oldest_first)
                .limit(limit.max(100) as i32)
                .set_exclusive_start_key(start);
            let out = with_status(query, status)
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let doc: Map<String, Value> =
                    serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                        key: CONFLICT_KIND.into(),
                        source,
                    })?;
                let item: ConflictItem =
                    serde_json::from_value(Value::Object(doc)).map_err(|e| {
                        StoreError::Corrupt {
                            key: CONFLICT_KIND.into(),
                            reason: e.to_string(),
                        }
                    })?;
                found.push(item.into_conflict());
            }
            start = out.last_evaluated_key;
            if found.len() >= limit || start.is_none() {
                found.truncate(limit);
                return Ok(found);
            }
        }
    }
}
