use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::{Map, Value};

use super::keys::{LEAD_SK, PK, SK, lead_pk};
use super::lead_item::{
    CONTENT_HASH, DESTROYED_AT, GENERATION, PENDING, REMOTE_UPDATED_AT, lead_document,
    stored_lead_from_document,
};
use super::schema::TTL_ATTRIBUTE;
use super::throttle::{retry_throttled, send_if};
use super::{StoreError, StoredLead, StoredVersion, WriteOrigin};
use crate::domain::{LeadId, RemoteRecord, Timestamp};

/// What a conditional write of a remote record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The lead was not in the table.
    Inserted,
    /// The incoming version was newer and said something new.
    Updated,
    /// Same content as stored (an exact replay, or a PATCH that changed nothing).
    Unchanged,
    /// The table already holds a newer version; nothing was written.
    Stale,
}

/// Counts of one batch of writes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ApplyCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub stale: u64,
}

impl ApplyCounts {
    pub fn written(&self) -> u64 {
        self.inserted + self.updated
    }

    fn add(&mut self, outcome: PutOutcome) {
        match outcome {
            PutOutcome::Inserted => self.inserted += 1,
            PutOutcome::Updated => self.updated += 1,
            PutOutcome::Unchanged => self.unchanged += 1,
            PutOutcome::Stale => self.stale += 1,
        }
    }
}

/// The lead mirror in one DynamoDB table. Cheap to clone; build once per process.
#[derive(Debug, Clone)]
pub struct DynamoLeadStore {
    client: Client,
    table: String,
    object: String,
    write_concurrency: usize,
}

/// How long a hard-deleted lead's tombstone outlives it: far longer than any
/// delivery delay or lookback window.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// TransactWriteItems' limit.
pub(crate) const TRANSACTION_MAX: usize = 100;
/// Bulk requests in flight at once for one page.
const BULK_CONCURRENCY: usize = 4;

/// BatchGetItem's limit.
const BATCH_GET_MAX: usize = 100;

impl DynamoLeadStore {
    pub fn new(client: Client, table: impl Into<String>, object_plural: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            object: object_plural.into(),
            write_concurrency: 16,
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

    /// The stored versions of the given leads (absent ones are simply missing), read
    /// with a projection so a page costs one small read per hundred leads.
    pub async fn versions(
        &self,
        ids: &[&LeadId],
    ) -> Result<HashMap<LeadId, StoredVersion>, StoreError> {
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET_MAX) {
            // Consistent: an eventually consistent read could miss a version the webhook
            // just wrote and let this page skip a record it must not skip.
            let mut keys = KeysAndAttributes::builder()
                .consistent_read(true)
                .projection_expression("#pk, #ru, #h, #g")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#g", GENERATION)
                .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
                .expression_attribute_names("#h", CONTENT_HASH);
            for id in chunk {
                keys = keys.keys(lead_key(id));
            }
            let keys = keys.build().map_err(|e| StoreError::Request {
                operation: "BatchGetItem",
                reason: e.to_string(),
            })?;
            let mut pending = HashMap::from([(self.table.clone(), keys)]);
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
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending));
                let out = retry_throttled(|| request.clone().send())
                    .await
                    .map_err(|e| StoreError::dynamo("BatchGetItem", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    let key = item
                        .get(PK)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default();
                    let id = key
                        .strip_prefix("LEAD#")
                        .and_then(|id| LeadId::parse(id).ok())
                        .ok_or_else(|| StoreError::Corrupt {
                            key: key.clone(),
                            reason: "pk is not LEAD#<uuid>".into(),
                        })?;
                    let version: StoredVersion = serde_dynamo::from_item(item)
                        .map_err(|source| StoreError::Mapping { key, source })?;
                    found.insert(id, version);
                }
                pending = out.unprocessed_keys.unwrap_or_default();
                pending.retain(|_, v| !v.keys.is_empty());
            }
        }
        Ok(found)
    }

    /// Stores a remote record if it is newer than what the table holds and says
    /// something new. The condition is evaluated by DynamoDB, so concurrent writers
    /// (webhook and sync) can never let an older version overwrite a newer one.
    pub async fn put_if_newer(
        &self,
        record: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<PutOutcome, StoreError> {
        let doc = lead_document(record, origin, Timestamp::now());
        let outcome = self.put_versioned(doc, record).await?;
        if outcome == PutOutcome::Inserted {
            self.adjust_lead_count(1).await?;
        }
        Ok(outcome)
    }

    /// The conditional write behind every versioned item (leads, notes, note links).
    pub(crate) async fn put_versioned(
        &self,
        doc: Map<String, Value>,
        record: &RemoteRecord,
    ) -> Result<PutOutcome, StoreError> {
        let key = doc
            .get(PK)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let item = serde_dynamo::to_item(&doc).map_err(|source| StoreError::Mapping {
            key: key.clone(),
            source,
        })?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // A lead with a local edit pending is never overwritten: the remote version
            // is kept beside it for the merge instead (see `defer_incoming`).
            .condition_expression(
                "attribute_not_exists(#pk) OR (#ru < :ru AND #h <> :h AND attribute_not_exists(#pending))",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
            .expression_attribute_names("#h", CONTENT_HASH)
            .expression_attribute_names("#pending", PENDING)
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()))
            .expression_attribute_values(":h", AttributeValue::S(record.content_hash()))
            // ALL_OLD tells inserts from updates atomically, which keeps the lead
            // counter exact even when the webhook and the sync race.
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let result = retry_throttled(|| request.clone().send()).await;
        match result {
            Ok(out) => Ok(match out.attributes {
                Some(old) if !old.is_empty() => PutOutcome::Updated,
                _ => PutOutcome::Inserted,
            }),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(e) => {
                    if e.item
                        .as_ref()
                        .is_some_and(|item| item.contains_key(PENDING))
                    {
                        return self.defer_incoming(record).await;
                    }
                    let stored: Option<StoredVersion> =
                        e.item.and_then(|item| serde_dynamo::from_item(item).ok());
                    Ok(match stored {
                        Some(v) if v.remote_updated_at > record.updated_at() => PutOutcome::Stale,
                        Some(v)
                            if v.remote_updated_at == record.updated_at()
                                && v.content_hash != record.content_hash() =>
                        {
                            PutOutcome::Stale
                        }
                        Some(v) if v.remote_updated_at < record.updated_at() => {
                            self.advance_version(record).await?;
                            PutOutcome::Unchanged
                        }
                        _ => PutOutcome::Unchanged,
                    })
                }
                other => Err(StoreError::dynamo("PutItem", other)),
            },
        }
    }

    /// A newer version with the same content (Twenty's no-op PATCH): only the stored
    /// version moves, so an older version with different content arriving later is
    /// still recognised as older.
    async fn advance_version(&self, record: &RemoteRecord) -> Result<(), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lead_key(record.id())))
            .update_expression("SET #ru = :ru")
            .condition_expression("#ru < :ru AND #h = :h AND attribute_not_exists(#pending)")
            .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
            .expression_attribute_names("#h", CONTENT_HASH)
            .expression_attribute_names("#pending", PENDING)
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()))
            .expression_attribute_values(":h", AttributeValue::S(record.content_hash()));
        // `None`: someone wrote a newer version meanwhile; nothing to advance.
        send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// A hard delete in Twenty: the lead item becomes a tombstone (no fields, expiring
    /// after [`TOMBSTONE_TTL`]) unless the table already holds a newer version. The
    /// tombstone keeps the version, so a late `updated` delivery cannot bring it back.
    pub async fn destroy_lead(&self, record: &RemoteRecord) -> Result<PutOutcome, StoreError> {
        let now = Timestamp::now();
        let expires = now.saturating_add(TOMBSTONE_TTL).unix_millis() / 1000;
        let key = lead_key(record.id());
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(HashMap::from([
                (PK.to_string(), key[PK].clone()),
                (SK.to_string(), key[SK].clone()),
                (
                    REMOTE_UPDATED_AT.to_string(),
                    AttributeValue::S(record.updated_at().to_string()),
                ),
                (
                    CONTENT_HASH.to_string(),
                    AttributeValue::S("destroyed".into()),
                ),
                (DESTROYED_AT.to_string(), AttributeValue::S(now.to_string())),
                (
                    TTL_ATTRIBUTE.to_string(),
                    AttributeValue::N(expires.to_string()),
                ),
            ])))
            .condition_expression(
                "attribute_not_exists(#pk) OR (#ru <= :ru AND attribute_not_exists(#d))",
            )
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
            .expression_attribute_names("#d", DESTROYED_AT)
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                if out.attributes.is_some_and(|old| !old.is_empty()) {
                    self.adjust_lead_count(-1).await?;
                    Ok(PutOutcome::Updated)
                } else {
                    Ok(PutOutcome::Inserted)
                }
            }
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(_) => Ok(PutOutcome::Stale),
                other => Err(StoreError::dynamo("PutItem", other)),
            },
        }
    }

    /// Applies a page of remote records: one projected read for the page, then the
    /// writes for the records that are news — new leads in transactions of up to 100
    /// conditional puts, changed ones as parallel conditional puts — then one counter
    /// update. Records equal to what is stored cost no write at all — except, in a full
    /// pass (`generation` set), a small update that marks them as still in Twenty.
    pub async fn apply_records(
        &self,
        records: &[RemoteRecord],
        origin: WriteOrigin,
        generation: Option<u64>,
    ) -> Result<ApplyCounts, StoreError> {
        let ids: Vec<&LeadId> = records.iter().map(|r| r.id()).collect();
        let stored = self.versions(&ids).await?;
        let mut counts = ApplyCounts::default();
        let mut new = Vec::new();
        let mut changed = Vec::new();
        let mut to_tag = Vec::new();
        let mut to_advance = Vec::new();
        for record in records {
            let seen = match stored.get(record.id()) {
                None => {
                    new.push(record);
                    continue;
                }
                Some(v) if v.remote_updated_at > record.updated_at() => PutOutcome::Stale,
                Some(v) if v.content_hash == record.content_hash() => {
                    if v.remote_updated_at < record.updated_at() {
                        to_advance.push(record);
                    }
                    PutOutcome::Unchanged
                }
                Some(v) if v.remote_updated_at == record.updated_at() => PutOutcome::Stale,
                Some(_) => {
                    changed.push(record);
                    continue;
                }
            };
            counts.add(seen);
            if let Some(g) = generation
                && stored.get(record.id()).and_then(|v| v.generation) != Some(g)
            {
                to_tag.push(record.id());
            }
        }
        let now = Timestamp::now();
        let document = |r: &RemoteRecord| {
            let mut doc = lead_document(r, origin, now);
            if let Some(g) = generation {
                doc.insert(GENERATION.into(), Value::from(g));
            }
            doc
        };
        let inserted: Vec<Vec<PutOutcome>> = stream::iter(new.chunks(TRANSACTION_MAX))
            .map(|chunk| self.insert_all(chunk, &document))
            .buffer_unordered(BULK_CONCURRENCY)
            .try_collect()
            .await?;
        stream::iter(to_advance)
            .map(|r| self.advance_version(r))
            .buffer_unordered(self.write_concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        let updated: Vec<PutOutcome> = stream::iter(changed)
            .map(|r| self.put_versioned(document(r), r))
            .buffer_unordered(self.write_concurrency)
            .try_collect()
            .await?;
        for o in inserted.into_iter().flatten().chain(updated) {
            counts.add(o);
        }
        if let Some(g) = generation {
            stream::iter(to_tag.chunks(TRANSACTION_MAX))
                .map(|chunk| self.tag_all(chunk, g))
                .buffer_unordered(BULK_CONCURRENCY)
                .try_collect::<Vec<()>>()
                .await?;
        }
        if counts.inserted > 0 {
            self.adjust_lead_count(counts.inserted as i64).await?;
        }
        Ok(counts)
    }

    pub async fn get_lead(&self, id: &LeadId) -> Result<Option<StoredLead>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lead_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        match out.item {
            Some(item) if !item.contains_key(DESTROYED_AT) => lead_from_item(item).map(Some),
            _ => Ok(None),
        }
    }

    /// Every lead item (a full scan: for tests, tools and reconciliation, not hot paths).
    pub async fn scan_leads(&self) -> Result<Vec<StoredLead>, StoreError> {
        let pages: Vec<_> = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :lead AND attribute_not_exists(#d)")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#d", DESTROYED_AT)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_SK.into()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| StoreError::dynamo("Scan", e))?;
        pages.into_iter().map(lead_from_item).collect()
    }
}

pub(crate) fn lead_key(id: &LeadId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(lead_pk(id))),
        (SK.to_string(), AttributeValue::S(LEAD_SK.into())),
    ])
}

fn lead_from_item(item: HashMap<String, AttributeValue>) -> Result<StoredLead, StoreError> {
    let key = item
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let doc: Map<String, Value> =
        serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
            key: key.clone(),
            source,
        })?;
    stored_lead_from_document(doc).map_err(|reason| StoreError::Corrupt { key, reason })
}
