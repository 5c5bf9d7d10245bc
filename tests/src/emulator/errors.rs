//! Error answers, in the exact shapes Twenty sends.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::schema::ObjectKind;

/// `{"statusCode":400,"error":"BadRequestException","messages":["..."]}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub error: &'static str,
    pub messages: Vec<String>,
    /// Express' body-parser errors say `message` (one string), not `messages`.
    pub singular: bool,
}

/// Twenty's 401: note `messages` before `error`, unlike every other error body.
pub(crate) const UNAUTHENTICATED_BODY: &str =
    r#"{"statusCode":401,"messages":["Token invalid."],"error":"UNAUTHENTICATED"}"#;

impl ApiError {
    fn new(status: u16, error: &'static str, message: String) -> Self {
        Self {
            status,
            error,
            messages: vec![message],
            singular: false,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequestException", message.into())
    }

    pub(crate) fn not_found() -> Self {
        Self::new(404, "NotFoundException", "Record not found".into())
    }

    pub(crate) fn route_not_found(method: &str, path: &str) -> Self {
        Self::new(404, "NotFoundException", format!("Cannot {method} {path}"))
    }

    pub(crate) fn unknown_field(kind: ObjectKind, field: &str) -> Self {
        Self::bad_request(format!(
            "Object {} doesn't have any \"{field}\" field.",
            kind.singular()
        ))
    }

    pub(crate) fn unknown_object(name: &str) -> Self {
        Self::bad_request(format!("object '{name}' not found"))
    }

    pub(crate) fn invalid_uuid(value: &str) -> Self {
        Self::bad_request(format!("'{value}' is not a valid UUID"))
    }

    pub(crate) fn invalid_cursor(value: &str) -> Self {
        Self::bad_request(format!("Invalid cursor: {value}"))
    }

    pub(crate) fn duplicate_entry() -> Self {
        Self::bad_request("A duplicate entry was detected")
    }

    pub(crate) fn body_parse(message: impl Into<String>) -> Self {
        Self {
            singular: true,
            ..Self::bad_request(message)
        }
    }

    pub(crate) fn rate_limited(limit: u32, window_ms: u128) -> Self {
        Self::new(
            429,
            "HttpException",
            format!("Limit reached ({limit} tokens per {window_ms} ms)"),
        )
    }

    /// A fault-injected status: what a crashed server or a proxy in front would say.
    pub(crate) fn injected(status: u16) -> Self {
        let error = match status {
            429 => "HttpException",
            500..=599 => "InternalServerErrorException",
            _ => "HttpException",
        };
        let message = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Injected fault");
        Self::new(status, error, message.to_string())
    }

    /// The body, keys in Twenty's order.
    pub(crate) fn body(&self) -> String {
        let error = Value::from(self.error);
        if self.singular {
            let message = Value::from(self.messages.first().cloned().unwrap_or_default());
            format!(
                r#"{{"statusCode":{},"error":{error},"message":{message}}}"#,
                self.status
            )
        } else {
            let messages = Value::from(self.messages.clone());
            format!(
                r#"{{"statusCode":{},"error":{error},"messages":{messages}}}"#,
                self.status
            )
        }
    }
}

pub(crate) fn json_body_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_body_response(self.status, self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_captures() {
        assert_eq!(
            ApiError::not_found().body(),
            r#"{"statusCode":404,"error":"NotFoundException","messages":["Record not found"]}"#
        );
        assert_eq!(
            ApiError::rate_limited(100, 60_000).body(),
            r#"{"statusCode":429,"error":"HttpException","messages":["Limit reached (100 tokens per 60000 ms)"]}"#
        );
    }
}
