use lambda_http::http::Method;

/// What a request asks for. Paths are matched on their last segments so the same
/// function works behind API Gateway (`/leads/{id}`) and `cargo lambda watch`
/// (`/lambda-url/leads-api/leads/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    ListLeads,
    CreateLead,
    GetLead(String),
    UpdateLead(String),
    DeleteLead(String),
    ListConflicts,
    MethodNotAllowed,
    NotFound,
}

impl Route {
    pub fn of(method: &Method, path: &str) -> Self {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let tail = match segments
            .iter()
            .rposition(|s| *s == "leads" || *s == "conflicts")
        {
            Some(i) => &segments[i..],
            None => return Self::NotFound,
        };
        match (tail, method) {
            (["leads"], &Method::GET) => Self::ListLeads,
            (["leads"], &Method::POST) => Self::CreateLead,
            (["leads", id], &Method::GET) => Self::GetLead((*id).to_string()),
            (["leads", id], &Method::PATCH) => Self::UpdateLead((*id).to_string()),
            (["leads", id], &Method::DELETE) => Self::DeleteLead((*id).to_string()),
            (["conflicts"], &Method::GET) => Self::ListConflicts,
            (["leads"] | ["leads", _] | ["conflicts"], _) => Self::MethodNotAllowed,
            _ => Self::NotFound,
        }
    }
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
        assert_eq!(
            Route::of(&Method::PUT, "/leads/abc"),
            Route::MethodNotAllowed
        );
        assert_eq!(Route::of(&Method::GET, "/people"), Route::NotFound);
        assert_eq!(Route::of(&Method::GET, "/leads/a/b"), Route::NotFound);
    }
}
