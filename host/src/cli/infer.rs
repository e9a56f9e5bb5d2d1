//! `chimerad infer`: run one request locally and print its commitment and
//! sketch (what this node would put in its vote extension).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chimera_host::executor::manifest::InputKind;
use chimera_host::executor::{agree, Executor, Request, Sketch};
use chimera_packets::{InputEncoding, Params};

use super::ExecOpts;

/// Run a registry model on one input, deterministically.
#[derive(clap::Args, Debug)]
pub struct InferArgs {
    /// Registry id of the model (`chimerad models list`).
    #[arg(long)]
    pub model: String,
    /// Text input (a prompt, a sentence, a class digit for digits-ddpm).
    #[arg(long, conflicts_with = "input")]
    pub prompt: Option<String>,
    /// Input file: text for text models; raw little-endian tensor bytes of
    /// the manifest's dtype and shape for tensor models.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Seed of the portable RNG (params.seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A `params.extra` value, KEY=VALUE (repeatable).
    #[arg(long = "param", value_parser = super::parse_kv)]
    pub params: Vec<(String, String)>,
    /// Write the exact output bytes here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Generate models: do not sample; re-score this file's text as the
    /// claimed output of the request (teacher forcing, `verify_tokens`) and
    /// print whether it verifies (exit 0) or not (exit 3).
    #[arg(long, value_name = "FILE")]
    pub verify_output: Option<PathBuf>,
    /// Determinism check: run the request N times in this process and print
    /// one JSON summary: how many runs' exact output hash differs from the
    /// baseline, and how many runs `sketch::agree` rejects against the
    /// baseline sketch (the first run's unless --baseline-* are given).
    /// Used by scripts/determinism.
    #[arg(long, value_name = "N", conflicts_with = "verify_output")]
    pub repeat: Option<usize>,
    /// With --repeat: the baseline sketch (hex of its canonical bytes, as
    /// `sketch_hex` prints) to compare every run against with `agree`.
    #[arg(long, value_name = "HEX", requires = "repeat")]
    pub baseline_sketch: Option<String>,
    /// With --repeat: the baseline output sha256 (hex).
    #[arg(long, value_name = "HEX", requires = "repeat")]
    pub baseline_sha256: Option<String>,
    #[command(flatten)]
    pub exec: ExecOpts,
}

/// Runs the command; returns the exit code.
pub fn run(a: InferArgs) -> i32 {
    match infer(&a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn infer(a: &InferArgs) -> anyhow::Result<()> {
    let registry = a.exec.registry();
    let entry = registry
        .get(&a.model)
        .ok_or_else(|| anyhow::anyhow!("unknown model {:?} (chimerad models list)", a.model))?;
    let m = &entry.manifest;
    let input = match (&a.prompt, &a.input) {
        (Some(p), None) => p.as_bytes().to_vec(),
        (None, Some(f)) => std::fs::read(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?,
        _ => anyhow::bail!("give --prompt TEXT or --input FILE"),
    };
    let encoding = match m.input.encoding {
        InputKind::Text => InputEncoding::Text,
        InputKind::Tensor => InputEncoding::Tensor {
            dtype: m.input_dtype().ok_or_else(|| anyhow::anyhow!("manifest dtype"))?,
            shape: m.input.shape.clone().unwrap_or_default(),
        },
    };
    let req = Request {
        model: a.model.clone(),
        input,
        encoding,
        params: Params {
            seed: a.seed,
            extra: a.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        },
    };
    let exec = Executor::start(&registry, a.exec.config());
    if let Some(f) = &a.verify_output {
        let claimed = std::fs::read(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
        let ok = exec
            .verify_generation(&req, &claimed)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if a.json {
            println!("{}", serde_json::json!({"model": req.model, "verified": ok}));
        } else {
            println!("verified  {ok}");
        }
        if !ok {
            std::process::exit(3);
        }
        return Ok(());
    }
    if let Some(n) = a.repeat {
        return repeat(a, &exec, &req, n);
    }
    let out = exec
        .run(&req)
        .map_err(|e| anyhow::anyhow!("{e} (ack code {})", e.code()))?;
    if let Some(path) = &a.out {
        std::fs::write(path, &out.bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let rt = exec.runtime();
    let c = &out.commitment;
    let preview = preview(&out.bytes, c.encoding);
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": out.model,
                "model_hash": hex::encode(out.model_hash),
                "seed": a.seed.to_string(),
                "output": {"sha256": hex::encode(c.sha256), "size": c.size.to_string(), "encoding": c.encoding.name()},
                "sketch": hex::encode(out.sketch.to_bytes()),
                "sketch_summary": out.sketch.summary(),
                "preview": preview,
                "device": format!("{:?}", exec.device()),
                "threads": rt.intra_op_threads,
                "deterministic_algorithms": rt.deterministic_algorithms,
                "ran_ms": out.ran.as_secs_f64() * 1e3,
                "out": a.out.as_ref().map(|p| p.display().to_string()),
            })
        );
    } else {
        println!("model     {} (sha256 {})", out.model, hex::encode(out.model_hash));
        println!(
            "output    sha256={} size={} encoding={}",
            hex::encode(c.sha256),
            c.size,
            c.encoding.name()
        );
        println!("sketch    {}", out.sketch.summary());
        println!("sketch_hex {}", hex::encode(out.sketch.to_bytes()));
        if let Some(p) = preview {
            println!("preview   {p}");
        }
        println!(
            "runtime   device={:?} threads={} deterministic_algorithms={} ran={:.1}ms",
            exec.device(),
            rt.intra_op_threads,
            rt.deterministic_algorithms,
            out.ran.as_secs_f64() * 1e3
        );
        if let Some(p) = &a.out {
            println!("wrote     {}", p.display());
        }
    }
    Ok(())
}

/// `--repeat N`: runs `req` N times and prints how often the exact hash
/// changed and how often `agree` rejected a run, against the baseline.
fn repeat(a: &InferArgs, exec: &Executor, req: &Request, n: usize) -> anyhow::Result<()> {
    let spec = &exec
        .model(&req.model)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .manifest
        .sketch;
    let mut base_sketch = match &a.baseline_sketch {
        Some(h) => Some(Sketch::from_bytes(&hex::decode(h)?).map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let mut base_sha = a.baseline_sha256.clone();
    let (mut hash_changed, mut disagreed) = (0usize, 0usize);
    let mut hashes = std::collections::BTreeSet::new();
    let mut first = None;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let out = exec
            .run(req)
            .map_err(|e| anyhow::anyhow!("{e} (ack code {})", e.code()))?;
        ms.push(out.ran.as_secs_f64() * 1e3);
        let sha = hex::encode(out.commitment.sha256);
        let base_sha = base_sha.get_or_insert_with(|| sha.clone());
        let base_sketch = base_sketch.get_or_insert_with(|| out.sketch.clone());
        hash_changed += usize::from(sha != *base_sha);
        disagreed += usize::from(!agree(spec, base_sketch, &out.sketch));
        hashes.insert(sha.clone());
        first.get_or_insert((sha, hex::encode(out.sketch.to_bytes())));
    }
    let (sha, sketch) = first.unwrap_or_default();
    let rt = exec.runtime();
    println!(
        "{}",
        serde_json::json!({
            "model": req.model,
            "runs": ms.len(),
            "threads": rt.intra_op_threads,
            "hash_changed": hash_changed,
            "agree_no": disagreed,
            "distinct_hashes": hashes.len(),
            "sha256": sha,
            "sketch": sketch,
            "mean_ms": ms.iter().sum::<f64>() / ms.len() as f64,
        })
    );
    Ok(())
}

/// A readable glimpse of the output: the text, or the largest tensor entries.
fn preview(bytes: &[u8], enc: chimera_packets::OutputEncoding) -> Option<String> {
    use chimera_host::executor::output::decode_tensor;
    match enc {
        chimera_packets::OutputEncoding::Text => Some(String::from_utf8_lossy(bytes).into_owned()),
        chimera_packets::OutputEncoding::Tensor => {
            let v = decode_tensor(bytes).ok()?.f32s()?;
            let head: Vec<String> = v.iter().take(10).map(|x| format!("{x:.4}")).collect();
            Some(format!(
                "[{}{}] ({} values)",
                head.join(", "),
                if v.len() > 10 { ", …" } else { "" },
                v.len()
            ))
        }
        _ => None,
    }
}
