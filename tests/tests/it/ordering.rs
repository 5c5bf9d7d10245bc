use serde_json::json;
use spartan_sync::RemoteRecord;
use spartan_sync::store::WriteOrigin;
use spartan_sync::sync::Applied as PutOutcome;
use spartan_sync_tests::StoreExt;
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::runs::auto;
use spartan_sync_tests::stack::TestStack;

use crate::util::id_of;

fn record(v: serde_json::Value) -> RemoteRecord {
    RemoteRecord::from_fields(v.as_object().unwrap().clone()).unwrap()
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_one() {
    let stack = TestStack::start(Seed::Empty).await;
    let id = "bf91e08e-34f1-43a7-9ba8-92963c4fd740";
    let older = record(json!({"id": id, "updatedAt": "2026-11-24T17:13:20.558Z", "score": 10}));
    let newer = record(json!({"id": id, "updatedAt": "2026-11-24T17:14:05.207Z", "score": 77}));

    assert_eq!(
        stack
            .store
            .put_if_newer(&newer, WriteOrigin::Webhook)
            .await
            .unwrap(),
        PutOutcome::Inserted
    );
    assert_eq!(
        stack
            .store
            .put_if_newer(&older, WriteOrigin::Sync)
            .await
            .unwrap(),
        PutOutcome::Stale
    );
    assert_eq!(
        stack
            .store
            .put_if_newer(&newer, WriteOrigin::Sync)
            .await
            .unwrap(),
        PutOutcome::Unchanged,
        "a replay of the same version writes nothing"
    );
    // The batch path decides the same way.
    let counts = stack
        .store
        .apply_records(&[older], WriteOrigin::Sync, None)
        .await
        .unwrap();
    assert_eq!((counts.written(), counts.stale), (0, 1));

    let stored = stack.store.get_lead(newer.id()).await.unwrap().unwrap();
    assert_eq!(stored.fields["score"], 77);
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 1);
}

#[tokio::test]
async fn an_edit_landing_between_page_fetches_is_not_lost() {
    let stack = TestStack::with_page_size(Seed::Generated(500), 100).await;
    let records = stack.emulator.records("leads");
    // Sorted by (updatedAt, id) the first record is on page 1, which is already read
    // when the edit lands after the second page.
    let mut ids: Vec<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let early = ids[0].clone();
    let late = ids[499].clone();
    let (e, l) = (early.clone(), late.clone());
    stack.emulator.after_list_request(
        2,
        Box::new(move |emu| {
            emu.update("leads", &e, json!({"score": 4242}));
            emu.update("leads", &l, json!({"score": 4343}));
        }),
    );

    let mut runs = 0;
    loop {
        runs += 1;
        auto(&stack.engine).await.unwrap();
        let a = stack
            .store
            .get_lead(&id_of(&json!({"id": early})))
            .await
            .unwrap()
            .unwrap();
        let b = stack
            .store
            .get_lead(&id_of(&json!({"id": late})))
            .await
            .unwrap()
            .unwrap();
        if a.fields["score"] == 4242 && b.fields["score"] == 4343 {
            break;
        }
        assert!(
            runs < 2,
            "the edits were not picked up by this run or the next"
        );
    }
    assert_eq!(stack.store.scan_leads().await.unwrap().len(), 500);
}

#[tokio::test]
async fn a_same_content_newer_version_still_fences_off_an_older_different_one() {
    // Twenty: A at T1, B at T2, back to A at T3. We saw A@T1, then A@T3 (content equal,
    // so not rewritten); B@T2 arriving late must still lose.
    let stack = TestStack::start(Seed::Empty).await;
    let id = "bf91e08e-34f1-43a7-9ba8-92963c4fd740";
    let a1 = record(json!({"id": id, "updatedAt": "2026-11-24T17:00:01.000Z", "score": 1}));
    let b2 = record(json!({"id": id, "updatedAt": "2026-11-24T17:00:02.000Z", "score": 2}));
    let a3 = record(json!({"id": id, "updatedAt": "2026-11-24T17:00:03.000Z", "score": 1}));
    stack
        .store
        .put_if_newer(&a1, WriteOrigin::Webhook)
        .await
        .unwrap();
    let counts = stack
        .store
        .apply_records(&[a3], WriteOrigin::Sync, None)
        .await
        .unwrap();
    assert_eq!((counts.written(), counts.unchanged), (0, 1));
    assert_eq!(
        stack
            .store
            .put_if_newer(&b2, WriteOrigin::Webhook)
            .await
            .unwrap(),
        PutOutcome::Stale
    );
    assert_eq!(
        stack.store.get_lead(a1.id()).await.unwrap().unwrap().fields["score"],
        1
    );
}

/// A webhook that meets a different version in the stored version's millisecond cannot
/// order the two, so the last delivery wins and a recheck is queued in the same
/// DynamoDB transaction. The next run reads the lead by id (`id[in]` against the
/// emulator) and mirrors what Twenty holds, though its delta window starts after that
/// millisecond; the recheck item is then gone.
#[tokio::test]
async fn a_webhook_guess_within_one_millisecond_is_settled_by_the_next_run() {
    use spartan_sync::store::Mirror;

    let stack = TestStack::start(Seed::Generated(3)).await;
    auto(&stack.engine).await.unwrap();
    let twenty = stack.emulator.records("leads")[0].clone();
    let id = id_of(&twenty);
    let mut guess = twenty.clone();
    guess["score"] = json!(twenty["score"].as_i64().unwrap_or(0) + 1);
    let outcome = stack
        .store
        .put_if_newer(&record(guess), WriteOrigin::Webhook)
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::Updated, "last delivery wins");
    let queued = stack.store.rechecks(10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].id, id);

    auto(&stack.engine).await.unwrap();
    let stored = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(stored.fields["score"], twenty["score"], "Twenty's version");
    assert!(stack.store.rechecks(10).await.unwrap().is_empty());
}
