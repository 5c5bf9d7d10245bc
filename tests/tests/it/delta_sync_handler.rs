use aws_sdk_dynamodb::types::AttributeValue;
use delta_sync::DeltaSync;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use spartan_sync::SyncSettings;
use spartan_sync::domain::{MirrorSet, ObjectName};
use spartan_sync::metrics::Metrics;
use spartan_sync::sync::SyncMode;
use spartan_sync::sync::related::RelatedPull;
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::stack::TestStack;

/// The delta-sync function over the stack, mirroring `objects` (`TWENTY_OBJECTS`).
pub fn function_for(stack: &TestStack, objects: &str) -> DeltaSync {
    let settings = SyncSettings::default();
    let objects = MirrorSet::parse(objects, &ObjectName::from_plural("leads"))
        .unwrap_or_else(|e| panic!("{e}"));
    DeltaSync {
        engine: stack.engine.clone(),
        metrics: Metrics::new(None, "delta-sync"),
        related: Some(RelatedPull::new(
            stack.engine.twenty(),
            &stack.store,
            &objects,
            settings.lookback,
            settings.clock_skew,
            settings.reserve,
        )),
    }
}

fn function(stack: &TestStack) -> DeltaSync {
    function_for(stack, "leads,notes,noteTargets")
}

pub fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn the_scheduled_event_aws_sends_runs_a_sync() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let fixture: Value = serde_json::from_str(include_str!(
        "../../fixtures/aws/example-eventbridge-schedule.json"
    ))
    .unwrap();
    let first = delta_sync::handle(&function(&stack), event(fixture.clone()))
        .await
        .unwrap();
    assert_eq!((first.mode, first.changed), (SyncMode::Full, 47));
    let second = delta_sync::handle(&function(&stack), event(fixture))
        .await
        .unwrap();
    assert_eq!((second.mode, second.changed), (SyncMode::Delta, 0));
}

#[tokio::test]
async fn a_manual_full_payload_forces_a_full_sync() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    delta_sync::handle(&function(&stack), event(json!({})))
        .await
        .unwrap();
    let forced = delta_sync::handle(&function(&stack), event(json!({"mode": "full"})))
        .await
        .unwrap();
    assert_eq!((forced.mode, forced.fetched), (SyncMode::Full, 47));
    let summary = serde_json::to_value(&forced).unwrap();
    assert_eq!(summary["mode"], "full");
    assert_eq!(summary["totalInTable"], 47);
}

#[tokio::test]
async fn a_bad_payload_is_refused_and_syncs_nothing() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let err = delta_sync::handle(&function(&stack), event(json!({"mode": "sometimes"})))
        .await
        .unwrap_err();
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "NonRetryable.BadPayload");
    assert!(stack.store.scan_leads().await.unwrap().is_empty());
    assert!(stack.emulator.request_log().is_empty());
}

/// The schedule that reconciles hard deletes sends this payload (`ReconcileRun` in
/// infra/template.yaml): EventBridge Scheduler passes a target's `Input` verbatim.
fn reconcile_payload() -> Value {
    json!({"mode": "full"})
}

fn ids_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

/// Issue #15: a bulk delete in Twenty removes 40 of 47 leads and sends ONE
/// `lead.destroyed`. Deltas cannot see hard deletes; the next scheduled reconcile
/// leaves exactly the 7 Twenty still has, with nobody running a command.
#[tokio::test]
async fn a_bulk_delete_of_40_of_47_leaves_7_after_the_scheduled_reconcile() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let f = function(&stack);
    delta_sync::handle(&f, event(json!({}))).await.unwrap();
    let doomed: Vec<String> = ids_of(&stack.emulator.records("leads"))
        .into_iter()
        .take(40)
        .collect();
    assert_eq!(stack.emulator.bulk_destroy("leads", &doomed), 40);
    let delta = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert_eq!(delta.mode, SyncMode::Delta);
    assert_eq!(delta.total_in_table, 47, "a delta cannot see hard deletes");

    let reconcile = delta_sync::handle(&f, event(reconcile_payload()))
        .await
        .unwrap();
    assert_eq!((reconcile.mode, reconcile.removed), (SyncMode::Full, 40));
    let live = stack.store.scan_leads().await.unwrap();
    assert_eq!(live.len(), 7);
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 7);
    let kept = ids_of(&stack.emulator.records("leads"));
    assert!(live.iter().all(|l| kept.contains(&l.id.to_string())));
}

/// Issue #15: Twenty tries a delivery once. A note (and its link to a lead) created
/// while the webhook function was down is in the table after the next delta.
#[tokio::test]
async fn a_note_created_while_the_webhook_is_down_arrives_with_the_next_delta() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let f = function(&stack);
    delta_sync::handle(&f, event(json!({}))).await.unwrap();
    let lead = ids_of(&stack.emulator.records("leads")).remove(0);
    let note = stack
        .emulator
        .create("notes", json!({"title": "Call back on Monday"}));
    stack.emulator.create(
        "noteTargets",
        json!({"noteId": note["id"], "targetLeadId": lead}),
    );

    let delta = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    let pulled: Vec<(String, u64)> = delta
        .related
        .iter()
        .map(|r| (r.object.clone(), r.written))
        .collect();
    assert_eq!(
        pulled,
        vec![("notes".to_string(), 1), ("noteTargets".to_string(), 1)]
    );
    let lead_id = spartan_sync::LeadId::parse(&lead).unwrap();
    let notes = stack.store.notes_of(&lead_id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["title"], "Call back on Monday");

    // A run with nothing new reads one page per object (within the lookback it still
    // holds the note just made) and writes nothing again.
    let idle = delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert!(
        idle.related
            .iter()
            .all(|r| r.pages == 1 && r.written == 0 && r.complete),
        "{:?}",
        idle.related
    );
}

/// Issue #15: destroying a lead in Twenty nulls its note links' `targetLeadId`,
/// silently. The lead's tombstone takes the mirror's links with it, however many.
#[tokio::test]
async fn a_destroyed_lead_leaves_no_orphan_note_link() {
    let stack = TestStack::start(Seed::DemoLeads).await;
    let f = function(&stack);
    delta_sync::handle(&f, event(json!({}))).await.unwrap();
    let lead = ids_of(&stack.emulator.records("leads")).remove(0);
    let lead_id = spartan_sync::LeadId::parse(&lead).unwrap();
    // More links than one DynamoDB transaction can remove along with the lead.
    const NOTES: usize = 120;
    for n in 0..NOTES {
        let note = stack
            .emulator
            .create("notes", json!({"title": format!("Call {n}")}));
        stack.emulator.create(
            "noteTargets",
            json!({"noteId": note["id"], "targetLeadId": lead}),
        );
    }
    delta_sync::handle(&f, event(json!({}))).await.unwrap();
    assert_eq!(stack.store.notes_of(&lead_id).await.unwrap().len(), NOTES);

    assert!(stack.emulator.destroy("leads", &lead));
    let reconcile = delta_sync::handle(&f, event(reconcile_payload()))
        .await
        .unwrap();
    assert_eq!(reconcile.removed, 1);
    let links = stack
        .dynamo
        .query()
        .table_name(stack.store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :note)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("LEAD#{lead}")))
        .expression_attribute_values(":note", AttributeValue::S("NOTE#".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(links.count(), 0, "orphan links: {:?}", links.items());
}

/// A note pull that stops mid-way (here Twenty refuses its second page) keeps its
/// position: the next run resumes it from the last stored page, not from the start, and
/// only then moves the notes' state.
#[tokio::test]
async fn a_note_pull_cut_short_resumes_from_its_last_stored_page() {
    use spartan_sync_tests::emulator::Fault;

    let stack = TestStack::with_page_size(Seed::Empty, 20).await;
    for n in 0..50 {
        stack
            .emulator
            .create("notes", json!({"title": format!("Note {n}")}));
    }
    let settings = SyncSettings::default();
    let related = RelatedPull::new(
        stack.engine.twenty(),
        &stack.store,
        &MirrorSet::with_defaults(&ObjectName::from_plural("leads")),
        settings.lookback,
        settings.clock_skew,
        std::time::Duration::ZERO,
    );
    stack.emulator.after_list_request(
        1,
        Box::new(|emu| {
            emu.push_fault(Fault::Status {
                code: 400,
                retry_after_secs: None,
            })
        }),
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let first = related.pull(false, deadline).await;
    let notes = &first[0];
    assert_eq!((notes.pages, notes.fetched, notes.complete), (1, 20, false));
    assert!(notes.error.is_some(), "{notes:?}");

    let second = related.pull(false, deadline).await;
    let notes = &second[0];
    assert!(notes.resumed && notes.complete, "{notes:?}");
    assert_eq!(
        (notes.pages, notes.fetched),
        (2, 30),
        "from page 2, not from the start"
    );
    let state = stack.store.for_object("notes").load_state().await.unwrap();
    assert!(state.pull.is_none() && state.fresh_as_of.is_some());
}
