//! Notes and their links to leads.
//!
//! Twenty sends a note and its link to a lead as two events (`note.created`, then
//! `noteTarget.created`) in no guaranteed order, so they are kept as two items that
//! either can arrive first: the note under `NOTE#<noteId>`/`NOTE`, and the link under
//! the lead's partition, `LEAD#<leadId>`/`NOTE#<noteId>`, where a query for the lead
//! finds it.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value};

use super::item::{WriteOrigin, attr};
use super::keys::{BY_SWEEP_INDEX, PK, SK, lead_pk};
use super::lead_table::Key;
use super::record_reads::as_sent;
use super::records::{RecordOutcome, RecordPlace};
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError};
use crate::domain::{LeadId, RemoteRecord};

/// A note link's sort key prefix, under its lead's partition.
const LINK_PREFIX: &str = "NOTE#";
/// The kind of note links (`noteTarget` records).
pub const NOTE_LINK_KIND: &str = "NOTETARGET";
/// The kind of notes.
pub const NOTE_KIND: &str = "NOTE";

/// Where a note's link to a lead lives: under the lead, where a query for it finds it.
pub fn note_link_place(lead: &LeadId, link: &RemoteRecord) -> Result<RecordPlace, StoreError> {
    match link.fields().get("noteId") {
        Some(Value::String(note_id)) => Ok(RecordPlace {
            pk: lead_pk(lead),
            sk: format!("{LINK_PREFIX}{note_id}"),
            kind: NOTE_LINK_KIND.into(),
            tombstone: false,
        }),
        _ => Err(StoreError::Corrupt {
            key: link.id().to_string(),
            reason: "noteTarget without noteId".into(),
        }),
    }
}

impl DynamoLeadStore {
    /// Stores the link of a note to a lead (a `noteTarget` record) if newer.
    pub async fn put_note_link(
        &self,
        lead: &LeadId,
        link: &RemoteRecord,
        origin: WriteOrigin,
        seen_by: Option<u64>,
    ) -> Result<RecordOutcome, StoreError> {
        let place = note_link_place(lead, link)?;
        let outcome = self.put_versioned(&place, link, origin, seen_by).await?;
        // A late delivery for a lead destroyed meanwhile: its tombstone's transaction
        // removed the links it found; this one came after, so it goes too.
        if outcome == RecordOutcome::Applied
            && self
                .read_lead_item(lead)
                .await?
                .is_some_and(|item| !item.is_live())
        {
            self.destroy_versioned(&place, link, origin).await?;
            return Ok(RecordOutcome::Stale);
        }
        Ok(outcome)
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
        all_keys(self.links_of(lead).projection_expression("#pk, #sk")).await
    }

    /// The keys of every link to note `note_id`, under whichever leads: read from the
    /// `bySweep` index (keys only, ~100 B a link) and filtered, so it costs a read of
    /// every link — for a destroyed note's delivery, which is rare, not for every write.
    async fn links_to_note(&self, note_id: &str) -> Result<Vec<Key>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(BY_SWEEP_INDEX)
            .key_condition_expression("#k = :kind")
            .filter_expression("#sk = :sk")
            .projection_expression("#pk, #sk")
            .expression_attribute_names("#k", attr::KIND)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":kind", AttributeValue::S(NOTE_LINK_KIND.into()))
            .expression_attribute_values(
                ":sk",
                AttributeValue::S(format!("{LINK_PREFIX}{note_id}")),
            );
        all_keys(query).await
    }

    /// Removes every link to a destroyed note, whichever leads they are under.
    pub async fn unlink_note(&self, note_id: &str) -> Result<(), StoreError> {
        let links = self.links_to_note(note_id).await?;
        self.remove_links(links).await
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
                .key(SK, AttributeValue::S(NOTE_KIND.into()))
                .send()
                .await
                .map_err(|e| StoreError::dynamo("GetItem", e))?;
            // A destroyed note's tombstone is no note.
            if let Some(item) = out.item.filter(|i| !i.contains_key(attr::DESTROYED_AT)) {
                notes.push(as_sent(note_key, item)?);
            }
        }
        Ok(notes)
    }
}

/// The keys of every item a query finds, all its pages.
async fn all_keys(query: QueryFluentBuilder) -> Result<Vec<Key>, StoreError> {
    let mut keys = Vec::new();
    let mut start: Option<Key> = None;
    loop {
        let request = query.clone().set_exclusive_start_key(start.take());
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
