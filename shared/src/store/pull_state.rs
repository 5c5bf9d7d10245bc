//! A related object's pull in its `SYNC#<object>` / `STATE` item: the progress of a
//! pull that stopped before its end, and the end of a pull.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::sync_pk;
use super::sync_state::SweepProgress;
use super::throttle::{retry_throttled, send_if};
use super::{DynamoLeadStore, StoreError};
use crate::domain::Timestamp;

/// Enough to resume a related object's pull where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullProgress {
    pub full: bool,
    pub since: Option<Timestamp>,
    pub cursor: Option<String>,
    pub began: Timestamp,
    pub newest_seen: Option<Timestamp>,
    /// A full pull whose pages are all stored sweeps what it did not see: where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepProgress>,
}

impl DynamoLeadStore {
    /// Records a completed pull of a related object (notes, note links): not leased, so
    /// only a pull begun later than the recorded one may move the state; a slower,
    /// earlier pull that ends last changes nothing. `false` when it was not recorded.
    pub async fn record_pull(
        &self,
        watermark: Option<Timestamp>,
        began: Timestamp,
        summary: &Value,
        count: Option<u64>,
    ) -> Result<bool, StoreError> {
        let key = sync_pk(self.object());
        let mapping = |source| StoreError::Mapping {
            key: key.clone(),
            source,
        };
        let mut sets = vec![
            "freshAsOf = :fresh",
            "lastRun = :run",
            "lastRunAt = :at",
            "lastSuccessAt = :at",
        ];
        let now = Timestamp::now().to_string();
        let mut values = HashMap::from([
            (":fresh".to_string(), AttributeValue::S(began.to_string())),
            (
                ":run".to_string(),
                serde_dynamo::to_attribute_value(summary).map_err(mapping)?,
            ),
            (":at".to_string(), AttributeValue::S(now)),
        ]);
        if let Some(w) = watermark {
            sets.push("watermark = :w");
            values.insert(":w".into(), AttributeValue::S(w.to_string()));
        }
        if let Some(n) = count {
            sets.push("recordCount = :n, countedAt = :at");
            values.insert(":n".into(), AttributeValue::N(n.to_string()));
        }
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression(format!("SET {} REMOVE pull", sets.join(", ")))
            .condition_expression("attribute_not_exists(freshAsOf) OR freshAsOf < :fresh")
            .set_expression_attribute_values(Some(values));
        let sent = send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(sent.is_some())
    }

    /// Stores a related object's pull progress after a page (not leased: pulls only
    /// write versioned items, so two that overlap are safe; the last saved wins).
    pub async fn save_pull(&self, progress: &PullProgress) -> Result<(), StoreError> {
        let key = sync_pk(self.object());
        let value = serde_dynamo::to_attribute_value(progress)
            .map_err(|source| StoreError::Mapping { key, source })?;
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(self.state_key()))
            .update_expression("SET pull = :p")
            .expression_attribute_values(":p", value);
        retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(())
    }
}
