//! What every request goes through before (and after) its handler: the API key check,
//! an injected fault if one is queued, the rate limit, and the request log.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::{ApiError, UNAUTHENTICATED_BODY, json_body_response};
use super::faults::Fault;
use super::handle::EmulatorHandle;

/// One request the emulator answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub path_and_query: String,
    pub status: u16,
}

pub(crate) async fn gate(
    State(emulator): State<EmulatorHandle>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let response = admit_and_run(&emulator, request, next).await;
    let status = response.status().as_u16();
    tracing::info!(%method, path = %path_and_query, status, "twenty emulator");
    emulator.log_request(LoggedRequest {
        method,
        path_and_query,
        status,
    });
    response
}

async fn admit_and_run(emulator: &EmulatorHandle, request: Request, next: Next) -> Response {
    if !authorized(emulator.api_key(), request.headers()) {
        return json_body_response(401, UNAUTHENTICATED_BODY.to_string());
    }
    let fault = emulator.next_fault();
    match &fault {
        Some(Fault::Status {
            code,
            retry_after_secs,
        }) => return injected_status(emulator, *code, *retry_after_secs),
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::TruncatedJson | Fault::LostResponse(_)) | None => {}
    }
    if let Err(rejection) = emulator.admit() {
        return rejection.into_response();
    }
    let response = next.run(request).await;
    match fault {
        Some(Fault::TruncatedJson) => truncate(response).await,
        Some(Fault::LostResponse(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        _ => response,
    }
}

/// `Authorization: Bearer <key>`; Twenty refuses keys anywhere else.
fn authorized(api_key: &str, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token.trim() == api_key)
}

fn injected_status(
    emulator: &EmulatorHandle,
    code: u16,
    retry_after_secs: Option<u64>,
) -> Response {
    let error = if code == 429 {
        emulator.rate_limit_rejection()
    } else {
        ApiError::injected(code)
    };
    let mut response = error.into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// 200 with the first half of the real body: a connection cut mid-response.
async fn truncate(response: Response) -> Response {
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    let mut cut = Response::new(Body::from(half));
    cut.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    cut
}
