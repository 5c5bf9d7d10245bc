use std::fmt;

/// A Twenty object's two names: the plural is used in REST paths, the singular in
/// webhook event names (`lead.updated`) and response envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    plural: String,
    singular: String,
}

impl ObjectName {
    pub fn new(plural: impl Into<String>, singular: impl Into<String>) -> Self {
        Self {
            plural: plural.into(),
            singular: singular.into(),
        }
    }

    /// Derives the singular the way Twenty's English plurals usually go
    /// (`leads` → `lead`, `companies` → `company`, `people` → `person`).
    pub fn from_plural(plural: &str) -> Self {
        let singular = if plural == "people" {
            "person".to_string()
        } else if let Some(stem) = plural.strip_suffix("ies") {
            format!("{stem}y")
        } else if let Some(stem) = plural.strip_suffix('s') {
            stem.to_string()
        } else {
            plural.to_string()
        };
        Self::new(plural, singular)
    }

    pub fn plural(&self) -> &str {
        &self.plural
    }

    pub fn singular(&self) -> &str {
        &self.singular
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.plural)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_singulars() {
        assert_eq!(ObjectName::from_plural("leads").singular(), "lead");
        assert_eq!(ObjectName::from_plural("companies").singular(), "company");
        assert_eq!(ObjectName::from_plural("people").singular(), "person");
        assert_eq!(
            ObjectName::from_plural("noteTargets").singular(),
            "noteTarget"
        );
    }
}
