use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::json;

/// The one place that turns outcomes into HTTP answers.
pub fn json(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

pub fn status(outcome: &str) -> Response<Body> {
    json(StatusCode::OK, json!({ "status": outcome }))
}

pub fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json(status, json!({ "error": message.into() }))
}
