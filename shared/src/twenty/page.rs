use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::RemoteRecord;

/// One page of a list: the records, and what is needed to ask for the next.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<RemoteRecord>,
    /// Records matching the filter, ignoring the cursor.
    pub total_count: Option<u64>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

/// `{"data":{"leads":[...]},"totalCount":N,"pageInfo":{...}}`
#[derive(Debug, Deserialize)]
pub(crate) struct ListEnvelope {
    pub data: Map<String, Value>,
    #[serde(rename = "totalCount")]
    pub total_count: Option<u64>,
    #[serde(rename = "pageInfo")]
    pub page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageInfo {
    #[serde(rename = "endCursor")]
    pub end_cursor: Option<String>,
    #[serde(rename = "hasNextPage", default)]
    pub has_next_page: bool,
}

/// `{"data":{"createLead":{...}}}` and friends: one record under one key.
#[derive(Debug, Deserialize)]
pub(crate) struct OneEnvelope {
    pub data: Map<String, Value>,
}

/// `{"statusCode":400,"error":"BadRequestException","messages":["..."]}`; body-parser
/// errors say `message` instead.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub messages: Vec<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl ErrorBody {
    pub fn summary(body: &[u8]) -> String {
        let text = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) if !e.messages.is_empty() => e.messages.join("; "),
            Ok(ErrorBody {
                message: Some(m), ..
            }) => m,
            _ => String::from_utf8_lossy(body).into_owned(),
        };
        crate::pii::scrub(&text.chars().take(300).collect::<String>())
    }
}
