//! `chimera relay` against Hermes 1.11 on the same localnet paths, one
//! after the other in one run: a burst of ICS-20 transfers Terra Classic →
//! chimerad, and a burst of inference requests chimerad A → chimerad B
//! (`digits-cnn`, asynchronous acks). Per relayer: packets per second
//! (first send to last ack back), p50/p99 latency from a packet's
//! broadcast to its acknowledgement on the source (the commitment gone),
//! the relayer's transactions (account sequence growth on both chains),
//! the fees it paid, and its peak RSS (`VmHWM`).
//!
//! Both relayers run the same settings: 30 messages per tx, gas by
//! simulation × 1.3, the same gas prices, push events. The path is opened
//! once (by `chimera create channel`) and reused, so neither pays for it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chimera_relayer::chain::Chain;
use cosmrs::Any;

use crate::bank;
use crate::chimera::{self, ChimeraNet};
use crate::devnet::{chimera_config, start_terra_and_chimera, terra_config};
use crate::hermes::{Hermes, HermesChain, RECIPIENT_MNEMONIC};
use crate::inference::{self, request_inference_msg, Job, GOLDEN_SEVEN};
use crate::keys;
use crate::relayer::{rt, user_chain, ChimeraRelayer, Relayer};
use crate::terra;

/// What to run.
#[derive(Debug, Clone)]
pub struct RelayerBenchConfig {
    /// Packets per burst.
    pub packets: usize,
    /// Messages per user tx of the burst.
    pub per_tx: usize,
    /// Run the ICS-20 path.
    pub ics20: bool,
    /// Run the inference path.
    pub inference: bool,
    /// The chimerad binary (None: the harness default).
    pub chimerad: Option<PathBuf>,
    /// Longest wait for one burst to be acknowledged.
    pub deadline: Duration,
    /// Run `chimera relay` first on each path (default: Hermes first). The
    /// second run proves against a state grown by the first burst's
    /// receipts and acks (deeper trees, longer proofs, more gas), so fee
    /// comparisons need both orders.
    pub chimera_first: bool,
}

impl Default for RelayerBenchConfig {
    fn default() -> Self {
        Self {
            packets: 1000,
            per_tx: 25,
            ics20: true,
            inference: true,
            chimerad: None,
            deadline: Duration::from_secs(900),
            chimera_first: false,
        }
    }
}

/// One relayer on one burst.
#[derive(Debug, Clone)]
pub struct Run {
    /// `ics20` or `inference`.
    pub path: &'static str,
    /// `hermes` or `chimera relay`.
    pub relayer: &'static str,
    /// Packets acknowledged.
    pub packets: usize,
    /// First broadcast to last ack.
    pub elapsed: Duration,
    /// Broadcast-to-ack latency of each packet, sorted.
    pub latencies: Vec<Duration>,
    /// The relayer's txs on (source, destination).
    pub txs: (u64, u64),
    /// Fees it paid on (source, destination), in their fee denoms.
    pub fees: (u128, u128),
    /// Fee denoms of (source, destination).
    pub denoms: (String, String),
    /// Peak resident memory of the relay process, KiB.
    pub peak_rss_kib: u64,
}

impl Run {
    /// Packets per second.
    pub fn rate(&self) -> f64 {
        self.packets as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile of latency (nearest rank).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[i]
    }
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct RelayerReport {
    /// Every (path, relayer).
    pub runs: Vec<Run>,
}

impl RelayerReport {
    /// Markdown for docs/benchmarks.md: one row per run, then the ratios.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| path | relayer | packets | s | packets/s | p50 | p99 | relayer txs (src + dst) | fees src | fees dst | peak RSS |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &self.runs {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.1} | {:.1} | {:.2} s | {:.2} s | {} + {} | {} {} | {} {} | {:.0} MiB |",
                r.path,
                r.relayer,
                r.packets,
                r.elapsed.as_secs_f64(),
                r.rate(),
                r.quantile(0.5).as_secs_f64(),
                r.quantile(0.99).as_secs_f64(),
                r.txs.0,
                r.txs.1,
                r.fees.0,
                r.denoms.0,
                r.fees.1,
                r.denoms.1,
                r.peak_rss_kib as f64 / 1024.0
            );
        }
        for path in ["ics20", "inference"] {
            let h = self.runs.iter().find(|r| r.path == path && r.relayer == "hermes");
            let c = self
                .runs
                .iter()
                .find(|r| r.path == path && r.relayer == "chimera relay");
            if let (Some(h), Some(c)) = (h, c) {
                let fees = |r: &Run| r.fees.0 as f64 + r.fees.1 as f64;
                let _ = writeln!(
                    s,
                    "\n{path}: chimera relay / Hermes: throughput {:.2}×, p99 latency {:.2}×, txs {:.2}×, fees {:.2}×, peak RSS {:.2}×",
                    c.rate() / h.rate(),
                    c.quantile(0.99).as_secs_f64() / h.quantile(0.99).as_secs_f64(),
                    (c.txs.0 + c.txs.1) as f64 / (h.txs.0 + h.txs.1).max(1) as f64,
                    fees(c) / fees(h).max(1.0),
                    c.peak_rss_kib as f64 / h.peak_rss_kib.max(1) as f64
                );
            }
        }
        s
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The relayer account's (sequence, fee balance) on a chain.
fn account(c: &HermesChain, address: &str) -> Result<(u64, u128)> {
    let bal = rt().block_on(bank::balance(&c.grpc_addr, address, &c.gas_denom))?;
    let seq = rt().block_on(async {
        let mut q =
            cosmrs::proto::cosmos::auth::v1beta1::query_client::QueryClient::connect(c.grpc_addr.clone())
                .await?;
        let r = q
            .account(cosmrs::proto::cosmos::auth::v1beta1::QueryAccountRequest {
                address: address.into(),
            })
            .await?;
        let any = r.into_inner().account.unwrap_or_default();
        let base = <cosmrs::proto::cosmos::auth::v1beta1::BaseAccount as prost::Message>::decode(
            any.value.as_slice(),
        )?;
        anyhow::Ok(base.sequence)
    })?;
    Ok((seq, bal))
}

/// The relayer account address on `c` (its first key).
fn relayer_address(c: &HermesChain) -> Result<String> {
    let coin = if c.account_prefix == keys::TERRA_PREFIX {
        keys::TERRA_COIN_TYPE
    } else {
        keys::COSMOS_COIN_TYPE
    };
    Ok(keys::address(&c.keys[0].mnemonic, coin, &c.account_prefix)?.to_string())
}

/// A path a burst crosses: packets from `sender` on `src`'s `port`/`channel`
/// to `dst`.
struct BurstPath<'a> {
    name: &'static str,
    src: &'a HermesChain,
    dst: &'a HermesChain,
    sender: &'a Arc<Chain>,
    port: &'a str,
    channel: &'a str,
}

/// One burst of `msgs` on `path`, relayed by `relayer`, until every
/// commitment is gone from the source.
fn burst<R: Relayer + ?Sized>(
    path: &BurstPath,
    relayer: &mut R,
    msgs: Vec<Any>,
    per_tx: usize,
    deadline: Duration,
) -> Result<Run> {
    let BurstPath {
        name: path_name,
        src,
        dst,
        sender,
        port,
        channel,
    } = *path;
    let path = path_name;
    relayer
        .start_relaying(Duration::from_secs(120))
        .map_err(|e| anyhow::anyhow!("{}: {e}", relayer.label()))?;
    std::thread::sleep(Duration::from_secs(3));
    let (ra, rb) = (relayer_address(src)?, relayer_address(dst)?);
    let (s0, d0) = (account(src, &ra)?, account(dst, &rb)?);
    let packets = msgs.len();
    let started = Instant::now();
    let mut sent = Vec::new();
    for chunk in msgs.chunks(per_tx) {
        let t = started.elapsed();
        let (hash, _) = rt().block_on(sender.submit(chunk.to_vec()))?;
        sent.push((hash, t));
    }
    // Sequences of each tx's packets, with that tx's broadcast time.
    let mut send_time = std::collections::HashMap::new();
    for (hash, t) in &sent {
        let out = rt().block_on(sender.wait_tx(hash, Duration::from_secs(120)))?;
        for e in out.events.iter().filter(|e| e.kind == "send_packet") {
            let seq = e
                .attributes
                .iter()
                .find(|a| a.key_bytes() == b"packet_sequence")
                .and_then(|a| a.value_str().ok()?.parse::<u64>().ok());
            if let Some(seq) = seq {
                send_time.insert(seq, *t);
            }
        }
    }
    if send_time.len() != packets {
        bail!(
            "{path}: {} send_packet events for {packets} messages",
            send_time.len()
        );
    }
    let mut latencies = Vec::with_capacity(packets);
    let mut pending: std::collections::BTreeSet<u64> = send_time.keys().copied().collect();
    let mut last = Duration::ZERO;
    while !pending.is_empty() {
        if started.elapsed() > deadline {
            bail!(
                "{path} with {}: {} of {packets} packets not acknowledged within {deadline:?}",
                relayer.label(),
                pending.len()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
        let now = started.elapsed();
        let Ok(left) = rt().block_on(sender.packet_commitments(port, channel)) else {
            continue;
        };
        let left: std::collections::BTreeSet<u64> = left.into_iter().collect();
        let done: Vec<u64> = pending.iter().copied().filter(|s| !left.contains(s)).collect();
        for s in done {
            pending.remove(&s);
            latencies.push(now.saturating_sub(send_time[&s]));
            last = now;
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let peak = relayer.relay_pid().map(peak_rss_kib).unwrap_or(0);
    let problems = relayer.problems(8);
    if !problems.is_empty() {
        eprintln!(
            "  {} ERROR/WARN lines during the burst (first 8):",
            relayer.label()
        );
        for p in problems {
            eprintln!("    {}", p.chars().take(400).collect::<String>());
        }
    }
    if std::env::var_os("CHIMERA_E2E_KEEP_RELAYER_HOMES").is_some() {
        eprintln!("  {} home kept: {}", relayer.label(), relayer.keep().display());
    }
    let (s1, d1) = (account(src, &ra)?, account(dst, &rb)?);
    relayer
        .stop_relaying()
        .map_err(|e| anyhow::anyhow!("{}: {e}", relayer.label()))?;
    latencies.sort();
    let run = Run {
        path,
        relayer: relayer.label(),
        packets,
        elapsed: last,
        latencies,
        txs: (s1.0 - s0.0, d1.0 - d0.0),
        fees: (s0.1.saturating_sub(s1.1), d0.1.saturating_sub(d1.1)),
        denoms: (src.gas_denom.clone(), dst.gas_denom.clone()),
        peak_rss_kib: peak,
    };
    eprintln!(
        "  {path} / {}: {packets} packets in {:.1?} ({:.1}/s), p50 {:.2?}, p99 {:.2?}, txs {}+{}",
        run.relayer,
        run.elapsed,
        run.rate(),
        run.quantile(0.5),
        run.quantile(0.99),
        run.txs.0,
        run.txs.1
    );
    Ok(run)
}

/// Runs the benchmark.
pub fn run(config: &RelayerBenchConfig) -> Result<RelayerReport> {
    if let Some(c) = &config.chimerad {
        std::env::set_var("CHIMERAD", c);
    }
    let mut report = RelayerReport::default();
    let users = tempfile::tempdir()?;
    if config.ics20 {
        eprintln!("ICS-20: Terra Classic → chimerad, {} transfers", config.packets);
        let (terra_net, chimera_net) =
            start_terra_and_chimera(terra_config(), chimera_config(chimera::DEFAULT_CHAIN_ID))?;
        let (tc, cc) = (
            HermesChain::terra(&terra_net),
            HermesChain::chimera(&chimera_net)?,
        );
        let mut ours = ChimeraRelayer::new(vec![tc.clone(), cc.clone()])?;
        let (chan_t, _, _) = ours.create_channel(&tc.id, &cc.id, "transfer", "transfer", "ics20-1", None)?;
        let sender = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
        let receiver = chimera::chimera_address(RECIPIENT_MNEMONIC)?.to_string();
        let msgs = |n: usize| -> Vec<Any> {
            (0..n)
                .map(|_| {
                    chimera_relayer::light::any(&ibc_proto::ibc::applications::transfer::v1::MsgTransfer {
                        source_port: "transfer".into(),
                        source_channel: chan_t.clone(),
                        token: Some(ibc_proto::cosmos::base::v1beta1::Coin {
                            denom: terra::DENOM.into(),
                            amount: "1".into(),
                        }),
                        sender: sender.address.clone(),
                        receiver: receiver.clone(),
                        timeout_height: Some(Default::default()),
                        timeout_timestamp: unix_ns(Duration::from_secs(3600)),
                        memo: String::new(),
                    })
                })
                .collect()
        };
        let path = BurstPath {
            name: "ics20",
            src: &tc,
            dst: &cc,
            sender: &sender,
            port: "transfer",
            channel: &chan_t,
        };
        report.runs.extend(both(config, &mut ours, &path, msgs)?);
    }
    if config.inference {
        eprintln!(
            "inference: chimerad A → chimerad B, {} digits-cnn requests",
            config.packets
        );
        let (a_net, b_net) = std::thread::scope(|s| {
            let a = s.spawn(|| ChimeraNet::start(chimera_config("chimera-req-a")));
            let b = s.spawn(|| ChimeraNet::start(chimera_config("chimera-host-b")));
            (a.join(), b.join())
        });
        let a_net = a_net.map_err(|_| anyhow::anyhow!("chimerad A panicked"))??;
        let b_net = b_net.map_err(|_| anyhow::anyhow!("chimerad B panicked"))??;
        let (ac, bc) = (HermesChain::chimera(&a_net)?, HermesChain::chimera(&b_net)?);
        let mut ours = ChimeraRelayer::new(vec![ac.clone(), bc.clone()])?;
        let (chan_a, _, _) = ours
            .create_channel(
                &ac.id,
                &bc.id,
                inference::PORT,
                inference::PORT,
                inference::VERSION,
                None,
            )
            .context("inference channel")?;
        let sender = user_chain(&ac, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
        let job = Job::digits_cnn(&GOLDEN_SEVEN);
        let msgs = |n: usize| -> Vec<Any> {
            (0..n)
                .map(|_| {
                    request_inference_msg(&sender.address, &chan_a, &job, unix_ns(Duration::from_secs(3600)))
                })
                .collect()
        };
        let path = BurstPath {
            name: "inference",
            src: &ac,
            dst: &bc,
            sender: &sender,
            port: inference::PORT,
            channel: &chan_a,
        };
        report.runs.extend(both(config, &mut ours, &path, msgs)?);
    }
    Ok(report)
}

/// The same burst through Hermes and through `ours`, in the configured
/// order, on one path.
fn both(
    config: &RelayerBenchConfig,
    ours: &mut ChimeraRelayer,
    path: &BurstPath,
    msgs: impl Fn(usize) -> Vec<Any>,
) -> Result<Vec<Run>> {
    let mut hermes = Hermes::new(vec![path.src.clone(), path.dst.clone()])?;
    let mut order: [&mut dyn Relayer; 2] = [&mut hermes, ours];
    if config.chimera_first {
        order.reverse();
    }
    order
        .into_iter()
        .map(|r| burst(path, r, msgs(config.packets), config.per_tx, config.deadline))
        .collect()
}

fn unix_ns(ahead: Duration) -> u64 {
    (std::time::SystemTime::now() + ahead)
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
