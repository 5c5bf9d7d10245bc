use lambda_http::http::Method;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ListLeads,
    CreateLead,
    GetLead(String),
    UpdateLead(String),
    DeleteLead(String),
    ListConflicts,
    ResolveConflict(String),
    SyncStatus,
    StartSync,
    Changes,
    /// `GET /objects/{plural}`: a mirrored object's records.
    ListRecords(String),
    /// `GET /objects/{plural}/{id}`: one of them.
    GetRecord(String, String),
    OpenApi,
    MethodNotAllowed,
    NotFound,
}

/// Every route the API answers, as (method, path template). The one list the router
/// matches against, so the OpenAPI document's test can hold it to the document.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/leads"),
    ("POST", "/leads"),
    ("GET", "/leads/{id}"),
    ("PATCH", "/leads/{id}"),
    ("DELETE", "/leads/{id}"),
    ("GET", "/conflicts"),
    ("POST", "/conflicts/{id}/resolve"),
    ("GET", "/sync"),
    ("POST", "/sync"),
    ("GET", "/changes"),
    ("GET", "/objects/{plural}"),
    ("GET", "/objects/{plural}/{id}"),
    ("GET", "/openapi.json"),
];

impl Route {
    /// Paths are matched on their longest tail that is a route, so the same function
    /// works behind API Gateway (`/leads/{id}`) and `cargo lambda watch`
    /// (`/lambda-url/leads-api/leads/{id}`).
    pub fn of(method: &Method, path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut path_matched = false;
        for start in 0..segments.len() {
            let tail = &segments[start..];
            for (m, template) in ROUTES {
                let Some(params) = matches(template, tail) else {
                    continue;
                };
                path_matched = true;
                if method.as_str() == *m {
                    return Self::from_template(m, template, params);
                }
            }
            if path_matched {
                return Self::MethodNotAllowed;
            }
        }
        Self::NotFound
    }

    fn from_template(method: &str, template: &str, mut params: Vec<String>) -> Self {
        let id = params.pop().unwrap_or_default();
        match (method, template) {
            ("GET", "/leads") => Self::ListLeads,
            ("POST", "/leads") => Self::CreateLead,
            ("GET", "/leads/{id}") => Self::GetLead(id),
            ("PATCH", "/leads/{id}") => Self::UpdateLead(id),
            ("DELETE", "/leads/{id}") => Self::DeleteLead(id),
            ("GET", "/conflicts") => Self::ListConflicts,
            ("POST", "/conflicts/{id}/resolve") => Self::ResolveConflict(id),
            ("GET", "/sync") => Self::SyncStatus,
            ("POST", "/sync") => Self::StartSync,
            ("GET", "/changes") => Self::Changes,
            ("GET", "/objects/{plural}") => Self::ListRecords(id),
            ("GET", "/objects/{plural}/{id}") => {
                Self::GetRecord(params.pop().unwrap_or_default(), id)
            }
            ("GET", "/openapi.json") => Self::OpenApi,
            // A row of ROUTES without its arm here: the route tests catch it.
            _ => Self::NotFound,
        }
    }
}

/// `Some(captured segments, in order)` when `segments` fit `template` (a `{name}`
/// part matches any one segment).
fn matches(template: &str, segments: &[&str]) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with('{') && part.ends_with('}') {
            params.push((*segment).to_string());
        } else if part != segment {
            return None;
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_behind_api_gateway_and_cargo_lambda() {
        assert_eq!(Route::of(&Method::GET, "/leads"), Route::ListLeads);
        assert_eq!(
            Route::of(&Method::PATCH, "/leads/abc"),
            Route::UpdateLead("abc".into())
        );
        assert_eq!(
            Route::of(&Method::GET, "/lambda-url/leads-api/leads/abc"),
            Route::GetLead("abc".into())
        );
        assert_eq!(Route::of(&Method::GET, "/conflicts"), Route::ListConflicts);
        assert_eq!(Route::of(&Method::POST, "/sync"), Route::StartSync);
        assert_eq!(
            Route::of(&Method::GET, "/lambda-url/leads-api/changes"),
            Route::Changes
        );
        assert_eq!(
            Route::of(&Method::GET, "/leads/sync"),
            Route::GetLead("sync".into())
        );
        assert_eq!(
            Route::of(&Method::PUT, "/leads/abc"),
            Route::MethodNotAllowed
        );
        assert_eq!(Route::of(&Method::DELETE, "/sync"), Route::MethodNotAllowed);
        assert_eq!(Route::of(&Method::GET, "/people"), Route::NotFound);
        assert_eq!(
            Route::of(&Method::GET, "/lambda-url/leads-api/objects/people"),
            Route::ListRecords("people".into())
        );
        assert_eq!(
            Route::of(&Method::GET, "/objects/people/abc"),
            Route::GetRecord("people".into(), "abc".into())
        );
        // The longest tail wins: this is not `GET /leads/{id}`.
        assert_eq!(
            Route::of(&Method::GET, "/objects/leads/abc"),
            Route::GetRecord("leads".into(), "abc".into())
        );
        assert_eq!(
            Route::of(&Method::POST, "/objects/people"),
            Route::MethodNotAllowed
        );
        assert_eq!(
            Route::of(&Method::DELETE, "/objects/people/abc"),
            Route::MethodNotAllowed
        );
        assert_eq!(Route::of(&Method::GET, "/objects"), Route::NotFound);
        assert_eq!(Route::of(&Method::GET, "/leads/a/b"), Route::NotFound);
    }

    #[test]
    fn every_listed_route_has_its_handler() {
        for (method, template) in ROUTES {
            let path = template.replace("{id}", "x").replace("{plural}", "people");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let route = Route::of(&method, &path);
            assert!(
                !matches!(route, Route::NotFound | Route::MethodNotAllowed),
                "{method} {template}"
            );
        }
    }
}
