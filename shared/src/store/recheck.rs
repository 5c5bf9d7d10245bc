//! Queued rechecks (see [`Recheck`]): one small item per lead under the object's sync
//! partition (`SYNC#<object>` / `RECHECK#<lead id>`), written in the same transaction as
//! the guessed lead version, read and cleared by the next run.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::keys::{PK, SK, sync_pk};
use super::lead_table::transact_put;
use super::mirror::{LeadWrite, Recheck};
use super::throttle::{retry_throttled, send_if};
use super::{DynamoLeadStore, StoreError};
use crate::domain::LeadId;

const RECHECK_PREFIX: &str = "RECHECK#";
const REV: &str = "rev";

type Item = HashMap<String, AttributeValue>;

fn key(object: &str, id: &LeadId) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(sync_pk(object))),
        (
            SK.to_string(),
            AttributeValue::S(format!("{RECHECK_PREFIX}{id}")),
        ),
    ])
}

/// 1 when the write queues a recheck: a transaction slot.
pub(crate) fn recheck_marks(w: &LeadWrite) -> usize {
    usize::from(w.recheck && w.item.is_some())
}

/// The recheck item that goes in the write's transaction (replacing an older one).
pub(crate) fn recheck_mark(
    table: &str,
    object: &str,
    w: &LeadWrite,
) -> Result<Option<TransactWriteItem>, StoreError> {
    let Some(item) = w.item.as_ref().filter(|_| w.recheck) else {
        return Ok(None);
    };
    let mut attrs = key(object, &w.id);
    attrs.insert(REV.into(), AttributeValue::N(item.rev.to_string()));
    transact_put(table, attrs).map(Some)
}

fn parse(item: &Item) -> Option<Recheck> {
    let sk = item.get(SK)?.as_s().ok()?;
    let id = LeadId::parse(sk.strip_prefix(RECHECK_PREFIX)?).ok()?;
    let rev = item.get(REV)?.as_n().ok()?.parse().ok()?;
    Some(Recheck { id, rev })
}

impl DynamoLeadStore {
    pub(crate) async fn queued_rechecks(&self, limit: usize) -> Result<Vec<Recheck>, StoreError> {
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let request = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(sync_pk(self.object())))
            .expression_attribute_values(":prefix", AttributeValue::S(RECHECK_PREFIX.into()))
            .consistent_read(true)
            .limit(limit);
        let out = retry_throttled(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("Query", e))?;
        // An item this code cannot read names no lead it could recheck: skipped, and
        // left for a person to see rather than deleted.
        Ok(out.items().iter().filter_map(parse).collect())
    }

    pub(crate) async fn remove_recheck(&self, recheck: &Recheck) -> Result<(), StoreError> {
        let request = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(self.object(), &recheck.id)))
            .condition_expression("#rev = :rev")
            .expression_attribute_names("#rev", REV)
            .expression_attribute_values(":rev", AttributeValue::N(recheck.rev.to_string()));
        // A failed condition: a later write queued it again, and it stays queued.
        send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        Ok(())
    }
}
