use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use spartan_sync::metrics::{Metrics, WebhookMetric};
use spartan_sync::webhook::{EventOutcome, SignatureHeaders, WebhookEvent, apply_event, verify};
use spartan_sync::{DynamoLeadStore, Timestamp, WebhookConfig};

use crate::response;
use secrecy::ExposeSecret;

/// Built once at cold start, borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct WebhookState {
    pub config: WebhookConfig,
    pub store: DynamoLeadStore,
    pub metrics: Metrics,
}

/// parse → verify → apply → respond. Never panics and never writes for a refused
/// request; only a store failure answers 5xx, so that it shows in CloudWatch.
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
    let (metric, response) = respond(state, request, now).await;
    state
        .metrics
        .webhook(metric, started.elapsed().as_secs_f64() * 1000.0);
    response
}

async fn respond(
    state: &WebhookState,
    request: Request,
    now: Timestamp,
) -> (WebhookMetric, Response<Body>) {
    if request.method() != Method::POST {
        return (
            WebhookMetric::BadRequest,
            response::error(StatusCode::METHOD_NOT_ALLOWED, "only POST is accepted"),
        );
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > state.config.max_body_bytes {
        tracing::warn!(bytes = body.len(), "webhook refused: body too large");
        let message = format!("body is larger than {} bytes", state.config.max_body_bytes);
        return (
            WebhookMetric::BadRequest,
            response::error(StatusCode::PAYLOAD_TOO_LARGE, message),
        );
    }
    if let Some(secret) = &state.config.secret {
        let headers = signature_headers(request.headers());
        if let Err(reason) = verify(
            body,
            headers,
            secret.expose_secret().as_bytes(),
            now,
            state.config.tolerance,
        ) {
            tracing::warn!(reason = %reason, "webhook refused: signature check failed");
            let message = format!("invalid signature: {reason}");
            return (
                WebhookMetric::Unauthorized,
                response::error(StatusCode::UNAUTHORIZED, message),
            );
        }
    }
    let event = match WebhookEvent::parse(body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused: bad body");
            return (
                WebhookMetric::BadRequest,
                response::error(StatusCode::BAD_REQUEST, e.to_string()),
            );
        }
    };
    let change = match event.change(state.config.object.singular()) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(event = %event.event_name, error = %e, "webhook refused: bad record");
            return (
                WebhookMetric::BadRequest,
                response::error(StatusCode::BAD_REQUEST, e.to_string()),
            );
        }
    };
    match apply_event(&state.store, &change).await {
        Ok(outcome) => {
            let record_id = event
                .record
                .as_ref()
                .and_then(|r| r.get("id"))
                .and_then(|v| v.as_str())
                .unwrap_or("-");
            match outcome {
                EventOutcome::Stale => {
                    tracing::info!(event = %event.event_name, record_id, outcome = outcome.as_str(), "Ignored stale {} (a newer version is stored)", event.event_name)
                }
                _ => {
                    tracing::info!(event = %event.event_name, record_id, outcome = outcome.as_str(), "Webhook {}: {}", event.event_name, outcome.as_str())
                }
            }
            (
                WebhookMetric::Outcome(outcome),
                response::status(outcome.as_str()),
            )
        }
        Err(e) => {
            tracing::error!(event = %event.event_name, error = %e, "webhook could not be applied");
            (
                WebhookMetric::Error,
                response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            )
        }
    }
}

fn signature_headers(headers: &HeaderMap) -> SignatureHeaders<'_> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    SignatureHeaders {
        timestamp: get("x-twenty-webhook-timestamp"),
        signature: get("x-twenty-webhook-signature"),
    }
}
