//! `chimera-e2e bench-inference`: end-to-end inference on real chimerad
//! nets (1 and 4 validators), by `MsgRunInference`.
//!
//! - Latency: K sequential requests per model; blocks and seconds from the
//!   tx's block to the `inference_result` block, and where they go: the
//!   model's run time and queue time (each node's `job executed` log line),
//!   blocks from the job's block to the vote that carried the result, and
//!   blocks from that vote to the result (the goal: at most 2).
//! - Throughput: N `digits-cnn` requests, `--per-tx` messages per tx from
//!   one account, committed back to back; results per second from the first
//!   submission to the last result, and a check that every request ends in
//!   exactly one `inference_result`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::chimera::{self, ChimeraNet, ChimeraNetConfig};
use crate::inference::{self, run_inference_msg, submit_job, wait_job, Job, GOLDEN_SEVEN};
use crate::keys;

/// What to run.
#[derive(Debug, Clone)]
pub struct InferenceBenchConfig {
    /// Validator counts of the hosts measured.
    pub validators: Vec<usize>,
    /// Sequential requests per model for latency.
    pub latency: usize,
    /// `digits-cnn` requests for throughput (0: skip).
    pub throughput: usize,
    /// Requests per tx in the throughput run.
    pub per_tx: usize,
    /// The chimerad binary (else the harness's).
    pub chimerad: Option<PathBuf>,
}

impl Default for InferenceBenchConfig {
    fn default() -> Self {
        InferenceBenchConfig {
            validators: vec![1, 4],
            latency: 10,
            throughput: 200,
            per_tx: 20,
            chimerad: None,
        }
    }
}

/// One latency row.
#[derive(Debug, Clone)]
pub struct LatencyRow {
    pub validators: usize,
    pub model: String,
    pub blocks: Vec<u64>,
    pub secs: Vec<f64>,
    pub ran_ms: Vec<u64>,
    pub queued_ms: Vec<u64>,
    /// Blocks from the job's block to the vote carrying its first result.
    pub to_vote: Vec<u64>,
    /// Blocks from that vote to the result.
    pub vote_to_result: Vec<u64>,
}

/// One throughput row.
#[derive(Debug, Clone)]
pub struct ThroughputRow {
    pub validators: usize,
    pub requests: usize,
    pub completed: usize,
    pub failed: usize,
    pub duplicates: usize,
    pub secs: f64,
    pub blocks: u64,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct InferenceBenchReport {
    pub latency: Vec<LatencyRow>,
    pub throughput: Vec<ThroughputRow>,
}

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

fn show<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map_or("-".into(), |v| v.to_string())
}

/// `key=value` of a plain tracing line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The first `job executed` line of job `id` over all nodes: (vote height,
/// queued ms, ran ms).
fn executed(net: &ChimeraNet, id: u64) -> Option<(u64, u64, u64)> {
    let want = id.to_string();
    (0..net.len())
        .filter_map(|i| {
            let home = net.home(i).ok()?;
            inference::log_lines(home, "job executed", usize::MAX)
                .into_iter()
                .find(|l| field(l, "job") == Some(want.as_str()))
                .and_then(|l| {
                    Some((
                        field(&l, "vote_height")?.parse().ok()?,
                        field(&l, "queued_ms")?.parse().ok()?,
                        field(&l, "ran_ms")?.parse().ok()?,
                    ))
                })
        })
        .min()
}

fn start(config: &InferenceBenchConfig, validators: usize) -> Result<ChimeraNet> {
    ChimeraNet::start(ChimeraNetConfig {
        validators,
        chain_id: format!("chimera-bench-infer-{validators}"),
        chimerad: config.chimerad.clone(),
        ..ChimeraNetConfig::default()
    })
    .with_context(|| format!("starting a {validators}-validator net"))
}

const GAS: u64 = 600_000;
const WAIT: Duration = Duration::from_secs(300);

fn latency(net: &ChimeraNet, validators: usize, job: &Job, k: usize) -> Result<LatencyRow> {
    let mut row = LatencyRow {
        validators,
        model: job.model.clone(),
        blocks: vec![],
        secs: vec![],
        ran_ms: vec![],
        queued_ms: vec![],
        to_vote: vec![],
        vote_to_result: vec![],
    };
    for n in 0..k {
        let mut job = job.clone();
        job.seed = n as u64;
        let t = Instant::now();
        let (height, id) = submit_job(net, 0, &job, GAS).map_err(|e| anyhow!("{}: {e}", job.model))?;
        let found = wait_job(net, 0, height, id, WAIT).map_err(|e| anyhow!("{} job {id}: {e}", job.model))?;
        if found.event.get("status") != "completed" {
            bail!("{} job {id}: {:?}", job.model, found.event);
        }
        row.blocks.push(found.height - height);
        row.secs.push((found.seen - t).as_secs_f64());
        if let Some((vote, queued, ran)) = executed(net, id) {
            row.to_vote.push(vote.saturating_sub(height));
            row.vote_to_result.push(found.height.saturating_sub(vote));
            row.queued_ms.push(queued);
            row.ran_ms.push(ran);
        }
    }
    Ok(row)
}

fn throughput(net: &ChimeraNet, validators: usize, n: usize, per_tx: usize) -> Result<ThroughputRow> {
    let user = chimera::chimera_address(keys::USER_MNEMONIC)?;
    let rpc = net.rpc_addr(0)?;
    let t = Instant::now();
    let mut ids = Vec::with_capacity(n);
    let mut first_height = None;
    let mut sent = 0;
    while sent < n {
        let batch = per_tx.min(n - sent);
        let msgs = (0..batch)
            .map(|j| {
                let mut job = Job::digits_cnn(&GOLDEN_SEVEN);
                job.seed = (sent + j) as u64;
                run_inference_msg(user.as_ref(), &job)
            })
            .collect::<Vec<_>>();
        let r = inference::commit_many_from_user(net, 0, msgs, GAS * batch as u64)
            .map_err(|e| anyhow!("throughput tx: {e}"))?;
        first_height.get_or_insert(r.height);
        for e in r.events.iter().filter(|e| e.kind == "inference_job") {
            ids.push(e.get("job_id").parse::<u64>().context("job_id")?);
        }
        sent += batch;
    }
    if ids.len() != n {
        bail!("{} inference_job events for {n} requests", ids.len());
    }
    let from = first_height.unwrap_or(1);
    let mut outcomes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    let mut scanned = from;
    let mut last_height = from;
    while outcomes.len() < n {
        let top = inference::height(rpc);
        if top >= scanned {
            for (h, e) in inference::events_between(rpc, scanned, top, "inference_result") {
                if let Ok(id) = e.get("job_id").parse::<u64>() {
                    if ids.contains(&id) {
                        outcomes.entry(id).or_default().push(e.get("status").to_string());
                        last_height = h;
                    }
                }
            }
            scanned = top + 1;
        }
        if Instant::now() > deadline {
            bail!("{} of {n} requests ended within {WAIT:?}", outcomes.len());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(ThroughputRow {
        validators,
        requests: n,
        completed: outcomes.values().filter(|v| v[0] == "completed").count(),
        failed: outcomes.values().filter(|v| v[0] != "completed").count(),
        duplicates: outcomes.values().filter(|v| v.len() > 1).count(),
        secs,
        blocks: last_height - from,
    })
}

/// Runs the benchmark.
pub fn run(config: &InferenceBenchConfig) -> Result<InferenceBenchReport> {
    let mut report = InferenceBenchReport::default();
    for &v in &config.validators {
        let mut net = start(config, v)?;
        eprintln!("{v}-validator net up");
        for job in [Job::digits_cnn(&GOLDEN_SEVEN), Job::digits_ddpm('7', 0)] {
            if config.latency > 0 {
                let row = latency(&net, v, &job, config.latency)?;
                eprintln!("latency {v} validators {}: {:?} blocks", row.model, row.blocks);
                report.latency.push(row);
            }
        }
        if config.throughput > 0 {
            let row = throughput(&net, v, config.throughput, config.per_tx.max(1))?;
            eprintln!("throughput {v} validators: {row:?}");
            report.throughput.push(row);
        }
        net.stop()?;
    }
    Ok(report)
}

impl InferenceBenchReport {
    /// The tables for docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| validators | model | blocks tx→result (median / max) | seconds (median / max) | model ran ms (median) | queued ms (median) | blocks job→vote (median / max) | blocks vote→result (median / max) |\n|---|---|---|---|---|---|---|---|\n",
        );
        for r in &self.latency {
            s += &format!(
                "| {} | {} | {} / {} | {:.2} / {:.2} | {} | {} | {} / {} | {} / {} |\n",
                r.validators,
                r.model,
                show(median(&r.blocks)),
                show(max(&r.blocks)),
                median(&r.secs).unwrap_or(0.0),
                max(&r.secs).unwrap_or(0.0),
                show(median(&r.ran_ms)),
                show(median(&r.queued_ms)),
                show(median(&r.to_vote)),
                show(max(&r.to_vote)),
                show(median(&r.vote_to_result)),
                show(max(&r.vote_to_result)),
            );
        }
        if !self.throughput.is_empty() {
            s += "\n| validators | requests | completed | failed | more than one result | seconds | blocks | results/s |\n|---|---|---|---|---|---|---|---|\n";
            for r in &self.throughput {
                s += &format!(
                    "| {} | {} | {} | {} | {} | {:.1} | {} | {:.1} |\n",
                    r.validators,
                    r.requests,
                    r.completed,
                    r.failed,
                    r.duplicates,
                    r.secs,
                    r.blocks,
                    r.requests as f64 / r.secs
                );
            }
        }
        s
    }
}
