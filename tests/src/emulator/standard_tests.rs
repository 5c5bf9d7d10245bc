//! Twenty's standard objects (`people`, `companies`, `opportunities`) over real HTTP.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{Value, json};

use super::http_tests::{Api, receiver, start};
use super::*;

type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// The bodies received so far, parsed.
fn events(received: &Received) -> Vec<Value> {
    received
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, body)| serde_json::from_str(body).expect("json body"))
        .collect()
}

fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["eventName"].as_str().unwrap_or("").to_string())
        .collect()
}

fn filter(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn id_in(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    filter(&format!("id[in]:[{}]", quoted.join(",")))
}

#[tokio::test]
async fn person_lifecycle_over_http() {
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);
    let (url, received) = receiver().await;
    emulator.register_webhook(&url, &["person.*"], "s");

    let (status, _, text) = api
        .call(
            Method::POST,
            "/rest/people",
            Some(json!({
                "name": {"firstName": "Ada", "lastName": "Lovelace"},
                "emails": {"primaryEmail": "ada@example.com"},
                "jobTitle": "Engineer",
            })),
        )
        .await;
    assert_eq!(status, 201, "{text}");
    assert!(
        text.starts_with(r#"{"data":{"createPerson":{"id":"#),
        "{text}"
    );
    let person =
        serde_json::from_str::<Value>(&text).expect("json")["data"]["createPerson"].clone();
    let id = person["id"].as_str().expect("id").to_string();
    assert_eq!(
        person["name"],
        json!({"firstName": "Ada", "lastName": "Lovelace"})
    );
    assert_eq!(
        person["emails"],
        json!({"primaryEmail": "ada@example.com", "additionalEmails": []})
    );
    assert_eq!(
        person["linkedinLink"],
        json!({"primaryLinkLabel": "", "primaryLinkUrl": "", "secondaryLinks": []})
    );
    assert_eq!(person["companyId"], Value::Null);
    assert_eq!(person["avatarFile"], Value::Null);
    assert_eq!(person["position"], 0);
    assert_eq!(
        person["searchVector"],
        "'ada':1,3 'com':5 'engineer':6 'example':4 'lovelace':2"
    );

    let (_, page) = api.json(Method::GET, "/rest/people", None).await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["data"]["people"][0]["id"], json!(id));
    let since = filter(&format!(
        "updatedAt[gte]:{}",
        person["updatedAt"].as_str().expect("updatedAt")
    ));
    let (_, page) = api
        .json(Method::GET, &format!("/rest/people?filter={since}"), None)
        .await;
    assert_eq!(page["totalCount"], 1);
    let (_, page) = api
        .json(
            Method::GET,
            &format!("/rest/people?filter={}", id_in(&[&id])),
            None,
        )
        .await;
    assert_eq!(page["totalCount"], 1);

    let (status, body) = api
        .json(
            Method::PATCH,
            &format!("/rest/people/{id}"),
            Some(json!({"name": {"lastName": "King"}, "jobTitle": "CTO"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let updated = &body["data"]["updatePerson"];
    assert_eq!(
        updated["name"],
        json!({"firstName": "Ada", "lastName": "King"})
    );
    assert_eq!(updated["jobTitle"], "CTO");
    let (status, body) = api
        .json(
            Method::PATCH,
            &format!("/rest/people/{id}"),
            Some(json!({"city": "London"})),
        )
        .await;
    assert_eq!(
        (status, body["messages"][0].clone()),
        (400, json!("Object person doesn't have any \"city\" field."))
    );

    let (status, body) = api
        .json(
            Method::DELETE,
            &format!("/rest/people/{id}?soft_delete=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let deleted = &body["data"]["deletePerson"];
    assert_eq!(deleted["deletedAt"], deleted["updatedAt"]);
    let (status, _) = api
        .json(Method::GET, &format!("/rest/people/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let (_, page) = api.json(Method::GET, "/rest/people", None).await;
    assert_eq!(page["totalCount"], 0);
    let gone = filter("deletedAt[is]:NOT_NULL");
    let (_, page) = api
        .json(Method::GET, &format!("/rest/people?filter={gone}"), None)
        .await;
    assert_eq!(page["totalCount"], 1);

    let (status, body) = api
        .json(
            Method::PATCH,
            &format!("/rest/restore/people?filter={}", id_in(&[&id])),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["restorePeople"][0]["deletedAt"], Value::Null);

    let (status, body) = api
        .json(Method::DELETE, &format!("/rest/people/{id}"), None)
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"deletePerson": {"id": id}}}))
    );
    assert!(emulator.get("people", &id).is_none());

    emulator.wait_for_deliveries_idle().await;
    let events = events(&received);
    assert_eq!(
        names(&events),
        [
            "person.created",
            "person.updated",
            "person.deleted",
            "person.restored",
            "person.destroyed"
        ]
    );
    assert_eq!(events[1]["updatedFields"], json!(["name", "jobTitle"]));
    assert_eq!(events[1]["objectMetadata"]["nameSingular"], "person");
    assert_eq!(
        events[1]["objectMetadata"]["id"],
        json!("5c1f3a7e-8d2b-4e6f-9a41-0b7c2d9e6f13")
    );
}

#[tokio::test]
async fn bulk_destroy_of_three_people_sends_one_event() {
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);
    let people = emulator.seed_people(3);
    let ids: Vec<&str> = people.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids.len(), 3);
    let (url, received) = receiver().await;
    emulator.register_webhook(&url, &["*.*"], "s");

    let (status, body) = api
        .json(
            Method::DELETE,
            &format!("/rest/people?filter={}", id_in(&ids)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["deletePeople"].as_array().map(Vec::len),
        Some(3)
    );
    assert!(emulator.records("people").is_empty());
    emulator.wait_for_deliveries_idle().await;
    assert_eq!(names(&events(&received)), ["person.destroyed"]);
}

#[tokio::test]
async fn destroying_a_person_or_company_takes_its_links_and_nulls_the_rest_silently() {
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);
    let company = emulator.seed_companies(1).remove(0);
    let company_id = company["id"].as_str().expect("id").to_string();
    let person = emulator.create(
        "people",
        json!({"name": {"firstName": "Ada"}, "companyId": company_id}),
    );
    let person_id = person["id"].as_str().expect("id").to_string();
    let note = emulator.create("notes", json!({"title": "Met Ada"}));
    let link = |target: &str, id: &str| {
        let link = emulator.create("noteTargets", json!({"noteId": note["id"], target: id}));
        link["id"].as_str().expect("id").to_string()
    };
    let to_person = link("targetPersonId", &person_id);
    let to_company = link("targetCompanyId", &company_id);
    let (url, received) = receiver().await;
    emulator.register_webhook(&url, &["*.*"], "s");

    let (status, _) = api
        .json(Method::DELETE, &format!("/rest/people/{person_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(emulator.get("noteTargets", &to_person).is_none());
    assert!(emulator.get("noteTargets", &to_company).is_some());

    let other = emulator.seed_people(1).remove(0);
    let other_id = other["id"].as_str().expect("id");
    emulator.update("people", other_id, json!({"companyId": company_id}));
    assert!(emulator.destroy("companies", &company_id));
    assert!(emulator.get("noteTargets", &to_company).is_none());
    let other_after = emulator.get("people", other_id).expect("person stays");
    assert_eq!(other_after["companyId"], Value::Null);

    emulator.wait_for_deliveries_idle().await;
    assert_eq!(
        names(&events(&received)),
        [
            "person.destroyed",
            "person.created",
            "person.updated",
            "company.destroyed"
        ]
    );
}

#[tokio::test]
async fn seeding_is_deterministic_and_companies_and_opportunities_list_and_filter() {
    let a = start(Seed::Empty).await;
    let b = start(Seed::Empty).await;
    let ids =
        |records: Vec<Value>| -> Vec<Value> { records.iter().map(|r| r["id"].clone()).collect() };
    assert_eq!(ids(a.seed_people(3)), ids(b.seed_people(3)));
    assert_eq!(ids(a.seed_companies(2)), ids(b.seed_companies(2)));
    let more = ids(a.seed_people(2));
    assert_eq!(a.records("people").len(), 5);
    assert!(
        more.iter()
            .all(|id| b.get("people", id.as_str().unwrap_or("")).is_none())
    );

    let api = Api::new(&a);
    let (status, body) = api
        .json(
            Method::POST,
            "/rest/batch/opportunities",
            Some(json!([
                {"name": "Big deal", "stage": "MEETING", "amount": {"amountMicros": 5_000_000, "currencyCode": "EUR"}},
                {"name": "Small deal"},
            ])),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let created = &body["data"]["createOpportunities"];
    assert_eq!(created[1]["stage"], "NEW");
    assert_eq!(
        created[1]["amount"],
        json!({"amountMicros": null, "currencyCode": ""})
    );
    let meeting = filter("stage[eq]:MEETING");
    let (_, page) = api
        .json(
            Method::GET,
            &format!("/rest/opportunities?filter={meeting}"),
            None,
        )
        .await;
    assert_eq!(page["totalCount"], 1);
    assert_eq!(page["data"]["opportunities"][0]["name"], "Big deal");
    let (status, body) = api
        .json(
            Method::POST,
            "/rest/opportunities",
            Some(json!({"stage": "WON"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["messages"][0],
        "Invalid value \"WON\" for field \"stage\". Valid values are: NEW, SCREENING, MEETING, PROPOSAL, CUSTOMER"
    );

    let (_, page) = api.json(Method::GET, "/rest/companies?limit=1", None).await;
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let company = &page["data"]["companies"][0];
    assert!(
        company["address"]["addressCity"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(company["address"]["addressLat"], Value::Null);
}

/// As a real 2.21.0 does: soft-deleting a note soft-deletes its links, an event each,
/// and restoring the note restores them.
#[tokio::test]
async fn a_soft_deleted_note_takes_its_links_along_and_brings_them_back() {
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);
    let person = emulator.seed_people(1).remove(0);
    let note = emulator.create("notes", json!({"title": "Met Ada"}));
    let note_id = note["id"].as_str().expect("id").to_string();
    let link = emulator.create(
        "noteTargets",
        json!({"noteId": note_id, "targetPersonId": person["id"]}),
    );
    let link_id = link["id"].as_str().expect("id").to_string();
    let (url, received) = receiver().await;
    emulator.register_webhook(&url, &["*.*"], "s");

    let (status, _) = api
        .json(
            Method::DELETE,
            &format!("/rest/notes/{note_id}?soft_delete=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let gone = emulator
        .get("noteTargets", &link_id)
        .expect("kept, soft-deleted");
    assert!(gone["deletedAt"].is_string());
    let (status, _) = api
        .json(
            Method::PATCH,
            &format!("/rest/restore/notes?filter={}", id_in(&[&note_id])),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let back = emulator.get("noteTargets", &link_id).expect("restored");
    assert!(back["deletedAt"].is_null());

    emulator.wait_for_deliveries_idle().await;
    assert_eq!(
        names(&events(&received)),
        [
            "note.deleted",
            "noteTarget.deleted",
            "note.restored",
            "noteTarget.restored"
        ]
    );
}
