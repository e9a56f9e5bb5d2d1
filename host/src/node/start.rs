//! `chimerad start`: serve the app over ABCI and run CometBFT as a child.
//!
//! Order matters: the state store is opened and the ABCI listener is
//! accepting before `cometbft start` is spawned, because CometBFT dials the
//! app once at start and exits if nobody answers. The child runs in
//! `chimerad`'s process group with its output appended to its own log, and
//! with `PR_SET_PDEATHSIG = SIGKILL`, so a `kill -9` of `chimerad` still
//! stops it instead of leaving an orphan holding the ports and data. SIGKILL,
//! not SIGTERM: CometBFT 0.38.26, told to stop while its app is gone in the
//! middle of a block, was seen to hang in shutdown for good; and CometBFT is
//! crash-safe under SIGKILL (the crash test kills it that way too).
//!
//! Exit: SIGINT or SIGTERM stops the child (SIGTERM, up to
//! [`CHILD_STOP_GRACE`], then SIGKILL) and exits 0. CometBFT exiting on its
//! own, or the ABCI server failing, is an error (exit 1) that names the log.
//! A crash at any point is safe: the app commits each block in one atomic
//! write, and on restart CometBFT's handshake replays whatever the app lacks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context};
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{error, info, warn};

use super::cometbft;
use super::config::{resolve, LogConfig, LogFormat, NodeConfig};
use super::{NodeError, NodeResult};
use crate::blob::{BlobStore, StoreConfig};
use crate::chain::abci;
use crate::chain::app::App;
use crate::executor::pool::{Executor, ExecutorConfig};
use crate::executor::registry::{ModelsDirs, Registry};
use crate::executor::runtime::DeviceChoice;
use crate::inference::worker::{Fault, Worker, WorkerConfig};
use crate::state::{Storage, StorageOptions};

/// How long a stopping `chimerad` waits for CometBFT after SIGTERM before
/// SIGKILL.
///
/// Why: CometBFT flushes its block store and WAL on SIGTERM in well under
/// this; a hung one must not keep the node from stopping.
pub const CHILD_STOP_GRACE: Duration = Duration::from_secs(10);

/// How long `start` waits for its own ABCI listener to accept.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What `start` needs besides the home's config.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The node home (`chimerad init --home`).
    pub home: PathBuf,
    /// Serve ABCI only; CometBFT is run by someone else.
    pub no_cometbft: bool,
}

/// Runs the node until a signal or a failure.
///
/// Why: the operator's one command for a running node (see the module doc
/// for the order of steps and the exit contract).
pub fn start(opts: &StartOptions) -> NodeResult<()> {
    let home = std::path::absolute(&opts.home)
        .with_context(|| format!("resolving --home {}", opts.home.display()))?;
    let cfg = NodeConfig::load(&home)?;
    init_tracing(&cfg.log);

    let state_dir = resolve(&home, &cfg.state.dir);
    std::fs::create_dir_all(&state_dir).with_context(|| format!("creating {}", state_dir.display()))?;
    let storage = Storage::open(
        &state_dir,
        StorageOptions {
            keep_versions: cfg.state.keep_versions,
            sync: cfg.state.sync,
        },
    )
    .map_err(|e| anyhow!("opening state at {}: {e}", state_dir.display()))?;
    let height = storage.latest_version();
    let mut app =
        App::new(storage).map_err(|e| anyhow!("loading the app from {}: {e}", state_dir.display()))?;
    let blob_dir = resolve(&home, &cfg.executor.blob_dir);
    std::fs::create_dir_all(&blob_dir).with_context(|| format!("creating {}", blob_dir.display()))?;
    let blobs = BlobStore::open(&blob_dir, StoreConfig::default())
        .map_err(|e| anyhow!("opening the blob store at {}: {e}", blob_dir.display()))?;
    if cfg.executor.enabled {
        let worker = start_worker(&home, &cfg, blobs.clone())?;
        app.set_worker(Arc::new(worker));
    } else {
        info!("executor disabled ([executor] enabled = false): this node abstains from jobs");
    }
    info!(
        home = %home.display(),
        state = %state_dir.display(),
        committed_height = height.unwrap_or(0),
        keep_versions = cfg.state.keep_versions,
        "state opened"
    );

    let spawn = cfg.cometbft.spawn && !opts.no_cometbft;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    // `block_on` runs `supervise` on this (the main) thread, so the child is
    // forked from a thread that lives as long as the process: the parent
    // death signal fires only when chimerad itself dies.
    let result = runtime.block_on(supervise(&home, &cfg, Arc::new(Mutex::new(app)), blobs, spawn));
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

/// Sets up `chimerad`'s own tracing output on stderr; `RUST_LOG` overrides
/// the configured filter.
fn init_tracing(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Plain => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Loads the model registry and the executor, and this node's validator
/// address (whose reports its votes carry).
fn start_worker(home: &Path, cfg: &NodeConfig, blobs: BlobStore) -> NodeResult<Worker> {
    let ex = &cfg.executor;
    let device: DeviceChoice = ex
        .device
        .parse()
        .map_err(|e: String| NodeError::usage(format!("[executor] {e}")))?;
    let fault = match ex.fault.as_str() {
        "" | "none" => Fault::None,
        "wrong-results" => Fault::WrongResults,
        other => {
            return Err(NodeError::usage(format!(
                "[executor] fault {other:?}: want \"none\" or \"wrong-results\""
            )))
        }
    };
    let models_dir = ex.models_dir.as_ref().map(|p| resolve(home, p)).or_else(|| {
        std::env::var_os("CHIMERA_MODELS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let registry = Registry::open(ModelsDirs::new(models_dir)).map_err(|e| anyhow!("model registry: {e}"))?;
    let executor = Executor::start(
        &registry,
        ExecutorConfig {
            threads: ex.threads.max(1),
            queue_capacity: ex.queue_capacity.max(1),
            device,
            ..Default::default()
        },
    );
    let served: Vec<&str> = executor
        .models()
        .filter(|(_, slot)| matches!(slot, crate::executor::pool::Slot::Ready(_)))
        .map(|(id, _)| id)
        .collect();
    let key_path = resolve(home, &cfg.cometbft.home).join("config/priv_validator_key.json");
    let text =
        std::fs::read_to_string(&key_path).with_context(|| format!("reading {}", key_path.display()))?;
    let key: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", key_path.display()))?;
    let validator = key
        .get("address")
        .and_then(serde_json::Value::as_str)
        .and_then(|a| hex::decode(a).ok())
        .filter(|a| a.len() == 20)
        .ok_or_else(|| anyhow!("{}: no 20-byte hex address", key_path.display()))?;
    info!(
        validator = %hex::encode_upper(&validator),
        models = ?served,
        device = ?executor.device(),
        fault = ?fault,
        "executor ready"
    );
    Ok(Worker::new(
        executor,
        blobs,
        WorkerConfig {
            validator,
            executor_secret: super::init::read_executor_secret(home)?,
            fault,
            blob_peers: ex.blob_peers.clone(),
        },
    ))
}

async fn supervise(
    home: &Path,
    cfg: &NodeConfig,
    app: Arc<Mutex<App>>,
    blobs: BlobStore,
    spawn: bool,
) -> NodeResult<()> {
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;

    let listen = match &cfg.abci_socket {
        Some(p) => {
            let path = resolve(home, p);
            // A socket file left by a killed chimerad would make bind fail;
            // a live one is refused by the probe below first.
            if path.exists() {
                if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                    return Err(anyhow!(
                        "ABCI socket {} (abci_socket in chimerad.toml) is in use",
                        path.display()
                    )
                    .into());
                }
                std::fs::remove_file(&path).with_context(|| format!("removing stale {}", path.display()))?;
            }
            abci::AbciListen::Unix(path)
        }
        None => {
            let addr = cfg.abci_address;
            // Refuse a taken address ourselves: otherwise the readiness probe below
            // could reach whoever holds it (say, a chimerad still running).
            std::net::TcpListener::bind(addr).map(drop).with_context(|| {
                format!("ABCI address {addr} (abci_address in chimerad.toml) is not free")
            })?;
            abci::AbciListen::Tcp(addr)
        }
    };
    let storage = app.lock().unwrap_or_else(|p| p.into_inner()).storage().clone();
    let mempool_app = app.clone();
    let mempool: crate::grpc::read::MempoolState = Arc::new(move || {
        mempool_app
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .mempool_state()
    });
    let mut server = tokio::spawn(abci::serve(app, listen.clone()));
    wait_listening(&mut server, &listen).await?;
    info!(abci = %listen, "ABCI server listening");

    // gRPC (Cosmos SDK queries, BroadcastTx) reads committed state; Simulate
    // runs on the mempool's view, as the SDK's does; it learns the chain id and CometBFT's RPC from CometBFT's files.
    let cmt_home = resolve(home, &cfg.cometbft.home);
    let (chain_id, rpc) = cometbft_endpoints(&cmt_home)?;
    let grpc_addr = cfg.grpc_address;
    std::net::TcpListener::bind(grpc_addr)
        .map(drop)
        .with_context(|| format!("gRPC address {grpc_addr} (grpc_address in chimerad.toml) is not free"))?;
    let grpc_shutdown = Arc::new(tokio::sync::Notify::new());
    let notified = grpc_shutdown.clone();
    let metrics = super::telemetry::NodeMetrics::new(storage.clone(), Some(blobs.clone()));
    let mut grpc = tokio::spawn(crate::grpc::serve(
        storage,
        Some(mempool),
        Some(blobs),
        chain_id,
        rpc.clone(),
        grpc_addr,
        async move { notified.notified().await },
    ));
    info!(grpc = %grpc_addr, cometbft_rpc = %rpc, "gRPC server listening");

    // Metrics are not worth a validator missing blocks: a taken address is
    // logged and the node runs without them.
    let telemetry_shutdown = Arc::new(tokio::sync::Notify::new());
    if cfg.telemetry.enabled {
        let addr = cfg.telemetry.listen;
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                let notified = telemetry_shutdown.clone();
                tokio::spawn(async move {
                    let stop = async move { notified.notified().await };
                    if let Err(e) = super::telemetry::serve_on(listener, metrics, stop).await {
                        error!(error = %e, "the metrics server failed");
                    }
                });
                info!(metrics = %format!("http://{addr}/metrics"), "Prometheus metrics listening");
            }
            Err(e) => error!(
                error = %e,
                "[telemetry] listen = {addr} in chimerad.toml is not free; running without metrics"
            ),
        }
    }

    let log_path = resolve(home, &cfg.cometbft.log_file);
    let mut child = if spawn {
        Some(spawn_cometbft(home, cfg, &log_path)?)
    } else {
        info!("not starting CometBFT (--no-cometbft or [cometbft] spawn = false); waiting for it to connect");
        None
    };

    let outcome = tokio::select! {
        _ = sigterm.recv() => Ok("SIGTERM"),
        _ = sigint.recv() => Ok("SIGINT"),
        status = wait_child(&mut child) => match status {
            // A stop signal to the whole process group (as `kill -TERM
            // -<pgid>` and the e2e harness send it) can reach CometBFT
            // first: its clean exit with ours pending is a stop, not a
            // failure.
            Ok(s) if s.success() => tokio::select! {
                _ = sigterm.recv() => Ok("SIGTERM"),
                _ = sigint.recv() => Ok("SIGINT"),
                _ = tokio::time::sleep(Duration::from_secs(2)) => Err(anyhow!(
                    "cometbft exited on its own ({s}); see its log {}", log_path.display()
                )),
            },
            Ok(s) => Err(anyhow!("cometbft exited on its own ({s}); see its log {}", log_path.display())),
            Err(e) => Err(anyhow!("waiting for cometbft: {e}; see its log {}", log_path.display())),
        },
        r = &mut grpc => Err(match r {
            Ok(Ok(())) => anyhow!("the gRPC server on {grpc_addr} stopped"),
            Ok(Err(e)) => e.context("the gRPC server failed"),
            Err(e) => anyhow!("the gRPC server task failed: {e}"),
        }),
        r = &mut server => Err(match r {
            Ok(Ok(())) => anyhow!("the ABCI server on {listen} stopped"),
            Ok(Err(e)) => e.context("the ABCI server failed"),
            Err(e) => anyhow!("the ABCI server task failed: {e}"),
        }),
    };
    match outcome {
        Ok(sig) => {
            info!(signal = sig, "stopping");
            if let Some(c) = child.as_mut() {
                stop_child(c).await;
            }
            grpc_shutdown.notify_one();
            telemetry_shutdown.notify_one();
            server.abort();
            info!("stopped");
            Ok(())
        }
        Err(e) => {
            error!(error = %format!("{e:#}"), "node failed");
            if let Some(c) = child.as_mut() {
                if c.try_wait().ok().flatten().is_none() {
                    stop_child(c).await;
                }
            }
            server.abort();
            Err(e.into())
        }
    }
}

/// The chain id (genesis.json) and the RPC URL (config.toml `[rpc] laddr`)
/// of the CometBFT home, for the gRPC services that call back into CometBFT.
fn cometbft_endpoints(cmt_home: &Path) -> anyhow::Result<(String, String)> {
    let genesis = super::cometbft::read_genesis(cmt_home)?;
    let chain_id = genesis
        .get("chain_id")
        .and_then(|v| v.as_str())
        .context("genesis.json has no chain_id")?
        .to_string();
    let path = cmt_home.join("config/config.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: toml::Value =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    let laddr = config
        .get("rpc")
        .and_then(|r| r.get("laddr"))
        .and_then(|v| v.as_str())
        .with_context(|| format!("{} has no [rpc] laddr", path.display()))?;
    let hostport = laddr
        .strip_prefix("tcp://")
        .unwrap_or(laddr)
        .replace("0.0.0.0", "127.0.0.1");
    Ok((chain_id, format!("http://{hostport}")))
}

/// Polls until `addr` accepts a connection, failing early if the server
/// task ends (bind error) or after [`LISTEN_TIMEOUT`].
async fn wait_listening(
    server: &mut tokio::task::JoinHandle<anyhow::Result<()>>,
    at: &abci::AbciListen,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    loop {
        if server.is_finished() {
            return Err(match server.await {
                Ok(Ok(())) => anyhow!("the ABCI server on {at} stopped at once"),
                Ok(Err(e)) => e.context(format!("starting the ABCI server on {at}")),
                Err(e) => anyhow!("the ABCI server task failed: {e}"),
            });
        }
        let up = match at {
            abci::AbciListen::Tcp(addr) => tokio::net::TcpStream::connect(addr).await.is_ok(),
            abci::AbciListen::Unix(path) => tokio::net::UnixStream::connect(path).await.is_ok(),
        };
        if up {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!(
                "the ABCI server did not accept on {at} within {LISTEN_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn_cometbft(home: &Path, cfg: &NodeConfig, log_path: &Path) -> anyhow::Result<Child> {
    let binary = cometbft::find_binary(&cfg.cometbft.binary)?;
    let cmt_home = resolve(home, &cfg.cometbft.home);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening the CometBFT log {}", log_path.display()))?;
    let line = format!("{} start --home {}", binary.display(), cmt_home.display());
    writeln!(log, "=== chimerad (pid {}): starting {line}", std::process::id())
        .with_context(|| format!("writing {}", log_path.display()))?;
    let err_log = log.try_clone().context("duplicating the log handle")?;

    let parent = std::process::id() as libc::pid_t;
    let mut cmd = Command::new(&binary);
    cmd.arg("start")
        .arg("--home")
        .arg(&cmt_home)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err_log));
    // SAFETY: between fork and exec this calls only async-signal-safe libc
    // functions (prctl, getppid) and builds io::Errors from errno values,
    // which does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // chimerad died between fork and prctl: do not run unsupervised.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let child = cmd.spawn().with_context(|| format!("starting `{line}`"))?;
    info!(
        pid = child.id().unwrap_or(0),
        home = %cmt_home.display(),
        log = %log_path.display(),
        "cometbft started"
    );
    Ok(child)
}

/// The child's exit, or never when there is no child.
async fn wait_child(child: &mut Option<Child>) -> std::io::Result<ExitStatus> {
    match child {
        Some(c) => c.wait().await,
        None => std::future::pending().await,
    }
}

/// SIGTERM, up to [`CHILD_STOP_GRACE`] for it to exit, then SIGKILL.
async fn stop_child(child: &mut Child) {
    let Some(pid) = child.id() else {
        return; // already reaped
    };
    // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    match tokio::time::timeout(CHILD_STOP_GRACE, child.wait()).await {
        Ok(Ok(status)) => info!(pid, %status, "cometbft stopped"),
        Ok(Err(e)) => warn!(pid, error = %e, "waiting for cometbft"),
        Err(_) => {
            warn!(pid, grace = ?CHILD_STOP_GRACE, "cometbft did not stop after SIGTERM; killing it");
            if let Err(e) = child.kill().await {
                warn!(pid, error = %e, "SIGKILL of cometbft failed");
            }
        }
    }
}
