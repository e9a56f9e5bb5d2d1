//! chimerad's Prometheus endpoint (`[telemetry]` in chimerad.toml): `GET
//! /metrics` answers the blob store's registry (`chimera_blob_*`) and the
//! fee and executor gauges of [`FeeMetrics`].
//!
//! The fee gauges are read from the latest committed snapshot, at most once
//! per committed height: a scrape after a Commit refreshes them, a scrape
//! at the same height answers the values already read. So they never touch
//! the app or its lock (like the gRPC queries), cost nothing when nobody
//! scrapes, and never lag the state a scrape could see. Amounts are
//! integers of up to 128 bits exposed as f64 gauges: exact below 2^53,
//! close enough above for dashboards; nothing reads them back.
//!
//! The HTTP server is as small as the relayer's (`relayer/src/telemetry.rs`):
//! one request per connection, `Connection: close`, a bounded head (8 KiB,
//! 5 s), 4xx for anything but `GET /metrics`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{Encoder, GaugeVec, Opts, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::blob::BlobStore;
use crate::grpc::QResult;
use crate::state::{Snapshot, Storage};

const MAX_HEAD: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 16;

/// The fee gauges, by denom, and the executor gauges, by validator
/// (consensus address in upper-case hex, as CometBFT prints it).
#[derive(Clone)]
pub struct FeeMetrics {
    registry: Registry,
    collected: GaugeVec,
    paid_to_executors: GaugeVec,
    burned: GaugeVec,
    burn_pending: GaugeVec,
    community_paid: GaugeVec,
    refunded: GaugeVec,
    faults: GaugeVec,
    excluded: GaugeVec,
    /// The committed height the gauges were read at.
    read_at: Arc<Mutex<Option<u64>>>,
}

impl Default for FeeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl FeeMetrics {
    /// A fresh registry with every gauge (no series until the first
    /// refresh).
    pub fn new() -> FeeMetrics {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str, label: &str| {
            let g = GaugeVec::new(Opts::new(name, help), &[label]).expect("metric");
            registry.register(Box::new(g.clone())).expect("register");
            g
        };
        FeeMetrics {
            collected: gauge(
                "chimera_fees_collected_total",
                "Fees charged for requests that reached a quorum, since genesis (micro-units).",
                "denom",
            ),
            paid_to_executors: gauge(
                "chimera_fees_paid_to_executors_total",
                "Fee parts paid to executors' operators, since genesis (micro-units).",
                "denom",
            ),
            burned: gauge(
                "chimera_fees_burned_total",
                "Fee parts burned here (native denom) or sent to the burn address (others), since genesis.",
                "denom",
            ),
            burn_pending: gauge(
                "chimera_fees_burn_pending",
                "Burn parts waiting in the fees/burn module account for the next send.",
                "denom",
            ),
            community_paid: gauge(
                "chimera_fees_community_paid_total",
                "Community parts paid (native denom) or sent (others), since genesis.",
                "denom",
            ),
            refunded: gauge(
                "chimera_fees_refunded_total",
                "Fees refunded because the request failed, since genesis.",
                "denom",
            ),
            faults: gauge(
                "chimera_executor_faults",
                "Results of the validator's executor that disagreed with the quorum.",
                "validator",
            ),
            excluded: gauge(
                "chimera_executor_excluded",
                "1 if the validator's executor gets no jobs until it re-registers its key.",
                "validator",
            ),
            registry,
            read_at: Arc::new(Mutex::new(None)),
        }
    }

    /// The registry, for a caller that gathers it with others.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Sets every gauge from `snap`, dropping series of denoms and
    /// validators no longer there.
    pub fn refresh(&self, snap: &Snapshot) -> QResult<()> {
        let totals = crate::grpc::fees::totals_of(snap)?;
        let executors = crate::grpc::fees::executors_of(snap)?;
        let amount = |s: &str| s.parse::<u128>().unwrap_or(0) as f64;
        for g in [
            &self.collected,
            &self.paid_to_executors,
            &self.burned,
            &self.burn_pending,
            &self.community_paid,
            &self.refunded,
            &self.faults,
            &self.excluded,
        ] {
            g.reset();
        }
        for t in &totals {
            let d = [t.denom.as_str()];
            self.collected.with_label_values(&d).set(amount(&t.collected));
            self.paid_to_executors
                .with_label_values(&d)
                .set(amount(&t.paid_to_executors));
            self.burned.with_label_values(&d).set(amount(&t.burned));
            self.burn_pending
                .with_label_values(&d)
                .set(amount(&t.burn_pending));
            self.community_paid
                .with_label_values(&d)
                .set(amount(&t.community_paid));
            self.refunded.with_label_values(&d).set(amount(&t.refunded));
        }
        for e in &executors {
            let v = [hex::encode_upper(&e.validator)];
            self.faults
                .with_label_values(&[v[0].as_str()])
                .set(e.faults as f64);
            self.excluded
                .with_label_values(&[v[0].as_str()])
                .set(if e.excluded { 1.0 } else { 0.0 });
        }
        Ok(())
    }

    /// Refreshes from `storage`'s latest commit unless the gauges already
    /// hold that height. A failed read keeps the previous values (and is
    /// logged): metrics never fail a scrape.
    pub fn refresh_if_committed(&self, storage: &Storage) {
        let mut read_at = self.read_at.lock().unwrap_or_else(|p| p.into_inner());
        let snap = storage.latest_snapshot();
        let version = snap.version();
        if version.is_none() || *read_at == version {
            return;
        }
        match self.refresh(&snap) {
            Ok(()) => *read_at = version,
            // A commit landed mid-read: the next scrape reads the new one.
            Err(e) if e.is_stale() => {}
            Err(e) => {
                tracing::warn!(error = %e.message(), height = ?version, "telemetry: reading fee records failed")
            }
        }
    }
}

/// What `/metrics` serves.
#[derive(Clone)]
pub struct NodeMetrics {
    storage: Storage,
    blobs: Option<BlobStore>,
    fees: FeeMetrics,
}

impl NodeMetrics {
    pub fn new(storage: Storage, blobs: Option<BlobStore>) -> NodeMetrics {
        NodeMetrics {
            storage,
            blobs,
            fees: FeeMetrics::new(),
        }
    }

    /// The text exposition of every registry, the fee gauges refreshed
    /// first (RocksDB reads: call it off the async runtime).
    pub fn render(&self) -> String {
        self.fees.refresh_if_committed(&self.storage);
        let mut families = self.fees.registry().gather();
        if let Some(b) = &self.blobs {
            families.extend(b.metrics().registry().gather());
        }
        families.sort_by(|a, b| a.get_name().cmp(b.get_name()));
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).expect("utf-8")
    }
}

/// Binds `addr` and serves `/metrics` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    metrics: NodeMetrics,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, metrics, shutdown).await
}

/// [`serve`] on a listener the caller bound (tests bind port 0).
pub async fn serve_on(
    listener: TcpListener,
    metrics: NodeMetrics,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        continue;
                    };
                    let metrics = metrics.clone();
                    tokio::spawn(async move {
                        handle(stream, metrics).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "telemetry: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// Reads up to the end of the head (`\r\n\r\n` or `\n\n`), or None if it
/// is longer than [`MAX_HEAD`].
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Some(buf));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(buf));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

/// The status line and content type for one request head, and whether
/// the body is the metrics (else the status text).
fn route(head: &[u8]) -> (&'static str, &'static str, bool) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = std::str::from_utf8(line)
        .unwrap_or_default()
        .trim_end_matches('\r');
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return ("400 Bad Request", TEXT, false);
    };
    if !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return ("400 Bad Request", TEXT, false);
    }
    if method != "GET" {
        return ("405 Method Not Allowed", TEXT, false);
    }
    match target.split(['?', '#']).next().unwrap_or(target) {
        "/metrics" => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", true),
        _ => ("404 Not Found", TEXT, false),
    }
}

async fn handle(mut stream: TcpStream, metrics: NodeMetrics) {
    let (status, content_type, body) = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await
    {
        Err(_) => ("408 Request Timeout", "text/plain; charset=utf-8", false),
        Ok(Err(_)) => return,
        Ok(Ok(None)) => (
            "431 Request Header Fields Too Large",
            "text/plain; charset=utf-8",
            false,
        ),
        Ok(Ok(Some(head))) if head.is_empty() => return,
        Ok(Ok(Some(head))) => route(&head),
    };
    let body = if body {
        // RocksDB reads: off the async runtime.
        match tokio::task::spawn_blocking(move || metrics.render()).await {
            Ok(text) => text,
            Err(_) => return,
        }
    } else {
        format!("{}\n", &status[4..])
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}
