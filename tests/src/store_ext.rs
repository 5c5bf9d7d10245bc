//! Shorthands tests use on the DynamoDB store: the leads API's edits and a webhook's
//! conditional write, through the same functions the functions call.

use serde_json::{Map, Value};
use spartan_sync::domain::{LeadId, RemoteRecord, Timestamp};
use spartan_sync::store::{
    Conflict, ConflictStatus, DynamoLeadStore, LeadWrite, Mirror, StoreError, StoredLead,
    WriteOrigin,
};
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
    /// Records an open conflict on `field` (a field or `field.sub`) of a stored lead,
    /// as a push under the `manual` rule would; returns its API id.
    async fn seed_open_conflict(
        &self,
        id: &LeadId,
        field: &str,
        local: Value,
    ) -> Result<String, StoreError>;
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

    async fn seed_open_conflict(
        &self,
        id: &LeadId,
        field: &str,
        local: Value,
    ) -> Result<String, StoreError> {
        let missing = || StoreError::Corrupt {
            key: id.to_string(),
            reason: "no such lead".into(),
        };
        let cur = Mirror::read_lead(self, id).await?.ok_or_else(missing)?;
        let remote = match field.split_once('.') {
            Some((f, sub)) => cur.fields.get(f).and_then(|v| v.get(sub)),
            None => cur.fields.get(field),
        }
        .cloned()
        .unwrap_or(Value::Null);
        let mut next = cur.clone();
        next.rev += 1;
        let conflict = Conflict {
            lead_id: id.to_string(),
            field: field.to_string(),
            local_value: local,
            remote_value: remote,
            chosen: "remote".into(),
            policy: "manual".into(),
            at: Timestamp::now(),
            status: ConflictStatus::Open,
            resolution: None,
            id: None,
        };
        let write = LeadWrite::replace(id, Some(&cur), Some(next)).with_conflicts(vec![conflict]);
        self.write_leads(&[write]).await?;
        self.conflicts(1, Some(ConflictStatus::Open))
            .await?
            .pop()
            .and_then(|c| c.id)
            .ok_or_else(missing)
    }
}
