//! The races the simulator found beyond issue #13's nine, each as a plain test over the
//! simulated Twenty and the in-memory mirror (scripted, not random: the test names the
//! interleaving). Each failed on the code before its fix.

// Test code: an unwrap that fails is the test failing, with its location.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use spartan_sync::domain::{ConflictPolicy, LeadId};
use spartan_sync::store::{MemoryMirror, WHOLE_RECORD};
use spartan_sync::sync::{RequestedMode, RunStatus, SyncEngine, local};
use spartan_sync_sim::twenty::{Interlude, SimTwenty, patch_of};
use spartan_sync_sim::{new_lead, pair, simulated};
use tokio::time::Instant;

type Engine = SyncEngine<SimTwenty, MemoryMirror>;

const ID: &str = "5b2f7c1e-8d3a-4f6b-9c0d-1e2f3a4b5c6d";

fn id() -> LeadId {
    LeadId::parse(ID).unwrap()
}

async fn run(engine: &Engine, mode: RequestedMode) {
    // Past any lease a crashed or earlier run left, and past every late commit.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let summary = engine
        .run(mode, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    assert_ne!(summary.status, RunStatus::Skipped);
}

/// One lead in Twenty, mirrored by a first full sync.
async fn synced(policy: ConflictPolicy) -> (SimTwenty, Engine) {
    let (twenty, engine) = pair(7, policy);
    twenty.human_create(&id(), new_lead(1));
    run(&engine, RequestedMode::Full).await;
    (twenty, engine)
}

async fn edit(engine: &Engine, path: &str, value: Value) {
    local::update(engine.store(), &id(), &patch_of(path, value), None)
        .await
        .unwrap();
}

fn conflicts_on(engine: &Engine, field: &str) -> usize {
    engine
        .store()
        .snapshot()
        .conflicts
        .iter()
        .filter(|c| c.lead_id == ID && c.field == field)
        .count()
}

fn twenty_status(twenty: &SimTwenty) -> Value {
    twenty.records()[&id()]["status"].clone()
}

/// A conflict the push settles is recorded before its PATCH: when the PATCH lands and
/// its answer is lost, the retry reads Twenty with our value already in it and sees no
/// conflict, so a record written only with the answer was never written (seed 728).
#[test]
fn a_conflict_is_recorded_even_when_the_patch_answer_is_lost() {
    simulated(|| async {
        let (twenty, engine) = synced(ConflictPolicy::LocalWins).await;
        edit(&engine, "status", json!("QUALIFIED")).await;
        assert!(twenty.human_edit(&id(), "status", json!("LOST")));
        twenty.world().lose_answers = 1;
        run(&engine, RequestedMode::Delta).await; // PATCH lands, answer lost
        run(&engine, RequestedMode::Delta).await; // retried: no conflict visible now
        assert_eq!(twenty_status(&twenty), json!("QUALIFIED"), "local wins");
        assert_eq!(
            conflicts_on(&engine, "status"),
            1,
            "the person's LOST was overwritten: one conflict record names it"
        );
    })
    .unwrap();
}

/// Twenty answers 404 both for a hard delete and a soft one. A push that got 404 used
/// to leave a tombstone fencing the lead at the `updatedAt` it held — here the soft
/// delete's own, pulled just before the app's edit landed — so the soft-deleted
/// record Twenty still lists was refused forever, even by a full sync (seed 87).
#[test]
fn a_lead_soft_deleted_in_twenty_while_edited_here_is_mirrored_soft_deleted() {
    simulated(|| async {
        let (twenty, engine) = synced(ConflictPolicy::RemoteWins).await;
        assert!(twenty.human_soft_delete(&id()));
        run(&engine, RequestedMode::Delta).await; // the soft delete is pulled...
        edit(&engine, "name", json!("Mine")).await; // ...as the app's edit lands
        run(&engine, RequestedMode::Delta).await;
        run(&engine, RequestedMode::Full).await;
        let item = engine.store().snapshot().leads[&id()].clone();
        assert!(item.is_live(), "no tombstone for a record Twenty still has");
        assert!(!item.is_pending());
        assert_eq!(
            item.fields["deletedAt"],
            twenty.records()[&id()]["deletedAt"]
        );
        assert_ne!(item.fields["deletedAt"], Value::Null);
        assert_eq!(conflicts_on(&engine, WHOLE_RECORD), 1, "the edit is kept");
    })
    .unwrap();
}

/// A PATCH answered 404 (destroyed between the push's GET and its PATCH) used to be
/// taken as Twenty refusing the edit: the lead was parked for a person, live in the
/// mirror and never swept (seed 7486).
#[test]
fn a_lead_destroyed_between_get_and_patch_is_not_kept_as_a_ghost() {
    simulated(|| async {
        let (twenty, engine) = synced(ConflictPolicy::RemoteWins).await;
        edit(&engine, "name", json!("Mine")).await;
        twenty.world().after_next_get = Some(Interlude::Destroy);
        run(&engine, RequestedMode::Delta).await;
        run(&engine, RequestedMode::Full).await;
        let item = engine.store().snapshot().leads.get(&id()).cloned();
        assert!(item.as_ref().is_none_or(|i| !i.is_live()), "{item:?}");
        assert_eq!(conflicts_on(&engine, WHOLE_RECORD), 1, "the edit is kept");
    })
    .unwrap();
}

/// A create whose POST landed with its answer lost, then destroyed in Twenty: the
/// retry's "duplicate" and its GET's 404 used to park the lead as refused, live in the
/// mirror forever (seed 6136).
#[test]
fn a_create_destroyed_after_its_lost_answer_leaves_no_ghost() {
    simulated(|| async {
        let (twenty, engine) = pair(7, ConflictPolicy::RemoteWins);
        run(&engine, RequestedMode::Full).await;
        local::create(engine.store(), &id(), new_lead(2))
            .await
            .unwrap();
        twenty.world().lose_answers = 1;
        run(&engine, RequestedMode::Delta).await; // POST lands, answer lost
        assert!(twenty.records().contains_key(&id()));
        twenty.human_bulk_destroy(&[id()]);
        run(&engine, RequestedMode::Delta).await;
        run(&engine, RequestedMode::Full).await;
        let item = engine.store().snapshot().leads.get(&id()).cloned();
        assert!(item.as_ref().is_none_or(|i| !i.is_live()), "{item:?}");
        assert_eq!(engine.store().snapshot().state.lead_count, 0);
    })
    .unwrap();
}
