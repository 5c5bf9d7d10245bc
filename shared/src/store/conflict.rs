//! The record of a conflict: a field both sides changed, or a local edit Twenty could
//! not take, and how it was settled. Kept 90 days under `CONFLICT#<lead>`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;
use super::item::ConflictItem;
use crate::domain::Timestamp;

/// The `field` of a conflict about the whole record (it was deleted in Twenty while a
/// local edit waited): the local edit is kept in `local_value`.
pub const WHOLE_RECORD: &str = "*";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub lead_id: String,
    /// A field, a composite's sub-field (`email.primaryEmail`), or [`WHOLE_RECORD`].
    pub field: String,
    pub local_value: Value,
    pub remote_value: Value,
    /// `local` or `remote` (for an open conflict: what both sides hold for now).
    pub chosen: String,
    pub policy: String,
    pub at: Timestamp,
    /// `open` while a person must decide (a `manual` rule); records written before
    /// there were rules read as `settled`.
    #[serde(default)]
    pub status: ConflictStatus,
    /// How a person settled an open conflict (`POST /conflicts/{id}/resolve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The conflict's id in the API: set when read, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Who chose what, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// `local`, `remote` or `value`.
    pub choice: String,
    pub value: Value,
    pub by: String,
    pub at: Timestamp,
}

/// A conflict's API id: its lead and its item's sort key, opaque (base64url).
pub fn conflict_id(lead_id: &str, sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{lead_id}|{sk}"))
}

/// The lead id and sort key an API id names; `None` if it names nothing.
pub fn parse_conflict_id(id: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (lead, sk) = raw.split_once('|')?;
    Some((lead.to_string(), sk.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictStatus {
    Open,
    #[default]
    Settled,
}

impl ConflictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Settled => "settled",
        }
    }
}

pub(crate) const CONFLICT_KIND: &str = "CONFLICT";
const CONFLICT_TTL_DAYS: i64 = 90;

impl ConflictItem {
    pub fn new(conflict: &Conflict, seq: usize) -> Self {
        Self {
            pk: format!("CONFLICT#{}", conflict.lead_id),
            // The sequence keeps two conflicts of one push on one field apart.
            sk: format!("{}#{}#{seq}", conflict.at, conflict.field),
            kind: CONFLICT_KIND.into(),
            changed_at: conflict.at,
            expires_at: conflict.at.unix_millis() / 1000 + CONFLICT_TTL_DAYS * 86_400,
            conflict: Conflict {
                id: None,
                ..conflict.clone()
            },
        }
    }

    /// The item of a conflict already recorded under `sk` (a resolution rewrites it).
    pub fn at_key(conflict: &Conflict, sk: &str) -> Self {
        Self {
            sk: sk.to_string(),
            ..Self::new(conflict, 0)
        }
    }

    /// The item as DynamoDB stores it.
    pub fn to_dynamo(&self) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let key = || self.conflict.lead_id.clone();
        let doc = serde_json::to_value(self).map_err(|e| StoreError::Corrupt {
            key: key(),
            reason: e.to_string(),
        })?;
        serde_dynamo::to_item(doc).map_err(|source| StoreError::Mapping { key: key(), source })
    }

    /// The conflict as the API shows it, with its id.
    pub fn into_conflict(self) -> Conflict {
        let lead = self.conflict.lead_id.clone();
        Conflict {
            id: Some(conflict_id(&lead, &self.sk)),
            ..self.conflict
        }
    }
}
