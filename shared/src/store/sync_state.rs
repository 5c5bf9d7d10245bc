//! The `SYNC#<object>` / `STATE` item: where the last complete pass got to, a pass in
//! progress, and how the last run went.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::{PK, SK, STATE_SK, sync_pk};
use super::pull_state::PullProgress;
use super::throttle::retry_throttled;
use super::{DynamoLeadStore, StoreError};
use crate::domain::Timestamp;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem, Update};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// Newest remote `updatedAt` that every earlier change is known to be stored up to.
    #[serde(default)]
    pub watermark: Option<Timestamp>,
    /// Live lead items in the table, moved in the same transaction as each insert
    /// and removal, so it is exact even after a crash.
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
    /// When the last run (of any outcome) was recorded: lets a caller that started a
    /// run tell when one has ended since.
    #[serde(default)]
    pub last_run_at: Option<Timestamp>,
    /// When the last completed pass began: every change Twenty made before it is in the
    /// mirror. Unlike the watermark, it does not age while Twenty is quiet.
    #[serde(default)]
    pub fresh_as_of: Option<Timestamp>,
    /// A related object's pull in progress (notes, note links): where the next run
    /// resumes it.
    #[serde(default)]
    pub pull: Option<PullProgress>,
    /// A related object's records in the mirror (soft-deleted ones included), counted
    /// at the end of its last reconcile, and when.
    #[serde(default)]
    pub record_count: Option<u64>,
    #[serde(default)]
    pub counted_at: Option<Timestamp>,
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
    /// A full pass whose pages are all stored is sweeping: where its sweep got to. A
    /// resumed pass goes straight on with the sweep, never back to Twenty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepProgress>,
}

/// How far the hard-delete sweep at the end of a full pass has got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepProgress {
    /// Where the sweep's next page of the index begins (`None`: at its start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The last page has been swept (known only to the run that swept it: a checkpoint
    /// is never stored after it, the run's record clears it).
    #[serde(skip)]
    pub done: bool,
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
    /// The start of the pass that just completed (`None` unless one did).
    pub fresh_as_of: Option<Timestamp>,
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

    /// Records the end of a run in one write, fenced by the run's lease: a run that
    /// lost its lease cannot move the watermark or bring back a finished pass.
    pub async fn record_run(&self, owner: &str, record: &RunRecord) -> Result<bool, StoreError> {
        let key = sync_pk(self.object());
        let mapping = |source| StoreError::Mapping {
            key: key.clone(),
            source,
        };
        let mut sets = vec!["lastRun = :run".to_string(), "lastRunAt = :at".to_string()];
        let mut removes = Vec::new();
        let mut values = HashMap::from([
            (
                ":run".to_string(),
                serde_dynamo::to_attribute_value(&record.last_run).map_err(mapping)?,
            ),
            (
                ":at".to_string(),
                AttributeValue::S(Timestamp::now().to_string()),
            ),
        ]);
        if let Some(t) = record.fresh_as_of {
            sets.push("freshAsOf = :fresh".into());
            values.insert(":fresh".into(), AttributeValue::S(t.to_string()));
        }
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
        self.update_state_fenced(owner, expression, values).await
    }

    /// Stores a pass's progress after a page, so that a run killed mid-way resumes
    /// from its last stored page; fenced by the lease like [`Self::record_run`].
    pub async fn save_checkpoint(
        &self,
        owner: &str,
        checkpoint: &Checkpoint,
    ) -> Result<bool, StoreError> {
        let key = sync_pk(self.object());
        let value = serde_dynamo::to_attribute_value(checkpoint)
            .map_err(|source| StoreError::Mapping { key, source })?;
        self.update_state_fenced(
            owner,
            "SET checkpoint = :cp".into(),
            HashMap::from([(":cp".to_string(), value)]),
        )
        .await
    }

    /// One update of the state item, in a transaction with a check that `owner` still
    /// holds a live lease. `false` when it does not.
    async fn update_state_fenced(
        &self,
        owner: &str,
        expression: String,
        values: HashMap<String, AttributeValue>,
    ) -> Result<bool, StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Request {
            operation: "TransactWriteItems",
            reason: e.to_string(),
        };
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(self.lease_key()))
            .condition_expression("#owner = :me AND leaseUntil >= :now")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", AttributeValue::S(owner.into()))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Timestamp::now().unix_millis().to_string()),
            )
            .build()
            .map_err(built)?;
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(built)?;
        let request = self
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().update(update).build());
        for attempt in 0..8u32 {
            match retry_throttled(|| request.clone().send()).await {
                Ok(_) => return Ok(true),
                Err(e) => match e.into_service_error() {
                    TransactWriteItemsError::TransactionCanceledException(c) => {
                        if c.cancellation_reasons()
                            .iter()
                            .any(|r| r.code() == Some("ConditionalCheckFailed"))
                        {
                            return Ok(false);
                        }
                        // A page's counted writes held the state item a moment.
                        tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                    }
                    other => return Err(StoreError::dynamo("TransactWriteItems", other)),
                },
            }
        }
        Err(StoreError::Request {
            operation: "TransactWriteItems",
            reason: "the state update was cancelled 8 times in a row".into(),
        })
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

    pub(crate) fn state_key(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(sync_pk(self.object()))),
            (SK.to_string(), AttributeValue::S(STATE_SK.into())),
        ])
    }
}
