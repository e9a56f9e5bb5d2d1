//! `chimera-e2e bench-inference`: inference end to end on real chimerad
//! nets, in blocks and seconds, with where the time goes.
//!
//! - **Latency** (per host, per model): K sequential `MsgRunInference`
//!   requests from one account. For each: the tx's block, the
//!   `inference_result` block, and every validator's `job executed` log line
//!   (host/src/inference/worker.rs: the model's `ran_ms` as the node measured
//!   it, and `vote_height`, the height whose `ExtendVote` first carried the
//!   finished run). From them: blocks from the job's block to the report
//!   (first validator and the one that completes the quorum), blocks from
//!   that report to the result (the goal: at most 2), and seconds
//!   from the tx's block becoming visible over RPC to the result's block
//!   becoming visible.
//! - **Throughput** (`digits-cnn`): N requests, one `MsgRunInference` per
//!   tx, pre-signed for many genesis-funded accounts and broadcast with
//!   `broadcast_tx_sync` from several threads as fast as CheckTx answers.
//!   Every block is read (`/block` and `/block_results`): each request's tx
//!   is found by its hash, its `inference_job` gives the job, and the
//!   block's `inference_result` events are counted per job, so the run
//!   checks that every request ends in exactly one result (completed or
//!   failed). Results per second run from the first broadcast to the block
//!   holding the last result. `--requests 1000` is the soak.
//! - **IBC** (`digits-ddpm`): two single-validator chimerad chains and
//!   Hermes 1.11 (as `tests/inference_ibc.rs`), K sequential
//!   `MsgRequestInference` A → B: A's send block, B's block holding the
//!   relayed `MsgRecvPacket` (the job), B's result block, A's block holding
//!   the relayed acknowledgement (`inference_request_done`), split into
//!   relaying in, execution and quorum on B, relaying back.
//! - **Peer**: there is no other implementation of this pipeline; the peer
//!   is the model itself, timed in plain PyTorch
//!   (`scripts/models/reference.py --mode request`, 1 thread, the same
//!   TorchScript files and inputs), so each row shows how much of the
//!   end-to-end time is the model.
//!
//! Every chain of a run has the same CometBFT `timeout_commit` (read back
//! from each node's `config.toml`). A block's time is when its height was
//! first visible on node 0's RPC (`/status` polled every 20 ms).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use cosmrs::crypto::secp256k1::SigningKey;

use crate::bench_bank::bench_key;
use crate::bench_ics20::read_timeout_commit;
use crate::chimera::{
    self, chimera_address, chimera_signing_key, required_fee, sign_messages, BankSend, ChimeraNet,
    ChimeraNetConfig, CHIMERA_PREFIX, DENOM,
};
use crate::devnet;
use crate::hermes::{Hermes, HermesChain};
use crate::inference::{self, Event, Executed, Job, GOLDEN_SEVEN};
use crate::keys;
use crate::rpc;

/// The models measured for latency.
pub const MODELS: [&str; 2] = ["digits-cnn", "digits-ddpm"];

/// Gas of one `MsgRunInference` / `MsgRequestInference` tx (a 256-byte
/// input uses well under it; the fee follows from it).
pub const REQUEST_GAS: u64 = 400_000;

/// [`bench_key`] role of the throughput senders (bench-bank uses 0 and 1).
pub const SENDER_ROLE: u8 = 2;

/// Genesis balance of each throughput sender.
pub const SENDER_GENESIS: u128 = 1_000_000_000_000;

/// How often the block clock asks `/status`.
const HEIGHT_POLL: Duration = Duration::from_millis(20);

/// What to run.
#[derive(Debug, Clone)]
pub struct InferenceBenchConfig {
    /// Validator counts of the hosts measured (latency and throughput).
    pub validators: Vec<usize>,
    /// Models for latency (of [`MODELS`]).
    pub models: Vec<String>,
    /// Counted sequential requests per (host, model) (0: no latency).
    pub latency: usize,
    /// Uncounted requests before them (first run of a model, Hermes's
    /// packet worker).
    pub warmup: usize,
    /// `digits-cnn` requests of the throughput run (0: none).
    pub requests: usize,
    /// Funded accounts the throughput requests come from.
    pub senders: usize,
    /// Broadcasting threads.
    pub threads: usize,
    /// Counted sequential `digits-ddpm` requests over IBC (0: no IBC path).
    pub ibc: usize,
    /// How long after chain A chain B starts.
    ///
    /// Why: two chains started together make their blocks in lockstep, and
    /// then each relayed message reaches the counterparty just after it
    /// proposed and waits one more block (docs/benchmarks.md, ICS-20);
    /// half a block apart shows the other end of that range.
    pub ibc_stagger: Duration,
    /// CometBFT `timeout_commit` of every chain.
    pub timeout_commit: Duration,
    /// The Python with torch for the model-time peer (`None`: skip it).
    pub python: Option<PathBuf>,
    /// The chimerad binary; [`chimera::find_chimerad`] when `None`.
    pub chimerad: Option<PathBuf>,
    /// How long one request, or a throughput run without progress, may
    /// take.
    pub wait: Duration,
}

impl Default for InferenceBenchConfig {
    fn default() -> Self {
        InferenceBenchConfig {
            validators: vec![1, 4],
            models: MODELS.iter().map(|m| m.to_string()).collect(),
            latency: 10,
            warmup: 1,
            requests: 200,
            senders: 50,
            threads: 10,
            ibc: 10,
            ibc_stagger: Duration::ZERO,
            timeout_commit: Duration::from_secs(1),
            python: Some(PathBuf::from("python3")),
            chimerad: None,
            wait: Duration::from_secs(180),
        }
    }
}

// ------------------------------------------------------------- statistics

fn median<T: Copy + PartialOrd>(v: &[T]) -> Option<T> {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    s.get(s.len() / 2).copied()
}

fn max<T: Copy + PartialOrd>(v: &[T]) -> Option<T> {
    v.iter().copied().fold(None, |m, x| match m {
        Some(m) if m >= x => Some(m),
        _ => Some(x),
    })
}

/// `median / max`, or `-`.
fn mm<T: Copy + PartialOrd + std::fmt::Display>(v: &[T]) -> String {
    match (median(v), max(v)) {
        (Some(a), Some(b)) => format!("{a} / {b}"),
        _ => "-".into(),
    }
}

/// Whole milliseconds as the node logs them (`<1` for 0).
fn ms(x: u64) -> String {
    if x == 0 {
        "<1".into()
    } else {
        x.to_string()
    }
}

fn mm2(v: &[f64]) -> String {
    match (median(v), max(v)) {
        (Some(a), Some(b)) => format!("{a:.2} / {b:.2}"),
        _ => "-".into(),
    }
}

/// Reports needed for a quorum of `n` validators of equal power (more
/// than 2/3).
pub fn quorum_count(n: usize) -> usize {
    2 * n / 3 + 1
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn unix_ns_now() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

// ------------------------------------------------------------ block clock

/// When a height was first visible.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Instant,
    unix_ns: i128,
}

/// When each height of one chain was first visible on its RPC, recorded by
/// a thread polling `/status` until dropped.
struct HeightClock {
    seen: Arc<Mutex<BTreeMap<u64, Seen>>>,
    stop: Arc<AtomicBool>,
    rpc: SocketAddr,
    handle: Option<JoinHandle<()>>,
}

impl HeightClock {
    fn start(rpc: SocketAddr) -> Self {
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut last = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(s) = rpc::status(rpc) {
                        if s.latest_height > last {
                            let now = Seen {
                                at: Instant::now(),
                                unix_ns: unix_ns_now(),
                            };
                            let from = if last == 0 { s.latest_height } else { last + 1 };
                            let mut map = seen.lock().unwrap_or_else(|e| e.into_inner());
                            for h in from..=s.latest_height {
                                map.insert(h, now);
                            }
                            last = s.latest_height;
                        }
                    }
                    std::thread::sleep(HEIGHT_POLL);
                }
            })
        };
        HeightClock {
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
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Mean interval (s) between the blocks `from..=to` becoming visible.
    fn interval(&self, from: u64, to: u64) -> Option<f64> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = (seen.get(&from)?, seen.get(&to)?);
        (to > from).then(|| (b.at - a.at).as_secs_f64() / (to - from) as f64)
    }

    /// Every (height, seen) recorded.
    fn all(&self) -> Vec<(u64, Seen)> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter().map(|(h, s)| (*h, *s)).collect()
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

// ------------------------------------------------------------------ peer

/// The model alone in plain PyTorch: batch-1 latency of one request.
#[derive(Debug, Clone)]
pub struct PeerTiming {
    /// The model.
    pub model: String,
    /// Sequential requests timed.
    pub iters: usize,
    /// Median ms.
    pub p50_ms: f64,
    /// Mean ms.
    pub mean_ms: f64,
    /// torch version.
    pub torch: String,
}

fn reference_py() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/models/reference.py")
}

/// Runs `scripts/models/reference.py MODEL --mode request --threads 1` on
/// the benchmark's input for `model` (the golden 7 as `f32[1,8,8]` for
/// digits-cnn, the prompt "7" for digits-ddpm).
fn python_peer(python: &Path, model: &str, iters: usize) -> Result<PeerTiming> {
    let job = job_for(model, 0)?;
    let dir = tempfile::tempdir().context("temp dir for the peer's input")?;
    let input = dir.path().join("input.bin");
    std::fs::write(&input, &job.input).context("writing the peer's input")?;
    let script = reference_py();
    let iters_arg = iters.to_string();
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(model)
        .args([
            "--mode",
            "request",
            "--threads",
            "1",
            "--warmup",
            "3",
            "--seed",
            "0",
        ])
        .args(["--iters", &iters_arg, "--concurrency", "1", "--requests", "1"])
        .arg("--input")
        .arg(&input)
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    if !out.status.success() {
        bail!(
            "{} {model} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(last).with_context(|| format!("reference.py printed {last:?}"))?;
    let f = |p: &str| v.pointer(p).and_then(serde_json::Value::as_f64);
    Ok(PeerTiming {
        model: model.into(),
        iters,
        p50_ms: f("/batch1/p50_ms").ok_or_else(|| anyhow!("no batch1.p50_ms: {last}"))?,
        mean_ms: f("/batch1/mean_ms").unwrap_or(0.0),
        torch: v["torch"].as_str().unwrap_or_default().into(),
    })
}

/// The benchmark's request `n` for `model`: the inputs of
/// `tests/inference_local.rs` (the golden 7) and `tests/inference_ibc.rs`
/// (the prompt "7"), with seed `n`.
pub fn job_for(model: &str, n: u64) -> Result<Job> {
    Ok(match model {
        "digits-cnn" => Job {
            seed: n,
            ..Job::digits_cnn(&GOLDEN_SEVEN)
        },
        "digits-ddpm" => Job::digits_ddpm('7', n),
        m => bail!("bench-inference: model {m:?} (use digits-cnn or digits-ddpm)"),
    })
}

// --------------------------------------------------------------- latency

/// One sequential request on one host.
#[derive(Debug, Clone)]
pub struct LatencySample {
    /// The job.
    pub job: u64,
    /// Block of the `MsgRunInference` tx (where the job was created).
    pub tx_height: u64,
    /// Block whose `finalize_block_events` hold the `inference_result`.
    pub result_height: u64,
    /// `completed` or `failed`.
    pub status: String,
    /// Gas the tx used.
    pub gas_used: u64,
    /// Tx block visible → result block visible (s).
    pub secs: f64,
    /// Tx block visible (ns since the epoch).
    pub tx_unix_ns: i128,
    /// Result block visible (ns since the epoch).
    pub result_unix_ns: i128,
    /// Each validator's `job executed` line, in order of vote height, then
    /// time.
    pub executed: Vec<Executed>,
}

impl LatencySample {
    /// Blocks from the tx's block to the result's.
    pub fn blocks(&self) -> u64 {
        self.result_height - self.tx_height
    }

    /// The report that completed the quorum of `validators`.
    pub fn quorum_report(&self, validators: usize) -> Option<&Executed> {
        self.executed.get(quorum_count(validators) - 1)
    }
}

/// K sequential requests of one model on one host.
#[derive(Debug, Clone)]
pub struct LatencyRow {
    /// Validators of the host.
    pub validators: usize,
    /// The model.
    pub model: String,
    /// The counted requests.
    pub samples: Vec<LatencySample>,
    /// Mean block interval (s) over the row.
    pub block_interval: f64,
}

impl LatencyRow {
    fn ran_ms(&self) -> Vec<u64> {
        self.samples
            .iter()
            .flat_map(|s| s.executed.iter().map(|e| e.ran_ms))
            .collect()
    }

    /// Median `ran_ms` over every validator's run of every counted job.
    pub fn median_ran_ms(&self) -> Option<u64> {
        median(&self.ran_ms())
    }

    /// Blocks from the job's block to the first validator's report.
    pub fn to_first_report(&self) -> Vec<u64> {
        self.samples
            .iter()
            .filter_map(|s| Some(s.executed.first()?.vote_height - s.tx_height))
            .collect()
    }

    /// Blocks from the job's block to the report completing the quorum.
    pub fn to_quorum_report(&self) -> Vec<u64> {
        self.samples
            .iter()
            .filter_map(|s| Some(s.quorum_report(self.validators)?.vote_height - s.tx_height))
            .collect()
    }

    /// Blocks from the quorum's report (model finished) to the result.
    pub fn report_to_result(&self) -> Vec<u64> {
        self.samples
            .iter()
            .filter_map(|s| Some(s.result_height - s.quorum_report(self.validators)?.vote_height))
            .collect()
    }

    /// Seconds from the tx's block being visible to the quorum's report
    /// (its `job executed` line), and from there to the result's block.
    pub fn secs_split(&self) -> (Vec<f64>, Vec<f64>) {
        self.samples
            .iter()
            .filter_map(|s| {
                let r = s.quorum_report(self.validators)?;
                Some((
                    (r.unix_ns - s.tx_unix_ns) as f64 / 1e9,
                    (s.result_unix_ns - r.unix_ns) as f64 / 1e9,
                ))
            })
            .unzip()
    }

    /// The goal: every result within 2 blocks after the model
    /// finished (the report completing the quorum).
    pub fn goal_met(&self) -> bool {
        let r = self.report_to_result();
        r.len() == self.samples.len() && r.iter().all(|b| *b <= 2)
    }
}

fn start_net(config: &InferenceBenchConfig, validators: usize, senders: &[SigningKey]) -> Result<ChimeraNet> {
    let mut accounts = ChimeraNetConfig::default().accounts;
    for k in senders {
        accounts.push((address(k), format!("{SENDER_GENESIS}{DENOM}")));
    }
    let net = ChimeraNet::start(ChimeraNetConfig {
        validators,
        chain_id: format!("chimera-bench-infer-{validators}"),
        accounts,
        timeout_commit: config.timeout_commit,
        chimerad: config.chimerad.clone(),
        ..ChimeraNetConfig::default()
    })
    .with_context(|| format!("starting a {validators}-validator chimerad net"))?;
    check_timeout_commit(&net, config.timeout_commit)?;
    Ok(net)
}

/// Fails unless every node of `net` reads `want` as its `timeout_commit`.
fn check_timeout_commit(net: &ChimeraNet, want: Duration) -> Result<()> {
    for i in 0..net.len() {
        let path = net.home(i)?.join("cometbft/config/config.toml");
        let got = read_timeout_commit(&path)?;
        if got != want {
            bail!("{}: timeout_commit {got:?}, expected {want:?}", path.display());
        }
    }
    Ok(())
}

fn address(key: &SigningKey) -> String {
    key.public_key()
        .account_id(CHIMERA_PREFIX)
        .expect("a valid bech32 prefix")
        .to_string()
}

/// Every `job executed` line of job `id` over the nodes of `net`, in order
/// of vote height, then time.
fn executed(net: &ChimeraNet, id: u64) -> Vec<Executed> {
    let mut v: Vec<Executed> = (0..net.len())
        .filter_map(|i| net.home(i).ok())
        .filter_map(|home| inference::executed_lines(home).into_iter().find(|e| e.job == id))
        .collect();
    v.sort_by_key(|e| (e.vote_height, e.unix_ns));
    v
}

fn latency(
    net: &ChimeraNet,
    clock: &HeightClock,
    config: &InferenceBenchConfig,
    model: &str,
) -> Result<LatencyRow> {
    let user = chimera_address(keys::USER_MNEMONIC)?;
    let mut samples = Vec::new();
    for n in 0..config.warmup + config.latency {
        let job = job_for(model, n as u64)?;
        let msg = inference::run_inference_msg(user.as_ref(), &job);
        let r = inference::commit_from_user(net, 0, msg, REQUEST_GAS)
            .map_err(|e| anyhow!("{model}: MsgRunInference: {e}"))?;
        let id: u64 = r
            .event("inference_job")
            .ok_or_else(|| anyhow!("{model}: no inference_job event: {:?}", r.events))?
            .get("job_id")
            .parse()
            .context("job_id")?;
        let found = inference::wait_job(net, 0, r.height, id, config.wait)
            .map_err(|e| anyhow!("{model} job {id}: {e}"))?;
        if n < config.warmup {
            continue;
        }
        let tx_seen = clock.seen(r.height, config.wait)?;
        let result_seen = clock.seen(found.height, config.wait)?;
        // Every line is written before the result's block; give a slow
        // validator's log a moment anyway.
        let mut ex = executed(net, id);
        let deadline = Instant::now() + Duration::from_secs(5);
        while ex.len() < net.len() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            ex = executed(net, id);
        }
        samples.push(LatencySample {
            job: id,
            tx_height: r.height,
            result_height: found.height,
            status: found.event.get("status").to_string(),
            gas_used: r.gas_used,
            secs: (result_seen.at - tx_seen.at).as_secs_f64(),
            tx_unix_ns: tx_seen.unix_ns,
            result_unix_ns: result_seen.unix_ns,
            executed: ex,
        });
    }
    let block_interval = match (samples.first(), samples.last()) {
        (Some(a), Some(b)) => clock.interval(a.tx_height, b.result_height).unwrap_or(0.0),
        _ => 0.0,
    };
    Ok(LatencyRow {
        validators: net.len(),
        model: model.into(),
        samples,
        block_interval,
    })
}

// ------------------------------------------------------------ throughput

/// N requests from many accounts at once, every one followed to its end.
#[derive(Debug, Clone, Default)]
pub struct ThroughputRow {
    /// Validators of the host.
    pub validators: usize,
    /// Requests signed (one `MsgRunInference` per tx).
    pub requests: usize,
    /// Accounts they came from.
    pub senders: usize,
    /// Accepted by CheckTx.
    pub accepted: usize,
    /// CheckTx refusals and RPC errors (each stops its sender).
    pub refused: Vec<String>,
    /// In a block with code 0 and an `inference_job`.
    pub committed: usize,
    /// In a block with a non-zero code (no job).
    pub tx_failed: usize,
    /// Jobs whose (first) result is `completed`.
    pub completed: usize,
    /// Jobs whose (first) result is `failed`.
    pub failed: usize,
    /// Jobs without a result when the run ended.
    pub no_result: usize,
    /// Jobs with more than one `inference_result`.
    pub duplicates: usize,
    /// First broadcast → last CheckTx answer (s).
    pub submit_secs: f64,
    /// First broadcast → the block holding the last result visible (s).
    pub secs: f64,
    /// Block of the first request tx.
    pub first_height: u64,
    /// Block of the last result.
    pub last_height: u64,
    /// Most jobs created and not yet decided at the end of a block.
    pub max_in_flight: usize,
    /// Most results in one block.
    pub max_results_per_block: usize,
    /// Blocks from each request's tx to its result.
    pub request_blocks: Vec<u64>,
    /// (height, request txs, results) of every block from the first
    /// request's to the last result's.
    pub per_block: Vec<(u64, usize, usize)>,
    /// Mean block interval (s) from the first request tx to the last
    /// result.
    pub block_interval: f64,
    /// Load average (1 min) at the end.
    pub load: f64,
}

impl ThroughputRow {
    /// Results (completed or failed) per second.
    pub fn results_per_sec(&self) -> f64 {
        (self.completed + self.failed) as f64 / self.secs.max(1e-9)
    }

    /// Every request accepted, in a block, and ended in exactly one result.
    pub fn all_good(&self) -> bool {
        self.accepted == self.requests
            && self.committed == self.requests
            && self.completed + self.failed == self.requests
            && self.no_result == 0
            && self.duplicates == 0
            && self.tx_failed == 0
    }
}

/// One request's journey in the throughput run.
#[derive(Debug, Clone, Default)]
struct Tracked {
    tx_height: Option<u64>,
    tx_code: u32,
    job: Option<u64>,
    results: Vec<(String, u64)>,
}

/// Broadcasts every sender's txs in sequence order, round-robin over the
/// senders of this thread; a full mempool is waited out, any other
/// refusal stops the sender.
struct Broadcast<'a> {
    signed: &'a [Vec<(usize, Vec<u8>)>],
    rpcs: &'a [SocketAddr],
    accepted: &'a AtomicUsize,
    refused: &'a Mutex<Vec<String>>,
    last_answer: &'a Mutex<Instant>,
}

impl Broadcast<'_> {
    fn senders(&self, mine: &[usize]) {
        let mut stopped = vec![false; mine.len()];
        let longest = mine.iter().map(|s| self.signed[*s].len()).max().unwrap_or(0);
        for k in 0..longest {
            for (m, s) in mine.iter().enumerate() {
                let Some((i, tx)) = self.signed[*s].get(k) else {
                    continue;
                };
                if stopped[m] {
                    continue;
                }
                let rpc = self.rpcs[*s % self.rpcs.len()];
                loop {
                    match chimera::broadcast_tx_sync_at(rpc, tx) {
                        Ok((0, _)) => {
                            self.accepted.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        Err(e) if e.contains("mempool is full") => {
                            std::thread::sleep(Duration::from_millis(50))
                        }
                        Ok((code, log)) => {
                            let why = format!("request {i}: CheckTx code {code}: {log}");
                            self.refused.lock().unwrap_or_else(|e| e.into_inner()).push(why);
                            stopped[m] = true;
                            break;
                        }
                        Err(e) => {
                            let why = format!("request {i}: {e}");
                            self.refused.lock().unwrap_or_else(|e| e.into_inner()).push(why);
                            stopped[m] = true;
                            break;
                        }
                    }
                }
                *self.last_answer.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            }
        }
    }
}

/// Pre-signs request `i` as sender `i % S`'s `(i / S)`-th tx; returns the
/// txs per sender and each tx's hash → request.
#[allow(clippy::type_complexity)]
fn presign(
    net: &ChimeraNet,
    senders: &[SigningKey],
    n: usize,
) -> Result<(Vec<Vec<(usize, Vec<u8>)>>, HashMap<[u8; 32], usize>)> {
    let mut signed: Vec<Vec<(usize, Vec<u8>)>> = vec![Vec::new(); senders.len()];
    let mut by_hash: HashMap<[u8; 32], usize> = HashMap::with_capacity(n);
    for (s, key) in senders.iter().enumerate() {
        let from = key
            .public_key()
            .account_id(CHIMERA_PREFIX)
            .map_err(|e| anyhow!("{e}"))?;
        let acc = net
            .account(0, &from)?
            .ok_or_else(|| anyhow!("sender {from} has no account"))?;
        for (k, i) in (s..n).step_by(senders.len()).enumerate() {
            let job = job_for("digits-cnn", i as u64)?;
            let send = BankSend {
                to: from.clone(),
                amount: 0,
                denom: DENOM.into(),
                fee: required_fee(REQUEST_GAS),
                gas_limit: REQUEST_GAS,
                account_number: acc.account_number,
                sequence: acc.sequence + k as u64,
                memo: String::new(),
            };
            let msg = inference::run_inference_msg(from.as_ref(), &job);
            let tx = sign_messages(key, net.chain_id(), vec![msg], &send)?;
            by_hash.insert(inference::sha256(&tx), i);
            signed[s].push((i, tx));
        }
    }
    Ok((signed, by_hash))
}

fn throughput(
    net: &ChimeraNet,
    clock: &HeightClock,
    config: &InferenceBenchConfig,
    senders: &[SigningKey],
) -> Result<ThroughputRow> {
    let n = config.requests;
    let rpc0 = net.rpc_addr(0)?;
    let rpcs: Vec<SocketAddr> = (0..net.len())
        .map(|i| net.rpc_addr(i))
        .collect::<Result<_, _>>()?;
    let senders = &senders[..config.senders.clamp(1, senders.len())];
    let (signed, by_hash) = presign(net, senders, n)?;
    let threads = config.threads.clamp(1, senders.len());
    let h0 = inference::height(rpc0);
    let accepted = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let refused: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let last_answer: Mutex<Instant> = Mutex::new(Instant::now());
    let mut tracked: Vec<Tracked> = vec![Tracked::default(); n];
    let mut job_req: HashMap<u64, usize> = HashMap::new();
    let mut in_flight = 0usize;
    let mut row = ThroughputRow {
        validators: net.len(),
        requests: n,
        senders: senders.len(),
        ..ThroughputRow::default()
    };
    let t0 = Instant::now();
    let broadcast = Broadcast {
        signed: &signed,
        rpcs: &rpcs,
        accepted: &accepted,
        refused: &refused,
        last_answer: &last_answer,
    };
    let watched: Result<()> = std::thread::scope(|scope| {
        for j in 0..threads {
            let (b, finished) = (&broadcast, &finished);
            scope.spawn(move || {
                let mine: Vec<usize> = (j..b.signed.len()).step_by(threads).collect();
                b.senders(&mine);
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Watch every block until every accepted request has ended, then
        // two more blocks (a second result would show there).
        let mut next = h0 + 1;
        let mut progress = Instant::now();
        let mut ended_at: Option<u64> = None;
        loop {
            let latest = inference::height(rpc0);
            while next <= latest {
                let Some(b) = inference::block_outcome(rpc0, next).map_err(|e| anyhow!(e))? else {
                    break;
                };
                let mut ours = 0;
                for (tx, (code, events)) in b.txs.iter().zip(&b.tx_results) {
                    let Some(&i) = by_hash.get(&inference::sha256(tx)) else {
                        continue;
                    };
                    ours += 1;
                    progress = Instant::now();
                    let t = &mut tracked[i];
                    t.tx_height = Some(next);
                    t.tx_code = *code;
                    if *code != 0 {
                        continue;
                    }
                    for e in events.iter().filter(|e| e.kind == "inference_job") {
                        let id: u64 = e.get("job_id").parse().context("job_id")?;
                        t.job = Some(id);
                        job_req.insert(id, i);
                        in_flight += 1;
                    }
                }
                let mut results = 0;
                for e in b.block_events.iter().filter(|e| e.kind == "inference_result") {
                    let Ok(id) = e.get("job_id").parse::<u64>() else {
                        continue;
                    };
                    let Some(&i) = job_req.get(&id) else { continue };
                    progress = Instant::now();
                    results += 1;
                    let t = &mut tracked[i];
                    if t.results.is_empty() {
                        in_flight -= 1;
                    }
                    t.results.push((e.get("status").to_string(), next));
                }
                row.max_results_per_block = row.max_results_per_block.max(results);
                row.per_block.push((next, ours, results));
                row.max_in_flight = row.max_in_flight.max(in_flight);
                next += 1;
            }
            let all_sent = finished.load(Ordering::SeqCst) == threads;
            let ended = tracked
                .iter()
                .filter(|t| (t.tx_height.is_some() && t.tx_code != 0) || !t.results.is_empty())
                .count();
            if all_sent && ended >= accepted.load(Ordering::SeqCst) {
                let end = *ended_at.get_or_insert(next - 1);
                if next > end + 2 {
                    return Ok(());
                }
            } else if progress.elapsed() > config.wait {
                if all_sent {
                    // What never ended is counted as such below.
                    return Ok(());
                }
                bail!(
                    "no request reached a block or a result for {:?} (height {latest})",
                    config.wait
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    watched?;
    row.refused = refused.into_inner().unwrap_or_else(|e| e.into_inner());
    row.accepted = accepted.load(Ordering::SeqCst);
    row.submit_secs = (*last_answer.lock().unwrap_or_else(|e| e.into_inner()) - t0).as_secs_f64();
    for t in &tracked {
        match (t.tx_height, t.job) {
            (Some(_), _) if t.tx_code != 0 => row.tx_failed += 1,
            (Some(h), Some(_)) => {
                row.committed += 1;
                match t.results.first() {
                    None => row.no_result += 1,
                    Some((status, rh)) => {
                        if status == "completed" {
                            row.completed += 1;
                        } else {
                            row.failed += 1;
                        }
                        row.request_blocks.push(rh - h);
                        row.last_height = row.last_height.max(*rh);
                    }
                }
                if t.results.len() > 1 {
                    row.duplicates += 1;
                }
            }
            _ => {}
        }
    }
    row.first_height = tracked.iter().filter_map(|t| t.tx_height).min().unwrap_or(h0);
    let (first, last) = (row.first_height, row.last_height);
    row.per_block.retain(|(h, _, _)| (first..=last).contains(h));
    if row.last_height > 0 {
        row.secs = (clock.seen(row.last_height, config.wait)?.at - t0).as_secs_f64();
        row.block_interval = clock.interval(row.first_height, row.last_height).unwrap_or(0.0);
    }
    row.load = load_average().unwrap_or(0.0);
    Ok(row)
}

// ------------------------------------------------------------------- IBC

/// One request over IBC, A → B → A.
#[derive(Debug, Clone)]
pub struct IbcSample {
    /// Packet sequence on A's channel.
    pub sequence: u64,
    /// B's job.
    pub job: u64,
    /// A's block holding the `MsgRequestInference`.
    pub send_height: u64,
    /// B's block holding the relayed `MsgRecvPacket` (the job).
    pub job_height: u64,
    /// B's block holding the `inference_result` (the ack written).
    pub result_height: u64,
    /// A's block holding the relayed ack (`inference_request_done`).
    pub ack_height: u64,
    /// `inference_request_done`'s status.
    pub status: String,
    /// A's send block visible → A's ack block visible (s).
    pub secs: f64,
    /// A's send block → B's job block (s): relaying the packet.
    pub relay_in: f64,
    /// B's job block → B's result block (s): execution and quorum.
    pub execute: f64,
    /// B's result block → A's ack block (s): relaying the ack.
    pub relay_out: f64,
    /// B's validator's `ran_ms`.
    pub ran_ms: Option<u64>,
}

/// The IBC path's requests.
#[derive(Debug, Clone, Default)]
pub struct IbcRun {
    /// The counted requests.
    pub samples: Vec<IbcSample>,
    /// Mean block interval of A and of B (s).
    pub intervals: (f64, f64),
    /// Median distance (s) from each B block to the nearest A block (how
    /// far apart the two chains' block schedules are).
    pub phase: f64,
    /// Load average (1 min) at the end.
    pub load: f64,
    /// B's start after A's.
    pub stagger: Duration,
}

impl IbcRun {
    fn col(&self, f: impl Fn(&IbcSample) -> f64) -> Vec<f64> {
        self.samples.iter().map(f).collect()
    }
}

fn ibc(config: &InferenceBenchConfig, started: Instant) -> Result<IbcRun> {
    let cfg = |id: &str| ChimeraNetConfig {
        timeout_commit: config.timeout_commit,
        chimerad: config.chimerad.clone(),
        ..devnet::chimera_config(id)
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ChimeraNet::start(cfg("chimera-bench-req-a")));
        let b = s.spawn(|| {
            std::thread::sleep(config.ibc_stagger);
            ChimeraNet::start(cfg("chimera-bench-host-b"))
        });
        (a.join(), b.join())
    });
    let (mut a, mut b) = (
        a.map_err(|_| anyhow!("chain A start-up panicked"))??,
        b.map_err(|_| anyhow!("chain B start-up panicked"))??,
    );
    check_timeout_commit(&a, config.timeout_commit)?;
    check_timeout_commit(&b, config.timeout_commit)?;
    eprintln!("[{:>6.1?}] ok   chains A and B up", started.elapsed());
    let mut hermes = Hermes::new(vec![HermesChain::chimera(&a)?, HermesChain::chimera(&b)?])
        .context("hermes set-up (config validate, keys add)")?;
    let measured = ibc_measure(config, started, &mut hermes, &a, &b);
    let stopped = hermes
        .stop()
        .map_err(anyhow::Error::from)
        .and_then(|()| a.stop().map(drop).map_err(anyhow::Error::from))
        .and_then(|()| b.stop().map(drop).map_err(anyhow::Error::from));
    let run = measured.map_err(|e| {
        let errors: Vec<String> = hermes.log_lines_with("ERROR").into_iter().take(10).collect();
        anyhow!(
            "{e:#}\nhermes home (kept): {}\n{}",
            hermes.keep_home().display(),
            errors.join("\n")
        )
    })?;
    stopped.context("stopping hermes and the chains")?;
    Ok(run)
}

/// Signs and commits `MsgRequestInference` of `job` from A's user over
/// `channel`; returns the tx's height and the packet sequence.
fn send_request(a: &ChimeraNet, channel: &str, job: &Job) -> Result<(u64, u64)> {
    let key = chimera_signing_key(keys::USER_MNEMONIC)?;
    let user = chimera_address(keys::USER_MNEMONIC)?;
    let acc = a
        .account(0, &user)?
        .ok_or_else(|| anyhow!("A's user has no account"))?;
    let send = BankSend {
        to: user.clone(),
        amount: 0,
        denom: DENOM.into(),
        fee: required_fee(REQUEST_GAS),
        gas_limit: REQUEST_GAS,
        account_number: acc.account_number,
        sequence: acc.sequence,
        memo: String::new(),
    };
    let timeout = SystemTime::now().duration_since(UNIX_EPOCH)? + Duration::from_secs(600);
    let msg = inference::request_inference_msg(user.as_ref(), channel, job, timeout.as_nanos() as u64);
    let tx = sign_messages(&key, a.chain_id(), vec![msg], &send)?;
    let r = inference::broadcast_commit(a.rpc_addr(0)?, &tx).map_err(|e| anyhow!(e))?;
    if !r.is_ok() {
        bail!("MsgRequestInference refused: {r:?}");
    }
    let sequence = r
        .event("send_packet")
        .ok_or_else(|| anyhow!("no send_packet event: {:?}", r.events))?
        .get("packet_sequence")
        .parse()
        .context("packet_sequence")?;
    Ok((r.height, sequence))
}

fn ibc_measure(
    config: &InferenceBenchConfig,
    started: Instant,
    hermes: &mut Hermes,
    a: &ChimeraNet,
    b: &ChimeraNet,
) -> Result<IbcRun> {
    let (a_id, b_id) = (a.chain_id().to_string(), b.chain_id().to_string());
    let (a_rpc, b_rpc) = (a.rpc_addr(0)?, b.rpc_addr(0)?);
    let client_a = hermes.create_client(&a_id, &b_id)?;
    let client_b = hermes.create_client(&b_id, &a_id)?;
    let connection = hermes.create_connection(&a_id, &client_a, &client_b)?;
    let channel = hermes.create_channel(
        &a_id,
        &connection.a,
        inference::PORT,
        inference::VERSION,
        "unordered",
    )?;
    eprintln!(
        "[{:>6.1?}] ok   clients, connection, channel {}/{} <-> {}/{}",
        started.elapsed(),
        inference::PORT,
        channel.a,
        inference::PORT,
        channel.b
    );
    hermes.start(devnet::WAIT)?;
    eprintln!("[{:>6.1?}] ok   hermes start", started.elapsed());
    let (clock_a, clock_b) = (HeightClock::start(a_rpc), HeightClock::start(b_rpc));
    let mut run = IbcRun {
        stagger: config.ibc_stagger,
        ..IbcRun::default()
    };
    for n in 0..config.warmup + config.ibc {
        let job = job_for("digits-ddpm", n as u64)?;
        let b_from = inference::height(b_rpc);
        let (send_height, sequence) = send_request(a, &channel.a, &job)?;
        let seq = sequence.to_string();
        let (job_height, events) = inference::wait_for_tx(b_rpc, b_from, config.wait, |ev: &[Event]| {
            ev.iter().any(|e| {
                e.kind == "recv_packet"
                    && e.get("packet_sequence") == seq
                    && e.get("packet_dst_channel") == channel.b
            })
        })
        .map_err(|e| anyhow!("packet {sequence}: no MsgRecvPacket on B: {e}"))?;
        let id: u64 = events
            .iter()
            .find(|e| e.kind == "inference_job")
            .ok_or_else(|| anyhow!("packet {sequence}: no job on B: {events:?}"))?
            .get("job_id")
            .parse()
            .context("job_id")?;
        let job_id = id.to_string();
        let result = inference::wait_for_event(b_rpc, job_height, config.wait, |e: &Event| {
            e.kind == "inference_result" && e.get("job_id") == job_id
        })
        .map_err(|e| anyhow!("B's job {id}: {e}"))?;
        let done = inference::wait_for_event(a_rpc, send_height, config.wait, |e: &Event| {
            e.kind == "inference_request_done"
                && e.get("sequence") == seq
                && e.get("source_channel") == channel.a
        })
        .map_err(|e| anyhow!("packet {sequence}: no inference_request_done on A: {e}"))?;
        if n < config.warmup {
            continue;
        }
        let w = config.wait;
        let (s, j) = (clock_a.seen(send_height, w)?, clock_b.seen(job_height, w)?);
        let (res, ack) = (clock_b.seen(result.height, w)?, clock_a.seen(done.height, w)?);
        let secs = |x: Seen, y: Seen| (y.at - x.at).as_secs_f64();
        let sample = IbcSample {
            sequence,
            job: id,
            send_height,
            job_height,
            result_height: result.height,
            ack_height: done.height,
            status: done.event.get("status").to_string(),
            secs: secs(s, ack),
            relay_in: secs(s, j),
            execute: secs(j, res),
            relay_out: secs(res, ack),
            ran_ms: executed(b, id).first().map(|e| e.ran_ms),
        };
        eprintln!("         ibc request {}: {sample:?}", n - config.warmup);
        run.samples.push(sample);
    }
    if let (Some(f), Some(l)) = (run.samples.first(), run.samples.last()) {
        run.intervals = (
            clock_a.interval(f.send_height, l.ack_height).unwrap_or(0.0),
            clock_b.interval(f.job_height, l.result_height).unwrap_or(0.0),
        );
        let a_all = clock_a.all();
        let gaps: Vec<f64> = clock_b
            .all()
            .iter()
            .filter(|(h, _)| (f.job_height..=l.result_height).contains(h))
            .filter_map(|(_, sb)| {
                a_all
                    .iter()
                    .map(|(_, sa)| (sa.unix_ns - sb.unix_ns).abs())
                    .min()
                    .map(|ns| ns as f64 / 1e9)
            })
            .collect();
        run.phase = median(&gaps).unwrap_or(0.0);
    }
    run.load = load_average().unwrap_or(0.0);
    Ok(run)
}

// ------------------------------------------------------------------ run

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct InferenceBenchReport {
    /// `timeout_commit` of every chain.
    pub timeout_commit: Duration,
    /// The Python peer's timings, per model.
    pub peer: Vec<PeerTiming>,
    /// Latency rows, per (host, model).
    pub latency: Vec<LatencyRow>,
    /// Throughput rows, per host.
    pub throughput: Vec<ThroughputRow>,
    /// The IBC path, if run.
    pub ibc: Option<IbcRun>,
    /// Load average (1 min) at the start and after each part.
    pub loads: Vec<(String, f64)>,
}

impl InferenceBenchReport {
    /// Every latency request completed, every throughput request ended in
    /// exactly one result, every IBC request completed.
    pub fn all_good(&self) -> bool {
        self.latency
            .iter()
            .all(|r| r.samples.iter().all(|s| s.status == "completed"))
            && self.throughput.iter().all(ThroughputRow::all_good)
            && self
                .ibc
                .as_ref()
                .is_none_or(|r| r.samples.iter().all(|s| s.status == "completed"))
    }

    fn note_load(&mut self, started: Instant, what: &str) {
        let l = load_average().unwrap_or(0.0);
        eprintln!("[{:>6.1?}] load average {l:.2} ({what})", started.elapsed());
        self.loads.push((what.to_string(), l));
    }
}

/// Runs the benchmark: the Python peer first (nothing else running), then
/// each host (latency per model, then throughput), then the IBC path, each
/// on fresh chains stopped before the next start.
pub fn run(config: &InferenceBenchConfig) -> Result<InferenceBenchReport> {
    for m in &config.models {
        job_for(m, 0)?;
    }
    if config.validators.iter().any(|v| !(1..=16).contains(v)) {
        bail!("bench-inference: validators must be 1 to 16");
    }
    let started = Instant::now();
    let mut report = InferenceBenchReport {
        timeout_commit: config.timeout_commit,
        ..InferenceBenchReport::default()
    };
    report.note_load(started, "start");
    if let Some(python) = &config.python {
        for (model, iters) in [("digits-cnn", 200), ("digits-ddpm", 30)] {
            let t = python_peer(python, model, iters)?;
            eprintln!("[{:>6.1?}] ok   python peer {model}: {t:?}", started.elapsed());
            report.peer.push(t);
        }
    }
    let senders: Vec<SigningKey> = (0..config.senders.max(1) as u32)
        .map(|i| bench_key(SENDER_ROLE, i))
        .collect();
    for &v in &config.validators {
        if config.latency == 0 && config.requests == 0 {
            break;
        }
        let mut net = start_net(config, v, &senders)?;
        let clock = HeightClock::start(net.rpc_addr(0)?);
        eprintln!("[{:>6.1?}] ok   {v}-validator net up", started.elapsed());
        if config.latency > 0 {
            for model in &config.models {
                let row = latency(&net, &clock, config, model)?;
                eprintln!(
                    "[{:>6.1?}] ok   latency, {v} validators, {model}: blocks {:?}, s {:?}",
                    started.elapsed(),
                    row.samples.iter().map(LatencySample::blocks).collect::<Vec<_>>(),
                    row.samples
                        .iter()
                        .map(|s| (s.secs * 100.0).round() / 100.0)
                        .collect::<Vec<_>>(),
                );
                report.latency.push(row);
            }
            report.note_load(started, &format!("after latency, {v} validators"));
        }
        if config.requests > 0 {
            let row = throughput(&net, &clock, config, &senders)?;
            eprintln!(
                "[{:>6.1?}] ok   throughput, {v} validators: {} requests, {} completed, {} failed, {} without \
                 a result, {} with more than one, {:.2} s",
                started.elapsed(),
                row.requests,
                row.completed,
                row.failed,
                row.no_result,
                row.duplicates,
                row.secs
            );
            report.throughput.push(row);
            report.note_load(started, &format!("after throughput, {v} validators"));
        }
        drop(clock);
        net.stop()?;
    }
    if config.ibc > 0 {
        report.ibc = Some(ibc(config, started)?);
        report.note_load(started, "after IBC");
    }
    Ok(report)
}

// ---------------------------------------------------------------- tables

impl InferenceBenchReport {
    fn peer_ms(&self, model: &str) -> Option<f64> {
        self.peer.iter().find(|p| p.model == model).map(|p| p.p50_ms)
    }

    /// The tables for docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let tc = self.timeout_commit.as_millis();
        if !self.latency.is_empty() {
            let _ = writeln!(
                s,
                "Latency (`timeout_commit` {tc} ms; median / max over the counted requests; *report* = \
                 the `job executed` line of the validator whose report completed the quorum):\n"
            );
            s += "| validators | model | block interval s | blocks tx→result | s tx→result | blocks job→first report | blocks job→quorum report | blocks report→result | ≤ 2 blocks? | s tx block→report | s report→result | model ran ms (median, all validators) |\n";
            s += "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
            for r in &self.latency {
                let blocks: Vec<u64> = r.samples.iter().map(LatencySample::blocks).collect();
                let secs: Vec<f64> = r.samples.iter().map(|x| x.secs).collect();
                let (to_report, report_to_result) = r.secs_split();
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    r.validators,
                    r.model,
                    r.block_interval,
                    mm(&blocks),
                    mm2(&secs),
                    mm(&r.to_first_report()),
                    mm(&r.to_quorum_report()),
                    mm(&r.report_to_result()),
                    if r.goal_met() { "yes" } else { "**no**" },
                    mm2(&to_report),
                    mm2(&report_to_result),
                    r.median_ran_ms().map_or("-".into(), ms),
                );
            }
            s += "\nWhere the time goes (medians): the model in chimerad (`ran_ms`) and in plain PyTorch (the peer), against the whole request:\n\n";
            s += "| validators | model | s tx→result | model ms chimerad | model ms Python (p50) | chimerad / Python | model share of tx→result | consensus and blocks s |\n";
            s += "|---|---|---|---|---|---|---|---|\n";
            for r in &self.latency {
                let secs: Vec<f64> = r.samples.iter().map(|x| x.secs).collect();
                let total = median(&secs).unwrap_or(0.0);
                let ran = r.median_ran_ms().unwrap_or(0) as f64;
                let py = self.peer_ms(&r.model);
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.2} | {} | {} | {} | {:.2}% | {:.2} |",
                    r.validators,
                    r.model,
                    total,
                    ms(ran as u64),
                    py.map_or("-".into(), |p| format!("{p:.3}")),
                    py.filter(|_| ran > 0.0)
                        .map_or("-".into(), |p| format!("{:.2}x", ran / p)),
                    100.0 * ran / 1e3 / total.max(1e-9),
                    total - ran / 1e3,
                );
            }
        }
        if !self.throughput.is_empty() {
            s += "\nThroughput (digits-cnn, one request per tx, `broadcast_tx_sync` from many accounts; blocks per request median / max):\n\n";
            s += "| validators | requests | senders | accepted | committed | completed | failed | no result | more than one result | s to submit | s to last result | blocks | block interval s | most in flight | most results per block | blocks tx→result | results/s | load |\n";
            s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
            for r in &self.throughput {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {:.2} | {} | {} | {} | {:.1} | {:.2} |",
                    r.validators,
                    r.requests,
                    r.senders,
                    r.accepted,
                    r.committed,
                    r.completed,
                    r.failed,
                    r.no_result,
                    r.duplicates,
                    r.submit_secs,
                    r.secs,
                    r.last_height.saturating_sub(r.first_height),
                    r.block_interval,
                    r.max_in_flight,
                    r.max_results_per_block,
                    mm(&r.request_blocks),
                    r.results_per_sec(),
                    r.load,
                );
            }
        }
        if let Some(run) = &self.ibc {
            let blocks: Vec<u64> = run.samples.iter().map(|x| x.ack_height - x.send_height).collect();
            let b_blocks: Vec<u64> = run
                .samples
                .iter()
                .map(|x| x.result_height - x.job_height)
                .collect();
            let ran: Vec<u64> = run.samples.iter().filter_map(|x| x.ran_ms).collect();
            let _ = writeln!(
                s,
                "\nOver IBC (digits-ddpm A → B → A, two 1-validator chains, Hermes; {} requests; median / max; \
                 B started {} ms after A; block intervals A {:.2} s, B {:.2} s; the chains' blocks {:.2} s apart):\n",
                run.samples.len(),
                run.stagger.as_millis(),
                run.intervals.0,
                run.intervals.1,
                run.phase
            );
            s += "| A blocks send→ack | s send→ack | relay in s (A send → B job) | B blocks job→result | execution + quorum s (B job → B result) | relay back s (B result → A ack) | model ran ms on B | model ms Python | model share |\n";
            s += "|---|---|---|---|---|---|---|---|---|\n";
            let total = median(&run.col(|x| x.secs)).unwrap_or(0.0);
            let ran_med = median(&ran).unwrap_or(0) as f64;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2}% |",
                mm(&blocks),
                mm2(&run.col(|x| x.secs)),
                mm2(&run.col(|x| x.relay_in)),
                mm(&b_blocks),
                mm2(&run.col(|x| x.execute)),
                mm2(&run.col(|x| x.relay_out)),
                ms(ran_med as u64),
                self.peer_ms("digits-ddpm")
                    .map_or("-".into(), |p| format!("{p:.3}")),
                100.0 * ran_med / 1e3 / total.max(1e-9),
            );
        }
        if !self.peer.is_empty() {
            s += "\nPython peer: ";
            s += &self
                .peer
                .iter()
                .map(|p| {
                    format!(
                        "{} p50 {:.3} ms, mean {:.3} ms over {} requests (torch {})",
                        p.model, p.p50_ms, p.mean_ms, p.iters, p.torch
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            s += "\n";
        }
        if !self.loads.is_empty() {
            s += "\nLoad average (1 min): ";
            s += &self
                .loads
                .iter()
                .map(|(w, l)| format!("{l:.2} {w}"))
                .collect::<Vec<_>>()
                .join(", ");
            s += "\n";
        }
        s
    }

    /// Per-request lines (heights, reports) behind the tables.
    pub fn details(&self) -> String {
        let mut s = String::new();
        for r in &self.latency {
            let _ = writeln!(s, "latency {} validators {}:", r.validators, r.model);
            for x in &r.samples {
                let reports: Vec<String> = x
                    .executed
                    .iter()
                    .map(|e| format!("v{}:{}ms", e.vote_height, e.ran_ms))
                    .collect();
                let _ = writeln!(
                    s,
                    "  job {} tx {} result {} ({}) {:.2}s gas {} reports [{}]",
                    x.job,
                    x.tx_height,
                    x.result_height,
                    x.status,
                    x.secs,
                    x.gas_used,
                    reports.join(" ")
                );
            }
        }
        for r in &self.throughput {
            let blocks: Vec<String> = r
                .per_block
                .iter()
                .map(|(h, txs, results)| format!("{h}:{txs}tx/{results}res"))
                .collect();
            let _ = writeln!(
                s,
                "throughput {} validators: heights {}..={} [{}], refused {:?}",
                r.validators,
                r.first_height,
                r.last_height,
                blocks.join(" "),
                r.refused.iter().take(5).collect::<Vec<_>>()
            );
        }
        if let Some(run) = &self.ibc {
            for x in &run.samples {
                let _ = writeln!(
                    s,
                    "ibc packet {} job {}: A send {} → B job {} → B result {} → A ack {} ({}) {:.2}s = {:.2} + {:.2} + {:.2}, ran {:?} ms",
                    x.sequence,
                    x.job,
                    x.send_height,
                    x.job_height,
                    x.result_height,
                    x.ack_height,
                    x.status,
                    x.secs,
                    x.relay_in,
                    x.execute,
                    x.relay_out,
                    x.ran_ms
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_of_equal_powers() {
        assert_eq!(quorum_count(1), 1);
        assert_eq!(quorum_count(3), 3);
        assert_eq!(quorum_count(4), 3);
        assert_eq!(quorum_count(7), 5);
    }

    #[test]
    fn stats_are_median_and_max() {
        assert_eq!(mm(&[2u64, 1, 3]), "2 / 3");
        assert_eq!(mm::<u64>(&[]), "-");
        assert_eq!(mm2(&[1.0, 2.5]), "2.50 / 2.50");
    }

    #[test]
    fn jobs_are_the_tests_inputs() {
        let cnn = job_for("digits-cnn", 3).unwrap();
        assert_eq!((cnn.input.len(), cnn.seed), (256, 3));
        assert_eq!(job_for("digits-ddpm", 1).unwrap().input, b"7");
        assert!(job_for("tiny-lm", 0).is_err());
    }
}
