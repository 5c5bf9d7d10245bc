//! The hard-delete sweep at the end of a full pass, over the simulated Twenty and the
//! in-memory mirror: a run that runs short of time mid-sweep pauses with the sweep's
//! position checkpointed, and the next runs carry on from there without going back to
//! Twenty, then end the pass once.

// Test code: an unwrap that fails is the test failing, with its location.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use spartan_sync::domain::{ConflictRules, LeadId, RemoteRecord, Timestamp};
use spartan_sync::store::{Latency, MemoryMirror, Mirror, WriteOrigin};
use spartan_sync::sync::{
    Context, RequestedMode, RunStatus, SyncEngine, SyncSettings, SyncSummary, apply,
};
use spartan_sync_sim::twenty::SimTwenty;
use spartan_sync_sim::{new_lead, rng::Rng, simulated};
use tokio::time::Instant;

type Engine = SyncEngine<SimTwenty, MemoryMirror>;

/// Lead `n`'s id; ids sort as their numbers do, as the sweep's index walks them.
fn id(n: u64) -> LeadId {
    LeadId::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap()
}

/// Each page of the sweep takes 2 s; nothing else takes time in the mirror. With a 5 s deadline and 1 s kept in reserve, a run sweeps
/// one page and then finds too little time for another (twice the longest step).
fn engine(twenty: &SimTwenty) -> Engine {
    let latency: Latency = Arc::new(|op| {
        if op == "sweep_page" {
            Duration::from_secs(2)
        } else {
            Duration::ZERO
        }
    });
    let settings = SyncSettings {
        lookback: Duration::from_millis(20),
        time_budget: None,
        reserve: Duration::from_secs(1),
        lease_ttl: Duration::from_secs(60),
        conflict_rules: ConflictRules::default(),
        clock_skew: Duration::ZERO,
    };
    SyncEngine::new(
        twenty.clone(),
        MemoryMirror::new().with_latency(latency),
        settings,
    )
}

async fn run(engine: &Engine, mode: RequestedMode) -> SyncSummary {
    engine
        .run(mode, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap()
}

fn live(engine: &Engine, n: u64) -> bool {
    engine
        .store()
        .snapshot()
        .leads
        .get(&id(n))
        .is_some_and(|item| item.is_live())
}

#[test]
fn a_sweep_that_runs_out_of_time_resumes_where_it_stopped_and_ends_the_pass_once() {
    simulated(|| async {
        // 250 leads, even numbers 0..498: the memory mirror's sweep reads 100 a page,
        // so the sweep has three pages (0..198, 200..398, 400..498).
        let twenty = SimTwenty::new(Rng::new(11), 1_798_761_600_000_000, 0, 50);
        for n in (0..500).step_by(2) {
            twenty.human_create(&id(n), new_lead(n));
        }
        let engine = engine(&twenty);
        // Past every commit's visibility delay.
        tokio::time::sleep(Duration::from_millis(50)).await;

        // A first full pass into an empty mirror has nothing to remove; its sweep's
        // three pages still take three runs.
        assert_eq!(
            run(&engine, RequestedMode::Full).await.status,
            RunStatus::Partial
        );
        assert_eq!(
            run(&engine, RequestedMode::Auto).await.status,
            RunStatus::Partial
        );
        let first = run(&engine, RequestedMode::Auto).await;
        assert_eq!(first.status, RunStatus::Succeeded);
        assert_eq!(engine.store().load_state().await.unwrap().lead_count, 250);

        // Hard deletes Twenty never reports (a bulk delete sends one event, dropped
        // here): one lead on each page of the sweep.
        twenty.human_bulk_destroy(&[id(10), id(250), id(450)]);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let requests_before = twenty.world().requests;

        // The pass's pages, then the sweep's first page; then too little time is left.
        let one = run(&engine, RequestedMode::Full).await;
        assert_eq!(one.status, RunStatus::Partial);
        assert_eq!(one.removed, 1);
        assert!(!live(&engine, 10) && live(&engine, 250) && live(&engine, 450));
        let pages_fetched = twenty.world().requests - requests_before;
        assert_eq!(pages_fetched, 5, "248 leads, 50 a page");
        let state = engine.store().load_state().await.unwrap();
        let checkpoint = state.checkpoint.clone().unwrap();
        assert!(checkpoint.sweep.unwrap().after.is_some());
        // Only a completed pass moves the watermark and the freshness.
        assert_eq!(state.watermark, first.watermark_after);
        assert!(state.fresh_as_of < Some(checkpoint.pass_started_at));
        let fresh_before = state.fresh_as_of;

        // Meanwhile a webhook brings a lead created in Twenty after the pass began: it
        // sorts into the sweep's second page, which must keep it.
        twenty.human_create(&id(301), new_lead(301));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fields = twenty.records().get(&id(301)).cloned().unwrap();
        let ctx = Context {
            origin: WriteOrigin::Webhook,
            now: Timestamp::now(),
            generation: None,
            read_at: None,
        };
        let record = RemoteRecord::from_fields(fields).unwrap();
        apply::apply_one(engine.store(), &record, &ctx)
            .await
            .unwrap();

        // Whatever the next run is asked for, it carries on with the sweep where it
        // stopped, without asking Twenty for anything.
        let two = run(&engine, RequestedMode::Delta).await;
        assert_eq!(two.status, RunStatus::Partial);
        assert!(two.resumed);
        assert_eq!((two.pages, two.fetched, two.removed), (0, 0, 1));
        assert!(!live(&engine, 250) && live(&engine, 301) && live(&engine, 450));
        let state = engine.store().load_state().await.unwrap();
        assert_eq!(state.watermark, first.watermark_after);
        assert_eq!(state.fresh_as_of, fresh_before);

        // The last page; then the pass ends, once.
        let three = run(&engine, RequestedMode::Auto).await;
        assert_eq!(three.status, RunStatus::Succeeded);
        assert_eq!((three.pages, three.removed), (0, 1));
        assert_eq!(twenty.world().requests - requests_before, pages_fetched);
        assert!(!live(&engine, 450));
        let state = engine.store().load_state().await.unwrap();
        assert!(state.checkpoint.is_none());
        assert_eq!(state.lead_count, 248);
        assert_eq!(state.fresh_as_of, Some(checkpoint.pass_started_at));
        assert!(state.watermark.is_some());
        for n in (0..500).step_by(2).filter(|n| ![10, 250, 450].contains(n)) {
            assert!(live(&engine, n), "lead {n} is still in Twenty");
        }

        // And the next run is a plain delta, not the pass again.
        let after = run(&engine, RequestedMode::Auto).await;
        assert_eq!(after.status, RunStatus::Succeeded);
        assert!(!after.resumed);
        assert_eq!(after.removed, 0);
    })
    .unwrap();
}

/// One lead per sweep page: 12 leads in Twenty, mirrored by a full pass; then 4 of them
/// destroyed without a word. Every mirror operation takes 100 µs.
async fn destroyed_four() -> (SimTwenty, Engine, Vec<LeadId>) {
    let twenty = SimTwenty::new(Rng::new(5), 1_798_761_600_000_000, 0, 3);
    for n in 0..12 {
        twenty.human_create(&id(n), new_lead(n));
    }
    let latency: Latency = Arc::new(|_| Duration::from_micros(100));
    let settings = SyncSettings {
        lookback: Duration::from_millis(20),
        time_budget: None,
        reserve: Duration::from_millis(5),
        lease_ttl: Duration::from_millis(60),
        conflict_rules: ConflictRules::default(),
        clock_skew: Duration::ZERO,
    };
    let mirror = MemoryMirror::new().with_latency(latency).with_sweep_page(1);
    let engine = SyncEngine::new(twenty.clone(), mirror, settings);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        run(&engine, RequestedMode::Full).await.status,
        RunStatus::Succeeded
    );
    let gone = vec![id(0), id(5), id(6), id(11)];
    twenty.human_bulk_destroy(&gone);
    tokio::time::sleep(Duration::from_millis(50)).await;
    (twenty, engine, gone)
}

/// A full pass killed at every point of its run (every 50 µs), then runs until one
/// completes a pass: the mirror ends with exactly Twenty's leads and an exact count,
/// whether the kill fell in the pages, mid-sweep (the next run carries on from the
/// sweep's checkpoint) or in the pass's end.
#[test]
fn a_full_pass_killed_anywhere_in_its_sweep_still_ends_with_the_mirror_equal_to_twenty() {
    simulated(|| async {
        // How long the uncut run takes.
        let (_, engine, _) = destroyed_four().await;
        let started = Instant::now();
        assert_eq!(run(&engine, RequestedMode::Full).await.removed, 4);
        let whole = started.elapsed().as_micros() as u64;

        let mut killed_mid_sweep = 0;
        for kill_at in (0..whole).step_by(50) {
            let (twenty, engine, gone) = destroyed_four().await;
            // (The last few may outlast a run that happens to be quicker: then it is not cut.)
            let _cut = tokio::time::timeout(
                Duration::from_micros(kill_at),
                engine.run(RequestedMode::Full, Instant::now() + Duration::from_secs(5)),
            )
            .await
            .is_err();
            let sweep = engine
                .store()
                .snapshot()
                .state
                .checkpoint
                .and_then(|c| c.sweep);
            let mid_sweep = sweep.is_some_and(|s| s.after.is_some());
            killed_mid_sweep += mid_sweep as u32;
            // Past the dead run's lease; then full runs (which finish a pass in progress
            // first) until a pass completes.
            let mut rounds = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(70)).await;
                let summary = run(&engine, RequestedMode::Full).await;
                if mid_sweep && rounds == 0 {
                    assert!(
                        summary.resumed && summary.pages == 0,
                        "killed at {kill_at} µs"
                    );
                }
                if summary.status == RunStatus::Succeeded
                    && engine.store().snapshot().state.checkpoint.is_none()
                {
                    break;
                }
                rounds += 1;
                assert!(rounds < 5, "killed at {kill_at} µs: the pass never ends");
            }
            let data = engine.store().snapshot();
            let live: Vec<&LeadId> = data
                .leads
                .iter()
                .filter(|(_, item)| item.is_live())
                .map(|(id, _)| id)
                .collect();
            let in_twenty = twenty.ids();
            assert_eq!(
                live,
                in_twenty.iter().collect::<Vec<_>>(),
                "killed at {kill_at} µs"
            );
            assert_eq!(data.state.lead_count, 8, "killed at {kill_at} µs");
            assert!(
                gone.iter()
                    .all(|id| data.leads.get(id).is_some_and(|i| !i.is_live()))
            );
        }
        assert!(
            killed_mid_sweep > 0,
            "no kill fell between two pages of the sweep"
        );
    })
    .unwrap();
}
