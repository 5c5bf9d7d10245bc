//! Shared vocabulary of the two-way sync: how a conflict is settled, and which fields
//! belong to Twenty alone.

use std::str::FromStr;

/// How a field changed on both sides is settled (`CONFLICT_POLICY`, and per field in
/// [`super::ConflictRules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    /// Twenty is the system of record: its value stays.
    #[default]
    RemoteWins,
    /// The local edit is sent to Twenty over the remote one.
    LocalWins,
    /// The later change wins: the local edit's time against Twenty's `updatedAt`.
    NewestWins,
    /// Nobody guesses: Twenty's value stays in both places, and the local value waits in
    /// an open conflict for a person to settle.
    Manual,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RemoteWins => "remote-wins",
            Self::LocalWins => "local-wins",
            Self::NewestWins => "newest-wins",
            Self::Manual => "manual",
        }
    }
}

impl FromStr for ConflictPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "remote-wins" => Ok(Self::RemoteWins),
            "local-wins" => Ok(Self::LocalWins),
            "newest-wins" => Ok(Self::NewestWins),
            "manual" => Ok(Self::Manual),
            other => Err(format!(
                "'{other}' is not remote-wins, local-wins, newest-wins or manual"
            )),
        }
    }
}

/// Fields Twenty owns: never merged, never sent, never edited locally.
pub const SYSTEM_FIELDS: [&str; 8] = [
    "id",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "createdBy",
    "updatedBy",
    "position",
    "searchVector",
];
