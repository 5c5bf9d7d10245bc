//! Where a delta pass starts reading.
//!
//! The lookback exists for late commits: a record can become visible with an
//! `updatedAt` older than one already read (Twenty stamps the time before its commit
//! lands). It is not there to re-read settled records forever: after a bulk import,
//! thousands of records share the watermark's `updatedAt`, and `watermark - lookback`
//! would re-read all of them on every idle run.
//!
//! So: if the last completed pass began (`fresh_as_of`) more than the lookback, plus
//! what Twenty's clock may trail ours by, after the watermark, no record dated at or
//! before the watermark can still be committed — that pass already saw every one — and
//! the window starts at the next millisecond. Otherwise it starts a lookback before it.

use std::time::Duration;

use crate::domain::Timestamp;

/// The lower bound (inclusive, in Twenty's milliseconds) of the next delta pass.
pub fn delta_since(
    watermark: Timestamp,
    fresh_as_of: Option<Timestamp>,
    lookback: Duration,
    clock_skew: Duration,
) -> Timestamp {
    let settled = fresh_as_of
        .is_some_and(|began| began.saturating_sub(lookback).saturating_sub(clock_skew) > watermark);
    if settled {
        // Twenty shows milliseconds: everything shown at the watermark's was seen.
        watermark.saturating_add(Duration::from_millis(1))
    } else {
        watermark.saturating_sub(lookback)
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

    /// Issue #14: after a bulk import (every record at one `updatedAt`, long ago), an
    /// idle run reads from just past the watermark: nothing, in one request.
    #[test]
    fn a_settled_watermark_is_not_read_again() {
        let w = t("2026-11-27T09:00:00.123Z");
        let since = delta_since(w, Some(t("2026-11-27T12:00:00.000Z")), LOOKBACK, SKEW);
        assert_eq!(since, t("2026-11-27T09:00:00.124Z"));
    }

    /// Within the lookback (plus skew) of the last pass's start, a late commit dated at
    /// or before the watermark could still appear: the window keeps the lookback.
    #[test]
    fn a_recent_watermark_keeps_the_lookback() {
        let w = t("2026-11-27T11:57:30.000Z");
        let began = t("2026-11-27T12:00:00.000Z"); // 150 s after: inside 120 + 60
        assert_eq!(
            delta_since(w, Some(began), LOOKBACK, SKEW),
            t("2026-11-27T11:55:30.000Z")
        );
        assert_eq!(
            delta_since(w, None, LOOKBACK, SKEW),
            t("2026-11-27T11:55:30.000Z"),
            "no completed pass known: the lookback"
        );
    }
}
