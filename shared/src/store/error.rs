use aws_sdk_dynamodb::error::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed: {}", DisplayErrorContext(.source))]
    Dynamo {
        operation: &'static str,
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    #[error("item {key} could not be mapped: {source}")]
    Mapping {
        key: String,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("DynamoDB {operation} request could not be built: {reason}")]
    Request {
        operation: &'static str,
        reason: String,
    },
    /// The caller sent a cursor this store never issued: the caller's mistake (400).
    #[error("invalid cursor: pass back exactly the nextCursor of an earlier page")]
    BadCursor,
    /// Every attempt to write the item lost a race with another writer.
    #[error("item {key} kept changing under {attempts} attempts to write it")]
    Contended { key: String, attempts: usize },
    #[error("item {key} is not a valid lead item: {reason}")]
    Corrupt { key: String, reason: String },
}

impl StoreError {
    pub(crate) fn dynamo(operation: &'static str, err: impl Into<aws_sdk_dynamodb::Error>) -> Self {
        Self::Dynamo {
            operation,
            source: Box::new(err.into()),
        }
    }
}
