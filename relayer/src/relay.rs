//! The packet relay loop between two chains.
//!
//! A [`Link`] runs two [`Worker`]s, one per direction. The worker for
//! `src → dst` reads every block of `src` in order (so no event is missed,
//! whatever the websocket does), and sends to `dst`, in batches behind one
//! client update: `MsgRecvPacket` for packets `src` sent, `MsgAcknowledgement`
//! for acknowledgements `src` wrote (chimerad writes inference acks blocks
//! after the packet, from FinalizeBlock: they are block events, not tx
//! events), `MsgTimeout`/`MsgTimeoutOnClose` for packets `dst` sent that
//! timed out on `src`, and the answer to channel handshake steps on `src`.
//!
//! Before each batch the worker asks `dst` which packets are still
//! unreceived (ICS-04 queries): a packet another relayer delivered is
//! dropped and counted, never sent into a failing tx. Clearing repeats the
//! same queries for everything `src` still holds, at start and every
//! `clear_interval` blocks, so a restart or a missed event loses nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosmrs::Any;
use futures::{StreamExt, TryStreamExt};
use ibc_proto::ibc::core::channel::v1 as ch;
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use crate::chain::{Chain, ChainError, ChainResult};
use crate::config::RelayConfig;
use crate::events::{self, ChannelStep, ChannelStepKind, IbcEvent};
use crate::handshake::{self, prepare};
use crate::light::{any, block_time, height};
use crate::paths;
use crate::telemetry::{Health, PacketMsgKind};

/// `(channel on the chain that holds the commitment, sequence)`.
type PacketKey = (String, u64);

/// What a worker knows about one channel end of its source chain.
#[derive(Debug, Clone)]
struct ChanInfo {
    /// Whether the channel's counterparty is this link's other chain.
    ours: bool,
    cp_port: String,
    cp_channel: String,
    ordering: i32,
    state: i32,
    /// The destination's client of the source.
    client_dst: String,
}

/// Relays between two chains until `shutdown`.
pub struct Link {
    a: Arc<Chain>,
    b: Arc<Chain>,
}

impl Link {
    /// A link between `a` and `b`.
    pub fn new(a: Arc<Chain>, b: Arc<Chain>) -> Link {
        Link { a, b }
    }

    /// Runs both directions until `shutdown` turns true.
    pub async fn run(self, cfg: RelayConfig, health: Health, shutdown: watch::Receiver<bool>) {
        let (to_a, inbox_a) = mpsc::unbounded_channel();
        let (to_b, inbox_b) = mpsc::unbounded_channel();
        let heights_a = watch_heights(
            self.a.clone(),
            cfg.poll_interval,
            health.clone(),
            shutdown.clone(),
        );
        let heights_b = watch_heights(
            self.b.clone(),
            cfg.poll_interval,
            health.clone(),
            shutdown.clone(),
        );
        let w_ab = Worker::new(
            self.a.clone(),
            self.b.clone(),
            cfg.clone(),
            inbox_b,
            to_a,
            heights_a,
            heights_b.clone(),
        );
        let w_ba = Worker::new(
            self.b.clone(),
            self.a.clone(),
            cfg,
            inbox_a,
            to_b,
            heights_b,
            w_ab.src_heights.clone(),
        );
        let s1 = shutdown.clone();
        let t1 = tokio::spawn(w_ab.run(s1));
        let t2 = tokio::spawn(w_ba.run(shutdown));
        let _ = tokio::join!(t1, t2);
    }
}

/// The latest height of `chain`, woken by its CometBFT websocket
/// (`NewBlock`), with a polling fallback while the websocket is down.
pub fn watch_heights(
    chain: Arc<Chain>,
    poll: Duration,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let (wake_tx, mut wake_rx) = mpsc::unbounded_channel::<()>();
        // The websocket task: reconnects with back-off; every event wakes
        // the poller.
        let ws_chain = chain.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                match websocket(&ws_chain, &wake_tx).await {
                    Ok(()) => backoff = Duration::from_secs(1),
                    Err(e) => debug!(chain = %ws_chain.id(), error = %e, "websocket down; polling"),
                }
                ws_chain.metrics().event_source(ws_chain.id(), false);
                if wake_tx.is_closed() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        });
        let mut backoff = poll;
        loop {
            match chain.latest().await {
                Ok((h, _)) => {
                    backoff = poll;
                    health.ok(chain.id(), h);
                    chain.metrics().set_height(chain.id(), h);
                    if h > *tx.borrow() {
                        let _ = tx.send(h);
                    }
                }
                Err(e) => {
                    health.error(chain.id(), &e.to_string());
                    chain.metrics().tx_failed(chain.id(), "rpc");
                    warn!(chain = %chain.id(), error = %e, retry_in = ?backoff, "cannot reach the node");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = wake_rx.recv() => {}
                _ = shutdown.changed() => return,
            }
        }
    });
    rx
}

async fn websocket(chain: &Chain, wake: &mpsc::UnboundedSender<()>) -> anyhow::Result<()> {
    use cosmrs::rpc::{SubscriptionClient, WebSocketClient};
    let url: cosmrs::rpc::WebSocketClientUrl = chain.config.websocket_url().parse()?;
    let (client, driver) = WebSocketClient::builder(url).build().await?;
    let driver = tokio::spawn(driver.run());
    let mut sub = client
        .subscribe(cosmrs::rpc::query::EventType::NewBlock.into())
        .await?;
    chain.metrics().event_source(chain.id(), true);
    while let Some(_ev) = sub.next().await {
        // Decoding differs across CometBFT versions; the event is only a
        // wake-up: the poller reads the height and the worker the block.
        if wake.send(()).is_err() {
            break;
        }
    }
    client.close().ok();
    let _ = driver.await;
    anyhow::bail!("websocket subscription ended")
}

/// Work that one direction hands the other: a packet the other direction
/// must time out (it sent it; it expired here).
#[derive(Debug, Clone)]
pub struct TimedOut(ch::Packet);

/// One direction of a link: reads `src`, writes to `dst`.
pub struct Worker {
    src: Arc<Chain>,
    dst: Arc<Chain>,
    cfg: RelayConfig,
    inbox: mpsc::UnboundedReceiver<TimedOut>,
    to_peer: mpsc::UnboundedSender<TimedOut>,
    src_heights: watch::Receiver<u64>,
    dst_heights: watch::Receiver<u64>,
    /// Next `src` height to read.
    next: u64,
    recv: BTreeMap<PacketKey, (ch::Packet, Instant)>,
    acks: BTreeMap<PacketKey, (ch::Packet, Vec<u8>, Instant)>,
    timeouts: BTreeMap<PacketKey, (ch::Packet, Instant)>,
    steps: Vec<ChannelStep>,
    chans: HashMap<(String, String), ChanInfo>,
    last_clear: Option<u64>,
    last_refresh: Option<Instant>,
    backoff_until: Option<Instant>,
}

/// How often a worker checks its clients' age, at most (more often when a
/// quarter of the refresh age is shorter).
const REFRESH_CHECK: Duration = Duration::from_secs(60);

impl Worker {
    fn new(
        src: Arc<Chain>,
        dst: Arc<Chain>,
        cfg: RelayConfig,
        inbox: mpsc::UnboundedReceiver<TimedOut>,
        to_peer: mpsc::UnboundedSender<TimedOut>,
        src_heights: watch::Receiver<u64>,
        dst_heights: watch::Receiver<u64>,
    ) -> Worker {
        Worker {
            src,
            dst,
            cfg,
            inbox,
            to_peer,
            src_heights,
            dst_heights,
            next: 0,
            recv: BTreeMap::new(),
            acks: BTreeMap::new(),
            timeouts: BTreeMap::new(),
            steps: Vec::new(),
            chans: HashMap::new(),
            last_clear: None,
            last_refresh: None,
            backoff_until: None,
        }
    }

    async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let _ = &self.dst_heights;
        info!(src = %self.src.id(), dst = %self.dst.id(), "relaying");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let latest = *self.src_heights.borrow_and_update();
            if latest >= 2 {
                if let Err(e) = self.round(latest).await {
                    warn!(src = %self.src.id(), dst = %self.dst.id(), error = %e, kind = e.kind(), "round failed; will retry");
                    self.src.metrics().tx_failed(self.dst.id(), e.kind());
                    if e.kind() == "out_of_funds" {
                        let bal = self.dst.fee_balance().await.ok();
                        error!(chain = %self.dst.id(), address = %self.dst.address, balance = ?bal,
                            denom = %self.dst.config.gas_price.denom,
                            "relayer account cannot pay fees: fund it; relaying resumes by itself");
                        self.backoff_until = Some(Instant::now() + Duration::from_secs(5));
                    }
                }
            }
            tokio::select! {
                r = self.src_heights.changed() => if r.is_err() { break },
                _ = shutdown.changed() => {},
                _ = tokio::time::sleep(Duration::from_secs(5)) => {},
            }
        }
        info!(src = %self.src.id(), dst = %self.dst.id(), pending_recv = self.recv.len(), pending_acks = self.acks.len(), "worker stopped");
    }

    async fn round(&mut self, latest: u64) -> ChainResult<()> {
        // Read every block up to latest - 1: its events are provable with
        // proofs at latest - 1 against header `latest`.
        if self.next == 0 {
            self.next = latest;
        }
        while self.next < latest {
            let h = self.next;
            let evs = self.src.block_events(h).await?;
            let (parsed, bad) = events::parse(&evs);
            if bad > 0 {
                warn!(chain = %self.src.id(), height = h, bad, "malformed IBC events skipped");
                self.src.metrics().tx_failed(self.src.id(), "garbage_event");
            }
            for ev in parsed {
                self.take_event(ev).await;
            }
            self.next += 1;
        }
        while let Ok(TimedOut(p)) = self.inbox.try_recv() {
            self.timeouts
                .insert((p.destination_channel.clone(), p.sequence), (p, Instant::now()));
        }
        let due = match self.last_clear {
            None => true,
            Some(at) => self.cfg.clear_interval > 0 && latest >= at + self.cfg.clear_interval,
        };
        if due {
            if let Err(e) = self.clear().await {
                warn!(src = %self.src.id(), dst = %self.dst.id(), error = %e, "clearing failed; will retry");
            } else {
                self.last_clear = Some(latest);
            }
        }
        if self.backoff_until.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        self.backoff_until = None;
        self.answer_steps().await;
        let every = REFRESH_CHECK.min(
            self.src
                .config
                .trusting_period
                .mul_f64(self.cfg.refresh_fraction / 4.0),
        );
        if self.last_refresh.is_none_or(|t| t.elapsed() > every) {
            self.last_refresh = Some(Instant::now());
            if let Err(e) = self.refresh_clients().await {
                warn!(src = %self.src.id(), dst = %self.dst.id(), error = %e, "client refresh check failed; will retry");
            }
        }
        self.relay_packets().await
    }

    /// Updates `dst`'s clients of `src` that have not moved for
    /// `refresh_fraction` of their trusting period (an idle path must not
    /// let its client expire), and reports every client's time left.
    async fn refresh_clients(&mut self) -> ChainResult<()> {
        let mut clients: Vec<String> = self
            .chans
            .values()
            .filter(|c| c.ours && !c.client_dst.is_empty())
            .map(|c| c.client_dst.clone())
            .collect();
        clients.sort();
        clients.dedup();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        for client in clients {
            let info = self.dst.client(&client).await?;
            let Some(updated) = self
                .dst
                .consensus_time(&client, self.src.revision, info.latest)
                .await?
            else {
                continue;
            };
            let period = info.trusting_period_secs as i64;
            let left = updated + period - now;
            self.src.metrics().set_client_expiry(self.dst.id(), &client, left);
            let due = (now - updated) as f64 > period as f64 * self.cfg.refresh_fraction;
            if due && !info.frozen {
                let (h, update) = prepare(&self.src, &self.dst, &client, 0).await?;
                if let Some(u) = update {
                    self.dst.send(vec![u]).await?;
                    info!(chain = %self.dst.id(), client = %client, height = h, expires_in_secs = left, "client refreshed");
                }
            }
        }
        Ok(())
    }

    async fn chan(&mut self, port: &str, channel: &str) -> Option<ChanInfo> {
        let key = (port.to_string(), channel.to_string());
        if let Some(c) = self.chans.get(&key) {
            return Some(c.clone());
        }
        let info = self.lookup(port, channel).await.ok()?;
        // Cache channels whose ends are settled; handshakes in progress are
        // looked up again.
        if !info.ours || info.state == ch::State::Open as i32 || info.state == ch::State::Closed as i32 {
            self.chans.insert(key, info.clone());
        }
        Some(info)
    }

    async fn lookup(&self, port: &str, channel: &str) -> Result<ChanInfo, handshake::HandshakeError> {
        let end = self.src.channel(port, channel).await?;
        let conn = end.connection_hops.first().cloned().unwrap_or_default();
        let c = self.src.connection(&conn).await?;
        let client = self.src.client(&c.client_id).await?;
        let cp = end.counterparty.clone().unwrap_or_default();
        let ours = client.chain_id == self.dst.id();
        let client_dst = if ours {
            handshake::counterparty_client(&self.src, &self.dst, &conn)
                .await
                .map(|(cl, _)| cl)
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(ChanInfo {
            ours,
            cp_port: cp.port_id,
            cp_channel: cp.channel_id,
            ordering: end.ordering,
            state: end.state,
            client_dst,
        })
    }

    fn allowed(&self, port: &str, channel: &str) -> bool {
        self.src.config.packet_filter.allows(port, channel)
    }

    async fn take_event(&mut self, ev: IbcEvent) {
        match ev {
            IbcEvent::SendPacket(p) => {
                if self.allowed(&p.source_port, &p.source_channel)
                    && self
                        .chan(&p.source_port, &p.source_channel)
                        .await
                        .is_some_and(|c| c.ours)
                {
                    self.recv
                        .insert((p.source_channel.clone(), p.sequence), (p, Instant::now()));
                }
            }
            IbcEvent::WriteAck(p, ack) => {
                if self.allowed(&p.destination_port, &p.destination_channel)
                    && self
                        .chan(&p.destination_port, &p.destination_channel)
                        .await
                        .is_some_and(|c| c.ours)
                {
                    self.acks
                        .insert((p.source_channel.clone(), p.sequence), (p, ack, Instant::now()));
                }
            }
            IbcEvent::ClientUpdated { client_id, header } => self.check_update(&client_id, &header).await,
            IbcEvent::Channel(step) => {
                // Its state changed: look the channel up again next time.
                self.chans.remove(&(step.port.clone(), step.channel.clone()));
                if !self.cfg.complete_handshakes {
                    return;
                }
                let ours = match handshake::counterparty_client(&self.src, &self.dst, &step.connection).await
                {
                    Ok(_) => self
                        .src
                        .connection(&step.connection)
                        .await
                        .ok()
                        .map(|c| c.client_id),
                    Err(_) => None,
                };
                let Some(client) = ours else { return };
                if self
                    .src
                    .client(&client)
                    .await
                    .is_ok_and(|c| c.chain_id == self.dst.id())
                {
                    self.steps.push(step);
                }
            }
        }
    }

    /// A client on `src` of `dst` took a header: if it is not `dst`'s own
    /// block at that height, someone fed the client a fork. Submit both
    /// headers as misbehaviour (the client freezes) and say so loudly.
    async fn check_update(&mut self, client_id: &str, header: &[u8]) {
        let tracks_dst = match self.src.client(client_id).await {
            Ok(c) => c.chain_id == self.dst.id(),
            Err(_) => false,
        };
        if !tracks_dst {
            return;
        }
        match crate::light::conflicting_header(&self.dst, header).await {
            Ok(None) => {}
            Ok(Some((height, trusted))) => {
                self.src.metrics().tx_failed(self.src.id(), "misbehaviour");
                error!(chain = %self.src.id(), client = %client_id, tracks = %self.dst.id(), height,
                    "client took a header that is not the tracked chain's block: submitting misbehaviour");
                let msg = crate::light::misbehaviour(
                    &self.dst,
                    client_id,
                    header,
                    height,
                    trusted,
                    &self.src.address,
                )
                .await;
                match msg {
                    Ok(m) => match self.src.send(vec![m]).await {
                        Ok(out) => {
                            info!(chain = %self.src.id(), client = %client_id, tx = %out.hash, "misbehaviour submitted; the client is frozen")
                        }
                        Err(e) => {
                            error!(chain = %self.src.id(), client = %client_id, error = %e, "misbehaviour refused")
                        }
                    },
                    Err(e) => {
                        error!(chain = %self.src.id(), client = %client_id, error = %e, "cannot build misbehaviour")
                    }
                }
            }
            Err(e) => {
                debug!(chain = %self.src.id(), client = %client_id, error = %e, "update_client header not checked")
            }
        }
    }

    async fn answer_steps(&mut self) {
        for step in std::mem::take(&mut self.steps) {
            if let Err(e) = handshake::answer_channel_step(&self.src, &self.dst, &step, self.next - 1).await {
                // Already answered (another relayer, or `create channel`).
                debug!(src = %self.src.id(), dst = %self.dst.id(), step = ?step.kind, channel = %step.channel, error = %e, "handshake step not answered");
            }
        }
    }

    /// Re-reads pending work from the chains' state: commitments on `src`
    /// not received on `dst`, and acknowledgements on `src` whose packets
    /// `dst` still holds.
    async fn clear(&mut self) -> ChainResult<()> {
        let channels = self.src.channels().await?;
        if self.cfg.complete_handshakes {
            self.clear_handshakes(&channels).await?;
        }
        for c in channels {
            if !self.allowed(&c.port_id, &c.channel_id) {
                continue;
            }
            let Some(info) = self.chan(&c.port_id, &c.channel_id).await else {
                continue;
            };
            if !info.ours || info.cp_channel.is_empty() || info.state != ch::State::Open as i32 {
                continue;
            }
            // Packets src sent that dst has not received.
            let commits = self.src.packet_commitments(&c.port_id, &c.channel_id).await?;
            let missing = self
                .dst
                .unreceived_packets(&info.cp_port, &info.cp_channel, commits)
                .await?;
            let unknown: Vec<u64> = missing
                .into_iter()
                .filter(|s| !self.recv.contains_key(&(c.channel_id.clone(), *s)))
                .take(500)
                .collect();
            let n = unknown.len() as u64;
            self.src
                .metrics()
                .set_pending(self.src.id(), &c.channel_id, "recv", n + self.recv.len() as u64);
            for found in self
                .search(&unknown, "send_packet", "packet_src_channel", &c.channel_id)
                .await?
            {
                if let IbcEvent::SendPacket(p) = found {
                    if p.source_channel == c.channel_id && p.source_port == c.port_id {
                        self.recv
                            .entry((p.source_channel.clone(), p.sequence))
                            .or_insert((p, Instant::now()));
                    }
                }
            }
            // Acks src wrote for packets dst still holds.
            let acked = self
                .src
                .packet_acknowledgements(&c.port_id, &c.channel_id)
                .await?;
            let waiting = self
                .dst
                .unreceived_acks(&info.cp_port, &info.cp_channel, acked)
                .await?;
            let unknown: Vec<u64> = waiting
                .into_iter()
                .filter(|s| !self.acks.contains_key(&(info.cp_channel.clone(), *s)))
                .take(500)
                .collect();
            self.src.metrics().set_pending(
                self.src.id(),
                &c.channel_id,
                "ack",
                unknown.len() as u64 + self.acks.len() as u64,
            );
            for found in self
                .search(
                    &unknown,
                    "write_acknowledgement",
                    "packet_dst_channel",
                    &c.channel_id,
                )
                .await?
            {
                if let IbcEvent::WriteAck(p, ack) = found {
                    if p.destination_channel == c.channel_id {
                        self.acks
                            .entry((p.source_channel.clone(), p.sequence))
                            .or_insert((p, ack, Instant::now()));
                    }
                }
            }
            if n > 0 {
                self.src.metrics().cleared(self.src.id(), &c.channel_id, n);
                info!(chain = %self.src.id(), channel = %c.channel_id, packets = n, "clearing: found packets the relayer had not seen");
            }
        }
        Ok(())
    }

    /// Finds channel handshakes on `src` that wait for `dst` (a step that
    /// happened while no relayer watched, e.g. an ICA controller's OpenInit
    /// before `chimera relay` started) and queues their next step, as if
    /// the event had just been seen.
    async fn clear_handshakes(&mut self, channels: &[ch::IdentifiedChannel]) -> ChainResult<()> {
        let mut dst_channels: Option<Vec<ch::IdentifiedChannel>> = None;
        for c in channels {
            if !self.allowed(&c.port_id, &c.channel_id) {
                continue;
            }
            let Some(info) = self.chan(&c.port_id, &c.channel_id).await else {
                continue;
            };
            if !info.ours {
                continue;
            }
            let dst = match &dst_channels {
                Some(d) => d,
                None => dst_channels.insert(self.dst.channels().await?),
            };
            let peer_state = dst
                .iter()
                .find(|d| d.port_id == info.cp_port && d.channel_id == info.cp_channel)
                .and_then(|d| ch::State::try_from(d.state).ok());
            let answered = dst.iter().any(|d| {
                d.counterparty
                    .as_ref()
                    .is_some_and(|cp| cp.port_id == c.port_id && cp.channel_id == c.channel_id)
            });
            let kind = match (ch::State::try_from(c.state), peer_state) {
                (Ok(ch::State::Init), _) if !answered => ChannelStepKind::OpenInit,
                (Ok(ch::State::Tryopen), Some(ch::State::Init)) => ChannelStepKind::OpenTry,
                (Ok(ch::State::Open), Some(ch::State::Tryopen)) => ChannelStepKind::OpenAck,
                (Ok(ch::State::Closed), Some(ch::State::Open)) => ChannelStepKind::CloseInit,
                _ => continue,
            };
            info!(chain = %self.src.id(), port = %c.port_id, channel = %c.channel_id, step = ?kind,
                "clearing: a channel handshake waits for the other chain");
            self.steps.push(ChannelStep {
                kind,
                port: c.port_id.clone(),
                channel: c.channel_id.clone(),
                counterparty_port: info.cp_port.clone(),
                counterparty_channel: info.cp_channel.clone(),
                connection: c.connection_hops.first().cloned().unwrap_or_default(),
            });
        }
        Ok(())
    }

    async fn search(
        &self,
        seqs: &[u64],
        kind: &str,
        chan_attr: &str,
        channel: &str,
    ) -> ChainResult<Vec<IbcEvent>> {
        let src = self.src.clone();
        let found: Vec<Vec<IbcEvent>> = futures::stream::iter(seqs.iter().copied())
            .map(|s| {
                let src = src.clone();
                let q = format!("{kind}.{chan_attr}='{channel}' AND {kind}.packet_sequence='{s}'");
                async move {
                    let hits = src.search_events(&q).await?;
                    Ok::<_, ChainError>(
                        hits.into_iter()
                            .flat_map(|(_, evs)| events::parse(&evs).0)
                            .filter(|e| match e {
                                IbcEvent::SendPacket(p) | IbcEvent::WriteAck(p, _) => p.sequence == s,
                                _ => false,
                            })
                            .collect(),
                    )
                }
            })
            .buffer_unordered(8)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// One batch round: filter, build proofs, update the client, submit.
    async fn relay_packets(&mut self) -> ChainResult<()> {
        if self.recv.is_empty() && self.acks.is_empty() && self.timeouts.is_empty() {
            return Ok(());
        }
        self.drop_done().await?;
        let (dst_h, dst_t) = self.dst.latest().await?;
        let dst_ns = dst_t.unix_timestamp_nanos().max(0) as u128;
        // Packets that can no longer be received go to the peer as timeouts.
        let margin_ns: u128 = 5_000_000_000;
        let expired: Vec<PacketKey> = self
            .recv
            .iter()
            .filter(|(_, (p, _))| {
                let th = p.timeout_height.map(|h| h.revision_height).unwrap_or(0);
                (th != 0 && dst_h + 1 >= th)
                    || (p.timeout_timestamp != 0 && dst_ns + margin_ns >= p.timeout_timestamp as u128)
            })
            .map(|(k, _)| k.clone())
            .collect();
        // Packets whose receiving channel is closed can never arrive either:
        // the peer proves the close (MsgTimeoutOnClose).
        let mut closed: Vec<PacketKey> = Vec::new();
        let mut ends: BTreeMap<(String, String), bool> = BTreeMap::new();
        for (k, (p, _)) in &self.recv {
            let end = (p.destination_port.clone(), p.destination_channel.clone());
            if !ends.contains_key(&end) {
                let state = self
                    .dst
                    .channel(&end.0, &end.1)
                    .await
                    .map(|c| c.state)
                    .unwrap_or_default();
                ends.insert(end.clone(), state == ch::State::Closed as i32);
            }
            if ends[&end] {
                closed.push(k.clone());
            }
        }
        for k in expired.into_iter().chain(closed) {
            if let Some((p, _)) = self.recv.remove(&k) {
                debug!(chain = %self.src.id(), channel = %p.source_channel, sequence = p.sequence, "packet cannot be received (expired or channel closed); timing it out");
                let _ = self.to_peer.send(TimedOut(p));
            }
        }
        // Group work by the destination client it needs.
        let mut by_client: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        let recv: Vec<_> = self
            .recv
            .iter()
            .map(|(k, (p, t))| (k.clone(), p.clone(), *t))
            .collect();
        for (k, p, t) in recv {
            if let Some(c) = self.chan(&p.source_port, &p.source_channel).await {
                by_client
                    .entry(c.client_dst)
                    .or_default()
                    .push(Item::Recv(k, p, t));
            }
        }
        let acks: Vec<_> = self
            .acks
            .iter()
            .map(|(k, (p, a, t))| (k.clone(), p.clone(), a.clone(), *t))
            .collect();
        for (k, p, a, t) in acks {
            if let Some(c) = self.chan(&p.destination_port, &p.destination_channel).await {
                by_client
                    .entry(c.client_dst)
                    .or_default()
                    .push(Item::Ack(k, p, a, t));
            }
        }
        let tos: Vec<_> = self
            .timeouts
            .iter()
            .map(|(k, (p, t))| (k.clone(), p.clone(), *t))
            .collect();
        for (k, p, t) in tos {
            // Looked up afresh: whether the end is closed decides the message.
            if let Ok(c) = self.lookup(&p.destination_port, &p.destination_channel).await {
                by_client
                    .entry(c.client_dst.clone())
                    .or_default()
                    .push(Item::Timeout(k, p, t, c));
            }
        }
        for (client, items) in by_client {
            if client.is_empty() {
                continue;
            }
            self.deliver(&client, items).await?;
        }
        Ok(())
    }

    /// Drops work another relayer (or an earlier round) already did: recvs
    /// `dst` has received, acks and timeouts of packets whose commitment
    /// `dst` no longer holds.
    async fn drop_done(&mut self) -> ChainResult<()> {
        let recv = self
            .recv
            .iter()
            .map(|(k, (p, _))| end_on_dst(k, p, true))
            .collect();
        for k in settled(&self.dst, recv, Pending::Receipt).await? {
            self.recv.remove(&k);
            self.src.metrics().redundant(self.dst.id(), &k.0);
        }
        let acks = self
            .acks
            .iter()
            .map(|(k, (p, _, _))| end_on_dst(k, p, false))
            .collect();
        for k in settled(&self.dst, acks, Pending::Commitment).await? {
            self.acks.remove(&k);
            self.src.metrics().redundant(self.dst.id(), &k.0);
        }
        let tos = self
            .timeouts
            .iter()
            .map(|(k, (p, _))| end_on_dst(k, p, false))
            .collect();
        for k in settled(&self.dst, tos, Pending::Commitment).await? {
            self.timeouts.remove(&k);
        }
        Ok(())
    }

    async fn deliver(&mut self, client: &str, items: Vec<Item>) -> ChainResult<()> {
        let (p, update) = prepare(&self.src, &self.dst, client, self.next - 1).await?;
        let q = p - 1;
        let src_time_ns = block_time(&self.src, p).await?.unix_timestamp_nanos().max(0) as u128;
        let proof_height = height(&self.src, p);
        let signer = self.dst.address.clone();
        let src = self.src.clone();
        // Proofs in parallel; a timeout not yet provable waits for a later
        // height.
        let built: Vec<Option<(Any, Item)>> = futures::stream::iter(items)
            .map(|item| {
                let src = src.clone();
                let signer = signer.clone();
                async move {
                    let at = ProofAt {
                        query: q,
                        proof_height,
                        latest: p,
                        latest_time_ns: src_time_ns,
                    };
                    Ok::<_, ChainError>(build_msg(&src, &item, at, signer).await?.map(|m| (m, item)))
                }
            })
            .buffered(16)
            .try_collect()
            .await?;
        let built: Vec<(Any, Item)> = built.into_iter().flatten().collect();
        if built.is_empty() {
            return Ok(());
        }
        // Batches by count and size; the update rides in the first.
        let mut batches: Vec<Vec<(Any, Item)>> = vec![Vec::new()];
        let mut size = update.as_ref().map_or(0, |u| u.value.len());
        for (m, it) in built {
            let first = batches.len() == 1;
            let last = batches.last_mut().expect("one batch");
            let n = last.len() + usize::from(first && update.is_some());
            if !last.is_empty() && (n >= self.cfg.max_msg_num || size + m.value.len() > self.cfg.max_tx_size)
            {
                batches.push(Vec::new());
                size = 0;
            }
            size += m.value.len();
            batches.last_mut().expect("one batch").push((m, it));
        }
        let mut update = update;
        let mut sent = Vec::new();
        for batch in batches {
            let (msgs, items): (Vec<Any>, Vec<Item>) = batch.into_iter().unzip();
            let all: Vec<Any> = update.take().into_iter().chain(msgs).collect();
            let n = all.len();
            match self.dst.submit(all).await {
                Ok((hash, gas)) => sent.push((hash, gas, n, items)),
                Err(e) => {
                    if sent.is_empty() {
                        return Err(e);
                    }
                    warn!(chain = %self.dst.id(), error = %e, "batch refused; the rest waits for the next round");
                    break;
                }
            }
        }
        for (hash, gas, n, items) in sent {
            match self.dst.wait_tx(&hash, Duration::from_secs(60)).await {
                Ok(out) => {
                    self.dst.record_fee(n, out.gas_used, gas);
                    for it in items {
                        self.done(it);
                    }
                    debug!(chain = %self.dst.id(), tx = %hash, msgs = n, height = out.height, "batch committed");
                }
                Err(e) => {
                    warn!(chain = %self.dst.id(), tx = %hash, error = %e, "batch failed; its packets are retried");
                }
            }
        }
        Ok(())
    }

    fn done(&mut self, it: Item) {
        let (kind, channel, p, t) = match it {
            Item::Recv(k, p, t) => {
                self.recv.remove(&k);
                (PacketMsgKind::Recv, p.destination_channel.clone(), p, t)
            }
            Item::Ack(k, p, _, t) => {
                self.acks.remove(&k);
                (PacketMsgKind::Ack, p.source_channel.clone(), p, t)
            }
            Item::Timeout(k, p, t, info) => {
                self.timeouts.remove(&k);
                let kind = if info.state == ch::State::Closed as i32 {
                    PacketMsgKind::TimeoutOnClose
                } else {
                    PacketMsgKind::Timeout
                };
                (kind, p.source_channel.clone(), p, t)
            }
        };
        self.src
            .metrics()
            .packet_relayed(self.dst.id(), &channel, kind, Some(t.elapsed()));
        if matches!(kind, PacketMsgKind::Recv | PacketMsgKind::Ack) {
            debug!(src = %self.src.id(), dst = %self.dst.id(), channel = %p.source_channel, sequence = p.sequence, kind = kind.as_str(), "relayed");
        } else {
            info!(src = %self.src.id(), dst = %self.dst.id(), channel = %p.source_channel, sequence = p.sequence, kind = kind.as_str(), "timed out");
        }
    }
}

/// Where the proofs of one round come from on the source chain.
#[derive(Clone, Copy)]
struct ProofAt {
    /// Height proofs are queried at.
    query: u64,
    /// Height their app hash is in (`query + 1`).
    proof_height: ibc_proto::ibc::core::client::v1::Height,
    /// The source's latest height (`proof_height`'s revision height).
    latest: u64,
    /// The source's block time at `latest`, ns (timeouts by timestamp).
    latest_time_ns: u128,
}

/// The message that relays `item`, with its proofs from `src`; None for a
/// timeout the source cannot prove yet (its height or time not reached).
async fn build_msg(src: &Chain, item: &Item, at: ProofAt, signer: String) -> ChainResult<Option<Any>> {
    let proof_height = Some(at.proof_height);
    Ok(Some(match item {
        Item::Recv(_, pk, _) => {
            let pr = src
                .prove(
                    &paths::commitment(&pk.source_port, &pk.source_channel, pk.sequence),
                    at.query,
                )
                .await?;
            any(&ch::MsgRecvPacket {
                packet: Some(pk.clone()),
                proof_commitment: pr.proof,
                proof_height,
                signer,
            })
        }
        Item::Ack(_, pk, ack, _) => {
            let pr = src
                .prove(
                    &paths::ack(&pk.destination_port, &pk.destination_channel, pk.sequence),
                    at.query,
                )
                .await?;
            any(&ch::MsgAcknowledgement {
                packet: Some(pk.clone()),
                acknowledgement: ack.clone(),
                proof_acked: pr.proof,
                proof_height,
                signer,
            })
        }
        Item::Timeout(_, pk, _, info) => {
            let th = pk.timeout_height.map(|h| h.revision_height).unwrap_or(0);
            let height_passed = th != 0 && at.latest >= th;
            let time_passed = pk.timeout_timestamp != 0 && at.latest_time_ns >= pk.timeout_timestamp as u128;
            let closed = info.state == ch::State::Closed as i32;
            if !(height_passed || time_passed || closed) {
                return Ok(None);
            }
            let (port, chan) = (&pk.destination_port, &pk.destination_channel);
            let ordered = info.ordering == ch::Order::Ordered as i32;
            let key = if ordered {
                paths::next_sequence_recv(port, chan)
            } else {
                paths::receipt(port, chan, pk.sequence)
            };
            let pr = src.prove(&key, at.query).await?;
            let next_sequence_recv = if ordered {
                let mut b = [0u8; 8];
                let n = pr.value.len().min(8);
                b[8 - n..].copy_from_slice(&pr.value[pr.value.len() - n..]);
                u64::from_be_bytes(b)
            } else {
                pk.sequence
            };
            if closed {
                let close = src.prove(&paths::channel_end(port, chan), at.query).await?;
                any(&ch::MsgTimeoutOnClose {
                    packet: Some(pk.clone()),
                    proof_unreceived: pr.proof,
                    proof_close: close.proof,
                    proof_height,
                    next_sequence_recv,
                    signer,
                    counterparty_upgrade_sequence: 0,
                })
            } else {
                any(&ch::MsgTimeout {
                    packet: Some(pk.clone()),
                    proof_unreceived: pr.proof,
                    proof_height,
                    next_sequence_recv,
                    signer,
                })
            }
        }
    }))
}

/// What `dst` still lacks for a packet to need relaying.
enum Pending {
    /// Its receipt (the packet was sent to `dst`): `UnreceivedPackets`.
    Receipt,
    /// Its ack or timeout (`dst` sent it and still holds the commitment):
    /// `UnreceivedAcks`.
    Commitment,
}

/// `(key, port, channel, sequence)` of the end of `p` on the destination
/// chain: its destination end for a packet to receive there, its source end
/// for a packet that chain sent (acks, timeouts).
fn end_on_dst(k: &PacketKey, p: &ch::Packet, receiving: bool) -> (PacketKey, String, String, u64) {
    let (port, chan) = if receiving {
        (&p.destination_port, &p.destination_channel)
    } else {
        (&p.source_port, &p.source_channel)
    };
    (k.clone(), port.clone(), chan.clone(), p.sequence)
}

/// Of `items` (`(key, port on dst, channel on dst, sequence)`), the keys
/// `dst` no longer needs anything for, asked once per channel.
async fn settled(
    dst: &Chain,
    items: Vec<(PacketKey, String, String, u64)>,
    pending: Pending,
) -> ChainResult<Vec<PacketKey>> {
    let mut groups: BTreeMap<(String, String), Vec<(PacketKey, u64)>> = BTreeMap::new();
    for (k, port, chan, seq) in items {
        groups.entry((port, chan)).or_default().push((k, seq));
    }
    let mut done = Vec::new();
    for ((port, chan), entries) in groups {
        let seqs: Vec<u64> = entries.iter().map(|(_, s)| *s).collect();
        let left = match pending {
            Pending::Receipt => dst.unreceived_packets(&port, &chan, seqs).await?,
            Pending::Commitment => dst.unreceived_acks(&port, &chan, seqs).await?,
        };
        done.extend(
            entries
                .into_iter()
                .filter(|(_, s)| !left.contains(s))
                .map(|(k, _)| k),
        );
    }
    Ok(done)
}

/// One message to build.
#[derive(Debug, Clone)]
enum Item {
    Recv(PacketKey, ch::Packet, Instant),
    Ack(PacketKey, ch::Packet, Vec<u8>, Instant),
    Timeout(PacketKey, ch::Packet, Instant, ChanInfo),
}
