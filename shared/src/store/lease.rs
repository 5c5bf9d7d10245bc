//! The run lease: one item per object (`SYNC#<object>` / `LEASE`) taken with a
//! conditional write, so two delta-sync runs never work at the same time, and a run
//! that died holding it is taken over once the lease expires.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{PK, SK, sync_pk};
use super::schema::TTL_ATTRIBUTE;
use super::throttle::send_if;
use super::{DynamoLeadStore, StoreError};
use crate::domain::Timestamp;

const LEASE_SK: &str = "LEASE";

/// Who holds the lease, when it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub owner: String,
    pub until: Option<Timestamp>,
}

/// The lease as stored: a run is in progress while `until` is ahead of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until: Option<Timestamp>,
    pub taken_at: Option<Timestamp>,
}

impl DynamoLeadStore {
    /// The lease item, if any (live or lapsed: compare `until` with now).
    pub async fn lease(&self) -> Result<Option<Lease>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(self.lease_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::dynamo("GetItem", e))?;
        Ok(out.item.map(|item| Lease {
            owner: item
                .get("owner")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            until: item
                .get("leaseUntil")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .and_then(Timestamp::from_unix_millis),
            taken_at: item
                .get("takenAt")
                .and_then(|v| v.as_s().ok())
                .and_then(|s| Timestamp::parse(s).ok()),
        }))
    }

    /// Takes the lease for `ttl` unless someone else holds a live one; then says who.
    pub async fn acquire_lease(
        &self,
        owner: &str,
        ttl: Duration,
    ) -> Result<Result<(), LeaseHolder>, StoreError> {
        let now = Timestamp::now();
        let until = now.saturating_add(ttl);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item(PK, AttributeValue::S(sync_pk(self.object())))
            .item(SK, AttributeValue::S(LEASE_SK.into()))
            .item("owner", AttributeValue::S(owner.into()))
            .item(
                "leaseUntil",
                AttributeValue::N(until.unix_millis().to_string()),
            )
            .item("takenAt", AttributeValue::S(now.to_string()))
            // Clean-up of leases nobody released, long after they expired.
            .item(
                TTL_ATTRIBUTE,
                AttributeValue::N((until.unix_millis() / 1000 + 86_400).to_string()),
            )
            .condition_expression("attribute_not_exists(#pk) OR leaseUntil < :now OR #owner = :me")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", AttributeValue::N(now.unix_millis().to_string()))
            .expression_attribute_values(":me", AttributeValue::S(owner.into()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(e) => {
                    let item = e.item.unwrap_or_default();
                    let owner = item
                        .get("owner")
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default();
                    let until = item
                        .get("leaseUntil")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse().ok())
                        .and_then(Timestamp::from_unix_millis);
                    Ok(Err(LeaseHolder { owner, until }))
                }
                other => Err(StoreError::dynamo("PutItem", other)),
            },
        }
    }

    /// Extends a lease we hold; `false` if it was lost (expired and taken over).
    pub async fn renew_lease(&self, owner: &str, ttl: Duration) -> Result<bool, StoreError> {
        let until = Timestamp::now().saturating_add(ttl);
        let request = self
            .client()
            .update_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(sync_pk(self.object())))
            .key(SK, AttributeValue::S(LEASE_SK.into()))
            .update_expression("SET leaseUntil = :until")
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(
                ":until",
                AttributeValue::N(until.unix_millis().to_string()),
            )
            .expression_attribute_values(":me", AttributeValue::S(owner.into()));
        let renewed = send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("UpdateItem", e))?;
        Ok(renewed.is_some())
    }

    pub(crate) fn lease_key(&self) -> std::collections::HashMap<String, AttributeValue> {
        std::collections::HashMap::from([
            (PK.to_string(), AttributeValue::S(sync_pk(self.object()))),
            (SK.to_string(), AttributeValue::S(LEASE_SK.into())),
        ])
    }

    /// Gives the lease back (only if still ours).
    pub async fn release_lease(&self, owner: &str) -> Result<(), StoreError> {
        let request = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key(PK, AttributeValue::S(sync_pk(self.object())))
            .key(SK, AttributeValue::S(LEASE_SK.into()))
            .condition_expression("#owner = :me")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":me", AttributeValue::S(owner.into()));
        // `None`: the lease was no longer ours; nothing to give back.
        send_if(|| request.clone().send())
            .await
            .map_err(|e| StoreError::dynamo("DeleteItem", e))?;
        Ok(())
    }
}
