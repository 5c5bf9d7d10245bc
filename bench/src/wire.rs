//! Bytes on the wire: a TCP relay between the client and the Twenty emulator that
//! counts every byte each way, so the bandwidth figures include what a body count
//! leaves out — the request line and headers sent, the status line and headers
//! received (HTTP/1.1 on 127.0.0.1, no TLS, as a proxy in front of Twenty would see it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes relayed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WireBytes {
    /// Client to server: request lines, headers, bodies.
    pub sent: u64,
    /// Server to client: status lines, headers, bodies.
    pub received: u64,
}

impl WireBytes {
    pub fn total(&self) -> u64 {
        self.sent + self.received
    }

    pub fn since(&self, earlier: &WireBytes) -> WireBytes {
        WireBytes {
            sent: self.sent - earlier.sent,
            received: self.received - earlier.received,
        }
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
}

pub struct WireCounter {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl WireCounter {
    /// Relays 127.0.0.1:<port> to `upstream`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counters = shared.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let up = pipe(cr, sw, &counters.sent);
                    let down = pipe(sr, cw, &counters.received);
                    let _ = tokio::join!(up, down);
                });
            }
        });
        Ok(Self {
            addr,
            counters,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn snapshot(&self) -> WireBytes {
        WireBytes {
            sent: self.counters.sent.load(Ordering::Relaxed),
            received: self.counters.received.load(Ordering::Relaxed),
        }
    }
}

impl Drop for WireCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    count: &AtomicU64,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        // Counted before it is passed on: a reader that sees the answer sees its count.
        count.fetch_add(n as u64, Ordering::Relaxed);
        to.write_all(&buf[..n]).await?;
    }
}

/// Settings for a Twenty client whose every byte to and from the stack's emulator goes
/// through a new [`WireCounter`].
pub async fn through_relay(
    stack: &spartan_sync_tests::stack::TestStack,
    page_size: u32,
) -> anyhow::Result<(WireCounter, spartan_sync::twenty::TwentySettings)> {
    let wire = WireCounter::start(stack.emulator.addr()).await?;
    let mut settings = spartan_sync_tests::stack::twenty_settings(&stack.emulator, page_size);
    settings.api_url = url::Url::parse(&format!("{}/", wire.url()))?;
    Ok((wire, settings))
}
