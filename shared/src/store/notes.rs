//! Notes and their links to leads.
//!
//! Twenty sends a note and its link to a lead as two events (`note.created`, then
//! `noteTarget.created`) in no guaranteed order, so they are kept as two items that
//! either can arrive first: the note under `NOTE#<noteId>`/`NOTE`, and the link under
//! the lead's partition, `LEAD#<leadId>`/`NOTE#<noteId>`, where a query for the lead
//! finds it.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde_json::{Map, Value};

use super::item::{RecordItem, WriteOrigin, attr};
use super::keys::{PK, SK, lead_pk};
use super::lead_table::Key;
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError};
use crate::domain::{LeadId, RemoteRecord, Timestamp};

/// What a versioned write of a note or a note link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteOutcome {
    /// The item changed (written or removed).
    Applied,
    /// The same content was stored already.
    Duplicate,
    /// A newer version is stored; nothing was written.
    Stale,
}

fn record_document(
    pk: String,
    sk: String,
    record: &RemoteRecord,
    origin: WriteOrigin,
    now: Timestamp,
) -> RecordItem {
    RecordItem {
        pk,
        sk,
        remote_updated_at: record.updated_at(),
        content_hash: record.content_hash(),
        synced_at: now,
        synced_by: origin,
        fields: record.fields().clone(),
    }
}

const NOTE_SK: &str = "NOTE";
/// A note link's sort key prefix, under its lead's partition.
const LINK_PREFIX: &str = "NOTE#";

fn note_pk(note_id: &str) -> String {
    format!("NOTE#{note_id}")
}

impl DynamoLeadStore {
    /// Stores a note (created, updated, soft-deleted or restored) if newer.
    pub async fn put_note(
        &self,
        note: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<NoteOutcome, StoreError> {
        let doc = record_document(
            note_pk(note.id().as_str()),
            NOTE_SK.into(),
            note,
            origin,
            Timestamp::now(),
        );
        self.put_record(doc, note).await
    }

    /// Stores the link of a note to a lead (a `noteTarget` record) if newer.
    pub async fn put_note_link(
        &self,
        lead: &LeadId,
        link: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<NoteOutcome, StoreError> {
        let note_id = match link.fields().get("noteId") {
            Some(Value::String(id)) => id.clone(),
            _ => {
                return Err(StoreError::Corrupt {
                    key: link.id().to_string(),
                    reason: "noteTarget without noteId".into(),
                });
            }
        };
        let doc = record_document(
            lead_pk(lead),
            format!("{LINK_PREFIX}{note_id}"),
            link,
            origin,
            Timestamp::now(),
        );
        let outcome = self.put_record(doc, link).await?;
        // A late delivery for a lead destroyed meanwhile: its tombstone's transaction
        // removed the links it found; this one came after, so it goes too.
        if outcome == NoteOutcome::Applied
            && self
                .read_lead_item(lead)
                .await?
                .is_some_and(|item| !item.is_live())
        {
            self.remove_note_link(lead, link).await?;
            return Ok(NoteOutcome::Stale);
        }
        Ok(outcome)
    }

    /// Removes a note, or a note's link to a lead, unless a newer version is stored.
    pub async fn remove_note(&self, note: &RemoteRecord) -> Result<NoteOutcome, StoreError> {
        self.remove_versioned(note_pk(note.id().as_str()), NOTE_SK.into(), note)
            .await
    }

    pub async fn remove_note_link(
        &self,
        lead: &LeadId,
        link: &RemoteRecord,
    ) -> Result<NoteOutcome, StoreError> {
        let note_id = link
            .fields()
            .get("noteId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.remove_versioned(lead_pk(lead), format!("{LINK_PREFIX}{note_id}"), link)
            .await
    }

    /// A consistent query for a lead's note links.
    fn links_of(&self, lead: &LeadId) -> QueryFluentBuilder {
        self.client()
            .query()
            .table_name(self.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :note)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(lead_pk(lead)))
            .expression_attribute_values(":note", AttributeValue::S(LINK_PREFIX.into()))
            .consistent_read(true)
    }

    /// The keys of a lead's note links (for removing them with the lead).
    pub(crate) async fn note_link_keys(&self, lead: &LeadId) -> Result<Vec<Key>, StoreError> {
        let mut keys = Vec::new();
        let mut start: Option<Key> = None;
        loop {
            let request = self
                .links_of(lead)
                .projection_expression("#pk, #sk")
                .set_exclusive_start_key(start.take());
            let out = retry_throttled(|| request.clone().send())
                .await
                .map_err(|e| StoreError::dynamo("Query", e))?;
            keys.extend(out.items().iter().cloned());
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(keys),
            }
        }
    }

    /// Removes note links by key (those of a lead that is gone).
    pub(crate) async fn remove_links(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        for key in keys {
            let request = self
                .client()
                .delete_item()
                .table_name(self.table())
                .set_key(Some(key));
            retry_throttled(|| request.clone().send())
                .await
                .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        }
        Ok(())
    }

    /// The notes linked to a lead, each as Twenty sent it.
    pub async fn notes_of(&self, lead: &LeadId) -> Result<Vec<Map<String, Value>>, StoreError> {
        let links = self
            .links_of(lead)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        let mut notes = Vec::new();
        for link in links.items.unwrap_or_default() {
            let Some(note_key) = link.get(SK).and_then(|v| v.as_s().ok()) else {
                continue;
            };
            let out = self
                .client()
                .get_item()
                .table_name(self.table())
                .key(PK, AttributeValue::S(note_key.clone()))
                .key(SK, AttributeValue::S(NOTE_SK.into()))
                .send()
                .await
                .map_err(|e| StoreError::dynamo("GetItem", e))?;
            if let Some(item) = out.item {
                let mut doc: Map<String, Value> =
                    serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                        key: note_key.clone(),
                        source,
                    })?;
                doc.retain(|k, _| !k.starts_with('_') && k != PK && k != SK);
                notes.push(doc);
            }
        }
        Ok(notes)
    }

    /// Writes a note or link if newer than what is stored and saying something new.
    async fn put_record(
        &self,
        doc: RecordItem,
        record: &RemoteRecord,
    ) -> Result<NoteOutcome, StoreError> {
        let key = doc.pk.clone();
        let item = serde_json::to_value(&doc)
            .map_err(|e| StoreError::Corrupt {
                key: key.clone(),
                reason: e.to_string(),
            })
            .and_then(|v| {
                serde_dynamo::to_item(v).map_err(|source| StoreError::Mapping {
                    key: key.clone(),
                    source,
                })
            })?;
        let request = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR (#ru < :ru AND #h <> :h)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ru", attr::REMOTE_UPDATED_AT)
            .expression_attribute_names("#h", attr::CONTENT_HASH)
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()))
            .expression_attribute_values(":h", AttributeValue::S(record.content_hash()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match retry_throttled(|| request.clone().send()).await {
            Ok(_) => Ok(NoteOutcome::Applied),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(e) => {
                    let same = e
                        .item
                        .as_ref()
                        .and_then(|i| i.get(attr::CONTENT_HASH))
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|h| *h == record.content_hash());
                    Ok(if same {
                        NoteOutcome::Duplicate
                    } else {
                        NoteOutcome::Stale
                    })
                }
                other => Err(StoreError::dynamo("PutItem", other)),
            },
        }
    }

    async fn remove_versioned(
        &self,
        pk: String,
        sk: String,
        record: &RemoteRecord,
    ) -> Result<NoteOutcome, StoreError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .condition_expression("attribute_not_exists(#pk) OR #ru <= :ru")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ru", attr::REMOTE_UPDATED_AT)
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(NoteOutcome::Applied),
            Err(err) => match err.into_service_error() {
                aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_) => Ok(NoteOutcome::Stale),
                other => Err(StoreError::dynamo("DeleteItem", other)),
            },
        }
    }
}
