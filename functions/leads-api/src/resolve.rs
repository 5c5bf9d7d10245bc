//! `POST /conflicts/{id}/resolve`: the body, who asks, and the answer.

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use serde_json::Value;
use spartan_sync::sync::resolve::{Choice, ResolveError};

use crate::handler::{ApiError, bad_request};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    choose: String,
    #[serde(default)]
    value: Option<Value>,
}

/// `{"choose": "local" | "remote" | "value", "value": ...}`.
pub(crate) fn choice(body: &[u8]) -> Result<Choice, ApiError> {
    let parsed: ResolveBody = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "the body must be {{\"choose\": \"local\" | \"remote\" | \"value\", \"value\": ...}}: {e}"
        ))
    })?;
    match (parsed.choose.as_str(), parsed.value) {
        ("local", None) => Ok(Choice::Local),
        ("remote", None) => Ok(Choice::Remote),
        ("value", Some(v)) => Ok(Choice::Value(v)),
        ("value", None) => Err(bad_request("\"choose\": \"value\" needs a \"value\"")),
        ("local" | "remote", Some(_)) => Err(bad_request(
            "a \"value\" goes only with \"choose\": \"value\"",
        )),
        (other, _) => Err(bad_request(format!(
            "choose must be \"local\", \"remote\" or \"value\", not \"{other}\""
        ))),
    }
}

/// Who settles it: the IAM caller API Gateway authenticated (`local` under
/// `cargo lambda watch`, which has no authorizer).
pub(crate) fn caller(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone().or_else(|| iam.caller_id.clone())),
        _ => None,
    }
    .unwrap_or_else(|| "local".into())
}

impl From<ResolveError> for ApiError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::NotFound => Self::Status(StatusCode::NOT_FOUND, e.to_string()),
            ResolveError::NotOpen
            | ResolveError::Changed { .. }
            | ResolveError::LeadGone
            | ResolveError::Busy => Self::Status(StatusCode::CONFLICT, e.to_string()),
            ResolveError::Store(s) => Self::Store(s),
        }
    }
}
