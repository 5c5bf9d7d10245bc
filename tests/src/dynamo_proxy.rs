//! A loopback proxy in front of DynamoDB Local that answers some requests the way
//! DynamoDB does when it throttles, so tests can prove throttling costs no data.
//! DynamoDB Local itself never throttles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    every: usize,
    seen: Arc<AtomicUsize>,
    throttled: Arc<AtomicUsize>,
}

/// A running proxy; stops when dropped.
pub struct DynamoThrottlingProxy {
    pub endpoint: String,
    throttled: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DynamoThrottlingProxy {
    /// Throttles every `every`-th write (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
    /// TransactWriteItems).
    pub async fn start(upstream: &str, every: usize) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let throttled = Arc::new(AtomicUsize::new(0));
        let state = Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            every: every.max(1),
            seen: Arc::default(),
            throttled: throttled.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            endpoint,
            throttled,
            task,
        })
    }

    /// How many requests were answered with a throttling error.
    pub fn throttled(&self) -> usize {
        self.throttled.load(Ordering::SeqCst)
    }
}

impl Drop for DynamoThrottlingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(proxy): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let is_write = [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    ]
    .iter()
    .any(|op| target.ends_with(op));
    if is_write && (proxy.seen.fetch_add(1, Ordering::SeqCst) + 1) % proxy.every == 0 {
        proxy.throttled.fetch_add(1, Ordering::SeqCst);
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#;
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.0")],
            body,
        )
            .into_response();
    }
    let mut request = proxy.http.post(&proxy.upstream).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(resp) => {
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/x-amz-json-1.0")
                .to_string();
            let bytes = resp.bytes().await.unwrap_or_default();
            (status, [("content-type", content_type)], bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
