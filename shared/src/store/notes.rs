//! Notes and their links to leads.
//!
//! Twenty sends a note and its link to a lead as two events (`note.created`, then
//! `noteTarget.created`) in no guaranteed order, so they are kept as two items that
//! either can arrive first: the note under `NOTE#<noteId>`/`NOTE`, and the link under
//! the lead's partition, `LEAD#<leadId>`/`NOTE#<noteId>`, where a query for the lead
//! finds it.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::keys::{PK, SK, lead_pk};
use super::lead_item::record_document;
use super::{DynamoLeadStore, PutOutcome, StoreError, WriteOrigin};
use crate::domain::{LeadId, RemoteRecord, Timestamp};

const NOTE_SK: &str = "NOTE";

fn note_pk(note_id: &str) -> String {
    format!("NOTE#{note_id}")
}

impl DynamoLeadStore {
    /// Stores a note (created, updated, soft-deleted or restored) if newer.
    pub async fn put_note(
        &self,
        note: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<PutOutcome, StoreError> {
        let doc = record_document(
            note_pk(note.id().as_str()),
            NOTE_SK.into(),
            note,
            origin,
            Timestamp::now(),
        );
        self.put_versioned(doc, note).await
    }

    /// Stores the link of a note to a lead (a `noteTarget` record) if newer.
    pub async fn put_note_link(
        &self,
        lead: &LeadId,
        link: &RemoteRecord,
        origin: WriteOrigin,
    ) -> Result<PutOutcome, StoreError> {
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
            format!("NOTE#{note_id}"),
            link,
            origin,
            Timestamp::now(),
        );
        self.put_versioned(doc, link).await
    }

    /// Removes a note, or a note's link to a lead, unless a newer version is stored.
    pub async fn remove_note(&self, note: &RemoteRecord) -> Result<PutOutcome, StoreError> {
        self.remove_versioned(note_pk(note.id().as_str()), NOTE_SK.into(), note)
            .await
    }

    pub async fn remove_note_link(
        &self,
        lead: &LeadId,
        link: &RemoteRecord,
    ) -> Result<PutOutcome, StoreError> {
        let note_id = link
            .fields()
            .get("noteId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.remove_versioned(lead_pk(lead), format!("NOTE#{note_id}"), link)
            .await
    }

    /// The notes linked to a lead, each as Twenty sent it.
    pub async fn notes_of(&self, lead: &LeadId) -> Result<Vec<Map<String, Value>>, StoreError> {
        let links = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :note)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(lead_pk(lead)))
            .expression_attribute_values(":note", AttributeValue::S("NOTE#".into()))
            .consistent_read(true)
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

    async fn remove_versioned(
        &self,
        pk: String,
        sk: String,
        record: &RemoteRecord,
    ) -> Result<PutOutcome, StoreError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk))
            .condition_expression("attribute_not_exists(#pk) OR #ru <= :ru")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ru", "_remoteUpdatedAt")
            .expression_attribute_values(":ru", AttributeValue::S(record.updated_at().to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Updated),
            Err(err) => match err.into_service_error() {
                aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_) => Ok(PutOutcome::Stale),
                other => Err(StoreError::dynamo("DeleteItem", other)),
            },
        }
    }
}
