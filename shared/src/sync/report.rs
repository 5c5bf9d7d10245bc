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

/// The one line a person reads about a run, in the words of its log.
pub(crate) fn headline(run: &super::status::LastRun) -> String {
    let mode = run.mode.as_deref().unwrap_or("delta");
    match run.status.as_deref().unwrap_or("") {
        "succeeded" if mode == "full" => format!(
            "Full sync complete: {} {} written, {} removed, {} in table",
            run.changed,
            leads(run.changed),
            run.removed,
            run.total_in_table
        ),
        "succeeded" => format!(
            "Found {} changed {} out of {} total",
            run.changed,
            leads(run.changed),
            run.total_in_table
        ),
        "partial" => format!(
            "Sync paused after {} records; the next run resumes from the checkpoint",
            run.fetched
        ),
        "failed" => format!(
            "Sync failed: {}",
            run.error.as_deref().unwrap_or("no reason recorded")
        ),
        "skipped" => "Skipped: another sync run was in progress".to_string(),
        other => format!("Last run: {other}"),
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

    #[test]
    fn a_run_reads_as_its_log_line() {
        let run = |status: &str, mode: &str| super::super::status::LastRun {
            status: Some(status.into()),
            mode: Some(mode.into()),
            changed: 1,
            total_in_table: 47,
            error: Some("Twenty is unreachable".into()),
            ..Default::default()
        };
        assert_eq!(
            headline(&run("succeeded", "delta")),
            "Found 1 changed lead out of 47 total"
        );
        assert_eq!(
            headline(&run("succeeded", "full")),
            "Full sync complete: 1 lead written, 0 removed, 47 in table"
        );
        assert_eq!(
            headline(&run("failed", "delta")),
            "Sync failed: Twenty is unreachable"
        );
    }
}
