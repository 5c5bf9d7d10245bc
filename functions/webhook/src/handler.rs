use lambda_http::http::HeaderMap;
use lambda_http::{Body, Request, Response};
use spartan_sync::metrics::{Metrics, WebhookMetric};
use spartan_sync::webhook::{Delivery, SignatureHeaders, receive};
use spartan_sync::{DynamoLeadStore, Timestamp, WebhookConfig};

use crate::response;

/// Built once at cold start, borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct WebhookState {
    pub config: WebhookConfig,
    pub store: DynamoLeadStore,
    pub metrics: Metrics,
}

/// The request to [`receive`], its outcome to the response and the metrics. Never
/// panics and never writes for a refused request; only a store failure answers 5xx, so
/// that it shows in CloudWatch.
pub async fn handle(
    state: &WebhookState,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(handle_at(state, request, Timestamp::now()).await)
}

/// [`handle`] with the clock passed in, so recorded deliveries can be replayed at the
/// time they were signed.
pub async fn handle_at(state: &WebhookState, request: Request, now: Timestamp) -> Response<Body> {
    let started = std::time::Instant::now();
    let delivery = Delivery {
        method: request.method().as_str(),
        headers: signature_headers(request.headers()),
        body: request.body().as_ref(),
    };
    let received = receive(delivery, &state.config, now, &state.store).await;
    state.metrics.webhook(
        WebhookMetric::from(&received),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    response::answer(&received)
}

fn signature_headers(headers: &HeaderMap) -> SignatureHeaders<'_> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    SignatureHeaders {
        timestamp: get("x-twenty-webhook-timestamp"),
        signature: get("x-twenty-webhook-signature"),
    }
}
