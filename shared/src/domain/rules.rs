//! Conflict rules per field: which [`ConflictPolicy`] settles a field both sides
//! changed. `CONFLICT_RULES` names fields (or a composite's sub-fields) and their
//! policy; every other field follows `CONFLICT_POLICY`.

use std::collections::BTreeMap;

use super::{ConflictPolicy, SYSTEM_FIELDS};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConflictRules {
    default: ConflictPolicy,
    fields: BTreeMap<String, ConflictPolicy>,
}

impl ConflictRules {
    /// The same policy for every field.
    pub fn uniform(default: ConflictPolicy) -> Self {
        Self {
            default,
            fields: BTreeMap::new(),
        }
    }

    /// Parses `field=policy` entries separated by commas (`status=remote-wins,
    /// score=local-wins, phones.primaryPhoneNumber=manual`). The error names the entry
    /// and what is allowed, for a message at cold start.
    pub fn parse(default: ConflictPolicy, spec: &str) -> Result<Self, String> {
        let mut fields = BTreeMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((field, policy)) = entry.split_once('=') else {
                return Err(format!("'{entry}' is not field=policy"));
            };
            let (field, policy) = (field.trim(), policy.trim());
            valid_path(field)?;
            let policy: ConflictPolicy = policy
                .parse()
                .map_err(|reason| format!("field '{field}': {reason}"))?;
            if fields.insert(field.to_string(), policy).is_some() {
                return Err(format!("field '{field}' is named twice"));
            }
        }
        Ok(Self { default, fields })
    }

    /// The policy for a field or sub-field (`email.primaryEmail`): its own rule, else
    /// its composite field's, else the default.
    pub fn for_path(&self, path: &str) -> ConflictPolicy {
        self.fields
            .get(path)
            .or_else(|| {
                path.split_once('.')
                    .and_then(|(field, _)| self.fields.get(field))
            })
            .copied()
            .unwrap_or(self.default)
    }

    pub fn default_policy(&self) -> ConflictPolicy {
        self.default
    }

    /// `field=policy` pairs as configured, for logs and the API.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("default={}", self.default.as_str())];
        parts.extend(
            self.fields
                .iter()
                .map(|(f, p)| format!("{f}={}", p.as_str())),
        );
        parts.join(",")
    }
}

/// A field name as Twenty's API spells it (`camelCase`), optionally `.subField`.
fn valid_path(path: &str) -> Result<(), String> {
    let word = |w: &str| {
        w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && w.chars().all(|c| c.is_ascii_alphanumeric())
    };
    let ok = match path.split_once('.') {
        Some((field, sub)) => word(field) && word(sub),
        None => word(path),
    };
    if !ok {
        return Err(format!(
            "'{path}' is not a field name (letters and digits, optionally field.subField)"
        ));
    }
    let field = path.split('.').next().unwrap_or(path);
    if SYSTEM_FIELDS.contains(&field) {
        return Err(format!(
            "field '{field}' belongs to Twenty alone: it is never merged"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConflictPolicy::*;

    #[test]
    fn a_sub_field_rule_wins_over_its_fields_which_wins_over_the_default() {
        let rules = ConflictRules::parse(
            RemoteWins,
            " phones = local-wins, phones.primaryPhoneNumber=manual ,score=newest-wins",
        )
        .unwrap();
        assert_eq!(rules.for_path("phones.primaryPhoneNumber"), Manual);
        assert_eq!(rules.for_path("phones.primaryPhoneCountryCode"), LocalWins);
        assert_eq!(rules.for_path("score"), NewestWins);
        assert_eq!(rules.for_path("name"), RemoteWins);
        assert_eq!(rules.for_path("email.primaryEmail"), RemoteWins);
    }

    #[test]
    fn an_empty_spec_is_the_default_everywhere() {
        assert_eq!(
            ConflictRules::parse(LocalWins, "").unwrap(),
            ConflictRules::uniform(LocalWins)
        );
    }

    #[test]
    fn a_bad_entry_is_refused_with_the_field_and_the_allowed_values() {
        let err = ConflictRules::parse(RemoteWins, "status=mine").unwrap_err();
        assert!(err.contains("'status'"), "{err}");
        assert!(
            err.contains("remote-wins, local-wins, newest-wins or manual"),
            "{err}"
        );
        for bad in [
            "status",
            "=manual",
            "a.b.c=manual",
            "updatedAt=manual",
            "score=manual,score=local-wins",
        ] {
            assert!(ConflictRules::parse(RemoteWins, bad).is_err(), "{bad}");
        }
    }
}
