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
use spartan_sync::sync::{PageOutcome, RunStatus};
use spartan_sync::{
    DynamoLeadStore, ObjectName, RequestedMode, SyncEngine, SyncSettings, TwentyClient,
};

use super::counting::{DynamoCounter, DynamoCounts};
use super::pages::PageServer;
use super::{cpu_time, deadline, dynamodb_local_pid, proc_status_kb};
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::stack::{dynamo_at, dynamo_local, dynamo_local_endpoint, fresh_table};

/// What the child reports on stdout (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildReport {
    /// Every page fetched and stored.
    pub ingest_seconds: f64,
    /// The pass's end: the sweep for leads gone from Twenty, the watermark, the run
    /// record. `None` when not run.
    pub finish_seconds: Option<f64>,
    pub leads_in_table: i64,
    pub twenty_requests: u64,
    pub twenty_bytes: u64,
    pub dynamo: DynamoCounts,
    /// VmHWM after the pages, and at the end.
    pub peak_rss_ingest_kb: u64,
    pub peak_rss_kb: u64,
    pub cpu_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FullSyncCase {
    pub leads: usize,
    pub ingest_seconds: f64,
    /// Leads fetched from Twenty and written to DynamoDB per second, over the pages.
    pub leads_per_second: f64,
    pub finish_seconds: Option<f64>,
    pub twenty_requests: u64,
    pub twenty_bytes: u64,
    /// Counted in the sync process's SDK client (an interceptor), retries included.
    pub dynamo: DynamoCounts,
    pub dynamo_write_requests: u64,
    /// VmHWM of the sync process after the pages, and at the end.
    pub peak_rss_ingest_kb: u64,
    pub peak_rss_kb: u64,
    /// CPU time during the run: the sync process, the Twenty side (this process),
    /// DynamoDB Local.
    pub cpu_seconds_sync: f64,
    pub cpu_seconds_twenty: Option<f64>,
    pub cpu_seconds_dynamodb_local: Option<f64>,
}

/// A full sync of `n` leads; `finish` also runs the pass's end (the sweep).
pub async fn run(n: usize, finish: bool, repo_root: &Path) -> anyhow::Result<FullSyncCase> {
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
        .args(["--finish", if finish { "yes" } else { "no" }])
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
        twenty.records_served() == n as u64 && child.leads_in_table == n as i64,
        "the full sync of {n} did not complete: {} records served, {child:?}",
        twenty.records_served()
    );
    let diff = |a: Option<Duration>, b: Option<Duration>| Some((b? - a?).as_secs_f64());
    Ok(FullSyncCase {
        leads: n,
        ingest_seconds: child.ingest_seconds,
        leads_per_second: n as f64 / child.ingest_seconds,
        finish_seconds: child.finish_seconds,
        twenty_requests: child.twenty_requests,
        twenty_bytes: child.twenty_bytes,
        dynamo_write_requests: child.dynamo.write_requests(),
        dynamo: child.dynamo,
        peak_rss_ingest_kb: child.peak_rss_ingest_kb,
        peak_rss_kb: child.peak_rss_kb,
        cpu_seconds_sync: child.cpu_seconds,
        cpu_seconds_twenty: diff(cpu_before.0, cpu_after.0),
        cpu_seconds_dynamodb_local: diff(cpu_before.1, cpu_after.1),
    })
}

/// `bench child-sync --twenty-url U --api-key K --table T --dynamodb E --finish yes|no`:
/// one full pass with the production engine, store and settings (no pacing: the page
/// server has no rate limit), driven page by page as `SyncEngine::run` drives it, so
/// the pages and the pass's end are timed apart. Prints one JSON line on stdout.
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
    let owner = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    // As `run` does: the lease first (pages renew it), released at the end.
    engine
        .store()
        .acquire_lease(&owner, SyncSettings::default().lease_ttl)
        .await?
        .map_err(|holder| anyhow::anyhow!("the lease is held by {}", holder.owner))?;
    let mut run = engine.start(RequestedMode::Full, &owner).await?;
    loop {
        match run.next_page(deadline()).await? {
            PageOutcome::More => {}
            PageOutcome::Done => break,
            PageOutcome::OutOfTime => bail!("the pass ran out of time"),
        }
    }
    let ingest_seconds = started.elapsed().as_secs_f64();
    let peak_rss_ingest_kb = proc_status_kb(None, "VmHWM").unwrap_or(0);
    let finish_seconds = if arg("--finish")? == "yes" {
        let t = Instant::now();
        let summary = run.finish(deadline()).await?;
        ensure!(
            summary.status == RunStatus::Succeeded,
            "the pass ended {}: {:?}",
            summary.status.as_str(),
            summary.error
        );
        Some(t.elapsed().as_secs_f64())
    } else {
        None
    };
    engine.store().release_lease(&owner).await?;
    let twenty = engine.twenty().stats();
    let report = ChildReport {
        ingest_seconds,
        finish_seconds,
        leads_in_table: engine.store().load_state().await?.lead_count,
        twenty_requests: twenty.requests,
        twenty_bytes: twenty.response_bytes,
        dynamo: counter.snapshot(),
        peak_rss_ingest_kb,
        peak_rss_kb: proc_status_kb(None, "VmHWM").unwrap_or(0),
        cpu_seconds: cpu_time(None).map_or(0.0, |d| d.as_secs_f64()),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
