//! `chimera-e2e`: start localnets of the real chains by hand.
//!
//! The README's main command runs `devnet` (`up`, `status`, `down`): a
//! persistent Terra Classic localnet and chimerad linked by `chimera relay`,
//! where a LUNC user runs `digits-ddpm` through an interchain account; it
//! stays up for poking at the chains with `terrad`, `chimera` or a test.
//! `terra-localnet` starts Terra alone. `bench-bank` measures bank-send
//! throughput of chimerad against simd, `bench-ics20` ICS-20 round-trip
//! latency of chimerad ↔ terrad against terrad ↔ terrad, `bench-inference`
//! inference end to end (docs/benchmarks.md).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chimera_e2e::bench_bank::{self, BenchConfig, Peer};
use chimera_e2e::bench_ics20::{self, Ics20Config, Ics20Peer};
use chimera_e2e::terra::{TerraConfig, TerraLocalnet, DENOM};
use clap::{Parser, Subcommand};

/// Start localnets of the real chains Chimera is tested against.
#[derive(Debug, Parser)]
#[command(name = "chimera-e2e", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// The devnet (README's main job), persistent: a Terra Classic
    /// localnet, a chimerad host chain with its model zoo, `chimera relay`
    /// between them, and a LUNC user's request through an interchain
    /// account (`chimera ica register`, `fund`, `infer --wait --out`).
    ///
    /// `up` (the default) starts what is missing, reuses what runs, makes a
    /// request, prints a summary and exits leaving everything running;
    /// `status` says what runs; `down` stops it all and removes the
    /// directory. Exit status: 0 ok, 1 failure (one line, then the logs).
    Devnet {
        #[command(subcommand)]
        action: Option<DevnetAction>,
        /// The devnet directory (default: $CHIMERA_DEVNET_DIR, else
        /// ~/.cache/chimera/devnet).
        #[arg(long, global = true)]
        dir: Option<PathBuf>,
    },
    /// Start a single-validator Terra Classic localnet (real terrad), print
    /// its status, then stop it (or keep it running until Ctrl-C).
    TerraLocalnet {
        /// Keep the node running until Ctrl-C (its home is kept too).
        #[arg(long)]
        keep_running: bool,
        /// Chain id.
        #[arg(long, default_value = chimera_e2e::terra::DEFAULT_CHAIN_ID)]
        chain_id: String,
        /// Home directory (must be new or empty); a temporary one if unset.
        #[arg(long)]
        home: Option<PathBuf>,
        /// Block height to wait for before printing the status.
        #[arg(long, default_value_t = 2)]
        height: u64,
    },
    /// Bank-send throughput: a chimerad localnet, then the Go peer, each
    /// loaded with pre-signed MsgSends over broadcast_tx_sync; prints a
    /// Markdown table (docs/benchmarks.md).
    BenchBank {
        /// chimerad validators (the peer runs one).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        validators: u16,
        /// Txs per chain (a multiple of --senders).
        #[arg(long, default_value_t = 2000)]
        txs: usize,
        /// Funded sender accounts; each sends its txs in sequence order.
        #[arg(long, default_value_t = 20)]
        senders: usize,
        /// Broadcasting threads (at most one per sender).
        #[arg(long, default_value_t = 20)]
        threads: usize,
        /// The Go chain measured beside chimerad.
        #[arg(long, value_enum, default_value = "simd")]
        peer: Peer,
        /// The chimerad binary (default: $CHIMERAD, else the one cargo
        /// built next to this binary).
        #[arg(long)]
        chimerad: Option<PathBuf>,
    },
    /// ICS-20 round-trip latency: chimerad ↔ terrad, then terrad ↔
    /// terrad, each relayed by Hermes 1.11 with the same config and block
    /// time; N sequential transfers per direction; prints Markdown tables
    /// (docs/benchmarks.md).
    BenchIcs20 {
        /// Counted transfers per direction.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
        transfers: u64,
        /// Uncounted warm-up transfers per direction before them.
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// CometBFT timeout_commit (ms) on every chain of the run.
        #[arg(long, default_value_t = 1000)]
        timeout_commit_ms: u64,
        /// The Go path measured beside chimerad's.
        #[arg(long, value_enum, default_value = "terrad")]
        peer: Ics20Peer,
        /// Start the Go path's second terrad this many ms after the first
        /// (default: a random fraction of a block, so the two chains' blocks
        /// are not in lockstep).
        #[arg(long)]
        peer_stagger_ms: Option<u64>,
        /// The chimerad binary (default: $CHIMERAD, else the one cargo
        /// built next to this binary).
        #[arg(long)]
        chimerad: Option<PathBuf>,
    },
    /// Inference end to end (docs/benchmarks.md, "Inference end to end"):
    /// latency per (host, model) by MsgRunInference with the model /
    /// consensus split, digits-cnn throughput from many accounts (every
    /// request checked to end in exactly one result; --requests 1000 is the
    /// soak), digits-ddpm over IBC between two chimerad chains, and the
    /// models timed in plain PyTorch; prints Markdown tables.
    BenchInference {
        /// Counted sequential requests per (host, model) (0: no latency).
        #[arg(long, default_value_t = 10)]
        latency: usize,
        /// Uncounted requests before the counted ones (latency and IBC).
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// digits-cnn requests for throughput (0: none; 1000: the soak).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Funded accounts the throughput requests come from.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1000))]
        senders: u64,
        /// Broadcasting threads.
        #[arg(long, default_value_t = 10)]
        threads: usize,
        /// Counted digits-ddpm requests over IBC (0: no IBC path).
        #[arg(long, default_value_t = 10)]
        ibc: usize,
        /// Start the IBC path's chain B this many ms after chain A (0: together,
        /// as tests/inference_ibc.rs; their blocks then come in lockstep).
        #[arg(long, default_value_t = 0)]
        ibc_stagger_ms: u64,
        /// Validator counts of the hosts (repeat: --validators 1 --validators 4).
        #[arg(long, default_values_t = vec![1usize, 4])]
        validators: Vec<usize>,
        /// Models for latency (repeat; digits-cnn, digits-ddpm).
        #[arg(long, default_values_t = chimera_e2e::bench_inference::MODELS.map(String::from).to_vec())]
        model: Vec<String>,
        /// CometBFT timeout_commit (ms) on every chain of the run.
        #[arg(long, default_value_t = 1000)]
        timeout_commit_ms: u64,
        /// Python with torch for the model-time peer
        /// (scripts/models/reference.py).
        #[arg(long, default_value = "python3")]
        python: PathBuf,
        /// Skip the Python peer.
        #[arg(long)]
        no_python: bool,
        /// The chimerad binary (default: $CHIMERAD, else the one cargo
        /// built next to this binary).
        #[arg(long)]
        chimerad: Option<PathBuf>,
    },
    /// `chimera relay` against Hermes 1.11 on the same paths, one after
    /// the other: a burst of ICS-20 transfers Terra → chimerad and a burst
    /// of digits-cnn inference requests chimerad → chimerad; packets/s,
    /// p50/p99 send-to-ack latency, relayer txs, fees and peak RSS
    /// (docs/benchmarks.md, "Relayer: chimera relay vs Hermes").
    BenchRelayer {
        /// Packets per burst.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10000))]
        packets: u64,
        /// Messages per user tx of the burst.
        #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..=100))]
        per_tx: u64,
        /// Skip the ICS-20 path.
        #[arg(long)]
        no_ics20: bool,
        /// Skip the inference path.
        #[arg(long)]
        no_inference: bool,
        /// Run chimera relay first on each path (default: Hermes first; the
        /// second run proves against a larger state).
        #[arg(long)]
        chimera_first: bool,
        /// The chimerad binary (default: $CHIMERAD, else the one cargo
        /// built next to this binary).
        #[arg(long)]
        chimerad: Option<PathBuf>,
    },
    /// A Terra Classic account's `chimera ica infer` to chimerad, by
    /// stage (Terra inclusion, relay, execution and quorum, the ack's way
    /// back, fetch), against a local MsgRunInference and an ICS-20 round
    /// trip on the same chains (docs/benchmarks.md, "Interchain accounts").
    BenchIca {
        /// Measured requests per route (after one warm-up each).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
        requests: u64,
        /// Zoo model.
        #[arg(long, default_value = "digits-ddpm")]
        model: String,
        /// Its text prompt.
        #[arg(long, default_value = "7")]
        prompt: String,
        /// The chimerad binary (default: $CHIMERAD, else the one cargo
        /// built next to this binary).
        #[arg(long)]
        chimerad: Option<PathBuf>,
    },
}

/// What `chimera-e2e devnet` does.
#[derive(Debug, Clone, Copy, Subcommand)]
enum DevnetAction {
    /// Start or resume the devnet, make a request, print the summary, and
    /// leave it running.
    Up,
    /// Whether each recorded process runs, chain heights, the account.
    Status,
    /// Stop every recorded process and remove the directory.
    Down,
}

/// Runs a devnet action on its own thread (the relayer's runtime blocks
/// there) and returns the exit status.
async fn devnet(action: DevnetAction, dir: Option<PathBuf>) -> i32 {
    use chimera_e2e::devnet;
    let dir = match devnet::devnet_dir(dir) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    if matches!(action, DevnetAction::Up) {
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                devnet::interrupted();
            }
        });
    }
    let work = std::thread::spawn(move || match action {
        DevnetAction::Up => match devnet::up(&dir) {
            Ok(()) => 0,
            Err(f) => {
                eprintln!("{f}");
                1
            }
        },
        DevnetAction::Status => match devnet::status(&dir) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        DevnetAction::Down => match devnet::down(&dir) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
    });
    match tokio::task::spawn_blocking(move || work.join()).await {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: the devnet thread panicked");
            1
        }
    }
}

/// `--chimerad` as an absolute path: the nodes run in their homes, where a
/// relative path would not resolve.
fn absolute_chimerad(chimerad: Option<PathBuf>) -> Result<Option<PathBuf>> {
    chimerad
        .map(|p| std::fs::canonicalize(&p).with_context(|| format!("--chimerad {}", p.display())))
        .transpose()
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Devnet { action, dir } => {
            let code = devnet(action.unwrap_or(DevnetAction::Up), dir).await;
            std::process::exit(code)
        }
        Cmd::TerraLocalnet {
            keep_running,
            chain_id,
            home,
            height,
        } => terra_localnet(keep_running, chain_id, home, height).await,
        Cmd::BenchBank {
            validators,
            txs,
            senders,
            threads,
            peer,
            chimerad,
        } => {
            let chimerad = absolute_chimerad(chimerad)?;
            let config = BenchConfig {
                validators: validators.into(),
                txs,
                senders,
                threads,
                peer,
                chimerad,
                ..BenchConfig::default()
            };
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let report = tokio::task::spawn_blocking(move || bench_bank::run(&config))
                .await
                .context("benchmark task panicked")??;
            println!("{}", report.details());
            println!("command: {command}\n");
            print!("{}", report.markdown());
            Ok(())
        }
        Cmd::BenchIcs20 {
            transfers,
            warmup,
            timeout_commit_ms,
            peer,
            peer_stagger_ms,
            chimerad,
        } => {
            let chimerad = absolute_chimerad(chimerad)?;
            let config = Ics20Config {
                transfers: transfers as usize,
                warmup,
                timeout_commit: std::time::Duration::from_millis(timeout_commit_ms),
                peer,
                peer_stagger: peer_stagger_ms.map(std::time::Duration::from_millis),
                chimerad,
                ..Ics20Config::default()
            };
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let report = tokio::task::spawn_blocking(move || bench_ics20::run(&config))
                .await
                .context("benchmark task panicked")??;
            println!("{}", report.details());
            println!("command: {command}\n");
            print!("{}", report.markdown());
            Ok(())
        }
        Cmd::BenchIca {
            requests,
            model,
            prompt,
            chimerad,
        } => {
            let config = chimera_e2e::bench_ica::IcaBenchConfig {
                requests: requests as usize,
                model,
                prompt,
                chimerad: absolute_chimerad(chimerad)?,
            };
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let report = std::thread::spawn(move || chimera_e2e::bench_ica::run(&config))
                .join()
                .map_err(|_| anyhow::anyhow!("benchmark thread panicked"))??;
            println!("command: {command}\n");
            print!("{}", report.markdown());
            Ok(())
        }
        Cmd::BenchRelayer {
            packets,
            per_tx,
            no_ics20,
            no_inference,
            chimera_first,
            chimerad,
        } => {
            let config = chimera_e2e::bench_relayer::RelayerBenchConfig {
                chimera_first,
                packets: packets as usize,
                per_tx: per_tx as usize,
                ics20: !no_ics20,
                inference: !no_inference,
                chimerad: absolute_chimerad(chimerad)?,
                ..Default::default()
            };
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            // Its own thread: the benchmark drives its own runtime.
            let report = std::thread::spawn(move || chimera_e2e::bench_relayer::run(&config))
                .join()
                .map_err(|_| anyhow::anyhow!("benchmark thread panicked"))??;
            println!("command: {command}\n");
            print!("{}", report.markdown());
            Ok(())
        }
        Cmd::BenchInference {
            latency,
            warmup,
            requests,
            senders,
            threads,
            ibc,
            ibc_stagger_ms,
            validators,
            model,
            timeout_commit_ms,
            python,
            no_python,
            chimerad,
        } => {
            let chimerad = absolute_chimerad(chimerad)?;
            let config = chimera_e2e::bench_inference::InferenceBenchConfig {
                validators,
                models: model,
                latency,
                warmup,
                requests,
                senders: senders as usize,
                threads,
                ibc,
                ibc_stagger: std::time::Duration::from_millis(ibc_stagger_ms),
                timeout_commit: std::time::Duration::from_millis(timeout_commit_ms),
                python: (!no_python).then_some(python),
                chimerad,
                ..Default::default()
            };
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let report = tokio::task::spawn_blocking(move || chimera_e2e::bench_inference::run(&config))
                .await
                .context("benchmark task panicked")??;
            println!("{}", report.details());
            println!("command: {command}\n");
            print!("{}", report.markdown());
            anyhow::ensure!(
                report.all_good(),
                "not every request ended in exactly one completed result (see the tables)"
            );
            Ok(())
        }
    }
}

async fn terra_localnet(
    keep_running: bool,
    chain_id: String,
    home: Option<PathBuf>,
    height: u64,
) -> Result<()> {
    let config = TerraConfig {
        chain_id,
        home,
        ready_height: height,
        ..TerraConfig::default()
    };
    let started = Instant::now();
    let mut net = tokio::task::spawn_blocking(move || TerraLocalnet::start(config))
        .await
        .context("start-up task panicked")?
        .context("starting the Terra Classic localnet")?;
    let took = started.elapsed();
    let status = net.status()?;
    println!("Terra Classic localnet is up ({:.1}s)", took.as_secs_f64());
    println!("  chain id     {}", status.network);
    println!("  height       {}", status.latest_height);
    println!("  terrad       {}", net.terrad().display());
    println!("  RPC          {}", net.rpc_url());
    println!("  gRPC         {}", net.grpc_url());
    println!("  REST         {}", net.rest_url());
    println!("  P2P          {}", net.p2p_addr());
    println!("  home         {}", net.home().display());
    println!("  log          {}", net.log_path().display());
    for (name, address) in net.accounts().to_vec() {
        let balance = net
            .balance(&address, DENOM)
            .await
            .with_context(|| format!("querying the balance of {name}"))?;
        println!("  account      {name:<10} {address} {balance}{DENOM} (gRPC)");
    }
    if keep_running {
        let home = net.keep_home().to_path_buf();
        println!("running; Ctrl-C stops the node (home kept at {})", home.display());
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        println!("stopping");
    }
    let stop_started = Instant::now();
    let exit = tokio::task::block_in_place(|| net.stop())?;
    println!("stopped ({exit}) in {:.1}s", stop_started.elapsed().as_secs_f64());
    Ok(())
}
