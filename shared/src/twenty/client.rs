use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::time::Instant;
use url::Url;

use super::page::{ErrorBody, ListEnvelope, OneEnvelope};
use super::stats::RequestCounters;
use super::{ListQuery, Pacer, Page, RequestStats, RetryPolicy, TwentyError, TwentySettings};
use crate::domain::{LeadId, ObjectName, RemoteRecord};

/// A client for one Twenty workspace and one object (`leads` by default). Build it once
/// per process: it owns a connection pool and counts what it has cost.
#[derive(Debug, Clone)]
pub struct TwentyClient {
    http: reqwest::Client,
    base: Url,
    object: ObjectName,
    page_size: u32,
    request_timeout: Duration,
    retry: RetryPolicy,
    pacer: Arc<Pacer>,
    counters: Arc<RequestCounters>,
}

/// Less time than this before the deadline, and no request is started.
const MIN_REQUEST_TIME: Duration = Duration::from_millis(200);

/// The outcome of one HTTP exchange, before it is judged.
struct Exchange {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// Response bytes, kept as received so that errors can quote them.
    body: Vec<u8>,
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

    fn one(&self, env: OneEnvelope, op: &str) -> Result<RemoteRecord, TwentyError> {
        let (key, value) = env.data.iter().next().ok_or_else(|| TwentyError::Decode {
            operation: op.to_string(),
            path: "data".into(),
            reason: "empty".into(),
        })?;
        self.record_at(value, op, &format!("data.{key}"))
    }

    fn record_at(&self, value: &Value, op: &str, path: &str) -> Result<RemoteRecord, TwentyError> {
        self.owned_record(value.clone(), op, || path.to_string())
    }

    /// A record from a JSON value; the path (for the error) is only built on failure.
    fn owned_record(
        &self,
        value: Value,
        op: &str,
        path: impl Fn() -> String,
    ) -> Result<RemoteRecord, TwentyError> {
        let fields = match value {
            Value::Object(m) => m,
            _ => {
                return Err(TwentyError::Decode {
                    operation: op.to_string(),
                    path: path(),
                    reason: "not an object".into(),
                });
            }
        };
        RemoteRecord::from_fields(fields).map_err(|e| TwentyError::Decode {
            operation: op.to_string(),
            path: path(),
            reason: e.to_string(),
        })
    }

    /// One logical call: retried on 429, 5xx, transport faults and truncated bodies,
    /// until it succeeds, fails for good, runs out of attempts, or would overrun the
    /// caller's deadline.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Map<String, Value>>,
        op: &str,
        deadline: Instant,
    ) -> Result<T, TwentyError> {
        let mut attempt = 0;
        let mut rate_limited_in_a_row = 0;
        loop {
            attempt += 1;
            if let Err(wait) = self.pacer.wait_turn(deadline).await {
                return Err(TwentyError::OutOfTime {
                    operation: op.to_string(),
                    attempts: attempt - 1,
                    last: format!(
                        "pacing under the rate limit needs {} ms more",
                        wait.as_millis()
                    ),
                });
            }
            // A request never outlives the run's deadline: one started near it gets
            // only the time that is left, so the run can still record itself.
            let left = deadline.saturating_duration_since(Instant::now());
            if left < MIN_REQUEST_TIME {
                return Err(TwentyError::OutOfTime {
                    operation: op.to_string(),
                    attempts: attempt - 1,
                    last: "the run's deadline is too close to start a request".into(),
                });
            }
            let timeout = left.min(self.request_timeout);
            let (last, rate_limited, retry_after) = match self
                .send(method.clone(), url.clone(), body, timeout)
                .await
            {
                Ok(ex) if ex.status.is_success() => {
                    let mut de = serde_json::Deserializer::from_slice(&ex.body);
                    match serde_path_to_error::deserialize::<_, T>(&mut de) {
                        Ok(v) => return Ok(v),
                        // A 2xx whose body does not parse was cut short on the way:
                        // asking again is the fix.
                        Err(e) => (
                            format!("unreadable response body at `{}`: {}", e.path(), e.inner()),
                            false,
                            None,
                        ),
                    }
                }
                Ok(ex) => {
                    let message = ErrorBody::summary(&ex.body);
                    match ex.status.as_u16() {
                        401 => {
                            return Err(TwentyError::Unauthorized {
                                operation: op.to_string(),
                                message,
                            });
                        }
                        404 => {
                            return Err(TwentyError::NotFound {
                                operation: op.to_string(),
                            });
                        }
                        429 => (format!("429 {message}"), true, ex.retry_after),
                        s if s >= 500 || s == 408 => {
                            (format!("{s} {message}"), false, ex.retry_after)
                        }
                        s => {
                            return Err(TwentyError::Rejected {
                                operation: op.to_string(),
                                status: s,
                                message,
                            });
                        }
                    }
                }
                Err(e) => (describe_transport_error(&e), false, None),
            };
            if rate_limited {
                rate_limited_in_a_row += 1;
                if rate_limited_in_a_row >= self.retry.max_rate_limited {
                    return Err(TwentyError::RateLimited {
                        operation: op.to_string(),
                        attempts: rate_limited_in_a_row,
                    });
                }
            } else {
                rate_limited_in_a_row = 0;
            }
            if attempt >= self.retry.max_attempts {
                return Err(TwentyError::RetriesExhausted {
                    operation: op.to_string(),
                    attempts: attempt,
                    last,
                });
            }
            let delay = self.retry.delay(attempt, rate_limited, retry_after);
            if Instant::now() + delay >= deadline {
                return Err(TwentyError::OutOfTime {
                    operation: op.to_string(),
                    attempts: attempt,
                    last,
                });
            }
            tracing::warn!(operation = op, attempt, delay_ms = delay.as_millis() as u64, error = %last, "Twenty request failed; retrying");
            self.counters.retry(rate_limited);
            tokio::time::sleep(delay).await;
        }
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Map<String, Value>>,
        timeout: Duration,
    ) -> Result<Exchange, reqwest::Error> {
        let mut req = self.http.request(method, url).timeout(timeout);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await;
        let body = match body {
            Ok(b) => b.to_vec(),
            Err(e) => {
                self.counters.request(0);
                return Err(e);
            }
        };
        self.counters.request(body.len());
        Ok(Exchange {
            status,
            retry_after,
            body,
        })
    }
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "response cut short"
    } else {
        "transport error"
    };
    // reqwest's Display includes the URL, which carries no secret (the key is a header).
    format!("{kind}: {e}")
}
