//! The OpenAPI document (functions/leads-api/openapi.json) is kept true: its routes are
//! exactly the router's, and every route and status the handler produces is driven
//! here, its body validated against the document's schema. A route or status added
//! to the code and not to the document (or the other way round) fails this test.

use std::collections::BTreeSet;
use std::time::Duration;

use lambda_http::Body;
use leads_api::{LeadsApi, OPENAPI, ROUTES, handle};
use serde_json::{Value, json};
use spartan_sync::DynamoLeadStore;
use spartan_sync::store::{FeedCursor, RecordPlace, WriteOrigin};
use spartan_sync::{LeadId, RemoteRecord, Timestamp};
use spartan_sync_tests::StoreExt;
use spartan_sync_tests::lambda_fake::FakeLambda;
use spartan_sync_tests::stack::TestStack;

use crate::leads_api::api;
use crate::util::apigw;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Statuses the document names that no test can bring about, and why.
const NOT_DRIVEN: [(&str, &str, u16, &str); 3] = [
    (
        "POST",
        "/leads",
        409,
        "two random UUIDs would have to collide",
    ),
    (
        "PATCH",
        "/leads/{id}",
        409,
        "64 writes in a row would have to lose their race",
    ),
    (
        "DELETE",
        "/leads/{id}",
        409,
        "64 writes in a row would have to lose their race",
    ),
];

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

fn documented(doc: &Value) -> BTreeSet<(String, String, u16)> {
    let mut all = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            for status in item[method]["responses"].as_object().into_iter().flatten() {
                all.insert((
                    method.to_uppercase(),
                    path.clone(),
                    status.0.parse().unwrap(),
                ));
            }
        }
    }
    all
}

/// A validator for the response body of (method, template, status), with the
/// document's components beside it so `$ref`s resolve.
fn validator(
    doc: &Value,
    method: &str,
    template: &str,
    status: u16,
) -> Option<jsonschema::Validator> {
    let mut response =
        &doc["paths"][template][method.to_lowercase()]["responses"][status.to_string()];
    if let Some(r) = response["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        response = &doc["components"]["responses"][name];
    }
    let schema = response["content"]["application/json"]["schema"].as_object()?;
    let mut schema = schema.clone();
    schema.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    schema.insert("components".into(), doc["components"].clone());
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&Value::Object(schema))
            .expect("the document's schema compiles"),
    )
}

struct Probe {
    api: LeadsApi,
    doc: Value,
    driven: BTreeSet<(String, String, u16)>,
}

impl Probe {
    /// Calls the handler, checks the status, validates the body against the document.
    async fn check(
        &mut self,
        method: &str,
        path: &str,
        template: &str,
        body: &str,
        headers: &[(&str, &str)],
        status: u16,
    ) -> Value {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let response = handle(
            &self.api,
            apigw(method, path, body.as_bytes(), &headers, false),
        )
        .await
        .unwrap();
        let got = response.status().as_u16();
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            Body::Empty => Value::Null,
            other => panic!("unexpected body {other:?}"),
        };
        assert_eq!(got, status, "{method} {path}: {body}");
        let key = (method.to_string(), template.to_string(), status);
        match validator(&self.doc, method, template, status) {
            Some(v) => {
                if let Err(e) = v.validate(&body) {
                    panic!(
                        "{method} {path} → {status}: the body does not fit the document: {e}\n{body}"
                    );
                }
            }
            None => assert!(
                body.is_null(),
                "{method} {path} → {status} has a body the document does not describe"
            ),
        }
        self.driven.insert(key);
        body
    }
}

#[test]
fn the_documents_routes_are_the_routers() {
    let doc = doc();
    let documented: BTreeSet<(String, String)> = documented(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routed);
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn every_route_and_status_the_handler_produces_fits_the_document() {
    let (stack, api) = api().await;
    let doc = doc();
    let mut p = Probe {
        api: api.clone(),
        doc: doc.clone(),
        driven: BTreeSet::new(),
    };
    let id = stack.emulator.records("leads")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead = format!("/leads/{id}");
    let unknown = format!("/leads/{}", LeadId::new_random());
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024));
    let expired =
        FeedCursor::origin(Timestamp::now().saturating_sub(Duration::from_secs(40 * 86_400)))
            .encode();

    p.check("GET", "/leads?limit=5", "/leads", "", &[], 200)
        .await;
    p.check("GET", "/leads?limit=0", "/leads", "", &[], 400)
        .await;
    p.check(
        "POST",
        "/leads",
        "/leads",
        r#"{"name": "Pied Piper"}"#,
        &[],
        201,
    )
    .await;
    p.check("POST", "/leads", "/leads", "nope", &[], 400).await;
    p.check("POST", "/leads", "/leads", &big, &[], 413).await;
    let read = p.check("GET", &lead, "/leads/{id}", "", &[], 200).await;
    let etag = format!("\"{}\"", read["_sync"]["etag"].as_str().unwrap());
    p.check("GET", &unknown, "/leads/{id}", "", &[], 404).await;
    p.check(
        "PATCH",
        &lead,
        "/leads/{id}",
        r#"{"score": 3}"#,
        &[("If-Match", "\"0-1\"")],
        412,
    )
    .await;
    p.check(
        "PATCH",
        &lead,
        "/leads/{id}",
        r#"{"score": 3}"#,
        &[("If-Match", &etag)],
        200,
    )
    .await;
    p.check("PATCH", &lead, "/leads/{id}", "{}", &[], 400).await;
    p.check(
        "PATCH",
        &unknown,
        "/leads/{id}",
        r#"{"score": 3}"#,
        &[],
        404,
    )
    .await;
    p.check("PATCH", &lead, "/leads/{id}", &big, &[], 413).await;
    p.check(
        "DELETE",
        &lead,
        "/leads/{id}",
        "",
        &[("If-Match", "nonsense")],
        400,
    )
    .await;
    p.check(
        "DELETE",
        &lead,
        "/leads/{id}",
        "",
        &[("If-Match", "\"0-1\"")],
        412,
    )
    .await;
    p.check("DELETE", &lead, "/leads/{id}", "", &[], 204).await;
    p.check("DELETE", &unknown, "/leads/{id}", "", &[], 404)
        .await;
    p.check("GET", "/conflicts", "/conflicts", "", &[], 200)
        .await;
    p.check("GET", "/conflicts?status=open", "/conflicts", "", &[], 200)
        .await;
    p.check("GET", "/conflicts?status=maybe", "/conflicts", "", &[], 400)
        .await;
    // Another lead than the one deleted above.
    let other = stack.emulator.records("leads")[1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead_id = LeadId::parse(&other).unwrap();
    let conflict = stack
        .store
        .seed_open_conflict(&lead_id, "name", json!("Mine"))
        .await
        .unwrap();
    let resolve = format!("/conflicts/{conflict}/resolve");
    let template = "/conflicts/{id}/resolve";
    p.check(
        "POST",
        &resolve,
        template,
        r#"{"choose": "maybe"}"#,
        &[],
        400,
    )
    .await;
    p.check("POST", &resolve, template, &big, &[], 413).await;
    let unknown_conflict = format!("/conflicts/{}/resolve", "bm9uZQ");
    p.check(
        "POST",
        &unknown_conflict,
        template,
        r#"{"choose": "local"}"#,
        &[],
        404,
    )
    .await;
    let settled = p
        .check(
            "POST",
            &resolve,
            template,
            r#"{"choose": "local"}"#,
            &[],
            200,
        )
        .await;
    assert_eq!(settled["resolution"]["choice"], "local");
    p.check(
        "POST",
        &resolve,
        template,
        r#"{"choose": "remote"}"#,
        &[],
        409,
    )
    .await;
    p.check("GET", "/sync", "/sync", "", &[], 200).await;
    p.check("POST", "/sync", "/sync", r#"{"mode": "full"}"#, &[], 202)
        .await;
    p.check("POST", "/sync", "/sync", r#"{"mode": "all"}"#, &[], 400)
        .await;
    p.check("POST", "/sync", "/sync", &big, &[], 413).await;
    let first = p
        .check("GET", "/changes?limit=2", "/changes", "", &[], 200)
        .await;
    let cursor = first["cursor"].as_str().unwrap().to_string();
    p.check(
        "GET",
        &format!("/changes?cursor={cursor}"),
        "/changes",
        "",
        &[],
        200,
    )
    .await;
    p.check("GET", "/changes?cursor=nope", "/changes", "", &[], 400)
        .await;
    p.check(
        "GET",
        &format!("/changes?cursor={expired}"),
        "/changes",
        "",
        &[],
        410,
    )
    .await;
    // Boxed: the test's future is large enough without these steps inlined.
    let note = Box::pin(probe_objects(&mut p, &stack)).await;
    let served = p
        .check("GET", "/openapi.json", "/openapi.json", "", &[], 200)
        .await;
    assert_eq!(served, doc, "served as in the repository");

    // A run in progress is still a 202 (with that run), and a Lambda failure a 503.
    stack
        .store
        .acquire_lease("run-1", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let busy = p.check("POST", "/sync", "/sync", "", &[], 202).await;
    assert_eq!(busy["running"]["runId"], "run-1");
    stack.store.release_lease("run-1").await.unwrap();
    let down = FakeLambda::start().await;
    down.fail();
    p.api = LeadsApi {
        invoker: down.invoker("delta-sync").await,
        ..api.clone()
    };
    p.check("POST", "/sync", "/sync", "", &[], 503).await;

    // DynamoDB failing (here: a table that does not exist) is a generic 500 everywhere.
    p.api = LeadsApi {
        store: DynamoLeadStore::new(stack.dynamo.clone(), "no-such-table", "leads"),
        ..api.clone()
    };
    for (method, path, template, body) in [
        ("GET", "/leads".to_string(), "/leads", ""),
        ("POST", "/leads".to_string(), "/leads", r#"{"name": "x"}"#),
        ("GET", lead.clone(), "/leads/{id}", ""),
        ("PATCH", lead.clone(), "/leads/{id}", r#"{"score": 1}"#),
        ("DELETE", lead.clone(), "/leads/{id}", ""),
        ("GET", "/conflicts".to_string(), "/conflicts", ""),
        (
            "POST",
            resolve.clone(),
            "/conflicts/{id}/resolve",
            r#"{"choose": "local"}"#,
        ),
        ("GET", "/sync".to_string(), "/sync", ""),
        ("POST", "/sync".to_string(), "/sync", ""),
        ("GET", "/changes".to_string(), "/changes", ""),
        ("GET", "/objects/notes".to_string(), "/objects/{plural}", ""),
        (
            "GET",
            format!("/objects/notes/{note}"),
            "/objects/{plural}/{id}",
            "",
        ),
    ] {
        let answer = p.check(method, &path, template, body, &[], 500).await;
        assert_eq!(answer, json!({"error": "internal error"}));
    }

    let mut expected = documented(&doc);
    for (m, t, s, _why) in NOT_DRIVEN {
        assert!(
            expected.remove(&(m.to_string(), t.to_string(), s)),
            "{m} {t} {s} is no longer documented"
        );
    }
    assert_eq!(p.driven, expected, "driven here vs documented");

    // Outside the documented routes, the router's own answers keep the error shape.
    for (method, path, status) in [("GET", "/people", 404), ("PUT", "/sync", 405)] {
        let response = handle(&api, apigw(method, path, b"", &[], false))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        let Body::Text(t) = response.body() else {
            panic!("no body")
        };
        let body: Value = serde_json::from_str(t).unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
}

/// The other mirrored objects' routes (here the default: notes), read-only; the id of
/// the note it stored.
async fn probe_objects(p: &mut Probe, stack: &TestStack) -> LeadId {
    let note = LeadId::new_random();
    let fields = json!({"id": note.to_string(), "title": "Call back", "updatedAt": "2026-01-01T00:00:00.000Z", "deletedAt": null});
    let record = RemoteRecord::from_fields(fields.as_object().unwrap().clone()).unwrap();
    let place = RecordPlace::record("NOTE", note.as_str());
    stack
        .store
        .put_versioned(&place, &record, WriteOrigin::Sync, None)
        .await
        .unwrap();
    let (list, one) = ("/objects/{plural}", "/objects/{plural}/{id}");
    let notes = p
        .check("GET", "/objects/notes?limit=5", list, "", &[], 200)
        .await;
    assert_eq!(notes["data"][0], fields);
    p.check("GET", "/objects/notes?cursor=nope", list, "", &[], 400)
        .await;
    p.check("GET", "/objects/people", list, "", &[], 404).await;
    let read = p
        .check("GET", &format!("/objects/notes/{note}"), one, "", &[], 200)
        .await;
    assert_eq!(read, fields);
    p.check("GET", "/objects/notes/x", one, "", &[], 400).await;
    p.check(
        "GET",
        &format!("/objects/notes/{}", LeadId::new_random()),
        one,
        "",
        &[],
        404,
    )
    .await;
    note
}
