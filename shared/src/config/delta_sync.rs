use std::time::Duration;

use secrecy::SecretString;

use super::ConfigError;
use super::environment::environment_with_secrets;
use super::vars::{Vars, parse_base_url};
use crate::domain::{ConflictRules, MirrorSet};
use crate::twenty::TwentySettings;

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
    /// How a field edited both here and in Twenty is settled: `CONFLICT_POLICY` by
    /// default, `CONFLICT_RULES` per field.
    pub conflict_rules: ConflictRules,
    /// Every object mirrored (`TWENTY_OBJECTS`), the lead object first.
    pub objects: MirrorSet,
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
        let objects = vars.objects(&object)?;
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
            conflict_rules: vars.conflict_rules()?,
            objects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::vars::lookup;
    use super::*;
    use crate::domain::ConflictPolicy;
    use secrecy::ExposeSecret;

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
            ("CONFLICT_RULES", "phones.primaryPhoneNumber=whoever-shouts"),
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
    fn conflict_rules_name_the_field_and_what_is_allowed() {
        let mut pairs: Vec<_> = BASE.to_vec();
        pairs.push(("CONFLICT_RULES", "score=local-wins, status=mine"));
        let text = Config::from_lookup(lookup(&pairs)).unwrap_err().to_string();
        assert_eq!(
            text,
            "CONFLICT_RULES is invalid: field 'status': 'mine' is not remote-wins, local-wins, newest-wins or manual"
        );
        pairs.pop();
        pairs.push(("CONFLICT_POLICY", "manual"));
        pairs.push(("CONFLICT_RULES", "score=local-wins"));
        let rules = Config::from_lookup(lookup(&pairs)).unwrap().conflict_rules;
        assert_eq!(rules.for_path("score"), ConflictPolicy::LocalWins);
        assert_eq!(rules.for_path("name"), ConflictPolicy::Manual);
    }

    #[test]
    fn the_api_key_never_prints() {
        let cfg = Config::from_lookup(lookup(BASE)).unwrap();
        assert!(!format!("{cfg:?}").contains("k3y"));
    }
}
