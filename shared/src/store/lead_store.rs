//! The DynamoDB mirror: one table, string keys `pk`/`sk`; this file holds the handle
//! and its [`Mirror`] implementation (the operations themselves live by concept:
//! `lead_table`, `queries`, `sync_state`, `lease`, `notes`).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::attr;
use super::keys::{LEAD_SK, SK};
use super::lead_table::lead_from_item;
use super::mirror::{LeadWrite, Mirror, Recheck, SweepPage};
use super::{Checkpoint, LeadItem, LeaseHolder, RunRecord, StoreError, StoredLead, SyncState};
use crate::domain::LeadId;

/// The lead mirror in one DynamoDB table. Cheap to clone; build once per process.
#[derive(Debug, Clone)]
pub struct DynamoLeadStore {
    client: Client,
    table: String,
    object: String,
}

/// How long a hard-deleted lead's tombstone outlives it: far longer than any
/// delivery delay or lookback window.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

impl DynamoLeadStore {
    pub fn new(client: Client, table: impl Into<String>, object_plural: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            object: object_plural.into(),
        }
    }

    /// The same table and client, for another object's sync state (`SYNC#<plural>`).
    pub fn for_object(&self, object_plural: impl Into<String>) -> Self {
        Self {
            client: self.client.clone(),
            table: self.table.clone(),
            object: object_plural.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn object(&self) -> &str {
        &self.object
    }

    /// A live lead as the leads API shows it (`None` when absent or destroyed).
    pub async fn get_lead(&self, id: &LeadId) -> Result<Option<StoredLead>, StoreError> {
        match self.read_lead_item(id).await? {
            Some(item) if item.is_live() => {
                let key = item.pk.clone();
                StoredLead::try_from(item)
                    .map(Some)
                    .map_err(|reason| StoreError::Corrupt { key, reason })
            }
            _ => Ok(None),
        }
    }

    /// Every live lead item (a full scan: for tests and tools, not hot paths).
    pub async fn scan_leads(&self) -> Result<Vec<StoredLead>, StoreError> {
        let items: Vec<HashMap<String, AttributeValue>> = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :lead AND attribute_not_exists(#d)")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#d", attr::DESTROYED_AT)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_SK.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| StoreError::dynamo("Scan", e))?;
        items
            .into_iter()
            .map(|item| {
                let lead = lead_from_item(item)?;
                let key = lead.pk.clone();
                StoredLead::try_from(lead).map_err(|reason| StoreError::Corrupt { key, reason })
            })
            .collect()
    }
}

impl Mirror for DynamoLeadStore {
    async fn read_leads(&self, ids: &[&LeadId]) -> Result<HashMap<LeadId, LeadItem>, StoreError> {
        self.read_lead_items(ids).await
    }

    async fn read_lead(&self, id: &LeadId) -> Result<Option<LeadItem>, StoreError> {
        self.read_lead_item(id).await
    }

    async fn write_leads(&self, writes: &[LeadWrite]) -> Result<Vec<bool>, StoreError> {
        self.write_lead_items(writes).await
    }

    async fn pending_leads(&self, limit: usize) -> Result<Vec<LeadId>, StoreError> {
        self.pending_ids(limit).await
    }

    async fn sweep_page(&self, after: Option<String>) -> Result<SweepPage, StoreError> {
        self.sweep_entries(after).await
    }

    async fn rechecks(&self, limit: usize) -> Result<Vec<Recheck>, StoreError> {
        self.queued_rechecks(limit).await
    }

    async fn clear_recheck(&self, recheck: &Recheck) -> Result<(), StoreError> {
        self.remove_recheck(recheck).await
    }

    async fn load_state(&self) -> Result<SyncState, StoreError> {
        DynamoLeadStore::load_state(self).await
    }

    async fn next_generation(&self) -> Result<u64, StoreError> {
        DynamoLeadStore::next_generation(self).await
    }

    async fn save_checkpoint(
        &self,
        owner: &str,
        checkpoint: &Checkpoint,
    ) -> Result<bool, StoreError> {
        DynamoLeadStore::save_checkpoint(self, owner, checkpoint).await
    }

    async fn record_run(&self, owner: &str, record: &RunRecord) -> Result<bool, StoreError> {
        DynamoLeadStore::record_run(self, owner, record).await
    }

    async fn acquire_lease(
        &self,
        owner: &str,
        ttl: Duration,
    ) -> Result<Result<(), LeaseHolder>, StoreError> {
        DynamoLeadStore::acquire_lease(self, owner, ttl).await
    }

    async fn renew_lease(&self, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        DynamoLeadStore::renew_lease(self, owner, ttl).await
    }

    async fn release_lease(&self, owner: &str) -> Result<(), StoreError> {
        DynamoLeadStore::release_lease(self, owner).await
    }
}
