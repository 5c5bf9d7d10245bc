use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use tokio::time::Instant;
use url::Url;

use super::page::{ListEnvelope, OneEnvelope};
use super::stats::RequestCounters;
use super::{ListQuery, Pacer, Page, RequestStats, RetryPolicy, TwentyError, TwentySettings};
use crate::domain::{LeadId, ObjectName, RemoteRecord};

/// A client for one Twenty workspace and one object (`leads` by default). Build it once
/// per process: it owns a connection pool and counts what it has cost.
#[derive(Debug, Clone)]
pub struct TwentyClient {
    pub(super) http: reqwest::Client,
    base: Url,
    object: ObjectName,
    page_size: u32,
    pub(super) request_timeout: Duration,
    pub(super) retry: RetryPolicy,
    pub(super) pacer: Arc<Pacer>,
    pub(super) counters: Arc<RequestCounters>,
}

impl TwentyClient {
    pub fn new(settings: &TwentySettings) -> Result<Self, TwentyError> {
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", settings.api_key.expose_secret()))
                .map_err(|_| {
                    TwentyError::Client("the API key has characters a header cannot hold".into())
                })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("spartan-sync/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.request_timeout)
            .connect_timeout(Duration::from_secs(5))
            // Twenty keeps idle connections 65 s; close ours first so a reused one is
            // never cut mid-request.
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| TwentyError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base: settings.api_url.clone(),
            object: settings.object.clone(),
            page_size: settings.page_size,
            request_timeout: settings.request_timeout,
            retry: RetryPolicy::default(),
            pacer: Arc::new(Pacer::new(
                settings.rate_limit_per_minute,
                Duration::from_secs(60),
            )),
            counters: Arc::default(),
        })
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the pacing (tests use short windows).
    pub fn with_pacer(mut self, pacer: Pacer) -> Self {
        self.pacer = Arc::new(pacer);
        self
    }

    /// A client for another object of the same workspace: the same connections, request
    /// counters and pacer, so every object's requests share one rate budget.
    pub fn for_object(&self, object: ObjectName) -> Self {
        Self {
            object,
            ..self.clone()
        }
    }

    pub fn object(&self) -> &ObjectName {
        &self.object
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Requests and bytes so far; subtract two snapshots for one run's cost.
    pub fn stats(&self) -> RequestStats {
        self.counters.snapshot()
    }

    /// `GET /rest/<objects>?filter=&order_by=&limit=&starting_after=`
    pub async fn list(&self, query: &ListQuery, deadline: Instant) -> Result<Page, TwentyError> {
        let mut url = self.url(&[self.object.plural()])?;
        url.query_pairs_mut().extend_pairs(query.pairs());
        let op = format!("GET {}", self.object.plural());
        let mut envelope: ListEnvelope = self.call(Method::GET, url, None, &op, deadline).await?;
        // Rows are moved out of the envelope, not cloned: a page is parsed once.
        let rows = match envelope.data.remove(self.object.plural()) {
            Some(Value::Array(rows)) => rows,
            _ => {
                return Err(TwentyError::Decode {
                    operation: op,
                    path: format!("data.{}", self.object.plural()),
                    reason: "missing or not an array".into(),
                });
            }
        };
        let mut records = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            records.push(
                self.owned_record(row, &op, || format!("data.{}[{i}]", self.object.plural()))?,
            );
        }
        let page_info = envelope.page_info;
        Ok(Page {
            records,
            total_count: envelope.total_count,
            end_cursor: page_info.as_ref().and_then(|p| p.end_cursor.clone()),
            has_next_page: page_info.is_some_and(|p| p.has_next_page),
        })
    }

    /// `GET /rest/<objects>/<id>`; `None` when Twenty says 404 (absent or soft-deleted).
    pub async fn get(
        &self,
        id: &LeadId,
        deadline: Instant,
    ) -> Result<Option<RemoteRecord>, TwentyError> {
        let url = self.record_url(&[self.object.plural(), id.as_str()])?;
        let op = format!("GET {}/{id}", self.object.plural());
        match self
            .call::<OneEnvelope>(Method::GET, url, None, &op, deadline)
            .await
        {
            Ok(env) => self.one(env, &op).map(Some),
            Err(TwentyError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /rest/<objects>`; pass an `id` in `fields` to make a retried create safe.
    pub async fn create(
        &self,
        fields: &Map<String, Value>,
        deadline: Instant,
    ) -> Result<RemoteRecord, TwentyError> {
        let url = self.record_url(&[self.object.plural()])?;
        let op = format!("POST {}", self.object.plural());
        let env = self
            .call(Method::POST, url, Some(fields), &op, deadline)
            .await?;
        self.one(env, &op)
    }

    /// `PATCH /rest/<objects>/<id>` with only the fields to change.
    pub async fn update(
        &self,
        id: &LeadId,
        fields: &Map<String, Value>,
        deadline: Instant,
    ) -> Result<RemoteRecord, TwentyError> {
        let url = self.record_url(&[self.object.plural(), id.as_str()])?;
        let op = format!("PATCH {}/{id}", self.object.plural());
        let env = self
            .call(Method::PATCH, url, Some(fields), &op, deadline)
            .await?;
        self.one(env, &op)
    }

    /// `DELETE /rest/<objects>/<id>`: soft (sets `deletedAt`; returns the record) or
    /// hard (row gone; returns `None`). Twenty's default, with no parameter, is hard.
    pub async fn delete(
        &self,
        id: &LeadId,
        soft: bool,
        deadline: Instant,
    ) -> Result<Option<RemoteRecord>, TwentyError> {
        let mut url = self.url(&[self.object.plural(), id.as_str()])?;
        if soft {
            url.query_pairs_mut().append_pair("soft_delete", "true");
        }
        let op = format!("DELETE {}/{id}", self.object.plural());
        let env: OneEnvelope = self.call(Method::DELETE, url, None, &op, deadline).await?;
        if soft {
            self.one(env, &op).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A URL for one record with `depth=0`: the record alone, without inlined
    /// relations, in the same shape the delta's list pages have.
    fn record_url(&self, segments: &[&str]) -> Result<Url, TwentyError> {
        let mut url = self.url(segments)?;
        url.query_pairs_mut().append_pair("depth", "0");
        Ok(url)
    }

    fn url(&self, segments: &[&str]) -> Result<Url, TwentyError> {
        let mut url = self
            .base
            .join("rest/")
            .map_err(|e| TwentyError::Url(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|_| TwentyError::Url(format!("{} cannot be a base URL", self.base)))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}
