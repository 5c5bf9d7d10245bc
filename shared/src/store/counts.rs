//! Counts for the sync status: local edits waiting for Twenty, open conflicts.
//! Both read an index with `Select=COUNT`, so no item crosses the wire.

use aws_sdk_dynamodb::types::Select;

use super::conflict::{CONFLICT_KIND, ConflictStatus};
use super::item::attr;
use super::keys::{BY_KIND_INDEX, BY_PENDING_INDEX, LEAD_KIND};
use super::queries::with_status;
use super::{DynamoLeadStore, StoreError};

impl DynamoLeadStore {
    /// Leads with a local edit queued for the push (the sparse `byPending` index).
    pub async fn pending_count(&self) -> Result<u64, StoreError> {
        self.count(BY_PENDING_INDEX, attr::PENDING_QUEUE, LEAD_KIND, None)
            .await
    }

    /// Conflicts waiting for a person (a `manual` rule): a filtered count, so every
    /// conflict record kept (90 days) is read, none sent.
    pub async fn open_conflict_count(&self) -> Result<u64, StoreError> {
        self.count(
            BY_KIND_INDEX,
            attr::KIND,
            CONFLICT_KIND,
            Some(ConflictStatus::Open),
        )
        .await
    }

    /// The items of one kind (`PERSON`) the `byKind` index lists: an object's records,
    /// soft-deleted ones included, tombstones not. Reads them all: for the reconcile.
    pub async fn kind_count(&self, kind: &str) -> Result<u64, StoreError> {
        self.count(BY_KIND_INDEX, attr::KIND, kind, None).await
    }

    async fn count(
        &self,
        index: &str,
        key: &str,
        value: &str,
        status: Option<ConflictStatus>,
    ) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            // A COUNT query still pages at 1 MB of items read: follow the pages.
            let query = self
                .partition(index, key, value)
                .select(Select::Count)
                .set_exclusive_start_key(start.take());
            let out = with_status(query, status)
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
