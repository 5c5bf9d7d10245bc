//! Sync at scale and under faults: resumable passes, the hard-delete sweep, one run at
//! a time, rate limits as a budget, DynamoDB throttling.

use std::time::Duration;

use serde_json::json;
use spartan_sync::sync::{PageOutcome, RunStatus, SyncMode};
use spartan_sync::{RequestedMode, SyncSettings};
use spartan_sync_tests::dynamo_proxy::DynamoThrottlingProxy;
use spartan_sync_tests::emulator::{Fault, Seed};
use spartan_sync_tests::runs::{auto, full};
use spartan_sync_tests::stack::{StackOptions, TestStack, dynamo_local_endpoint};

use crate::util::{deadline, id_of, stored, watermark};

fn quick_settings() -> SyncSettings {
    SyncSettings {
        reserve: Duration::ZERO,
        ..SyncSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_full_sync_finishes_over_resumed_runs_with_every_lead_stored_once() {
    const N: usize = 20_000;
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(N),
        settings: SyncSettings {
            time_budget: Some(Duration::from_millis(2500)),
            ..quick_settings()
        },
        ..StackOptions::default()
    })
    .await;
    let mut runs = Vec::new();
    let mut progress = None;
    loop {
        let summary = auto(&stack.engine).await.unwrap();
        let status = summary.status;
        runs.push(summary);
        // How many runs depends on the machine's speed; that each one moves the pass
        // on does not.
        assert!(runs.len() <= 1_000, "the pass does not finish");
        if status == RunStatus::Succeeded {
            break;
        }
        assert_eq!(status, RunStatus::Partial);
        let checkpoint = stack.store.load_state().await.unwrap().checkpoint;
        assert_ne!(
            checkpoint, progress,
            "a run that moved the pass on not at all"
        );
        progress = checkpoint;
        assert_eq!(
            watermark(&stack).await,
            None,
            "no watermark before the pass completes"
        );
    }
    assert!(
        runs.len() >= 2,
        "a 2.5 s budget cannot hold {N} leads; runs: {}",
        runs.len()
    );
    assert!(
        runs[1..]
            .iter()
            .all(|r| r.resumed && r.mode == SyncMode::Full)
    );
    let inserted: u64 = runs.iter().map(|r| r.inserted).sum();
    assert_eq!(inserted, N as u64, "every lead inserted exactly once");
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, N as i64);
    assert!(stack.store.load_state().await.unwrap().checkpoint.is_none());
    let table = stored(&stack).await;
    assert_eq!(table.len(), N);
    let newest = stack
        .emulator
        .records("leads")
        .iter()
        .filter_map(|r| r["updatedAt"].as_str().map(String::from))
        .max();
    assert_eq!(watermark(&stack).await.map(|w| w.to_string()), newest);
}

#[tokio::test]
async fn a_hard_deleted_lead_disappears_after_the_next_full_sync() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    let gone = id_of(&stack.emulator.records("leads")[7]);
    assert!(stack.emulator.destroy("leads", gone.as_str()));

    // A delta cannot see a hard delete: Twenty's lists no longer show the record.
    let delta = auto(&stack.engine).await.unwrap();
    assert_eq!(delta.removed, 0);
    assert!(stack.store.get_lead(&gone).await.unwrap().is_some());

    let full = full(&stack.engine).await.unwrap();
    assert_eq!(
        (full.mode, full.removed, full.changed),
        (SyncMode::Full, 1, 0)
    );
    assert!(stack.store.get_lead(&gone).await.unwrap().is_none());
    assert_eq!(full.total_in_table, 46);
    assert_eq!(stored(&stack).await.len(), 46);
}

/// The sweep pages through the `bySweep` index 1,000 leads at a time and checkpoints its
/// position after each page: a run that stops after the first page leaves the rest of
/// the sweep to the next run, which finishes it without going back to Twenty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_cut_short_is_finished_by_the_next_run_from_its_checkpoint() {
    const N: usize = 1500;
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(N),
        settings: quick_settings(),
        ..StackOptions::default()
    })
    .await;
    assert_eq!(
        full(&stack.engine).await.unwrap().status,
        RunStatus::Succeeded
    );
    // Gone from Twenty without a word: the first lead in the index's (key) order, on
    // the sweep's first page, and the last, on its second.
    let mut ids: Vec<_> = stack.emulator.records("leads").iter().map(id_of).collect();
    ids.sort_by_key(|id| id.to_string());
    let (first, last) = (ids[0].clone(), ids[N - 1].clone());
    assert!(stack.emulator.destroy("leads", first.as_str()));
    assert!(stack.emulator.destroy("leads", last.as_str()));

    // A full pass driven step by step, as `SyncEngine::run` drives it, that stops
    // (as at a deadline, or a crash) after its sweep's first page.
    let owner = "cut-short";
    let ttl = SyncSettings::default().lease_ttl;
    assert!(stack.store.acquire_lease(owner, ttl).await.unwrap().is_ok());
    let mut run = stack
        .engine
        .start(RequestedMode::Full, owner)
        .await
        .unwrap();
    while run.next_page(deadline()).await.unwrap() == PageOutcome::More {}
    assert_eq!(
        run.next_sweep_page(deadline()).await.unwrap(),
        PageOutcome::More
    );
    drop(run);
    stack.store.release_lease(owner).await.unwrap();
    assert!(stack.store.get_lead(&first).await.unwrap().is_none());
    assert!(stack.store.get_lead(&last).await.unwrap().is_some());
    let state = stack.store.load_state().await.unwrap();
    assert!(
        state
            .checkpoint
            .and_then(|cp| cp.sweep)
            .is_some_and(|s| s.after.is_some())
    );

    let next = auto(&stack.engine).await.unwrap();
    assert_eq!(next.status, RunStatus::Succeeded);
    assert!(next.resumed && next.mode == SyncMode::Full);
    assert_eq!((next.pages, next.requests, next.removed), (0, 0, 1));
    assert!(stack.store.get_lead(&last).await.unwrap().is_none());
    let state = stack.store.load_state().await.unwrap();
    assert!(state.checkpoint.is_none());
    assert_eq!(state.lead_count, N as i64 - 2);
    assert_eq!(stored(&stack).await.len(), N - 2);
}

#[tokio::test]
async fn two_runs_started_together_one_runs_and_one_skips() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    stack
        .emulator
        .push_fault(Fault::Slow(Duration::from_millis(800)));
    let other = stack.second_engine(SyncSettings::default());
    let (a, b) = tokio::join!(auto(&stack.engine), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        auto(&other).await
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (a.status, b.status),
        (RunStatus::Succeeded, RunStatus::Skipped)
    );
    assert_eq!(b.requests, 0, "a skipped run costs Twenty nothing");
    // The lease is released: the next run goes ahead.
    let next = auto(&other).await.unwrap();
    assert_eq!(next.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn a_run_killed_mid_way_is_taken_over_after_its_lease_expires() {
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(1000),
        page_size: 100,
        ..StackOptions::default()
    })
    .await;
    // A run that stored three pages and died: its lease and checkpoint are left behind.
    // The lease is long enough for the three pages on a loaded machine.
    let lease = Duration::from_secs(5);
    let leased_at = tokio::time::Instant::now();
    stack
        .store
        .acquire_lease("crashed-run", lease)
        .await
        .unwrap()
        .unwrap();
    let mut crashed = stack
        .engine
        .start(RequestedMode::Auto, "crashed-run")
        .await
        .unwrap();
    for _ in 0..3 {
        crashed.next_page(deadline()).await.unwrap();
    }
    drop(crashed);

    let blocked = auto(&stack.engine).await.unwrap();
    assert_eq!(blocked.status, RunStatus::Skipped);

    tokio::time::sleep_until(leased_at + lease + Duration::from_millis(100)).await;
    let taken_over = auto(&stack.engine).await.unwrap();
    assert_eq!(taken_over.status, RunStatus::Succeeded);
    assert!(taken_over.resumed);
    assert_eq!(
        taken_over.pages, 7,
        "it resumed after the three stored pages"
    );
    assert_eq!(stored(&stack).await.len(), 1000);
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 1000);
}

#[tokio::test]
async fn a_429_storm_ends_the_run_with_a_checkpoint_and_the_next_run_completes() {
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(1000),
        page_size: 100,
        ..StackOptions::default()
    })
    .await;
    stack.emulator.after_list_request(
        3,
        Box::new(|emu| {
            emu.push_faults(
                Fault::Status {
                    code: 429,
                    retry_after_secs: None,
                },
                3,
            )
        }),
    );
    let first = auto(&stack.engine).await.unwrap();
    assert_eq!((first.status, first.pages), (RunStatus::Partial, 3));
    assert!(
        first
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("rate limited"),
        "{:?}",
        first.error
    );
    assert_eq!(watermark(&stack).await, None);

    let second = auto(&stack.engine).await.unwrap();
    assert_eq!(
        (second.status, second.resumed, second.pages),
        (RunStatus::Succeeded, true, 7)
    );
    assert_eq!(stored(&stack).await.len(), 1000);
}

#[tokio::test]
async fn the_client_paces_itself_under_twentys_limit_instead_of_hitting_it() {
    // Twenty allows 10 requests a second here; the client allows itself 8.
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(300),
        page_size: 10,
        emulator_rate_limit: Some((10, Duration::from_secs(1))),
        pacing: Some((8, Duration::from_secs(1))),
        ..StackOptions::default()
    })
    .await;
    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(
        (summary.status, summary.pages, summary.rate_limited),
        (RunStatus::Succeeded, 30, 0)
    );
    assert!(stack.emulator.request_log().iter().all(|r| r.status != 429));
}

#[tokio::test]
async fn dynamodb_throttling_is_retried_without_loss() {
    // Every second write is refused the way DynamoDB refuses when it throttles.
    let proxy = DynamoThrottlingProxy::start(&dynamo_local_endpoint(), 2)
        .await
        .unwrap();
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(500),
        dynamo_endpoint: Some(proxy.endpoint.clone()),
        ..StackOptions::default()
    })
    .await;
    let full = auto(&stack.engine).await.unwrap();
    assert_eq!((full.status, full.changed), (RunStatus::Succeeded, 500));
    let after_full = proxy.throttled();
    assert!(after_full >= 3, "throttled {after_full} bulk writes");

    // Changed leads are written one by one: many single writes throttled.
    for lead in stack.emulator.records("leads").iter().take(100) {
        stack.emulator.update(
            "leads",
            lead["id"].as_str().unwrap(),
            json!({"score": 31337}),
        );
    }
    let delta = auto(&stack.engine).await.unwrap();
    assert_eq!((delta.status, delta.changed), (RunStatus::Succeeded, 100));
    assert!(
        proxy.throttled() - after_full >= 50,
        "throttled {} writes",
        proxy.throttled() - after_full
    );

    let table = stored(&stack).await;
    assert_eq!(table.len(), 500);
    assert_eq!(
        table
            .values()
            .filter(|l| l.fields["score"] == 31337)
            .count(),
        100
    );
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 500);
}

#[tokio::test]
async fn an_outage_is_recorded_and_the_next_run_catches_up() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    auto(&stack.engine).await.unwrap();
    stack.emulator.push_faults(
        Fault::Status {
            code: 503,
            retry_after_secs: None,
        },
        100,
    );
    auto(&stack.engine).await.unwrap_err();
    let down = stack.store.load_state().await.unwrap().unreachable_since;
    assert!(down.is_some(), "the outage start is recorded");
    auto(&stack.engine).await.unwrap_err();
    assert_eq!(
        stack.store.load_state().await.unwrap().unreachable_since,
        down,
        "the first failure is kept"
    );

    stack.emulator.clear_faults();
    for lead in stack.emulator.records("leads").iter().take(5) {
        stack
            .emulator
            .update("leads", lead["id"].as_str().unwrap(), json!({"score": 7}));
    }
    let back = auto(&stack.engine).await.unwrap();
    assert_eq!((back.status, back.changed), (RunStatus::Succeeded, 5));
    assert_eq!(
        stack.store.load_state().await.unwrap().unreachable_since,
        None
    );
}
