//! `chimera-e2e bench-ics20`: ICS-20 round-trip latency, in blocks and
//! seconds, over a chimerad path and over a Go path, relayed by the same
//! Hermes 1.11 configuration, measured one after the other in one run.
//!
//! Path 1: a chimerad localnet and a Terra Classic `terrad` localnet
//! (clients, connection and transfer channel opened exactly as the devnet
//! and `tests/hermes_chimera.rs` open them: [`devnet::open_transfer_path`]),
//! `uluna` Terra → chimerad and `uchim` chimerad → Terra. Path 2: two
//! `terrad` localnets, the same steps, `uluna` each way. Every chain runs
//! one validator with the same CometBFT `timeout_commit` (read back from
//! every node's `config.toml`; the run fails if they differ).
//!
//! Each direction makes `warmup` uncounted transfers, then `transfers`
//! counted ones, one after the other: `hermes tx ft-transfer` (key `user`)
//! submits the `MsgTransfer` and reports its block; the relaying
//! `hermes start` (key `relayer`) then delivers it. For each packet the
//! harness finds, in CometBFT's tx index (`/tx_search`), the destination
//! block holding its `recv_packet` and the source block holding its
//! `acknowledge_packet`, and waits for both before the next transfer.
//! A block's time is when its height was first visible on the node's RPC
//! (`/status` polled every 25 ms by one thread per chain); block header
//! times give the same intervals up to CometBFT's BFT-time offset and are
//! kept in the details as a cross-check.
//!
//! Each round trip is also split ([`Breakdown`]) into the wait for the
//! block after the packet's (its header proves the packet), Hermes's own
//! time (to its `submitted` log line) and the wait for inclusion, and
//! tagged with how far apart the two chains' blocks land: at equal block
//! time that relative phase decides whether a round trip takes 3 or 4
//! blocks (docs/benchmarks.md), so the Go path's second terrad starts a
//! random fraction of a block after the first instead of in lockstep.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use cosmrs::proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
use cosmrs::proto::prost::Message as _;
use cosmrs::tendermint::Time;

use crate::chimera::{self, chimera_address, ChimeraNet};
use crate::devnet::{self, StepRunner};
use crate::hermes::{
    self, escrow_address, ibc_denom, FtTransfer, Hermes, HermesChain, RECIPIENT_MNEMONIC, TRANSFER_PORT,
};
use crate::keys;
use crate::rpc;
use crate::terra::{self, TerraConfig, TerraLocalnet};

/// Amount of every transfer, in the source chain's native denom.
pub const TRANSFER_AMOUNT: u128 = 1_000;

/// Chain ids of the Go path's two terrad localnets.
pub const PEER_CHAIN_IDS: [&str; 2] = ["localterra-a", "localterra-b"];

/// The Go path measured beside chimerad's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ics20Peer {
    /// Two Terra Classic `terrad` v3.4 localnets (ibc-go v7).
    Terrad,
    /// No peer: the chimerad path alone.
    None,
}

/// What to measure.
///
/// Why: the command line and the smoke test choose sizes; block time,
/// amounts and Hermes's configuration are the same on both paths.
#[derive(Debug, Clone)]
pub struct Ics20Config {
    /// Counted transfers per direction.
    pub transfers: usize,
    /// Uncounted transfers per direction before them (Hermes spawns its
    /// packet worker for a channel on the first packet).
    pub warmup: usize,
    /// CometBFT `timeout_commit` on every chain of the run.
    pub timeout_commit: Duration,
    /// The Go path.
    pub peer: Ics20Peer,
    /// How long after the Go path's first terrad its second one starts;
    /// `None`: a random fraction of `timeout_commit`.
    ///
    /// Why: two identical terrads started together make their blocks in
    /// lockstep (relative phase 0), the worst case for a relayer: each relay
    /// tx reaches the counterparty just after it proposed, and waits one
    /// more block. chimerad and terrad take different times to start, so
    /// path 1 gets an arbitrary phase; the stagger gives path 2 one too.
    pub peer_stagger: Option<Duration>,
    /// The `chimerad` binary; [`chimera::find_chimerad`] when `None`.
    pub chimerad: Option<PathBuf>,
    /// How often `/tx_search` is asked whether a packet was received or
    /// acknowledged.
    pub search_poll: Duration,
    /// How often each chain's `/status` is polled to time its blocks.
    pub height_poll: Duration,
    /// How long one transfer may take from submission to acknowledgement.
    pub wait: Duration,
}

impl Default for Ics20Config {
    fn default() -> Self {
        Self {
            transfers: 10,
            warmup: 1,
            timeout_commit: Duration::from_secs(1),
            peer: Ics20Peer::Terrad,
            peer_stagger: None,
            chimerad: None,
            search_poll: Duration::from_millis(100),
            height_poll: Duration::from_millis(25),
            wait: devnet::WAIT,
        }
    }
}

/// One packet's round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Packet sequence on the source channel.
    pub sequence: u64,
    /// Source block holding the `MsgTransfer`.
    pub send_height: u64,
    /// Destination block holding the `MsgRecvPacket`.
    pub recv_height: u64,
    /// Source block holding the `MsgAcknowledgement`.
    pub ack_height: u64,
    /// Send block visible → recv block visible (RPC, wall clock).
    pub send_to_recv: Duration,
    /// Send block visible → ack block visible.
    pub send_to_ack: Duration,
    /// The same two from block header times (seconds; cross-check).
    pub header_send_to_recv: f64,
    /// Header time of the ack block minus that of the send block.
    pub header_send_to_ack: f64,
    /// Where the time went (absent if Hermes's log did not show both
    /// submissions).
    pub breakdown: Option<Breakdown>,
    /// The two chains' relative block phase: the destination block
    /// visible nearest to the send block's visibility, minus the latter, in
    /// seconds (within half a block interval either way; the same for every
    /// transfer of a run, up to drift). Near 0 the chains commit in
    /// lockstep and every relay tx waits one extra block.
    pub dst_offset: f64,
}

/// Where one round trip's time went, both legs (recv, then ack) summed;
/// the three parts add up to send → ack. From the times blocks became
/// visible and the `submitted` lines of `hermes start`'s log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breakdown {
    /// Waiting for the block after the packet's block on the chain that
    /// holds it (its header carries the app hash the proof is checked
    /// against): send visible → source's next block visible, plus recv
    /// visible → destination's next block visible. Seconds.
    pub proof_block: f64,
    /// Hermes: that next block visible → its tx (client update and
    /// `MsgRecvPacket`, then `MsgAcknowledgement`) submitted. Seconds.
    pub hermes: f64,
    /// Submitted → the block holding the tx visible: waiting for the
    /// counterparty's next block to be proposed and committed. Seconds.
    pub inclusion: f64,
}

impl Sample {
    /// Source blocks from the send's block to the ack's.
    pub fn blocks_to_ack(&self) -> u64 {
        self.ack_height.saturating_sub(self.send_height)
    }
}

/// A balance before the first transfer of a direction and after its last
/// acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// What it is (`receiver ibc/…`, `escrow uluna`).
    pub what: String,
    /// Before.
    pub before: u128,
    /// After.
    pub after: u128,
}

impl Moved {
    /// How much it rose (0 if it fell).
    pub fn rise(&self) -> u128 {
        self.after.saturating_sub(self.before)
    }
}

/// One direction of a path: `transfers` round trips of `denom`.
#[derive(Debug, Clone)]
pub struct DirectionRun {
    /// Source chain id.
    pub src_chain: String,
    /// Destination chain id.
    pub dst_chain: String,
    /// The native denom sent.
    pub denom: String,
    /// Source channel id.
    pub src_channel: String,
    /// Counted transfers.
    pub samples: Vec<Sample>,
    /// Uncounted warm-up transfers (before the counted ones).
    pub warmup: Vec<Sample>,
    /// The receiver's voucher balance on the destination.
    pub receiver: Moved,
    /// The channel's escrow on the source.
    pub escrow: Moved,
}

impl DirectionRun {
    /// Median and max of `f` over the counted samples.
    pub fn stat(&self, f: impl Fn(&Sample) -> f64) -> (f64, f64) {
        let mut v: Vec<f64> = self.samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        (median, v[n - 1])
    }

    /// Source blocks send → ack: (median, max).
    pub fn blocks_to_ack(&self) -> (f64, f64) {
        self.stat(|s| s.blocks_to_ack() as f64)
    }

    /// Seconds send → recv: (median, max).
    pub fn secs_to_recv(&self) -> (f64, f64) {
        self.stat(|s| s.send_to_recv.as_secs_f64())
    }

    /// Seconds send → ack: (median, max).
    pub fn secs_to_ack(&self) -> (f64, f64) {
        self.stat(|s| s.send_to_ack.as_secs_f64())
    }

    /// Medians of the three parts of [`Breakdown`] over the samples that
    /// have one, and how many do.
    pub fn breakdown(&self) -> (Breakdown, usize) {
        let parts: Vec<Breakdown> = self.samples.iter().filter_map(|s| s.breakdown).collect();
        let median = |f: fn(&Breakdown) -> f64| {
            let mut v: Vec<f64> = parts.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => v[n / 2],
                n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            }
        };
        (
            Breakdown {
                proof_block: median(|b| b.proof_block),
                hermes: median(|b| b.hermes),
                inclusion: median(|b| b.inclusion),
            },
            parts.len(),
        )
    }
}

/// One chain of a path.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainInfo {
    /// Chain id.
    pub id: String,
    /// `chimerad` or `terrad`.
    pub daemon: String,
    /// `[consensus] timeout_commit` as its `config.toml` says.
    pub timeout_commit: String,
    /// Mean block interval over the measured transfers (header times).
    pub block_interval: Duration,
}

/// One path: its chains and its directions.
#[derive(Debug, Clone)]
pub struct PathRun {
    /// `chimerad ↔ terrad` or `terrad ↔ terrad`.
    pub name: String,
    /// Both chains, a then b.
    pub chains: Vec<ChainInfo>,
    /// How long after chain a chain b was started (the Go path only).
    pub stagger: Option<Duration>,
    /// a → b, then b → a.
    pub directions: Vec<DirectionRun>,
}

/// Both paths' measurements.
#[derive(Debug, Clone)]
pub struct Ics20Report {
    /// What was measured.
    pub config: Ics20Config,
    /// chimerad ↔ terrad.
    pub chimera: PathRun,
    /// terrad ↔ terrad (absent with [`Ics20Peer::None`]).
    pub peer: Option<PathRun>,
}

impl Ics20Report {
    /// The Markdown tables: block times, then one row per direction and
    /// the ratio rows chimerad path / Go path.
    pub fn markdown(&self) -> String {
        let paths: Vec<&PathRun> = std::iter::once(&self.chimera).chain(&self.peer).collect();
        let mut s = String::from(
            "| chain | daemon | timeout_commit (config.toml) | mean block interval during the transfers |\n\
             |---|---|---|---|\n",
        );
        for p in &paths {
            for c in &p.chains {
                s += &format!(
                    "| {} | {} | {} | {:.3} s |\n",
                    c.id,
                    c.daemon,
                    c.timeout_commit,
                    c.block_interval.as_secs_f64()
                );
            }
        }
        s += "\n| path | direction | transfers | source blocks send→ack (median / max) | s send→recv (median / max) | s send→ack (median / max) |\n\
              |---|---|---|---|---|---|\n";
        for p in &paths {
            for d in &p.directions {
                let (b, bm) = d.blocks_to_ack();
                let (r, rm) = d.secs_to_recv();
                let (a, am) = d.secs_to_ack();
                s += &format!(
                    "| {} | {} {} → {} | {} | {} / {} | {:.2} / {:.2} | {:.2} / {:.2} |\n",
                    p.name,
                    d.denom,
                    d.src_chain,
                    d.dst_chain,
                    d.samples.len(),
                    trim(b),
                    trim(bm),
                    r,
                    rm,
                    a,
                    am
                );
            }
        }
        if let Some(peer) = &self.peer {
            for (c, g) in self.chimera.directions.iter().zip(&peer.directions) {
                let ratio = |x: (f64, f64), y: (f64, f64)| format!("{:.2}x / {:.2}x", x.0 / y.0, x.1 / y.1);
                s += &format!(
                    "| {} / {} | {} → {} vs {} → {} | | {} | {} | {} |\n",
                    self.chimera.name,
                    peer.name,
                    c.src_chain,
                    c.dst_chain,
                    g.src_chain,
                    g.dst_chain,
                    ratio(c.blocks_to_ack(), g.blocks_to_ack()),
                    ratio(c.secs_to_recv(), g.secs_to_recv()),
                    ratio(c.secs_to_ack(), g.secs_to_ack()),
                );
            }
        }
        s += "\n| path | direction | distance between the two chains' blocks (s) | wait for the proof's next block, both legs (s) | Hermes: that block visible → tx submitted, both legs (s) | submitted → included block visible, both legs (s) |\n\
              |---|---|---|---|---|---|\n";
        for p in &paths {
            for d in &p.directions {
                let (b, n) = d.breakdown();
                s += &format!(
                    "| {} | {} {} → {} | {:.2} | {:.2} | {:.2} | {:.2} |{}\n",
                    p.name,
                    d.denom,
                    d.src_chain,
                    d.dst_chain,
                    d.stat(|x| x.dst_offset.abs()).0,
                    b.proof_block,
                    b.hermes,
                    b.inclusion,
                    if n == d.samples.len() {
                        String::new()
                    } else {
                        format!(" ({n} of {} transfers)", d.samples.len())
                    }
                );
            }
        }
        s
    }

    /// Every transfer, warm-ups marked, with heights, wall-clock and header
    /// times, and the balances each direction moved.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for p in std::iter::once(&self.chimera).chain(&self.peer) {
            match p.stagger {
                Some(d) => {
                    s += &format!(
                        "{} (second chain started {:.3}s after the first):\n",
                        p.name,
                        d.as_secs_f64()
                    )
                }
                None => s += &format!("{}:\n", p.name),
            }
            for d in &p.directions {
                s += &format!(
                    "  {} {} → {} (source channel {}):\n",
                    d.denom, d.src_chain, d.dst_chain, d.src_channel
                );
                let all = d
                    .warmup
                    .iter()
                    .map(|x| (true, x))
                    .chain(d.samples.iter().map(|x| (false, x)));
                for (warm, x) in all {
                    let parts = x.breakdown.map_or("no Hermes log match".into(), |b| {
                        format!(
                            "proof block {:.2}s + hermes {:.2}s + inclusion {:.2}s",
                            b.proof_block, b.hermes, b.inclusion
                        )
                    });
                    s += &format!(
                        "    seq {:>3}{} send h{} recv h{} ack h{} ({} blocks): recv {:.2}s ack {:.2}s \
                         (header times: {:.2}s, {:.2}s; destination offset {:+.2}s; {parts})\n",
                        x.sequence,
                        if warm { " (warm-up)" } else { "" },
                        x.send_height,
                        x.recv_height,
                        x.ack_height,
                        x.blocks_to_ack(),
                        x.send_to_recv.as_secs_f64(),
                        x.send_to_ack.as_secs_f64(),
                        x.header_send_to_recv,
                        x.header_send_to_ack,
                        x.dst_offset,
                    );
                }
                for m in [&d.receiver, &d.escrow] {
                    s += &format!("    {}: {} -> {} (+{})\n", m.what, m.before, m.after, m.rise());
                }
            }
        }
        s
    }
}

fn trim(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Runs the chimerad path, then the Go path, each on fresh localnets and a
/// fresh Hermes home, stopped before the next starts.
///
/// Why: the two paths must not share the CPU while either is measured.
pub fn run(config: &Ics20Config) -> Result<Ics20Report> {
    if config.transfers == 0 {
        bail!("bench-ics20: --transfers must be at least 1");
    }
    let started = Instant::now();
    let chimera = run_chimera_path(config, started)?;
    let peer = match config.peer {
        Ics20Peer::Terrad => Some(run_terra_path(config, started)?),
        Ics20Peer::None => None,
    };
    Ok(Ics20Report {
        config: config.clone(),
        chimera,
        peer,
    })
}

fn run_chimera_path(config: &Ics20Config, started: Instant) -> Result<PathRun> {
    let terra_cfg = TerraConfig {
        timeout_commit: config.timeout_commit,
        ..devnet::terra_config()
    };
    let mut chimera_cfg = devnet::chimera_config(devnet::CHIMERA_CHAIN_ID);
    chimera_cfg.timeout_commit = config.timeout_commit;
    chimera_cfg.chimerad = config.chimerad.clone();
    let (mut terra_net, mut chimera_net) = devnet::start_terra_and_chimera(terra_cfg, chimera_cfg)?;
    eprintln!("[{:>6.1?}] ok   terrad and chimerad up", started.elapsed());
    let a = Side::terra(&terra_net);
    let b = Side::chimera(&chimera_net)?;
    let mut hermes = Hermes::new(vec![
        HermesChain::terra(&terra_net),
        HermesChain::chimera(&chimera_net)?,
    ])
    .context("hermes set-up (config validate, keys add)")?;
    let measured = measure_path(config, started, "chimerad ↔ terrad", &mut hermes, &a, &b, None);
    let stopped = hermes
        .stop()
        .map_err(anyhow::Error::from)
        .and_then(|()| chimera_net.stop().map(drop).map_err(anyhow::Error::from))
        .and_then(|()| terra_net.stop().map(drop).map_err(anyhow::Error::from));
    let run = measured?;
    stopped.context("stopping hermes, chimerad and terrad")?;
    Ok(run)
}

fn run_terra_path(config: &Ics20Config, started: Instant) -> Result<PathRun> {
    let start = |id: &str| {
        TerraLocalnet::start(TerraConfig {
            chain_id: id.into(),
            timeout_commit: config.timeout_commit,
            ..devnet::terra_config()
        })
        .with_context(|| format!("starting terrad {id}"))
    };
    let stagger = config.peer_stagger.unwrap_or_else(|| {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let period = config.timeout_commit.as_nanos().max(1);
        Duration::from_nanos((u128::from(nanos) % period) as u64)
    });
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| start(PEER_CHAIN_IDS[0]));
        let y = s.spawn(|| {
            std::thread::sleep(stagger);
            start(PEER_CHAIN_IDS[1])
        });
        (
            x.join().map_err(|_| anyhow!("terrad start-up panicked")),
            y.join().map_err(|_| anyhow!("terrad start-up panicked")),
        )
    });
    let (mut x, mut y) = (x??, y??);
    eprintln!("[{:>6.1?}] ok   two terrad localnets up", started.elapsed());
    let (a, b) = (Side::terra(&x), Side::terra(&y));
    let mut hermes = Hermes::new(vec![HermesChain::terra(&x), HermesChain::terra(&y)])
        .context("hermes set-up (config validate, keys add)")?;
    let measured = measure_path(
        config,
        started,
        "terrad ↔ terrad",
        &mut hermes,
        &a,
        &b,
        Some(stagger),
    );
    let stopped = hermes
        .stop()
        .map_err(anyhow::Error::from)
        .and_then(|()| x.stop().map(drop).map_err(anyhow::Error::from))
        .and_then(|()| y.stop().map(drop).map_err(anyhow::Error::from));
    let run = measured?;
    stopped.context("stopping hermes and terrad")?;
    Ok(run)
}

/// One chain as the transfers see it.
struct Side {
    id: String,
    daemon: &'static str,
    rpc: SocketAddr,
    prefix: &'static str,
    native: &'static str,
    /// Where `[consensus] timeout_commit` is.
    config_toml: PathBuf,
    /// An unfunded account that receives this chain's incoming transfers.
    receiver: String,
}

impl Side {
    fn terra(net: &TerraLocalnet) -> Self {
        Side {
            id: net.chain_id().into(),
            daemon: "terrad",
            rpc: net.rpc_addr(),
            prefix: keys::TERRA_PREFIX,
            native: terra::DENOM,
            config_toml: net.home().join("config/config.toml"),
            receiver: keys::terra_address(RECIPIENT_MNEMONIC)
                .expect("the recipient mnemonic is valid")
                .to_string(),
        }
    }

    fn chimera(net: &ChimeraNet) -> Result<Self> {
        Ok(Side {
            id: net.chain_id().into(),
            daemon: "chimerad",
            rpc: net.rpc_addr(0)?,
            prefix: chimera::CHIMERA_PREFIX,
            native: chimera::DENOM,
            // `chimerad init` puts CometBFT's home under the node's.
            config_toml: net.home(0)?.join("cometbft/config/config.toml"),
            receiver: chimera_address(RECIPIENT_MNEMONIC)?.to_string(),
        })
    }
}

/// Prints one line per step; a failed step reports Hermes's errors and
/// keeps its home.
struct Progress {
    started: Instant,
}

impl StepRunner for Progress {
    fn step<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> Result<T> {
        let t = Instant::now();
        match f(hermes) {
            Ok(v) => {
                eprintln!(
                    "[{:>6.1?}] ok   {name} ({:.1?})",
                    self.started.elapsed(),
                    t.elapsed()
                );
                Ok(v)
            }
            Err(e) => Err(hermes_failure(hermes, name, &e)),
        }
    }
}

fn hermes_failure(hermes: &mut Hermes, name: &str, e: &dyn Display) -> anyhow::Error {
    let errors: Vec<String> = hermes.log_lines_with("ERROR").into_iter().take(10).collect();
    anyhow!(
        "bench-ics20 step failed: {name}: {e}\nhermes home (kept): {}\n{}",
        hermes.keep_home().display(),
        errors.join("\n")
    )
}

/// Opens the path (clients, connection, channel, `hermes start`), then
/// measures a → b and b → a.
fn measure_path(
    config: &Ics20Config,
    started: Instant,
    name: &str,
    hermes: &mut Hermes,
    a: &Side,
    b: &Side,
    stagger: Option<Duration>,
) -> Result<PathRun> {
    let mut progress = Progress { started };
    let mut timeouts = Vec::new();
    for side in [a, b] {
        let got = read_timeout_commit(&side.config_toml)?;
        if got != config.timeout_commit {
            bail!(
                "{}: timeout_commit is {got:?} in {}, expected {:?}",
                side.id,
                side.config_toml.display(),
                config.timeout_commit
            );
        }
        timeouts.push(got);
    }
    let path = devnet::open_transfer_path(&mut progress, hermes, &a.id, &b.id, |_, _, _| Ok(()))?;
    let clock_a = HeightClock::start(a.rpc, config.height_poll);
    let clock_b = HeightClock::start(b.rpc, config.height_poll);
    let mut directions = Vec::new();
    for (src, dst, src_channel, dst_channel, src_clock, dst_clock) in [
        (a, b, &path.channel.a, &path.channel.b, &clock_a, &clock_b),
        (b, a, &path.channel.b, &path.channel.a, &clock_b, &clock_a),
    ] {
        let ends = Ends {
            src,
            dst,
            src_channel,
            dst_channel,
            src_clock,
            dst_clock,
        };
        directions.push(measure_direction(config, &mut progress, hermes, &ends)?);
    }
    // Block intervals from header times over the measured span of each
    // chain (its sends and acks as a source, its recvs as a destination).
    let mut chains = Vec::new();
    for (side, timeout) in [a, b].into_iter().zip(timeouts) {
        let heights: Vec<u64> = directions
            .iter()
            .flat_map(|d| {
                d.samples.iter().flat_map(move |s| {
                    if d.src_chain == side.id {
                        vec![s.send_height, s.ack_height]
                    } else {
                        vec![s.recv_height]
                    }
                })
            })
            .collect();
        let lo = heights.iter().copied().min().unwrap_or(0);
        let hi = heights.iter().copied().max().unwrap_or(0);
        let block_interval = if hi > lo {
            let span = header_time(side.rpc, hi)?.unix_timestamp_nanos()
                - header_time(side.rpc, lo)?.unix_timestamp_nanos();
            Duration::from_nanos((span.max(0) as u128 / u128::from(hi - lo)) as u64)
        } else {
            Duration::ZERO
        };
        chains.push(ChainInfo {
            id: side.id.clone(),
            daemon: side.daemon.into(),
            timeout_commit: format!("{}ms", timeout.as_millis()),
            block_interval,
        });
    }
    Ok(PathRun {
        name: name.into(),
        chains,
        stagger,
        directions,
    })
}

/// The two chains of one direction and their clocks.
struct Ends<'a> {
    src: &'a Side,
    dst: &'a Side,
    src_channel: &'a str,
    dst_channel: &'a str,
    src_clock: &'a HeightClock,
    dst_clock: &'a HeightClock,
}

fn measure_direction(
    config: &Ics20Config,
    progress: &mut Progress,
    hermes: &mut Hermes,
    e: &Ends<'_>,
) -> Result<DirectionRun> {
    let (src, dst) = (e.src, e.dst);
    let voucher = ibc_denom(&format!("{TRANSFER_PORT}/{}/{}", e.dst_channel, src.native));
    let escrow = escrow_address(TRANSFER_PORT, e.src_channel, src.prefix)?;
    let receiver_before = balance(dst.rpc, &dst.receiver, &voucher)?;
    let escrow_before = balance(src.rpc, &escrow, src.native)?;
    let transfer = FtTransfer {
        src_chain: src.id.clone(),
        dst_chain: dst.id.clone(),
        src_channel: e.src_channel.into(),
        amount: TRANSFER_AMOUNT,
        denom: src.native.into(),
        key_name: "user".into(),
        receiver: dst.receiver.clone(),
        timeout_height_offset: 1_000,
        timeout_seconds: 0,
    };
    let (mut warmup, mut samples) = (Vec::new(), Vec::new());
    for i in 0..config.warmup + config.transfers {
        let label = format!(
            "{}{TRANSFER_AMOUNT}{} {} -> {}",
            if i < config.warmup { "warm-up " } else { "" },
            src.native,
            src.id,
            dst.id
        );
        let sent = hermes
            .ft_transfer(&transfer)
            .map_err(|err| hermes_failure(hermes, &format!("ft-transfer {label}"), &err))?;
        if sent.height == 0 {
            bail!(
                "ft-transfer {label}: Hermes reported no height for packet {}",
                sent.sequence
            );
        }
        let sample = wait_round_trip(config, hermes, e, sent.sequence, sent.height)
            .map_err(|err| hermes_failure(hermes, &format!("round trip of {label}"), &err))?;
        eprintln!(
            "[{:>6.1?}] ok   {label}: seq {} h{} -> recv h{} ({:.2}s) -> ack h{} ({:.2}s, {} blocks)",
            progress.started.elapsed(),
            sample.sequence,
            sample.send_height,
            sample.recv_height,
            sample.send_to_recv.as_secs_f64(),
            sample.ack_height,
            sample.send_to_ack.as_secs_f64(),
            sample.blocks_to_ack(),
        );
        if i < config.warmup {
            warmup.push(sample);
        } else {
            samples.push(sample);
        }
    }
    let receiver = Moved {
        what: format!("receiver {} on {}: {voucher}", dst.receiver, dst.id),
        before: receiver_before,
        after: balance(dst.rpc, &dst.receiver, &voucher)?,
    };
    let escrow = Moved {
        what: format!("escrow {escrow} on {}: {}", src.id, src.native),
        before: escrow_before,
        after: balance(src.rpc, &escrow, src.native)?,
    };
    let sent_total = TRANSFER_AMOUNT * (config.warmup + config.transfers) as u128;
    for m in [&receiver, &escrow] {
        if m.after != m.before + sent_total {
            bail!("{}: {} -> {}, expected +{sent_total}", m.what, m.before, m.after);
        }
    }
    Ok(DirectionRun {
        src_chain: src.id.clone(),
        dst_chain: dst.id.clone(),
        denom: src.native.into(),
        src_channel: e.src_channel.into(),
        samples,
        warmup,
        receiver,
        escrow,
    })
}

/// Waits until packet `sequence`, sent in source block `send_height`, is
/// received on the destination and acknowledged on the source; times it.
fn wait_round_trip(
    config: &Ics20Config,
    hermes: &mut Hermes,
    e: &Ends<'_>,
    sequence: u64,
    send_height: u64,
) -> Result<Sample> {
    let deadline = Instant::now() + config.wait;
    let (mut recv, mut ack) = (None, None);
    let mut last_error = String::new();
    while ack.is_none() {
        if recv.is_none() {
            match packet_tx_height(
                e.dst.rpc,
                "recv_packet",
                "packet_dst_channel",
                e.dst_channel,
                sequence,
            ) {
                Ok(h) => recv = h,
                Err(err) => last_error = err,
            }
        }
        if recv.is_some() {
            match packet_tx_height(
                e.src.rpc,
                "acknowledge_packet",
                "packet_src_channel",
                e.src_channel,
                sequence,
            ) {
                Ok(h) => ack = h,
                Err(err) => last_error = err,
            }
        }
        if ack.is_some() {
            break;
        }
        if Instant::now() > deadline || !hermes.is_running() {
            bail!(
                "packet {sequence} on {}: received on {}: {recv:?}, acknowledged: {ack:?} after {:?} \
                 (hermes running: {}; last query error: {last_error:?})",
                e.src_channel,
                e.dst.id,
                config.wait,
                hermes.is_running()
            );
        }
        std::thread::sleep(config.search_poll);
    }
    let (recv_height, ack_height) = (recv.unwrap_or(0), ack.unwrap_or(0));
    let timeout = Duration::from_secs(10);
    let sent = e.src_clock.seen(send_height, timeout)?;
    let recv = e.dst_clock.seen(recv_height, timeout)?;
    let ack = e.src_clock.seen(ack_height, timeout)?;
    // Hermes relays the recv from the send's events (proof height = send
    // height) and the ack from the recv's (proof height = recv height).
    let log = hermes.home().join(hermes::HERMES_LOG);
    let recv_submitted = hermes_submitted(&log, &e.src.id, e.src_channel, send_height);
    let ack_submitted = hermes_submitted(&log, &e.dst.id, e.dst_channel, recv_height);
    let breakdown = match (recv_submitted, ack_submitted) {
        (Some(rs), Some(acs)) => {
            let src_next = e.src_clock.seen(send_height + 1, timeout)?.unix_ns;
            let dst_next = e.dst_clock.seen(recv_height + 1, timeout)?.unix_ns;
            let secs = |ns: i128| ns as f64 / 1e9;
            Some(Breakdown {
                proof_block: secs((src_next - sent.unix_ns) + (dst_next - recv.unix_ns)),
                hermes: secs((rs - src_next) + (acs - dst_next)),
                inclusion: secs((recv.unix_ns - rs) + (ack.unix_ns - acs)),
            })
        }
        _ => None,
    };
    let header = |rpc, h| header_time(rpc, h).map(|t| t.unix_timestamp_nanos());
    let sent_t = header(e.src.rpc, send_height)?;
    let secs = |t: i128| (t - sent_t) as f64 / 1e9;
    Ok(Sample {
        sequence,
        send_height,
        recv_height,
        ack_height,
        send_to_recv: recv.at.saturating_duration_since(sent.at),
        send_to_ack: ack.at.saturating_duration_since(sent.at),
        header_send_to_recv: secs(header(e.dst.rpc, recv_height)?),
        header_send_to_ack: secs(header(e.src.rpc, ack_height)?),
        breakdown,
        dst_offset: e
            .dst_clock
            .nearest(sent.unix_ns)
            .map_or(f64::NAN, |n| (n.unix_ns - sent.unix_ns) as f64 / 1e9),
    })
}

/// When `hermes start` logged `submitted` for the relay of the packet
/// events of block `height` on `src_chain`'s `src_channel` (its `relay{odata=…
/// ->Destination @REV-HEIGHT; …}` span), as Unix nanoseconds.
///
/// Why: splits a leg into Hermes's own time and the wait for blocks.
fn hermes_submitted(log: &Path, src_chain: &str, src_channel: &str, height: u64) -> Option<i128> {
    let worker =
        format!("worker.packet.cmd{{src_chain={src_chain} src_port=transfer src_channel={src_channel} ");
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter(|l| l.ends_with(": submitted") && l.contains(&worker))
        .find(|l| {
            l.split("->Destination @")
                .nth(1)
                .and_then(|r| r.split(';').next())
                .and_then(|r| r.rsplit('-').next())
                .and_then(|h| h.parse::<u64>().ok())
                == Some(height)
        })
        .and_then(|l| Time::parse_from_rfc3339(l.split_whitespace().next()?).ok())
        .map(|t| t.unix_timestamp_nanos())
}

/// When a height was first visible: monotonic, and as Unix nanoseconds
/// (to compare with Hermes's log).
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Instant,
    unix_ns: i128,
}

/// When each height of one chain was first visible on its RPC, recorded
/// by a thread polling `/status` until dropped.
struct HeightClock {
    seen: Arc<Mutex<BTreeMap<u64, Seen>>>,
    stop: Arc<AtomicBool>,
    rpc: SocketAddr,
    handle: Option<JoinHandle<()>>,
}

impl HeightClock {
    fn start(rpc: SocketAddr, poll: Duration) -> Self {
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut last = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(s) = rpc::status(rpc) {
                        let now = Seen {
                            at: Instant::now(),
                            unix_ns: SystemTime::now()
                                .duration_since(SystemTime::UNIX_EPOCH)
                                .map_or(0, |d| d.as_nanos() as i128),
                        };
                        if s.latest_height > last {
                            let from = if last == 0 { s.latest_height } else { last + 1 };
                            let mut map = seen.lock().unwrap_or_else(|e| e.into_inner());
                            for h in from..=s.latest_height {
                                map.insert(h, now);
                            }
                            last = s.latest_height;
                        }
                    }
                    std::thread::sleep(poll);
                }
            })
        };
        Self {
            seen,
            stop,
            rpc,
            handle: Some(handle),
        }
    }

    /// When `height` was first visible (waits up to `timeout` for it).
    fn seen(&self, height: u64, timeout: Duration) -> Result<Seen> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = seen.get(&height) {
                return Ok(*t);
            }
            if seen.keys().next().is_some_and(|first| *first > height) {
                bail!(
                    "RPC {}: height {height} was visible before timing started",
                    self.rpc
                );
            }
            drop(seen);
            if Instant::now() > deadline {
                bail!("RPC {}: height {height} not seen within {timeout:?}", self.rpc);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl HeightClock {
    /// The height whose visibility was nearest to `unix_ns`.
    fn nearest(&self, unix_ns: i128) -> Option<Seen> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.values().min_by_key(|s| (s.unix_ns - unix_ns).abs()).copied()
    }
}

impl Drop for HeightClock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The lowest height of a successful tx with event `event` for packet
/// `sequence` on channel `channel` (attribute `channel_key`), from
/// CometBFT's `/tx_search`; `None` while there is none.
///
/// Why: both chimerad (every IBC attribute indexed) and the SDK index
/// packet events, so the same query finds a packet's block on either.
fn packet_tx_height(
    rpc: SocketAddr,
    event: &str,
    channel_key: &str,
    channel: &str,
    sequence: u64,
) -> Result<Option<u64>, String> {
    let query = format!("\"{event}.packet_sequence='{sequence}' AND {event}.{channel_key}='{channel}'\"");
    let path = format!("/tx_search?query={}&per_page=30", percent_encode(&query));
    let r = chimera::rpc_result_at(rpc, &path, Duration::from_secs(5))?;
    let txs = r
        .get("txs")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    Ok(txs
        .iter()
        .filter(|t| t.pointer("/tx_result/code").and_then(|c| c.as_u64()).unwrap_or(0) == 0)
        .filter_map(|t| t.get("height")?.as_str()?.parse::<u64>().ok())
        .min())
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

/// The header time of block `height`.
fn header_time(rpc: SocketAddr, height: u64) -> Result<Time> {
    let r = chimera::rpc_result_at(rpc, &format!("/block?height={height}"), Duration::from_secs(5))
        .map_err(|e| anyhow!("RPC {rpc} /block?height={height}: {e}"))?;
    let time = r
        .pointer("/block/header/time")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("RPC {rpc}: block {height} has no header time"))?;
    Time::parse_from_rfc3339(time).map_err(|e| anyhow!("block {height} time {time:?}: {e}"))
}

/// The `denom` balance of `address` over ABCI
/// `cosmos.bank.v1beta1.Query/Balance` (chimerad and the SDK both answer
/// it), at the latest height.
fn balance(rpc: SocketAddr, address: &str, denom: &str) -> Result<u128> {
    let req = QueryBalanceRequest {
        address: address.into(),
        denom: denom.into(),
    };
    let a = chimera::abci_query_at(rpc, "/cosmos.bank.v1beta1.Query/Balance", &req.encode_to_vec())
        .map_err(|e| anyhow!("RPC {rpc}: balance of {address}: {e}"))?;
    if a.code != 0 {
        bail!("RPC {rpc}: balance of {address}: code {}: {}", a.code, a.log);
    }
    let amount = QueryBalanceResponse::decode(a.value.as_slice())?
        .balance
        .map(|c| c.amount)
        .unwrap_or_default();
    if amount.is_empty() {
        return Ok(0);
    }
    amount
        .parse()
        .map_err(|_| anyhow!("RPC {rpc}: balance of {address}: {amount:?}"))
}

/// `[consensus] timeout_commit` of a CometBFT `config.toml` (a Go duration
/// in `ms` or `s`).
///
/// Why: the comparison is only fair if every chain of the run makes blocks
/// at the same pace; the harness checks what the nodes actually read.
pub fn read_timeout_commit(config_toml: &Path) -> Result<Duration> {
    let text =
        std::fs::read_to_string(config_toml).with_context(|| format!("reading {}", config_toml.display()))?;
    let mut section = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[consensus]" {
            if let Some(v) = line.strip_prefix("timeout_commit") {
                let v = v.trim_start().trim_start_matches('=').trim().trim_matches('"');
                return parse_go_duration(v)
                    .ok_or_else(|| anyhow!("{}: timeout_commit = {v:?}", config_toml.display()));
            }
        }
    }
    bail!("{}: no [consensus] timeout_commit", config_toml.display())
}

fn parse_go_duration(v: &str) -> Option<Duration> {
    if let Some(ms) = v.strip_suffix("ms") {
        return ms.parse::<f64>().ok().map(|x| Duration::from_secs_f64(x / 1e3));
    }
    v.strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timeout_commit_from_config_toml() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(
            &p,
            "[rpc]\ntimeout_commit = \"9s\"\n[consensus]\ntimeout_propose = \"3s\"\ntimeout_commit = \"1000ms\"\n",
        )
        .unwrap();
        assert_eq!(read_timeout_commit(&p).unwrap(), Duration::from_secs(1));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("5m"), None);
    }

    #[test]
    fn stats_are_median_and_max() {
        let sample = |blocks: u64, secs: f64| Sample {
            sequence: 1,
            send_height: 10,
            recv_height: 5,
            ack_height: 10 + blocks,
            send_to_recv: Duration::from_secs_f64(secs / 2.0),
            send_to_ack: Duration::from_secs_f64(secs),
            header_send_to_recv: 0.0,
            header_send_to_ack: 0.0,
            breakdown: None,
            dst_offset: 0.0,
        };
        let moved = Moved {
            what: String::new(),
            before: 0,
            after: 0,
        };
        let d = DirectionRun {
            src_chain: "a".into(),
            dst_chain: "b".into(),
            denom: "uluna".into(),
            src_channel: "channel-0".into(),
            samples: vec![sample(4, 3.0), sample(6, 5.0), sample(5, 4.0), sample(5, 9.0)],
            warmup: vec![],
            receiver: moved.clone(),
            escrow: moved,
        };
        assert_eq!(d.blocks_to_ack(), (5.0, 6.0));
        assert_eq!(d.secs_to_ack(), (4.5, 9.0));
    }

    #[test]
    fn finds_hermes_submissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hermes.log");
        let line = |t: &str, chain: &str, h: u64, what: &str| {
            format!(
                "2026-11-26T20:53:{t}Z  INFO ThreadId(20) worker.batch{{chain={chain}}}:worker.packet.cmd{{src_chain={chain} \
                 src_port=transfer src_channel=channel-0 dst_chain=x}}:relay{{odata=2cfd2746 ->Destination @1-{h}; len=1}}: {what}\n"
            )
        };
        let text = line("38.040510", "localterra-1", 30, "assembled batch of 2 message(s)")
            + &line("38.044710", "localterra-1", 30, "submitted")
            + &line("39.165092", "chimera-localnet-1", 31, "submitted");
        std::fs::write(&p, text).unwrap();
        let t = hermes_submitted(&p, "localterra-1", "channel-0", 30).unwrap();
        let want = Time::parse_from_rfc3339("2026-11-26T20:53:38.044710Z").unwrap();
        assert_eq!(t, want.unix_timestamp_nanos());
        assert!(hermes_submitted(&p, "localterra-1", "channel-0", 31).is_none());
        assert!(hermes_submitted(&p, "chimera-localnet-1", "channel-1", 31).is_none());
        assert!(hermes_submitted(&p, "chimera-localnet-1", "channel-0", 31).is_some());
    }

    #[test]
    fn encodes_tx_search_queries() {
        assert_eq!(
            percent_encode("\"recv_packet.packet_sequence='1'\""),
            "%22recv_packet.packet_sequence%3D%271%27%22"
        );
    }
}
