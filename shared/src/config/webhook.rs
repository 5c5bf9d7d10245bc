use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::environment::environment_with_secrets;
use super::vars::Vars;
use crate::domain::{MirrorSet, ObjectName};

/// What the webhook function needs: no Twenty API key, but the webhook secret.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub table_name: String,
    pub object: ObjectName,
    /// Every object mirrored (`TWENTY_OBJECTS`), the lead object first.
    pub objects: MirrorSet,
    /// `None` only when `WEBHOOK_ALLOW_UNSIGNED=true` was set explicitly.
    pub secret: Option<SecretString>,
    pub tolerance: Duration,
    pub max_body_bytes: usize,
    pub metrics_namespace: Option<String>,
}

impl WebhookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`WebhookConfig::from_env`], reading the secret from SSM Parameter Store or Secrets
    /// Manager when only `TWENTY_WEBHOOK_SECRET_PARAMETER` or `_SECRET_ARN` is set.
    pub async fn load() -> Result<Self, ConfigError> {
        let vars = environment_with_secrets().await?;
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&get);
        let allow_unsigned = match vars.optional("WEBHOOK_ALLOW_UNSIGNED").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "WEBHOOK_ALLOW_UNSIGNED",
                    reason: format!("'{other}' is not true or false"),
                });
            }
        };
        let secret = match (vars.optional("TWENTY_WEBHOOK_SECRET"), allow_unsigned) {
            (Some(s), _) => Some(SecretString::from(s)),
            (None, true) => None,
            (None, false) => {
                return Err(ConfigError::Missing {
                    name: "TWENTY_WEBHOOK_SECRET",
                    hint: "set it (or TWENTY_WEBHOOK_SECRET_PARAMETER) to the secret of the webhook in Twenty, or WEBHOOK_ALLOW_UNSIGNED=true for local use only",
                });
            }
        };
        let max_body_bytes = vars.number("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024)?;
        let object = vars.object()?;
        Ok(Self {
            table_name: vars.table_name()?,
            objects: vars.objects(&object)?,
            object,
            secret,
            tolerance: Duration::from_secs(vars.number("WEBHOOK_TOLERANCE_SECONDS", 300)?),
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            metrics_namespace: vars.optional("METRICS_NAMESPACE"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::vars::lookup;
    use super::*;

    #[test]
    fn the_webhook_needs_a_secret_unless_unsigned_is_explicit() {
        let base = [("LEADS_TABLE", "spartan-leads")];
        let err = WebhookConfig::from_lookup(lookup(&base)).unwrap_err();
        assert!(
            err.to_string().starts_with("TWENTY_WEBHOOK_SECRET"),
            "{err}"
        );
        let unsigned =
            WebhookConfig::from_lookup(lookup(&[base[0], ("WEBHOOK_ALLOW_UNSIGNED", "true")]))
                .unwrap();
        assert!(unsigned.secret.is_none());
        let err = WebhookConfig::from_lookup(lookup(&[base[0], ("WEBHOOK_ALLOW_UNSIGNED", "yes")]))
            .unwrap_err();
        assert!(
            err.to_string().starts_with("WEBHOOK_ALLOW_UNSIGNED"),
            "{err}"
        );
        let signed =
            WebhookConfig::from_lookup(lookup(&[base[0], ("TWENTY_WEBHOOK_SECRET", "s3cret")]))
                .unwrap();
        assert_eq!(signed.tolerance, Duration::from_secs(300));
        assert_eq!(signed.max_body_bytes, 1024 * 1024);
        assert!(!format!("{signed:?}").contains("s3cret"));
    }
}
