//! How the functions log (read here, applied by [`crate::logging`]).

/// The log format and level.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// JSON lines: `AWS_LAMBDA_LOG_FORMAT=JSON` (Lambda's advanced logging controls).
    pub json: bool,
    /// The default level: `AWS_LAMBDA_LOG_LEVEL`, else `INFO`.
    pub level: tracing::level_filters::LevelFilter,
    /// Per-target directives, as in `RUST_LOG` (`AWS_LAMBDA_LOG_LEVEL` wins over it).
    pub directives: Option<String>,
    /// Colour codes: only on a terminal, and never with `NO_COLOR` set.
    pub ansi: bool,
}

impl LogSettings {
    pub fn from_env() -> Self {
        use std::io::IsTerminal;
        Self::from_lookup(
            |name| std::env::var(name).ok(),
            std::io::stdout().is_terminal(),
        )
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>, stdout_is_terminal: bool) -> Self {
        let lambda_level = get("AWS_LAMBDA_LOG_LEVEL").filter(|v| !v.trim().is_empty());
        let level = lambda_level
            .as_deref()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(tracing::level_filters::LevelFilter::INFO);
        Self {
            json: get("AWS_LAMBDA_LOG_FORMAT")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("json")),
            level,
            directives: lambda_level
                .is_none()
                .then(|| get("RUST_LOG"))
                .flatten()
                .filter(|v| !v.trim().is_empty()),
            ansi: stdout_is_terminal && get("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogSettings;
    use tracing::level_filters::LevelFilter;

    fn settings(vars: &[(&str, &str)], terminal: bool) -> LogSettings {
        LogSettings::from_lookup(
            |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            },
            terminal,
        )
    }

    #[test]
    fn json_in_lambda_plain_elsewhere() {
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")], false).json);
        assert!(!settings(&[], false).json);
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(settings(&[], true).ansi);
        assert!(!settings(&[], false).ansi);
        assert!(!settings(&[("NO_COLOR", "1")], true).ansi);
    }

    #[test]
    fn lambda_level_wins_over_rust_log() {
        let s = settings(
            &[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")],
            false,
        );
        assert_eq!((s.level, s.directives), (LevelFilter::WARN, None));
        let s = settings(&[("RUST_LOG", "spartan_sync=debug")], false);
        assert_eq!(s.level, LevelFilter::INFO);
        assert_eq!(s.directives.as_deref(), Some("spartan_sync=debug"));
    }
}
