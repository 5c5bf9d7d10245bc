//! `twenty-emulator`: the Twenty CRM emulator as a standalone server, for `make run`,
//! demos and poking at by hand.
//!
//! ```text
//! twenty-emulator [--host 127.0.0.1] [--port 3000] [--api-key KEY] [--seed demo|empty|N]
//!                 [--rate-limit 100/60|off] [--webhook URL [--webhook-secret S]]
//! ```

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, bail};
use spartan_sync_tests::emulator::{Emulator, EmulatorOptions, Seed};

const USAGE: &str = "usage: twenty-emulator [--host 127.0.0.1] [--port 3000] [--api-key KEY] \
[--seed demo|empty|N] [--rate-limit 100/60|off] [--webhook URL [--webhook-secret S]]";

struct Args {
    options: EmulatorOptions,
    webhook: Option<String>,
    webhook_secret: String,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port: u16 = 3000;
    let mut options = EmulatorOptions {
        seed: Seed::DemoLeads,
        rate_limit: Some((100, Duration::from_secs(60))),
        ..EmulatorOptions::default()
    };
    let mut webhook = None;
    let mut webhook_secret = String::new();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--host" => host = value.parse().with_context(|| format!("--host {value}"))?,
            "--port" => port = value.parse().with_context(|| format!("--port {value}"))?,
            "--api-key" => options.api_key = value,
            "--seed" => options.seed = parse_seed(&value)?,
            "--rate-limit" => options.rate_limit = parse_rate_limit(&value)?,
            "--webhook" => webhook = Some(value),
            "--webhook-secret" => webhook_secret = value,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    options.bind = SocketAddr::new(host, port);
    Ok(Args {
        options,
        webhook,
        webhook_secret,
    })
}

fn parse_seed(value: &str) -> anyhow::Result<Seed> {
    Ok(match value {
        "demo" => Seed::DemoLeads,
        "empty" => Seed::Empty,
        n => Seed::Generated(
            n.parse()
                .with_context(|| format!("--seed takes demo, empty or a number, not {n}"))?,
        ),
    })
}

/// `100/60` = 100 requests per 60 seconds; `off` = no limit.
fn parse_rate_limit(value: &str) -> anyhow::Result<Option<(u32, Duration)>> {
    if value == "off" {
        return Ok(None);
    }
    let (count, secs) = value
        .split_once('/')
        .with_context(|| format!("--rate-limit takes N/SECONDS or off, not {value}"))?;
    let count = count
        .parse()
        .with_context(|| format!("--rate-limit {value}"))?;
    let secs = secs
        .parse()
        .with_context(|| format!("--rate-limit {value}"))?;
    Ok(Some((count, Duration::from_secs(secs))))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let args = parse_args(std::env::args().skip(1))?;
    let emulator = Emulator::start(args.options).await?;
    if let Some(target) = &args.webhook {
        let id = emulator.register_webhook(target, &["*.*"], &args.webhook_secret);
        tracing::info!(%target, webhook_id = %id, "webhook registered for *.*");
    }

    // The one line scripts wait for.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "twenty emulator listening on {}", emulator.url())?;
    stdout.flush()?;

    shutdown_signal().await;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> anyhow::Result<Args> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let parsed = args(&[
            "--port",
            "0",
            "--api-key",
            "k",
            "--seed",
            "500",
            "--rate-limit",
            "off",
        ])
        .expect("valid");
        assert_eq!(parsed.options.bind.port(), 0);
        assert_eq!(parsed.options.api_key, "k");
        assert_eq!(parsed.options.seed, Seed::Generated(500));
        assert_eq!(parsed.options.rate_limit, None);
        let defaults = args(&[]).expect("valid");
        assert_eq!(defaults.options.bind.port(), 3000);
        assert_eq!(defaults.options.seed, Seed::DemoLeads);
        assert_eq!(
            defaults.options.rate_limit,
            Some((100, Duration::from_secs(60)))
        );
        assert!(args(&["--rate-limit", "fast"]).is_err());
        assert!(args(&["--bogus", "1"]).is_err());
    }
}
