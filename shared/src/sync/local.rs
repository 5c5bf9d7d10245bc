//! Edits made in the mirror (by the leads API) that wait to be pushed to Twenty.
//!
//! A local edit marks the lead pending, bumps its local version (the API's ETag), and
//! keeps a base snapshot — Twenty's fields as both sides last agreed — so the push can
//! tell which side changed which field. The decisions are pure ([`created`],
//! [`updated`], [`deleted`]); the async functions read, decide and write-if-unchanged.

use serde_json::{Map, Value};

use super::rewrite::{Step, rewrite};
use crate::domain::{LeadId, Timestamp};
use crate::store::{
    LeadItem, LeadWrite, LocalState, Mirror, PendingKind, StoreError, StoredLead, WriteOrigin,
};

#[derive(Debug, thiserror::Error)]
pub enum LocalEditError {
    #[error("no such lead")]
    NotFound,
    #[error("the lead is at version {current}, not the version given")]
    VersionMismatch { current: String },
    #[error("a lead with this id exists")]
    Exists,
    #[error("the lead is being edited concurrently; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The `_remoteUpdatedAt` of a lead Twenty has never seen: older than any real version.
fn never() -> Timestamp {
    Timestamp::from_unix_millis(0).unwrap_or_else(Timestamp::now)
}

fn mark_pending(item: &mut LeadItem, kind: PendingKind, now: Timestamp) {
    let local = &mut item.local;
    local.pending = Some(kind);
    local.version += 1;
    local.edited_at = Some(now);
    local.queue = Some(crate::store::LeadItem::LEAD_SK.into());
    local.pending_since.get_or_insert(now);
    local.rejected = None;
    local.push_error = None;
    item.changed_at = Some(now);
    item.synced_by = Some(WriteOrigin::Local);
}

/// A new lead made here, under the id it will have in Twenty.
pub fn created(id: &LeadId, mut fields: Map<String, Value>, now: Timestamp) -> LeadItem {
    fields.insert("id".into(), Value::String(id.to_string()));
    let mut item = LeadItem {
        pk: LeadItem::pk_of(id),
        sk: LeadItem::LEAD_SK.into(),
        kind: Some(LeadItem::LEAD_SK.into()),
        changed_at: Some(now),
        rev: 1,
        remote_updated_at: never(),
        content_hash: "local".into(),
        synced_at: Some(now),
        synced_by: Some(WriteOrigin::Local),
        generation: None,
        destroyed_at: None,
        expires_at: None,
        local: LocalState::default(),
        fields,
    };
    mark_pending(&mut item, PendingKind::Create, now);
    item
}

fn check_version(cur: &LeadItem, if_match: Option<&str>) -> Result<(), LocalEditError> {
    match if_match {
        Some(tag) if tag != cur.etag() => Err(LocalEditError::VersionMismatch {
            current: cur.etag(),
        }),
        _ => Ok(()),
    }
}

fn live(cur: Option<&LeadItem>) -> Result<&LeadItem, LocalEditError> {
    match cur {
        Some(c) if c.is_live() && c.local.pending != Some(PendingKind::Delete) => Ok(c),
        _ => Err(LocalEditError::NotFound),
    }
}

/// A partial edit (composite fields merge by sub-field, as in Twenty); `None` when it
/// changes nothing.
pub fn updated(
    cur: Option<&LeadItem>,
    patch: &Map<String, Value>,
    if_match: Option<&str>,
    now: Timestamp,
) -> Result<Option<LeadItem>, LocalEditError> {
    let cur = live(cur)?;
    check_version(cur, if_match)?;
    let merged = apply_patch(&cur.fields, patch);
    if merged == cur.fields {
        return Ok(None);
    }
    let mut item = cur.clone();
    let kind = match cur.local.pending {
        Some(PendingKind::Create) => PendingKind::Create,
        _ => PendingKind::Update,
    };
    if kind == PendingKind::Update && item.local.base.is_none() {
        item.local.base = Some(cur.fields.clone());
    }
    item.fields = merged;
    mark_pending(&mut item, kind, now);
    item.rev += 1;
    Ok(Some(item))
}

/// What a local delete does.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    /// A create Twenty never saw: the lead simply goes.
    Remove,
    /// The delete waits to be pushed.
    Mark(Box<LeadItem>),
}

pub fn deleted(
    cur: Option<&LeadItem>,
    if_match: Option<&str>,
    now: Timestamp,
) -> Result<Deletion, LocalEditError> {
    let cur = live(cur)?;
    check_version(cur, if_match)?;
    // `push_attempts` is counted (with a new `rev`) before a create is sent, so a
    // delete that read zero attempts cannot race a POST: its write would fail.
    if cur.local.pending == Some(PendingKind::Create) && cur.local.push_attempts == 0 {
        return Ok(Deletion::Remove);
    }
    let mut item = cur.clone();
    if item.local.base.is_none() && item.local.pending.is_none() {
        item.local.base = Some(cur.fields.clone());
    }
    mark_pending(&mut item, PendingKind::Delete, now);
    item.rev += 1;
    Ok(Deletion::Mark(Box::new(item)))
}

/// Twenty's PATCH semantics: given fields replace, composite (object) fields merge by
/// sub-field.
pub fn apply_patch(fields: &Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
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

fn view(item: LeadItem) -> Result<StoredLead, LocalEditError> {
    let key = item.pk.clone();
    StoredLead::try_from(item)
        .map_err(|reason| LocalEditError::Store(StoreError::Corrupt { key, reason }))
}

pub async fn create(
    mirror: &impl Mirror,
    id: &LeadId,
    fields: Map<String, Value>,
) -> Result<StoredLead, LocalEditError> {
    let item = created(id, fields, Timestamp::now());
    let write = LeadWrite::replace(id, None, Some(item.clone()));
    match mirror.write_leads(&[write]).await?.first() {
        Some(true) => view(item),
        _ => Err(LocalEditError::Exists),
    }
}

/// A lead that kept changing under every attempt is the caller's to retry.
fn busy(e: LocalEditError) -> LocalEditError {
    match e {
        LocalEditError::Store(StoreError::Contended { .. }) => LocalEditError::Busy,
        other => other,
    }
}

/// `if_match` guards against lost updates: the edit lands only on that version.
/// Without it, a write that lost a race is simply decided again on the new state.
pub async fn update(
    mirror: &impl Mirror,
    id: &LeadId,
    patch: &Map<String, Value>,
    if_match: Option<&str>,
) -> Result<StoredLead, LocalEditError> {
    let item = rewrite(mirror, id, |cur| {
        Ok(match updated(cur, patch, if_match, Timestamp::now())? {
            // Nothing changes: the lead as it is (`updated` checked it is live).
            None => Step::Done(cur.cloned()),
            Some(item) => Step::write(Some(item.clone()), Some(item)),
        })
    })
    .await
    .map_err(busy)?;
    item.map_or(Err(LocalEditError::NotFound), view)
}

pub async fn delete(
    mirror: &impl Mirror,
    id: &LeadId,
    if_match: Option<&str>,
) -> Result<(), LocalEditError> {
    rewrite(mirror, id, |cur| {
        Ok(match deleted(cur, if_match, Timestamp::now())? {
            Deletion::Remove => Step::write(None, ()),
            Deletion::Mark(item) => Step::write(Some(*item), ()),
        })
    })
    .await
    .map_err(busy)
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
}
