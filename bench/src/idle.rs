//! What a quiet workspace costs Twenty: an idle run after a bulk import (every lead
//! sharing one `updatedAt`, as an import leaves them), and, for issue #15, an idle run
//! and a reconcile (the daily full pass) of five objects: leads, their notes and note
//! links, people and companies (`TWENTY_OBJECTS=leads,notes,noteTargets,people,companies`).

use std::time::Duration;

use anyhow::ensure;
use serde::Serialize;
use serde_json::json;
use spartan_sync::domain::{MirrorSet, ObjectName};
use spartan_sync::sync::SyncMode;
use spartan_sync::sync::related::{RelatedPull, RelatedSummary};
use spartan_sync::{RequestedMode, SyncEngine, SyncSettings, TwentyClient};

use super::wire::through_relay;
use super::{backdated_stack, deadline};

/// The bar for an idle run after a 10,000-lead import.
pub const MAX_IDLE_BYTES: u64 = 2_000;
const PAGE_SIZE: u32 = 200;

#[derive(Debug, Clone, Serialize)]
pub struct IdleAfterImport {
    pub leads: usize,
    /// Twenty requests of the idle run.
    pub requests: u64,
    /// On the wire, both ways, headers included.
    pub bytes: u64,
    pub records: u64,
}

/// `n` leads imported an hour ago at one instant; a full sync; then an idle delta.
pub async fn after_import(n: usize) -> anyhow::Result<IdleAfterImport> {
    let stack = backdated_stack(n, Duration::ZERO, PAGE_SIZE).await;
    let (wire, settings) = through_relay(&stack, PAGE_SIZE).await?;
    let engine = SyncEngine::new(
        TwentyClient::new(&settings)?,
        stack.store.clone(),
        SyncSettings::default(),
    );
    let full = engine.run(RequestedMode::Auto, deadline()).await?;
    ensure!(
        full.mode == SyncMode::Full && full.changed == n as u64,
        "the first run should be a full sync of {n}: {full:?}"
    );
    let before = wire.snapshot();
    let idle = engine.run(RequestedMode::Auto, deadline()).await?;
    let spent = wire.snapshot().since(&before);
    ensure!(idle.mode == SyncMode::Delta, "idle run: {idle:?}");
    Ok(IdleAfterImport {
        leads: n,
        requests: idle.requests,
        bytes: spent.total(),
        records: idle.fetched,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconcileCost {
    pub leads: usize,
    pub notes: usize,
    pub people: usize,
    pub companies: usize,
    /// Twenty requests of an idle run: the leads, then each other object.
    pub idle_requests: u64,
    /// Twenty requests of a reconcile (a full pass of every object).
    pub reconcile_requests: u64,
    pub reconcile_bytes: u64,
    pub reconcile_seconds: f64,
}

/// `n` leads (edited over the past month), one note per ten leads, each linked to a lead,
/// a person per ten leads and a company per twenty; synced; then an idle run and a
/// reconcile, each run as the delta-sync function runs it (the other objects after the
/// leads, under the same lease).
pub async fn reconcile(n: usize) -> anyhow::Result<ReconcileCost> {
    let stack = backdated_stack(n, Duration::from_secs(30 * 24 * 3600), PAGE_SIZE).await;
    let leads = stack.emulator.records("leads");
    let notes = n / 10;
    for lead in leads.iter().step_by(10).take(notes) {
        let note = stack
            .emulator
            .create("notes", json!({"title": "Follow up"}));
        stack.emulator.create(
            "noteTargets",
            json!({"noteId": note["id"], "targetLeadId": lead["id"]}),
        );
    }
    let (people, companies) = (n / 10, n / 20);
    stack.emulator.seed_people(people);
    stack.emulator.seed_companies(companies);
    // The notes are stamped now. A window of a lookback and a skew allowance of 1 s
    // each (not 120 s and 60 s) lets the passes begin after them without waiting 3 min:
    // the idle run then costs what it costs in a workspace quiet for a while.
    let sync = SyncSettings {
        lookback: Duration::from_secs(1),
        clock_skew: Duration::from_secs(1),
        ..SyncSettings::default()
    };
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (wire, settings) = through_relay(&stack, PAGE_SIZE).await?;
    let client = TwentyClient::new(&settings)?;
    let objects = MirrorSet::parse(
        "leads,notes,noteTargets,people,companies",
        &ObjectName::from_plural("leads"),
    )
    .map_err(anyhow::Error::msg)?;
    let related = RelatedPull::new(
        &client,
        &stack.store,
        &objects,
        sync.lookback,
        sync.clock_skew,
        sync.reserve,
    );
    let engine = SyncEngine::new(client, stack.store.clone(), sync);
    let pages = |r: &[RelatedSummary]| r.iter().map(|s| u64::from(s.pages)).sum::<u64>();
    let run = |mode: RequestedMode| {
        engine.run_then(mode, deadline(), |mode, until| {
            related.pull(mode == SyncMode::Full, until)
        })
    };

    let first = run(RequestedMode::Auto).await?;
    ensure!(
        first.related.iter().all(|r| r.complete),
        "first pull: {first:?}"
    );
    let idle = run(RequestedMode::Auto).await?;
    ensure!(idle.mode == SyncMode::Delta, "idle run: {idle:?}");

    let before = wire.snapshot();
    let started = std::time::Instant::now();
    let full = run(RequestedMode::Full).await?;
    let seconds = started.elapsed().as_secs_f64();
    let spent = wire.snapshot().since(&before);
    ensure!(
        full.mode == SyncMode::Full && full.total_in_table == n as i64,
        "reconcile: {full:?}"
    );
    let fetched: Vec<(&str, u64)> = full
        .related
        .iter()
        .map(|r| (r.object.as_str(), if r.complete { r.fetched } else { 0 }))
        .collect();
    let expected = [notes, notes, people, companies].map(|c| c as u64);
    ensure!(
        fetched.iter().map(|f| f.1).eq(expected),
        "reconcile of the other objects: {:?}",
        full.related
    );
    Ok(ReconcileCost {
        leads: n,
        notes,
        people,
        companies,
        idle_requests: idle.requests + pages(&idle.related),
        reconcile_requests: full.requests + pages(&full.related),
        reconcile_bytes: spent.total(),
        reconcile_seconds: seconds,
    })
}
