//! The REST routes, under both `/rest/` and `/rest/core/`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{Method, Uri};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, patch, post};
use serde_json::{Map, Value, json};

use super::errors::{ApiError, json_body_response};
use super::filter::Filter;
use super::gate::gate;
use super::handle::EmulatorHandle;
use super::json;
use super::listing::{self, ListParams, RawListQuery};
use super::schema::{self, ObjectKind, Record};
use super::webhooks::Webhook;
use super::world::Actor;

type ApiResult = Result<Response, ApiError>;

pub(crate) fn router(emulator: EmulatorHandle) -> Router {
    // Static segments (`batch`, `restore`, `webhooks`, `core`) win over `{object}`.
    let api: Router<EmulatorHandle> = Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}", get(get_webhook).delete(delete_webhook))
        .route("/batch/{object}", post(create_batch))
        .route("/restore/{object}", patch(restore_many))
        .route("/restore/{object}/{id}", patch(restore_one))
        .route("/{object}", get(list).post(create_one).delete(delete_many))
        .route(
            "/{object}/{id}",
            get(get_one).patch(update_one).delete(delete_one),
        );
    Router::new()
        .nest("/rest/core", api.clone())
        .nest("/rest", api)
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(emulator.clone(), gate))
        .with_state(emulator)
}

// ---- request helpers -------------------------------------------------------------------

/// Query parameters, decoded like Express does (`+` is a space). First occurrence wins.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(raw: Option<String>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        Self(pairs)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn is_true(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
}

fn kind_of(object: &str) -> Result<ObjectKind, ApiError> {
    ObjectKind::from_plural(object).ok_or_else(|| ApiError::unknown_object(object))
}

fn checked_id(id: &str) -> Result<&str, ApiError> {
    if schema::is_valid_uuid(id) {
        Ok(id)
    } else {
        Err(ApiError::invalid_uuid(id))
    }
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::body_parse(format!("Unexpected token in JSON: {e}")))
}

fn object_body(body: &Bytes) -> Result<Record, ApiError> {
    match parse_body(body)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::bad_request(format!(
            "Request body must be an object, got {other}"
        ))),
    }
}

fn respond(status: u16, body: &Value, kind: Option<ObjectKind>) -> Response {
    json_body_response(status, json::to_string(body, kind))
}

/// `{"data":{"<key>": value}}`.
fn data(status: u16, kind: ObjectKind, key: String, value: Value) -> Response {
    respond(status, &json!({ "data": { key: value } }), Some(kind))
}

// ---- records ---------------------------------------------------------------------------

async fn list(
    State(emulator): State<EmulatorHandle>,
    Path(object): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let query = QueryParams::parse(raw);
    let params = ListParams::parse(
        kind,
        RawListQuery {
            filter: query.get("filter"),
            order_by: query.get("order_by"),
            limit: query.get("limit"),
            starting_after: query.get("starting_after"),
            ending_before: query.get("ending_before"),
        },
    )?;
    // `depth` is accepted and ignored: records carry no inlined relations here.
    let page = emulator.read(|world| listing::list(world, kind, &params));
    let response = respond(200, &listing::envelope(kind, page), Some(kind));
    emulator.list_answered();
    Ok(response)
}

async fn get_one(
    State(emulator): State<EmulatorHandle>,
    Path((object, id)): Path<(String, String)>,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let id = checked_id(&id)?;
    let record = emulator
        .read(|world| world.get_live(kind, id).cloned())
        .ok_or_else(ApiError::not_found)?;
    Ok(data(
        200,
        kind,
        kind.singular().to_string(),
        Value::Object(record),
    ))
}

async fn create_one(
    State(emulator): State<EmulatorHandle>,
    Path(object): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let upsert = QueryParams::parse(raw).is_true("upsert");
    let input = object_body(&body)?;
    let mut records = emulator.mutate(|world| world.create(kind, &[input], Actor::Api, upsert))?;
    let record = records.pop().unwrap_or(Value::Null);
    Ok(data(
        201,
        kind,
        format!("create{}", kind.singular_title()),
        record,
    ))
}

async fn create_batch(
    State(emulator): State<EmulatorHandle>,
    Path(object): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let upsert = QueryParams::parse(raw).is_true("upsert");
    let inputs: Vec<Record> = match parse_body(&body)? {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                other => Err(ApiError::bad_request(format!(
                    "Each record must be an object, got {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "Request body must be an array of records",
            ));
        }
    };
    let records = emulator.mutate(|world| world.create(kind, &inputs, Actor::Api, upsert))?;
    Ok(data(
        201,
        kind,
        format!("create{}", kind.plural_title()),
        Value::Array(records),
    ))
}

async fn update_one(
    State(emulator): State<EmulatorHandle>,
    Path((object, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let id = checked_id(&id)?;
    let patch = object_body(&body)?;
    let record = emulator.mutate(|world| world.update(kind, id, &patch, Actor::Api))?;
    Ok(data(
        200,
        kind,
        format!("update{}", kind.singular_title()),
        record,
    ))
}

/// No parameter is a HARD delete; `?soft_delete=true` sets `deletedAt`.
async fn delete_one(
    State(emulator): State<EmulatorHandle>,
    Path((object, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let id = checked_id(&id)?;
    let key = format!("delete{}", kind.singular_title());
    if QueryParams::parse(raw).is_true("soft_delete") {
        let record = emulator.mutate(|world| world.soft_delete(kind, id, Actor::Api))?;
        Ok(data(200, kind, key, record))
    } else {
        let record = emulator.mutate(|world| world.destroy(kind, id))?;
        Ok(data(200, kind, key, json!({ "id": record["id"] })))
    }
}

/// The ids of the rows of `kind` that the required `filter` parameter matches (and
/// `also`), for a bulk operation named `what`.
fn matching_ids(
    emulator: &EmulatorHandle,
    kind: ObjectKind,
    raw: Option<String>,
    what: &str,
    also: impl Fn(&Record) -> bool,
) -> Result<Vec<String>, ApiError> {
    let query = QueryParams::parse(raw);
    let filter_text = query
        .get("filter")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("'filter' is required to {what} records")))?;
    let filter = Filter::parse(kind, filter_text)?;
    Ok(emulator.read(|world| {
        world
            .rows(kind)
            .filter(|r| also(r) && filter.matches(r))
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect()
    }))
}

/// `DELETE /rest/<objects>?filter=...`: a bulk HARD delete (a filter is required, as
/// deleting a whole table by accident should not be one request away). Answers the
/// removed ids; Twenty 2.21.0 sends one `destroyed` event for all of them.
async fn delete_many(
    State(emulator): State<EmulatorHandle>,
    Path(object): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let ids = matching_ids(&emulator, kind, raw, "delete", |_| true)?;
    let records = emulator.mutate(|world| world.destroy_many(kind, &ids))?;
    let gone: Vec<Value> = records.iter().map(|r| json!({ "id": r["id"] })).collect();
    Ok(data(
        200,
        kind,
        format!("delete{}", kind.plural_title()),
        Value::Array(gone),
    ))
}

/// `PATCH /rest/restore/<objects>?filter=id[in]:["<id>"]`: the form that works in 2.21.
async fn restore_many(
    State(emulator): State<EmulatorHandle>,
    Path(object): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let kind = kind_of(&object)?;
    let ids = matching_ids(&emulator, kind, raw, "restore", |r| {
        !r["deletedAt"].is_null()
    })?;
    let records = emulator.mutate(|world| world.restore(kind, &ids, Actor::Api))?;
    Ok(data(
        200,
        kind,
        format!("restore{}", kind.plural_title()),
        Value::Array(records),
    ))
}

/// The documented `/rest/restore/<objects>/<id>` answers 400 in 2.21 (lead-restore.http).
async fn restore_one(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::bad_request(format!(
        "Query path '{}' invalid. Valid examples: /rest/companies/id or /rest/companies or /rest/batch/companies",
        uri.path()
    ))
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::route_not_found(method.as_str(), uri.path())
}

// ---- webhooks --------------------------------------------------------------------------

async fn list_webhooks(State(emulator): State<EmulatorHandle>) -> Response {
    let hooks: Vec<Value> = emulator.webhooks().iter().map(Webhook::to_json).collect();
    respond(200, &Value::Array(hooks), None)
}

async fn create_webhook(State(emulator): State<EmulatorHandle>, body: Bytes) -> ApiResult {
    let webhook = Webhook::from_request(&parse_body(&body)?)?;
    let webhook = emulator.add_webhook(webhook);
    Ok(respond(201, &webhook.to_json(), None))
}

async fn get_webhook(State(emulator): State<EmulatorHandle>, Path(id): Path<String>) -> ApiResult {
    let webhook = emulator
        .webhooks()
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(ApiError::not_found)?;
    Ok(respond(200, &webhook.to_json(), None))
}

async fn delete_webhook(
    State(emulator): State<EmulatorHandle>,
    Path(id): Path<String>,
) -> ApiResult {
    let webhook = emulator
        .remove_webhook(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(respond(200, &webhook.to_json(), None))
}
