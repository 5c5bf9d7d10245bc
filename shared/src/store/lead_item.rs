use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keys::{CHANGED_AT, KIND, LEAD_KIND, LEAD_SK, PK, SK, lead_pk};
use crate::domain::{LeadId, RemoteRecord, Timestamp};

/// Bookkeeping attributes live beside Twenty's own fields; a leading underscore
/// keeps them apart (Twenty field names never start with one).
pub(crate) const REMOTE_UPDATED_AT: &str = "_remoteUpdatedAt";
pub(crate) const CONTENT_HASH: &str = "_contentHash";
/// Set on the tombstone a hard delete leaves, so a late event cannot resurrect the lead.
pub(crate) const DESTROYED_AT: &str = "_destroyedAt";
/// The number of the last full pass that saw the lead in Twenty.
pub(crate) const GENERATION: &str = "_generation";
pub(crate) const SYNCED_AT: &str = "_syncedAt";
/// Present while a local edit waits to be pushed to Twenty (`create`, `update`, `delete`).
pub(crate) const PENDING: &str = "_pending";
const SYNCED_BY: &str = "_syncedBy";

/// Which path wrote an item last, kept for operators reading the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteOrigin {
    Sync,
    Webhook,
}

impl WriteOrigin {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Webhook => "webhook",
        }
    }
}

/// The version of a stored lead, enough to decide whether an incoming record is news.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredVersion {
    #[serde(rename = "_remoteUpdatedAt")]
    pub remote_updated_at: Timestamp,
    #[serde(rename = "_contentHash")]
    pub content_hash: String,
    #[serde(rename = "_generation", default)]
    pub generation: Option<u64>,
}

/// A lead as it sits in the table: Twenty's fields untouched, plus bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLead {
    pub id: LeadId,
    pub remote_updated_at: Timestamp,
    pub content_hash: String,
    pub synced_by: Option<String>,
    /// When this process last wrote the item: lets tests and operators see what a run touched.
    pub synced_at: Option<Timestamp>,
    /// Exactly the fields Twenty sent, custom ones included (with local edits applied
    /// while `local.pending` is set).
    pub fields: Map<String, Value>,
    /// Local edits waiting for Twenty, if any.
    pub local: LocalState,
}

impl StoredLead {
    /// The leads API's ETag: the local version and the remote version together, so a
    /// change from either side invalidates what a client read.
    pub fn etag(&self) -> String {
        format!(
            "{}-{}",
            self.local.version,
            self.remote_updated_at.unix_millis()
        )
    }
}

/// What kind of local edit waits to be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PendingKind {
    Create,
    Update,
    Delete,
}

/// The local-edit bookkeeping of a lead item (all absent for a lead only Twenty edits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalState {
    #[serde(rename = "_pending", default)]
    pub pending: Option<PendingKind>,
    /// Bumped by every local edit; the leads API's ETag / If-Match.
    #[serde(rename = "_localVersion", default)]
    pub version: u64,
    #[serde(rename = "_localEditedAt", default)]
    pub edited_at: Option<Timestamp>,
    /// Twenty's fields as both sides last agreed: what a merge compares against.
    #[serde(rename = "_base", default)]
    pub base: Option<Map<String, Value>>,
    /// A newer remote version that arrived while the local edit was pending.
    #[serde(rename = "_incoming", default)]
    pub incoming: Option<Map<String, Value>>,
    #[serde(rename = "_pushAttempts", default)]
    pub push_attempts: u64,
    #[serde(rename = "_pushError", default)]
    pub push_error: Option<String>,
    /// Twenty refused the push (400/404): kept for a person to look at, not retried
    /// until the lead is edited again.
    #[serde(rename = "_pushRejected", default)]
    pub rejected: Option<String>,
}

/// Twenty's record plus keys and bookkeeping, as one flat JSON object that
/// serde_dynamo turns into an item.
pub(crate) fn lead_document(
    record: &RemoteRecord,
    origin: WriteOrigin,
    now: Timestamp,
) -> Map<String, Value> {
    let mut doc = record_document(lead_pk(record.id()), LEAD_SK.into(), record, origin, now);
    doc.insert(KIND.into(), Value::String(LEAD_KIND.into()));
    // When the mirror changed, not when Twenty did: a change the sync picks up late
    // must still sort after a reader's last `updatedSince` poll.
    doc.insert(CHANGED_AT.into(), Value::String(now.to_string()));
    doc
}

/// The same layout for any record kept under any key (leads, notes, note links).
pub(crate) fn record_document(
    pk: String,
    sk: String,
    record: &RemoteRecord,
    origin: WriteOrigin,
    now: Timestamp,
) -> Map<String, Value> {
    let mut doc = record.fields().clone();
    doc.insert(PK.into(), Value::String(pk));
    doc.insert(SK.into(), Value::String(sk));
    doc.insert(
        REMOTE_UPDATED_AT.into(),
        Value::String(record.updated_at().to_string()),
    );
    doc.insert(CONTENT_HASH.into(), Value::String(record.content_hash()));
    doc.insert(SYNCED_AT.into(), Value::String(now.to_string()));
    doc.insert(SYNCED_BY.into(), Value::String(origin.as_str().into()));
    doc
}

pub(crate) fn stored_lead_from_document(mut doc: Map<String, Value>) -> Result<StoredLead, String> {
    let take_string = |doc: &mut Map<String, Value>, name: &str| match doc.remove(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(format!("missing string attribute {name}")),
    };
    let pk = take_string(&mut doc, PK)?;
    doc.remove(SK);
    let id = pk
        .strip_prefix("LEAD#")
        .ok_or_else(|| format!("pk '{pk}' is not LEAD#<id>"))
        .and_then(LeadId::parse)?;
    let remote_updated_at =
        Timestamp::parse(&take_string(&mut doc, REMOTE_UPDATED_AT)?).map_err(|e| e.to_string())?;
    let content_hash = take_string(&mut doc, CONTENT_HASH)?;
    let synced_by = take_string(&mut doc, SYNCED_BY).ok();
    let synced_at = take_string(&mut doc, SYNCED_AT)
        .ok()
        .and_then(|s| Timestamp::parse(&s).ok());
    let bookkeeping: Map<String, Value> = doc
        .iter()
        .filter(|(k, _)| k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let local: LocalState = serde_json::from_value(Value::Object(bookkeeping))
        .map_err(|e| format!("bad local-edit bookkeeping: {e}"))?;
    doc.retain(|k, _| !k.starts_with('_'));
    Ok(StoredLead {
        id,
        remote_updated_at,
        content_hash,
        synced_by,
        synced_at,
        fields: doc,
        local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture() -> RemoteRecord {
        // Straight from lead-patch-phone.json (Twenty 2.21.0), plus a custom composite.
        let v = json!({"name":"Globex lead","id":"73affd6e-2319-4ad1-82d8-f8eb9312a232","createdAt":"2026-11-24T17:13:20.902Z","createdBy":{"source":"API","workspaceMemberId":null,"name":"My api key","context":{}},"deletedAt":null,"position":-1,"updatedAt":"2026-11-24T17:19:47.098Z","updatedBy":{"source":"API","workspaceMemberId":null,"name":"My api key","context":{}},"searchVector":"'globex':1 'lead':2","email":{"primaryEmail":"l1@example.com","additionalEmails":[]},"status":"QUALIFIED","score":55,"source":"probe","phones":{"primaryPhoneNumber":"8553057016","primaryPhoneCountryCode":"US","primaryPhoneCallingCode":"+1","additionalPhones":[]},"budget":{"amountMicros":12500000000i64,"currencyCode":"EUR"},"rating":4.5});
        RemoteRecord::from_fields(v.as_object().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_record_round_trips_through_a_dynamodb_item_unchanged() {
        let record = fixture();
        let doc = lead_document(&record, WriteOrigin::Sync, Timestamp::now());
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&doc).unwrap();
        assert_eq!(
            item.get("pk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str),
            Some("LEAD#73affd6e-2319-4ad1-82d8-f8eb9312a232")
        );
        let back: Map<String, Value> = serde_dynamo::from_item(item).unwrap();
        let stored = stored_lead_from_document(back).unwrap();
        assert_eq!(&stored.fields, record.fields());
        assert_eq!(stored.remote_updated_at, record.updated_at());
        assert_eq!(stored.content_hash, record.content_hash());
        assert_eq!(stored.synced_by.as_deref(), Some("sync"));
    }
}
