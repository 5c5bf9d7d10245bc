//! Counts for the sync status: local edits waiting for Twenty, open conflicts.
//! Both read an index with `Select=COUNT`, so no item crosses the wire.

use aws_sdk_dynamodb::types::{AttributeValue, Select};

use super::conflict::{CONFLICT_KIND, ConflictStatus};
use super::item::attr;
use super::keys::{BY_KIND_INDEX, BY_PENDING_INDEX, LEAD_KIND};
use super::{DynamoLeadStore, StoreError};

impl DynamoLeadStore {
    /// Leads with a local edit queued for the push (the sparse `byPending` index).
    pub async fn pending_count(&self) -> Result<u64, StoreError> {
        self.count(BY_PENDING_INDEX, attr::PENDING_QUEUE, LEAD_KIND, false)
            .await
    }

    /// Conflicts waiting for a person (a `manual` rule): a filtered count, so every
    /// conflict record kept (90 days) is read, none sent.
    pub async fn open_conflict_count(&self) -> Result<u64, StoreError> {
        self.count(BY_KIND_INDEX, attr::KIND, CONFLICT_KIND, true)
            .await
    }

    async fn count(
        &self,
        index: &str,
        key: &str,
        value: &str,
        open_only: bool,
    ) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            // A COUNT query still pages at 1 MB of items read: follow the pages.
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(index)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":v", AttributeValue::S(value.into()))
                .select(Select::Count)
                .set_exclusive_start_key(start.take());
            if open_only {
                query = query
                    .filter_expression("#s = :open")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(
                        ":open",
                        AttributeValue::S(ConflictStatus::Open.as_str().into()),
                    );
            }
            let out = query
                .send()
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            total += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(total),
            }
        }
    }
}
