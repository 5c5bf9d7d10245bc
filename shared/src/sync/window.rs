//! Where a delta pass starts reading: the last completed pass's start, less a lookback
//! and the clock-skew allowance.
//!
//! Every change Twenty committed before that pass began was visible to it and is in the
//! mirror. A change that committed later was stamped (Twenty writes `updatedAt` before
//! its commit lands) at most a lookback before its commit, by a clock at most the skew
//! allowance behind ours: so it is at or after the bound. The pass's keyset cursor may
//! also have gone past a second version within a millisecond it had already read; that
//! version, too, was written after the pass began.
//!
//! The bound does not depend on the watermark: records at the watermark that are long
//! settled (10,000 sharing one `updatedAt` after a bulk import) are not read again, so
//! an idle run costs one request of one empty page whatever the workspace's history.
//! Versions a webhook could only guess at (two in one millisecond) no longer rely on a
//! re-read of the watermark's window: the write queues a recheck by id (see
//! [`crate::store::Recheck`]).
//!
//! Before any pass has completed with this rule (`fresh_as_of` unset: a state written by
//! an older release), the bound is a lookback before the watermark, as it used to be.

use std::time::Duration;

use crate::domain::Timestamp;

/// The lower bound (inclusive, in Twenty's milliseconds) of the next delta pass.
pub fn delta_since(
    watermark: Timestamp,
    fresh_as_of: Option<Timestamp>,
    lookback: Duration,
    clock_skew: Duration,
) -> Timestamp {
    match fresh_as_of {
        Some(began) => began.saturating_sub(lookback).saturating_sub(clock_skew),
        None => watermark.saturating_sub(lookback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    const LOOKBACK: Duration = Duration::from_secs(120);
    const SKEW: Duration = Duration::from_secs(60);

    #[test]
    fn a_lookback_and_the_skew_before_the_last_pass_start() {
        let w = t("2026-11-27T11:59:00.000Z");
        let began = t("2026-11-27T12:00:00.000Z");
        assert_eq!(
            delta_since(w, Some(began), LOOKBACK, SKEW),
            t("2026-11-27T11:57:00.000Z")
        );
    }

    /// Issue #14: 10,000 leads imported at one instant and settled since. The window
    /// starts after them, so an idle run reads nothing of them again.
    #[test]
    fn records_settled_before_the_last_pass_are_not_read_again() {
        let imported = t("2026-11-27T09:00:00.000Z");
        let began = t("2026-11-27T12:00:00.000Z");
        let since = delta_since(imported, Some(began), LOOKBACK, SKEW);
        assert!(
            since > imported,
            "{since} re-reads the import at {imported}"
        );
    }

    /// Found by the simulator (seed 159262): a change made while the last pass ran,
    /// behind its cursor, and a watermark that moved on more than a lookback since.
    #[test]
    fn never_later_than_the_last_pass_start() {
        let w = t("2026-11-27T12:10:00.000Z");
        let began = t("2026-11-27T12:00:00.000Z");
        assert_eq!(
            delta_since(w, Some(began), LOOKBACK, SKEW),
            t("2026-11-27T11:57:00.000Z")
        );
    }

    #[test]
    fn without_a_recorded_pass_start_a_lookback_before_the_watermark() {
        let w = t("2026-11-27T11:59:00.000Z");
        assert_eq!(
            delta_since(w, None, LOOKBACK, SKEW),
            t("2026-11-27T11:57:00.000Z")
        );
    }
}
