//! `GET /changes`: the change feed, for clients that keep their own copy.

use lambda_http::http::StatusCode;
use lambda_http::{Request, RequestExt};
use serde_json::{Value, json};
use spartan_sync::Timestamp;
use spartan_sync::store::{Change, FeedError};

use crate::handler::{ApiError, bad_request, lead_json, page_limit};

pub(crate) async fn changes(api: &crate::LeadsApi, request: &Request) -> Result<Value, ApiError> {
    let params = request.query_string_parameters();
    let limit = page_limit(params.first("limit"))?;
    let cursor = params.first("cursor");
    if cursor.is_some_and(str::is_empty) {
        return Err(bad_request(
            "cursor is empty: leave it out to start from the beginning",
        ));
    }
    let page = api
        .store
        .changes(cursor, limit, Timestamp::now())
        .await
        .map_err(|e| match e {
            e @ FeedError::BadCursor => bad_request(e.to_string()),
            e @ FeedError::Expired { .. } => ApiError::Status(StatusCode::GONE, e.to_string()),
            FeedError::Store(s) => ApiError::Store(s),
        })?;
    let changes: Vec<Value> = page.changes.iter().map(change_json).collect();
    Ok(json!({"changes": changes, "cursor": page.cursor, "more": page.more}))
}

fn change_json(change: &Change) -> Value {
    json!({
        "id": change.id.to_string(),
        "changedAt": change.changed_at,
        "deleted": change.deleted,
        "lead": change.lead.as_ref().map(lead_json),
    })
}
