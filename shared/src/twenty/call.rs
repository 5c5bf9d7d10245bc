//! One logical request to Twenty: paced under the rate limit, capped by the caller's
//! deadline, retried on 429, 5xx, transport faults and truncated bodies, and each
//! answer mapped to a [`TwentyError`] that says what the caller should do.

use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::time::Instant;
use url::Url;

use super::page::ErrorBody;
use super::{TwentyClient, TwentyError};

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
    /// One logical call: retried on 429, 5xx, transport faults and truncated bodies,
    /// until it succeeds, fails for good, runs out of attempts, or would overrun the
    /// caller's deadline.
    pub(super) async fn call<T: DeserializeOwned>(
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
