//! Hard-delete detection. Twenty's lists never show a hard-deleted record, so the only
//! way to notice one is a full pass: every lead it sees is tagged with the pass's
//! generation, and when the pass completes the leads it did not see are removed.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt, stream};

use super::keys::{BY_KIND_INDEX, KIND, LEAD_KIND, PK, SK};
use super::lead_item::{DESTROYED_AT, GENERATION, PENDING, SYNCED_AT};
use super::lead_store::lead_key;
use super::throttle::send_if;
use super::{DynamoLeadStore, StoreError};
use crate::domain::{LeadId, Timestamp};

impl DynamoLeadStore {
    /// Marks a stored lead as seen by full pass `generation` (no other attribute changes).
    pub(crate) async fn tag_generation(
        &self,
        id: &LeadId,
        generation: u64,
    ) -> Result<(), StoreError> {
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(lead_key(id)))
            .update_expression("SET #g = :g")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#d)")
            .expression_attribute_names("#g", GENERATION)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#d", DESTROYED_AT)
            .expression_attribute_values(":g", AttributeValue::N(generation.to_string()));
        // `None`: destroyed meanwhile (a webhook), nothing to tag.
        send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Removes the leads full pass `generation` did not see: gone from Twenty. Kept are
    /// leads written since the pass began (a webhook may have created one after the pass
    /// went by) and leads with a local edit waiting. Returns how many were removed.
    pub async fn sweep_unseen(
        &self,
        generation: u64,
        pass_started_at: Timestamp,
    ) -> Result<u64, StoreError> {
        let items: Vec<_> = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_KIND_INDEX)
            .key_condition_expression("#k = :lead")
            .projection_expression("#pk, #g, #s, #p")
            .expression_attribute_names("#k", KIND)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#g", GENERATION)
            .expression_attribute_names("#s", SYNCED_AT)
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_KIND.into()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        let start = pass_started_at.to_string();
        let unseen: Vec<String> = items
            .into_iter()
            .filter(|item| {
                let seen = item
                    .get(GENERATION)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    == Some(generation);
                let fresh = item
                    .get(SYNCED_AT)
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|s| *s >= start);
                let local_create = item
                    .get(PENDING)
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|p| p == "create");
                !seen && !fresh && !local_create
            })
            .filter_map(|item| item.get(PK).and_then(|v| v.as_s().ok()).cloned())
            .collect();
        let removed: Vec<bool> = stream::iter(unseen)
            .map(|pk| self.remove_unseen(pk, generation, start.clone()))
            .buffer_unordered(16)
            .try_collect()
            .await?;
        let removed = removed.into_iter().filter(|r| *r).count() as u64;
        if removed > 0 {
            self.adjust_lead_count(-(removed as i64)).await?;
        }
        Ok(removed)
    }

    /// Deletes one unseen lead, re-checking the sweep's conditions inside DynamoDB in
    /// case a webhook wrote it since the query.
    async fn remove_unseen(
        &self,
        pk: String,
        generation: u64,
        start: String,
    ) -> Result<bool, StoreError> {
        let request = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S("LEAD".into()))
            .condition_expression(
                "(attribute_not_exists(#g) OR #g < :g) AND #s < :start AND attribute_not_exists(#p)",
            )
            .expression_attribute_names("#g", GENERATION)
            .expression_attribute_names("#s", SYNCED_AT)
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":g", AttributeValue::N(generation.to_string()))
            .expression_attribute_values(":start", AttributeValue::S(start));
        let removed = send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        Ok(removed.is_some())
    }
}
