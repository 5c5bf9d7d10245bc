//! Configuration, read once at cold start. This is the only module that looks at
//! environment variables.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::domain::{ConflictPolicy, ObjectName};
pub use crate::twenty::TwentySettings;

/// Everything the functions need, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub twenty: TwentySettings,
    pub table_name: String,
    pub lookback: Duration,
    /// How long one run may take at most (besides Lambda's own deadline).
    pub time_budget: Option<Duration>,
    /// CloudWatch namespace for Embedded Metric Format lines; none locally.
    pub metrics_namespace: Option<String>,
    /// How a field edited both here and in Twenty is settled.
    pub conflict_policy: ConflictPolicy,
}

/// What the webhook function needs: no Twenty API key, but the webhook secret.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub table_name: String,
    pub object: ObjectName,
    /// `None` only when `WEBHOOK_ALLOW_UNSIGNED=true` was set explicitly.
    pub secret: Option<SecretString>,
    pub tolerance: Duration,
    pub max_body_bytes: usize,
    pub metrics_namespace: Option<String>,
}

/// What the leads API needs: only the table.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub table_name: String,
    pub object: ObjectName,
    pub metrics_namespace: Option<String>,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&get);
        Ok(Self {
            table_name: vars.table_name()?,
            object: vars.object()?,
            metrics_namespace: vars.optional("METRICS_NAMESPACE"),
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} is not set; {hint}")]
    Missing {
        name: &'static str,
        hint: &'static str,
    },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{name}: {reason}")]
    Secret { name: &'static str, reason: String },
}

/// Secrets that may come as a reference instead of a value: deployed functions get the
/// name of an SSM SecureString parameter (`<NAME>_PARAMETER`, the default) or a Secrets
/// Manager ARN (`<NAME>_SECRET_ARN`), local runs the value itself.
const SECRETS: [(&str, &str, &str); 2] = [
    (
        "TWENTY_API_KEY",
        "TWENTY_API_KEY_PARAMETER",
        "TWENTY_API_KEY_SECRET_ARN",
    ),
    (
        "TWENTY_WEBHOOK_SECRET",
        "TWENTY_WEBHOOK_SECRET_PARAMETER",
        "TWENTY_WEBHOOK_SECRET_ARN",
    ),
];

/// The process environment, with each secret given by reference read from its store.
async fn environment_with_secrets() -> Result<HashMap<String, String>, ConfigError> {
    use crate::secrets::SecretStore;
    let mut vars: HashMap<String, String> = std::env::vars().collect();
    for (name, parameter_name, arn_name) in SECRETS {
        if vars.get(name).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let reference = [
            (parameter_name, SecretStore::ParameterStore),
            (arn_name, SecretStore::SecretsManager),
        ]
        .into_iter()
        .find_map(|(var, store)| {
            let id = vars.get(var)?.trim();
            (!id.is_empty()).then(|| (var, store, id.to_string()))
        });
        if let Some((var, store, id)) = reference {
            let value =
                crate::secrets::fetch(store, &id)
                    .await
                    .map_err(|e| ConfigError::Secret {
                        name: var,
                        reason: e.to_string(),
                    })?;
            vars.insert(name.to_string(), value);
        }
    }
    Ok(vars)
}

/// Twenty's own cap on `limit`: larger values are silently cut to it.
pub const TWENTY_MAX_PAGE_SIZE: u32 = 200;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`], reading the API key from SSM Parameter Store or Secrets
    /// Manager when only `TWENTY_API_KEY_PARAMETER` or `_SECRET_ARN` is set. For cold start.
    pub async fn load() -> Result<Self, ConfigError> {
        let vars = environment_with_secrets().await?;
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Builds the config from any name → value lookup, so tests need not touch the
    /// process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&get);
        let api_url = vars.required(
            "TWENTY_API_URL",
            "set it to your Twenty server, e.g. https://api.twenty.com",
        )?;
        let api_url = parse_base_url(&api_url).map_err(|reason| ConfigError::Invalid {
            name: "TWENTY_API_URL",
            reason,
        })?;
        let api_key = vars.required(
            "TWENTY_API_KEY",
            "create one in Twenty under Settings → APIs & Webhooks (or set TWENTY_API_KEY_PARAMETER to an SSM SecureString parameter holding it)",
        )?;
        let table_name = vars.table_name()?;
        let object = vars.object()?;
        let page_size = vars.number("TWENTY_PAGE_SIZE", TWENTY_MAX_PAGE_SIZE as u64)?;
        if page_size == 0 || page_size > u64::from(TWENTY_MAX_PAGE_SIZE) {
            return Err(ConfigError::Invalid {
                name: "TWENTY_PAGE_SIZE",
                reason: format!("{page_size} is outside 1..={TWENTY_MAX_PAGE_SIZE}"),
            });
        }
        let request_timeout = Duration::from_secs(vars.number("TWENTY_TIMEOUT_SECONDS", 20)?);
        let lookback = Duration::from_secs(vars.number("SYNC_LOOKBACK_SECONDS", 120)?);
        // Twenty allows 100 per minute per workspace by default; leave room for others.
        let rate_limit = vars.number("TWENTY_RATE_LIMIT_PER_MINUTE", 90)?;
        let time_budget = match vars.optional("SYNC_TIME_BUDGET_SECONDS") {
            None => None,
            Some(_) => Some(Duration::from_secs(
                vars.number("SYNC_TIME_BUDGET_SECONDS", 0)?,
            )),
        };
        Ok(Self {
            twenty: TwentySettings {
                api_url,
                api_key: SecretString::from(api_key),
                object,
                page_size: page_size as u32,
                request_timeout,
                rate_limit_per_minute: u32::try_from(rate_limit).unwrap_or(u32::MAX),
            },
            table_name,
            lookback,
            time_budget,
            metrics_namespace: vars.optional("METRICS_NAMESPACE"),
            conflict_policy: vars.conflict_policy()?,
        })
    }
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
        Ok(Self {
            table_name: vars.table_name()?,
            object: vars.object()?,
            secret,
            tolerance: Duration::from_secs(vars.number("WEBHOOK_TOLERANCE_SECONDS", 300)?),
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            metrics_namespace: vars.optional("METRICS_NAMESPACE"),
        })
    }
}

fn parse_base_url(raw: &str) -> Result<Url, String> {
    let mut url = Url::parse(raw).map_err(|e| format!("'{raw}' is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("'{raw}' must start with http:// or https://"));
    }
    // Join relative paths onto it later: a trailing slash keeps the last segment.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

struct Vars<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Vars<'_, F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or(ConfigError::Missing { name, hint })
    }

    fn conflict_policy(&self) -> Result<ConflictPolicy, ConfigError> {
        match self.optional("CONFLICT_POLICY") {
            None => Ok(ConflictPolicy::default()),
            Some(v) => v.parse().map_err(|reason| ConfigError::Invalid {
                name: "CONFLICT_POLICY",
                reason,
            }),
        }
    }

    fn table_name(&self) -> Result<String, ConfigError> {
        let table_name = self.required("LEADS_TABLE", "set it to the DynamoDB table name")?;
        if !(3..=255).contains(&table_name.len())
            || !table_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return Err(ConfigError::Invalid {
                name: "LEADS_TABLE",
                reason: format!("'{table_name}' is not a valid DynamoDB table name"),
            });
        }
        Ok(table_name)
    }

    fn object(&self) -> Result<ObjectName, ConfigError> {
        let plural = self
            .optional("TWENTY_OBJECT")
            .unwrap_or_else(|| "leads".into());
        if plural.is_empty() || !plural.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::Invalid {
                name: "TWENTY_OBJECT",
                reason: format!("'{plural}' is not an object's plural API name, e.g. leads"),
            });
        }
        match self.optional("TWENTY_OBJECT_SINGULAR") {
            Some(singular) if singular.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Ok(ObjectName::new(plural, singular))
            }
            Some(singular) => Err(ConfigError::Invalid {
                name: "TWENTY_OBJECT_SINGULAR",
                reason: format!("'{singular}' is not an object's singular API name, e.g. lead"),
            }),
            None => Ok(ObjectName::from_plural(&plural)),
        }
    }

    fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("'{v}' is not a whole number"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("TWENTY_API_URL", "http://localhost:3000"),
        ("TWENTY_API_KEY", "k3y"),
        ("LEADS_TABLE", "spartan-leads"),
    ];

    #[test]
    fn defaults_fill_the_optional_settings() {
        let cfg = Config::from_lookup(lookup(BASE)).unwrap();
        assert_eq!(cfg.twenty.object.plural(), "leads");
        assert_eq!(cfg.twenty.object.singular(), "lead");
        assert_eq!(cfg.twenty.page_size, 200);
        assert_eq!(cfg.lookback, Duration::from_secs(120));
        assert_eq!(cfg.twenty.api_url.as_str(), "http://localhost:3000/");
        assert_eq!(cfg.twenty.api_key.expose_secret(), "k3y");
    }

    #[test]
    fn a_missing_setting_is_named() {
        for missing in ["TWENTY_API_URL", "TWENTY_API_KEY", "LEADS_TABLE"] {
            let pairs: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(err.to_string().starts_with(missing), "{err}");
        }
    }

    #[test]
    fn a_malformed_setting_is_named_with_its_value() {
        let cases = [
            ("SYNC_LOOKBACK_SECONDS", "two minutes"),
            ("TWENTY_API_URL", "localhost:3000"),
            ("TWENTY_PAGE_SIZE", "500"),
            ("LEADS_TABLE", "a b"),
            ("TWENTY_OBJECT", "lead s"),
            ("CONFLICT_POLICY", "whoever-shouts"),
        ];
        for (name, value) in cases {
            let mut pairs: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != name).collect();
            pairs.push((name, value));
            let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(name), "{text}");
        }
    }

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

    #[test]
    fn the_api_key_never_prints() {
        let cfg = Config::from_lookup(lookup(BASE)).unwrap();
        assert!(!format!("{cfg:?}").contains("k3y"));
    }
}
