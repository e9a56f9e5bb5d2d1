//! `chimerad bench`: request latency at batch 1 and throughput under
//! concurrent load, per model, through the full executor (queue, batching,
//! pre/post-processing, commitment, sketch). Prints one JSON object per model,
//! shaped like `scripts/models/reference.py`'s, for comparison with Python.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chimera_host::executor::manifest::{InputKind, Task};
use chimera_host::executor::{Executor, ExecutorConfig, Request};

use super::ExecOpts;

/// Measure latency and throughput of registry models.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Models to measure (repeatable; default: every servable model).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Sequential batch-1 requests for latency.
    #[arg(long, default_value_t = 50)]
    pub iters: usize,
    /// Warm-up requests before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Concurrent clients for throughput.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Requests for throughput (default: 4 × iters).
    #[arg(long, default_value_t = 0)]
    pub requests: usize,
    /// Worker threads (default: by device).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Turn dynamic batching off.
    #[arg(long)]
    pub no_batching: bool,
    /// Override params.extra (KEY=VALUE, repeatable), e.g. steps=20.
    #[arg(long = "param", value_parser = super::parse_kv)]
    pub params: Vec<(String, String)>,
    #[command(flatten)]
    pub exec: ExecOpts,
}

/// sklearn's `load_digits().images[0]` (a 0), the default classify input of
/// reference.py too; pixels 0..16.
const DIGIT_ZERO: [u8; 64] = [
    0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0,
    0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0,
];

/// reference.py's default request of a model.
pub fn default_request(id: &str, task: Task, kind: InputKind, shape: &[u32], seed: u64) -> Request {
    match (task, kind) {
        (_, InputKind::Tensor) => {
            let n: usize = shape.iter().map(|&d| d as usize).product();
            let x: Vec<f32> = (0..n)
                .map(|i| DIGIT_ZERO.get(i).map_or(0.0, |&p| p as f32 / 16.0))
                .collect();
            Request::tensor_f32(id, shape, &x, seed)
        }
        (Task::Diffusion, _) => Request::text(id, "7", seed),
        (Task::Generate, _) => Request::text(id, "The ", seed),
        _ => Request::text(id, "A validator runs the model and votes.", seed),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn r4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Runs the command; returns the exit code.
pub fn run(a: BenchArgs) -> i32 {
    let registry = a.exec.registry();
    let config = ExecutorConfig {
        workers: a.workers,
        batching: !a.no_batching,
        queue_capacity: a.concurrency.max(256),
        default_deadline: Duration::from_secs(3600),
        ..a.exec.config()
    };
    let exec = Executor::start(&registry, config);
    let ids: Vec<String> = if a.models.is_empty() {
        registry
            .entries
            .iter()
            .filter(|e| exec.model(&e.manifest.id).is_ok())
            .map(|e| e.manifest.id.clone())
            .collect()
    } else {
        a.models.clone()
    };
    let mut rc = 0;
    for id in ids {
        let model = match exec.model(&id) {
            Ok(m) => m.clone(),
            Err(e) => {
                eprintln!("error: {e}");
                rc = 1;
                continue;
            }
        };
        let m = &model.manifest;
        let shape = m.input.shape.clone().unwrap_or_default();
        let mut req = default_request(&id, m.task, m.input.encoding, &shape, 42);
        for (k, v) in &a.params {
            if m.params.contains_key(k) {
                req.params.extra.insert(k.clone(), v.clone());
            }
        }
        match bench_one(&exec, &req, &a) {
            Ok(v) => println!("{v}"),
            Err(e) => {
                eprintln!("error: {id}: {e}");
                rc = 1;
            }
        }
    }
    rc
}

fn bench_one(exec: &Executor, req: &Request, a: &BenchArgs) -> Result<serde_json::Value, String> {
    for _ in 0..a.warmup {
        exec.run(req).map_err(|e| e.to_string())?;
    }
    let mut lat = Vec::with_capacity(a.iters);
    for _ in 0..a.iters.max(1) {
        let t0 = Instant::now();
        exec.run(req).map_err(|e| e.to_string())?;
        lat.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    let total = if a.requests > 0 {
        a.requests
    } else {
        4 * a.iters.max(1)
    };
    let left = AtomicUsize::new(total);
    let batch_sum = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.concurrency.max(1) {
            s.spawn(|| {
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    match exec.run(req) {
                        Ok(o) => {
                            batch_sum.fetch_add(o.batch_size, Ordering::Relaxed);
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    let ok = total - errors.load(Ordering::Relaxed);
    let rt = exec.runtime();
    Ok(serde_json::json!({
        "model": req.model,
        "sha256": hex::encode(exec.model(&req.model).map_err(|e| e.to_string())?.model_hash),
        "runner": "chimerad",
        "device": format!("{:?}", exec.device()),
        "threads": rt.intra_op_threads,
        "batching": !a.no_batching,
        "params": req.params.extra,
        "batch1": {
            "iters": lat.len(),
            "mean_ms": r4(lat.iter().sum::<f64>() / lat.len() as f64),
            "p50_ms": r4(pct(&lat, 0.5)),
            "p90_ms": r4(pct(&lat, 0.9)),
            "p99_ms": r4(pct(&lat, 0.99)),
        },
        "concurrent": {
            "concurrency": a.concurrency,
            "requests": total,
            "errors": errors.load(Ordering::Relaxed),
            "seconds": r4(wall),
            "rps": (ok as f64 / wall * 100.0).round() / 100.0,
            "mean_batch": if ok > 0 { r4(batch_sum.load(Ordering::Relaxed) as f64 / ok as f64) } else { 0.0 },
        },
    }))
}
