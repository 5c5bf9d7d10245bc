//! Bulk writes that keep their conditions. BatchWriteItem cannot carry a condition, so
//! the bulk path is TransactWriteItems: up to 100 conditional puts in one request.
//! If any condition fails (a webhook wrote one of the leads meanwhile) the transaction
//! is cancelled whole and the chunk falls back to one conditional write per lead, so
//! the newer-wins rule holds for every item either way.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde_json::{Map, Value};

use super::keys::PK;
use super::lead_item::{DESTROYED_AT, GENERATION};
use super::lead_store::lead_key;
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, PutOutcome, StoreError};
use crate::domain::{LeadId, RemoteRecord};

impl DynamoLeadStore {
    /// Inserts leads the page read found absent, all or nothing; on a cancelled
    /// transaction, one by one.
    pub(crate) async fn insert_all(
        &self,
        records: &[&RemoteRecord],
        document: &(impl Fn(&RemoteRecord) -> Map<String, Value> + Sync),
    ) -> Result<Vec<PutOutcome>, StoreError> {
        let mut items = Vec::with_capacity(records.len());
        for r in records {
            let doc = document(r);
            let key = r.id().to_string();
            let item = serde_dynamo::to_item(&doc)
                .map_err(|source| StoreError::Mapping { key, source })?;
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build()
                .map_err(|e| StoreError::Request {
                    operation: "TransactWriteItems",
                    reason: e.to_string(),
                })?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        match self.transact(items).await? {
            true => Ok(vec![PutOutcome::Inserted; records.len()]),
            false => {
                let mut outcomes = Vec::with_capacity(records.len());
                for r in records {
                    outcomes.push(self.put_versioned(document(r), r).await?);
                }
                Ok(outcomes)
            }
        }
    }

    /// Tags leads as seen by a full pass; on a cancelled transaction, one by one.
    pub(crate) async fn tag_all(&self, ids: &[&LeadId], generation: u64) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let update = Update::builder()
                .table_name(self.table())
                .set_key(Some(lead_key(id)))
                .update_expression("SET #g = :g")
                .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#d)")
                .expression_attribute_names("#g", GENERATION)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#d", DESTROYED_AT)
                .expression_attribute_values(":g", AttributeValue::N(generation.to_string()))
                .build()
                .map_err(|e| StoreError::Request {
                    operation: "TransactWriteItems",
                    reason: e.to_string(),
                })?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        if !self.transact(items).await? {
            for id in ids {
                self.tag_generation(id, generation).await?;
            }
        }
        Ok(())
    }

    /// `Ok(false)` when DynamoDB cancelled the transaction (a condition failed or
    /// another transaction touched an item): the caller retries item by item.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        if items.is_empty() {
            return Ok(true);
        }
        let request = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items));
        match retry_throttled(|| request.clone().send()).await {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(_)
                | TransactWriteItemsError::TransactionInProgressException(_) => Ok(false),
                other => Err(StoreError::dynamo("TransactWriteItems", other)),
            },
        }
    }
}
