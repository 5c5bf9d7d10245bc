//! `GET /sync` and `POST /sync`: the sync state at a glance, and a run started now.

use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use spartan_sync::Timestamp;
use spartan_sync::invoke::mode_name;
use spartan_sync::sync::SyncStatus;
use spartan_sync::{RequestedMode, store::Lease};

use crate::handler::{ApiError, LeadsApi, bad_request};

/// What `POST /sync` accepts; an empty body is a delta.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    mode: String,
}

pub(crate) fn requested_mode(body: &[u8]) -> Result<RequestedMode, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RequestedMode::Delta);
    }
    let parsed: StartBody = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "the body must be {{\"mode\": \"delta\" | \"full\"}}: {e}"
        ))
    })?;
    match parsed.mode.as_str() {
        "delta" => Ok(RequestedMode::Delta),
        "full" => Ok(RequestedMode::Full),
        other => Err(bad_request(format!(
            "mode must be \"delta\" or \"full\", not \"{other}\""
        ))),
    }
}

pub(crate) async fn status(api: &LeadsApi) -> Result<Value, ApiError> {
    let status = SyncStatus::read_all(&api.store, &api.objects, Timestamp::now()).await?;
    Ok(serde_json::to_value(status).unwrap_or_default())
}

/// Starts a run unless one holds the lease (then that one is the answer: asking
/// again while a run is going is not an error). Either way 202 and how to follow.
pub(crate) async fn start(api: &LeadsApi, mode: RequestedMode) -> Result<Value, ApiError> {
    let now = Timestamp::now();
    let running = api
        .store
        .lease()
        .await?
        .filter(|l| l.until.is_some_and(|u| u >= now));
    let follow = "poll GET /sync until lastRun.at is at or after requestedAt and running is null";
    if let Some(Lease {
        owner, taken_at, ..
    }) = running
    {
        return Ok(json!({
            "started": false,
            "mode": mode_name(mode),
            "requestedAt": now,
            "running": {"runId": owner, "since": taken_at},
            "message": "a sync run is already in progress; it finishes first (ask again after it for a full sync)",
            "follow": follow,
        }));
    }
    api.invoker.start(mode).await.map_err(|e| {
        tracing::error!(error = %e, "POST /sync: could not start delta-sync");
        ApiError::Status(
            StatusCode::SERVICE_UNAVAILABLE,
            "could not start a sync run; try again shortly".into(),
        )
    })?;
    tracing::info!(mode = mode_name(mode), "sync run requested through the API");
    Ok(json!({
        "started": true,
        "mode": mode_name(mode),
        "requestedAt": now,
        "running": null,
        "message": format!("a {} sync run was started", mode_name(mode)),
        "follow": follow,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_a_mode_or_is_empty() {
        assert_eq!(
            requested_mode(br#"{"mode": "full"}"#).ok(),
            Some(RequestedMode::Full)
        );
        assert_eq!(requested_mode(b"").ok(), Some(RequestedMode::Delta));
        for bad in [
            &br#"{"mode": "auto"}"#[..],
            br#"{"mode": 1}"#,
            br#"{"mode": "full", "x": 1}"#,
            b"full",
            b"{}",
        ] {
            assert!(
                requested_mode(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
