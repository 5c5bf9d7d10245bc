//! Twenty's list endpoint over a fixed set of emulated records, sorted once: for the
//! full-sync throughput runs. The emulator filters and sorts every row for every page
//! (about 270 ms a page at 100,000 leads, 0.7 ms a record); that would be measured
//! instead of the sync. Same envelope, same keyset cursor shape, same auth; the query's
//! filter and order are taken as the full sync sends them (every record, oldest first).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::Value;

use spartan_sync_tests::emulator::{Emulator, EmulatorOptions, RateLimiter, Seed};

pub struct PageServer {
    pub addr: SocketAddr,
    pub api_key: String,
    pages: Arc<Pages>,
    task: tokio::task::JoinHandle<()>,
}

struct Pages {
    api_key: String,
    /// In `(updatedAt, id)` order, as `order_by=updatedAt[AscNullsFirst]` lists them.
    records: Vec<Value>,
    position: HashMap<String, usize>,
    requests: AtomicU64,
    served: AtomicU64,
    /// Twenty's limit, as the emulator enforces it (`None`: unlimited).
    limiter: Mutex<RateLimiter>,
    /// When each admitted request arrived; and the 429s sent.
    admitted_at: Mutex<Vec<Instant>>,
    refused: AtomicU64,
}

impl PageServer {
    /// Serves the records an emulator seeded with `seed` holds.
    pub async fn from_emulator(seed: Seed) -> anyhow::Result<Self> {
        Self::with_rate_limit(seed, None).await
    }

    /// The same, refusing requests over `limit` (requests, window) with Twenty's 429.
    pub async fn with_rate_limit(
        seed: Seed,
        limit: Option<(u32, Duration)>,
    ) -> anyhow::Result<Self> {
        let emulator = Emulator::start(EmulatorOptions {
            seed,
            ..EmulatorOptions::default()
        })
        .await?;
        let api_key = emulator.api_key().to_string();
        let mut records = emulator.records("leads");
        emulator.shutdown().await;
        let key = |r: &Value| {
            (
                r["updatedAt"].as_str().unwrap_or_default().to_string(),
                r["id"].as_str().unwrap_or_default().to_string(),
            )
        };
        records.sort_by_cached_key(key);
        let position = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r["id"].as_str().unwrap_or_default().to_string(), i))
            .collect();
        let pages = Arc::new(Pages {
            api_key: api_key.clone(),
            records,
            position,
            requests: AtomicU64::new(0),
            served: AtomicU64::new(0),
            limiter: Mutex::new(RateLimiter::new(limit)),
            admitted_at: Mutex::new(Vec::new()),
            refused: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/rest/leads", get(list))
            .with_state(pages.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            api_key,
            pages,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.pages.requests.load(Ordering::Relaxed)
    }

    /// Records handed out in pages so far.
    pub fn records_served(&self) -> u64 {
        self.pages.served.load(Ordering::Relaxed)
    }

    /// When each request the rate limit let through arrived.
    pub fn admitted_at(&self) -> Vec<Instant> {
        self.pages
            .admitted_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// 429s sent.
    pub fn refused(&self) -> u64 {
        self.pages.refused.load(Ordering::Relaxed)
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    data: Data<'a>,
    #[serde(rename = "totalCount")]
    total_count: usize,
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
}

#[derive(Serialize)]
struct Data<'a> {
    leads: &'a [Value],
}

#[derive(Serialize)]
struct PageInfo {
    #[serde(rename = "startCursor")]
    start_cursor: Option<String>,
    #[serde(rename = "endCursor")]
    end_cursor: Option<String>,
    #[serde(rename = "hasNextPage")]
    has_next_page: bool,
    #[serde(rename = "hasPreviousPage")]
    has_previous_page: bool,
}

/// Twenty's cursor: base64 of `{"updatedAt":"...","id":"..."}`.
fn cursor(record: &Value) -> String {
    let updated_at = Value::from(record["updatedAt"].as_str().unwrap_or_default());
    let id = Value::from(record["id"].as_str().unwrap_or_default());
    STANDARD.encode(format!("{{\"updatedAt\":{updated_at},\"id\":{id}}}"))
}

fn cursor_id(raw: &str) -> Option<String> {
    let bytes = STANDARD.decode(raw).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["id"].as_str().map(String::from)
}

fn error(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn list(
    State(pages): State<Arc<Pages>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    pages.requests.fetch_add(1, Ordering::Relaxed);
    let expected = format!("Bearer {}", pages.api_key);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return error(
            StatusCode::UNAUTHORIZED,
            r#"{"statusCode":401,"messages":["Token invalid."],"error":"UNAUTHENTICATED"}"#,
        );
    }
    let now = Instant::now();
    let admitted = pages
        .limiter
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .admit_or_body(now);
    if let Err(body) = admitted {
        pages.refused.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response();
    }
    pages
        .admitted_at
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(now);
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(60)
        .min(200);
    let start = match query.get("starting_after") {
        None => 0,
        Some(c) => match cursor_id(c).and_then(|id| pages.position.get(&id).copied()) {
            Some(i) => i + 1,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    r#"{"statusCode":400,"error":"BadRequestException","messages":["Invalid cursor"]}"#,
                );
            }
        },
    };
    let total = pages.records.len();
    let end = (start + limit).min(total);
    let page = &pages.records[start.min(end)..end];
    pages.served.fetch_add(page.len() as u64, Ordering::Relaxed);
    let envelope = Envelope {
        data: Data { leads: page },
        total_count: total,
        page_info: PageInfo {
            start_cursor: page.first().map(cursor),
            end_cursor: page.last().map(cursor),
            has_next_page: end < total,
            has_previous_page: false,
        },
    };
    match serde_json::to_vec(&envelope) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "{}"),
    }
}
