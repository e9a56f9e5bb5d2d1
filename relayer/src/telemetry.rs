//! Operator telemetry: the relayer's Prometheus metrics and a tiny HTTP
//! server for `/metrics` and `/health`.
//!
//! The server is deliberately minimal (a tokio `TcpListener` and a
//! hand-parsed request line, one request per connection, `Connection:
//! close`): it serves two read-only endpoints to a scraper or a probe on
//! loopback, so pulling in an HTTP framework would buy nothing. Every
//! request is bounded (8 KiB head, 5 s to read it) and a malformed one is
//! answered with a 4xx, never a panic.
//!
//! Ages in [`Health`] use [`Instant`]: this is operator telemetry, not
//! consensus, so the local monotonic clock is the right one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{
    CounterVec, Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// Largest request head (request line plus headers) the server reads.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client has to take the response.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 64;
/// Latency buckets (seconds): one block on a fast chain up to a stuck relay.
const LATENCY_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0];

/// Which IBC packet message was relayed: the `kind` label of the packet
/// metrics, so operators can tell deliveries from acks from timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketMsgKind {
    /// `MsgRecvPacket`: a packet delivered to its destination.
    Recv,
    /// `MsgAcknowledgement`: an acknowledgement returned to the source.
    Ack,
    /// `MsgTimeout`: a packet timed out back on its source.
    Timeout,
    /// `MsgTimeoutOnClose`: a packet timed out because its channel closed.
    TimeoutOnClose,
}

impl PacketMsgKind {
    /// The label value: `recv`, `ack`, `timeout` or `timeout_on_close`.
    pub fn as_str(self) -> &'static str {
        match self {
            PacketMsgKind::Recv => "recv",
            PacketMsgKind::Ack => "ack",
            PacketMsgKind::Timeout => "timeout",
            PacketMsgKind::TimeoutOnClose => "timeout_on_close",
        }
    }
}

impl std::fmt::Display for PacketMsgKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

struct MetricsInner {
    registry: Registry,
    txs: IntCounterVec,
    msgs: IntCounterVec,
    gas_used: IntCounterVec,
    fees_paid: CounterVec,
    errors: IntCounterVec,
    packets_relayed: IntCounterVec,
    relay_latency: HistogramVec,
    redundant: IntCounterVec,
    pending: IntGaugeVec,
    balance: GaugeVec,
    client_expiry: IntGaugeVec,
    height: IntGaugeVec,
    websocket_up: IntGaugeVec,
    cleared: IntCounterVec,
}

/// The relayer's Prometheus metrics, in a registry of their own (so tests
/// and several relayers in one process never collide in the global one).
/// Cheap to clone: every clone records into the same metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(c.clone()))
        .expect("metric registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric definition");
    registry
        .register(Box::new(g.clone()))
        .expect("metric registered once");
    g
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    /// A fresh registry with every relayer metric registered. The
    /// definitions are constants, so the `expect`s here cannot fire.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let r = &registry;
        let txs = counter(
            r,
            "chimera_relayer_txs_total",
            "Transactions the relayer got included, by chain.",
            &["chain"],
        );
        let msgs = counter(
            r,
            "chimera_relayer_msgs_total",
            "Messages in included transactions, by chain.",
            &["chain"],
        );
        let gas_used = counter(
            r,
            "chimera_relayer_gas_used_total",
            "Gas used by included transactions, by chain.",
            &["chain"],
        );
        let fees_paid = CounterVec::new(
            Opts::new(
                "chimera_relayer_fees_paid_total",
                "Fees paid by the relayer wallet, in base units of denom.",
            ),
            &["chain", "denom"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(fees_paid.clone()))
            .expect("metric registered once");
        let errors = counter(
            r,
            "chimera_relayer_errors_total",
            "Failed submissions, by chain and kind (sequence_mismatch, out_of_funds, simulate, broadcast, rpc, tx_failed).",
            &["chain", "kind"],
        );
        let packets_relayed = counter(
            r,
            "chimera_relayer_packets_relayed_total",
            "Packet messages delivered, by destination chain, channel and kind (recv, ack, timeout, timeout_on_close).",
            &["chain", "channel", "kind"],
        );
        let relay_latency = HistogramVec::new(
            HistogramOpts::new(
                "chimera_relayer_relay_latency_seconds",
                "Seconds from a packet event on its source to the relayed message's inclusion.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["kind"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(relay_latency.clone()))
            .expect("metric registered once");
        let redundant = counter(
            r,
            "chimera_relayer_redundant_packets_total",
            "Packet messages another relayer delivered first, by chain and channel.",
            &["chain", "channel"],
        );
        let pending = gauge(
            r,
            "chimera_relayer_pending_packets",
            "Packets waiting to be relayed, by chain, channel and what (recv, ack).",
            &["chain", "channel", "what"],
        );
        let balance = GaugeVec::new(
            Opts::new(
                "chimera_relayer_wallet_balance",
                "Relayer wallet balance in base units of denom.",
            ),
            &["chain", "denom"],
        )
        .expect("valid metric definition");
        registry
            .register(Box::new(balance.clone()))
            .expect("metric registered once");
        let client_expiry = gauge(
            r,
            "chimera_relayer_client_expiry_seconds",
            "Seconds until a light client's trusting period runs out (negative: expired).",
            &["chain", "client"],
        );
        let height = gauge(
            r,
            "chimera_relayer_chain_height",
            "Latest height the relayer saw, by chain.",
            &["chain"],
        );
        let websocket_up = gauge(
            r,
            "chimera_relayer_websocket_up",
            "1 while the chain's websocket event source is connected, 0 while polling.",
            &["chain"],
        );
        let cleared = counter(
            r,
            "chimera_relayer_cleared_packets_total",
            "Packets relayed by clearing (scanning for missed packets), by chain and channel.",
            &["chain", "channel"],
        );
        Metrics {
            inner: Arc::new(MetricsInner {
                registry,
                txs,
                msgs,
                gas_used,
                fees_paid,
                errors,
                packets_relayed,
                relay_latency,
                redundant,
                pending,
                balance,
                client_expiry,
                height,
                websocket_up,
                cleared,
            }),
        }
    }

    /// The registry, for callers that add metrics of their own or gather
    /// in another format.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Every metric in the Prometheus text exposition format (what
    /// `/metrics` serves). Metrics never touched have no series yet and so
    /// do not appear.
    pub fn render(&self) -> String {
        let families = self.inner.registry.gather();
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// A transaction was included: counts it, its messages, its gas and its
    /// fee, so operators see throughput and what relaying costs.
    pub fn tx_submitted(&self, chain: &str, msgs: usize, gas_used: u64, fee_amount: u128, fee_denom: &str) {
        let i = &self.inner;
        i.txs.with_label_values(&[chain]).inc();
        i.msgs
            .with_label_values(&[chain])
            .inc_by(u64::try_from(msgs).unwrap_or(u64::MAX));
        i.gas_used.with_label_values(&[chain]).inc_by(gas_used);
        // f64: fee amounts are u128 and only ever read as a rate or total.
        i.fees_paid
            .with_label_values(&[chain, fee_denom])
            .inc_by(fee_amount as f64);
    }

    /// A submission failed; `kind` says why (`sequence_mismatch`,
    /// `out_of_funds`, `simulate`, `broadcast`, `rpc`, `tx_failed`), so
    /// alerts can tell an empty wallet from a flaky node.
    pub fn tx_failed(&self, chain: &str, kind: &str) {
        self.inner.errors.with_label_values(&[chain, kind]).inc();
    }

    /// A packet message was included on `chain`; `latency` (event seen to
    /// inclusion), when known, feeds the latency histogram.
    pub fn packet_relayed(&self, chain: &str, channel: &str, kind: PacketMsgKind, latency: Option<Duration>) {
        let i = &self.inner;
        i.packets_relayed
            .with_label_values(&[chain, channel, kind.as_str()])
            .inc();
        if let Some(latency) = latency {
            i.relay_latency
                .with_label_values(&[kind.as_str()])
                .observe(latency.as_secs_f64());
        }
    }

    /// Another relayer delivered a packet first (our message was redundant):
    /// a high rate means fees spent for nothing.
    pub fn redundant(&self, chain: &str, channel: &str) {
        self.inner.redundant.with_label_values(&[chain, channel]).inc();
    }

    /// How many packets (`what` = `recv` or `ack`) wait to be relayed on a
    /// channel: the backlog an operator watches.
    pub fn set_pending(&self, chain: &str, channel: &str, what: &str, n: u64) {
        self.inner
            .pending
            .with_label_values(&[chain, channel, what])
            .set(saturating_i64(n));
    }

    /// The relayer wallet's balance, so an alert fires before it runs dry.
    pub fn set_balance(&self, chain: &str, denom: &str, amount: u128) {
        self.inner
            .balance
            .with_label_values(&[chain, denom])
            .set(amount as f64);
    }

    /// Seconds until a client's trusting period ends (negative once
    /// expired): an expired client needs governance to recover.
    pub fn set_client_expiry(&self, chain: &str, client: &str, seconds_left: i64) {
        self.inner
            .client_expiry
            .with_label_values(&[chain, client])
            .set(seconds_left);
    }

    /// The latest height seen on a chain, to spot a stalled chain or node.
    pub fn set_height(&self, chain: &str, height: u64) {
        self.inner
            .height
            .with_label_values(&[chain])
            .set(saturating_i64(height));
    }

    /// Whether the chain's websocket event source is up (1) or the relayer
    /// fell back to polling (0).
    pub fn event_source(&self, chain: &str, websocket_up: bool) {
        self.inner
            .websocket_up
            .with_label_values(&[chain])
            .set(i64::from(websocket_up));
    }

    /// `n` packets were relayed by clearing (a scan for missed packets): a
    /// steady rate means events are being missed.
    pub fn cleared(&self, chain: &str, channel: &str, n: u64) {
        self.inner.cleared.with_label_values(&[chain, channel]).inc_by(n);
    }
}

#[derive(Default)]
struct ChainHealth {
    height: Option<u64>,
    last_ok: Option<Instant>,
    last_error: Option<String>,
}

/// Each chain's last successful contact and last error, behind `/health`:
/// lets a probe or an operator see at a glance which chain the relayer has
/// lost. Cheap to clone: every clone shares the same state.
#[derive(Clone)]
pub struct Health {
    stale_after: Duration,
    chains: Arc<Mutex<BTreeMap<String, ChainHealth>>>,
}

impl Health {
    /// Tracks health; a chain not reached within `stale_after` makes the
    /// relayer "degraded".
    pub fn new(stale_after: Duration) -> Health {
        Health {
            stale_after,
            chains: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    fn with_chains<R>(&self, f: impl FnOnce(&mut BTreeMap<String, ChainHealth>) -> R) -> R {
        // A panic elsewhere while holding the lock leaves plain data behind;
        // keep serving it rather than taking health down too.
        let mut guard = self.chains.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// `chain` answered at `height`: records the contact and clears its
    /// last error.
    pub fn ok(&self, chain: &str, height: u64) {
        self.with_chains(|chains| {
            let c = chains.entry(chain.to_string()).or_default();
            c.height = Some(height);
            c.last_ok = Some(Instant::now());
            c.last_error = None;
        });
    }

    /// Talking to `chain` failed: records the error (shown until the next
    /// [`Health::ok`]) and makes the chain known even if never reached.
    pub fn error(&self, chain: &str, error: &str) {
        self.with_chains(|chains| {
            chains.entry(chain.to_string()).or_default().last_error = Some(error.to_string());
        });
    }

    /// `(healthy, body)`: healthy when every known chain was reached within
    /// `stale_after`. The body is
    /// `{"status":"ok"|"degraded","chains":{id:{"height","last_ok_secs_ago","last_error"}}}`
    /// (`height` and `last_ok_secs_ago` are null for a chain never reached).
    pub fn report(&self) -> (bool, serde_json::Value) {
        let now = Instant::now();
        let stale_after = self.stale_after;
        self.with_chains(|chains| {
            let mut healthy = true;
            let mut out = serde_json::Map::new();
            for (id, c) in chains.iter() {
                let age = c.last_ok.map(|t| now.saturating_duration_since(t));
                if !matches!(age, Some(a) if a <= stale_after) {
                    healthy = false;
                }
                out.insert(
                    id.clone(),
                    serde_json::json!({
                        "height": c.height,
                        "last_ok_secs_ago": age.map(|a| a.as_secs()),
                        "last_error": c.last_error,
                    }),
                );
            }
            let body = serde_json::json!({
                "status": if healthy { "ok" } else { "degraded" },
                "chains": out,
            });
            (healthy, body)
        })
    }
}

/// Serves `/metrics` and `/health` on `listener` until `shutdown` becomes
/// true (or its sender is dropped), so the relayer can be scraped and
/// probed. Connections in flight finish on their own; accept errors (say,
/// out of file descriptors) are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        if *shutdown.borrow_and_update() {
            return Ok(());
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    // The sender is gone: nobody can ask us to stop any more.
                    return Ok(());
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        tracing::debug!(%peer, "telemetry: too many connections, closing");
                        continue;
                    };
                    let metrics = metrics.clone();
                    let health = health.clone();
                    tokio::spawn(async move {
                        handle(stream, &metrics, &health).await;
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

/// What reading the request head produced.
enum Head {
    /// The bytes up to the end of the head (or to EOF).
    Complete(Vec<u8>),
    /// More than [`MAX_HEAD`] bytes without the end of the head.
    TooLarge,
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Complete(buf));
        }
        // Search only where the new bytes could complete a terminator.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find_head_end(&buf[from..]) {
            buf.truncate(from + end);
            return Ok(Head::Complete(buf));
        }
        if buf.len() > MAX_HEAD {
            return Ok(Head::TooLarge);
        }
    }
}

/// Where the head ends (after `\r\n\r\n`, or a bare `\n\n`), if it does.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: String,
    allow_get: bool,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n"),
            allow_get: false,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        if self.allow_get {
            head.push_str("Allow: GET\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

/// Answers one request head.
fn respond(head: &[u8], metrics: &Metrics, health: &Health) -> Response {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Response::text(400, "Bad Request", "bad request");
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Response::text(400, "Bad Request", "bad request");
    };
    if method.is_empty() || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return Response::text(400, "Bad Request", "bad request");
    }
    if method != "GET" {
        let mut r = Response::text(405, "Method Not Allowed", "method not allowed");
        r.allow_get = true;
        return r;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    match path {
        "/metrics" => Response {
            status: 200,
            reason: "OK",
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: metrics.render(),
            allow_get: false,
        },
        "/health" => {
            let (healthy, body) = health.report();
            let (status, reason) = if healthy {
                (200, "OK")
            } else {
                (503, "Service Unavailable")
            };
            Response {
                status,
                reason,
                content_type: "application/json",
                body: format!("{body}\n"),
                allow_get: false,
            }
        }
        _ => Response::text(404, "Not Found", "not found"),
    }
}

/// One connection: read the head (bounded in size and time), answer, close.
async fn handle(mut stream: TcpStream, metrics: &Metrics, health: &Health) {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => Response::text(408, "Request Timeout", "request timeout"),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "telemetry: reading request failed");
            return;
        }
        Ok(Ok(Head::TooLarge)) => {
            Response::text(431, "Request Header Fields Too Large", "request head too large")
        }
        Ok(Ok(Head::Complete(head))) if head.is_empty() => return,
        Ok(Ok(Head::Complete(head))) => respond(&head, metrics, health),
    };
    let bytes = response.to_bytes();
    let write = async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "telemetry: writing response failed");
            return;
        }
        Err(_) => return,
    }
    // Drain what the client still sends (a body we ignored) for a moment, so
    // closing with unread data does not reset the connection before the
    // client has read the response.
    let drain = async {
        let mut sink = [0u8; 1024];
        let mut total = 0usize;
        while total < 64 * 1024 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch_all(m: &Metrics) {
        m.tx_submitted("chimera-1", 3, 120_000, 5_000, "uchim");
        m.tx_failed("chimera-1", "out_of_funds");
        m.packet_relayed(
            "columbus-5",
            "channel-0",
            PacketMsgKind::Recv,
            Some(Duration::from_millis(1500)),
        );
        m.redundant("columbus-5", "channel-0");
        m.set_pending("chimera-1", "channel-0", "recv", 7);
        m.set_balance("chimera-1", "uchim", 10u128.pow(30));
        m.set_client_expiry("chimera-1", "07-tendermint-0", -5);
        m.set_height("chimera-1", 42);
        m.event_source("chimera-1", true);
        m.cleared("chimera-1", "channel-0", 2);
    }

    #[test]
    fn render_contains_every_metric_once_touched() {
        let m = Metrics::new();
        touch_all(&m);
        let text = m.render();
        for name in [
            "chimera_relayer_txs_total",
            "chimera_relayer_msgs_total",
            "chimera_relayer_gas_used_total",
            "chimera_relayer_fees_paid_total",
            "chimera_relayer_errors_total",
            "chimera_relayer_packets_relayed_total",
            "chimera_relayer_relay_latency_seconds_bucket",
            "chimera_relayer_redundant_packets_total",
            "chimera_relayer_pending_packets",
            "chimera_relayer_wallet_balance",
            "chimera_relayer_client_expiry_seconds",
            "chimera_relayer_chain_height",
            "chimera_relayer_websocket_up",
            "chimera_relayer_cleared_packets_total",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert!(text.contains(r#"chimera_relayer_msgs_total{chain="chimera-1"} 3"#));
        assert!(text.contains(r#"chimera_relayer_gas_used_total{chain="chimera-1"} 120000"#));
        assert!(text.contains(
            r#"chimera_relayer_packets_relayed_total{chain="columbus-5",channel="channel-0",kind="recv"} 1"#
        ));
        assert!(text.contains(
            r#"chimera_relayer_client_expiry_seconds{chain="chimera-1",client="07-tendermint-0"} -5"#
        ));
        assert!(text.contains(r#"chimera_relayer_websocket_up{chain="chimera-1"} 1"#));
        // A clone records into the same metrics.
        m.clone().set_height("chimera-1", 43);
        assert!(m
            .render()
            .contains(r#"chimera_relayer_chain_height{chain="chimera-1"} 43"#));
        assert!(!m.registry().gather().is_empty());
    }

    #[test]
    fn packet_kind_labels() {
        assert_eq!(PacketMsgKind::Recv.as_str(), "recv");
        assert_eq!(PacketMsgKind::Ack.as_str(), "ack");
        assert_eq!(PacketMsgKind::Timeout.as_str(), "timeout");
        assert_eq!(PacketMsgKind::TimeoutOnClose.as_str(), "timeout_on_close");
    }

    #[test]
    fn health_report() {
        let h = Health::new(Duration::from_secs(60));
        let (ok, body) = h.report();
        assert!(ok);
        assert_eq!(body["status"], "ok");
        h.ok("a", 10);
        let (ok, body) = h.report();
        assert!(ok);
        assert_eq!(body["chains"]["a"]["height"], 10);
        assert_eq!(body["chains"]["a"]["last_error"], serde_json::Value::Null);
        h.error("a", "rpc down");
        assert_eq!(h.report().1["chains"]["a"]["last_error"], "rpc down");
        h.error("b", "never reached");
        let (ok, body) = h.report();
        assert!(!ok);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["chains"]["b"]["height"], serde_json::Value::Null);
        h.ok("b", 1);
        assert!(h.report().0);
    }

    struct Server {
        addr: std::net::SocketAddr,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn start(metrics: Metrics, health: Health) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, metrics, health, rx));
        Server { addr, stop, task }
    }

    /// Sends `raw`, half-closes, and returns (status, headers, body).
    async fn request(addr: std::net::SocketAddr, raw: &[u8]) -> (u16, String, String) {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(raw).await.unwrap();
        s.shutdown().await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
            .await
            .expect("response in time")
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_string(), body.to_string())
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String, String) {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        request(addr, raw.as_bytes()).await
    }

    #[tokio::test]
    async fn serves_metrics_health_and_errors() {
        let metrics = Metrics::new();
        metrics.tx_submitted("chimera-1", 1, 100, 10, "uchim");
        let health = Health::new(Duration::from_secs(60));
        health.ok("chimera-1", 5);
        let srv = start(metrics.clone(), health.clone()).await;

        let (status, head, body) = get(srv.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("chimera_relayer_txs_total"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(head.contains("Connection: close"));

        let (status, _, body) = get(srv.addr, "/health?verbose=1").await;
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "ok");
        assert_eq!(json["chains"]["chimera-1"]["height"], 5);

        health.error("columbus-5", "connection refused");
        let (status, _, body) = get(srv.addr, "/health").await;
        assert_eq!(status, 503);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "degraded");
        assert_eq!(json["chains"]["columbus-5"]["last_error"], "connection refused");

        assert_eq!(get(srv.addr, "/nope").await.0, 404);
        let (status, head, _) = request(
            srv.addr,
            b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await;
        assert_eq!(status, 405);
        assert!(head.contains("Allow: GET"));

        srv.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), srv.task)
            .await
            .expect("serve returns on shutdown")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn health_goes_stale() {
        let health = Health::new(Duration::from_millis(50));
        health.ok("chimera-1", 1);
        let srv = start(Metrics::new(), health.clone()).await;
        assert_eq!(get(srv.addr, "/health").await.0, 200);
        tokio::time::sleep(Duration::from_millis(120)).await;
        let (status, _, body) = get(srv.addr, "/health").await;
        assert_eq!(status, 503, "{body}");
        health.ok("chimera-1", 2);
        assert_eq!(get(srv.addr, "/health").await.0, 200);
        srv.stop.send(true).unwrap();
        srv.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn garbage_does_not_crash_the_server() {
        let srv = start(Metrics::new(), Health::new(Duration::from_secs(60))).await;
        assert_eq!(request(srv.addr, b"\xff\xfe garbage\r\n\r\n").await.0, 400);
        assert_eq!(request(srv.addr, b"GET\r\n\r\n").await.0, 400);
        assert_eq!(request(srv.addr, b"no terminator at all").await.0, 400);
        assert_eq!(request(srv.addr, b"GET metrics HTTP/1.1\r\n\r\n").await.0, 400);
        let big = vec![b'a'; MAX_HEAD + 2048];
        assert_eq!(request(srv.addr, &big).await.0, 431);
        // A client that connects and says nothing.
        drop(TcpStream::connect(srv.addr).await.unwrap());
        // Still serving.
        let (status, _, body) = get(srv.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.is_empty() || body.contains("# TYPE"));
        assert_eq!(get(srv.addr, "/health").await.0, 200);
        srv.stop.send(true).unwrap();
        srv.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn serve_returns_when_already_shut_down_or_sender_dropped() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (_tx, rx) = watch::channel(true);
        serve(listener, Metrics::new(), Health::new(Duration::from_secs(1)), rx)
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = watch::channel(false);
        drop(tx);
        tokio::time::timeout(
            Duration::from_secs(5),
            serve(listener, Metrics::new(), Health::new(Duration::from_secs(1)), rx),
        )
        .await
        .expect("returns once the sender is gone")
        .unwrap();
    }
}
