//! The functions' log output, set up once at cold start.
//!
//! In Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`, which the stack sets) every line is a JSON
//! object carrying its spans (the runtime's `requestId`, the sync's `run_id`). Anywhere else
//! (`make run`, `cargo lambda watch`) a line is `LEVEL message fields`: no span prefix, and
//! colour only on a terminal (never when `NO_COLOR` is set), so a log file reads cleanly.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub use crate::config::LogSettings;

/// Installs the global subscriber the settings describe. Call once, first thing in `main`.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::builder()
        .with_default_directive(settings.level.into())
        .parse_lossy(settings.directives.as_deref().unwrap_or_default());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    if settings.json {
        builder.json().with_target(false).without_time().init();
    } else {
        builder
            .with_ansi(settings.ansi)
            .event_format(PlainLine)
            .init();
    }
}

/// `LEVEL message key=value ...`, the event alone without its span context.
pub struct PlainLine;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        if writer.has_ansi_escapes() {
            let colour = match level {
                Level::ERROR => "31",
                Level::WARN => "33",
                Level::INFO => "32",
                Level::DEBUG => "34",
                Level::TRACE => "35",
            };
            write!(writer, "\x1b[{colour}m{level:>5}\x1b[0m ")?;
        } else {
            write!(writer, "{level:>5} ")?;
        }
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::PlainLine;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn a_plain_line_is_the_level_the_message_and_its_fields_without_spans_or_colour() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .event_format(PlainLine)
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "292047da");
            let _entered = span.enter();
            tracing::info!(
                total = 47,
                "Full sync complete: 47 leads written, 0 removed, 47 in table"
            );
            tracing::warn!("careful");
        });
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(
            text,
            " INFO Full sync complete: 47 leads written, 0 removed, 47 in table total=47\n \
             WARN careful\n"
        );
    }
}
