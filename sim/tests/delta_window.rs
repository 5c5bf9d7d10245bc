//! Issue #14's delta window, as plain tests over the simulated Twenty: it starts a
//! lookback (and the skew allowance) before the last completed pass began, never at the
//! watermark, so a change that committed late is still read while long-settled records
//! are not read again; and a version a webhook could only guess at is settled by a
//! recheck however far the window has moved. Each fails on a window that does not.

// Test code: an unwrap that fails is the test failing, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use spartan_sync::domain::{ConflictPolicy, LeadId, RemoteRecord, Timestamp};
use spartan_sync::store::{MemoryMirror, WriteOrigin};
use spartan_sync::sync::{Context, RequestedMode, RunStatus, SyncEngine, SyncSummary, apply};
use spartan_sync_sim::twenty::SimTwenty;
use spartan_sync_sim::{new_lead, pair, simulated};
use tokio::time::Instant;

type Engine = SyncEngine<SimTwenty, MemoryMirror>;

fn id(n: u32) -> LeadId {
    LeadId::parse(&format!("5b2f7c1e-8d3a-4f6b-9c0d-{n:012x}")).unwrap()
}

async fn run_now(engine: &Engine, mode: RequestedMode) -> SyncSummary {
    let summary = engine
        .run(mode, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    summary
}

/// Past every lease, late commit, lookback and skew allowance of the simulation.
async fn later() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A bulk import stamps every record with one `updatedAt`. Once a pass has begun after
/// it, an idle delta reads nothing again: one request, no record. (A window a lookback
/// before the watermark re-read the whole import on every run.)
#[test]
fn an_idle_delta_after_a_bulk_import_reads_one_empty_page() {
    simulated(|| async {
        let (twenty, engine) = pair(11, ConflictPolicy::RemoteWins);
        for n in 0..60 {
            twenty.human_create(&id(n), new_lead(u64::from(n))); // one instant
        }
        later().await;
        assert_eq!(run_now(&engine, RequestedMode::Full).await.fetched, 60);
        later().await;
        run_now(&engine, RequestedMode::Delta).await;
        later().await;
        let requests = twenty.world().requests;
        let idle = run_now(&engine, RequestedMode::Delta).await;
        assert_eq!(idle.fetched, 0, "the settled import was read again");
        assert_eq!(twenty.world().requests - requests, 1, "one list request");
    })
    .unwrap();
}

/// Twenty stamps `updatedAt` before its commit lands. An edit stamped before a pass
/// began but committed after that pass had listed past it is read by the next delta.
#[test]
fn a_change_committed_after_a_pass_read_past_it_is_read_by_the_next_delta() {
    simulated(|| async {
        let (twenty, engine) = pair(12, ConflictPolicy::RemoteWins);
        twenty.human_create(&id(1), new_lead(1));
        later().await;
        run_now(&engine, RequestedMode::Full).await;
        later().await;
        twenty.world().commit_delay_micros = Some(4_900); // within the 5 ms lookback
        assert!(twenty.human_edit(&id(1), "name", json!("Committed late")));
        twenty.world().commit_delay_micros = None;
        // A pass that begins in a later millisecond and lists before the commit lands.
        tokio::time::sleep(Duration::from_micros(1_000)).await;
        run_now(&engine, RequestedMode::Delta).await;
        let name = |e: &Engine| e.store().snapshot().leads[&id(1)].fields["name"].clone();
        assert_ne!(
            name(&engine),
            json!("Committed late"),
            "listed before commit"
        );
        later().await;
        run_now(&engine, RequestedMode::Delta).await;
        assert_eq!(name(&engine), json!("Committed late"));
    })
    .unwrap();
}

/// Two versions in one millisecond; the webhook of the first is delivered after the
/// second was mirrored and, unable to order them, wins. The next run rechecks the lead
/// by id, though its window starts long after that millisecond.
#[test]
fn a_webhook_guess_within_one_millisecond_is_rechecked_after_the_window_moved_on() {
    simulated(|| async {
        let (twenty, engine) = pair(13, ConflictPolicy::RemoteWins);
        twenty.human_create(&id(1), new_lead(1));
        later().await;
        run_now(&engine, RequestedMode::Full).await;
        later().await;
        twenty.world().deliveries.clear();
        // No await between them: one microsecond, so one millisecond.
        assert!(twenty.human_edit(&id(1), "name", json!("First")));
        assert!(twenty.human_edit(&id(1), "name", json!("Second")));
        let first = twenty.world().deliveries[0].record.clone();
        later().await;
        run_now(&engine, RequestedMode::Delta).await; // mirrors "Second"
        let ctx = Context {
            origin: WriteOrigin::Webhook,
            now: Timestamp::now(),
            generation: None,
            read_at: None,
        };
        let late = RemoteRecord::from_fields(first).unwrap();
        apply::apply_one(engine.store(), &late, &ctx).await.unwrap();
        let name = |e: &Engine| e.store().snapshot().leads[&id(1)].fields["name"].clone();
        assert_eq!(
            name(&engine),
            json!("First"),
            "the guess: last delivery wins"
        );
        later().await;
        run_now(&engine, RequestedMode::Delta).await;
        assert_eq!(name(&engine), json!("Second"));
        assert!(
            engine.store().snapshot().rechecks.is_empty(),
            "cleared once read"
        );
    })
    .unwrap();
}
