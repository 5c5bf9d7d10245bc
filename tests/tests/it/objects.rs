//! Issue #15: every object named in `TWENTY_OBJECTS` is mirrored by the same runs and
//! the same webhook function as the leads, and the scheduled reconcile removes what
//! Twenty destroyed while no webhook reached us.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use spartan_sync::domain::MirrorSet;
use spartan_sync::sync::related::RelatedSummary;
use spartan_sync::sync::{SyncMode, SyncStatus};
use spartan_sync::{LeadId, ObjectName, Timestamp};
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::stack::{StackOptions, TestStack};

use crate::delta_sync_handler::{event, function_for};
use crate::webhook_handler::{captured, post, signed_at, state_for};

const FIVE: &str = "leads,notes,noteTargets,people,companies";

type Item = HashMap<String, AttributeValue>;

/// The live items of one kind (`PERSON`), through the `byKind` index as readers list them.
async fn live(stack: &TestStack, kind: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = stack
            .dynamo
            .query()
            .table_name(stack.store.table())
            .index_name("byKind")
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", "_kind")
            .expression_attribute_values(":k", AttributeValue::S(kind.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

/// `GET /sync`'s view of a stack mirroring the five objects.
async fn sync_status(stack: &TestStack) -> SyncStatus {
    let objects = MirrorSet::parse(FIVE, &ObjectName::from_plural("leads")).unwrap();
    SyncStatus::read_all(&stack.store, &objects, Timestamp::now())
        .await
        .unwrap()
}

async fn item(stack: &TestStack, kind: &str, id: &str) -> Option<Item> {
    stack
        .dynamo
        .get_item()
        .table_name(stack.store.table())
        .key("pk", AttributeValue::S(format!("{kind}#{id}")))
        .key("sk", AttributeValue::S(kind.into()))
        .send()
        .await
        .unwrap()
        .item
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_string()
}

fn by_object(related: &[RelatedSummary]) -> Vec<(&str, u32, u64, u64)> {
    related
        .iter()
        .map(|r| {
            assert!(r.complete && r.error.is_none(), "{r:?}");
            (r.object.as_str(), r.pages, r.written, r.removed)
        })
        .collect()
}

/// The bar: `TWENTY_OBJECTS=leads,notes,noteTargets,people,companies` mirrors
/// all five, and an idle run still costs one request per object.
#[tokio::test]
async fn five_objects_are_mirrored_and_an_idle_run_costs_one_request_each() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let people = stack.emulator.seed_people(30);
    stack.emulator.seed_companies(12);
    let lead = id(&stack.emulator.records("leads")[0]);
    let note = stack
        .emulator
        .create("notes", json!({"title": "Met at the fair"}));
    stack.emulator.create(
        "noteTargets",
        json!({"noteId": note["id"], "targetLeadId": lead}),
    );
    // A link to a person is not a lead's note: pulled, and stored nowhere.
    stack.emulator.create(
        "noteTargets",
        json!({"noteId": note["id"], "targetPersonId": people[0]["id"]}),
    );
    let f = function_for(&stack, FIVE);

    let first = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert_eq!((first.mode, first.fetched), (SyncMode::Full, 47));
    assert_eq!(
        by_object(&first.related),
        [
            ("notes", 1, 1, 0),
            ("noteTargets", 1, 1, 0),
            ("people", 1, 30, 0),
            ("companies", 1, 12, 0)
        ]
    );
    assert_eq!(live(&stack, "LEAD").await.len(), 47);
    assert_eq!(live(&stack, "PERSON").await.len(), 30);
    assert_eq!(live(&stack, "COMPANY").await.len(), 12);
    assert_eq!(live(&stack, "NOTE").await.len(), 1);
    let lead_id = LeadId::parse(&lead).unwrap();
    assert_eq!(stack.store.notes_of(&lead_id).await.unwrap().len(), 1);
    // Stored as Twenty sent it.
    let person = item(&stack, "PERSON", &id(&people[0])).await.unwrap();
    let name = person["name"].as_m().unwrap();
    for part in ["firstName", "lastName"] {
        let stored = name[part].as_s().unwrap();
        assert_eq!(Some(stored.as_str()), people[0]["name"][part].as_str());
    }

    let before = stack.emulator.request_log().len();
    let idle = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    let requests = &stack.emulator.request_log()[before..];
    assert_eq!(requests.len(), 5, "{requests:?}");
    assert_eq!(idle.requests, 1);
    assert!(
        idle.related.iter().all(|r| r.requests == 1),
        "{:?}",
        idle.related
    );
    // GET /sync shows each object's last pull as it went, its cost included.
    let status = sync_status(&stack).await;
    let stored: Vec<(&str, Value)> = status
        .objects
        .iter()
        .map(|o| {
            let pull = o.last_pull.as_ref().unwrap();
            (o.object.as_str(), pull["requests"].clone())
        })
        .collect();
    assert_eq!(
        stored,
        [
            ("notes", json!(1)),
            ("noteTargets", json!(1)),
            ("people", json!(1)),
            ("companies", json!(1))
        ]
    );
    assert_eq!(
        by_object(&idle.related),
        [
            ("notes", 1, 0, 0),
            ("noteTargets", 1, 0, 0),
            ("people", 1, 0, 0),
            ("companies", 1, 0, 0)
        ]
    );
}

/// Twenty sends nothing we could rely on for a destroy (one event for a bulk delete,
/// none when the webhook is down). The scheduled reconcile finds every object's
/// destroyed records: a tombstone for records, the link itself for note links.
#[tokio::test]
async fn what_twenty_destroyed_unseen_is_gone_after_the_scheduled_reconcile() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let people = stack.emulator.seed_people(5);
    let companies = stack.emulator.seed_companies(3);
    let lead = id(&stack.emulator.records("leads")[0]);
    let mut notes = Vec::new();
    for title in ["Doomed", "Kept"] {
        let note = stack.emulator.create("notes", json!({"title": title}));
        stack.emulator.create(
            "noteTargets",
            json!({"noteId": note["id"], "targetLeadId": lead}),
        );
        notes.push(note);
    }
    let f = function_for(&stack, FIVE);
    delta_sync::handle(&f, event(json!({}))).await.unwrap();

    let gone = id(&people[0]);
    let soft = id(&people[1]);
    assert!(stack.emulator.destroy("people", &gone));
    assert!(stack.emulator.soft_delete("people", &soft).is_some());
    assert_eq!(
        stack
            .emulator
            .bulk_destroy("companies", &[id(&companies[0]), id(&companies[1])]),
        2
    );
    // Twenty removes a destroyed note's links with it, without an event.
    assert!(stack.emulator.destroy("notes", &id(&notes[0])));

    let delta = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert_eq!(delta.mode, SyncMode::Delta);
    assert_eq!(
        live(&stack, "PERSON").await.len(),
        5,
        "a delta cannot see a destroy"
    );
    let soft_item = item(&stack, "PERSON", &soft).await.unwrap();
    assert!(
        text(&soft_item, "deletedAt").is_some(),
        "a soft delete is seen"
    );

    let reconcile = delta_sync::handle(&f, event(json!({"mode": "full"})))
        .await
        .unwrap();
    assert_eq!(reconcile.mode, SyncMode::Full);
    let removed: Vec<(&str, u64)> = by_object(&reconcile.related)
        .into_iter()
        .map(|(object, _, _, removed)| (object, removed))
        .collect();
    assert_eq!(
        removed,
        [
            ("notes", 1),
            ("noteTargets", 1),
            ("people", 1),
            ("companies", 2)
        ]
    );
    assert_eq!(live(&stack, "PERSON").await.len(), 4);
    assert_eq!(live(&stack, "COMPANY").await.len(), 1);
    // A reader filtering on deletedAt skips the tombstone, as it skips a soft delete.
    let tombstone = item(&stack, "PERSON", &gone).await.unwrap();
    assert!(text(&tombstone, "deletedAt").is_some());
    assert!(tombstone.contains_key("_destroyedAt") && !tombstone.contains_key("_kind"));
    assert_eq!(text(&tombstone, "id"), Some(gone.clone()));
    assert!(!tombstone.contains_key("name"), "{tombstone:?}");
    let lead_id = LeadId::parse(&lead).unwrap();
    let kept = stack.store.notes_of(&lead_id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["title"], "Kept");
    assert_eq!(live(&stack, "NOTETARGET").await.len(), 1, "no orphan link");

    // GET /sync counts each object's records as its reconcile left them.
    let status = sync_status(&stack).await;
    let counts: Vec<(&str, i64)> = status
        .records
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        counts,
        [
            ("companies", 1),
            ("leads", 47),
            ("noteTargets", 1),
            ("notes", 1),
            ("people", 4)
        ],
        "the soft-deleted person is held, with its deletedAt"
    );
    assert!(
        status
            .objects
            .iter()
            .all(|o| !o.pull_in_progress && o.counted_at.is_some())
    );

    // Nothing is left to find: a second reconcile removes nothing.
    let again = delta_sync::handle(&f, event(json!({"mode": "full"})))
        .await
        .unwrap();
    assert!(
        again.related.iter().all(|r| r.removed == 0),
        "{:?}",
        again.related
    );
}

/// The webhook function applies the events of every configured object: the captured
/// `person.*` deliveries of a real Twenty 2.21.0, ignored by default, are stored.
#[tokio::test]
async fn the_webhook_applies_every_configured_objects_events() {
    let state = state_for(Some("leads,notes,noteTargets,people")).await;
    let mut statuses = Vec::new();
    for d in captured() {
        let (status, body) = post(&state, d.body.as_bytes(), &d.headers, signed_at(&d)).await;
        assert_eq!(status, 200, "{} → {body}", d.event);
        if d.event.starts_with("person.") {
            statuses.push((
                d.event.clone(),
                body["status"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert!(
        statuses
            .iter()
            .all(|(_, s)| s == "applied" || s == "duplicate"),
        "{statuses:?}"
    );
    assert!(statuses.iter().any(|(_, s)| s == "applied"));
    let get = |id: &str| {
        let store = state.store.clone();
        let id = id.to_string();
        async move {
            store
                .client()
                .get_item()
                .table_name(store.table())
                .key("pk", AttributeValue::S(format!("PERSON#{id}")))
                .key("sk", AttributeValue::S("PERSON".into()))
                .send()
                .await
                .unwrap()
                .item
                .unwrap()
        }
    };
    // The story soft-deletes one person (`person.deleted`) and creates another.
    let deleted = get("35f80854-e1aa-4743-a233-bdf04c827b3f").await;
    assert!(text(&deleted, "deletedAt").is_some());
    let created = get("cb43e8ce-2e78-4f74-9697-e721fcc72d0a").await;
    assert_eq!(created.get("deletedAt").map(|v| v.is_null()), Some(true));
    assert_eq!(text(&created, "_kind").as_deref(), Some("PERSON"));
}

/// The reconcile never removes a record written after it began (a webhook's, say): it
/// may be one the pull could not have seen yet.
#[tokio::test]
async fn the_sweep_spares_a_record_written_after_the_reconcile_began() {
    use spartan_sync::store::{RecordPlace, WriteOrigin};
    use spartan_sync::{RemoteRecord, Timestamp};

    let stack = TestStack::start(Seed::Empty).await;
    let store = stack.store.for_object("people");
    let person = |id: &str| {
        let fields = json!({"id": id, "updatedAt": "2026-11-27T10:00:00.000Z", "deletedAt": null});
        RemoteRecord::from_fields(fields.as_object().unwrap().clone()).unwrap()
    };
    let unseen = "0b9a3a52-7f0e-4c55-9d55-6a8f2f7c1a01";
    let late = "0b9a3a52-7f0e-4c55-9d55-6a8f2f7c1a02";
    let place = |id: &str| RecordPlace::record("PERSON", id);
    // Stored by an earlier full pull (generation 1).
    store
        .put_versioned(&place(unseen), &person(unseen), WriteOrigin::Sync, Some(1))
        .await
        .unwrap();
    let began = Timestamp::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    store
        .put_versioned(&place(late), &person(late), WriteOrigin::Webhook, None)
        .await
        .unwrap();

    // Full pull 2 saw neither.
    let (removed, next) = store
        .sweep_records("PERSON", true, 2, began, None)
        .await
        .unwrap();
    assert_eq!((removed, next), (1, None));
    let live: Vec<String> = live(&stack, "PERSON")
        .await
        .iter()
        .filter_map(|i| text(i, "id"))
        .collect();
    assert_eq!(live, [late]);
    assert!(
        item(&stack, "PERSON", unseen)
            .await
            .unwrap()
            .contains_key("_destroyedAt")
    );
}

/// A `note.destroyed` delivery takes the note's links with it, under every lead it was
/// linked to: Twenty removes them without an event of their own.
#[tokio::test]
async fn a_destroyed_notes_delivery_takes_its_links_under_every_lead() {
    use spartan_sync::RemoteRecord;
    use spartan_sync::webhook::{Change, EventAction, EventOutcome, apply_event};

    let stack = TestStack::start(Seed::DemoLeads).await;
    let leads: Vec<String> = stack.emulator.records("leads")[..2]
        .iter()
        .map(id)
        .collect();
    let note = stack.emulator.create("notes", json!({"title": "Shared"}));
    let other = stack.emulator.create("notes", json!({"title": "Other"}));
    for lead in &leads {
        for n in [&note, &other] {
            stack.emulator.create(
                "noteTargets",
                json!({"noteId": n["id"], "targetLeadId": lead}),
            );
        }
    }
    let f = function_for(&stack, "leads,notes,noteTargets");
    delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert_eq!(live(&stack, "NOTETARGET").await.len(), 4);

    let record = RemoteRecord::from_fields(note.as_object().unwrap().clone()).unwrap();
    assert!(stack.emulator.destroy("notes", &id(&note)));
    let change = Change::Record {
        action: EventAction::Destroyed,
        kind: "NOTE".into(),
        record,
    };
    let outcome = apply_event(&stack.store, &change).await.unwrap();
    assert_eq!(outcome, EventOutcome::Applied);
    for lead in &leads {
        let notes = stack
            .store
            .notes_of(&LeadId::parse(lead).unwrap())
            .await
            .unwrap();
        let titles: Vec<&str> = notes.iter().filter_map(|n| n["title"].as_str()).collect();
        assert_eq!(titles, ["Other"]);
    }
    assert_eq!(live(&stack, "NOTETARGET").await.len(), 2, "no orphan link");
}

/// One rate budget for every object: the other objects' pulls pace themselves with the
/// leads' client, so a run of five objects stays under Twenty's limit as one of the
/// leads alone does (a client of their own would start each with a fresh budget).
#[tokio::test]
async fn every_object_shares_the_leads_rate_budget() {
    use std::time::Duration;

    // Twenty allows 5 requests in 2 s here; the client allows itself 4. Each object
    // alone needs fewer than 4, all of them together about 10.
    let stack = TestStack::with(StackOptions {
        seed: Seed::Generated(20),
        page_size: 20,
        emulator_rate_limit: Some((5, Duration::from_secs(2))),
        pacing: Some((4, Duration::from_secs(2))),
        ..StackOptions::default()
    })
    .await;
    stack.emulator.seed_people(40);
    stack.emulator.seed_companies(40);
    let f = function_for(&stack, FIVE);
    let first = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert_eq!(first.rate_limited, 0);
    let pulled: Vec<(&str, u64)> = by_object(&first.related)
        .into_iter()
        .zip(&first.related)
        .map(|((object, ..), r)| (object, r.requests))
        .collect();
    assert_eq!(
        pulled,
        [
            ("notes", 1),
            ("noteTargets", 1),
            ("people", 2),
            ("companies", 2)
        ]
    );
    let log = stack.emulator.request_log();
    assert!(
        log.iter().all(|r| r.status != 429),
        "{} of {} requests answered 429",
        log.iter().filter(|r| r.status == 429).count(),
        log.len()
    );
}
