//! Records of the read-only objects (notes, note links, people, companies, custom
//! objects): Twenty's version stored as sent, versioned by `updatedAt`.
//!
//! Every write is conditional on the version, so webhook deliveries and pulls may race
//! and arrive in any order. A destroyed record leaves a tombstone that fences out any
//! older version arriving late (a note link, which is a relation rather than a record a
//! reader lists, is deleted instead). A full pull tags what it sees with its generation;
//! the reconcile's sweep then removes what it did not see and nobody wrote since.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde_json::{Map, Value};

use super::item::{RecordItem, WriteOrigin, attr};
use super::keys::{BY_SWEEP_INDEX, PK, SK};
use super::lead_store::TOMBSTONE_TTL;
use super::record_conditions::{Condition, IF_NEWER, IF_NOT_NEWER, IF_UNSEEN};
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError, cursor};
use crate::domain::{RemoteRecord, Timestamp, unseen_by};

/// What a versioned write of a record did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The item changed (written or removed).
    Applied,
    /// The same content was stored already.
    Duplicate,
    /// A newer version is stored; nothing was written.
    Stale,
}

/// Where a record's item lives and how it goes when the record does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPlace {
    pub pk: String,
    pub sk: String,
    /// The object's kind (`NOTE`, `PERSON`), as `_kind` while the record lives.
    pub kind: String,
    /// A tombstone stays when it goes (`false`: the item is deleted).
    pub tombstone: bool,
}

impl RecordPlace {
    /// A record of its own: `PERSON#<id>` / `PERSON`.
    pub fn record(kind: &str, id: &str) -> Self {
        Self {
            pk: format!("{kind}#{id}"),
            sk: kind.to_string(),
            kind: kind.to_string(),
            tombstone: true,
        }
    }
}

/// Items one page of a sweep removed, and where the next page begins (`None`: done).
pub type SweptPage = (u64, Option<String>);

/// Items a sweep page reads at most (~100 B each through the `bySweep` index).
const SWEEP_PAGE: i32 = 1000;

fn document(
    place: &RecordPlace,
    fields: Map<String, Value>,
    version: Timestamp,
    origin: WriteOrigin,
    now: Timestamp,
) -> RecordItem {
    RecordItem {
        pk: place.pk.clone(),
        sk: place.sk.clone(),
        kind: Some(place.kind.clone()),
        changed_at: Some(now),
        generation: None,
        destroyed_at: None,
        expires_at: None,
        remote_updated_at: version,
        content_hash: crate::domain::content_hash(&fields),
        synced_at: now,
        synced_by: origin,
        fields,
    }
}

/// A tombstone: the id and `deletedAt` as its only fields (as a destroyed lead's), so
/// a reader filtering on `deletedAt` skips it; no `_kind`, so no index lists it.
fn tombstone(
    place: &RecordPlace,
    version: Timestamp,
    origin: WriteOrigin,
    now: Timestamp,
) -> RecordItem {
    let mut fields = Map::new();
    if let Some(id) = place.pk.strip_prefix(&format!("{}#", place.kind)) {
        fields.insert("id".into(), Value::String(id.to_string()));
    }
    fields.insert("deletedAt".into(), Value::String(now.to_string()));
    let mut doc = document(place, fields, version, origin, now);
    doc.kind = None;
    doc.destroyed_at = Some(now);
    doc.expires_at = Some(now.saturating_add(TOMBSTONE_TTL).unix_millis() / 1000);
    doc
}

impl DynamoLeadStore {
    /// Stores a record (created, updated, soft-deleted or restored) if newer. `seen_by`
    /// is the generation of the full pull storing it: a version already stored is then
    /// tagged with it, so the reconcile's sweep knows it is still in Twenty.
    pub async fn put_versioned(
        &self,
        place: &RecordPlace,
        record: &RemoteRecord,
        origin: WriteOrigin,
        seen_by: Option<u64>,
    ) -> Result<RecordOutcome, StoreError> {
        let mut doc = document(
            place,
            record.fields().clone(),
            record.updated_at(),
            origin,
            Timestamp::now(),
        );
        doc.generation = seen_by;
        let outcome = self.put_if_newer(doc, record).await?;
        if let (Some(generation), RecordOutcome::Duplicate | RecordOutcome::Stale) =
            (seen_by, outcome)
        {
            self.tag_seen(place, generation).await?;
        }
        Ok(outcome)
    }

    /// Removes a destroyed record (a tombstone, or nothing for a link) unless a newer
    /// version is stored.
    pub async fn destroy_versioned(
        &self,
        place: &RecordPlace,
        record: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<RecordOutcome, StoreError> {
        let version = AttributeValue::S(record.updated_at().to_string());
        let write = self.removal(place, record.updated_at(), origin)?;
        self.write_if(write, IF_NOT_NEWER, vec![(":ru", version)])
            .await
            .map(applied)
    }

    /// How a record at `place` goes: replaced by a tombstone fencing `version`, or (a
    /// note link) deleted.
    fn removal(
        &self,
        place: &RecordPlace,
        version: Timestamp,
        origin: WriteOrigin,
    ) -> Result<Write, StoreError> {
        Ok(match place.tombstone {
            true => {
                Write::Put(self.item_of(tombstone(place, version, origin, Timestamp::now()))?)
            }
            false => Write::Delete(place.pk.clone(), place.sk.clone()),
        })
    }

    /// Marks a stored, live record as seen by full pull `generation`.
    async fn tag_seen(&self, place: &RecordPlace, generation: u64) -> Result<(), StoreError> {
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(place.pk.clone()))
            .key(SK, AttributeValue::S(place.sk.clone()))
            // `_kind` too: items written before records had one join the indexes.
            .update_expression("SET #g = :g, #k = :k, #c = if_not_exists(#c, :now)")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#d)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#g", attr::GENERATION)
            .expression_attribute_names("#k", attr::KIND)
            .expression_attribute_names("#c", attr::CHANGED_AT)
            .expression_attribute_names("#d", attr::DESTROYED_AT)
            .expression_attribute_values(":g", AttributeValue::N(generation.to_string()))
            .expression_attribute_values(":k", AttributeValue::S(place.kind.clone()))
            .expression_attribute_values(":now", AttributeValue::S(Timestamp::now().to_string()));
        match retry_throttled(|| request.clone().send()).await {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                // A tombstone: the destroy came after the page was read.
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(StoreError::dynamo("UpdateItem", other)),
            },
        }
    }

    /// One page of the reconcile's sweep of `kind`: every live record full pull
    /// `generation` (begun at `began`) did not see, and nobody wrote since it began,
    /// goes. The same test is the write's condition, so a write racing the sweep wins.
    pub async fn sweep_records(
        &self,
        kind: &str,
        tombstones: bool,
        generation: u64,
        began: Timestamp,
        after: Option<String>,
    ) -> Result<SweptPage, StoreError> {
        let mut request = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_SWEEP_INDEX)
            .key_condition_expression("#k = :kind")
            .projection_expression("#pk, #sk, #g, #s")
            .expression_attribute_names("#k", attr::KIND)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_names("#g", attr::GENERATION)
            .expression_attribute_names("#s", attr::SYNCED_AT)
            .expression_attribute_values(":kind", AttributeValue::S(kind.to_string()))
            .limit(SWEEP_PAGE);
        if let Some(c) = after {
            let start = cursor::decode(&c).map_err(|_| StoreError::Corrupt {
                key: format!("{kind} sweep"),
                reason: "the sweep's cursor does not decode".into(),
            })?;
            request = request.set_exclusive_start_key(Some(start));
        }
        let out = retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        let mut removed = 0;
        let now = Timestamp::now();
        for item in out.items() {
            let seen = item
                .get(attr::GENERATION)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok());
            let synced = item
                .get(attr::SYNCED_AT)
                .and_then(|v| v.as_s().ok())
                .and_then(|s| Timestamp::parse(s).ok());
            let (Some(pk), Some(sk)) = (
                item.get(PK).and_then(|v| v.as_s().ok()),
                item.get(SK).and_then(|v| v.as_s().ok()),
            ) else {
                continue;
            };
            if !unseen_by(seen, synced, generation, began) {
                continue;
            }
            let place = RecordPlace {
                pk: pk.clone(),
                sk: sk.clone(),
                kind: kind.to_string(),
                tombstone: tombstones,
            };
            let values = vec![
                (":g", AttributeValue::N(generation.to_string())),
                (":began", AttributeValue::S(began.to_string())),
            ];
            // The tombstone fences every version older than now: all of them, as the
            // record was gone from Twenty before the pull reached it.
            let write = self.removal(&place, now, WriteOrigin::Sync)?;
            let outcome = applied(self.write_if(write, IF_UNSEEN, values).await?);
            if outcome == RecordOutcome::Applied {
                removed += 1;
            }
        }
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .map(|k| cursor::encode(&k));
        Ok((removed, next))
    }

    /// Writes a record if newer than what is stored and saying something new.
    async fn put_if_newer(
        &self,
        doc: RecordItem,
        record: &RemoteRecord,
    ) -> Result<RecordOutcome, StoreError> {
        let hash = record.content_hash();
        let write = Write::Put(self.item_of(doc)?);
        let values = vec![
            (":ru", AttributeValue::S(record.updated_at().to_string())),
            (":h", AttributeValue::S(hash.clone())),
        ];
        Ok(match self.write_if(write, IF_NEWER, values).await? {
            Ok(()) => RecordOutcome::Applied,
            Err(old) => {
                let same = old
                    .as_ref()
                    .and_then(|i| i.get(attr::CONTENT_HASH))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|h| *h == hash);
                if same {
                    RecordOutcome::Duplicate
                } else {
                    RecordOutcome::Stale
                }
            }
        })
    }

    fn item_of(&self, doc: RecordItem) -> Result<Item, StoreError> {
        let key = doc.pk.clone();
        serde_json::to_value(&doc)
            .map_err(|e| StoreError::Corrupt {
                key: key.clone(),
                reason: e.to_string(),
            })
            .and_then(|v| {
                serde_dynamo::to_item(v).map_err(|source| StoreError::Mapping { key, source })
            })
    }

    /// One conditional put or delete. `Ok(Err(old))`: the condition failed (with the
    /// stored item, for a put).
    async fn write_if(
        &self,
        write: Write,
        condition: &Condition,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Result<(), Option<Item>>, StoreError> {
        let names = condition
            .names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let values = values.into_iter().map(|(k, v)| (k.to_string(), v));
        match write {
            Write::Put(item) => {
                let request = self
                    .client()
                    .put_item()
                    .table_name(self.table())
                    .set_item(Some(item))
                    .condition_expression(condition.expression)
                    .set_expression_attribute_names(Some(names.collect()))
                    .set_expression_attribute_values(Some(values.collect()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    );
                match retry_throttled(|| request.clone().send()).await {
                    Ok(_) => Ok(Ok(())),
                    Err(e) => match e.into_service_error() {
                        PutItemError::ConditionalCheckFailedException(e) => Ok(Err(e.item)),
                        other => Err(StoreError::dynamo("PutItem", other)),
                    },
                }
            }
            Write::Delete(pk, sk) => {
                let request = self
                    .client()
                    .delete_item()
                    .table_name(self.table())
                    .key(PK, AttributeValue::S(pk))
                    .key(SK, AttributeValue::S(sk))
                    .condition_expression(condition.expression)
                    .set_expression_attribute_names(Some(names.collect()))
                    .set_expression_attribute_values(Some(values.collect()));
                match retry_throttled(|| request.clone().send()).await {
                    Ok(_) => Ok(Ok(())),
                    Err(e) => match e.into_service_error() {
                        DeleteItemError::ConditionalCheckFailedException(_) => Ok(Err(None)),
                        other => Err(StoreError::dynamo("DeleteItem", other)),
                    },
                }
            }
        }
    }
}

type Item = HashMap<String, AttributeValue>;

enum Write {
    Put(Item),
    /// The item at (`pk`, `sk`).
    Delete(String, String),
}

fn applied(result: Result<(), Option<Item>>) -> RecordOutcome {
    match result {
        Ok(()) => RecordOutcome::Applied,
        Err(_) => RecordOutcome::Stale,
    }
}
