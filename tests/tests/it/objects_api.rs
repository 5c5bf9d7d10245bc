//! `GET /objects/{plural}` and `GET /objects/{plural}/{id}`: people and companies pulled
//! by the delta-sync function from the emulator, read back through the leads API.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use leads_api::LeadsApi;
use serde_json::{Value, json};
use spartan_sync::domain::{MirrorSet, ObjectName};
use spartan_sync_tests::emulator::Seed;
use spartan_sync_tests::lambda_fake::FakeLambda;
use spartan_sync_tests::stack::TestStack;

use crate::delta_sync_handler::{event, function_for};
use crate::leads_api::{Answer, call};

const OBJECTS: &str = "leads,notes,noteTargets,people,companies";

/// The demo leads, 7 people and 2 companies, after a first (full) run that mirrors
/// them all, and the API over it.
async fn mirrored() -> (TestStack, LeadsApi) {
    let stack = TestStack::start(Seed::DemoLeads).await;
    stack.emulator.seed_people(7);
    stack.emulator.seed_companies(2);
    sync(&stack, json!({})).await;
    let lambda = FakeLambda::start().await;
    let api = LeadsApi {
        store: stack.store.clone(),
        invoker: lambda.invoker("delta-sync").await,
        objects: MirrorSet::parse(OBJECTS, &ObjectName::from_plural("leads")).unwrap(),
    };
    (stack, api)
}

async fn sync(stack: &TestStack, payload: Value) {
    delta_sync::handle(&function_for(stack, OBJECTS), event(payload))
        .await
        .unwrap();
}

async fn get(api: &LeadsApi, path: &str) -> Answer {
    call(api, "GET", path, "", &[]).await
}

/// Every page of `path` (which has a query string) with `limit`, as one list; each
/// page but the last is full.
async fn all_pages(api: &LeadsApi, path: &str, limit: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let page = get(api, &page_path).await;
        assert_eq!(page.status, 200, "{page_path}: {}", page.body);
        let data = page.body["data"].as_array().unwrap().clone();
        assert!(data.len() <= limit);
        all.extend(data.iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(data.len(), limit, "a page before the last is full");
                cursor = Some(c.to_string());
            }
            None => return all,
        }
    }
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn people_page_through_with_the_cursor_as_twenty_sent_them() {
    let (stack, api) = mirrored().await;
    let people = all_pages(&api, "/objects/people?x=1", 3).await;
    let listed: BTreeSet<String> = ids(&people).into_iter().collect();
    let twenty: BTreeSet<String> = ids(&stack.emulator.records("people")).into_iter().collect();
    assert_eq!(people.len(), 7, "each once");
    assert_eq!(listed, twenty);
    // As Twenty sent it: its fields, none of our bookkeeping or keys.
    let first = &people[0];
    let sent = stack
        .emulator
        .get("people", first["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(first, &sent);
    for person in &people {
        let keys = person.as_object().unwrap().keys();
        assert!(
            keys.clone()
                .all(|k| !k.starts_with('_') && k != "pk" && k != "sk"),
            "{person}"
        );
    }
    // Companies are their own list; the behind-cargo-lambda path works too.
    let companies = get(&api, "/lambda-url/leads-api/objects/companies").await;
    assert_eq!(companies.status, 200, "{}", companies.body);
    assert_eq!(companies.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(companies.body["nextCursor"], Value::Null);

    // Oldest change first, as GET /leads: a person edited in Twenty comes last.
    let edited = people[0]["id"].as_str().unwrap().to_string();
    stack
        .emulator
        .update("people", &edited, json!({"jobTitle": "CTO"}))
        .unwrap();
    sync(&stack, json!({"mode": "delta"})).await;
    let again = all_pages(&api, "/objects/people?x=1", 5).await;
    assert_eq!(again.len(), 7);
    assert_eq!(again[6]["id"], edited.as_str());
    assert_eq!(again[6]["jobTitle"], "CTO");
    let one = get(&api, &format!("/objects/people/{edited}")).await;
    assert_eq!((one.status, &one.body["jobTitle"]), (200, &json!("CTO")));

    // A cursor is only good for the list that issued it.
    let first_page = get(&api, "/objects/people?limit=2").await;
    let cursor = first_page.body["nextCursor"].as_str().unwrap();
    let foreign = get(&api, &format!("/objects/companies?cursor={cursor}")).await;
    assert_eq!(foreign.status, 400, "{}", foreign.body);
    assert!(foreign.body["error"].as_str().unwrap().contains("cursor"));
    let leads_cursor = get(&api, "/leads?limit=2").await.body["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let crossed = get(&api, &format!("/objects/people?cursor={leads_cursor}")).await;
    assert_eq!(crossed.status, 400, "{}", crossed.body);
    // And the other way: a people cursor given to /leads (DynamoDB would fail the query).
    let into_leads = get(&api, &format!("/leads?cursor={cursor}")).await;
    assert_eq!(into_leads.status, 400, "{}", into_leads.body);
    assert_eq!(get(&api, "/objects/people?cursor=nope").await.status, 400);
    assert_eq!(get(&api, "/objects/people?limit=0").await.status, 400);
    assert_eq!(
        get(&api, "/objects/people?updatedSince=soon").await.status,
        400
    );
}

#[tokio::test]
async fn soft_deleted_people_only_when_asked_and_destroyed_ones_never() {
    let (stack, api) = mirrored().await;
    let twenty = ids(&stack.emulator.records("people"));
    let (soft, gone) = (twenty[1].clone(), twenty[2].clone());
    stack.emulator.soft_delete("people", &soft).unwrap();
    assert!(stack.emulator.destroy("people", &gone));
    // The delta stores the soft delete; only a full pass sees the hard one.
    sync(&stack, json!({"mode": "delta"})).await;
    sync(&stack, json!({"mode": "full"})).await;
    let tombstone = stack
        .dynamo
        .get_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(format!("PERSON#{gone}")))
        .key("sk", AttributeValue::S("PERSON".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let tombstone = tombstone
        .item
        .expect("the destroyed person left a tombstone");
    assert!(tombstone.contains_key("_destroyedAt"), "{tombstone:?}");

    let live = ids(&all_pages(&api, "/objects/people?x=1", 2).await);
    assert_eq!(live.len(), 5, "{live:?}");
    assert!(!live.contains(&soft) && !live.contains(&gone));
    let with_deleted = all_pages(&api, "/objects/people?includeDeleted=true", 2).await;
    assert_eq!(with_deleted.len(), 6);
    let shown = with_deleted
        .iter()
        .find(|p| p["id"] == soft.as_str())
        .unwrap();
    assert!(shown["deletedAt"].is_string(), "{shown}");
    assert!(
        !ids(&with_deleted).contains(&gone),
        "a tombstone is never listed"
    );
    let explicit_false = all_pages(&api, "/objects/people?includeDeleted=false", 10).await;
    assert_eq!(explicit_false.len(), 5);

    let soft_one = get(&api, &format!("/objects/people/{soft}")).await;
    assert_eq!(soft_one.status, 200, "{}", soft_one.body);
    assert!(soft_one.body["deletedAt"].is_string());
    let gone_one = get(&api, &format!("/objects/people/{gone}")).await;
    assert_eq!(gone_one.status, 404, "{}", gone_one.body);
    assert!(gone_one.body["error"].as_str().unwrap().contains(&gone));
    let never = get(
        &api,
        &format!("/objects/people/{}", spartan_sync::LeadId::new_random()),
    )
    .await;
    assert_eq!(never.status, 404, "{}", never.body);
    // A person's id is no company's.
    let crossed = get(&api, &format!("/objects/companies/{}", twenty[0])).await;
    assert_eq!(crossed.status, 404, "{}", crossed.body);
}

#[tokio::test]
async fn unknown_objects_bad_ids_and_other_methods_say_what_is_wrong() {
    let (stack, api) = mirrored().await;
    let person = ids(&stack.emulator.records("people")).remove(0);
    for plural in ["opportunities", "leads", "noteTargets"] {
        for path in [
            format!("/objects/{plural}"),
            format!("/objects/{plural}/{person}"),
        ] {
            let answer = get(&api, &path).await;
            assert_eq!(answer.status, 404, "{path}: {}", answer.body);
            let error = answer.body["error"].as_str().unwrap();
            assert!(error.contains(OBJECTS), "{path}: {error}");
            assert!(
                error.contains("notes, people, companies"),
                "{path}: {error}"
            );
            assert!(error.contains(&format!("'{plural}'")), "{path}: {error}");
        }
    }
    let leads = get(&api, "/objects/leads").await;
    assert!(leads.body["error"].as_str().unwrap().contains("GET /leads"));

    let bad = get(&api, "/objects/people/not-a-uuid").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body["error"].as_str().unwrap().contains("UUID"),
        "{}",
        bad.body
    );

    for (method, path) in [
        ("POST", "/objects/people".to_string()),
        ("PATCH", format!("/objects/people/{person}")),
        ("DELETE", format!("/objects/people/{person}")),
    ] {
        let answer = call(&api, method, &path, "{}", &[]).await;
        assert_eq!(answer.status, 405, "{method} {path}: {}", answer.body);
        assert!(answer.body["error"].is_string());
    }
}
