//! The items (a lead, a note or note link, a conflict): the one place the mirror's
//! attribute names are spelled.
//!
//! A lead item is Twenty's record exactly as sent (custom fields included) plus
//! bookkeeping attributes whose names start with `_` (Twenty field names never do).
//! It maps to and from DynamoDB through serde (JSON in between, then serde_dynamo),
//! so a misspelt bookkeeping name is a compile error here, not a silent data bug.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::keys::{LEAD_KIND, LEAD_SK, lead_pk};
use crate::domain::{LeadId, RemoteRecord, Timestamp};

/// Which path wrote an item last, kept for operators reading the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteOrigin {
    Sync,
    Webhook,
    /// The leads API (a local edit).
    Local,
}

/// What kind of local edit waits to be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PendingKind {
    Create,
    Update,
    Delete,
}

/// One lead's item. `rev` is bumped by every write, and every write is conditional on
/// the `rev` it read: the decisions that produce items are pure functions, and this one
/// number is what makes their read-decide-write atomic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadItem {
    pub pk: String,
    pub sk: String,
    /// `LEAD` on live leads (the `byKind` index lists them); absent on tombstones.
    #[serde(rename = "_kind", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// When the mirror last changed this lead (the `byKind` index's sort key).
    #[serde(
        rename = "_changedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub changed_at: Option<Timestamp>,
    #[serde(rename = "_rev", default)]
    pub rev: u64,
    /// Twenty's `updatedAt` of the version stored (or fenced, for a tombstone).
    #[serde(rename = "_remoteUpdatedAt")]
    pub remote_updated_at: Timestamp,
    /// Fingerprint of the fields, without the ones Twenty bumps on a no-op PATCH.
    #[serde(rename = "_contentHash")]
    pub content_hash: String,
    #[serde(rename = "_syncedAt", default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<Timestamp>,
    #[serde(rename = "_syncedBy", default, skip_serializing_if = "Option::is_none")]
    pub synced_by: Option<WriteOrigin>,
    /// The number of the last full pass that saw the lead in Twenty.
    #[serde(
        rename = "_generation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub generation: Option<u64>,
    /// Set on the tombstone a hard delete leaves, so a late event cannot resurrect it.
    #[serde(
        rename = "_destroyedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub destroyed_at: Option<Timestamp>,
    /// DynamoDB's TTL (epoch seconds): tombstones expire.
    #[serde(
        rename = "_expiresAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<i64>,
    #[serde(flatten)]
    pub local: LocalState,
    /// Exactly Twenty's fields (with local edits applied while one is pending).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The local-edit bookkeeping of a lead item (all absent for a lead only Twenty edits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalState {
    #[serde(rename = "_pending", default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingKind>,
    /// Bumped by every local edit; part of the leads API's ETag.
    #[serde(rename = "_localVersion", default)]
    pub version: u64,
    #[serde(
        rename = "_localEditedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub edited_at: Option<Timestamp>,
    /// Twenty's fields as both sides last agreed: what a merge compares against. For a
    /// create, what the first POST sent.
    #[serde(rename = "_base", default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Map<String, Value>>,
    /// A newer remote version that arrived while the local edit was pending.
    #[serde(rename = "_incoming", default, skip_serializing_if = "Option::is_none")]
    pub incoming: Option<Map<String, Value>>,
    #[serde(
        rename = "_incomingUpdatedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub incoming_updated_at: Option<Timestamp>,
    #[serde(rename = "_pushAttempts", default)]
    pub push_attempts: u64,
    #[serde(
        rename = "_pushError",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub push_error: Option<String>,
    /// Twenty refused the push (400): kept for a person, not retried until edited again.
    #[serde(
        rename = "_pushRejected",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rejected: Option<String>,
    /// `LEAD` while queued for the push: the sparse `byPending` index's key.
    #[serde(
        rename = "_pendingQueue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub queue: Option<String>,
    /// When the oldest unpushed edit was made (the `byPending` index's sort key).
    #[serde(
        rename = "_pendingSince",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pending_since: Option<Timestamp>,
}

/// A record of a read-only object (a note, a note link, a person...) as its item:
/// Twenty's record plus version bookkeeping. A live one has a `_kind` (so the indexes
/// list it); a tombstone has `_destroyedAt` and `_expiresAt` instead.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecordItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "_kind", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(rename = "_changedAt", skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<Timestamp>,
    /// The full pull that last saw it (the reconcile removes those it did not see).
    #[serde(rename = "_generation", skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    #[serde(rename = "_destroyedAt", skip_serializing_if = "Option::is_none")]
    pub destroyed_at: Option<Timestamp>,
    #[serde(rename = "_expiresAt", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(rename = "_remoteUpdatedAt")]
    pub remote_updated_at: Timestamp,
    #[serde(rename = "_contentHash")]
    pub content_hash: String,
    #[serde(rename = "_syncedAt")]
    pub synced_at: Timestamp,
    #[serde(rename = "_syncedBy")]
    pub synced_by: WriteOrigin,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A conflict as its item: the record plus keys, kind and expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConflictItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "_kind")]
    pub kind: String,
    #[serde(rename = "_changedAt")]
    pub changed_at: Timestamp,
    #[serde(rename = "_expiresAt")]
    pub expires_at: i64,
    #[serde(flatten)]
    pub conflict: super::Conflict,
}

/// The mark a removed lead leaves for readers of the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RemovalItem {
    pub pk: String,
    pub sk: String,
    #[serde(rename = "_kind")]
    pub kind: String,
    #[serde(rename = "_changedAt")]
    pub changed_at: Timestamp,
    #[serde(rename = "_expiresAt")]
    pub expires_at: i64,
    #[serde(rename = "leadId")]
    pub lead_id: String,
}

/// Attribute names the indexes and conditions use, spelled once.
pub(crate) mod attr {
    pub const REV: &str = "_rev";
    pub const KIND: &str = "_kind";
    pub const CHANGED_AT: &str = "_changedAt";
    pub const GENERATION: &str = "_generation";
    pub const SYNCED_AT: &str = "_syncedAt";
    pub const PENDING: &str = "_pending";
    pub const PENDING_QUEUE: &str = "_pendingQueue";
    pub const PENDING_SINCE: &str = "_pendingSince";
    pub const REMOTE_UPDATED_AT: &str = "_remoteUpdatedAt";
    pub const CONTENT_HASH: &str = "_contentHash";
    pub const DESTROYED_AT: &str = "_destroyedAt";
    pub const EXPIRES_AT: &str = "_expiresAt";
}

impl LeadItem {
    pub const LEAD_SK: &'static str = LEAD_SK;

    /// The partition key of a lead's item.
    pub fn pk_of(id: &LeadId) -> String {
        lead_pk(id)
    }

    /// A lead as Twenty sent it, not yet in the table (`rev` 1).
    pub fn from_remote(record: &RemoteRecord, origin: WriteOrigin, now: Timestamp) -> Self {
        Self {
            pk: lead_pk(record.id()),
            sk: LEAD_SK.into(),
            kind: Some(LEAD_KIND.into()),
            changed_at: Some(now),
            rev: 1,
            remote_updated_at: record.updated_at(),
            content_hash: record.content_hash(),
            synced_at: Some(now),
            synced_by: Some(origin),
            generation: None,
            destroyed_at: None,
            expires_at: None,
            local: LocalState::default(),
            fields: record.fields().clone(),
        }
    }

    pub fn id(&self) -> Result<LeadId, String> {
        self.pk
            .strip_prefix("LEAD#")
            .ok_or_else(|| format!("pk '{}' is not LEAD#<id>", self.pk))
            .and_then(LeadId::parse)
    }

    /// A live lead (not the tombstone of a hard delete).
    pub fn is_live(&self) -> bool {
        self.destroyed_at.is_none()
    }

    pub fn is_pending(&self) -> bool {
        self.local.pending.is_some()
    }

    /// What the hard-delete sweep decides on, as its index query projects it.
    pub fn sweep_entry(&self, id: &LeadId) -> super::SweepEntry {
        super::SweepEntry {
            id: id.clone(),
            generation: self.generation,
            synced_at: self.synced_at,
            pending: self.is_pending(),
        }
    }

    /// The leads API's ETag: the local version and the remote version together, so a
    /// change from either side invalidates what a client read.
    pub fn etag(&self) -> String {
        format!(
            "{}-{}",
            self.local.version,
            self.remote_updated_at.unix_millis()
        )
    }

    /// Parses a JSON document (as DynamoDB's item reads back) into an item; an
    /// unknown `_` attribute is refused rather than mistaken for a Twenty field.
    pub fn from_document(doc: Map<String, Value>) -> Result<Self, String> {
        let item: Self = serde_json::from_value(Value::Object(doc)).map_err(|e| e.to_string())?;
        if let Some(k) = item.fields.keys().find(|k| k.starts_with('_')) {
            return Err(format!("unknown bookkeeping attribute {k}"));
        }
        Ok(item)
    }

    pub fn to_document(&self) -> Result<Map<String, Value>, String> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err("a lead item is not a JSON object".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A lead as the leads API and tools see it: Twenty's fields and the local state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLead {
    pub id: LeadId,
    pub remote_updated_at: Timestamp,
    pub content_hash: String,
    pub synced_by: Option<String>,
    /// When this process last wrote the item: lets tests and operators see what a run touched.
    pub synced_at: Option<Timestamp>,
    pub fields: Map<String, Value>,
    pub local: LocalState,
    etag: String,
}

impl StoredLead {
    pub fn etag(&self) -> String {
        self.etag.clone()
    }
}

impl TryFrom<LeadItem> for StoredLead {
    type Error = String;

    fn try_from(item: LeadItem) -> Result<Self, String> {
        Ok(Self {
            id: item.id()?,
            etag: item.etag(),
            remote_updated_at: item.remote_updated_at,
            content_hash: item.content_hash,
            synced_by: item.synced_by.map(|o| {
                match o {
                    WriteOrigin::Sync => "sync",
                    WriteOrigin::Webhook => "webhook",
                    WriteOrigin::Local => "local",
                }
                .to_string()
            }),
            synced_at: item.synced_at,
            fields: item.fields,
            local: item.local,
        })
    }
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
    fn an_item_round_trips_through_dynamodb_unchanged() {
        let record = fixture();
        let mut item = LeadItem::from_remote(&record, WriteOrigin::Sync, Timestamp::now());
        item.local.pending = Some(PendingKind::Update);
        item.local.version = 3;
        item.local.base = Some(record.fields().clone());
        item.generation = Some(7);
        let doc = item.to_document().unwrap();
        let dynamo: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&doc).unwrap();
        assert_eq!(
            dynamo
                .get("pk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str),
            Some("LEAD#73affd6e-2319-4ad1-82d8-f8eb9312a232")
        );
        assert!(dynamo.contains_key(attr::REV) && dynamo.contains_key(attr::PENDING));
        let back: Map<String, Value> = serde_dynamo::from_item(dynamo).unwrap();
        let back = LeadItem::from_document(back).unwrap();
        assert_eq!(back, item);
        assert_eq!(&back.fields, record.fields());
    }

    #[test]
    fn an_unknown_bookkeeping_attribute_is_refused() {
        let item = LeadItem::from_remote(&fixture(), WriteOrigin::Sync, Timestamp::now());
        let mut doc = item.to_document().unwrap();
        doc.insert("_localVersoin".into(), json!(2));
        assert!(
            LeadItem::from_document(doc)
                .unwrap_err()
                .contains("_localVersoin")
        );
    }
}
