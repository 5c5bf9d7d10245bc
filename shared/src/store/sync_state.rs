//! The `SYNC#<object>` / `STATE` item: where the last complete pass got to, a pass in
//! progress, and how the last run went.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::{PK, SK, STATE_SK, sync_pk};
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError};
use crate::domain::Timestamp;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// Newest remote `updatedAt` that every earlier change is known to be stored up to.
    #[serde(default)]
    pub watermark: Option<Timestamp>,
    /// Lead items in the table, kept by atomic counters on insert and removal.
    #[serde(default)]
    pub lead_count: i64,
    /// The last run's summary, as the engine reported it.
    #[serde(default)]
    pub last_run: Option<Value>,
    #[serde(default)]
    pub last_success_at: Option<Timestamp>,
    /// A pass that stopped before its end (time budget, rate limit, failure).
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
    /// The number of the last full pass started; its leads carry it as `_generation`.
    #[serde(default)]
    pub generation: u64,
    /// Since when Twenty has been unreachable, if the last run could not reach it.
    #[serde(default)]
    pub unreachable_since: Option<Timestamp>,
}

/// Enough to resume a pass exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// `true` for a full pass (it ends with the hard-delete sweep).
    pub full: bool,
    /// The lower bound of a delta pass's filter.
    pub since: Option<Timestamp>,
    /// Twenty's keyset cursor after the last stored page.
    pub cursor: Option<String>,
    /// The full pass's generation.
    pub generation: Option<u64>,
    /// When the pass began (the sweep keeps anything written after it).
    pub pass_started_at: Timestamp,
    pub newest_seen: Option<Timestamp>,
    pub pages: u32,
    pub fetched: u64,
}

/// What to change in the state item at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// Set only when a pass completed; `None` leaves the watermark where it was.
    pub watermark: Option<Timestamp>,
    pub last_run: Value,
    pub succeeded_at: Option<Timestamp>,
    pub checkpoint: CheckpointChange,
    pub reachability: Reachability,
}

#[derive(Debug, Clone, Default)]
pub enum CheckpointChange {
    #[default]
    Keep,
    Clear,
    Set(Checkpoint),
}

#[derive(Debug, Clone, Copy, Default)]
pub enum Reachability {
    #[default]
    Unknown,
    /// Twenty answered: the outage, if any, is over.
    Reachable,
    /// Twenty could not be reached; keeps the first time this was seen.
    UnreachableAt(Timestamp),
}

impl DynamoLeadStore {
    pub async fn load_state(&self) -> Result<SyncState, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        match out.item {
            None => Ok(SyncState::default()),
            Some(item) => serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
                key: sync_pk(self.object()),
                source,
            }),
        }
    }

    /// Records the end of a run in one write. The watermark moves only here.
    pub async fn record_run(&self, record: &RunRecord) -> Result<(), StoreError> {
        let key = sync_pk(self.object());
        let mapping = |source| StoreError::Mapping {
            key: key.clone(),
            source,
        };
        let mut sets = vec!["lastRun = :run".to_string()];
        let mut removes = Vec::new();
        let mut values = HashMap::from([(
            ":run".to_string(),
            serde_dynamo::to_attribute_value(&record.last_run).map_err(mapping)?,
        )]);
        if let Some(w) = record.watermark {
            sets.push("watermark = :w".into());
            values.insert(":w".into(), AttributeValue::S(w.to_string()));
        }
        if let Some(t) = record.succeeded_at {
            sets.push("lastSuccessAt = :ok".into());
            values.insert(":ok".into(), AttributeValue::S(t.to_string()));
        }
        match &record.checkpoint {
            CheckpointChange::Keep => {}
            CheckpointChange::Clear => removes.push("checkpoint"),
            CheckpointChange::Set(cp) => {
                sets.push("checkpoint = :cp".into());
                values.insert(
                    ":cp".into(),
                    serde_dynamo::to_attribute_value(cp).map_err(mapping)?,
                );
            }
        }
        match record.reachability {
            Reachability::Unknown => {}
            Reachability::Reachable => removes.push("unreachableSince"),
            Reachability::UnreachableAt(t) => {
                sets.push("unreachableSince = if_not_exists(unreachableSince, :down)".into());
                values.insert(":down".into(), AttributeValue::S(t.to_string()));
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values));
        retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Stores a pass's progress after a page, so that a run killed mid-way resumes
    /// from its last stored page.
    pub async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let key = sync_pk(self.object());
        let value = serde_dynamo::to_attribute_value(checkpoint)
            .map_err(|source| StoreError::Mapping { key, source })?;
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression("SET checkpoint = :cp")
            .expression_attribute_values(":cp", value);
        retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    /// Starts a new full pass: returns its generation number.
    pub async fn next_generation(&self) -> Result<u64, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression("ADD generation :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(out
            .attributes
            .and_then(|a| {
                a.get("generation")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1))
    }

    /// Moves the lead counter; ADD is atomic, so concurrent writers never lose counts.
    pub async fn adjust_lead_count(&self, delta: i64) -> Result<(), StoreError> {
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression("ADD leadCount :d")
            .expression_attribute_values(":d", AttributeValue::N(delta.to_string()));
        retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }

    fn state_key(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(sync_pk(self.object()))),
            (SK.to_string(), AttributeValue::S(STATE_SK.into())),
        ])
    }
}
