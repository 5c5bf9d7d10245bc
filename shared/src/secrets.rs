//! Secrets kept in AWS Secrets Manager, read once at cold start. Deployed functions
//! get only the secret's ARN in their environment, never the secret itself.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
#[error("could not read the secret {arn} from Secrets Manager: {reason}")]
pub struct SecretError {
    pub arn: String,
    pub reason: String,
}

/// The secret's current string value.
pub async fn fetch_secret(arn: &str) -> Result<String, SecretError> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| SecretError {
            arn: arn.to_string(),
            reason: DisplayErrorContext(&e).to_string(),
        })?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| SecretError {
            arn: arn.to_string(),
            reason: "the secret has no string value".into(),
        })
}
