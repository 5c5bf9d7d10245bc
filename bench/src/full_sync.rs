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
use spartan_sync::store::{LeadWrite, Mirror, WriteOrigin};
use spartan_sync::sync::{Context, PageOutcome, RunStatus, rules};
use spartan_sync::twenty::{ListQuery, Pacer};
use spartan_sync::{
    DynamoLeadStore, ObjectName, RequestedMode, SyncEngine, SyncSettings, Timestamp, TwentyClient,
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
    /// leads_per_second over the same run's DynamoDB Local ceiling.
    pub fraction_of_ceiling: Option<f64>,
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
        fraction_of_ceiling: None,
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
    // As `run` does: the lease first (pages renew it), released at the end.
    engine
        .store()
        .acquire_lease(&owner, SyncSettings::default().lease_ttl)
        .await?
        .map_err(|holder| anyhow::anyhow!("the lease is held by {}", holder.owner))?;
    let mut run = engine.start(RequestedMode::Full, &owner).await?;
    // The pages alone, as the ceiling is timed: from the first page's request.
    let started = Instant::now();
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

/// What DynamoDB Local itself accepts on this machine: the full sync's own writes (a
/// page's conditional puts, `attribute_not_exists`, in the store's transactions of up to
/// 100 items with the lead count), decided beforehand and sent one page after another
/// with nothing else to do — no fetching, parsing or deciding. The full sync's ingest is
/// reported as a fraction of it.
#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    pub leads: usize,
    pub seconds: f64,
    /// The faster of the measurements.
    pub leads_per_second: f64,
    pub dynamo: DynamoCounts,
    /// Every measurement, before and after the full syncs (leads/s).
    pub measured: Vec<f64>,
    /// The last warm-up run before them, not counted.
    pub warm_up_leads_per_second: Option<f64>,
    /// What deciding the writes took (not counted in the ceiling; the sync pays it).
    pub decide_seconds: f64,
}

pub async fn ceiling(n: usize) -> anyhow::Result<Ceiling> {
    let twenty = PageServer::from_emulator(Seed::Backdated {
        count: n,
        age: Duration::from_secs(3600),
        span: Duration::ZERO,
    })
    .await?;
    let settings = TwentySettings {
        api_url: url::Url::parse(&format!("{}/", twenty.url()))?,
        api_key: SecretString::from(twenty.api_key.clone()),
        object: ObjectName::from_plural("leads"),
        page_size: super::bandwidth::PAGE_SIZE,
        request_timeout: Duration::from_secs(20),
        rate_limit_per_minute: 0,
    };
    let client = TwentyClient::new(&settings)?;
    let now = Timestamp::now();
    let ctx = Context {
        origin: WriteOrigin::Sync,
        now,
        generation: Some(1),
        read_at: Some(now),
    };
    let mut pages: Vec<Vec<LeadWrite>> = Vec::new();
    let mut query = ListQuery::changes_since(None, super::bandwidth::PAGE_SIZE);
    let mut decide_seconds = 0.0;
    loop {
        let page = client.list(&query, deadline()).await?;
        let decide_started = Instant::now();
        let writes = page
            .records
            .iter()
            .map(|r| match rules::on_remote(None, r, &ctx) {
                (_, Some(item)) => Ok(LeadWrite::replace(r.id(), None, Some(item))),
                (applied, None) => Err(anyhow::anyhow!("{applied:?} for a new lead")),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        decide_seconds += decide_started.elapsed().as_secs_f64();
        pages.push(writes);
        match page.end_cursor {
            Some(c) if page.has_next_page && !page.records.is_empty() => {
                query.starting_after = Some(c);
            }
            _ => break,
        }
    }
    let admin = dynamo_local().await;
    let table = fresh_table(&admin).await;
    let counter = DynamoCounter::default();
    let store = DynamoLeadStore::new(counter.install(&admin), table, "leads");
    let started = Instant::now();
    for writes in &pages {
        let landed = store.write_leads(writes).await?;
        ensure!(
            landed.iter().all(|l| *l),
            "a write into the empty table did not land"
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let leads: usize = pages.iter().map(Vec::len).sum();
    ensure!(leads == n, "the ceiling wrote {leads} leads of {n}");
    ensure!(
        store.load_state().await?.lead_count == n as i64,
        "the ceiling's lead count is off"
    );
    Ok(Ceiling {
        leads,
        seconds,
        leads_per_second: leads as f64 / seconds,
        dynamo: counter.snapshot(),
        measured: vec![leads as f64 / seconds],
        warm_up_leads_per_second: None,
        decide_seconds,
    })
}

/// A full sync under Twenty's rate limit, in time scaled down tenfold: the page server
/// refuses what the emulator would (100 requests per 6 s instead of per 60 s), the client
/// allows itself 90 per 6 s (the default `TWENTY_RATE_LIMIT_PER_MINUTE`, scaled the same
/// way) and asks for pages of 20 instead of 200 — the same leads per second as
/// production, ten times the requests. Reported as the requests Twenty admitted in the
/// run's whole windows over what the budget allows in them.
#[derive(Debug, Clone, Serialize)]
pub struct RateLimited {
    pub leads: usize,
    pub page_size: u32,
    pub budget: u32,
    pub twenty_limit: u32,
    pub window_seconds: f64,
    pub requests: u64,
    /// 429s the page server sent, and those the client saw.
    pub refused: u64,
    pub client_rate_limited: u64,
    /// Whole windows from the first request, and the requests that arrived in them.
    pub windows: u32,
    pub requests_in_windows: u64,
    pub requests_per_second: f64,
    pub budget_per_second: f64,
    /// requests_per_second / budget_per_second.
    pub fraction_of_budget: f64,
    pub seconds: f64,
}

pub const RATE_LIMITED_PAGE: u32 = 20;
pub const RATE_LIMITED_BUDGET: u32 = 90;
pub const RATE_LIMITED_TWENTY: u32 = 100;
pub const RATE_LIMITED_WINDOW: Duration = Duration::from_secs(6);

pub async fn rate_limited(n: usize) -> anyhow::Result<RateLimited> {
    let window = RATE_LIMITED_WINDOW;
    let twenty = PageServer::with_rate_limit(
        Seed::Backdated {
            count: n,
            age: Duration::from_secs(3600),
            span: Duration::ZERO,
        },
        Some((RATE_LIMITED_TWENTY, window)),
    )
    .await?;
    let settings = TwentySettings {
        api_url: url::Url::parse(&format!("{}/", twenty.url()))?,
        api_key: SecretString::from(twenty.api_key.clone()),
        object: ObjectName::from_plural("leads"),
        page_size: RATE_LIMITED_PAGE,
        request_timeout: Duration::from_secs(20),
        rate_limit_per_minute: RATE_LIMITED_BUDGET,
    };
    let client = TwentyClient::new(&settings)?.with_pacer(Pacer::new(RATE_LIMITED_BUDGET, window));
    let admin = dynamo_local().await;
    let table = fresh_table(&admin).await;
    let engine = SyncEngine::new(
        client,
        DynamoLeadStore::new(admin, table, "leads"),
        SyncSettings::default(),
    );
    let started = Instant::now();
    let summary = engine.run(RequestedMode::Full, deadline()).await?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(
        summary.status == RunStatus::Succeeded && summary.changed == n as u64,
        "the rate-limited full sync of {n} did not complete: {summary:?}"
    );
    let arrivals = twenty.admitted_at();
    let used = budget_used(&arrivals, RATE_LIMITED_BUDGET, window)
        .context("the run was shorter than one window: raise --rate-limited-leads")?;
    let budget_per_second = f64::from(RATE_LIMITED_BUDGET) / window.as_secs_f64();
    Ok(RateLimited {
        leads: n,
        page_size: RATE_LIMITED_PAGE,
        budget: RATE_LIMITED_BUDGET,
        twenty_limit: RATE_LIMITED_TWENTY,
        window_seconds: window.as_secs_f64(),
        requests: twenty.requests(),
        refused: twenty.refused(),
        client_rate_limited: summary.rate_limited,
        windows: used.windows,
        requests_in_windows: used.requests,
        requests_per_second: used.per_second,
        budget_per_second,
        fraction_of_budget: used.per_second / budget_per_second,
        seconds,
    })
}

/// Requests in the whole windows since the first one, per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetUsed {
    pub windows: u32,
    pub requests: u64,
    pub per_second: f64,
}

/// Over whole windows only: a client held to `limit` per window can start `limit`
/// requests at once and then must wait, so a count over any other span (the run's
/// length, say) would flatter or wrong it by up to a window's worth. In the whole
/// windows from the first arrival, a client that always has a request ready when the
/// budget allows one makes exactly `limit` per window. `None` before one whole window.
pub fn budget_used(
    arrivals: &[std::time::Instant],
    limit: u32,
    window: Duration,
) -> Option<BudgetUsed> {
    let (first, last) = (arrivals.first()?, arrivals.last()?);
    let windows = (last.duration_since(*first).as_secs_f64() / window.as_secs_f64()).floor() as u32;
    if windows == 0 || limit == 0 {
        return None;
    }
    let end = *first + window * windows;
    let requests = arrivals.iter().filter(|t| **t < end).count() as u64;
    Some(BudgetUsed {
        windows,
        requests,
        per_second: requests as f64 / (window * windows).as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_use_counts_whole_windows_only() {
        let t0 = std::time::Instant::now();
        let w = Duration::from_secs(6);
        // 3 per window at once, 3 whole windows, then one more request.
        let mut arrivals: Vec<_> = (0..3)
            .flat_map(|k| (0..3).map(move |i| t0 + w * k + Duration::from_millis(i * 10)))
            .collect();
        arrivals.push(t0 + w * 3);
        let used = budget_used(&arrivals, 3, w).unwrap_or_else(|| panic!("a whole window"));
        assert_eq!((used.windows, used.requests), (3, 9));
        assert!((used.per_second - 0.5).abs() < 1e-9, "{used:?}");
        // A client that kept only two of its three slots busy shows 2/3.
        let slow: Vec<_> = arrivals
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 2)
            .map(|(_, t)| *t)
            .collect();
        let used = budget_used(&slow, 3, w).unwrap_or_else(|| panic!("a whole window"));
        assert!((used.per_second / 0.5 - 2.0 / 3.0).abs() < 1e-9, "{used:?}");
        assert_eq!(budget_used(&arrivals[..3], 3, w), None);
    }
}
