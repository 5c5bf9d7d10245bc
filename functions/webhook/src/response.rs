use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;
use spartan_sync::webhook::{Received, Refusal};

/// The one place that turns a delivery's outcome into its HTTP answer. A store
/// failure's detail is in the logs, never in the body.
pub fn answer(received: &Received) -> Response<Body> {
    match received {
        Received::Done(outcome) => json(StatusCode::OK, json!({ "status": outcome.as_str() })),
        Received::Refused(refusal) => error(refused_status(refusal), refusal.to_string()),
        Received::Failed(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

fn refused_status(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::NotPost => StatusCode::METHOD_NOT_ALLOWED,
        Refusal::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refusal::BadSignature(_) => StatusCode::UNAUTHORIZED,
        Refusal::BadBody(_) | Refusal::BadRecord { .. } => StatusCode::BAD_REQUEST,
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json(status, json!({ "error": message.into() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spartan_sync::webhook::{EventError, EventOutcome, VerifyError};

    fn status_and_body(received: Received) -> (u16, String) {
        let response = answer(&received);
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            other => panic!("unexpected body {other:?}"),
        };
        (response.status().as_u16(), body)
    }

    #[test]
    fn each_outcome_has_its_status_and_body() {
        let cases = [
            (
                Received::Done(EventOutcome::Stale),
                200,
                r#"{"status":"stale"}"#,
            ),
            (
                Received::Refused(Refusal::NotPost),
                405,
                r#"{"error":"only POST is accepted"}"#,
            ),
            (
                Received::Refused(Refusal::TooLarge { bytes: 9, limit: 8 }),
                413,
                r#"{"error":"body is larger than 8 bytes"}"#,
            ),
            (
                Received::Refused(Refusal::BadSignature(VerifyError::BadSignature)),
                401,
                r#"{"error":"invalid signature: the signature does not match"}"#,
            ),
            (
                Received::Refused(Refusal::BadBody(EventError::NotJson("eof".into()))),
                400,
                r#"{"error":"the body is not JSON: eof"}"#,
            ),
        ];
        for (received, status, body) in cases {
            assert_eq!(status_and_body(received), (status, body.to_string()));
        }
    }
}
