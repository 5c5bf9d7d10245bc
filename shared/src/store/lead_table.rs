//! Lead items in DynamoDB: writes conditional on the `rev` read (the reads are in
//! `lead_reads`).
//!
//! A write that moves the lead count or records a conflict goes in one
//! TransactWriteItems with the counter's update and the conflict items, so a crash can
//! never leave the count or the conflict record behind the lead. Other writes are
//! single conditional puts, sent in parallel.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::{Map, Value};

use super::changes::{removal_mark, removal_marks};
use super::item::ConflictItem;
use super::item::attr;
use super::keys::{LEAD_SK, PK, SK, STATE_SK, lead_pk, sync_pk};
use super::mirror::{Expect, LeadWrite};
use super::recheck::{recheck_mark, recheck_marks};
use super::throttle::{retry_throttled, send_if};
use super::{DynamoLeadStore, LeadItem, StoreError};
use crate::domain::LeadId;

/// TransactWriteItems' limit.
const TRANSACTION_MAX: usize = 100;
/// Single conditional writes in flight at once.
const WRITE_CONCURRENCY: usize = 16;

/// Note links removed in a lead's own transaction (DynamoDB allows 100 actions in one;
/// the lead, its count, its marks and conflicts take the rest). More go right after.
const UNLINKS_IN_TRANSACTION: usize = 50;

/// The write leaves no live lead (a tombstone, or nothing).
fn removes_lead(w: &LeadWrite) -> bool {
    w.item.as_ref().is_none_or(|item| !item.is_live())
}

/// An item's primary key.
pub(crate) type Key = HashMap<String, AttributeValue>;

pub(crate) fn lead_key(id: &LeadId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(lead_pk(id))),
        (SK.to_string(), AttributeValue::S(LEAD_SK.into())),
    ])
}

pub(crate) fn lead_from_item(
    item: HashMap<String, AttributeValue>,
) -> Result<LeadItem, StoreError> {
    let key = item
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let doc: Map<String, Value> =
        serde_dynamo::from_item(item).map_err(|source| StoreError::Mapping {
            key: key.clone(),
            source,
        })?;
    LeadItem::from_document(doc).map_err(|reason| StoreError::Corrupt { key, reason })
}

fn item_of(lead: &LeadItem) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let doc = lead.to_document().map_err(|reason| StoreError::Corrupt {
        key: lead.pk.clone(),
        reason,
    })?;
    serde_dynamo::to_item(doc).map_err(|source| StoreError::Mapping {
        key: lead.pk.clone(),
        source,
    })
}

/// The condition expression (and its values) for a write's expectation.
fn condition(
    expect: Expect,
) -> (
    String,
    HashMap<String, String>,
    Option<(String, AttributeValue)>,
) {
    let mut names = HashMap::from([("#pk".to_string(), PK.to_string())]);
    match expect {
        Expect::Absent => ("attribute_not_exists(#pk)".into(), names, None),
        // Items written before `rev` existed read as rev 0.
        Expect::Rev(0) => {
            names.insert("#rev".into(), attr::REV.into());
            (
                "attribute_exists(#pk) AND attribute_not_exists(#rev)".into(),
                names,
                None,
            )
        }
        Expect::Rev(r) => {
            names.remove("#pk");
            names.insert("#rev".into(), attr::REV.into());
            (
                "#rev = :rev".into(),
                names,
                Some((":rev".into(), AttributeValue::N(r.to_string()))),
            )
        }
    }
}

/// An unconditional put of `item`, as one step of a transaction.
pub(crate) fn transact_put(table: &str, item: Key) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .map_err(built)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn built(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Request {
        operation: "TransactWriteItems",
        reason: e.to_string(),
    }
}

enum Txn {
    Applied,
    /// A condition failed: the lead changed since it was read. Names the writes whose
    /// condition failed, when DynamoDB said which (empty when it did not).
    ConditionFailed(Vec<usize>),
    /// Cancelled for another reason (a concurrent transaction): worth retrying.
    Retry,
}

impl DynamoLeadStore {
    pub(crate) async fn write_lead_items(
        &self,
        writes: &[LeadWrite],
    ) -> Result<Vec<bool>, StoreError> {
        let mut results = vec![false; writes.len()];
        // A lead that goes takes its note links with it, in the same transaction: Twenty
        // only nulls their `targetLeadId`, silently, so nothing later would remove them.
        let mut unlinks: Vec<Vec<Key>> = vec![Vec::new(); writes.len()];
        for (i, w) in writes.iter().enumerate() {
            if removes_lead(w) {
                let mut keys = self.note_link_keys(&w.id).await?;
                keys.truncate(UNLINKS_IN_TRANSACTION);
                unlinks[i] = keys;
            }
        }
        let (counted, plain): (Vec<usize>, Vec<usize>) = (0..writes.len()).partition(|&i| {
            let w = &writes[i];
            w.live_delta != 0
                || !w.conflicts.is_empty()
                || recheck_marks(w) > 0
                || !unlinks[i].is_empty()
        });
        let plain_results: Vec<(usize, bool)> = stream::iter(plain)
            .map(|i| async move { self.write_single(&writes[i]).await.map(|ok| (i, ok)) })
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect()
            .await?;
        for (i, ok) in plain_results {
            results[i] = ok;
        }
        // Counted writes share the state item, so their transactions go one at a time
        // (two transactions on one item at once would cancel each other).
        let mut chunk: Vec<usize> = Vec::new();
        let mut slots = 1;
        for i in counted {
            let need = 1
                + writes[i].conflicts.len()
                + removal_marks(&writes[i])
                + recheck_marks(&writes[i])
                + unlinks[i].len();
            if slots + need > TRANSACTION_MAX && !chunk.is_empty() {
                self.write_chunk(writes, &unlinks, &chunk, &mut results)
                    .await?;
                chunk.clear();
                slots = 1;
            }
            chunk.push(i);
            slots += need;
        }
        if !chunk.is_empty() {
            self.write_chunk(writes, &unlinks, &chunk, &mut results)
                .await?;
        }
        // Links beyond what a transaction holds, and any written between the query and
        // the transaction (a late delivery that still saw the lead live), go now that
        // the lead has.
        for (i, w) in writes.iter().enumerate() {
            if results[i] && removes_lead(w) {
                self.remove_links(self.note_link_keys(&w.id).await?).await?;
            }
        }
        Ok(results)
    }

    async fn write_chunk(
        &self,
        writes: &[LeadWrite],
        unlinks: &[Vec<Key>],
        chunk: &[usize],
        results: &mut [bool],
    ) -> Result<(), StoreError> {
        let mut chunk = chunk.to_vec();
        while chunk.len() > 1 {
            let all: Vec<(&LeadWrite, &[Key])> = chunk
                .iter()
                .map(|&i| (&writes[i], unlinks[i].as_slice()))
                .collect();
            match self.transact(&all).await? {
                Txn::Applied => {
                    for &i in &chunk {
                        results[i] = true;
                    }
                    return Ok(());
                }
                // DynamoDB named the leads that changed since they were read: they are
                // reported, and the rest go again together (each round drops at least
                // one, so this ends).
                Txn::ConditionFailed(failed) if !failed.is_empty() => {
                    let mut k = 0;
                    chunk.retain(|_| {
                        k += 1;
                        !failed.contains(&(k - 1))
                    });
                }
                // Unnamed, or a concurrent transaction: one by one, so every other
                // write still lands and the changed one is reported.
                _ => break,
            }
        }
        for &i in &chunk {
            let mut attempt = 0u32;
            results[i] = loop {
                match self.transact(&[(&writes[i], &unlinks[i])]).await? {
                    Txn::Applied => break true,
                    Txn::ConditionFailed(_) => break false,
                    Txn::Retry if attempt < 8 => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
                    }
                    Txn::Retry => {
                        return Err(StoreError::Request {
                            operation: "TransactWriteItems",
                            reason: "cancelled 8 times in a row by concurrent transactions".into(),
                        });
                    }
                }
            };
        }
        Ok(())
    }

    async fn transact(&self, writes: &[(&LeadWrite, &[Key])]) -> Result<Txn, StoreError> {
        let mut items = Vec::new();
        // Which write each item belongs to, to read the cancellation reasons by.
        let mut owner = Vec::new();
        let mut delta = 0;
        for (n, &(w, unlinks)) in writes.iter().enumerate() {
            items.push(self.transact_item(w)?);
            for key in unlinks {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .set_key(Some(key.clone()))
                    .build()
                    .map_err(built)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            delta += w.live_delta;
            items.extend(removal_mark(self.table(), w)?);
            items.extend(recheck_mark(self.table(), self.object(), w)?);
            for (seq, c) in w.conflicts.iter().enumerate() {
                items.push(transact_put(
                    self.table(),
                    ConflictItem::new(c, seq).to_dynamo()?,
                )?);
            }
            owner.resize(items.len(), n);
        }
        if delta != 0 {
            let update = Update::builder()
                .table_name(self.table())
                .key(PK, AttributeValue::S(sync_pk(self.object())))
                .key(SK, AttributeValue::S(STATE_SK.into()))
                .update_expression("ADD leadCount :d")
                .expression_attribute_values(":d", AttributeValue::N(delta.to_string()))
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let request = self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items));
        match retry_throttled(|| request.clone().send()).await {
            Ok(_) => Ok(Txn::Applied),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    // One reason per item, in order; only lead items carry conditions.
                    let reasons = c.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(k, _)| owner.get(k).copied())
                        .collect::<Option<_>>()
                        .unwrap_or_default();
                    let any = reasons
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed"));
                    Ok(if any {
                        Txn::ConditionFailed(failed)
                    } else {
                        Txn::Retry
                    })
                }
                TransactWriteItemsError::TransactionInProgressException(_) => Ok(Txn::Retry),
                other => Err(StoreError::dynamo("TransactWriteItems", other)),
            },
        }
    }

    pub(super) fn transact_item(&self, w: &LeadWrite) -> Result<TransactWriteItem, StoreError> {
        let (expression, names, value) = condition(w.expect);
        Ok(match &w.item {
            Some(item) => {
                let put = Put::builder()
                    .table_name(self.table())
                    .set_item(Some(item_of(item)?))
                    .condition_expression(expression)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(value.map(|(k, v)| HashMap::from([(k, v)])))
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().put(put).build()
            }
            None => {
                let delete = Delete::builder()
                    .table_name(self.table())
                    .set_key(Some(lead_key(&w.id)))
                    .condition_expression(expression)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(value.map(|(k, v)| HashMap::from([(k, v)])))
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().delete(delete).build()
            }
        })
    }

    /// A write that changes no count: one conditional PutItem or DeleteItem.
    async fn write_single(&self, w: &LeadWrite) -> Result<bool, StoreError> {
        let (expression, names, value) = condition(w.expect);
        let values = value.map(|(k, v)| HashMap::from([(k, v)]));
        let done = match &w.item {
            Some(item) => {
                let request = self
                    .client()
                    .put_item()
                    .table_name(self.table())
                    .set_item(Some(item_of(item)?))
                    .condition_expression(expression)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(values);
                send_if(|| request.clone().send())
                    .await
                    .map_err(|e| StoreError::dynamo("PutItem", e))?
                    .is_some()
            }
            None => {
                let request = self
                    .client()
                    .delete_item()
                    .table_name(self.table())
                    .set_key(Some(lead_key(&w.id)))
                    .condition_expression(expression)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(values);
                send_if(|| request.clone().send())
                    .await
                    .map_err(|e| StoreError::dynamo("DeleteItem", e))?
                    .is_some()
            }
        };
        Ok(done)
    }
}
