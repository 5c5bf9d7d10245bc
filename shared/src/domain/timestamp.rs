use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A Twenty timestamp: UTC, millisecond precision, always rendered as
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
///
/// The fixed rendering matters: the store compares timestamps as strings inside
/// DynamoDB condition expressions, which is only sound when every value has the same
/// shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

#[derive(Debug, thiserror::Error)]
#[error("'{input}' is not an ISO 8601 timestamp (expected e.g. 2026-11-24T17:13:20.902Z)")]
pub struct TimestampError {
    input: String,
}

impl Timestamp {
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let parsed = OffsetDateTime::parse(input, &Rfc3339).map_err(|_| TimestampError {
            input: input.chars().take(64).collect(),
        })?;
        Ok(Self::from_datetime(parsed))
    }

    pub fn now() -> Self {
        match super::clock::now_millis().and_then(Self::from_unix_millis) {
            Some(simulated) => simulated,
            None => Self::from_datetime(OffsetDateTime::now_utc()),
        }
    }

    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .map(Self)
    }

    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    fn from_datetime(dt: OffsetDateTime) -> Self {
        // Truncate to milliseconds: that is all the API shows and all its filters compare.
        let dt = dt.to_offset(UtcOffset::UTC);
        let millis = dt.millisecond();
        Self(dt.replace_millisecond(millis).unwrap_or(dt))
    }

    pub fn saturating_sub(&self, d: Duration) -> Self {
        Self::from_datetime(self.0 - d)
    }

    pub fn saturating_add(&self, d: Duration) -> Self {
        Self::from_datetime(self.0 + d)
    }

    /// How long ago (or zero if in the future) relative to `now`.
    pub fn age_at(&self, now: Timestamp) -> Duration {
        let diff = now.0 - self.0;
        diff.try_into().unwrap_or(Duration::ZERO)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        match self.0.format(&format) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_twentys_millisecond_shape() {
        let ts = Timestamp::parse("2026-11-24T17:13:20.902Z").unwrap();
        assert_eq!(ts.to_string(), "2026-11-24T17:13:20.902Z");
        let no_millis = Timestamp::parse("2026-11-24T17:13:20Z").unwrap();
        assert_eq!(no_millis.to_string(), "2026-11-24T17:13:20.000Z");
    }

    #[test]
    fn normalises_offsets_and_truncates_sub_millis() {
        let ts = Timestamp::parse("2026-11-24T18:13:20.902777+01:00").unwrap();
        assert_eq!(ts.to_string(), "2026-11-24T17:13:20.902Z");
    }

    #[test]
    fn string_order_matches_time_order() {
        let a = Timestamp::parse("2026-11-24T09:59:59.999Z").unwrap();
        let b = Timestamp::parse("2026-11-24T10:00:00.000Z").unwrap();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn rejects_garbage_with_the_input_in_the_message() {
        let err = Timestamp::parse("yesterday").unwrap_err();
        assert!(err.to_string().contains("'yesterday'"));
    }

    #[test]
    fn unix_millis_round_trip() {
        let ts = Timestamp::from_unix_millis(1_795_540_400_577).unwrap();
        assert_eq!(ts.unix_millis(), 1_795_540_400_577);
    }
}
