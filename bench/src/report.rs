//! The results: one JSON document and one table.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use spartan_sync::Timestamp;

use super::Plan;
use super::bandwidth::{BandwidthCase, CHANGES_PER_HOUR, MAX_RATIO_1000_3, RUNS_PER_HOUR};
use super::footprint::Footprint;
use super::full_sync::{Ceiling, FullSyncCase, RateLimited};
use super::webhook::WebhookResults;

/// The bars: the full sync ingests at least this share of what DynamoDB Local
/// accepts in the same run...
pub const MIN_CEILING_FRACTION: f64 = 0.90;
/// ...and a rate-limited full sync uses at least this share of its request budget.
pub const MIN_BUDGET_FRACTION: f64 = 0.95;

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub cpus: usize,
    pub cpu_model: String,
    pub arch: &'static str,
    pub kernel: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub generated_at: String,
    pub host: Host,
    /// The cargo profile the bench and the function binaries were built with.
    pub profile: &'static str,
    pub build_seconds: Option<f64>,
    pub run_seconds: f64,
    pub bandwidth: Vec<BandwidthCase>,
    pub idle_after_import: Option<super::idle::IdleAfterImport>,
    pub reconcile: Vec<super::idle::ReconcileCost>,
    pub full_sync: Vec<FullSyncCase>,
    /// DynamoDB Local's ceiling for the full sync's writes, measured in this run.
    pub ceiling: Option<Ceiling>,
    pub rate_limited: Option<RateLimited>,
    pub webhook: Option<WebhookResults>,
    pub footprint: Option<Footprint>,
}

impl Results {
    pub fn new(plan: &Plan) -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Self {
            generated_at: Timestamp::now().to_string(),
            host: Host {
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
                cpu_model,
                arch: std::env::consts::ARCH,
                kernel,
            },
            profile: "bench-build",
            build_seconds: plan.build_seconds,
            run_seconds: 0.0,
            bandwidth: Vec::new(),
            idle_after_import: None,
            reconcile: Vec::new(),
            full_sync: Vec::new(),
            ceiling: None,
            rate_limited: None,
            webhook: None,
            footprint: None,
        }
    }

    /// `results.json`, a timestamped copy, and `results.md` (the table).
    pub fn write(&self, dir: &Path, table: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_string_pretty(self)?;
        let stamp: String = self
            .generated_at
            .chars()
            .take(19)
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        std::fs::write(dir.join("results.json"), &json)?;
        std::fs::write(dir.join(format!("results-{stamp}Z.json")), &json)?;
        std::fs::write(dir.join("results.md"), format!("{table}\n"))?;
        Ok(())
    }

    /// The one table `make bench` prints.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut row = |a: &str, b: String, c: String, d: String| rows.push([a.into(), b, c, d]);

        for b in &self.bandwidth {
            let n = thousands(b.leads as u64);
            let k = b.changed;
            let verdict = if b.leads == 1_000 && k == 3 {
                if b.ratio <= MAX_RATIO_1000_3 {
                    format!(" ✅ (≤ {}%)", MAX_RATIO_1000_3 * 100.0)
                } else {
                    format!(" ❌ (must be ≤ {}%)", MAX_RATIO_1000_3 * 100.0)
                }
            } else {
                String::new()
            };
            row(
                "Bandwidth",
                format!("delta sync, N={n}, k={k}"),
                cost(b.delta.bytes, b.delta.requests),
                format!(
                    "{} records ({k} changed + {} lookback re-read); **{:.2}% of naive** with headers{verdict}; bodies alone {} = {:.2}%",
                    b.delta.records,
                    b.delta.records.saturating_sub(k as u64),
                    b.ratio * 100.0,
                    bytes(b.delta.body_bytes as f64),
                    b.body_ratio * 100.0
                ),
            );
            row(
                "",
                format!("naive full re-pull, N={n}"),
                cost(b.naive.bytes, b.naive.requests),
                format!(
                    "every page, {}/page, depth=0 (what the old system pulled every run); bodies alone {}",
                    super::bandwidth::PAGE_SIZE,
                    bytes(b.naive.body_bytes as f64)
                ),
            );
            row(
                "",
                format!("floor, k={k}"),
                bytes(b.floor_bytes as f64),
                format!(
                    "the {k} changed records' own JSON; delta = {:.2}× floor",
                    b.delta.bytes as f64 / b.floor_bytes as f64
                ),
            );
            let one = if b.idle.requests == 1 {
                " ✅ exactly one"
            } else {
                " ❌ must be one"
            };
            row(
                "",
                format!("idle delta (k=0), N={n}"),
                format!("{}{one}", cost(b.idle.bytes, b.idle.requests)),
                format!(
                    "{} record(s) re-read by the lookback; {} sent (request line + headers), bodies alone {}",
                    b.idle.records,
                    bytes(b.idle.sent_bytes as f64),
                    bytes(b.idle.body_bytes as f64)
                ),
            );
            let d = &b.per_day;
            row(
                "",
                format!("per day, N={n} ({RUNS_PER_HOUR} runs/h, {CHANGES_PER_HOUR} changes/h)"),
                format!(
                    "delta {} in {} req",
                    bytes(d.delta_bytes),
                    thousands(d.delta_requests as u64)
                ),
                format!(
                    "naive {} in {} req; floor {}; derived {:.0} B/record + {:.0} B/request (envelope and headers)",
                    bytes(d.naive_bytes),
                    thousands(d.naive_requests as u64),
                    bytes(d.floor_bytes),
                    b.per_record_bytes,
                    b.envelope_bytes
                ),
            );
        }

        if let Some(i) = &self.idle_after_import {
            let ok = if i.requests == 1 && i.bytes <= super::idle::MAX_IDLE_BYTES {
                "✅ (1 request, ≤ 2 kB)"
            } else {
                "❌ (must be 1 request, ≤ 2 kB)"
            };
            row(
                "Quiet",
                format!(
                    "idle run after a bulk import, N={}",
                    thousands(i.leads as u64)
                ),
                format!("{} {ok}", cost(i.bytes, i.requests)),
                format!(
                    "{} leads sharing one `updatedAt` (imported an hour ago); {} record(s) read again",
                    thousands(i.leads as u64),
                    i.records
                ),
            );
        }
        for r in &self.reconcile {
            row(
                "",
                format!(
                    "idle run / reconcile, N={} (+{} notes, {} people, {} companies)",
                    thousands(r.leads as u64),
                    thousands(r.notes as u64),
                    thousands(r.people as u64),
                    thousands(r.companies as u64)
                ),
                format!(
                    "{} / {} requests",
                    r.idle_requests,
                    thousands(r.reconcile_requests)
                ),
                format!(
                    "five objects (leads, notes, note links, people, companies), one request per object when idle; the reconcile (a full pass of each, sweep included) moved {} in {:.1} s",
                    bytes(r.reconcile_bytes as f64),
                    r.reconcile_seconds
                ),
            );
        }

        for f in &self.full_sync {
            let cpu = match (f.cpu_seconds_twenty, f.cpu_seconds_dynamodb_local) {
                (Some(e), Some(d)) => format!(
                    "CPU s: sync {:.1}, Twenty side {:.1}, DynamoDB Local {:.1}",
                    f.cpu_seconds_sync, e, d
                ),
                _ => format!("CPU s: sync {:.1}", f.cpu_seconds_sync),
            };
            let (finish, rss) = match f.finish_seconds {
                Some(s) => (
                    format!(
                        "; then {s:.1} s for the pass's end (sweep + watermark) = {:.1} s in all",
                        f.ingest_seconds + s
                    ),
                    format!(
                        "peak RSS {} after the pages, {} at the end",
                        kb(f.peak_rss_ingest_kb),
                        kb(f.peak_rss_kb)
                    ),
                ),
                None => (
                    "; pass's end (sweep) not run (see --finish-up-to)".to_string(),
                    format!("peak RSS {}", kb(f.peak_rss_ingest_kb)),
                ),
            };
            let of_ceiling = match &self.ceiling {
                Some(c) => {
                    let fraction = f.leads_per_second / c.leads_per_second;
                    let verdict = if fraction >= MIN_CEILING_FRACTION {
                        format!("✅ (≥ {MIN_CEILING_FRACTION:.2})")
                    } else {
                        format!("❌ (must be ≥ {MIN_CEILING_FRACTION:.2})")
                    };
                    format!("; **{fraction:.2} of the ceiling** {verdict}")
                }
                None => String::new(),
            };
            row(
                "Full sync",
                format!("N={} → DynamoDB Local", thousands(f.leads as u64)),
                format!(
                    "{} leads/s ({:.1} s of pages){of_ceiling}",
                    thousands(f.leads_per_second as u64),
                    f.ingest_seconds
                ),
                format!(
                    "{} Twenty requests ({}){finish}; DynamoDB {} write requests ({}), {} items written, {} requests in all; {rss}; {cpu}",
                    f.twenty_requests,
                    bytes(f.twenty_bytes as f64),
                    thousands(f.dynamo_write_requests),
                    f.dynamo.describe_writes(),
                    thousands(f.dynamo.items_written),
                    thousands(f.dynamo.total_requests()),
                ),
            );
        }

        if let Some(c) = &self.ceiling {
            row(
                "",
                format!(
                    "DynamoDB Local's ceiling, {} leads (writes alone)",
                    thousands(c.leads as u64)
                ),
                format!("{} leads/s", thousands(c.leads_per_second as u64)),
                format!(
                    "the full sync's own conditional puts, decided beforehand, a page (200) at a time: {} ({:.1} s); the faster of {} leads/s before and after the full syncs, after warm-up runs (the last {} leads/s)",
                    c.dynamo.describe_writes(),
                    c.seconds,
                    c.measured
                        .iter()
                        .map(|v| thousands(*v as u64))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    c.warm_up_leads_per_second
                        .map_or_else(|| "-".to_string(), |v| thousands(v as u64))
                ),
            );
        }
        if let Some(r) = &self.rate_limited {
            let verdict = if r.fraction_of_budget >= MIN_BUDGET_FRACTION && r.refused == 0 {
                format!("✅ (≥ {MIN_BUDGET_FRACTION:.2}, no 429)")
            } else {
                format!("❌ (must be ≥ {MIN_BUDGET_FRACTION:.2} with no 429)")
            };
            row(
                "",
                format!(
                    "rate-limited, N={} (time scaled 1:10)",
                    thousands(r.leads as u64)
                ),
                format!(
                    "**{:.2} of the budget**, {} × 429 {verdict}",
                    r.fraction_of_budget, r.refused
                ),
                format!(
                    "{:.2} requests/s in {} whole windows ({} requests) against a budget of {} per {:.0} s = {:.2}/s (Twenty's limit {} per {:.0} s); pages of {}; {} requests, {:.1} s in all",
                    r.requests_per_second,
                    r.windows,
                    r.requests_in_windows,
                    r.budget,
                    r.window_seconds,
                    r.budget_per_second,
                    r.twenty_limit,
                    r.window_seconds,
                    r.page_size,
                    r.requests,
                    r.seconds
                ),
            );
        }

        if let Some(w) = &self.webhook {
            for r in &w.runs {
                let how = if r.concurrency == 1 {
                    "one at a time".to_string()
                } else {
                    format!("{} at a time", r.concurrency)
                };
                let outcomes: Vec<String> = r
                    .outcomes
                    .iter()
                    .map(|(k, v)| format!("{} {k}", thousands(*v)))
                    .collect();
                row(
                    "Webhook",
                    format!(
                        "handle_at → DynamoDB Local, {} events / {} leads, {how}",
                        thousands(r.events as u64),
                        thousands(w.leads as u64)
                    ),
                    format!("{} events/s", thousands(r.events_per_second as u64)),
                    format!(
                        "p50 {}, p99 {}, max {}; {}; DynamoDB writes {} ({})",
                        micros(r.p50_us),
                        micros(r.p99_us),
                        micros(r.max_us),
                        outcomes.join(", "),
                        thousands(r.dynamo.write_requests()),
                        r.dynamo.describe_writes()
                    ),
                );
            }
            for s in &w.stages {
                row(
                    "",
                    format!("no I/O: {}", s.name),
                    format!("{:.1} µs/event", s.us_per_event),
                    format!(
                        "{} events/s (mean body {:.0} B)",
                        thousands(s.events_per_second as u64),
                        w.mean_body_bytes
                    ),
                );
            }
        }

        if let Some(fp) = &self.footprint {
            for a in &fp.artifacts {
                let (result, detail) = match (a.zip_bytes, a.bootstrap_bytes) {
                    (Some(z), Some(b)) => (
                        format!("zip {}", mib(z)),
                        format!("bootstrap {} (target/lambda/{}/)", mib(b), a.function),
                    ),
                    (Some(z), None) => (format!("zip {}", mib(z)), String::new()),
                    _ => (
                        "run `make package` first".to_string(),
                        format!("no target/lambda/{}/bootstrap.zip", a.function),
                    ),
                };
                row(
                    "Footprint",
                    format!("{} artifact (release, arm64)", a.function),
                    result,
                    detail,
                );
            }
            for c in &fp.cold_starts {
                row(
                    "",
                    format!(
                        "{} cold start (process start → first /next), secret from {}",
                        c.function, c.secrets
                    ),
                    format!("{:.1} ms median", c.median_ms),
                    format!(
                        "{} starts, min {:.1} ms, max {:.1} ms; host {} binary, bench-build profile ({})",
                        c.starts,
                        c.min_ms,
                        c.max_ms,
                        std::env::consts::ARCH,
                        mib(c.binary_bytes)
                    ),
                );
            }
            for p in &fp.peak_rss {
                row(
                    "",
                    format!("{} peak RSS", p.function),
                    kb(p.peak_rss_kb),
                    format!("{} ({:.0} ms)", p.what, p.invocation_ms),
                );
            }
        }

        let build = self
            .build_seconds
            .map_or_else(|| "not measured".to_string(), minutes);
        row(
            "Run",
            "build (cargo, bench-build profile) / bench".into(),
            format!("{build} / {}", minutes(self.run_seconds)),
            format!(
                "{} × {} ({}), {}",
                self.host.cpus, self.host.cpu_model, self.host.arch, self.generated_at
            ),
        );

        let mut out =
            String::from("| area | measurement | result | detail |\n| --- | --- | --- | --- |\n");
        let mut area = String::new();
        for r in rows {
            // Each area is named once, on its first row.
            let label = if r[0].is_empty() || r[0] == area {
                ""
            } else {
                r[0].as_str()
            };
            if !r[0].is_empty() {
                area.clone_from(&r[0]);
            }
            let _ = writeln!(out, "| {label} | {} | {} | {} |", r[1], r[2], r[3]);
        }
        out
    }
}

fn cost(b: u64, requests: u64) -> String {
    let s = if requests == 1 { "" } else { "s" };
    format!("{} in {} request{s}", bytes(b as f64), thousands(requests))
}

/// Decimal units, as bandwidth is billed.
fn bytes(b: f64) -> String {
    match b {
        b if b >= 1e9 => format!("{:.2} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.2} MB", b / 1e6),
        b if b >= 1e3 => format!("{:.1} kB", b / 1e3),
        b => format!("{b:.0} B"),
    }
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn kb(k: u64) -> String {
    format!("{:.1} MiB", k as f64 / 1024.0)
}

fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn minutes(s: f64) -> String {
    if s >= 59.5 {
        let t = s.round() as u64;
        format!("{}m {:02}s", t / 60, t % 60)
    } else {
        format!("{s:.1} s")
    }
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(bytes(3_900.0), "3.9 kB");
        assert_eq!(minutes(125.0), "2m 05s");
        assert_eq!(micros(1_500.0), "1.50 ms");
    }
}
