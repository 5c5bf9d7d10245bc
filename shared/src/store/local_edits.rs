//! Edits made in our own table (by the leads API) that wait to be pushed to Twenty.
//!
//! A local edit marks the lead pending, bumps its local version (the API's ETag), and
//! keeps a base snapshot — Twenty's fields as both sides last agreed — so the push can
//! tell which side changed which field. While a lead is pending, remote versions are
//! not written over it but kept beside it (`_incoming`) for the merge.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keys::{
    BY_KIND_INDEX, BY_PENDING_INDEX, CHANGED_AT, KIND, LEAD_KIND, LEAD_SK, PENDING_QUEUE,
    PENDING_SINCE, PK, SK, lead_pk,
};
use super::lead_item::{
    CONTENT_HASH, DESTROYED_AT, PENDING, REMOTE_UPDATED_AT, lead_document,
    stored_lead_from_document,
};
use super::lead_store::lead_key;
use super::schema::TTL_ATTRIBUTE;
use super::throttle::{retry_throttled, send_if};
use super::{DynamoLeadStore, PendingKind, PutOutcome, StoreError, StoredLead, WriteOrigin};
use crate::domain::{LeadId, RemoteRecord, Timestamp};

/// The `_remoteUpdatedAt` of a lead Twenty has never seen: older than any real version.
const NEVER: &str = "1970-01-01T00:00:00.000Z";
const CONFLICT_KIND: &str = "CONFLICT";
const CONFLICT_TTL_DAYS: i64 = 90;

#[derive(Debug, thiserror::Error)]
pub enum LocalEditError {
    #[error("no such lead")]
    NotFound,
    #[error("the lead is at version {current}, not the version given")]
    VersionMismatch { current: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A field both sides changed since they last agreed, and how it was settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub lead_id: String,
    pub field: String,
    pub local_value: Value,
    pub remote_value: Value,
    /// `local` or `remote`.
    pub chosen: String,
    pub policy: String,
    pub at: Timestamp,
}

impl DynamoLeadStore {
    /// A new lead made here. Its id is chosen now and is the id it gets in Twenty, so
    /// a create retried after a timeout can never make a second one.
    pub async fn local_create(
        &self,
        mut fields: Map<String, Value>,
    ) -> Result<StoredLead, LocalEditError> {
        let id =
            LeadId::parse(&uuid::Uuid::new_v4().to_string()).map_err(LocalEditError::Invalid)?;
        fields.insert("id".into(), Value::String(id.to_string()));
        let now = Timestamp::now();
        let mut doc = fields;
        doc.insert(PK.into(), Value::String(lead_pk(&id)));
        doc.insert(SK.into(), Value::String(LEAD_SK.into()));
        doc.insert(KIND.into(), Value::String(LEAD_KIND.into()));
        doc.insert(REMOTE_UPDATED_AT.into(), Value::String(NEVER.into()));
        doc.insert(CONTENT_HASH.into(), Value::String("local".into()));
        mark_pending(&mut doc, PendingKind::Create, 1, now);
        if !self.put_doc(&doc, Guard::Absent).await? {
            return Err(LocalEditError::Invalid("a lead with this id exists".into()));
        }
        self.adjust_lead_count(1).await?;
        stored(doc)
    }

    /// Applies a partial edit (composite fields merge by sub-field, as in Twenty).
    /// `if_match` guards against lost updates: the edit lands only on that version.
    pub async fn local_update(
        &self,
        id: &LeadId,
        patch: &Map<String, Value>,
        if_match: Option<&str>,
    ) -> Result<StoredLead, LocalEditError> {
        for _ in 0..3 {
            let Some(mut doc) = self.live_doc(id).await? else {
                return Err(LocalEditError::NotFound);
            };
            let lead = stored(doc.clone())?;
            if lead.local.pending == Some(PendingKind::Delete) {
                return Err(LocalEditError::NotFound);
            }
            let version = lead.local.version;
            if if_match.is_some_and(|tag| tag != lead.etag()) {
                return Err(LocalEditError::VersionMismatch {
                    current: lead.etag(),
                });
            }
            let merged = apply_patch(&lead.fields, patch);
            if merged == lead.fields {
                return Ok(lead);
            }
            let kind = match lead.local.pending {
                Some(PendingKind::Create) => PendingKind::Create,
                _ => PendingKind::Update,
            };
            if lead.local.base.is_none() && kind == PendingKind::Update {
                doc.insert("_base".into(), Value::Object(lead.fields.clone()));
            }
            for (k, v) in merged {
                doc.insert(k, v);
            }
            mark_pending(&mut doc, kind, version + 1, Timestamp::now());
            if self.put_doc(&doc, Guard::Seen(&lead)).await? {
                return stored(doc);
            }
            // Someone wrote the lead between our read and our write (another edit, or a
            // newer version from Twenty): with If-Match that is the caller's conflict,
            // without it, read again and reapply the patch.
            if if_match.is_some() {
                let current = self
                    .load_lead(id)
                    .await?
                    .map(|l| l.etag())
                    .unwrap_or_default();
                return Err(LocalEditError::VersionMismatch { current });
            }
        }
        Err(LocalEditError::Invalid(
            "the lead is being edited concurrently; try again".into(),
        ))
    }

    /// Deletes a lead locally. One Twenty never saw is simply removed; otherwise the
    /// delete waits to be pushed.
    pub async fn local_delete(
        &self,
        id: &LeadId,
        if_match: Option<&str>,
    ) -> Result<(), LocalEditError> {
        let Some(mut doc) = self.live_doc(id).await? else {
            return Err(LocalEditError::NotFound);
        };
        let lead = stored(doc.clone())?;
        let version = lead.local.version;
        if if_match.is_some_and(|tag| tag != lead.etag()) {
            return Err(LocalEditError::VersionMismatch {
                current: lead.etag(),
            });
        }
        if lead.local.pending == Some(PendingKind::Create) && lead.local.push_attempts == 0 {
            let request = self
                .client()
                .delete_item()
                .table_name(self.table())
                .set_key(Some(lead_key(id)))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "_localVersion")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()));
            return match retry_throttled(|| request.clone().send()).await {
                Ok(_) => {
                    self.adjust_lead_count(-1).await?;
                    Ok(())
                }
                Err(e) => match e.into_service_error() {
                    DeleteItemError::ConditionalCheckFailedException(_) => {
                        Err(LocalEditError::VersionMismatch {
                            current: String::new(),
                        })
                    }
                    other => Err(LocalEditError::Store(StoreError::dynamo(
                        "DeleteItem",
                        other,
                    ))),
                },
            };
        }
        mark_pending(&mut doc, PendingKind::Delete, version + 1, Timestamp::now());
        if self.put_doc(&doc, Guard::Seen(&lead)).await? {
            Ok(())
        } else {
            let current = self
                .load_lead(id)
                .await?
                .map(|l| l.etag())
                .unwrap_or_default();
            Err(LocalEditError::VersionMismatch { current })
        }
    }

    /// The lead is gone from Twenty and locally deleted: remove it (if still at `version`).
    pub async fn forget_lead(&self, id: &LeadId, version: u64) -> Result<(), StoreError> {
        let request = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(lead_key(id)))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", "_localVersion")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()));
        match send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?
        {
            Some(_) => self.adjust_lead_count(-1).await,
            None => Ok(()),
        }
    }

    /// Leads with a local edit waiting, oldest edit first.
    pub async fn pending_ids(&self, limit: usize) -> Result<Vec<LeadId>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_PENDING_INDEX)
            .key_condition_expression("#q = :lead")
            .expression_attribute_names("#q", PENDING_QUEUE)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_KIND.into()))
            .limit(limit as i32)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| item.get(PK).and_then(|v| v.as_s().ok()))
            .filter_map(|pk| {
                pk.strip_prefix("LEAD#")
                    .and_then(|id| LeadId::parse(id).ok())
            })
            .collect())
    }

    /// Reads a lead with its local bookkeeping (tombstones of hard deletes are absent).
    pub async fn load_lead(&self, id: &LeadId) -> Result<Option<StoredLead>, StoreError> {
        match self.live_doc(id).await? {
            Some(doc) => stored(doc).map(Some).map_err(|e| match e {
                LocalEditError::Store(s) => s,
                other => StoreError::Corrupt {
                    key: id.to_string(),
                    reason: other.to_string(),
                },
            }),
            None => Ok(None),
        }
    }

    /// Twenty accepted the push: the lead becomes exactly Twenty's record, no longer
    /// pending — if no new local edit came meanwhile (`false` then; see `rebase_pending`).
    pub async fn complete_push(
        &self,
        lead: &StoredLead,
        remote: &RemoteRecord,
    ) -> Result<bool, StoreError> {
        let mut doc = lead_document(remote, WriteOrigin::Sync, Timestamp::now());
        doc.insert("_localVersion".into(), Value::from(lead.local.version));
        self.put_doc(&doc, Guard::Seen(lead)).await
    }

    /// Twenty accepted a push but the lead was edited again meanwhile: Twenty's record
    /// becomes the new base, and the newer edit stays pending. A create that went
    /// through becomes an update; a delete made meanwhile stays a delete.
    pub async fn rebase_pending(
        &self,
        id: &LeadId,
        remote: &RemoteRecord,
    ) -> Result<(), StoreError> {
        let base: AttributeValue =
            serde_dynamo::to_attribute_value(remote.fields()).map_err(|source| {
                StoreError::Mapping {
                    key: id.to_string(),
                    source,
                }
            })?;
        let rebase = |set_update: bool| {
            let mut request = self
                .client()
                .update_item()
                .table_name(self.table())
                .set_key(Some(lead_key(id)))
                .expression_attribute_names("#base", "_base")
                .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
                .expression_attribute_names("#p", PENDING)
                .expression_attribute_names("#inc", "_incoming")
                .expression_attribute_names("#incAt", "_incomingUpdatedAt")
                .expression_attribute_values(":base", base.clone())
                .expression_attribute_values(
                    ":ru",
                    AttributeValue::S(remote.updated_at().to_string()),
                );
            request = if set_update {
                request
                    .update_expression(
                        "SET #base = :base, #ru = :ru, #p = :update REMOVE #inc, #incAt",
                    )
                    .condition_expression("#p = :create")
                    .expression_attribute_values(":update", AttributeValue::S("update".into()))
                    .expression_attribute_values(":create", AttributeValue::S("create".into()))
            } else {
                request
                    .update_expression("SET #base = :base, #ru = :ru REMOVE #inc, #incAt")
                    .condition_expression("attribute_exists(#p)")
            };
            request
        };
        for set_update in [true, false] {
            let request = rebase(set_update);
            let done = send_if(|| request.clone().send())
                .await
                .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
            if done.is_some() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Counts a push attempt before it is sent: a create whose answer is lost must not
    /// look like one Twenty never saw (a local delete would then drop it silently).
    pub async fn note_push_attempt(&self, id: &LeadId) -> Result<(), StoreError> {
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(lead_key(id)))
            .update_expression("ADD #n :one")
            .condition_expression("attribute_exists(#p)")
            .expression_attribute_names("#n", "_pushAttempts")
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        match send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?
        {
            Some(_) => Ok(()),
            None => Ok(()),
        }
    }

    /// A push that did not go through. `rejected` (Twenty refused it) parks the lead
    /// until it is edited again; otherwise the next run retries.
    pub async fn fail_push(
        &self,
        id: &LeadId,
        error: &str,
        rejected: bool,
    ) -> Result<(), StoreError> {
        let field = if rejected {
            "_pushRejected"
        } else {
            "_pushError"
        };
        // A refused edit leaves the byPending index (so parked leads never crowd out
        // the others); the next local edit puts it back.
        let expression = if rejected {
            "SET #f = :e ADD #n :one REMOVE #q"
        } else {
            "SET #f = :e ADD #n :one"
        };
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(lead_key(id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(#p)")
            .expression_attribute_names("#f", field)
            .expression_attribute_names("#n", "_pushAttempts")
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_values(":e", AttributeValue::S(error.chars().take(500).collect()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        if rejected {
            request = request.expression_attribute_names("#q", PENDING_QUEUE);
        }
        match send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?
        {
            Some(_) => Ok(()),
            None => Ok(()),
        }
    }

    /// A remote version that arrived while a local edit is pending: kept beside the
    /// lead for the merge, if newer than what is kept already.
    pub(crate) async fn defer_incoming(
        &self,
        record: &RemoteRecord,
    ) -> Result<PutOutcome, StoreError> {
        let fields = serde_dynamo::to_attribute_value(record.fields()).map_err(|source| {
            StoreError::Mapping {
                key: record.id().to_string(),
                source,
            }
        })?;
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(lead_key(record.id())))
            .update_expression("SET #inc = :inc, #incAt = :ru")
            .condition_expression("attribute_exists(#p) AND #ru < :ru AND (attribute_not_exists(#incAt) OR #incAt < :ru)")
            .expression_attribute_names("#inc", "_incoming")
            .expression_attribute_names("#incAt", "_incomingUpdatedAt")
            .expression_attribute_names("#p", PENDING)
            .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
            .expression_attribute_values(":inc", fields)
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()));
        match send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?
        {
            Some(_) => Ok(PutOutcome::Updated),
            None => Ok(PutOutcome::Stale),
        }
    }

    pub async fn record_conflict(&self, conflict: &Conflict) -> Result<(), StoreError> {
        let mut doc = match serde_json::to_value(conflict) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let at = conflict.at.to_string();
        doc.insert(
            PK.into(),
            Value::String(format!("CONFLICT#{}", conflict.lead_id)),
        );
        doc.insert(SK.into(), Value::String(format!("{at}#{}", conflict.field)));
        doc.insert(KIND.into(), Value::String(CONFLICT_KIND.into()));
        doc.insert(CHANGED_AT.into(), Value::String(at));
        doc.insert(
            TTL_ATTRIBUTE.into(),
            Value::from(conflict.at.unix_millis() / 1000 + CONFLICT_TTL_DAYS * 86_400),
        );
        self.put_doc(&doc, Guard::Absent).await.map(|_| ())
    }

    /// Recorded conflicts, newest first.
    pub async fn conflicts(&self, limit: usize) -> Result<Vec<Conflict>, StoreError> {
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_KIND_INDEX)
            .key_condition_expression("#k = :c")
            .expression_attribute_names("#k", KIND)
            .expression_attribute_values(":c", AttributeValue::S(CONFLICT_KIND.into()))
            .scan_index_forward(false)
            .limit(limit as i32)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                    key: "CONFLICT".into(),
                    source,
                })
            })
            .collect()
    }

    /// Leads in the order they last changed (here or in Twenty), optionally only those
    /// changed since a time or with a `status`; paged with an opaque cursor.
    pub async fn list_leads(
        &self,
        changed_since: Option<Timestamp>,
        status: Option<&str>,
        include_deleted: bool,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<StoredLead>, Option<String>), StoreError> {
        let mut request = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_KIND_INDEX)
            .expression_attribute_names("#k", KIND)
            .expression_attribute_values(":lead", AttributeValue::S(LEAD_KIND.into()))
            .limit(limit.clamp(1, 500) as i32);
        request = match changed_since {
            Some(t) => request
                .key_condition_expression("#k = :lead AND #c >= :since")
                .expression_attribute_names("#c", CHANGED_AT)
                .expression_attribute_values(":since", AttributeValue::S(t.to_string())),
            None => request.key_condition_expression("#k = :lead"),
        };
        let mut filters = Vec::new();
        if let Some(s) = status {
            filters.push("#status = :status");
            request = request
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", AttributeValue::S(s.to_string()));
        }
        if !include_deleted {
            filters.push("(attribute_not_exists(#del) OR attribute_type(#del, :null)) AND (attribute_not_exists(#p) OR #p <> :delete)");
            request = request
                .expression_attribute_names("#del", "deletedAt")
                .expression_attribute_names("#p", PENDING)
                .expression_attribute_values(":null", AttributeValue::S("NULL".into()))
                .expression_attribute_values(":delete", AttributeValue::S("delete".into()));
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        if let Some(c) = cursor {
            request = request.set_exclusive_start_key(Some(decode_cursor(c)?));
        }
        let out = request
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        let leads = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let doc: Map<String, Value> =
                    serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                        key: "LEAD".into(),
                        source,
                    })?;
                stored_lead_from_document(doc).map_err(|reason| StoreError::Corrupt {
                    key: "LEAD".into(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = out.last_evaluated_key.map(|k| encode_cursor(&k));
        Ok((leads, next))
    }

    /// The whole item as a JSON object, unless it is absent or a hard delete's tombstone.
    async fn live_doc(&self, id: &LeadId) -> Result<Option<Map<String, Value>>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(lead_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        match out.item {
            Some(item) if !item.contains_key(DESTROYED_AT) => serde_dynamo::from_item(item)
                .map(Some)
                .map_err(|source| StoreError::Mapping {
                    key: lead_pk(id),
                    source,
                }),
            _ => Ok(None),
        }
    }

    /// Writes a whole item: only if absent, or only if it is still as it was read
    /// (same local version, same remote version — a webhook write in between would
    /// otherwise be overwritten with what was read before it).
    async fn put_doc(
        &self,
        doc: &Map<String, Value>,
        guard: Guard<'_>,
    ) -> Result<bool, StoreError> {
        let key = doc
            .get(PK)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let item =
            serde_dynamo::to_item(doc).map_err(|source| StoreError::Mapping { key, source })?;
        let mut request = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .expression_attribute_names("#pk", PK);
        request = match guard {
            Guard::Absent => request.condition_expression("attribute_not_exists(#pk)"),
            Guard::Seen(lead) => {
                let version = if lead.local.version == 0 {
                    "(attribute_not_exists(#v) OR #v = :v)"
                } else {
                    "#v = :v"
                };
                let remote = if lead.local.pending == Some(PendingKind::Create)
                    && lead.remote_updated_at.to_string() == NEVER
                {
                    "(attribute_not_exists(#ru) OR #ru = :ru)"
                } else {
                    "#ru = :ru"
                };
                request
                    .condition_expression(format!("attribute_exists(#pk) AND {version} AND {remote} AND attribute_not_exists(#d)"))
                    .expression_attribute_names("#v", "_localVersion")
                    .expression_attribute_names("#ru", REMOTE_UPDATED_AT)
                    .expression_attribute_names("#d", DESTROYED_AT)
                    .expression_attribute_values(":v", AttributeValue::N(lead.local.version.to_string()))
                    .expression_attribute_values(":ru", AttributeValue::S(lead.remote_updated_at.to_string()))
            }
        };
        match send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("PutItem", e))?
        {
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }
}

/// What a whole-item write requires of the item it replaces.
enum Guard<'a> {
    Absent,
    /// Unchanged since this read.
    Seen(&'a StoredLead),
}

/// Marks a document as holding a local edit waiting for Twenty.
fn mark_pending(doc: &mut Map<String, Value>, kind: PendingKind, version: u64, now: Timestamp) {
    let kind = match kind {
        PendingKind::Create => "create",
        PendingKind::Update => "update",
        PendingKind::Delete => "delete",
    };
    doc.insert(PENDING.into(), Value::String(kind.into()));
    doc.insert("_localVersion".into(), Value::from(version));
    doc.insert("_localEditedAt".into(), Value::String(now.to_string()));
    doc.insert(CHANGED_AT.into(), Value::String(now.to_string()));
    doc.insert(PENDING_QUEUE.into(), Value::String(LEAD_KIND.into()));
    doc.entry(PENDING_SINCE)
        .or_insert_with(|| Value::String(now.to_string()));
    doc.remove("_pushRejected");
    doc.remove("_pushError");
}

/// Twenty's PATCH semantics: given fields replace, composite (object) fields merge by
/// sub-field.
pub(crate) fn apply_patch(
    fields: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = fields.clone();
    for (k, v) in patch {
        match (merged.get_mut(k), v) {
            (Some(Value::Object(existing)), Value::Object(sub)) => {
                for (sk, sv) in sub {
                    existing.insert(sk.clone(), sv.clone());
                }
            }
            _ => {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    merged
}

fn stored(doc: Map<String, Value>) -> Result<StoredLead, LocalEditError> {
    let key = doc
        .get(PK)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    stored_lead_from_document(doc)
        .map_err(|reason| LocalEditError::Store(StoreError::Corrupt { key, reason }))
}

fn encode_cursor(key: &HashMap<String, AttributeValue>) -> String {
    let map: Map<String, Value> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.clone(), Value::String(s.clone()))))
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Value::Object(map).to_string())
}

fn decode_cursor(cursor: &str) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let bad = || StoreError::Request {
        operation: "Query",
        reason: "invalid cursor".into(),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let map: Map<String, Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) if [PK, SK, KIND, CHANGED_AT].contains(&k.as_str()) => {
                Ok((k, AttributeValue::S(s)))
            }
            _ => Err(bad()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_merges_composites_by_sub_field() {
        let fields = json!({"phones": {"primaryPhoneNumber": "8563057016", "primaryPhoneCountryCode": "US"}, "score": 1});
        let patch = json!({"phones": {"primaryPhoneNumber": "8553057016"}, "score": 2});
        let merged = apply_patch(fields.as_object().unwrap(), patch.as_object().unwrap());
        assert_eq!(
            Value::Object(merged),
            json!({"phones": {"primaryPhoneNumber": "8553057016", "primaryPhoneCountryCode": "US"}, "score": 2})
        );
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let key = HashMap::from([
            (PK.to_string(), AttributeValue::S("LEAD#x".into())),
            (SK.to_string(), AttributeValue::S("LEAD".into())),
        ]);
        assert_eq!(decode_cursor(&encode_cursor(&key)).unwrap(), key);
        assert!(decode_cursor("garbage!").is_err());
    }
}
