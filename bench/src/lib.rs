//! `make bench`: what a sync costs in bytes and requests, how fast the full sync and the
//! webhook path go, and how big and quick to start the functions are — against DynamoDB
//! Local and the Twenty emulator, all on 127.0.0.1. Driven by the `bench` binary; see
//! `docs/performance.md` for what each number means. Its own crate: the tests library
//! lends it the emulator and the stack helpers, and holds no benchmark code itself.

pub mod bandwidth;
pub mod counting;
pub mod footprint;
pub mod full_sync;
pub mod idle;
pub mod pages;
pub mod report;
pub mod webhook;
pub mod wire;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

pub use report::Results;

/// Which parts to run, and at what sizes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bandwidth: bool,
    /// Idle runs after a bulk import, and the idle and reconcile cost with notes.
    pub quiet: bool,
    pub full_sync_sizes: Vec<usize>,
    /// Full syncs of at most this many leads also run the pass's end (the sweep for
    /// leads gone from Twenty, the watermark, the run record): by default every size,
    /// so the peak memory reported is that of a whole pass.
    pub finish_up_to: usize,
    pub webhook_events: usize,
    pub webhook_leads: usize,
    /// Leads in the rate-limited full sync (part of full-sync; 0: not run).
    pub rate_limited_leads: usize,
    pub footprint: bool,
    /// Where the results go (`results.json`, a timestamped copy, `results.md`).
    pub out_dir: PathBuf,
    /// How long building the bench took, as measured by scripts/bench.sh.
    pub build_seconds: Option<f64>,
    pub repo_root: PathBuf,
}

impl Default for Plan {
    fn default() -> Self {
        let repo_root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self {
            bandwidth: true,
            quiet: true,
            full_sync_sizes: vec![10_000, 100_000],
            finish_up_to: 100_000,
            webhook_events: 10_000,
            webhook_leads: 1_000,
            // 315 pages of 20: three whole windows of 90 requests, and some.
            rate_limited_leads: 6_300,
            footprint: true,
            out_dir: repo_root.join("target/bench"),
            build_seconds: None,
            repo_root,
        }
    }
}

/// Leads in each measurement of DynamoDB Local's ceiling.
pub const CEILING_LEADS: usize = 10_000;
/// Ceiling runs thrown away first: DynamoDB Local's JIT goes on speeding it up over
/// its first few tens of thousands of writes (here 750, then 1,700, then 2,060 leads/s).
pub const WARM_UP_ROUNDS: usize = 2;

/// Runs the plan, prints the table, writes the results.
pub async fn run(plan: Plan) -> anyhow::Result<Results> {
    let started = Instant::now();
    let mut results = Results::new(&plan);
    if plan.bandwidth {
        for (n, k) in [(1_000, 3), (10_000, 20)] {
            step(&format!("bandwidth N={n} k={k}"));
            results.bandwidth.push(bandwidth::run(n, k).await?);
        }
    }
    if plan.quiet {
        step("idle run after a bulk import of 10,000 leads");
        results.idle_after_import = Some(idle::after_import(10_000).await?);
        for n in [1_000, 10_000] {
            step(&format!("idle run and reconcile, {n} leads with notes"));
            results.reconcile.push(idle::reconcile(n).await?);
        }
    }
    // DynamoDB Local's ceiling: measured before and after the full syncs, the faster
    // kept, after one warm-up run (its JIT speeds up over the first thousands of writes,
    // and a ceiling measured cold would flatter the syncs).
    let ceiling_leads = plan.full_sync_sizes.first().map(|&n| n.min(CEILING_LEADS));
    if let Some(n) = ceiling_leads {
        let mut warm_up = None;
        for round in 1..=WARM_UP_ROUNDS {
            step(&format!(
                "DynamoDB Local warm-up {round}/{WARM_UP_ROUNDS}: {n} leads"
            ));
            warm_up = Some(full_sync::ceiling(n).await?);
        }
        step(&format!(
            "DynamoDB Local's ceiling: {n} leads, writes alone"
        ));
        let mut ceiling = full_sync::ceiling(n).await?;
        ceiling.warm_up_leads_per_second = warm_up.map(|w| w.leads_per_second);
        results.ceiling = Some(ceiling);
    }
    for &n in &plan.full_sync_sizes {
        step(&format!("full sync of {n} leads"));
        results
            .full_sync
            .push(full_sync::run(n, n <= plan.finish_up_to, &plan.repo_root).await?);
    }
    if let (Some(n), Some(c)) = (ceiling_leads, results.ceiling.as_mut()) {
        step(&format!("DynamoDB Local's ceiling again: {n} leads"));
        let again = full_sync::ceiling(n).await?;
        c.measured.push(again.leads_per_second);
        if again.leads_per_second > c.leads_per_second {
            c.leads_per_second = again.leads_per_second;
            c.seconds = again.seconds;
            c.dynamo = again.dynamo;
        }
    }
    if let Some(c) = &results.ceiling {
        for f in &mut results.full_sync {
            f.fraction_of_ceiling = Some(f.leads_per_second / c.leads_per_second);
        }
    }
    if !plan.full_sync_sizes.is_empty() && plan.rate_limited_leads > 0 {
        step(&format!(
            "rate-limited full sync of {} leads",
            plan.rate_limited_leads
        ));
        results.rate_limited = Some(full_sync::rate_limited(plan.rate_limited_leads).await?);
    }
    if plan.webhook_events > 0 {
        step(&format!(
            "webhook path: {} events over {} leads",
            plan.webhook_events, plan.webhook_leads
        ));
        results.webhook = Some(webhook::run(plan.webhook_events, plan.webhook_leads).await?);
    }
    if plan.footprint {
        step("footprint: artifacts, cold starts, peak RSS");
        results.footprint = Some(footprint::run(&plan.repo_root).await?);
    }
    results.run_seconds = started.elapsed().as_secs_f64();
    let table = results.table();
    println!("\n{table}");
    results.write(&plan.out_dir, &table)?;
    eprintln!(
        "==> results in {}/results.json (and results.md)",
        plan.out_dir.display()
    );
    Ok(results)
}

/// `count` leads last edited over `span`, the newest an hour ago (`span` zero: all at
/// one instant, as a bulk import leaves them), in pages of `page_size`.
pub async fn backdated_stack(
    count: usize,
    span: Duration,
    page_size: u32,
) -> spartan_sync_tests::stack::TestStack {
    use spartan_sync_tests::emulator::Seed;
    use spartan_sync_tests::stack::{StackOptions, TestStack};
    TestStack::with(StackOptions {
        seed: Seed::Backdated {
            count,
            age: Duration::from_secs(3600),
            span,
        },
        page_size,
        ..StackOptions::default()
    })
    .await
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

/// A field of `/proc/<pid>/status` in kB (`VmHWM`, `VmRSS`); `None` for this process.
pub fn proc_status_kb(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(
        ticks * 1000 / clock_ticks_per_second(),
    ))
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(100)
}

/// The DynamoDB Local process scripts/dynamodb-local.sh started, from its pid file.
pub fn dynamodb_local_pid(repo_root: &Path) -> Option<u32> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok()?;
    let port = endpoint.rsplit(':').next()?.trim_end_matches('/');
    std::fs::read_to_string(repo_root.join(format!(".run/dynamodb-{port}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `p`-th percentile (0..=100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    percentile(&sorted, 50.0)
}

/// The binaries built next to this one (same profile): `delta-sync`, `webhook`.
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let path = exe
        .parent()
        .context("the bench binary has no directory")?
        .join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: build it with the bench (scripts/bench.sh builds delta-sync and webhook)",
        path.display()
    );
    Ok(path)
}

pub fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(30 * 60)
}
