//! A person settles an open conflict (a field under the `manual` rule): keep Twenty's
//! value, take the local one, or give a third. The decision is a pure function; the
//! write is one conditional transaction, so a newer edit on either side meanwhile is
//! never overwritten — the conflict stays open and the person looks again.

use serde_json::{Map, Value, json};

use super::local;
use crate::domain::{LeadId, Timestamp};
use crate::store::{
    Conflict, ConflictStatus, DynamoLeadStore, LeadItem, LeadWrite, Resolution, StoreError,
    WHOLE_RECORD, parse_conflict_id,
};

/// What a person chose.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// Twenty's value, already in both places: nothing to push.
    Remote,
    /// The local value kept in the conflict: pushed by the next run.
    Local,
    /// A value of the person's own: pushed by the next run.
    Value(Value),
}

impl Choice {
    fn name(&self) -> &'static str {
        match self {
            Self::Remote => "remote",
            Self::Local => "local",
            Self::Value(_) => "value",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no such conflict")]
    NotFound,
    #[error("the conflict is already settled")]
    NotOpen,
    #[error(
        "the field changed since the conflict was recorded (it is now {current}); the conflict stays open: look again"
    )]
    Changed { current: Value },
    #[error("the lead is gone; the conflict stays open")]
    LeadGone,
    #[error("the conflict is being settled concurrently; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The settled conflict, and the lead's local edit when the choice changes the lead.
pub fn decide(
    conflict: &Conflict,
    lead: Option<&LeadItem>,
    choice: &Choice,
    by: &str,
    now: Timestamp,
) -> Result<(Conflict, Option<LeadItem>), ResolveError> {
    if conflict.status != ConflictStatus::Open || conflict.field == WHOLE_RECORD {
        return Err(ResolveError::NotOpen);
    }
    let value = match choice {
        Choice::Remote => conflict.remote_value.clone(),
        Choice::Local => conflict.local_value.clone(),
        Choice::Value(v) => v.clone(),
    };
    let lead = lead.filter(|l| l.is_live()).ok_or(ResolveError::LeadGone)?;
    // Twenty's value was put in both places when the conflict opened: anything else
    // now is a newer edit, here or in Twenty, that this choice did not see.
    let current = path_value(&lead.fields, &conflict.field);
    if current != conflict.remote_value {
        return Err(ResolveError::Changed { current });
    }
    let edit = match choice {
        Choice::Remote => None,
        _ => local::updated(
            Some(lead),
            &patch(&conflict.field, value.clone()),
            None,
            now,
        )
        .map_err(|_| ResolveError::LeadGone)?,
    };
    let settled = Conflict {
        status: ConflictStatus::Settled,
        chosen: if matches!(choice, Choice::Remote) {
            "remote".into()
        } else {
            "local".into()
        },
        resolution: Some(Resolution {
            choice: choice.name().into(),
            value,
            by: by.to_string(),
            at: now,
        }),
        ..conflict.clone()
    };
    Ok((settled, edit))
}

/// Settles conflict `id` (as `GET /conflicts` shows it) as `choice`, by `by`.
pub async fn resolve(
    store: &DynamoLeadStore,
    id: &str,
    choice: &Choice,
    by: &str,
) -> Result<Conflict, ResolveError> {
    let (lead_id, sk) = parse_conflict_id(id).ok_or(ResolveError::NotFound)?;
    let lead_id = LeadId::parse(&lead_id).map_err(|_| ResolveError::NotFound)?;
    for _ in 0..8 {
        let conflict = store
            .conflict(lead_id.as_str(), &sk)
            .await?
            .ok_or(ResolveError::NotFound)?;
        let lead = store.read_lead_item(&lead_id).await?;
        let (settled, edit) = decide(&conflict, lead.as_ref(), choice, by, Timestamp::now())?;
        let write = edit.map(|next| LeadWrite::replace(&lead_id, lead.as_ref(), Some(next)));
        if store.settle_conflict(&sk, &settled, write.as_ref()).await? {
            return Ok(Conflict {
                id: Some(id.to_string()),
                ..settled
            });
        }
        // Someone settled it, or the lead changed, since it was read: decide again.
    }
    Err(ResolveError::Busy)
}

/// A PATCH body that sets one field or sub-field.
fn patch(path: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    match path.split_once('.') {
        Some((field, sub)) => m.insert(field.into(), json!({ sub: value })),
        None => m.insert(path.into(), value),
    };
    m
}

fn path_value(fields: &Map<String, Value>, path: &str) -> Value {
    match path.split_once('.') {
        Some((field, sub)) => fields.get(field).and_then(|v| v.get(sub)),
        None => fields.get(path),
    }
    .cloned()
    .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests;
