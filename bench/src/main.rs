//! `bench`: Spartan Sync's benchmark suite (`make bench`). Needs DynamoDB Local
//! (`AWS_ENDPOINT_URL_DYNAMODB`, as scripts/with-dynamodb.sh sets it) and the `delta-sync`
//! and `webhook` binaries built beside it (scripts/bench.sh builds all three).
//!
//! ```text
//! bench [run] [--out DIR] [--build-seconds S] [--only bandwidth,quiet,full-sync,webhook,footprint]
//!             [--full-sync-sizes 10000,100000] [--finish-up-to 100000] [--webhook-events 10000]
//!             [--rate-limited-leads 6300]
//! bench child-sync --twenty-url U --api-key K --table T --dynamodb E   (used by run)
//! ```

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use spartan_sync_bench::{self as bench, Plan};

const USAGE: &str = "usage: bench [run] [--out DIR] [--build-seconds S] \
[--only bandwidth,quiet,full-sync,webhook,footprint] [--full-sync-sizes 10000,100000] \
[--finish-up-to 100000] [--webhook-events N] [--rate-limited-leads 6300]";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("child-sync") => runtime.block_on(bench::full_sync::child(&args[1..])),
        Some("run") => runtime.block_on(run(&args[1..])),
        Some("--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => runtime.block_on(run(&args)),
    }
}

async fn run(args: &[String]) -> anyhow::Result<()> {
    let mut plan = Plan::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--out" => plan.out_dir = PathBuf::from(value),
            "--build-seconds" => plan.build_seconds = Some(value.parse()?),
            "--only" => {
                let parts: Vec<&str> = value.split(',').map(str::trim).collect();
                for part in &parts {
                    if !["bandwidth", "quiet", "full-sync", "webhook", "footprint"].contains(part) {
                        bail!("--only: unknown part {part}\n{USAGE}");
                    }
                }
                plan.bandwidth = parts.contains(&"bandwidth");
                plan.quiet = parts.contains(&"quiet");
                plan.footprint = parts.contains(&"footprint");
                if !parts.contains(&"full-sync") {
                    plan.full_sync_sizes.clear();
                }
                if !parts.contains(&"webhook") {
                    plan.webhook_events = 0;
                }
            }
            "--full-sync-sizes" => {
                plan.full_sync_sizes = value
                    .split(',')
                    .map(|n| n.trim().replace('_', "").parse())
                    .collect::<Result<_, _>>()
                    .context("--full-sync-sizes takes numbers, e.g. 10000,100000")?;
            }
            "--finish-up-to" => plan.finish_up_to = value.replace('_', "").parse()?,
            "--webhook-events" => plan.webhook_events = value.parse()?,
            "--rate-limited-leads" => plan.rate_limited_leads = value.replace('_', "").parse()?,
            other => bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    bench::run(plan).await?;
    Ok(())
}
