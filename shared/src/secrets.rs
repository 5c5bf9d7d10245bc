//! Secrets read once at cold start, from wherever the stack keeps them: SSM Parameter
//! Store (a SecureString parameter, the default) or AWS Secrets Manager (an option).
//! Deployed functions get only the parameter's name or the secret's ARN in their
//! environment, never the secret itself.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// Where a secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStore {
    /// SSM Parameter Store, a `SecureString` parameter, by name (or ARN).
    ParameterStore,
    /// AWS Secrets Manager, by ARN (or name); the `SecretString` is the raw value.
    SecretsManager,
}

impl SecretStore {
    fn label(self) -> &'static str {
        match self {
            Self::ParameterStore => "SSM Parameter Store",
            Self::SecretsManager => "Secrets Manager",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not read {id} from {store}: {reason}")]
pub struct SecretError {
    pub id: String,
    pub store: &'static str,
    pub reason: String,
}

/// The secret's current string value, from `store`.
pub async fn fetch(store: SecretStore, id: &str) -> Result<String, SecretError> {
    let fail = |reason: String| SecretError {
        id: id.to_string(),
        store: store.label(),
        reason,
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let value = match store {
        SecretStore::ParameterStore => aws_sdk_ssm::Client::new(&config)
            .get_parameter()
            .name(id)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_ssm::error::DisplayErrorContext(&e).to_string()))?
            .parameter
            .and_then(|p| p.value),
        SecretStore::SecretsManager => {
            aws_sdk_secretsmanager::Client::new(&config)
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?
                .secret_string
        }
    };
    value.ok_or_else(|| fail("it has no string value".into()))
}
