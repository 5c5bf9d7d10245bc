//! Where a delta pass starts reading.
//!
//! A lookback before the watermark, for late commits (Twenty stamps `updatedAt` before
//! its commit lands) and for two versions sharing one millisecond (Twenty keeps
//! microseconds, shows milliseconds: a webhook cannot order them, and the next delta's
//! re-read settles it). And never later than the last pass's start (less the lookback
//! and the clock-skew allowance): that pass's keyset cursor may have gone past a change
//! made while it ran — a second version within a millisecond it had already read — and
//! the watermark may since have moved more than a lookback beyond it.
//!
//! Skipping the watermark's settled millisecond (so an idle run after a bulk import
//! reads nothing) was tried and dropped: the same-millisecond rule relies on that re-read.

use std::time::Duration;

use crate::domain::Timestamp;

/// The lower bound (inclusive, in Twenty's milliseconds) of the next delta pass.
pub fn delta_since(
    watermark: Timestamp,
    fresh_as_of: Option<Timestamp>,
    lookback: Duration,
    clock_skew: Duration,
) -> Timestamp {
    let since = watermark.saturating_sub(lookback);
    fresh_as_of
        .map(|began| began.saturating_sub(lookback).saturating_sub(clock_skew))
        .map_or(since, |floor| since.min(floor))
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
    fn a_lookback_before_the_watermark() {
        let w = t("2026-11-27T11:59:00.000Z");
        let began = t("2026-11-27T12:00:00.000Z");
        assert_eq!(
            delta_since(w, Some(began), LOOKBACK, SKEW),
            t("2026-11-27T11:57:00.000Z")
        );
        assert_eq!(
            delta_since(w, None, LOOKBACK, SKEW),
            t("2026-11-27T11:57:00.000Z")
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
}
