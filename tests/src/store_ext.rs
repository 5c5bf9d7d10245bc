//! Shorthands tests use on the DynamoDB store: the leads API's edits and a webhook's
//! conditional write, through the same functions the functions call.

use serde_json::{Map, Value};
use spartan_sync::domain::{LeadId, RemoteRecord, Timestamp};
use spartan_sync::store::{DynamoLeadStore, StoreError, StoredLead, WriteOrigin};
use spartan_sync::sync::{Applied, ApplyCounts, Context, LocalEditError, apply, local};

#[allow(async_fn_in_trait)]
pub trait StoreExt {
    async fn local_create(&self, fields: Map<String, Value>) -> Result<StoredLead, LocalEditError>;
    async fn local_update(
        &self,
        id: &LeadId,
        patch: &Map<String, Value>,
        if_match: Option<&str>,
    ) -> Result<StoredLead, LocalEditError>;
    async fn local_delete(&self, id: &LeadId, if_match: Option<&str>)
    -> Result<(), LocalEditError>;
    async fn put_if_newer(
        &self,
        record: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<Applied, StoreError>;
    async fn apply_records(
        &self,
        records: &[RemoteRecord],
        origin: WriteOrigin,
        generation: Option<u64>,
    ) -> Result<ApplyCounts, StoreError>;
}

impl StoreExt for DynamoLeadStore {
    async fn local_create(&self, fields: Map<String, Value>) -> Result<StoredLead, LocalEditError> {
        local::create(self, &LeadId::new_random(), fields).await
    }

    async fn local_update(
        &self,
        id: &LeadId,
        patch: &Map<String, Value>,
        if_match: Option<&str>,
    ) -> Result<StoredLead, LocalEditError> {
        local::update(self, id, patch, if_match).await
    }

    async fn local_delete(
        &self,
        id: &LeadId,
        if_match: Option<&str>,
    ) -> Result<(), LocalEditError> {
        local::delete(self, id, if_match).await
    }

    async fn put_if_newer(
        &self,
        record: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<Applied, StoreError> {
        let ctx = Context {
            origin,
            now: Timestamp::now(),
            generation: None,
            read_at: None,
        };
        apply::apply_one(self, record, &ctx).await
    }

    async fn apply_records(
        &self,
        records: &[RemoteRecord],
        origin: WriteOrigin,
        generation: Option<u64>,
    ) -> Result<ApplyCounts, StoreError> {
        let now = Timestamp::now();
        let ctx = Context {
            origin,
            now,
            generation,
            read_at: Some(now),
        };
        apply::apply_page(self, records, &ctx).await
    }
}
