use lambda_http::http::{HeaderMap, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use spartan_sync::domain::MirrorSet;
use spartan_sync::invoke::SyncInvoker;
use spartan_sync::store::{ConflictStatus, StoreError, StoredLead};
use spartan_sync::sync::{LocalEditError, local};
use spartan_sync::{DynamoLeadStore, LeadId, Timestamp};

use crate::route::Route;
use crate::{body, feed, objects, resolve, sync};

/// The OpenAPI 3.1 document of this API, served as is at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Built once at cold start, borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct LeadsApi {
    pub store: DynamoLeadStore,
    /// Starts delta-sync runs for `POST /sync`.
    pub invoker: SyncInvoker,
    /// Every object mirrored (`TWENTY_OBJECTS`): `GET /objects/{plural}` serves those
    /// stored as records.
    pub objects: MirrorSet,
}

const MAX_BODY: usize = 256 * 1024;

/// Routes one request. Never panics; 5xx only when DynamoDB fails (the log has the
/// detail, the body does not).
pub async fn handle(
    api: &LeadsApi,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let route = Route::of(request.method(), request.uri().path());
    // On the heap: the routes' futures together are large (GET /sync reads a state item
    // per mirrored object), and a runtime worker's stack is 2 MiB.
    let response = match Box::pin(respond(api, &request, route)).await {
        Ok(r) => r,
        Err(ApiError::Status(status, message)) => error(status, &message),
        Err(ApiError::Store(e)) => {
            tracing::error!(error = %e, "leads API: store failure");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    };
    Ok(response)
}

pub(crate) enum ApiError {
    Status(StatusCode, String),
    Store(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<LocalEditError> for ApiError {
    fn from(e: LocalEditError) -> Self {
        match e {
            LocalEditError::NotFound => Self::Status(StatusCode::NOT_FOUND, "no such lead".into()),
            LocalEditError::VersionMismatch { current } => Self::Status(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "the lead changed since you read it (it is at version {current}); read it again"
                ),
            ),
            e @ (LocalEditError::Exists | LocalEditError::Busy) => {
                Self::Status(StatusCode::CONFLICT, e.to_string())
            }
            LocalEditError::Store(s) => Self::Store(s),
        }
    }
}

/// What every list route takes: `updatedSince`, `limit`, `includeDeleted`, `cursor`.
pub(crate) struct ListParams {
    pub since: Option<Timestamp>,
    pub limit: usize,
    pub include_deleted: bool,
    pub cursor: Option<String>,
}

impl ListParams {
    pub(crate) fn of(request: &Request) -> Result<Self, ApiError> {
        let params = request.query_string_parameters();
        let since = match params.first("updatedSince") {
            Some(s) => {
                Some(Timestamp::parse(s).map_err(|e| bad_request(format!("updatedSince: {e}")))?)
            }
            None => None,
        };
        Ok(Self {
            since,
            limit: page_limit(params.first("limit"))?,
            include_deleted: params.first("includeDeleted") == Some("true"),
            cursor: params.first("cursor").map(str::to_string),
        })
    }
}

/// A list's store failure: a cursor that does not decode (or is another list's) is
/// the caller's mistake.
pub(crate) fn page_error(e: StoreError) -> ApiError {
    match e {
        e @ StoreError::BadCursor => bad_request(e.to_string()),
        other => ApiError::Store(other),
    }
}

/// A page's `limit` query parameter: 1 to 500, 100 when absent.
pub(crate) fn page_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| bad_request("limit must be a number from 1 to 500")),
        None => Ok(100),
    }
}

pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::Status(StatusCode::BAD_REQUEST, message.into())
}

async fn respond(
    api: &LeadsApi,
    request: &Request,
    route: Route,
) -> Result<Response<Body>, ApiError> {
    let store = &api.store;
    match route {
        Route::ListLeads => {
            let page = ListParams::of(request)?;
            let status = request
                .query_string_parameters()
                .first("status")
                .map(str::to_string);
            let (leads, next) = store
                .list_leads(
                    page.since,
                    status.as_deref(),
                    page.include_deleted,
                    page.cursor.as_deref(),
                    page.limit,
                )
                .await
                .map_err(page_error)?;
            let data: Vec<Value> = leads.iter().map(lead_json).collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({"data": data, "nextCursor": next}),
                None,
            ))
        }
        Route::GetLead(id) => {
            let id = lead_id(&id)?;
            let lead = store
                .get_lead(&id)
                .await?
                .filter(|l| l.local.pending != Some(spartan_sync::store::PendingKind::Delete));
            let lead =
                lead.ok_or_else(|| ApiError::Status(StatusCode::NOT_FOUND, "no such lead".into()))?;
            Ok(json_response(
                StatusCode::OK,
                &lead_json(&lead),
                Some(lead.etag()),
            ))
        }
        Route::CreateLead => {
            let fields = body::fields(body_bytes(request)?, false).map_err(bad_request)?;
            let id = spartan_sync::LeadId::new_random();
            let lead = local::create(store, &id, fields).await?;
            tracing::info!(lead = %lead.id, "lead created locally; it is pushed to Twenty by the next sync");
            Ok(json_response(
                StatusCode::CREATED,
                &lead_json(&lead),
                Some(lead.etag()),
            ))
        }
        Route::UpdateLead(id) => {
            let id = lead_id(&id)?;
            let patch = body::fields(body_bytes(request)?, false).map_err(bad_request)?;
            let if_match = if_match(request.headers())?;
            let lead = local::update(store, &id, &patch, if_match.as_deref()).await?;
            Ok(json_response(
                StatusCode::OK,
                &lead_json(&lead),
                Some(lead.etag()),
            ))
        }
        Route::DeleteLead(id) => {
            let id = lead_id(&id)?;
            local::delete(store, &id, if_match(request.headers())?.as_deref()).await?;
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            Ok(response)
        }
        Route::ListConflicts => {
            let status = match request.query_string_parameters().first("status") {
                None => None,
                Some("open") => Some(ConflictStatus::Open),
                Some("settled") => Some(ConflictStatus::Settled),
                Some(_) => return Err(bad_request("status must be open or settled")),
            };
            let conflicts = store.conflicts(200, status).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"data": conflicts}),
                None,
            ))
        }
        Route::ResolveConflict(id) => {
            let choice = resolve::choice(body_bytes(request)?)?;
            let settled = spartan_sync::sync::resolve::resolve(
                store,
                &id,
                &choice,
                &resolve::caller(request),
            )
            .await?;
            Ok(json_response(StatusCode::OK, &json!(settled), None))
        }
        Route::SyncStatus => Ok(json_response(
            StatusCode::OK,
            &sync::status(api).await?,
            None,
        )),
        Route::StartSync => {
            let mode = sync::requested_mode(body_bytes(request)?)?;
            let mut response =
                json_response(StatusCode::ACCEPTED, &sync::start(api, mode).await?, None);
            response
                .headers_mut()
                .insert(header::LOCATION, header::HeaderValue::from_static("/sync"));
            Ok(response)
        }
        Route::Changes => Ok(json_response(
            StatusCode::OK,
            &feed::changes(api, request).await?,
            None,
        )),
        Route::ListRecords(plural) => Ok(json_response(
            StatusCode::OK,
            &objects::list(api, request, &plural).await?,
            None,
        )),
        Route::GetRecord(plural, id) => Ok(json_response(
            StatusCode::OK,
            &objects::get(api, &plural, &id).await?,
            None,
        )),
        Route::OpenApi => {
            let mut response = Response::new(Body::Text(OPENAPI.to_string()));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        Route::MethodNotAllowed => Err(ApiError::Status(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path".into(),
        )),
        Route::NotFound => Err(ApiError::Status(
            StatusCode::NOT_FOUND,
            "no such route: GET /openapi.json lists them".into(),
        )),
    }
}

fn body_bytes(request: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY {
        return Err(ApiError::Status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY} bytes"),
        ));
    }
    Ok(bytes)
}

fn lead_id(raw: &str) -> Result<LeadId, ApiError> {
    LeadId::parse(raw).map_err(|_| ApiError::Status(StatusCode::NOT_FOUND, "no such lead".into()))
}

/// `If-Match: "<etag>"` (quotes and `W/` optional): the version the edit is based on.
fn if_match(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Err(bad_request(
            "If-Match must be the lead's ETag, as GET returned it",
        ));
    }
    Ok(Some(text.to_string()))
}

/// The lead in Twenty's own field shapes, with our sync state under `_sync`.
pub(crate) fn lead_json(lead: &StoredLead) -> Value {
    let mut fields = lead.fields.clone();
    fields.insert(
        "_sync".into(),
        json!({
            "version": lead.local.version,
            "etag": lead.etag(),
            "pending": lead.local.pending,
            "pushError": lead.local.push_error,
            "rejected": lead.local.rejected,
            "remoteUpdatedAt": if lead.local.pending == Some(spartan_sync::store::PendingKind::Create) { None } else { Some(lead.remote_updated_at) },
        }),
    );
    Value::Object(fields)
}

fn json_response(status: StatusCode, body: &Value, etag: Option<String>) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    if let Some(v) = etag
        && let Ok(value) = header::HeaderValue::from_str(&format!("\"{v}\""))
    {
        headers.insert(header::ETAG, value);
    }
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({"error": message}), None)
}
