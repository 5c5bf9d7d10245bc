//! The reconcile's one rule, shared by the leads' sweep and the other objects'.

use super::Timestamp;

/// Whether the sweep that ends full pass `generation` (begun at `began`) removes an
/// item: the pass did not see it, and nobody wrote it since the pass began (a write
/// after that may be a record the pass could not have seen yet).
pub fn unseen_by(
    seen: Option<u64>,
    synced_at: Option<Timestamp>,
    generation: u64,
    began: Timestamp,
) -> bool {
    seen != Some(generation) && synced_at.is_none_or(|t| t < began)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_what_the_pass_missed_and_nobody_wrote_since_goes() {
        let began = at("2026-11-27T12:00:00.000Z");
        let before = Some(at("2026-11-27T11:59:59.999Z"));
        let after = Some(began);
        assert!(unseen_by(Some(6), before, 7, began));
        assert!(unseen_by(None, before, 7, began));
        assert!(unseen_by(None, None, 7, began));
        assert!(!unseen_by(Some(7), before, 7, began), "seen by the pass");
        assert!(
            !unseen_by(Some(6), after, 7, began),
            "written since it began"
        );
    }
}
