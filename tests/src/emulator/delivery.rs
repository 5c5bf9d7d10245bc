//! Sending webhook deliveries, and the switches tests use to make delivery unreliable.
//!
//! Like Twenty: one attempt per event, 5 s timeout, failures only logged. Deliveries
//! leave from one background task, in the order the changes happened (unless the
//! switches say otherwise), so an API response never waits for a webhook.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::Rng as _;
use rand::seq::SliceRandom as _;
use tokio::sync::{mpsc, watch};

use super::clock::now_ms;
use super::webhooks::{nonce, sign_payload};

/// How long Twenty waits for a webhook target.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// One event for one webhook, body already serialised (the signature covers these bytes).
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub event_name: String,
    pub target_url: String,
    pub secret: String,
    pub body: String,
    delay: Duration,
}

impl Delivery {
    pub(crate) fn new(
        event_name: String,
        target_url: String,
        secret: String,
        body: String,
    ) -> Self {
        Self {
            event_name,
            target_url,
            secret,
            body,
            delay: Duration::ZERO,
        }
    }
}

/// One POST the emulator made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub event_name: String,
    pub target_url: String,
    pub body: String,
    /// The target's status; `None` when the request failed or timed out.
    pub status: Option<u16>,
}

/// In what order [`WebhookSwitches::release_held`] sends what was held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseOrder {
    AsQueued,
    Reverse,
    Shuffled,
}

#[derive(Debug, Default)]
struct Switches {
    drop_next: usize,
    drop_probability: f64,
    duplicate: bool,
    delay: Duration,
    holding: bool,
    held: Vec<Delivery>,
    dropped: usize,
}

/// Controls over webhook delivery, for tests. All switches start off.
#[derive(Debug)]
pub struct WebhookSwitches {
    switches: Mutex<Switches>,
    queue: mpsc::UnboundedSender<Delivery>,
    /// Deliveries queued or being sent (held ones are not in flight).
    in_flight: watch::Sender<usize>,
    sent: AtomicUsize,
    attempts: Mutex<Vec<DeliveryAttempt>>,
}

impl WebhookSwitches {
    pub(crate) fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Delivery>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let switches = Self {
            switches: Mutex::default(),
            queue,
            in_flight: watch::Sender::new(0),
            sent: AtomicUsize::new(0),
            attempts: Mutex::default(),
        };
        (Arc::new(switches), receiver)
    }

    fn switches(&self) -> std::sync::MutexGuard<'_, Switches> {
        self.switches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Silently lose the next `n` deliveries (added to any already pending).
    pub fn drop_next(&self, n: usize) {
        self.switches().drop_next += n;
    }

    /// Lose each delivery with probability `p` (0.0 ..= 1.0).
    pub fn set_drop_probability(&self, p: f64) {
        self.switches().drop_probability = p.clamp(0.0, 1.0);
    }

    /// Send every delivery twice: same body, fresh timestamp, nonce and signature, as a
    /// re-send would be.
    pub fn set_duplicate(&self, on: bool) {
        self.switches().duplicate = on;
    }

    /// Wait this long before each send.
    pub fn set_delay(&self, delay: Duration) {
        self.switches().delay = delay;
    }

    /// Hold deliveries back until [`release_held`](Self::release_held).
    pub fn hold(&self) {
        self.switches().holding = true;
    }

    /// Stops holding and sends what was held, in `order`. Returns how many.
    pub fn release_held(&self, order: ReleaseOrder) -> usize {
        let (mut held, duplicate) = {
            let mut s = self.switches();
            s.holding = false;
            (std::mem::take(&mut s.held), s.duplicate)
        };
        match order {
            ReleaseOrder::AsQueued => {}
            ReleaseOrder::Reverse => held.reverse(),
            ReleaseOrder::Shuffled => held.shuffle(&mut rand::rng()),
        }
        let count = held.len();
        for delivery in held {
            self.send(delivery, duplicate);
        }
        count
    }

    pub fn held_count(&self) -> usize {
        self.switches().held.len()
    }

    /// Deliveries lost to `drop_next` / `set_drop_probability`.
    pub fn dropped_count(&self) -> usize {
        self.switches().dropped
    }

    /// Every switch off; anything held is sent, in order.
    pub fn reset(&self) {
        self.release_held(ReleaseOrder::AsQueued);
        let mut s = self.switches();
        let dropped = s.dropped;
        *s = Switches {
            dropped,
            ..Switches::default()
        };
    }

    /// Every POST made so far, in the order they finished.
    pub fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// POSTs made so far (duplicates count twice; dropped and held ones not at all).
    pub fn sent_count(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    /// Resolves once nothing is queued or being sent. Held deliveries do not count.
    pub async fn wait_idle(&self) {
        let mut watcher = self.in_flight.subscribe();
        // Only fails if the sender is gone, which cannot happen while `self` lives.
        let _ = watcher.wait_for(|n| *n == 0).await;
    }

    /// Applies the switches to a new delivery.
    pub(crate) fn enqueue(&self, mut delivery: Delivery) {
        let duplicate = {
            let mut s = self.switches();
            if s.drop_next > 0 {
                s.drop_next -= 1;
                s.dropped += 1;
                tracing::info!(event = %delivery.event_name, "webhook delivery dropped (switch)");
                return;
            }
            if s.drop_probability > 0.0 && rand::rng().random_bool(s.drop_probability) {
                s.dropped += 1;
                tracing::info!(event = %delivery.event_name, "webhook delivery dropped (probability)");
                return;
            }
            delivery.delay = s.delay;
            if s.holding {
                s.held.push(delivery);
                return;
            }
            s.duplicate
        };
        self.send(delivery, duplicate);
    }

    fn send(&self, delivery: Delivery, duplicate: bool) {
        let copies = if duplicate { 2 } else { 1 };
        for _ in 0..copies {
            self.in_flight.send_modify(|n| *n += 1);
            if self.queue.send(delivery.clone()).is_err() {
                // The sender task is gone (emulator shut down): nothing will be sent.
                self.in_flight.send_modify(|n| *n = n.saturating_sub(1));
            }
        }
    }

    fn finished(&self, attempt: DeliveryAttempt) {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(attempt);
        self.in_flight.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The background sender: one delivery at a time, in queue order.
pub(crate) async fn run(
    switches: Arc<WebhookSwitches>,
    mut queue: mpsc::UnboundedReceiver<Delivery>,
    client: reqwest::Client,
) {
    while let Some(delivery) = queue.recv().await {
        if !delivery.delay.is_zero() {
            tokio::time::sleep(delivery.delay).await;
        }
        let status = post(&client, &delivery).await;
        switches.finished(DeliveryAttempt {
            event_name: delivery.event_name,
            target_url: delivery.target_url,
            body: delivery.body,
            status,
        });
    }
}

async fn post(client: &reqwest::Client, delivery: &Delivery) -> Option<u16> {
    let mut request = client
        .post(&delivery.target_url)
        .timeout(DELIVERY_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(delivery.body.clone());
    // Twenty signs only when the webhook has a secret.
    if !delivery.secret.is_empty() {
        let timestamp = now_ms().to_string();
        let signature = sign_payload(&delivery.secret, &timestamp, &delivery.body);
        request = request
            .header("X-Twenty-Webhook-Timestamp", timestamp)
            .header("X-Twenty-Webhook-Signature", signature)
            .header("X-Twenty-Webhook-Nonce", nonce());
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            if !status.is_success() {
                tracing::warn!(event = %delivery.event_name, target = %delivery.target_url, %status, "webhook delivery refused (not retried)");
            }
            Some(status.as_u16())
        }
        Err(error) => {
            tracing::warn!(event = %delivery.event_name, target = %delivery.target_url, %error, "webhook delivery failed (not retried)");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(name: &str) -> Delivery {
        Delivery::new(
            name.into(),
            "http://127.0.0.1:9/".into(),
            String::new(),
            "{}".into(),
        )
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<Delivery>) -> Vec<String> {
        let mut names = Vec::new();
        while let Ok(d) = rx.try_recv() {
            names.push(d.event_name);
        }
        names
    }

    #[test]
    fn switches_drop_duplicate_and_reorder() {
        let (switches, mut rx) = WebhookSwitches::new();
        switches.drop_next(1);
        switches.enqueue(delivery("a"));
        switches.enqueue(delivery("b"));
        assert_eq!(drain(&mut rx), ["b"]);
        assert_eq!(switches.dropped_count(), 1);

        switches.set_duplicate(true);
        switches.enqueue(delivery("c"));
        assert_eq!(drain(&mut rx), ["c", "c"]);
        switches.set_duplicate(false);

        switches.hold();
        for name in ["d", "e", "f"] {
            switches.enqueue(delivery(name));
        }
        assert!(drain(&mut rx).is_empty());
        assert_eq!(switches.held_count(), 3);
        assert_eq!(switches.release_held(ReleaseOrder::Reverse), 3);
        assert_eq!(drain(&mut rx), ["f", "e", "d"]);

        switches.set_drop_probability(1.0);
        switches.enqueue(delivery("g"));
        assert!(drain(&mut rx).is_empty());
    }
}
