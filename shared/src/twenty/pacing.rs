use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Keeps the client under Twenty's rate limit (100 requests per 60 s per workspace by
/// default) instead of finding it with a 429: at most `limit` requests start in any
/// window. Twenty's 429 carries no Retry-After, so hitting it costs a blind wait.
#[derive(Debug)]
pub struct Pacer {
    limit: usize,
    window: Duration,
    /// Start times of the last `limit` requests (some may be reservations in the future).
    starts: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    /// `limit` 0 turns pacing off.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            starts: Mutex::new(VecDeque::with_capacity(limit as usize)),
        }
    }

    /// Waits for a turn. Returns how long it would have to wait instead, when that would
    /// pass `deadline` (the turn is then not taken).
    pub async fn wait_turn(&self, deadline: Instant) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let at = {
            let mut starts = match self.starts.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            let at = if starts.len() < self.limit {
                now
            } else {
                let oldest = starts.front().copied().unwrap_or(now);
                (oldest + self.window).max(now)
            };
            if at > deadline {
                return Err(at - now);
            }
            if starts.len() >= self.limit {
                starts.pop_front();
            }
            starts.push_back(at);
            at
        };
        if at > now {
            tokio::time::sleep_until(at).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_a_window() {
        let pacer = Pacer::new(3, Duration::from_secs(60));
        let far = Instant::now() + Duration::from_secs(3600);
        let t0 = Instant::now();
        for _ in 0..3 {
            pacer.wait_turn(far).await.unwrap();
        }
        assert_eq!(Instant::now(), t0, "the first three go at once");
        pacer.wait_turn(far).await.unwrap();
        assert_eq!(
            Instant::now() - t0,
            Duration::from_secs(60),
            "the fourth waits for the window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_a_wait_past_the_deadline() {
        let pacer = Pacer::new(1, Duration::from_secs(60));
        let soon = Instant::now() + Duration::from_secs(10);
        pacer.wait_turn(soon).await.unwrap();
        let wait = pacer.wait_turn(soon).await.unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_unpaced() {
        let pacer = Pacer::new(0, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..1000 {
            pacer.wait_turn(t0).await.unwrap();
        }
        assert_eq!(Instant::now(), t0);
    }
}
