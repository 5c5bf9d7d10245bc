//! A stand-in for the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`),
//! so the leads API's `POST /sync` is tested through the real AWS SDK call: it records
//! each invocation (function, invocation type, payload) and answers as Lambda does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use spartan_sync::invoke::SyncInvoker;

#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub function: String,
    /// `X-Amz-Invocation-Type`: `Event` for an asynchronous invoke.
    pub invocation_type: Option<String>,
    pub payload: Value,
}

#[derive(Default)]
struct Shared {
    calls: Mutex<Vec<Invocation>>,
    failing: AtomicBool,
}

pub struct FakeLambda {
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeLambda {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Lambda");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    pub fn calls(&self) -> Vec<Invocation> {
        self.shared
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// From now on, answer every invoke as Lambda does when the service fails.
    pub fn fail(&self) {
        self.shared.failing.store(true, Ordering::SeqCst);
    }

    /// The leads API's invoker, pointed here.
    pub async fn invoker(&self, function: &str) -> SyncInvoker {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                "local", "local", None, None, "fake",
            ))
            .endpoint_url(&self.url)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        SyncInvoker::new(aws_sdk_lambda::Client::new(&config), function)
    }
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    if shared.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"Type":"Service","message":"ServiceException"}"#.into(),
        );
    }
    let call = Invocation {
        function: name,
        invocation_type: headers
            .get("x-amz-invocation-type")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        payload: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    if let Ok(mut calls) = shared.calls.lock() {
        calls.push(call);
    }
    (StatusCode::ACCEPTED, String::new())
}
