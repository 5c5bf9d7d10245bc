//! `GET /objects/{plural}` and `GET /objects/{plural}/{id}`: the records of the other
//! mirrored objects (`TWENTY_OBJECTS`: notes, people, companies, custom objects),
//! read-only, each as Twenty sent it. Leads have their own routes (`/leads`); note
//! links are stored under their leads and are not served on their own.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use spartan_sync::LeadId;
use spartan_sync::domain::{MirrorRole, Mirrored};

use crate::LeadsApi;
use crate::handler::{ApiError, ListParams, bad_request, page_error};

/// A page of `plural`'s records, in the order the mirror last changed them (as
/// `GET /leads`), with the same parameters but `status`.
pub(crate) async fn list(
    api: &LeadsApi,
    request: &Request,
    plural: &str,
) -> Result<Value, ApiError> {
    let object = served(api, plural)?;
    let page = ListParams::of(request)?;
    let (records, next) = api
        .store
        .mirrored_records(
            &object.kind(),
            page.since,
            page.include_deleted,
            page.cursor.as_deref(),
            page.limit,
        )
        .await
        .map_err(page_error)?;
    Ok(json!({"data": records, "nextCursor": next}))
}

/// One of `plural`'s records; 404 when it is not in the mirror or was destroyed.
pub(crate) async fn get(api: &LeadsApi, plural: &str, id: &str) -> Result<Value, ApiError> {
    let object = served(api, plural)?;
    let id = LeadId::parse(id).map_err(|e| bad_request(format!("id must be a UUID: {e}")))?;
    let record = api.store.mirrored_record(&object.kind(), &id).await?;
    record.map(Value::Object).ok_or_else(|| {
        ApiError::Status(
            StatusCode::NOT_FOUND,
            format!(
                "no {} with id {id} in the mirror (never synced, or destroyed in Twenty)",
                object.name.singular()
            ),
        )
    })
}

/// The mirrored object `plural` names, if these routes serve it; else a 404 that says
/// what is mirrored and where leads are.
fn served<'a>(api: &'a LeadsApi, plural: &str) -> Result<&'a Mirrored, ApiError> {
    let objects = &api.objects;
    let object = objects.by_plural(plural);
    let plural: String = plural.chars().take(64).collect();
    if let Some(o) = object.filter(|o| o.role == MirrorRole::Records) {
        return Ok(o);
    }
    let here: Vec<&str> = objects
        .all()
        .iter()
        .filter(|o| o.role == MirrorRole::Records)
        .map(|o| o.name.plural())
        .collect();
    let here = if here.is_empty() {
        "none".to_string()
    } else {
        here.join(", ")
    };
    let why = match object.map(|o| o.role) {
        Some(MirrorRole::Leads) => format!("'{plural}' is the lead object: GET /leads serves it"),
        Some(_) => format!("'{plural}' are links of notes to leads, not served on their own"),
        None => format!("'{plural}' is not a mirrored object"),
    };
    Err(ApiError::Status(
        StatusCode::NOT_FOUND,
        format!(
            "{why}. GET /objects/{{plural}} serves: {here} (TWENTY_OBJECTS: {}; leads are at /leads)",
            objects.plurals().join(",")
        ),
    ))
}
