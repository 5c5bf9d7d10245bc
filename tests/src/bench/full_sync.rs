//! Full sync throughput: `N` emulated leads into a fresh DynamoDB Local table. The sync
//! runs in a child process (this binary, `child-sync`), so its peak memory is its own and
//! not the emulator's; DynamoDB requests are counted inside the child's SDK client. The
//! emulator's records are served by [`PageServer`](super::pages::PageServer), which pages
//! through them without re-sorting the whole object for every request.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use spartan_sync::config::TwentySettings;
use spartan_sync::sync::RunStatus;
use spartan_sync::{
    DynamoLeadStore, ObjectName, RequestedMode, SyncEngine, SyncSettings, SyncSummary, TwentyClient,
};

use super::counting::{DynamoCounter, DynamoCounts};
use super::pages::PageServer;
use super::{cpu_time, deadline, dynamodb_local_pid, proc_status_kb};
use crate::emulator::Seed;
use crate::stack::{dynamo_at, dynamo_local, dynamo_local_endpoint, fresh_table};

/// What the child reports on stdout (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    pub seconds: f64,
    pub fetched: u64,
    pub changed: u64,
    pub pages: u32,
    pub twenty_requests: u64,
    pub twenty_bytes: u64,
    pub status: String,
    pub dynamo: DynamoCounts,
    pub peak_rss_kb: u64,
    pub cpu_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FullSyncCase {
    pub leads: usize,
    pub seconds: f64,
    pub leads_per_second: f64,
    pub pages: u32,
    pub twenty_requests: u64,
    pub twenty_bytes: u64,
    /// Counted in the sync process's SDK client (an interceptor), retries included.
    pub dynamo: DynamoCounts,
    pub dynamo_write_requests: u64,
    /// VmHWM of the sync process.
    pub peak_rss_kb: u64,
    /// CPU time during the run: the sync process, the Twenty side (this process),
    /// DynamoDB Local.
    pub cpu_seconds_sync: f64,
    pub cpu_seconds_twenty: Option<f64>,
    pub cpu_seconds_dynamodb_local: Option<f64>,
}

pub async fn run(n: usize, repo_root: &Path) -> anyhow::Result<FullSyncCase> {
    // One batch timestamp, like a dev seed.
    let twenty = PageServer::from_emulator(Seed::Backdated {
        count: n,
        age: Duration::from_secs(3600),
        span: Duration::ZERO,
    })
    .await?;
    let admin = dynamo_local().await;
    let table = fresh_table(&admin).await;
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .args(["child-sync", "--twenty-url", &twenty.url()])
        .args(["--api-key", &twenty.api_key, "--table", &table])
        .args(["--dynamodb", &dynamo_local_endpoint()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());

    let dynamo_pid = dynamodb_local_pid(repo_root);
    let cpu_before = (cpu_time(None), dynamo_pid.and_then(|p| cpu_time(Some(p))));
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    let cpu_after = (cpu_time(None), dynamo_pid.and_then(|p| cpu_time(Some(p))));
    ensure!(
        output.status.success(),
        "child-sync failed: {}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("child-sync printed no report")?;
    let child: ChildReport = serde_json::from_str(line)?;
    ensure!(
        child.status == "succeeded" && child.changed == n as u64 && child.fetched == n as u64,
        "the full sync of {n} did not complete: {child:?}"
    );
    let diff = |a: Option<Duration>, b: Option<Duration>| Some((b? - a?).as_secs_f64());
    Ok(FullSyncCase {
        leads: n,
        seconds: child.seconds,
        leads_per_second: n as f64 / child.seconds,
        pages: child.pages,
        twenty_requests: child.twenty_requests,
        twenty_bytes: child.twenty_bytes,
        dynamo_write_requests: child.dynamo.write_requests(),
        dynamo: child.dynamo,
        peak_rss_kb: child.peak_rss_kb,
        cpu_seconds_sync: child.cpu_seconds,
        cpu_seconds_twenty: diff(cpu_before.0, cpu_after.0),
        cpu_seconds_dynamodb_local: diff(cpu_before.1, cpu_after.1),
    })
}

/// `bench child-sync --twenty-url U --api-key K --table T --dynamodb E`: one forced full
/// sync with the production engine and settings (no pacing: the emulator has no rate
/// limit), then one JSON line on stdout.
pub async fn child(args: &[String]) -> anyhow::Result<()> {
    let arg = |name: &str| -> anyhow::Result<String> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .with_context(|| format!("child-sync needs {name}"))
    };
    let settings = TwentySettings {
        api_url: url::Url::parse(&format!("{}/", arg("--twenty-url")?))?,
        api_key: SecretString::from(arg("--api-key")?),
        object: ObjectName::from_plural("leads"),
        page_size: super::bandwidth::PAGE_SIZE,
        request_timeout: Duration::from_secs(20),
        rate_limit_per_minute: 0,
    };
    let counter = DynamoCounter::default();
    let dynamo = counter.install(&dynamo_at(&arg("--dynamodb")?).await);
    let store = DynamoLeadStore::new(dynamo, arg("--table")?, "leads");
    let engine = SyncEngine::new(
        TwentyClient::new(&settings)?,
        store,
        SyncSettings::default(),
    );
    let started = Instant::now();
    let summary: SyncSummary = engine.run(RequestedMode::Full, deadline()).await?;
    let seconds = started.elapsed().as_secs_f64();
    if summary.status != RunStatus::Succeeded {
        bail!(
            "the sync ended {}: {:?}",
            summary.status.as_str(),
            summary.error
        );
    }
    let report = ChildReport {
        seconds,
        fetched: summary.fetched,
        changed: summary.changed,
        pages: summary.pages,
        twenty_requests: summary.requests,
        twenty_bytes: summary.response_bytes,
        status: summary.status.as_str().to_string(),
        dynamo: counter.snapshot(),
        peak_rss_kb: proc_status_kb(None, "VmHWM").unwrap_or(0),
        cpu_seconds: cpu_time(None).map_or(0.0, |d| d.as_secs_f64()),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
