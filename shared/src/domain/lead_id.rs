use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of a record in Twenty (a UUID), which is also the key of its mirror item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(String);

impl LeadId {
    /// Accepts a UUID in its canonical textual form; anything else is refused so that
    /// a malformed id can never become a DynamoDB key.
    pub fn parse(input: &str) -> Result<Self, String> {
        match uuid::Uuid::try_parse(input) {
            Ok(u) => Ok(Self(u.hyphenated().to_string())),
            Err(_) => Err(format!(
                "'{}' is not a valid UUID",
                input.chars().take(64).collect::<String>()
            )),
        }
    }

    /// A fresh random id, for a record made here (Twenty accepts a client's id).
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_and_refuses_the_rest() {
        assert!(LeadId::parse("bf91e08e-34f1-43a7-9ba8-92963c4fd740").is_ok());
        assert!(LeadId::parse("LEAD#x").is_err());
        assert!(LeadId::parse("").is_err());
    }
}
