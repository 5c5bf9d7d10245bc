//! How runs read to people: the log lines and their wording.

use std::time::Duration;

use super::SyncMode;

pub(crate) fn leads(n: u64) -> &'static str {
    if n == 1 { "lead" } else { "leads" }
}

pub(crate) fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "full",
        SyncMode::Delta => "delta",
    }
}

pub(crate) fn mode_label(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "FULL",
        SyncMode::Delta => "DELTA",
    }
}

/// `754 s` → `12m 34s`, for log lines people read.
pub(crate) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(754)), "12m 34s");
        assert_eq!(human(Duration::from_secs(7300)), "2h 1m");
    }
}
