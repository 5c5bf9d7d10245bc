//! Reading and checking one setting at a time, from any name → value lookup.

use url::Url;

use super::ConfigError;
use crate::domain::{ConflictPolicy, ConflictRules, MirrorSet, ObjectName};

pub(super) fn parse_base_url(raw: &str) -> Result<Url, String> {
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

pub(super) struct Vars<'a, F: Fn(&str) -> Option<String>>(pub(super) &'a F);

impl<F: Fn(&str) -> Option<String>> Vars<'_, F> {
    pub(super) fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn required(
        &self,
        name: &'static str,
        hint: &'static str,
    ) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or(ConfigError::Missing { name, hint })
    }

    pub(super) fn conflict_rules(&self) -> Result<ConflictRules, ConfigError> {
        let default = match self.optional("CONFLICT_POLICY") {
            None => ConflictPolicy::default(),
            Some(v) => v.parse().map_err(|reason| ConfigError::Invalid {
                name: "CONFLICT_POLICY",
                reason,
            })?,
        };
        ConflictRules::parse(
            default,
            &self.optional("CONFLICT_RULES").unwrap_or_default(),
        )
        .map_err(|reason| ConfigError::Invalid {
            name: "CONFLICT_RULES",
            reason,
        })
    }

    pub(super) fn table_name(&self) -> Result<String, ConfigError> {
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

    pub(super) fn object(&self) -> Result<ObjectName, ConfigError> {
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

    /// `TWENTY_OBJECTS`: the objects mirrored besides the lead object `leads`.
    pub(super) fn objects(&self, leads: &ObjectName) -> Result<MirrorSet, ConfigError> {
        match self.optional("TWENTY_OBJECTS") {
            None => Ok(MirrorSet::with_defaults(leads)),
            Some(list) => MirrorSet::parse(&list, leads).map_err(|reason| ConfigError::Invalid {
                name: "TWENTY_OBJECTS",
                reason,
            }),
        }
    }

    pub(super) fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("'{v}' is not a whole number"),
            }),
        }
    }
}

/// A lookup over fixed pairs, for tests.
#[cfg(test)]
pub(super) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}
