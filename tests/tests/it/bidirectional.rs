//! Local edits pushed to Twenty, merged field by field, echoes recognised.

use std::collections::{BTreeMap, HashMap};

use spartan_sync_tests::StoreExt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use spartan_sync::domain::{ConflictPolicy, ConflictRules};
use spartan_sync::metrics::Metrics;
use spartan_sync::store::{ConflictStatus, PendingKind};
use spartan_sync::sync::SyncStatus;
use spartan_sync::sync::resolve::{self, Choice, ResolveError};
use spartan_sync::{LeadId, SyncSettings, Timestamp, WebhookConfig};
use spartan_sync_tests::emulator::{Fault, ReleaseOrder, Seed};
use spartan_sync_tests::runs::{auto, full};
use spartan_sync_tests::stack::{StackOptions, TestStack};
use spartan_sync_tests::webhook_receiver::WebhookReceiver;
use webhook::WebhookState;

use crate::util::{id_of, stored};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

async fn synced(policy: ConflictPolicy) -> TestStack {
    synced_with(ConflictRules::uniform(policy)).await
}

async fn synced_with(rules: ConflictRules) -> TestStack {
    let stack = TestStack::with(StackOptions {
        seed: Seed::DemoLeads,
        settings: SyncSettings {
            conflict_rules: rules,
            ..SyncSettings::default()
        },
        ..StackOptions::default()
    })
    .await;
    auto(&stack.engine).await.unwrap();
    stack
}

/// Registers the real webhook handler (over loopback HTTP) with the emulator.
async fn receive_webhooks(stack: &TestStack) -> WebhookReceiver {
    let secret = "local-test-secret";
    let config = WebhookConfig::from_lookup(|k| match k {
        "LEADS_TABLE" => Some(stack.table.clone()),
        "TWENTY_WEBHOOK_SECRET" => Some(secret.into()),
        _ => None,
    })
    .unwrap();
    let state = WebhookState {
        config,
        store: stack.store.clone(),
        metrics: Metrics::new(None, "webhook"),
    };
    let receiver = WebhookReceiver::start(state).await.unwrap();
    stack
        .emulator
        .register_webhook(&receiver.url, &["lead.*"], secret);
    receiver
}

fn content(fields: &Map<String, Value>) -> Map<String, Value> {
    fields
        .iter()
        .filter(|(k, _)| *k != "updatedAt" && *k != "updatedBy")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn nth_lead(stack: &TestStack, n: usize) -> LeadId {
    let mut ids: Vec<String> = stack
        .emulator
        .records("leads")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    LeadId::parse(&ids[n]).unwrap()
}

#[tokio::test]
async fn a_local_update_is_pushed_and_visible_in_twenty() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let id = nth_lead(&stack, 0);
    let edited = stack
        .store
        .local_update(&id, &obj(json!({"score": 99})), None)
        .await
        .unwrap();
    assert_eq!(edited.local.pending, Some(PendingKind::Update));

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(
        summary.push.map(|p| (p.pushed, p.failed, p.rejected)),
        Some((1, 0, 0))
    );
    let remote = stack.emulator.get("leads", id.as_str()).unwrap();
    assert_eq!(remote["score"], 99);
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.local.pending, None);
    assert_eq!(
        Value::Object(lead.fields),
        remote,
        "the table holds exactly what Twenty holds"
    );
}

#[tokio::test]
async fn a_local_create_gets_its_twenty_id_once_even_if_the_first_post_times_out() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let lead = stack
        .store
        .local_create(obj(
            json!({"name": "Hooli lead", "score": 5, "status": "NEW"}),
        ))
        .await
        .unwrap();
    // Twenty stores the lead but its answer never arrives (the client gives up after 2 s).
    stack
        .emulator
        .push_fault(Fault::LostResponse(Duration::from_secs(3)));
    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.push.map(|p| p.pushed), Some(1));

    let hoolis: Vec<Value> = stack
        .emulator
        .records("leads")
        .into_iter()
        .filter(|r| r["name"] == "Hooli lead")
        .collect();
    assert_eq!(hoolis.len(), 1, "created exactly once");
    assert_eq!(
        hoolis[0]["id"],
        lead.id.as_str(),
        "under the id chosen locally"
    );
    assert!(
        summary.retries >= 1,
        "the POST was retried after the timeout"
    );
    let stored = stack.store.get_lead(&lead.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.local.pending, stored.fields["score"].clone()),
        (None, json!(5))
    );
    assert_eq!(stack.store.load_state().await.unwrap().lead_count, 48);
}

#[tokio::test]
async fn a_local_delete_removes_it_in_twenty() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let id = nth_lead(&stack, 1);
    stack.store.local_delete(&id, None).await.unwrap();
    auto(&stack.engine).await.unwrap();
    let remote = stack.emulator.get("leads", id.as_str()).unwrap();
    assert!(
        remote["deletedAt"].is_string(),
        "soft-deleted in Twenty: {remote}"
    );
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert!(lead.fields["deletedAt"].is_string());
    assert_eq!(lead.local.pending, None);
}

#[tokio::test]
async fn a_remote_phone_edit_and_a_local_email_edit_both_survive() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let id = nth_lead(&stack, 2);
    stack.emulator.update(
        "leads",
        id.as_str(),
        json!({"phones": {"primaryPhoneNumber": "5550100"}}),
    );
    stack
        .store
        .local_update(
            &id,
            &obj(json!({"email": {"primaryEmail": "new@hooli.com"}})),
            None,
        )
        .await
        .unwrap();

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.push.map(|p| p.conflicts), Some(0));
    let remote = stack.emulator.get("leads", id.as_str()).unwrap();
    assert_eq!(remote["phones"]["primaryPhoneNumber"], "5550100");
    assert_eq!(remote["email"]["primaryEmail"], "new@hooli.com");
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(Value::Object(lead.fields), remote);
    assert!(stack.store.conflicts(10, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_field_edited_on_both_sides_follows_the_policy_and_is_recorded() {
    for (policy, winner) in [
        (ConflictPolicy::RemoteWins, "5550111"),
        (ConflictPolicy::LocalWins, "5550222"),
    ] {
        let stack = synced(policy).await;
        let id = nth_lead(&stack, 3);
        stack.emulator.update(
            "leads",
            id.as_str(),
            json!({"phones": {"primaryPhoneNumber": "5550111"}}),
        );
        stack
            .store
            .local_update(
                &id,
                &obj(json!({"phones": {"primaryPhoneNumber": "5550222"}})),
                None,
            )
            .await
            .unwrap();

        let summary = auto(&stack.engine).await.unwrap();
        assert_eq!(summary.push.map(|p| p.conflicts), Some(1), "{policy:?}");
        let remote = stack.emulator.get("leads", id.as_str()).unwrap();
        assert_eq!(remote["phones"]["primaryPhoneNumber"], winner, "{policy:?}");
        let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
        assert_eq!(lead.fields["phones"]["primaryPhoneNumber"], winner);

        let conflicts = stack.store.conflicts(10, None).await.unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!(
            (c.lead_id.as_str(), c.field.as_str(), c.policy.as_str()),
            (id.as_str(), "phones.primaryPhoneNumber", policy.as_str())
        );
        // Composites are settled by sub-field: the conflict names the one both changed.
        assert_eq!(c.local_value, "5550222");
        assert_eq!(c.remote_value, "5550111");
        assert_eq!(
            c.chosen,
            if winner == "5550111" {
                "remote"
            } else {
                "local"
            }
        );
    }
}

/// Issue #16: a rule per field. Here the CRM owns `status` (the default), the app owns
/// `score`, and nobody guesses the phone number: Twenty's number stays in both places
/// and the local one waits in an open conflict.
#[tokio::test]
async fn each_field_follows_its_own_rule_and_manual_waits_for_a_person() {
    let (stack, id) = edited_on_both_sides(
        "score=local-wins,phones.primaryPhoneNumber=manual",
        json!({"status": "LOST", "score": 1, "phones": {"primaryPhoneNumber": "5550111"}}),
        json!({"status": "WON", "score": 99, "phones": {"primaryPhoneNumber": "5550222"}}),
    )
    .await;
    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.push.map(|p| p.conflicts), Some(3));
    let remote = stack.emulator.get("leads", id.as_str()).unwrap();
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    let stored = Value::Object(lead.fields.clone());
    for fields in [&remote, &stored] {
        assert_eq!(fields["status"], "LOST", "remote-wins by default");
        assert_eq!(fields["score"], 99, "local-wins for score");
        assert_eq!(
            fields["phones"]["primaryPhoneNumber"], "5550111",
            "manual: Twenty's value in both places for now"
        );
    }
    assert!(
        lead.local.pending.is_none(),
        "nothing left to push until a person decides"
    );
    let open = stack
        .store
        .conflicts(10, Some(ConflictStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].field.as_str(), open[0].policy.as_str()),
        ("phones.primaryPhoneNumber", "manual")
    );
    assert_eq!(open[0].local_value, "5550222", "the local value is kept");
    let settled = stack
        .store
        .conflicts(10, Some(ConflictStatus::Settled))
        .await
        .unwrap();
    let mut fields: Vec<&str> = settled.iter().map(|c| c.field.as_str()).collect();
    fields.sort();
    assert_eq!(fields, ["score", "status"]);
    // GET /sync's number, and how long the oldest decision has waited.
    let status = SyncStatus::read(&stack.store, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(status.open_conflicts, 1);
    let oldest = status.oldest_open_conflict.unwrap();
    assert_eq!(
        (oldest.lead_id.as_str(), oldest.field.as_str()),
        (id.as_str(), "phones.primaryPhoneNumber")
    );
}

#[tokio::test]
async fn a_push_twenty_refuses_stays_visible_and_does_not_block_the_others() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let (bad, good) = (nth_lead(&stack, 4), nth_lead(&stack, 5));
    stack
        .store
        .local_update(&bad, &obj(json!({"status": "BOGUS"})), None)
        .await
        .unwrap();
    stack
        .store
        .local_update(&good, &obj(json!({"score": 42})), None)
        .await
        .unwrap();

    let summary = auto(&stack.engine).await.unwrap();
    assert_eq!(summary.push.map(|p| (p.pushed, p.rejected)), Some((1, 1)));
    assert_eq!(
        stack.emulator.get("leads", good.as_str()).unwrap()["score"],
        42
    );
    let parked = stack.store.get_lead(&bad).await.unwrap().unwrap();
    assert_eq!(parked.local.pending, Some(PendingKind::Update));
    assert!(
        parked.local.rejected.as_deref().unwrap().contains("BOGUS"),
        "{:?}",
        parked.local.rejected
    );
    assert_eq!(
        parked.fields["status"], "BOGUS",
        "the local edit is kept, not silently dropped"
    );

    // It is not retried (it left the pending index) until someone edits it again.
    let next = auto(&stack.engine).await.unwrap();
    assert_eq!(next.push, None);
    stack
        .store
        .local_update(&bad, &obj(json!({"status": "QUALIFIED"})), None)
        .await
        .unwrap();
    let fixed = auto(&stack.engine).await.unwrap();
    assert_eq!(fixed.push.map(|p| p.pushed), Some(1));
    assert_eq!(
        stack.emulator.get("leads", bad.as_str()).unwrap()["status"],
        "QUALIFIED"
    );
}

#[tokio::test]
async fn the_echo_of_a_push_causes_no_further_write_or_push() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let _receiver = receive_webhooks(&stack).await;
    let id = nth_lead(&stack, 6);
    stack
        .store
        .local_update(&id, &obj(json!({"score": 7})), None)
        .await
        .unwrap();
    auto(&stack.engine).await.unwrap();
    stack.emulator.wait_for_deliveries_idle().await;
    let after_push = stack.store.get_lead(&id).await.unwrap().unwrap();
    let echoes = stack.emulator.webhook_switches().attempts();
    assert!(
        echoes
            .iter()
            .any(|a| a.event_name == "lead.updated" && a.status == Some(200)),
        "the push came back as a webhook"
    );
    assert!(echoes.iter().any(|a| a.body.contains(id.as_str())));

    let next = auto(&stack.engine).await.unwrap();
    assert_eq!(next.push, None, "nothing pending");
    assert_eq!(next.changed, 0, "the echo is not a remote change");
    let later = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(later.synced_at, after_push.synced_at, "no further write");
}

/// 1,000 interleaved local edits, remote edits, webhook deliveries (some dropped,
/// duplicated, reordered) and sync runs (some failing mid-way). Local edits own
/// `score` and `source`, Twenty's users `status` and `name`, so every edit is one the
/// policy must keep: after a final clean sync the table equals Twenty record for
/// record and every field holds its owner's last value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomized_edits_on_both_sides_converge_without_losing_an_edit() {
    let seed: u64 = std::env::var("SPARTAN_RANDOM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    let mut rng = StdRng::seed_from_u64(seed);
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let _receiver = receive_webhooks(&stack).await;
    let switches = stack.emulator.webhook_switches();
    switches.set_drop_probability(0.2);
    switches.set_duplicate(true);

    let mut ids: Vec<LeadId> = stack.emulator.records("leads").iter().map(id_of).collect();
    let mut expected: HashMap<(LeadId, &'static str), Value> = HashMap::new();
    let mut held = false;
    for step in 0..1000 {
        let id = ids[rng.random_range(0..ids.len())].clone();
        match rng.random_range(0..100) {
            0..=34 => {
                let (field, value) = if rng.random_bool(0.5) {
                    ("score", json!(rng.random_range(0..1000)))
                } else {
                    ("source", json!(format!("local-{step}")))
                };
                stack
                    .store
                    .local_update(&id, &obj(json!({ field: value.clone() })), None)
                    .await
                    .unwrap();
                expected.insert((id, field), value);
            }
            35..=69 => {
                // A lead created locally exists in Twenty only once pushed.
                if stack.emulator.get("leads", id.as_str()).is_none() {
                    continue;
                }
                let (field, value) = if rng.random_bool(0.5) {
                    (
                        "status",
                        json!(["NEW", "QUALIFIED", "LOST"][rng.random_range(0..3)]),
                    )
                } else {
                    ("name", json!(format!("Remote {step}")))
                };
                stack
                    .emulator
                    .update("leads", id.as_str(), json!({ field: value.clone() }));
                expected.insert((id, field), value);
            }
            70..=73 => {
                let lead = stack
                    .store
                    .local_create(obj(
                        json!({"name": format!("Local {step}"), "score": step, "status": "NEW"}),
                    ))
                    .await
                    .unwrap();
                expected.insert((lead.id.clone(), "score"), json!(step));
                ids.push(lead.id);
            }
            74..=85 => {
                let faulted = rng.random_bool(0.3);
                if faulted {
                    stack.emulator.push_faults(
                        Fault::Status {
                            code: 503,
                            retry_after_secs: None,
                        },
                        rng.random_range(3..9),
                    );
                }
                // A run may fail only on the 503s injected for it.
                if let Err(e) = auto(&stack.engine).await {
                    assert!(faulted, "a run failed with no fault injected: {e}");
                }
                stack.emulator.clear_faults();
            }
            86..=91 => {
                if held {
                    switches.release_held(ReleaseOrder::Shuffled);
                } else {
                    switches.hold();
                }
                held = !held;
            }
            _ => stack.emulator.wait_for_deliveries_idle().await,
        }
    }
    // Quiet down: every held delivery out, no faults, then clean syncs.
    switches.release_held(ReleaseOrder::Reverse);
    switches.reset();
    stack.emulator.clear_faults();
    stack.emulator.wait_for_deliveries_idle().await;
    for _ in 0..2 {
        auto(&stack.engine).await.unwrap();
    }
    stack.emulator.wait_for_deliveries_idle().await;
    auto(&stack.engine).await.unwrap();

    let table = stored(&stack).await;
    let twenty: BTreeMap<LeadId, Value> = stack
        .emulator
        .records("leads")
        .into_iter()
        .map(|r| (id_of(&r), r))
        .collect();
    assert_eq!(table.len(), twenty.len(), "seed {seed}");
    for (id, remote) in &twenty {
        let lead = &table[id];
        assert_eq!(
            lead.local.pending, None,
            "seed {seed}: {id} still pending: {:?}",
            lead.local
        );
        // A PATCH that changes nothing bumps only updatedAt/updatedBy in Twenty and is
        // deliberately not copied (see README): compare everything else.
        assert_eq!(
            content(&lead.fields),
            content(remote.as_object().unwrap()),
            "seed {seed}: {id} differs from Twenty"
        );
    }
    for ((id, field), value) in &expected {
        assert_eq!(
            &twenty[id][*field], value,
            "seed {seed}: the last edit of {field} on {id} was lost"
        );
    }
    assert_eq!(
        stack.store.load_state().await.unwrap().lead_count,
        twenty.len() as i64
    );
}

#[tokio::test]
async fn a_full_sync_never_sweeps_a_lead_with_a_local_edit_waiting() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let id = nth_lead(&stack, 8);
    // A refused edit stays pending; Twenty changes the lead meanwhile (kept aside, not
    // written over the local edit, so the full pass does not tag it as seen).
    stack
        .store
        .local_update(&id, &obj(json!({"status": "BOGUS"})), None)
        .await
        .unwrap();
    auto(&stack.engine).await.unwrap();
    stack
        .emulator
        .update("leads", id.as_str(), json!({"name": "Renamed in Twenty"}));
    let full = full(&stack.engine).await.unwrap();
    assert_eq!(full.removed, 0);
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(
        (lead.local.pending, lead.fields["status"].clone()),
        (Some(PendingKind::Update), json!("BOGUS"))
    );
}

#[tokio::test]
async fn a_delete_made_while_a_push_is_in_flight_is_not_lost() {
    let stack = synced(ConflictPolicy::RemoteWins).await;
    let id = nth_lead(&stack, 9);
    stack
        .store
        .local_update(&id, &obj(json!({"score": 5})), None)
        .await
        .unwrap();
    // The PATCH is slow; the user deletes the lead while it is in flight.
    stack
        .emulator
        .push_fault(Fault::Slow(Duration::from_millis(10)));
    stack
        .emulator
        .push_fault(Fault::Slow(Duration::from_millis(800)));
    let store = stack.store.clone();
    let deleter = tokio::spawn({
        let id = id.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            store.local_delete(&id, None).await.unwrap();
        }
    });
    auto(&stack.engine).await.unwrap();
    deleter.await.unwrap();
    assert_eq!(
        stack
            .store
            .get_lead(&id)
            .await
            .unwrap()
            .unwrap()
            .local
            .pending,
        Some(PendingKind::Delete)
    );
    auto(&stack.engine).await.unwrap();
    assert!(
        stack.emulator.get("leads", id.as_str()).unwrap()["deletedAt"].is_string(),
        "deleted in Twenty"
    );
}

/// A stack under `rules` (over remote-wins) whose fourth lead was edited in Twenty
/// (`remote`) and through the leads API (`local`), not yet pushed.
async fn edited_on_both_sides(rules: &str, remote: Value, local: Value) -> (TestStack, LeadId) {
    let rules = ConflictRules::parse(ConflictPolicy::RemoteWins, rules).unwrap();
    let stack = synced_with(rules).await;
    let id = nth_lead(&stack, 3);
    stack.emulator.update("leads", id.as_str(), remote);
    stack
        .store
        .local_update(&id, &obj(local), None)
        .await
        .unwrap();
    (stack, id)
}

/// A stack where nobody guesses the phone number, with one lead whose number was
/// changed on both sides and pushed: an open conflict, Twenty's number in both places.
async fn open_phone_conflict() -> (TestStack, LeadId, String) {
    let (stack, id) = edited_on_both_sides(
        "phones.primaryPhoneNumber=manual",
        json!({"phones": {"primaryPhoneNumber": "5550111"}}),
        json!({"phones": {"primaryPhoneNumber": "5550222"}}),
    )
    .await;
    auto(&stack.engine).await.unwrap();
    let open = stack
        .store
        .conflicts(10, Some(ConflictStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let conflict_id = open[0].id.clone().unwrap();
    (stack, id, conflict_id)
}

fn phone(stack: &TestStack, id: &LeadId) -> Value {
    stack.emulator.get("leads", id.as_str()).unwrap()["phones"]["primaryPhoneNumber"].clone()
}

/// Issue #16: a resolve that lands. The person takes the local number; the next run
/// pushes it, and the conflict stays listed as settled, with who chose what and when.
#[tokio::test]
async fn a_resolved_conflict_is_pushed_by_the_next_run_and_stays_listed() {
    let (stack, id, conflict_id) = open_phone_conflict().await;
    let settled = resolve::resolve(&stack.store, &conflict_id, &Choice::Local, "ana")
        .await
        .unwrap();
    assert_eq!(settled.status, ConflictStatus::Settled);
    assert_eq!(phone(&stack, &id), "5550111", "not pushed before the run");
    auto(&stack.engine).await.unwrap();
    assert_eq!(phone(&stack, &id), "5550222");
    let lead = stack.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.fields["phones"]["primaryPhoneNumber"], "5550222");
    assert!(lead.local.pending.is_none());
    let all = stack.store.conflicts(10, None).await.unwrap();
    assert_eq!(all.len(), 1, "settled, not a second conflict");
    let r = all[0].resolution.clone().unwrap();
    assert_eq!((r.choice.as_str(), r.by.as_str()), ("local", "ana"));
    assert_eq!(all[0].status, ConflictStatus::Settled);
    // Settled once: a second decision is refused.
    assert!(matches!(
        resolve::resolve(&stack.store, &conflict_id, &Choice::Remote, "bo").await,
        Err(ResolveError::NotOpen)
    ));
}

/// Issue #16: a resolve that loses to a newer edit reopens the question. Twenty's
/// number changes after the person decided and before the push: the push sees both
/// sides changed it and, under the manual rule, opens a new conflict instead of
/// overwriting either value.
#[tokio::test]
async fn a_resolve_overtaken_by_a_newer_edit_reopens_the_question() {
    let (stack, id, conflict_id) = open_phone_conflict().await;
    resolve::resolve(
        &stack.store,
        &conflict_id,
        &Choice::Value(json!("5550333")),
        "ana",
    )
    .await
    .unwrap();
    stack.emulator.update(
        "leads",
        id.as_str(),
        json!({"phones": {"primaryPhoneNumber": "5550444"}}),
    );
    auto(&stack.engine).await.unwrap();
    assert_eq!(
        phone(&stack, &id),
        "5550444",
        "the newer value in Twenty stays"
    );
    let open = stack
        .store
        .conflicts(10, Some(ConflictStatus::Open))
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "the question is open again");
    assert_eq!(
        (&open[0].local_value, &open[0].remote_value),
        (&json!("5550333"), &json!("5550444"))
    );
    // And a decision on a conflict whose field moved since is refused (409), not
    // applied over the newer value.
    stack.emulator.update(
        "leads",
        id.as_str(),
        json!({"phones": {"primaryPhoneNumber": "5550555"}}),
    );
    auto(&stack.engine).await.unwrap();
    let again = open[0].id.clone().unwrap();
    assert!(matches!(
        resolve::resolve(&stack.store, &again, &Choice::Local, "ana").await,
        Err(ResolveError::Changed { .. })
    ));
    assert_eq!(phone(&stack, &id), "5550555");
}
