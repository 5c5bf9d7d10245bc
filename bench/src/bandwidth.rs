//! What a sync costs Twenty: bytes and requests of a delta run with `k` changes among
//! `N` leads, of an idle run, of a naive full re-pull, against the floor (the changed
//! records' own JSON), and the same extrapolated to a day.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde::Serialize;
use serde_json::json;
use spartan_sync::sync::SyncMode;
use spartan_sync::twenty::ListQuery;
use spartan_sync::{RequestedMode, SyncEngine, SyncSettings, TwentyClient};

use super::wire::{WireCounter, through_relay};
use super::{backdated_stack, deadline};

/// The schedule the old system and the delta sync both run on.
pub const RUNS_PER_HOUR: f64 = 12.0;
/// The edit rate the per-day figures assume.
pub const CHANGES_PER_HOUR: f64 = 20.0;
/// Twenty's page size (its maximum), used throughout.
pub const PAGE_SIZE: u32 = 200;
/// The bar: a delta of 3 changes among 1,000 leads costs at most this share of a
/// naive re-pull.
pub const MAX_RATIO_1000_3: f64 = 0.005;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Cost {
    pub requests: u64,
    /// On the wire, both ways: request lines, headers and bodies sent, status lines,
    /// headers and bodies received.
    pub bytes: u64,
    /// Of which sent (requests).
    pub sent_bytes: u64,
    /// Response bodies alone, as the client counts them.
    pub body_bytes: u64,
    /// Records in the responses.
    pub records: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PerDay {
    pub runs: f64,
    pub changes: f64,
    pub delta_bytes: f64,
    pub delta_requests: f64,
    pub naive_bytes: f64,
    pub naive_requests: f64,
    pub floor_bytes: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BandwidthCase {
    pub leads: usize,
    pub changed: usize,
    /// Delta run after `changed` edits.
    pub delta: Cost,
    /// Delta run with nothing changed (right after the full sync).
    pub idle: Cost,
    /// Every page of the object, as the old system pulled it every run.
    pub naive: Cost,
    /// The changed records' own JSON, nothing else.
    pub floor_bytes: u64,
    /// delta bytes / naive bytes, headers included on both sides.
    pub ratio: f64,
    /// The same over response bodies alone.
    pub body_ratio: f64,
    /// Derived from the delta and idle runs: bytes per record in a page...
    pub per_record_bytes: f64,
    /// ...and bytes of a page's envelope (`data`, `totalCount`, `pageInfo`, cursors).
    pub envelope_bytes: f64,
    pub per_day: PerDay,
}

pub async fn run(n: usize, k: usize) -> anyhow::Result<BandwidthCase> {
    ensure!(k > 0 && k < n, "need 0 < k < N");
    // Leads last edited over the past 30 days, the newest an hour ago: only what the
    // lookback window re-reads (the newest lead) is not news to a delta run now.
    let stack = backdated_stack(n, Duration::from_secs(30 * 24 * 3600), PAGE_SIZE).await;
    // The client reaches the emulator through a relay that counts every byte.
    let (wire, settings) = through_relay(&stack, PAGE_SIZE).await?;
    let engine = SyncEngine::new(
        TwentyClient::new(&settings)?,
        stack.store.clone(),
        SyncSettings::default(),
    );
    let engine = &engine;

    let full = engine.run(RequestedMode::Auto, deadline()).await?;
    let mut on_wire = wire.snapshot();
    let mut wire_since = || {
        let now = wire.snapshot();
        let spent = now.since(&on_wire);
        on_wire = now;
        spent
    };
    ensure!(
        full.mode == SyncMode::Full && full.changed == n as u64,
        "the first run should be a full sync of {n}: {full:?}"
    );

    let idle = engine.run(RequestedMode::Auto, deadline()).await?;
    let idle_wire = wire_since();
    ensure!(
        idle.mode == SyncMode::Delta && idle.changed == 0,
        "idle delta: {idle:?}"
    );
    ensure!(
        idle.requests == 1,
        "an idle delta run must cost exactly one request; it cost {}",
        idle.requests
    );

    // k edits, spread over the table, as a person would make them in Twenty.
    let leads = stack.emulator.records("leads");
    let mut floor_bytes = 0u64;
    for i in 0..k {
        let id = leads[i * n / k]["id"].as_str().context("lead id")?;
        let after = stack
            .emulator
            .update("leads", id, json!({ "score": 1000 + i }))
            .context("edit a lead")?;
        floor_bytes += serde_json::to_vec(&after)?.len() as u64;
    }
    let _ = wire_since(); // the edits went to the emulator directly; nothing here
    let delta = engine.run(RequestedMode::Auto, deadline()).await?;
    let delta_wire = wire_since();
    ensure!(
        delta.mode == SyncMode::Delta && delta.changed == k as u64,
        "delta after {k} edits: {delta:?}"
    );

    let naive = naive_pull(engine.twenty(), &wire).await?;
    ensure!(
        naive.records == n as u64,
        "naive pull saw {} records",
        naive.records
    );

    let delta = Cost {
        requests: delta.requests,
        bytes: delta_wire.total(),
        sent_bytes: delta_wire.sent,
        body_bytes: delta.response_bytes,
        records: delta.fetched,
    };
    let idle = Cost {
        requests: idle.requests,
        bytes: idle_wire.total(),
        sent_bytes: idle_wire.sent,
        body_bytes: idle.response_bytes,
        records: idle.fetched,
    };
    // Two runs, one envelope each, differing only in how many records they carried.
    let per_record_bytes = (delta.bytes as f64 - idle.bytes as f64)
        / (delta.records as f64 - idle.records as f64).max(1.0);
    let envelope_bytes = idle.bytes as f64 - idle.records as f64 * per_record_bytes;
    let per_day = per_day(
        per_record_bytes,
        envelope_bytes,
        idle.records,
        naive,
        floor_bytes as f64 / k as f64,
    );
    Ok(BandwidthCase {
        leads: n,
        changed: k,
        delta,
        idle,
        naive,
        floor_bytes,
        ratio: delta.bytes as f64 / naive.bytes as f64,
        body_ratio: delta.body_bytes as f64 / naive.body_bytes as f64,
        per_record_bytes,
        envelope_bytes,
        per_day,
    })
}

/// A day at [`RUNS_PER_HOUR`] runs and [`CHANGES_PER_HOUR`] changes: each delta run
/// fetches its share of the changes plus what the lookback re-reads (as many as the
/// idle run re-read), in as few pages as hold them.
fn per_day(
    per_record: f64,
    envelope: f64,
    lookback_rereads: u64,
    naive: Cost,
    floor_per_record: f64,
) -> PerDay {
    let runs = RUNS_PER_HOUR * 24.0;
    let changes = CHANGES_PER_HOUR * 24.0;
    let records_per_run = changes / runs + lookback_rereads as f64;
    let pages_per_run = (records_per_run / f64::from(PAGE_SIZE)).ceil().max(1.0);
    PerDay {
        runs,
        changes,
        delta_bytes: runs * (pages_per_run * envelope + records_per_run * per_record),
        delta_requests: runs * pages_per_run,
        naive_bytes: runs * naive.bytes as f64,
        naive_requests: runs * naive.requests as f64,
        floor_bytes: changes * floor_per_record,
    }
}

/// Every page, no filter on `updatedAt`: what the old system fetched every run.
async fn naive_pull(client: &TwentyClient, wire: &WireCounter) -> anyhow::Result<Cost> {
    let before = client.stats();
    let wire_before = wire.snapshot();
    let mut query = ListQuery::changes_since(None, PAGE_SIZE);
    let mut records = 0u64;
    loop {
        let page = client.list(&query, deadline()).await?;
        records += page.records.len() as u64;
        match page.end_cursor {
            Some(cursor) if page.has_next_page && !page.records.is_empty() => {
                query.starting_after = Some(cursor);
            }
            _ => break,
        }
    }
    let cost = client.stats().since(&before);
    let on_wire = wire.snapshot().since(&wire_before);
    Ok(Cost {
        requests: cost.requests,
        bytes: on_wire.total(),
        sent_bytes: on_wire.sent,
        body_bytes: cost.response_bytes,
        records,
    })
}
