use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::StoreError;
use super::item::attr::{
    CHANGED_AT, EXPIRES_AT, GENERATION, KIND, PENDING, PENDING_QUEUE, PENDING_SINCE, SYNCED_AT,
};
use super::keys::{BY_KIND_INDEX, BY_PENDING_INDEX, BY_SWEEP_INDEX, PK, SK};

/// The attribute DynamoDB's TTL reads (epoch seconds) on short-lived items.
pub const TTL_ATTRIBUTE: &str = EXPIRES_AT;

/// Creates the table with the same schema as `infra/template.yaml`, for local runs
/// and tests. An existing table is left as it is.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let op = "CreateTable";
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK).map_err(|e| built(op, e))?)
        .attribute_definitions(attr(SK).map_err(|e| built(op, e))?)
        .key_schema(key(PK, KeyType::Hash).map_err(|e| built(op, e))?)
        .key_schema(key(SK, KeyType::Range).map_err(|e| built(op, e))?)
        .attribute_definitions(attr(KIND).map_err(|e| built(op, e))?)
        .attribute_definitions(attr(CHANGED_AT).map_err(|e| built(op, e))?)
        .attribute_definitions(attr(PENDING_QUEUE).map_err(|e| built(op, e))?)
        .attribute_definitions(attr(PENDING_SINCE).map_err(|e| built(op, e))?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(BY_PENDING_INDEX)
                .key_schema(key(PENDING_QUEUE, KeyType::Hash).map_err(|e| built(op, e))?)
                .key_schema(key(PENDING_SINCE, KeyType::Range).map_err(|e| built(op, e))?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .map_err(|e| built(op, e))?,
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(BY_KIND_INDEX)
                .key_schema(key(KIND, KeyType::Hash).map_err(|e| built(op, e))?)
                .key_schema(key(CHANGED_AT, KeyType::Range).map_err(|e| built(op, e))?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| built(op, e))?,
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(BY_SWEEP_INDEX)
                .key_schema(key(KIND, KeyType::Hash).map_err(|e| built(op, e))?)
                .key_schema(key(PK, KeyType::Range).map_err(|e| built(op, e))?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .non_key_attributes(GENERATION)
                        .non_key_attributes(SYNCED_AT)
                        .non_key_attributes(PENDING)
                        .build(),
                )
                .build()
                .map_err(|e| built(op, e))?,
        )
        .send()
        .await;
    if let Err(e) = result {
        let e = aws_sdk_dynamodb::Error::from(e);
        return match e {
            aws_sdk_dynamodb::Error::ResourceInUseException(_) => Ok(()),
            e => Err(StoreError::dynamo(op, e)),
        };
    }
    let op = "UpdateTimeToLive";
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| built(op, e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| StoreError::dynamo(op, e))?;
    Ok(())
}

fn built(operation: &'static str, e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Request {
        operation,
        reason: e.to_string(),
    }
}

fn attr(name: &str) -> Result<AttributeDefinition, aws_sdk_dynamodb::error::BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, aws_sdk_dynamodb::error::BuildError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
}
