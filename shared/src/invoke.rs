//! Starting a sync run from elsewhere (the leads API's `POST /sync`): an asynchronous
//! Lambda invoke of delta-sync. The run's lease still guarantees one run at a time.
//!
//! The function name comes from configuration; the endpoint from the AWS SDK's own
//! chain, so `AWS_ENDPOINT_URL_LAMBDA` points it at `cargo lambda watch` locally.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::json;

use crate::sync::RequestedMode;

/// Invokes the delta-sync function. Cheap to clone; build once per process.
#[derive(Debug, Clone)]
pub struct SyncInvoker {
    client: aws_sdk_lambda::Client,
    function: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("Lambda Invoke of {function} failed: {reason}")]
    Failed { function: String, reason: String },
    #[error("Lambda Invoke of {function} answered {status}")]
    Refused { function: String, status: i32 },
}

/// A Lambda client from the usual AWS configuration chain. Build it once at cold start.
pub async fn lambda_client() -> aws_sdk_lambda::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_lambda::Client::new(&config)
}

impl SyncInvoker {
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        Self {
            client,
            function: function.into(),
        }
    }

    pub fn function(&self) -> &str {
        &self.function
    }

    /// Queues a run with the payload delta-sync takes from people (`{"mode": ...}`) and
    /// returns once Lambda has accepted it, before the run starts.
    pub async fn start(&self, mode: RequestedMode) -> Result<(), InvokeError> {
        let payload = json!({ "mode": mode_name(mode) }).to_string();
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| InvokeError::Failed {
                function: self.function.clone(),
                reason: aws_sdk_lambda::error::DisplayErrorContext(&e).to_string(),
            })?;
        // 202 from Lambda; `cargo lambda watch` runs the invoke to its end and says 200.
        match out.status_code {
            200..=299 => Ok(()),
            status => Err(InvokeError::Refused {
                function: self.function.clone(),
                status,
            }),
        }
    }
}

pub fn mode_name(mode: RequestedMode) -> &'static str {
    match mode {
        RequestedMode::Auto => "auto",
        RequestedMode::Full => "full",
        RequestedMode::Delta => "delta",
    }
}
