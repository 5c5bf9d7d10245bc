//! The conditions of the records' versioned writes (`records.rs`), each with exactly
//! the attribute names it uses.

use super::item::attr;
use super::keys::PK;

/// A condition expression with exactly the names it uses (DynamoDB refuses unused ones).
pub(super) struct Condition {
    pub(super) expression: &'static str,
    pub(super) names: &'static [(&'static str, &'static str)],
}

/// A newer version saying something new, or a first one.
pub(super) const IF_NEWER: &Condition = &Condition {
    expression: "attribute_not_exists(#pk) OR (#ru < :ru AND #h <> :h)",
    names: &[
        ("#pk", PK),
        ("#ru", attr::REMOTE_UPDATED_AT),
        ("#h", attr::CONTENT_HASH),
    ],
};

/// Nothing newer than the destroyed version is stored.
pub(super) const IF_NOT_NEWER: &Condition = &Condition {
    expression: "attribute_not_exists(#pk) OR #ru <= :ru",
    names: &[("#pk", PK), ("#ru", attr::REMOTE_UPDATED_AT)],
};

/// Live, not seen by the full pull, and not written since it began.
pub(super) const IF_UNSEEN: &Condition = &Condition {
    expression: "attribute_exists(#k) AND (attribute_not_exists(#g) OR #g <> :g) AND #s < :began",
    names: &[
        ("#k", attr::KIND),
        ("#g", attr::GENERATION),
        ("#s", attr::SYNCED_AT),
    ],
};
