//! The emulator over real HTTP, in-process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::*;

pub(super) async fn start(seed: Seed) -> Emulator {
    Emulator::start(EmulatorOptions {
        seed,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

pub(super) struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    pub(super) fn new(emulator: &Emulator) -> Self {
        Self {
            base: emulator.url(),
            key: emulator.api_key().to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, HeaderMap, String) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.expect("body"))
    }

    pub(super) async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, text) = self.call(method, path, body).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

#[tokio::test]
async fn refuses_requests_without_the_key() {
    let emulator = start(Seed::Empty).await;
    let response = reqwest::get(format!("{}/rest/leads", emulator.url()))
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"statusCode":401,"messages":["Token invalid."],"error":"UNAUTHENTICATED"}"#
    );
}

#[tokio::test]
async fn record_lifecycle_matches_the_captures() {
    use reqwest::Method;
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);

    let (status, created) = api
        .json(
            Method::POST,
            "/rest/leads",
            Some(json!({"name": "Acme lead", "status": "NEW", "score": 10, "source": "probe", "email": {"primaryEmail": "l0@example.com"}})),
        )
        .await;
    assert_eq!(status, 201);
    let lead = &created["data"]["createLead"];
    let id = lead["id"].as_str().expect("id").to_string();
    assert_eq!(lead["searchVector"], "'acme':1 'lead':2");
    assert_eq!(
        lead["email"],
        json!({"primaryEmail": "l0@example.com", "additionalEmails": []})
    );
    assert_eq!(lead["position"], 0);

    let (status, _, text) = api
        .call(Method::GET, &format!("/rest/core/leads/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with(r#"{"data":{"lead":{"name":"Acme lead","id":"#),
        "{text}"
    );

    let (status, body) = api
        .json(
            Method::PATCH,
            &format!("/rest/leads/{id}"),
            Some(json!({"city": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["messages"][0].clone()),
        (400, json!("Object lead doesn't have any \"city\" field."))
    );
    let (status, body) = api
        .json(
            Method::PATCH,
            "/rest/leads/00000000-0000-0000-0000-000000000000",
            Some(json!({"score": 1})),
        )
        .await;
    assert_eq!(
        (status, body["messages"][0].clone()),
        (
            400,
            json!("'00000000-0000-0000-0000-000000000000' is not a valid UUID")
        )
    );
    let (status, body) = api
        .json(
            Method::PATCH,
            &format!("/rest/leads/{id}"),
            Some(json!({"score": 77})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["updateLead"]["score"], 77);

    let (status, body) = api
        .json(
            Method::POST,
            "/rest/leads",
            Some(json!({"id": id, "name": "again"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"statusCode": 400, "error": "BadRequestException", "messages": ["A duplicate entry was detected"]})
    );

    let (status, body) = api
        .json(
            Method::DELETE,
            &format!("/rest/leads/{id}?soft_delete=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["deleteLead"]["deletedAt"],
        body["data"]["deleteLead"]["updatedAt"]
    );
    let (status, body) = api
        .json(Method::GET, &format!("/rest/leads/{id}"), None)
        .await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"statusCode": 404, "error": "NotFoundException", "messages": ["Record not found"]})
        )
    );
    let (_, body) = api.json(Method::GET, "/rest/leads", None).await;
    assert_eq!(body["totalCount"], 0);
    let (_, body) = api
        .json(
            Method::GET,
            "/rest/leads?filter=deletedAt%5Bis%5D%3ANOT_NULL",
            None,
        )
        .await;
    assert_eq!(body["totalCount"], 1);

    let (status, body) = api
        .json(Method::PATCH, &format!("/rest/restore/leads/{id}"), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["messages"][0],
        format!(
            "Query path '/rest/restore/leads/{id}' invalid. Valid examples: /rest/companies/id or /rest/companies or /rest/batch/companies"
        )
    );
    let filter = format!("id%5Bin%5D%3A%5B%22{id}%22%5D");
    let (status, body) = api
        .json(
            Method::PATCH,
            &format!("/rest/restore/leads?filter={filter}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["restoreLeads"][0]["deletedAt"], Value::Null);

    let (status, body) = api
        .json(Method::DELETE, &format!("/rest/leads/{id}"), None)
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"deleteLead": {"id": id}}}))
    );
    assert!(emulator.get("leads", &id).is_none());
}

#[tokio::test]
async fn batch_create_shares_one_updated_at_and_lists_page_by_cursor() {
    use reqwest::Method;
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);
    let batch: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("Lead {i}")}))
        .collect();
    let (status, body) = api
        .json(Method::POST, "/rest/batch/leads", Some(Value::Array(batch)))
        .await;
    assert_eq!(status, 201);
    let created = body["data"]["createLeads"]
        .as_array()
        .expect("array")
        .clone();
    assert!(
        created
            .iter()
            .all(|r| r["updatedAt"] == created[0]["updatedAt"])
    );

    let (_, page1) = api
        .json(
            Method::GET,
            "/rest/leads?limit=3&order_by=updatedAt[AscNullsFirst]",
            None,
        )
        .await;
    assert_eq!(page1["totalCount"], 5);
    assert_eq!(page1["pageInfo"]["hasNextPage"], true);
    let cursor = page1["pageInfo"]["endCursor"].as_str().expect("cursor");
    let (_, page2) = api
        .json(
            Method::GET,
            &format!(
                "/rest/leads?limit=3&order_by=updatedAt[AscNullsFirst]&starting_after={cursor}"
            ),
            None,
        )
        .await;
    assert_eq!(page2["data"]["leads"].as_array().map(Vec::len), Some(2));
    assert_eq!(page2["pageInfo"]["hasNextPage"], false);
    let (status, body) = api
        .json(Method::GET, "/rest/leads?starting_after=garbage", None)
        .await;
    assert_eq!(
        (status, body["messages"][0].clone()),
        (400, json!("Invalid cursor: garbage"))
    );
}

#[tokio::test]
async fn faults_and_rate_limit() {
    use reqwest::Method;
    let emulator = start(Seed::Generated(3)).await;
    let api = Api::new(&emulator);

    emulator.push_fault(Fault::Status {
        code: 503,
        retry_after_secs: Some(7),
    });
    emulator.push_fault(Fault::TruncatedJson);
    let (status, headers, _) = api.call(Method::GET, "/rest/leads", None).await;
    assert_eq!(status, 503);
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let (status, _, text) = api.call(Method::GET, "/rest/leads", None).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "truncated");
    let (status, _, _) = api.call(Method::GET, "/rest/leads", None).await;
    assert_eq!(status, 200);

    emulator.set_rate_limit(Some((2, Duration::from_secs(60))));
    for _ in 0..2 {
        assert_eq!(
            api.call(Method::GET, "/rest/leads?limit=1", None).await.0,
            200
        );
    }
    let (status, headers, text) = api.call(Method::GET, "/rest/leads?limit=1", None).await;
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_none());
    assert_eq!(
        text,
        r#"{"statusCode":429,"error":"HttpException","messages":["Limit reached (2 tokens per 60000 ms)"]}"#
    );

    let log = emulator.request_log();
    assert_eq!(log.first().map(|l| l.status), Some(503));
    assert_eq!(
        log.last().map(|l| l.path_and_query.as_str()),
        Some("/rest/leads?limit=1")
    );
}

#[tokio::test]
async fn an_edit_between_pages_is_seen_later_in_the_pass() {
    let emulator = start(Seed::Generated(6)).await;
    let api = Api::new(&emulator);
    let first_id = emulator.records("leads")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let edited = first_id.clone();
    emulator.after_list_request(
        1,
        Box::new(move |emu: &EmulatorHandle| {
            emu.update("leads", &edited, json!({"score": 1000}));
        }),
    );
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/rest/leads?limit=4&order_by=updatedAt&starting_after={cursor}");
        let (_, page) = api.json(reqwest::Method::GET, &path, None).await;
        for r in page["data"]["leads"].as_array().expect("leads") {
            seen.push((r["id"].clone(), r["score"].clone()));
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        cursor = page["pageInfo"]["endCursor"]
            .as_str()
            .expect("cursor")
            .to_string();
    }
    assert_eq!(seen.len(), 7, "6 rows plus the edited one again");
    assert_eq!(seen.last(), Some(&(json!(first_id), json!(1000))));
}

/// A webhook target that records what it receives.
pub(super) async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().expect("lock").push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, received)
}

#[tokio::test]
async fn webhooks_are_signed_and_shaped_like_twentys() {
    use reqwest::Method;
    let emulator = start(Seed::Empty).await;
    let api = Api::new(&emulator);
    let (url, received) = receiver().await;

    let (status, body) = api
        .json(
            Method::POST,
            "/rest/webhooks",
            Some(json!({"targetUrl": url, "operations": ["lead.*"], "secret": "twenty-test-secret", "description": "t"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(body["operations"], json!(["lead.*"]));
    assert_eq!(body["secret"], "twenty-test-secret");

    let lead = emulator.create("leads", json!({"name": "Hooked"}));
    let id = lead["id"].as_str().expect("id");
    emulator.update(
        "leads",
        id,
        json!({"phones": {"primaryPhoneNumber": "8553057016"}}),
    );
    emulator.create("notes", json!({"title": "not wanted"}));
    emulator.soft_delete("leads", id);
    emulator.restore("leads", id);
    assert!(emulator.destroy("leads", id));
    emulator.wait_for_deliveries_idle().await;

    let received = received.lock().expect("lock").clone();
    let names: Vec<String> = received
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).expect("json")["eventName"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "lead.created",
            "lead.updated",
            "lead.deleted",
            "lead.restored",
            "lead.destroyed"
        ]
    );
    assert_eq!(emulator.deliveries_sent(), 5);
    for (headers, body) in &received {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let timestamp = header("x-twenty-webhook-timestamp");
        assert_eq!(
            header("x-twenty-webhook-signature"),
            sign_payload("twenty-test-secret", &timestamp, body)
        );
        assert_eq!(header("x-twenty-webhook-nonce").len(), 32);
        assert_eq!(header("content-type"), "application/json");
        assert!(!body.contains('\n'));
        assert!(body.starts_with(r#"{"targetUrl":""#));
    }
    let updated: Value = serde_json::from_str(&received[1].1).expect("json");
    assert_eq!(updated["updatedFields"], json!(["phones"]));
    assert_eq!(updated["objectMetadata"]["nameSingular"], "lead");
    assert_eq!(
        updated["record"]["phones"]["primaryPhoneNumber"],
        "8553057016"
    );
}

#[tokio::test]
async fn delivery_switches_reorder_and_duplicate() {
    let emulator = start(Seed::Empty).await;
    let (url, received) = receiver().await;
    emulator.register_webhook(&url, &["*.*"], "s");
    let switches = emulator.webhook_switches();

    switches.hold();
    let a = emulator.create("leads", json!({"name": "A"}));
    let b = emulator.create("leads", json!({"name": "B"}));
    emulator.wait_for_deliveries_idle().await;
    assert_eq!(received.lock().expect("lock").len(), 0);
    assert_eq!(switches.release_held(ReleaseOrder::Reverse), 2);
    switches.set_duplicate(true);
    emulator.update("leads", a["id"].as_str().expect("id"), json!({"score": 3}));
    emulator.wait_for_deliveries_idle().await;

    let ids: Vec<Value> = received
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, body)| serde_json::from_str::<Value>(body).expect("json")["record"]["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            b["id"].clone(),
            a["id"].clone(),
            a["id"].clone(),
            a["id"].clone()
        ]
    );
}
