//! An in-process emulator of Twenty CRM's REST API and webhooks, built to behave like
//! the captures in `twenty-fixtures/` (Twenty 2.21): same envelopes, error bodies,
//! keyset cursors, soft-delete rules, webhook bodies and signatures.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use spartan_sync_tests::emulator::{Emulator, EmulatorOptions, Seed};
//! let emulator = Emulator::start(EmulatorOptions { seed: Seed::DemoLeads, ..Default::default() }).await?;
//! let lead = emulator.find_lead_by_phone("8563057016").expect("seeded");
//! emulator.update("leads", lead["id"].as_str().unwrap_or_default(), serde_json::json!({"score": 90}));
//! # Ok(()) }
//! ```
//!
//! Objects: `leads`, `notes`, `noteTargets`, and Twenty's standard `people`, `companies`
//! and `opportunities`. [`Emulator`] derefs to [`EmulatorHandle`],
//! which carries the direct-edit, fault, rate-limit and webhook controls.

mod clock;
mod delivery;
mod errors;
mod faults;
mod filter;
mod gate;
mod handle;
mod json;
mod listing;
mod routes;
mod schema;
mod search_vector;
mod seed;
mod standard_objects;
mod webhooks;
mod world;

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod standard_tests;

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use delivery::{DeliveryAttempt, ReleaseOrder, WebhookSwitches};
pub use faults::{Fault, RateLimiter};
pub use gate::LoggedRequest;
pub use handle::{EmulatorHandle, ListHook};
pub use seed::{DEMO_LEAD_COUNT, DEMO_PHONE, Seed};
pub use webhooks::sign_payload;

#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    /// The only key accepted as `Authorization: Bearer <key>`.
    pub api_key: String,
    pub seed: Seed,
    /// `Some((requests, window))`; Twenty's default is 100 per 60 s.
    pub rate_limit: Option<(u32, Duration)>,
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            api_key: "emulator-key".into(),
            seed: Seed::Empty,
            rate_limit: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// A running emulator. Stops when dropped or on [`shutdown`](Self::shutdown).
pub struct Emulator {
    handle: EmulatorHandle,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    sender: JoinHandle<()>,
}

impl Emulator {
    /// Binds, seeds and starts serving. Must run inside a tokio runtime.
    pub async fn start(opts: EmulatorOptions) -> anyhow::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .with_context(|| format!("binding the Twenty emulator to {}", opts.bind))?;
        let addr = listener.local_addr()?;
        let client = reqwest::Client::builder()
            .timeout(delivery::DELIVERY_TIMEOUT)
            .build()
            .context("building the webhook HTTP client")?;

        let (switches, queue) = WebhookSwitches::new();
        let sender = tokio::spawn(delivery::run(switches.clone(), queue, client));
        let world = seed::build(&opts.seed);
        let handle = EmulatorHandle::new(opts.api_key, world, opts.rate_limit, switches);

        let app = routes::router(handle.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "twenty emulator server stopped");
            }
        });
        Ok(Emulator {
            handle,
            addr,
            stop: Some(stop),
            server: Some(server),
            sender,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A clonable handle on the same state (for hooks, other tasks).
    pub fn handle(&self) -> EmulatorHandle {
        self.handle.clone()
    }

    /// Stops accepting requests and waits (briefly) for in-flight ones to finish.
    /// Webhook deliveries not yet sent are abandoned.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Deref for Emulator {
    type Target = EmulatorHandle;

    fn deref(&self) -> &EmulatorHandle {
        &self.handle
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        self.sender.abort();
    }
}
