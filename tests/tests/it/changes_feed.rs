//! The change feed (`GET /changes`): every change and removal exactly once, resumable
//! from the cursor of any page, across page boundaries inside a group of equal
//! timestamps, while writes land.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};
use spartan_sync::domain::clock;
use spartan_sync::store::{DynamoLeadStore, FeedCursor, WriteOrigin};
use spartan_sync::sync::{Context, apply, local};
use spartan_sync::{LeadId, RemoteRecord, Timestamp};
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::stack::TestStack;

use crate::leads_api::{api, call};

fn record(id: &LeadId, updated_at: Timestamp, score: u64, deleted: bool) -> RemoteRecord {
    let fields = json!({
        "id": id.to_string(),
        "name": format!("Lead {score}"),
        "score": score,
        "createdAt": "2026-11-01T00:00:00.000Z",
        "updatedAt": updated_at.to_string(),
        "deletedAt": if deleted { json!(updated_at.to_string()) } else { json!(null) },
    });
    RemoteRecord::from_fields(fields.as_object().unwrap().clone()).unwrap()
}

/// Writes `records` as one sync page does: every lead with the same `_changedAt`.
async fn write_page(store: &DynamoLeadStore, records: &[RemoteRecord], at: Timestamp) {
    let ctx = Context {
        origin: WriteOrigin::Sync,
        now: at,
        generation: None,
        read_at: Some(at),
    };
    apply::apply_page(store, records, &ctx).await.unwrap();
}

/// What a client that keeps its own copy holds after applying `changes`.
fn replay(copy: &mut BTreeMap<String, Value>, changes: &[Value]) {
    for c in changes {
        let id = c["id"].as_str().unwrap().to_string();
        if c["deleted"].is_null() {
            copy.insert(id, c["lead"].clone());
        } else {
            copy.remove(&id);
        }
    }
}

/// What the client should hold: every live, undeleted lead, as the API shows it.
async fn expected(api: &leads_api::LeadsApi) -> BTreeMap<String, Value> {
    let page = call(api, "GET", "/leads?limit=500", "", &[]).await;
    page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_string(), l.clone()))
        .collect()
}

#[tokio::test]
async fn the_feed_pages_through_everything_then_hands_out_each_kind_of_deletion() {
    let (stack, api) = {
        // Everything written so far is a minute old, past the feed's settling delay.
        let _past = clock::simulate(Timestamp::now().unix_millis() - 120_000);
        api().await
    };
    let mut copy = BTreeMap::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    // The reader came by 100 s ago; the deletions below land after its visit.
    let visit = clock::simulate(Timestamp::now().unix_millis() - 100_000);
    loop {
        let path = match &cursor {
            Some(c) => format!("/changes?limit=20&cursor={c}"),
            None => "/changes?limit=20".to_string(),
        };
        let page = call(&api, "GET", &path, "", &[]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        replay(&mut copy, page.body["changes"].as_array().unwrap());
        cursor = Some(page.body["cursor"].as_str().unwrap().to_string());
        if page.body["more"] == false {
            break;
        }
    }
    drop(visit);
    assert_eq!((copy.len(), pages), (47, 3));
    assert_eq!(copy, expected(&api).await);

    // Each kind of deletion, then the reader resumes from its last cursor.
    let ids: Vec<LeadId> = copy.keys().map(|k| LeadId::parse(k).unwrap()).collect();
    {
        // Versions newer than Twenty's, written by the mirror a minute ago.
        let version = Timestamp::now();
        let _past = clock::simulate(version.unix_millis() - 60_000);
        apply::destroy_one(&stack.store, &record(&ids[0], version, 0, false))
            .await
            .unwrap();
        let soft = record(&ids[1], version, 1, true);
        write_page(&stack.store, &[soft], Timestamp::now()).await;
        local::delete(&stack.store, &ids[2], None).await.unwrap();
        let created = local::create(&stack.store, &LeadId::new_random(), Map::new())
            .await
            .unwrap();
        local::delete(&stack.store, &created.id, None)
            .await
            .unwrap();
    }
    let c = cursor.unwrap();
    let page = call(&api, "GET", &format!("/changes?cursor={c}"), "", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let kinds: BTreeMap<String, Value> = page.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c["deleted"].clone()))
        .collect();
    assert_eq!(kinds.len(), 4, "{}", page.body);
    assert_eq!(kinds[&ids[0].to_string()], "hard");
    assert_eq!(kinds[&ids[1].to_string()], "soft");
    assert_eq!(kinds[&ids[2].to_string()], "local");
    assert_eq!(kinds.values().filter(|k| *k == "hard").count(), 2);
    replay(&mut copy, page.body["changes"].as_array().unwrap());
    assert_eq!(copy, expected(&api).await);
    assert_eq!(page.body["more"], false);
    // The last page's cursor is good: nothing new, nothing again.
    let c = page.body["cursor"].as_str().unwrap();
    let again = call(&api, "GET", &format!("/changes?cursor={c}"), "", &[]).await;
    assert_eq!((again.status, &again.body["changes"]), (200, &json!([])));
}

#[tokio::test]
async fn a_feed_read_while_writes_land_misses_and_repeats_nothing_across_equal_timestamps() {
    let stack = TestStack::start(Seed::Empty).await;
    let store = &stack.store;
    let t0 = Timestamp::now().saturating_sub(std::time::Duration::from_secs(60));
    // 30 leads in one page write, all at the same millisecond, then 10 one ms later.
    let ids: Vec<LeadId> = (0..40).map(|_| LeadId::new_random()).collect();
    let first: Vec<RemoteRecord> = ids[..30]
        .iter()
        .map(|id| record(id, t0, 1, false))
        .collect();
    write_page(store, &first, t0).await;
    let t1 = t0.saturating_add(std::time::Duration::from_millis(1));
    let second: Vec<RemoteRecord> = ids[30..]
        .iter()
        .map(|id| record(id, t1, 1, false))
        .collect();
    write_page(store, &second, t1).await;

    let mut copy = BTreeMap::new();
    let mut handed_out = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut round = 0u64;
    let mut extra = Vec::new();
    // Read 7 at a time; between pages, writes land: updates of leads already handed
    // out and of leads not yet, inserts, hard and local deletes.
    loop {
        round += 1;
        // The last rounds read as if a few seconds had passed, so every write settles.
        let now = match round {
            ..=12 => Timestamp::now(),
            _ => Timestamp::now().saturating_add(std::time::Duration::from_secs(6)),
        };
        let page = store.changes(cursor.as_deref(), 7, now).await.unwrap();
        if round <= 2 {
            // Pages that end inside the group of 30 equal timestamps.
            assert_eq!(page.changes.len(), 7);
            assert!(
                page.changes.iter().all(|c| c.changed_at == t0),
                "round {round}"
            );
        }
        for change in &page.changes {
            assert!(
                handed_out.insert((change.id.clone(), change.changed_at)),
                "{} at {} handed out twice",
                change.id,
                change.changed_at
            );
            let as_json = json!({
                "id": change.id.to_string(),
                "deleted": change.deleted,
                "lead": change.lead.as_ref().map(|l| json!({"score": l.fields["score"], "etag": l.etag()})),
            });
            replay(&mut copy, &[as_json]);
        }
        cursor = Some(page.cursor);
        if round <= 6 {
            let now = Timestamp::now();
            let k = round as usize;
            write_page(store, &[record(&ids[k], now, 100 + round, false)], now).await;
            write_page(store, &[record(&ids[39 - k], now, 200 + round, false)], now).await;
            let new = LeadId::new_random();
            write_page(store, &[record(&new, now, 300 + round, false)], now).await;
            extra.push(new);
            apply::destroy_one(store, &record(&ids[20 + k], now, 0, false))
                .await
                .unwrap();
            local::delete(store, &ids[10 + k], None).await.unwrap();
        }
        if round > 12 && !page.more {
            break;
        }
        assert!(round < 40, "the feed never ended");
    }
    let truth: BTreeMap<String, Value> = stack
        .store
        .scan_leads()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.local.pending != Some(spartan_sync::store::PendingKind::Delete))
        .map(|l| {
            (
                l.id.to_string(),
                json!({"score": l.fields["score"], "etag": l.etag()}),
            )
        })
        .collect();
    assert_eq!(truth.len(), 40 - 6 - 6 + 6);
    assert_eq!(copy, truth);
}

#[tokio::test]
async fn a_cursor_older_than_removals_are_kept_is_gone_and_garbage_is_a_400() {
    let (_stack, api) = api().await;
    let old = Timestamp::now().saturating_sub(std::time::Duration::from_secs(31 * 86_400));
    let expired = FeedCursor::origin(old).encode();
    let gone = call(&api, "GET", &format!("/changes?cursor={expired}"), "", &[]).await;
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert!(gone.body["error"].as_str().unwrap().contains("start over"));
    for bad in [
        "/changes?cursor=garbage",
        "/changes?cursor=",
        "/changes?limit=0",
        "/changes?limit=x",
    ] {
        let answer = call(&api, "GET", bad, "", &[]).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
        assert!(answer.body["error"].is_string());
    }
}
