//! Things that go wrong on purpose: injected faults and the rate limit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::errors::ApiError;

/// A failure the next API request suffers (queued; each request takes at most one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status instead of handling the request (which then never
    /// happens). A `Retry-After` header is sent only when given: Twenty itself never
    /// sends one, a proxy in front might.
    Status {
        code: u16,
        retry_after_secs: Option<u64>,
    },
    /// Handle the request normally, after this long.
    Slow(Duration),
    /// Handle the request (its effects happen), then answer 200 with half the body.
    TruncatedJson,
    /// Handle the request (its effects happen), then hold the answer this long: the
    /// client times out although Twenty did what it asked.
    LostResponse(Duration),
}

#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queue: VecDeque<Fault>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, fault: Fault, times: usize) {
        self.queue.extend(std::iter::repeat_n(fault, times));
    }

    pub(crate) fn next(&mut self) -> Option<Fault> {
        self.queue.pop_front()
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }
}

/// Twenty's API-key limit: `limit` requests per fixed window that opens with the first
/// request after the previous window closed. Over it: 429, no `Retry-After`.
#[derive(Debug)]
pub struct RateLimiter {
    limit: Option<(u32, Duration)>,
    window_start: Option<Instant>,
    used: u32,
}

/// Twenty's default: 100 requests per 60 s.
pub(crate) const TWENTY_DEFAULT_LIMIT: (u32, Duration) = (100, Duration::from_secs(60));

impl RateLimiter {
    pub fn new(limit: Option<(u32, Duration)>) -> Self {
        Self {
            limit,
            window_start: None,
            used: 0,
        }
    }

    /// Replaces the limit and starts a fresh window.
    pub(crate) fn set(&mut self, limit: Option<(u32, Duration)>) {
        *self = Self::new(limit);
    }

    /// The 429 Twenty would send under the current (or default) limit.
    pub(crate) fn rejection(&self) -> ApiError {
        let (limit, window) = self.limit.unwrap_or(TWENTY_DEFAULT_LIMIT);
        ApiError::rate_limited(limit, window.as_millis())
    }

    /// [`Self::admit`] for servers outside the emulator (the bench's page server): the
    /// refusal as the JSON body Twenty sends with its 429.
    pub fn admit_or_body(&mut self, now: Instant) -> Result<(), String> {
        self.admit(now).map_err(|e| e.body())
    }

    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), ApiError> {
        let Some((limit, window)) = self.limit else {
            return Ok(());
        };
        let expired = self
            .window_start
            .is_none_or(|start| now.duration_since(start) >= window);
        if expired {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used >= limit {
            return Err(self.rejection());
        }
        self.used += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_window_resets() {
        let mut limiter = RateLimiter::new(Some((2, Duration::from_secs(60))));
        let t0 = Instant::now();
        assert!(limiter.admit(t0).is_ok());
        assert!(limiter.admit(t0).is_ok());
        let err = limiter.admit(t0).expect_err("over the limit");
        assert_eq!(err.messages, ["Limit reached (2 tokens per 60000 ms)"]);
        assert!(limiter.admit(t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn faults_are_consumed_in_order() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::TruncatedJson, 1);
        queue.push(Fault::Slow(Duration::from_millis(1)), 2);
        assert_eq!(queue.next(), Some(Fault::TruncatedJson));
        assert_eq!(queue.next(), Some(Fault::Slow(Duration::from_millis(1))));
        queue.clear();
        assert_eq!(queue.next(), None);
    }
}
