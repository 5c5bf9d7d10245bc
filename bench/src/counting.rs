//! Counts what a process asks of DynamoDB, from inside the AWS SDK (an interceptor): no
//! proxy in the path, so the count costs the measurement nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use serde::{Deserialize, Serialize};

/// Operations that write.
const WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// Requests sent (retries included) by operation, and items written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamoCounts {
    /// HTTP requests by operation name (`PutItem`, `TransactWriteItems`, ...).
    pub requests: BTreeMap<String, u64>,
    /// Items written: 1 per single-item write, the item count of bulk writes.
    pub items_written: u64,
    /// Request bytes sent to DynamoDB.
    pub request_bytes: u64,
}

impl DynamoCounts {
    pub fn write_requests(&self) -> u64 {
        self.requests
            .iter()
            .filter(|(op, _)| WRITES.contains(&op.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }

    /// `TransactWriteItems 100, PutItem 3, ...`, writes first, most first.
    pub fn describe_writes(&self) -> String {
        let mut ops: Vec<(&String, &u64)> = self
            .requests
            .iter()
            .filter(|(op, _)| WRITES.contains(&op.as_str()))
            .collect();
        ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        ops.iter()
            .map(|(op, n)| format!("{op} {}", super::report::thousands(**n)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The interceptor; clones share one count.
#[derive(Debug, Clone, Default)]
pub struct DynamoCounter {
    counts: Arc<Mutex<DynamoCounts>>,
}

impl DynamoCounter {
    pub fn snapshot(&self) -> DynamoCounts {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `client` with this counter installed.
    pub fn install(&self, client: &Client) -> Client {
        let config = client
            .config()
            .to_builder()
            .interceptor(self.clone())
            .build();
        Client::from_conf(config)
    }
}

impl Intercept for DynamoCounter {
    fn name(&self) -> &'static str {
        "BenchDynamoCounter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let items = if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
            t.transact_items().len() as u64
        } else if let Some(b) = input.downcast_ref::<BatchWriteItemInput>() {
            b.request_items()
                .map(|m| m.values().map(Vec::len).sum::<usize>() as u64)
                .unwrap_or(0)
        } else {
            0
        };
        if items > 0 {
            self.counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .items_written += items;
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let op = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown")
            .to_string();
        let bytes = request.body().bytes().map_or(0, <[u8]>::len) as u64;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(op.as_str(), "PutItem" | "UpdateItem" | "DeleteItem") {
            counts.items_written += 1;
        }
        *counts.requests.entry(op).or_default() += 1;
        counts.request_bytes += bytes;
        Ok(())
    }
}
