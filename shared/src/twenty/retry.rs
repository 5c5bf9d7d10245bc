use std::time::Duration;

use rand::Rng;

/// When and how long to wait before trying a request again.
///
/// Only 429, 5xx and transport faults are retried. Twenty's 429 carries no
/// `Retry-After` and its window is a minute long, so rate-limit waits start higher
/// than fault waits; a `Retry-After`, if a proxy sends one, is honoured as a floor.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// 429s in a row after which a call gives up (`TwentyError::RateLimited`): the
    /// limit is then spent for the minute, and the run checkpoints instead of waiting.
    pub max_rate_limited: u32,
    pub base_delay: Duration,
    pub rate_limit_base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_rate_limited: 3,
            base_delay: Duration::from_millis(500),
            rate_limit_base_delay: Duration::from_secs(4),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy for tests and local runs: same shape, milliseconds instead of seconds.
    pub fn fast() -> Self {
        Self {
            max_attempts: 6,
            max_rate_limited: 3,
            base_delay: Duration::from_millis(5),
            rate_limit_base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        }
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), with jitter in
    /// [50%, 100%] of the exponential step so that clients do not retry in lockstep.
    pub fn delay(
        &self,
        attempt: u32,
        rate_limited: bool,
        retry_after: Option<Duration>,
    ) -> Duration {
        let base = if rate_limited {
            self.rate_limit_base_delay
        } else {
            self.base_delay
        };
        let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let jitter = rand::rng().random_range(0.5..=1.0);
        let delay = capped.mul_f64(jitter);
        match retry_after {
            Some(floor) => delay.max(floor),
            None => delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_the_cap() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            let d = p.delay(attempt, false, None);
            let step = p.base_delay * (1 << (attempt - 1));
            assert!(d <= step.min(p.max_delay), "attempt {attempt}: {d:?}");
            assert!(d >= step.min(p.max_delay) / 2, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn rate_limits_wait_longer_and_retry_after_is_a_floor() {
        let p = RetryPolicy::default();
        assert!(p.delay(1, true, None) >= Duration::from_secs(2));
        assert!(p.delay(1, false, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
    }
}
