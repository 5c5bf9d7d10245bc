//! Consistent reads of lead items: a page's keys in BatchGetItem chunks of 100, the
//! chunks in flight together; one lead by GetItem.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use futures::{StreamExt, TryStreamExt, stream};

use super::lead_table::{lead_from_item, lead_key};
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, LeadItem, StoreError};
use crate::domain::LeadId;

/// BatchGetItem's limit.
const BATCH_GET_MAX: usize = 100;
/// Reads in flight at once for one page.
const READ_CONCURRENCY: usize = 4;

impl DynamoLeadStore {
    pub(crate) async fn read_lead_items(
        &self,
        ids: &[&LeadId],
    ) -> Result<HashMap<LeadId, LeadItem>, StoreError> {
        let owned: Vec<Vec<LeadId>> = ids
            .chunks(BATCH_GET_MAX)
            .map(|c| c.iter().map(|id| (*id).clone()).collect())
            .collect();
        let chunks: Vec<Vec<LeadItem>> = stream::iter(owned)
            .map(|chunk| async move { self.read_chunk(&chunk).await })
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        let mut found = HashMap::with_capacity(ids.len());
        for item in chunks.into_iter().flatten() {
            let id = item.id().map_err(|reason| StoreError::Corrupt {
                key: item.pk.clone(),
                reason,
            })?;
            found.insert(id, item);
        }
        Ok(found)
    }

    async fn read_chunk(&self, ids: &[LeadId]) -> Result<Vec<LeadItem>, StoreError> {
        // Consistent: an eventually consistent read could miss a version the webhook
        // just wrote, and the write conditioned on it would then fail for nothing.
        let mut keys = KeysAndAttributes::builder().consistent_read(true);
        for id in ids {
            keys = keys.keys(lead_key(id));
        }
        let keys = keys.build().map_err(|e| StoreError::Request {
            operation: "BatchGetItem",
            reason: e.to_string(),
        })?;
        let mut pending = HashMap::from([(self.table().to_string(), keys)]);
        let mut items = Vec::with_capacity(ids.len());
        let mut attempt = 0u32;
        while !pending.is_empty() {
            if attempt >= 10 {
                return Err(StoreError::Request {
                    operation: "BatchGetItem",
                    reason: "DynamoDB left keys unprocessed 10 times in a row".into(),
                });
            }
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
            attempt += 1;
            let request = self
                .client()
                .batch_get_item()
                .set_request_items(Some(pending));
            let out = retry_throttled(|| request.clone().send())
                .await
                .map_err(|e| StoreError::dynamo("BatchGetItem", e))?;
            for item in out
                .responses
                .and_then(|mut r| r.remove(self.table()))
                .unwrap_or_default()
            {
                items.push(lead_from_item(item)?);
            }
            pending = out.unprocessed_keys.unwrap_or_default();
            pending.retain(|_, v| !v.keys.is_empty());
        }
        Ok(items)
    }

    pub(crate) async fn read_lead_item(&self, id: &LeadId) -> Result<Option<LeadItem>, StoreError> {
        let request = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(lead_key(id)))
            .consistent_read(true);
        let out = retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        out.item.map(lead_from_item).transpose()
    }
}
