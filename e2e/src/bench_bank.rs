//! `chimera-e2e bench-bank`: bank-send throughput of a chimerad localnet and
//! of a Go Cosmos SDK peer (ibc-go `simd`), measured one after the other in
//! one run on the same machine, with the same block time and tx shape.
//!
//! Each chain starts with `senders` funded accounts (deterministic keys).
//! Every sender pre-signs `txs / senders` bank sends (one `MsgSend` of 1
//! unit, the same gas limit and fee on both chains, sequences from 0,
//! SIGN_MODE_DIRECT with `cosmrs`), then one thread per sender broadcasts
//! its txs in sequence order with CometBFT's `broadcast_tx_sync`, as fast as
//! CheckTx answers. Meanwhile the main thread watches the blocks
//! (`/status`, `/block_results`) until every accepted tx is in a block.
//!
//! Measured per chain: accepted txs per second (first broadcast to the last
//! CheckTx answer), committed txs per second (first broadcast to the moment
//! the block holding the last tx was visible over RPC), blocks per second
//! under load and at idle (the latter is only `1 / timeout_commit` plus
//! overhead), txs per block, CPU time and peak RSS (`VmHWM`) of every node
//! process, and the exact balance of every sender and recipient afterwards.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::proto::cosmos::auth::v1beta1::{BaseAccount, QueryAccountRequest, QueryAccountResponse};
use cosmrs::proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
use cosmrs::proto::prost::Message as _;
use cosmrs::tendermint::Time;
use cosmrs::AccountId;

use crate::chimera::{
    self, bank_send_msg, required_fee, sign_messages_paying, BankSend, ChimeraError, ChimeraNet,
    ChimeraNetConfig, CHIMERA_PREFIX,
};
use crate::rpc;
use crate::simd::{self, SimdConfig, SimdLocalnet};
use crate::terra::SdkError;

/// Gas limit of every benchmark tx, on every chain.
///
/// Why: above what one `MsgSend` costs on chimerad and on the SDK (about
/// 70k there), so no tx runs out of gas; the fee follows from it.
pub const GAS_LIMIT: u64 = 200_000;

/// Amount each tx sends.
pub const SEND_AMOUNT: u128 = 1;

/// Genesis balance of each sender: 1,000,000 whole tokens.
pub const SENDER_GENESIS: u128 = 1_000_000_000_000;

/// How often the block watcher asks for `/status`.
const POLL: Duration = Duration::from_millis(20);

/// The Go chain measured beside chimerad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Peer {
    /// ibc-go `simd` v7.10.0 (plain Cosmos SDK 0.47), single validator.
    Simd,
    /// No peer: chimerad alone (smoke tests).
    None,
}

/// What to measure.
///
/// Why: the command line and the smoke test choose sizes; everything else
/// (block time, fee, gas) is fixed so runs compare.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// chimerad validators (1 or 4); the peer always runs one.
    pub validators: usize,
    /// Total txs per chain; a multiple of `senders`.
    pub txs: usize,
    /// Funded sender accounts; each sends its txs in sequence order.
    pub senders: usize,
    /// Broadcasting threads (thread `j` serves senders `j`, `j + threads`,
    /// ...; at most one per sender).
    pub threads: usize,
    /// The Go peer.
    pub peer: Peer,
    /// CometBFT `timeout_commit` on both chains (`chimerad init`'s 1 s).
    pub timeout_commit: Duration,
    /// Blocks timed at idle before the load.
    pub idle_blocks: u64,
    /// How long the watcher waits without a new tx being committed while
    /// txs are still being broadcast before it gives up (a halted chain).
    pub stall_timeout: Duration,
    /// Once every broadcast is answered: how long without a new tx in a
    /// block before the accepted txs still missing count as lost (dropped
    /// from the mempool).
    pub settle: Duration,
    /// The `chimerad` binary; [`chimera::find_chimerad`] when `None`.
    pub chimerad: Option<PathBuf>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            validators: 1,
            txs: 2000,
            senders: 20,
            threads: 20,
            peer: Peer::Simd,
            timeout_commit: Duration::from_secs(1),
            idle_blocks: 3,
            stall_timeout: Duration::from_secs(60),
            settle: Duration::from_secs(10),
            chimerad: None,
        }
    }
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The sizes do not make sense.
    #[error("bench-bank: {0}")]
    Config(String),
    /// The chimerad localnet failed.
    #[error(transparent)]
    Chimera(#[from] ChimeraError),
    /// The SDK peer's localnet failed.
    #[error(transparent)]
    Sdk(#[from] SdkError),
    /// A query, a broadcast or the block watch failed.
    #[error("bench-bank on {chain}: {message}")]
    Run {
        /// The chain.
        chain: String,
        /// What went wrong.
        message: String,
    },
}

/// One block after the load started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockStat {
    /// Its height.
    pub height: u64,
    /// Txs in it.
    pub txs: usize,
    /// Of those, txs with result code 0.
    pub ok: usize,
    /// When the watcher first saw its results, from the first broadcast.
    pub seen: Duration,
}

/// One node process's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStat {
    /// e.g. `chimerad node0`, `cometbft node0`, `simd`.
    pub name: String,
    /// Its pid.
    pub pid: u32,
    /// Peak resident set size (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// User + system CPU time from just before the first broadcast to the
    /// end of the block watch.
    pub cpu: Duration,
}

/// A balance before and after the load, and what it must be after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceCheck {
    /// The account.
    pub address: String,
    /// Before the first broadcast.
    pub before: u128,
    /// After the last tx's block.
    pub after: u128,
    /// `before` moved by exactly the sender's committed txs (the rise of its
    /// account sequence): amount, and fee for senders.
    pub expected: u128,
}

/// One chain's measurements.
#[derive(Debug, Clone)]
pub struct ChainRun {
    /// `chimerad` or the peer's binary name.
    pub chain: String,
    /// Validators.
    pub validators: usize,
    /// Txs signed.
    pub txs: usize,
    /// Txs CheckTx accepted.
    pub accepted: usize,
    /// CheckTx refusals and RPC errors (`sender: reason`); each stops its
    /// sender.
    pub refused: Vec<String>,
    /// First broadcast to the last CheckTx answer.
    pub broadcast: Duration,
    /// First broadcast to the block holding the last accepted tx.
    pub commit: Duration,
    /// Blocks from the first after the start to the one holding the last tx.
    pub blocks: Vec<BlockStat>,
    /// Header time of the block holding the last tx minus that of the last
    /// block before the first broadcast.
    pub block_span: Duration,
    /// Mean block interval at idle, before the load.
    pub idle_block_interval: Duration,
    /// Every node process.
    pub processes: Vec<ProcessStat>,
    /// Every sender and recipient.
    pub balances: Vec<BalanceCheck>,
}

impl ChainRun {
    /// Txs in blocks.
    pub fn committed(&self) -> usize {
        self.blocks.iter().map(|b| b.txs).sum()
    }

    /// Txs in blocks with code 0.
    pub fn committed_ok(&self) -> usize {
        self.blocks.iter().map(|b| b.ok).sum()
    }

    /// Txs CheckTx accepted that never reached a block (dropped from the
    /// mempool, e.g. when a recheck refused them).
    pub fn lost(&self) -> usize {
        self.accepted.saturating_sub(self.committed())
    }

    /// Accepted txs per second at broadcast.
    pub fn accepted_tps(&self) -> f64 {
        self.accepted as f64 / self.broadcast.as_secs_f64()
    }

    /// Committed txs per second, first broadcast to the last tx's block.
    pub fn committed_tps(&self) -> f64 {
        self.committed() as f64 / self.commit.as_secs_f64()
    }

    /// Blocks per second while the load ran, from the blocks' header times.
    pub fn blocks_per_sec(&self) -> f64 {
        self.blocks.len() as f64 / self.block_span.as_secs_f64()
    }

    /// Blocks per second at idle (about `1 / timeout_commit`).
    pub fn idle_blocks_per_sec(&self) -> f64 {
        1.0 / self.idle_block_interval.as_secs_f64()
    }

    /// Mean txs per block over the load's blocks, and the largest.
    pub fn fill(&self) -> (f64, usize) {
        let max = self.blocks.iter().map(|b| b.txs).max().unwrap_or(0);
        (self.committed() as f64 / self.blocks.len().max(1) as f64, max)
    }

    /// CPU time of all node processes during the load.
    pub fn cpu(&self) -> Duration {
        self.processes.iter().map(|p| p.cpu).sum()
    }

    /// Node CPU milliseconds per committed tx (all processes, all nodes).
    pub fn cpu_ms_per_tx(&self) -> f64 {
        self.cpu().as_secs_f64() * 1e3 / self.committed().max(1) as f64
    }

    /// Peak RSS in MiB of the largest process whose name starts with
    /// `prefix` (e.g. the largest of four `chimerad` nodes).
    pub fn peak_rss_mib(&self, prefix: &str) -> f64 {
        self.processes
            .iter()
            .filter(|p| p.name.starts_with(prefix))
            .map(|p| p.peak_rss_kib)
            .max()
            .unwrap_or(0) as f64
            / 1024.0
    }

    /// Peak RSS in MiB of one node: its processes' peaks summed (chimerad +
    /// its CometBFT; simd alone), the largest node.
    pub fn node_rss_mib(&self) -> f64 {
        let mut by_node = std::collections::BTreeMap::<&str, u64>::new();
        for p in &self.processes {
            let node = p.name.split_whitespace().nth(1).unwrap_or("");
            *by_node.entry(node).or_default() += p.peak_rss_kib;
        }
        by_node.values().copied().max().unwrap_or(0) as f64 / 1024.0
    }

    /// Whether every signed tx was accepted, committed with code 0, and every
    /// balance moved exactly.
    pub fn all_good(&self) -> bool {
        self.refused.is_empty()
            && self.accepted == self.txs
            && self.committed() == self.txs
            && self.committed_ok() == self.txs
            && self.balances.iter().all(|b| b.after == b.expected)
    }
}

/// chimerad's run and the peer's.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// What was measured.
    pub config: BenchConfig,
    /// chimerad.
    pub chimerad: ChainRun,
    /// The peer (absent with [`Peer::None`]).
    pub peer: Option<ChainRun>,
}

impl BenchReport {
    /// The Markdown table: one row per chain and a ratio row chimerad/peer.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| chain | validators | txs signed / accepted / committed ok | accepted tx/s | committed tx/s | blocks/s under load (idle) | mean / max txs per block | node CPU ms per tx | peak RSS MiB per node |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for run in std::iter::once(&self.chimerad).chain(&self.peer) {
            let (mean, max) = run.fill();
            let rss = if run.chain == "chimerad" {
                format!(
                    "{:.0} ({:.0} chimerad + {:.0} cometbft)",
                    run.node_rss_mib(),
                    run.peak_rss_mib("chimerad"),
                    run.peak_rss_mib("cometbft")
                )
            } else {
                format!("{:.0}", run.node_rss_mib())
            };
            s += &format!(
                "| {} | {} | {} / {} / {} | {:.0} | {:.0} | {:.2} ({:.2}) | {:.0} / {} | {:.2} | {} |\n",
                run.chain,
                run.validators,
                run.txs,
                run.accepted,
                run.committed_ok(),
                run.accepted_tps(),
                run.committed_tps(),
                run.blocks_per_sec(),
                run.idle_blocks_per_sec(),
                mean,
                max,
                run.cpu_ms_per_tx(),
                rss,
            );
        }
        if let Some(peer) = &self.peer {
            let c = &self.chimerad;
            s += &format!(
                "| chimerad / {} | | | {:.2}x | {:.2}x | | | {:.2}x | {:.2}x |\n",
                peer.chain,
                c.accepted_tps() / peer.accepted_tps(),
                c.committed_tps() / peer.committed_tps(),
                c.cpu_ms_per_tx() / peer.cpu_ms_per_tx(),
                c.node_rss_mib() / peer.node_rss_mib(),
            );
        }
        s
    }

    /// Per-chain details beside the table: timings, blocks, processes and
    /// any refusal.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for run in std::iter::once(&self.chimerad).chain(&self.peer) {
            s += &format!(
                "{} ({} validator(s)): {} of {} accepted in {:.2}s, {} committed ({} with code 0, {} lost) \
                 after {:.2}s; blocks {}\n",
                run.chain,
                run.validators,
                run.accepted,
                run.txs,
                run.broadcast.as_secs_f64(),
                run.committed(),
                run.committed_ok(),
                run.lost(),
                run.commit.as_secs_f64(),
                run.blocks
                    .iter()
                    .map(|b| format!("h{}:{}@{:.2}s", b.height, b.txs, b.seen.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            for p in &run.processes {
                s += &format!(
                    "  {} (pid {}): CPU {:.2}s, VmHWM {:.1} MiB\n",
                    p.name,
                    p.pid,
                    p.cpu.as_secs_f64(),
                    p.peak_rss_kib as f64 / 1024.0
                );
            }
            for r in run.refused.iter().take(10) {
                s += &format!("  refused: {r}\n");
            }
            let wrong = run.balances.iter().filter(|b| b.after != b.expected).count();
            s += &format!(
                "  balances: {} checked, {wrong} not as expected\n",
                run.balances.len()
            );
        }
        s
    }
}

/// Runs chimerad's measurement, then the peer's, each on a fresh localnet
/// stopped before the next starts.
///
/// Why: the two chains must not share the CPU while either is measured.
pub fn run(config: &BenchConfig) -> Result<BenchReport, BenchError> {
    if config.senders == 0 || config.txs == 0 || !config.txs.is_multiple_of(config.senders) {
        return Err(BenchError::Config(format!(
            "--txs ({}) must be a positive multiple of --senders ({})",
            config.txs, config.senders
        )));
    }
    if !(1..=64).contains(&config.validators) {
        return Err(BenchError::Config(format!(
            "--validators {} (1 to 64)",
            config.validators
        )));
    }
    let chimerad = run_chimerad(config)?;
    let peer = match config.peer {
        Peer::Simd => Some(run_simd(config)?),
        Peer::None => None,
    };
    Ok(BenchReport {
        config: config.clone(),
        chimerad,
        peer,
    })
}

/// Deterministic benchmark key `index` of `role` (0 senders, 1 recipients):
/// the scalar is the ASCII tag `chimera-bench` then the role and index
/// (public test material, never fund it anywhere real).
///
/// Why: the same accounts on every run and chain, without mnemonics.
pub fn bench_key(role: u8, index: u32) -> SigningKey {
    let mut secret = [0u8; 32];
    secret[..13].copy_from_slice(b"chimera-bench");
    secret[27] = role;
    secret[28..].copy_from_slice(&(index + 1).to_be_bytes());
    SigningKey::from_slice(&secret).expect("a scalar below the curve order")
}

fn address(key: &SigningKey, prefix: &str) -> AccountId {
    key.public_key()
        .account_id(prefix)
        .expect("a valid bech32 prefix")
}

/// A running chain as the load generator sees it.
struct Target {
    chain: String,
    chain_id: String,
    validators: usize,
    rpcs: Vec<SocketAddr>,
    denom: String,
    prefix: String,
    processes: Vec<(String, u32)>,
}

fn run_chimerad(config: &BenchConfig) -> Result<ChainRun, BenchError> {
    let senders = keys(0, config.senders);
    let accounts = senders
        .iter()
        .map(|k| {
            (
                address(k, CHIMERA_PREFIX).to_string(),
                format!("{SENDER_GENESIS}{}", chimera::DENOM),
            )
        })
        .collect();
    let net = ChimeraNet::start(ChimeraNetConfig {
        validators: config.validators,
        chain_id: "chimera-bench-1".into(),
        accounts,
        timeout_commit: config.timeout_commit,
        chimerad: config.chimerad.clone(),
        ..ChimeraNetConfig::default()
    })?;
    let mut processes = Vec::new();
    for i in 0..net.len() {
        let pid = net.process(i).map(|p| p.pid()).unwrap_or_default();
        processes.push((format!("chimerad node{i}"), pid));
        processes.push((format!("cometbft node{i}"), net.cometbft_pid(i)?));
    }
    let target = Target {
        chain: "chimerad".into(),
        chain_id: net.chain_id().into(),
        validators: net.len(),
        rpcs: (0..net.len())
            .map(|i| net.rpc_addr(i))
            .collect::<Result<_, _>>()?,
        denom: chimera::DENOM.into(),
        prefix: CHIMERA_PREFIX.into(),
        processes,
    };
    measure(&target, config, &senders)
}

fn run_simd(config: &BenchConfig) -> Result<ChainRun, BenchError> {
    let senders = keys(0, config.senders);
    let net = SimdLocalnet::start(SimdConfig {
        accounts: Vec::new(),
        balances: senders
            .iter()
            .map(|k| (address(k, simd::PREFIX).to_string(), SENDER_GENESIS))
            .collect(),
        timeout_commit: config.timeout_commit,
        ..SimdConfig::default()
    })?;
    let target = Target {
        chain: "simd".into(),
        chain_id: net.chain_id().into(),
        validators: 1,
        rpcs: vec![net.rpc_addr()],
        denom: simd::DENOM.into(),
        prefix: simd::PREFIX.into(),
        processes: vec![("simd node0".into(), net.process().pid())],
    };
    measure(&target, config, &senders)
}

fn keys(role: u8, n: usize) -> Vec<SigningKey> {
    (0..n as u32).map(|i| bench_key(role, i)).collect()
}

/// `work(i)` for every `i < n` on `threads` threads (thread `j` takes `j`,
/// `j + threads`, ...), results in index order.
fn on_threads<R: Send>(n: usize, threads: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, n.max(1));
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = (0..threads)
            .map(|j| s.spawn(move || (j..n).step_by(threads).map(|i| (i, work(i))).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("worker thread") {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter().map(|r| r.expect("every index ran")).collect()
}

/// What one sender's broadcasts did.
#[derive(Default)]
struct SenderOutcome {
    accepted: usize,
    refused: Option<String>,
}

fn measure(t: &Target, config: &BenchConfig, senders: &[SigningKey]) -> Result<ChainRun, BenchError> {
    let fail = |message: String| BenchError::Run {
        chain: t.chain.clone(),
        message,
    };
    let rpc0 = t.rpcs[0];
    let recipients: Vec<AccountId> = keys(1, senders.len())
        .iter()
        .map(|k| address(k, &t.prefix))
        .collect();
    let from: Vec<AccountId> = senders.iter().map(|k| address(k, &t.prefix)).collect();

    let idle_block_interval = idle_interval(rpc0, config.idle_blocks).map_err(&fail)?;

    // Pre-sign every tx (sequences 0..m of each sender), in parallel.
    let per_sender = config.txs / senders.len();
    let fee = required_fee(GAS_LIMIT);
    // Each sender's account and balance and its recipient's balance, asked
    // from `config.threads` threads (a query is one ABCI round trip).
    let snapshot = || {
        on_threads(from.len(), config.threads, |i| {
            Ok::<_, String>((
                account(rpc0, &from[i])?,
                balance(rpc0, &from[i], &t.denom)?,
                balance(rpc0, &recipients[i], &t.denom)?,
            ))
        })
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(&fail)
    };
    let before = snapshot()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let signed = on_threads(senders.len(), cores, |i| {
        let (key, acc) = (&senders[i], &before[i].0);
        (0..per_sender as u64)
            .map(|k| {
                let send = BankSend {
                    to: recipients[i].clone(),
                    amount: SEND_AMOUNT,
                    denom: t.denom.clone(),
                    fee,
                    gas_limit: GAS_LIMIT,
                    account_number: acc.account_number,
                    sequence: acc.sequence + k,
                    memo: String::new(),
                };
                sign_messages_paying(
                    key,
                    &t.chain_id,
                    &t.denom,
                    vec![bank_send_msg(key, &send)?],
                    &send,
                )
            })
            .collect::<Result<Vec<_>, ChimeraError>>()
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;

    let cpu_before = t
        .processes
        .iter()
        .map(|(_, pid)| cpu_time(*pid))
        .collect::<Vec<_>>();
    let h0 = rpc::status(rpc0).map_err(|e| fail(e.to_string()))?.latest_height;
    let accepted_total = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let t0 = Instant::now();

    let threads = config.threads.clamp(1, senders.len());
    let (outcomes, blocks, broadcast) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|j| {
                let (signed, accepted_total, finished) = (&signed, &accepted_total, &finished);
                s.spawn(move || {
                    let mine: Vec<(usize, SenderOutcome)> = (j..signed.len())
                        .step_by(threads)
                        .map(|i| {
                            let rpc = t.rpcs[i % t.rpcs.len()];
                            (i, broadcast_all(rpc, &signed[i], accepted_total))
                        })
                        .collect();
                    let at = t0.elapsed();
                    finished.fetch_add(1, Ordering::SeqCst);
                    (mine, at)
                })
            })
            .collect();
        let blocks = watch_blocks(rpc0, h0, t0, threads, &finished, &accepted_total, config);
        let mut outcomes: Vec<SenderOutcome> = (0..signed.len()).map(|_| SenderOutcome::default()).collect();
        let mut last = Duration::ZERO;
        for h in handles {
            let (mine, at) = h.join().expect("broadcast thread");
            last = last.max(at);
            for (i, out) in mine {
                outcomes[i] = out;
            }
        }
        (outcomes, blocks, last)
    });
    let blocks = blocks.map_err(|e| {
        let refused: Vec<_> = outcomes
            .iter()
            .filter_map(|o| o.refused.as_deref())
            .take(5)
            .collect();
        fail(format!("{e}; first refusals: {refused:?}"))
    })?;
    let cpu_after = t
        .processes
        .iter()
        .map(|(_, pid)| cpu_time(*pid))
        .collect::<Vec<_>>();
    let processes = t
        .processes
        .iter()
        .zip(cpu_before.iter().zip(&cpu_after))
        .map(|((name, pid), (a, b))| ProcessStat {
            name: name.clone(),
            pid: *pid,
            peak_rss_kib: peak_rss_kib(*pid).unwrap_or(0),
            cpu: b.saturating_sub(*a),
        })
        .collect();
    let commit = blocks.last().map(|b| b.seen).unwrap_or(broadcast);
    let last_height = blocks.last().map(|b| b.height).unwrap_or(h0);
    let block_span = header_time(rpc0, last_height)
        .and_then(|end| {
            let start = header_time(rpc0, h0)?;
            end.duration_since(start).map_err(|e| e.to_string())
        })
        .map_err(&fail)?;

    // State after the last tx's block is queryable once the next block is.
    wait_height(rpc0, last_height + 1, config.stall_timeout).map_err(&fail)?;
    let mut balances = Vec::new();
    for (i, ((acc, from_before, to_before), (acc_after, from_after, to_after))) in
        before.iter().zip(snapshot()?).enumerate()
    {
        // Every committed tx, whatever its code, used one sequence.
        let sent = u128::from(acc_after.sequence - acc.sequence);
        let moved = sent * SEND_AMOUNT;
        balances.push(BalanceCheck {
            address: from[i].to_string(),
            before: *from_before,
            after: from_after,
            expected: from_before - moved - sent * fee,
        });
        balances.push(BalanceCheck {
            address: recipients[i].to_string(),
            before: *to_before,
            after: to_after,
            expected: to_before + moved,
        });
    }
    Ok(ChainRun {
        chain: t.chain.clone(),
        validators: t.validators,
        txs: config.txs,
        accepted: outcomes.iter().map(|o| o.accepted).sum(),
        refused: outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.refused.as_ref().map(|r| format!("sender {i}: {r}")))
            .collect(),
        broadcast,
        commit,
        blocks,
        block_span,
        idle_block_interval,
        processes,
        balances,
    })
}

/// Broadcasts `txs` in order; a full mempool is waited out, any other
/// refusal stops the sender (its later sequences could not pass).
fn broadcast_all(rpc: SocketAddr, txs: &[Vec<u8>], accepted_total: &AtomicUsize) -> SenderOutcome {
    let mut out = SenderOutcome::default();
    for (seq, tx) in txs.iter().enumerate() {
        loop {
            match chimera::broadcast_tx_sync_at(rpc, tx) {
                Ok((0, _)) => break,
                Err(e) if e.contains("mempool is full") => std::thread::sleep(Duration::from_millis(50)),
                Ok((code, log)) => {
                    out.refused = Some(format!("sequence {seq}: CheckTx code {code}: {log}"));
                    return out;
                }
                Err(e) => {
                    out.refused = Some(format!("sequence {seq}: {e}"));
                    return out;
                }
            }
        }
        out.accepted += 1;
        accepted_total.fetch_add(1, Ordering::SeqCst);
    }
    out
}

/// Follows blocks after `h0` until every sender thread is done and every
/// accepted tx is in a block, or no tx has landed for `config.settle` since
/// the last broadcast (the rest are lost); fails if no tx lands for
/// `config.stall_timeout` while broadcasts go on (a halted chain).
fn watch_blocks(
    rpc: SocketAddr,
    h0: u64,
    t0: Instant,
    threads: usize,
    finished: &AtomicUsize,
    accepted: &AtomicUsize,
    config: &BenchConfig,
) -> Result<Vec<BlockStat>, String> {
    let mut blocks: Vec<BlockStat> = Vec::new();
    let mut committed = 0;
    let mut progress = Instant::now();
    let mut all_sent: Option<Instant> = None;
    loop {
        let latest = rpc::status(rpc).map(|s| s.latest_height).unwrap_or(0);
        let mut next = blocks.last().map_or(h0 + 1, |b| b.height + 1);
        while next <= latest {
            // The block store can be a step ahead of the saved results.
            let Ok((txs, ok)) = block_results(rpc, next) else {
                break;
            };
            blocks.push(BlockStat {
                height: next,
                txs,
                ok,
                seen: t0.elapsed(),
            });
            if txs > 0 {
                committed += txs;
                progress = Instant::now();
            }
            next += 1;
        }
        if finished.load(Ordering::SeqCst) == threads {
            let since = *all_sent.get_or_insert_with(Instant::now);
            let settled = progress.max(since).elapsed() > config.settle;
            if committed >= accepted.load(Ordering::SeqCst) || settled {
                // Drop the blocks after the last tx's.
                while blocks.last().is_some_and(|b| b.txs == 0) && committed > 0 {
                    blocks.pop();
                }
                return Ok(blocks);
            }
        } else if progress.elapsed() > config.stall_timeout {
            return Err(format!(
                "{committed} of {} accepted txs committed; none for {:?} (height {latest})",
                accepted.load(Ordering::SeqCst),
                config.stall_timeout
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Txs in block `height` and how many of them have code 0.
fn block_results(rpc: SocketAddr, height: u64) -> Result<(usize, usize), String> {
    let r = chimera::rpc_result_at(
        rpc,
        &format!("/block_results?height={height}"),
        Duration::from_secs(5),
    )?;
    let results = r
        .get("txs_results")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let ok = results
        .iter()
        .filter(|x| x.get("code").and_then(|c| c.as_u64()).unwrap_or(0) == 0)
        .count();
    Ok((results.len(), ok))
}

/// The header time of block `height`.
fn header_time(rpc: SocketAddr, height: u64) -> Result<Time, String> {
    let r = chimera::rpc_result_at(rpc, &format!("/block?height={height}"), Duration::from_secs(5))?;
    let time = r
        .pointer("/block/header/time")
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("block {height}: no header time"))?;
    Time::parse_from_rfc3339(time).map_err(|e| format!("block {height} time {time:?}: {e}"))
}

/// Waits for `height`, polling `/status`.
fn wait_height(rpc: SocketAddr, height: u64, timeout: Duration) -> Result<Instant, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if rpc::status(rpc).is_ok_and(|s| s.latest_height >= height) {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            return Err(format!("height {height} not reached within {timeout:?}"));
        }
        std::thread::sleep(POLL);
    }
}

/// The mean interval of `n` blocks at idle, timed from one height change to
/// the `n`th after it.
fn idle_interval(rpc: SocketAddr, n: u64) -> Result<Duration, String> {
    let h = rpc::status(rpc).map_err(|e| e.to_string())?.latest_height;
    let timeout = Duration::from_secs(30);
    let start = wait_height(rpc, h + 1, timeout)?;
    let end = wait_height(rpc, h + 1 + n.max(1), timeout)?;
    Ok((end - start) / n.max(1) as u32)
}

/// The account of `address` over ABCI `cosmos.auth.v1beta1.Query/Account`.
fn account(rpc: SocketAddr, address: &AccountId) -> Result<BaseAccount, String> {
    let req = QueryAccountRequest {
        address: address.to_string(),
    };
    let a = chimera::abci_query_at(rpc, "/cosmos.auth.v1beta1.Query/Account", &req.encode_to_vec())?;
    if a.code != 0 {
        return Err(format!("account {address}: code {}: {}", a.code, a.log));
    }
    let any = QueryAccountResponse::decode(a.value.as_slice())
        .map_err(|e| e.to_string())?
        .account
        .ok_or_else(|| format!("account {address}: none"))?;
    BaseAccount::decode(any.value.as_slice()).map_err(|e| format!("account {address}: {e}"))
}

/// The `denom` balance of `address` over ABCI `cosmos.bank.v1beta1.Query/Balance`.
fn balance(rpc: SocketAddr, address: &AccountId, denom: &str) -> Result<u128, String> {
    let req = QueryBalanceRequest {
        address: address.to_string(),
        denom: denom.into(),
    };
    let a = chimera::abci_query_at(rpc, "/cosmos.bank.v1beta1.Query/Balance", &req.encode_to_vec())?;
    if a.code != 0 {
        return Err(format!("balance {address}: code {}: {}", a.code, a.log));
    }
    let coin = QueryBalanceResponse::decode(a.value.as_slice())
        .map_err(|e| e.to_string())?
        .balance;
    match coin {
        None => Ok(0),
        Some(c) if c.amount.is_empty() => Ok(0),
        Some(c) => c
            .amount
            .parse()
            .map_err(|_| format!("balance {address}: {:?}", c.amount)),
    }
}

/// `VmHWM` of `pid` in KiB (None once it has exited).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of `pid` so far (zero once it has exited).
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return Duration::ZERO;
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64(f.iter().sum::<u64>() as f64 / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_keys_are_distinct_and_stable() {
        let a = address(&bench_key(0, 0), "cosmos");
        assert_eq!(a, address(&bench_key(0, 0), "cosmos"));
        assert_ne!(a, address(&bench_key(0, 1), "cosmos"));
        assert_ne!(a, address(&bench_key(1, 0), "cosmos"));
    }

    #[test]
    fn reads_own_rss_and_cpu() {
        let me = std::process::id();
        assert!(peak_rss_kib(me).unwrap() > 0);
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        assert!(cpu_time(me) > Duration::ZERO);
    }

    #[test]
    fn refuses_uneven_sizes() {
        let c = BenchConfig {
            txs: 10,
            senders: 3,
            ..BenchConfig::default()
        };
        assert!(matches!(run(&c), Err(BenchError::Config(_))));
    }
}
