//! The webhook function served over real HTTP on loopback, so the emulator's signed
//! deliveries reach the real handler the way API Gateway would pass them on.

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use spartan_sync::Timestamp;
use tokio::net::TcpListener;
use webhook::{WebhookState, handle_at};

/// A running receiver; stops when dropped.
pub struct WebhookReceiver {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start(state: WebhookState) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/api/webhooks/twenty", listener.local_addr()?);
        let app = axum::Router::new().fallback(receive).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, task })
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(state): State<WebhookState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 4 * 1024 * 1024).await.unwrap_or_default();
    let request =
        lambda_http::Request::from_parts(parts, lambda_http::Body::Binary(bytes.to_vec()));
    let response = handle_at(&state, request, Timestamp::now()).await;
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    Response::from_parts(parts, AxumBody::from(bytes))
}
