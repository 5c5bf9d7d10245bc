//! Timestamps as Twenty shows them: ISO 8601 UTC with exactly three millisecond digits.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// Milliseconds since the Unix epoch.
pub(crate) type Millis = i64;

pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2026-11-24T17:13:20.902Z`.
pub(crate) fn format_ms(ms: Millis) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    (OffsetDateTime::UNIX_EPOCH + Duration::milliseconds(ms))
        .format(&format)
        .unwrap_or_default()
}

/// Parses an RFC 3339 instant (quoted filter values are unquoted before), to the
/// millisecond, rounding down: the API shows milliseconds, so that is the comparison unit.
pub(crate) fn parse_instant(s: &str) -> Option<Millis> {
    let dt = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// The server's clock. Strictly increasing, so two edits never share an `updatedAt`
/// by accident; records that must share one (a batch) take a single tick.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: Millis,
}

impl Clock {
    pub(crate) fn tick(&mut self) -> Millis {
        let t = now_ms().max(self.last + 1);
        self.last = t;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_millisecond_instants() {
        let ms = parse_instant("2026-11-24T17:13:20.902Z").expect("valid");
        assert_eq!(format_ms(ms), "2026-11-24T17:13:20.902Z");
        assert_eq!(
            parse_instant("2026-11-24T17:12:00Z")
                .map(format_ms)
                .as_deref(),
            Some("2026-11-24T17:12:00.000Z")
        );
        assert_eq!(parse_instant("notadate"), None);
    }

    #[test]
    fn clock_never_repeats() {
        let mut clock = Clock::default();
        let a = clock.tick();
        let b = clock.tick();
        assert!(b > a);
    }
}
