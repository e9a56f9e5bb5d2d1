//! The devnet behind the README's main command (`scripts/devnet`): a
//! persistent Terra Classic localnet and a one-validator chimerad (with the
//! model zoo) side by side, our relayer (`chimera relay`) between them over
//! a transfer channel, and a LUNC user who reaches the host through ICS-27
//! with the real `chimera ica` CLI: register an interchain account, fund it
//! with `uluna`, ask `digits-ddpm` for a "7", wait for the acknowledgement
//! back on Terra, fetch and verify the PNG. Then the same user takes the
//! contract route with `terrad`'s own CLI alone (docs/users.md §8): the
//! inference-requester contract (stored, instantiated and given its
//! `chimera-inference-1` channel to chimerad's `inference` port on the first
//! run) escrows a `uluna` fee for a "7", and once the contract records the
//! result, `chimera fetch` downloads the PNG and checks it against it.
//! Last, the web app (`chimera ui`, port 8090 when free) starts against
//! both chains and the contract, so the user can ask, watch and verify in a
//! browser; the summary prints its address.
//!
//! Everything lives in one directory (`--dir`, default
//! `$CHIMERA_DEVNET_DIR`, else `~/.cache/chimera/devnet`): `terra/` (terrad
//! home), `chimera/node0/` (chimerad home), `relayer/` (config, keys,
//! logs), `outputs/` (the PNGs), `ui/` (the web app's log) and `devnet.json`, the state file: each
//! long-running process (command line, environment, log, process group),
//! the chains' endpoints, the relayer's paths, the user's account and the
//! contract (code id, address, channel ids) with its requests.
//!
//! - `up`, first run: starts the chains, writes the relayer config and keys,
//!   opens a connection and a transfer channel, starts `chimera relay`, and
//!   detaches all three (they run on after `chimera-e2e` exits); then the
//!   user's ICA request; then the contract is stored, instantiated and its
//!   channel opened (`chimera relay` paused meanwhile), and the user's
//!   contract request.
//! - `up`, later runs: a recorded process that is not running is started
//!   again from its recorded command line (chains resume from their homes);
//!   what exists is reused (contract and channel included); a new request
//!   is made on each route.
//! - `status`: is each process alive, chain heights, the account.
//! - `down`: stops every recorded process group, removes the directory.
//!
//! [`start_terra_and_chimera`], [`open_transfer_path`] and the configs are
//! shared with the interop tests (`tests/hermes_chimera.rs` runs the same
//! start-up and path-opening steps through Hermes).

use std::collections::HashSet;
use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::bank;
use crate::bins;
use crate::chimera::{self, chimera_address, ChimeraNet, ChimeraNetConfig};
use crate::fees;
use crate::hermes::{self, ibc_denom, Ends, Hermes, HermesChain, RELAYER_MNEMONIC, TRANSFER_PORT};
use crate::keys;
use crate::ports;
use crate::process::{self, DetachedProcess, GroupState, ManagedProcess};
use crate::relayer::{self, ChimeraRelayer};
use crate::rpc;
use crate::terra::{self, GenesisAccount, TerraConfig, TerraLocalnet};
use crate::wasm::{self, TerradHome};

/// How long one relaying wait may take.
pub const WAIT: Duration = Duration::from_secs(90);

/// The devnet's chimerad chain id.
pub const CHIMERA_CHAIN_ID: &str = chimera::DEFAULT_CHAIN_ID;

/// The Terra localnet the relayers relay for: the default user plus a
/// funded relayer key.
pub fn terra_config() -> TerraConfig {
    TerraConfig {
        chain_id: terra::DEFAULT_CHAIN_ID.into(),
        accounts: vec![
            GenesisAccount::user(),
            GenesisAccount {
                name: hermes::RELAYER_KEY.into(),
                mnemonic: RELAYER_MNEMONIC.into(),
                amount: terra::DEFAULT_GENESIS_AMOUNT,
            },
        ],
        ..TerraConfig::default()
    }
}

/// A single-validator chimerad localnet with the relayer funded in `uchim`.
pub fn chimera_config(chain_id: &str) -> ChimeraNetConfig {
    let mut config = ChimeraNetConfig {
        chain_id: chain_id.into(),
        ..ChimeraNetConfig::default()
    };
    let relayer = chimera_address(RELAYER_MNEMONIC)
        .expect("the relayer mnemonic is valid")
        .to_string();
    config.accounts.push((
        relayer,
        format!("{}{}", chimera::DEFAULT_GENESIS_AMOUNT, chimera::DENOM),
    ));
    config
}

/// Starts the Terra localnet and the chimerad localnet side by side.
pub fn start_terra_and_chimera(
    terra: TerraConfig,
    chimera: ChimeraNetConfig,
) -> Result<(TerraLocalnet, ChimeraNet)> {
    std::thread::scope(|s| {
        let t = s.spawn(|| TerraLocalnet::start(terra));
        let c = s.spawn(|| ChimeraNet::start(chimera));
        let t = t.join().map_err(|_| anyhow!("Terra start-up panicked"))?;
        let c = c.join().map_err(|_| anyhow!("chimerad start-up panicked"))?;
        Ok((
            t.context("starting the Terra Classic localnet")?,
            c.context("starting the chimerad localnet")?,
        ))
    })
}

/// Runs named steps against a [`Hermes`]: the interop tests report (and
/// panic) their way, the benchmarks print progress and return the error.
pub trait StepRunner {
    /// Runs `f` as the step `name`.
    fn step<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> Result<T>;
}

/// Runs each step as it is, naming the step in its error: for tests that
/// report their own way.
pub struct PlainSteps;

impl StepRunner for PlainSteps {
    fn step<T, E: Display>(
        &mut self,
        hermes: &mut Hermes,
        name: &str,
        f: impl FnOnce(&mut Hermes) -> Result<T, E>,
    ) -> Result<T> {
        f(hermes).map_err(|e| anyhow!("{name}: {e}"))
    }
}

/// An open ICS-20 path between chains `a` and `b`.
#[derive(Debug, Clone)]
pub struct TransferPath {
    /// `a`'s client of `b`.
    pub client_a: String,
    /// `b`'s client of `a`.
    pub client_b: String,
    /// The connection ids on both sides.
    pub connection: Ends,
    /// The transfer channel ids on both sides.
    pub channel: Ends,
}

/// Both clients, a connection and a transfer channel between `a` and `b`,
/// then `hermes start` relaying them. `after_client_on_a` runs once `a`
/// holds its client of `b` (to inspect it).
pub fn open_transfer_path<S: StepRunner>(
    steps: &mut S,
    hermes: &mut Hermes,
    a: &str,
    b: &str,
    after_client_on_a: impl FnOnce(&mut S, &mut Hermes, &str) -> Result<()>,
) -> Result<TransferPath> {
    let client_a = steps.step(hermes, &format!("create client on {a} of {b}"), |h| {
        h.create_client(a, b)
    })?;
    after_client_on_a(steps, hermes, &client_a)?;
    let client_b = steps.step(hermes, &format!("create client on {b} of {a}"), |h| {
        h.create_client(b, a)
    })?;
    let connection = steps.step(hermes, "create connection", |h| {
        h.create_connection(a, &client_a, &client_b)
    })?;
    let channel = steps.step(hermes, "create transfer channel", |h| {
        h.create_transfer_channel(a, &connection.a)
    })?;
    steps.step(hermes, "hermes start", |h| h.start(WAIT))?;
    Ok(TransferPath {
        client_a,
        client_b,
        connection,
        channel,
    })
}

// ---------------------------------------------------------------------------
// The persistent devnet.

/// Environment variable naming the devnet directory.
pub const DIR_ENV: &str = "CHIMERA_DEVNET_DIR";

/// The state file in the devnet directory.
pub const STATE_FILE: &str = "devnet.json";

/// The state file's format version.
const STATE_VERSION: u64 = 1;

/// The relayer key-store name of the LUNC user's key on Terra
/// ([`keys::USER_MNEMONIC`], coin type 330).
pub const USER_KEY: &str = "lunc-user";

/// The request: model, prompt and seed.
pub const MODEL: &str = "digits-ddpm";
/// The digit asked for.
pub const PROMPT: &str = "7";
/// The executors' seed (same seed, same image).
pub const SEED: u64 = 42;

/// The most a request may cost, in the account's `uluna` voucher.
pub const FEE: u128 = 1_000;

/// Blocks between the devnet's sends of burn and community parts to Terra.
const FEE_SEND_INTERVAL: u64 = 10;

/// The devnet's community address on Terra: an account nobody holds a key
/// to (SHA-256 of a fixed name), so its balance shows exactly what fees sent.
pub fn community_address() -> String {
    let sha = crate::inference::sha256(b"chimera devnet community");
    cosmrs::AccountId::new(keys::TERRA_PREFIX, &sha[..20])
        .expect("20 bytes")
        .to_string()
}

/// What `chimera ica fund` sends when the account holds less than [`FEE`].
pub const FUND: u128 = 1_000_000;

/// How long `chimera ica infer --wait` may follow the request.
const INFER_WAIT: &str = "5m";

/// Where `scripts/devnet` serves the web app when the port is free
/// (`chimera ui`'s own default).
pub const WEB_PORT: u16 = 8090;

/// How long a respawned process may take to answer.
const RESPAWN_TIMEOUT: Duration = Duration::from_secs(90);

/// The Terra key (in the terrad home's `test` keyring, [`keys::USER_MNEMONIC`])
/// that stores, instantiates and calls the requester contract: the same
/// LUNC user as [`USER_KEY`], through `terrad` instead of `chimera`.
pub const TERRA_USER_KEY: &str = "user";

/// The requester contract's label on Terra.
pub const CONTRACT_LABEL: &str = "chimera-inference-requester";

/// The channel version of the contract's channel to chimerad's `inference`
/// port.
pub const INFERENCE_VERSION: &str = "chimera-inference-1";

/// chimerad's port for the `inference` application.
pub const INFERENCE_PORT: &str = "inference";

/// The fee a contract request escrows (`--amount`), in `uluna`.
pub const CONTRACT_FEE: u128 = 100_000;

/// How long the contract's packet has to reach chimerad.
const CONTRACT_TIMEOUT_SECONDS: u64 = 600;

/// How long the devnet waits for the contract to record an outcome.
const CONTRACT_WAIT: Duration = Duration::from_secs(300);

/// The devnet directory: `dir`, else `$CHIMERA_DEVNET_DIR`, else
/// `~/.cache/chimera/devnet` (under `$CHIMERA_CACHE` when set).
pub fn devnet_dir(dir: Option<PathBuf>) -> Result<PathBuf> {
    let dir = dir
        .or_else(|| {
            std::env::var_os(DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| bins::chimera_cache().join("devnet"));
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Ok(std::env::current_dir()
            .context("the current directory")?
            .join(dir))
    }
}

/// Process groups recorded in the state file: an interrupted run leaves
/// them running and stops the others it started.
static RECORDED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn record_pgid(pgid: i32) {
    RECORDED.lock().unwrap_or_else(|e| e.into_inner()).push(pgid);
}

/// Ctrl-C during `up`: stops every process group this run started and did
/// not record yet (a chain half started, a respawn under way), leaves the
/// recorded ones running, and exits 130.
pub fn interrupted() -> ! {
    let keep: HashSet<i32> = RECORDED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    let stray: Vec<i32> = process::own_group_leaders()
        .into_iter()
        .filter(|p| !keep.contains(p))
        .collect();
    std::thread::scope(|s| {
        for pgid in &stray {
            s.spawn(move || process::stop_group(*pgid, chimera::NODE_STOP_GRACE));
        }
    });
    eprintln!(
        "\ninterrupted: stopped {} process group(s) this run had not recorded; recorded ones keep running \
         (`scripts/devnet down` stops them)",
        stray.len()
    );
    std::process::exit(130)
}

/// The devnet's progress: one line per step on stderr.
struct Progress {
    started: Instant,
}

impl Progress {
    fn line(&self, word: &str, what: &str, took: Option<Duration>) {
        eprintln!(
            "[{:>6.1}s] {word:<8} {what}{}",
            self.started.elapsed().as_secs_f64(),
            took.map_or(String::new(), |t| format!(" ({:.1}s)", t.as_secs_f64()))
        );
    }
}

/// A failed devnet command: one line, and the logs to look at.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, on one line.
    pub message: String,
    /// The logs that explain it.
    pub logs: Vec<PathBuf>,
    /// What was left running, and what to do next.
    pub hint: String,
}

impl Failure {
    fn new(e: anyhow::Error, logs: Vec<PathBuf>, hint: impl Into<String>) -> Self {
        Self {
            message: one_line(&e),
            logs,
            hint: hint.into(),
        }
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error: {}", self.message)?;
        for l in &self.logs {
            write!(f, "\n  see {}", l.display())?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  {}", self.hint)?;
        }
        Ok(())
    }
}

/// The error chain on one line: each cause's first line, joined by ": ".
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or_default().trim().to_string();
        if !first.is_empty() && !parts.iter().any(|p| p.contains(&first)) {
            parts.push(first);
        }
    }
    parts.join(": ")
}

/// `DIR/devnet.json`, read and written whole (atomically: a temp file
/// renamed over it).
struct State {
    dir: PathBuf,
    v: Value,
}

impl State {
    fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// The state in `dir`, or None if there is none.
    fn load(dir: &Path) -> Result<Option<Self>> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let v: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON (remove the directory, or fix the file)",
                path.display()
            )
        })?;
        if v["version"].as_u64() != Some(STATE_VERSION) {
            bail!(
                "{} has version {}, this chimera-e2e writes {STATE_VERSION}: `scripts/devnet down` (with the \
                 chimera-e2e that made it) or remove {}",
                path.display(),
                v["version"],
                dir.display()
            );
        }
        Ok(Some(Self {
            dir: dir.to_path_buf(),
            v,
        }))
    }

    /// Refuses a directory that exists, is not empty and holds no state
    /// file (it is not ours to write into or remove).
    fn check_dir(dir: &Path) -> Result<()> {
        if Self::path(dir).exists() || !dir.exists() {
            return Ok(());
        }
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if entries.any(|e| e.is_ok_and(|e| e.file_name() != "devnet.lock")) {
            bail!(
                "{} is not empty and holds no {STATE_FILE}: not a devnet directory; choose another --dir \
                 (or ${DIR_ENV})",
                dir.display()
            );
        }
        Ok(())
    }

    /// The state in `dir`, or a new one (written at once, marking `dir` as
    /// a devnet directory). Refuses a non-empty directory without one.
    fn open_or_create(dir: &Path) -> Result<Self> {
        if let Some(s) = Self::load(dir)? {
            return Ok(s);
        }
        Self::check_dir(dir)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let s = Self {
            dir: dir.to_path_buf(),
            v: json!({
                "version": STATE_VERSION,
                "dir": dir.display().to_string(),
                "created_unix": unix_now(),
                "runs": 0,
            }),
        };
        s.save()?;
        Ok(s)
    }

    fn save(&self) -> Result<()> {
        let path = Self::path(&self.dir);
        let tmp = self.dir.join(format!(".{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(&self.v).expect("JSON serializes");
        std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
    }

    fn str(&self, pointer: &str) -> Result<String> {
        self.v
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{}: no {pointer}", Self::path(&self.dir).display()))
    }

    fn processes(&self) -> Vec<Value> {
        self.v["processes"].as_array().cloned().unwrap_or_default()
    }

    /// Every log the state knows of, for error reports.
    fn logs(&self) -> Vec<PathBuf> {
        let mut logs: Vec<PathBuf> = self
            .processes()
            .iter()
            .filter_map(|p| p["log"].as_str().map(PathBuf::from))
            .collect();
        for p in ["/chains/chimera/cometbft_log", "/relayer/commands_log"] {
            if let Ok(l) = self.str(p) {
                logs.push(l.into());
            }
        }
        logs
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An exclusive lock on the devnet directory for this command.
struct DirLock {
    _file: std::fs::File,
}

fn lock_dir(dir: &Path) -> Result<DirLock> {
    use std::os::unix::io::AsRawFd;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("devnet.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock(2) on a descriptor we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        bail!(
            "another `chimera-e2e devnet` is working on {} right now",
            dir.display()
        );
    }
    Ok(DirLock { _file: file })
}

// --- process records ---------------------------------------------------------

/// How to tell that a (re)started process serves: HTTP 2xx or a TCP accept.
fn ready_http(addr: SocketAddr, path: &str) -> Value {
    json!({ "http": addr.to_string(), "path": path })
}

fn ready_tcp(addr: SocketAddr) -> Value {
    json!({ "tcp": addr.to_string() })
}

/// A process record: the detached process plus its role, readiness probes
/// and ports.
fn process_record(
    d: &DetachedProcess,
    role: &str,
    ready: Vec<Value>,
    ports: &[(u16, &str)],
    chain: Option<&str>,
) -> Value {
    let mut v = d.to_json();
    v["role"] = json!(role);
    v["ready"] = json!(ready);
    v["ports"] = json!(ports.iter().map(|(p, s)| json!([p, s])).collect::<Vec<_>>());
    v["chain_id"] = json!(chain);
    v
}

/// Starts a recorded process again from its exact command line, waits for
/// its probes (and, for a chain, a new block), and detaches it; returns
/// the updated record.
fn respawn(record: &Value) -> Result<Value> {
    let d = DetachedProcess::from_json(record).map_err(|e| anyhow!(e))?;
    let name = d.spec.name.clone();
    for pair in record["ports"].as_array().into_iter().flatten() {
        if let (Some(port), Some(service)) = (pair[0].as_u64(), pair[1].as_str()) {
            ports::ensure_free(port as u16, &format!("{name} {service}")).map_err(|e| {
                anyhow!("{e}: another program holds the devnet's port; stop it, or `scripts/devnet down` and start over")
            })?;
        }
    }
    let mut p: ManagedProcess = d.respawn().with_context(|| format!("restarting {name}"))?;
    for probe in record["ready"].as_array().into_iter().flatten() {
        if let Some(addr) = probe["http"].as_str() {
            let addr: SocketAddr = addr.parse().context("a recorded address")?;
            p.wait_for_http(addr, probe["path"].as_str().unwrap_or("/"), RESPAWN_TIMEOUT)?;
        } else if let Some(addr) = probe["tcp"].as_str() {
            p.wait_for_port(addr.parse().context("a recorded address")?, RESPAWN_TIMEOUT)?;
        }
    }
    if record["chain_id"].is_string() {
        // A chain that answers must also make blocks again.
        let rpc: SocketAddr = record["ready"][0]["http"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .context("the chain's recorded RPC address")?;
        let h0 = rpc::status(rpc)?.latest_height;
        p.wait_until(&format!("a block after {h0}"), RESPAWN_TIMEOUT, || {
            rpc::status(rpc).ok().filter(|s| s.latest_height > h0).map(|_| ())
        })?;
    }
    let mut v = record.clone();
    let fresh = p.into_detached();
    record_pgid(fresh.pgid);
    for (k, x) in fresh.to_json().as_object().expect("an object") {
        v[k] = x.clone();
    }
    Ok(v)
}

/// What one probe of a running process says (None: it serves).
fn probe_once(record: &Value) -> Option<String> {
    for probe in record["ready"].as_array().into_iter().flatten() {
        if let Some(addr) = probe["http"].as_str() {
            let a: SocketAddr = addr.parse().ok()?;
            let ok = crate::http::get(a, probe["path"].as_str().unwrap_or("/"), Duration::from_secs(5))
                .is_ok_and(|r| r.is_success());
            if !ok {
                return Some(format!("http://{addr} does not answer"));
            }
        } else if let Some(addr) = probe["tcp"].as_str() {
            let a: SocketAddr = addr.parse().ok()?;
            if std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_err() {
                return Some(format!("{addr} does not accept connections"));
            }
        }
    }
    None
}

// --- the chimera CLI ---------------------------------------------------------

/// `chimera --config <devnet relayer config> ...`, as the LUNC user runs it:
/// standard error streamed to ours (indented), standard output captured,
/// both appended to the relayer's `commands.log`.
struct ChimeraCli {
    binary: PathBuf,
    config: PathBuf,
    log: PathBuf,
}

impl ChimeraCli {
    /// The CLI with the devnet's relayer config, logging to its commands log.
    fn of(st: &State) -> Result<ChimeraCli> {
        Ok(ChimeraCli {
            binary: relayer::chimera_binary(),
            config: st.str("/relayer/config")?.into(),
            log: st.str("/relayer/commands_log")?.into(),
        })
    }

    fn run(&self, args: &[&str], stdin: Option<&str>, show: bool) -> Result<String> {
        let shown = format!("chimera --config {} {}", self.config.display(), args.join(" "));
        let mut child = Command::new(&self.binary)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (build it: `cargo build -p chimera-relayer --bin chimera`)",
                    self.binary.display()
                )
            })?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(input.as_bytes())
                .context("writing to chimera's stdin")?;
        }
        let err = child.stderr.take().expect("stderr is piped");
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if show {
                    eprintln!("           | {line}");
                }
                lines.push(line);
            }
            lines
        });
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_string(&mut out)
            .context("reading chimera's output")?;
        let status = child.wait().context("waiting for chimera")?;
        let err_lines = reader.join().unwrap_or_default();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
        {
            let _ = writeln!(f, "$ {shown}\n{out}{}\n[{status}]\n", err_lines.join("\n"));
        }
        if !status.success() {
            let last = err_lines
                .iter()
                .rev()
                .find(|l| l.starts_with("error"))
                .or(err_lines.last())
                .map(|l| l.trim_start_matches("error:").trim().to_string())
                .unwrap_or_default();
            let command: Vec<&str> = args.iter().take_while(|a| !a.starts_with('-')).copied().collect();
            bail!(
                "`chimera {}` exited {}: {last}",
                command.join(" "),
                status.code().map_or("on a signal".into(), |c| c.to_string())
            );
        }
        Ok(out)
    }

    /// [`run`](Self::run), parsing standard output (its last line) as JSON.
    fn json(&self, args: &[&str]) -> Result<Value> {
        let out = self.run(args, None, true)?;
        let text = out.trim();
        serde_json::from_str(text)
            .or_else(|_| serde_json::from_str(text.lines().last().unwrap_or_default()))
            .with_context(|| format!("`chimera {}` printed no JSON: {text}", args.join(" ")))
    }
}

// --- up ------------------------------------------------------------------------

/// `chimera-e2e devnet up`: starts or resumes the devnet in `dir`, makes a
/// request, prints the summary on standard output, and leaves everything
/// running.
pub fn up(dir: &Path) -> Result<(), Failure> {
    let progress = Progress {
        started: Instant::now(),
    };
    let _lock = State::check_dir(dir)
        .and_then(|()| lock_dir(dir))
        .map_err(|e| Failure::new(e, vec![], ""))?;
    let mut st = State::open_or_create(dir).map_err(|e| Failure::new(e, vec![], ""))?;
    let mut words = Vec::new();
    let fresh = st.v["processes"].as_array().is_none_or(|a| a.is_empty());
    let infra = if fresh {
        create_infra(&mut st, &progress).map(|()| {
            words.push("started the chains, relayer and paths".to_string());
        })
    } else {
        resume_infra(&mut st, &progress, &mut words)
    };
    if let Err(e) = infra {
        let hint = if fresh {
            format!(
                "nothing was left running; run `scripts/devnet` again to start over in {}",
                dir.display()
            )
        } else {
            "what runs keeps running; fix it and run `scripts/devnet` again, or `scripts/devnet down`".into()
        };
        let mut logs = st.logs();
        if fresh {
            logs = fresh_logs(dir);
        }
        return Err(Failure::new(e, logs, hint));
    }
    st.v["runs"] = json!(st.v["runs"].as_u64().unwrap_or(0) + 1);
    let _ = st.save();
    let request = user_flow(&mut st, &progress, &mut words).map_err(|e| {
        // The CLI's own record first: it holds each command's full output.
        let mut logs = st.logs();
        logs.sort_by_key(|l| !l.ends_with("commands.log") && !l.ends_with(relayer::RELAY_LOG));
        Failure::new(
            e,
            logs,
            "the chains and relayer keep running; `scripts/devnet` again retries the request, `scripts/devnet down` stops everything",
        )
    })?;
    let contract = contract_flow(&mut st, &progress, &mut words).map_err(|e| {
        let mut logs = st.logs();
        logs.sort_by_key(|l| !l.ends_with("commands.log") && !l.ends_with(relayer::RELAY_LOG));
        Failure::new(
            e,
            logs,
            "the chains and relayer keep running; `scripts/devnet` again retries (what the contract route already \
             has is reused), `scripts/devnet down` stops everything",
        )
    })?;
    web_app(&mut st, &progress, &mut words).map_err(|e| {
        Failure::new(
            e,
            st.logs(),
            "the chains, relayer and requests are fine; `scripts/devnet` again retries the web app",
        )
    })?;
    print_summary(&st, &request, &contract, &progress, &words).map_err(|e| Failure::new(e, st.logs(), ""))?;
    Ok(())
}

/// `chimera ui`, the web app, once: started after the contract exists (its
/// Ask page needs the contract and its channel), detached and recorded like
/// the other processes, so later runs reuse or respawn it. It listens on
/// [`WEB_PORT`] when that is free, else on any free port; the summary says
/// where. The page's devnet wallet is the devnet user's well-known
/// mnemonic, passed in the environment (never in the served bundle).
fn web_app(st: &mut State, p: &Progress, words: &mut Vec<String>) -> Result<()> {
    if st.processes().iter().any(|r| r["role"] == "ui") {
        // resume_infra already reused or respawned it.
        return Ok(());
    }
    let t = Instant::now();
    let binary = PathBuf::from(st.str("/relayer/binary")?);
    let index = crate::web::repo().join("relayer/web/dist/index.html");
    if !index.is_file() {
        bail!(
            "{} is missing: build the web app with `scripts/setup web`",
            index.display()
        );
    }
    let port = if ports::ensure_free(WEB_PORT, "chimera ui").is_ok() {
        WEB_PORT
    } else {
        ports::free_port().context("a free port for chimera ui")?
    };
    let listen = ports::loopback(port);
    let log = st.dir.join("ui").join("chimera-ui.log");
    std::fs::create_dir_all(st.dir.join("ui")).context("creating the web app's log directory")?;
    let args = [
        "ui".to_string(),
        "--host-grpc".into(),
        st.str("/chains/chimera/grpc")?,
        "--contract".into(),
        st.str("/contract/address")?,
        "--channel".into(),
        st.str("/contract/channel_id")?,
        "--terra-rpc".into(),
        st.str("/chains/terra/rpc")?,
        "--terra-grpc".into(),
        st.str("/chains/terra/grpc")?,
        "--terra-rest".into(),
        st.str("/chains/terra/rest")?,
        "--listen".into(),
        listen.to_string(),
    ];
    let mut spec = process::ProcessSpec::new("chimera ui", &binary, &log)
        .args(&args)
        .env("CHIMERA_DEVNET_MNEMONIC", keys::USER_MNEMONIC);
    for (k, v) in inherited_env() {
        spec = spec.env(k, v);
    }
    p.line(
        "start",
        &format!("chimera {} (devnet wallet: the user's mnemonic)", args.join(" ")),
        None,
    );
    let mut ui = ManagedProcess::spawn(spec).context("starting chimera ui")?;
    ui.wait_for_http(listen, "/api/ask-info", WAIT)
        .with_context(|| format!("chimera ui at http://{listen} (log {})", log.display()))?;
    let d = ui.into_detached();
    record_pgid(d.pgid);
    let record = process_record(
        &d,
        "ui",
        vec![ready_http(listen, "/api/info")],
        &[(port, "web app")],
        None,
    );
    let mut records = st.processes();
    records.push(record);
    st.v["processes"] = json!(records);
    st.v["web"] = json!({ "url": format!("http://{listen}/"), "log": log.display().to_string() });
    st.save()?;
    p.line(
        "started",
        &format!("chimera ui at http://{listen}/"),
        Some(t.elapsed()),
    );
    words.push("started the web app".into());
    Ok(())
}

/// The logs a first run writes (for its failure report).
fn fresh_logs(dir: &Path) -> Vec<PathBuf> {
    [
        "terra/terrad.log",
        "terra/setup.log",
        "chimera/setup.log",
        "chimera/node0/chimerad.log",
        "chimera/node0/cometbft.log",
        "relayer/commands.log",
        "relayer/relay.log",
    ]
    .iter()
    .map(|p| dir.join(p))
    .filter(|p| p.exists())
    .collect()
}

/// First run: chains, relayer config and keys, connection, transfer
/// channel, `chimera relay`; recorded only when all of it stands (a failure
/// stops what started: the harness's processes stop on drop).
fn create_infra(st: &mut State, p: &Progress) -> Result<()> {
    let dir = st.dir.clone();
    for sub in ["terra", "chimera", "relayer", "outputs", "ui"] {
        let d = dir.join(sub);
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
            p.line(
                "clean",
                &format!("removed {} (left by an unfinished first run)", d.display()),
                None,
            );
        }
    }
    let t = Instant::now();
    let terra_cfg = TerraConfig {
        home: Some(dir.join("terra")),
        ..terra_config()
    };
    let chimera_cfg = ChimeraNetConfig {
        root: Some(dir.join("chimera")),
        operators: vec![fees::operator_address()],
        prepare_node: Some(fees::authority_genesis),
        ..chimera_config(CHIMERA_CHAIN_ID)
    };
    p.line(
        "start",
        &format!(
            "terrad ({}) and chimerad ({}, 1 validator, model zoo) in {}",
            terra_cfg.chain_id,
            chimera_cfg.chain_id,
            dir.display()
        ),
        None,
    );
    let (terra_net, chimera_net) = start_terra_and_chimera(terra_cfg, chimera_cfg)?;
    let (tid, cid) = (
        terra_net.chain_id().to_string(),
        chimera_net.chain_id().to_string(),
    );
    p.line(
        "started",
        &format!(
            "terrad {tid} at {} and chimerad {cid} at {}",
            terra_net.rpc_url(),
            chimera_net.rpc_url(0)?
        ),
        Some(t.elapsed()),
    );

    let t = Instant::now();
    let tc = HermesChain::terra(&terra_net);
    let cc = HermesChain::chimera(&chimera_net)?;
    let mut relayer = ChimeraRelayer::new_in(vec![tc.clone(), cc.clone()], &dir.join("relayer"))?;
    p.line(
        "started",
        &format!(
            "relayer config {} (key `relayer` on both chains)",
            relayer.config_path().display()
        ),
        Some(t.elapsed()),
    );

    let t = Instant::now();
    let (client_t, client_c, conn_t, conn_c) = relayer.create_connection(&tid, &cid)?;
    p.line(
        "started",
        &format!("clients {client_t} on {tid}, {client_c} on {cid}; connection {conn_t} <-> {conn_c}"),
        Some(t.elapsed()),
    );
    let t = Instant::now();
    let (chan_t, chan_c, _) =
        relayer.create_channel(&tid, &cid, TRANSFER_PORT, TRANSFER_PORT, "ics20-1", Some(&conn_t))?;
    p.line(
        "started",
        &format!("transfer channel {chan_t} on {tid} <-> {chan_c} on {cid}"),
        Some(t.elapsed()),
    );
    // Fees: the user, the fee authority of this devnet, prices every model
    // in LUNC and sends burn and community parts home to Terra.
    let t = Instant::now();
    let authority = relayer::user_chain(
        &cc,
        keys::USER_MNEMONIC,
        chimera::CHIMERA_COIN_TYPE,
        &dir.join("relayer/authority-keys"),
    );
    let community = community_address();
    relayer::rt()
        .block_on(fees::update_params(
            &authority,
            fees::lunc_params(&authority.address, &chan_c, FEE, &community, FEE_SEND_INTERVAL),
        ))
        .context("MsgUpdateParams (the devnet's fee schedule)")?;
    p.line(
        "started",
        &format!(
            "fees: every model costs {FEE}uluna (70% executors, 20% burned on {tid}, 10% to {community}, sent every {FEE_SEND_INTERVAL} blocks)"
        ),
        Some(t.elapsed()),
    );
    st.v["fees"] = json!({
        "authority": authority.address, "price": FEE.to_string(), "operator": fees::operator_address(),
        "burn_address": fees::TERRA_BURN_ADDRESS, "community_address": community,
        "send_interval_blocks": FEE_SEND_INTERVAL,
    });

    let t = Instant::now();
    relayer.start(WAIT)?;
    p.line(
        "started",
        &format!(
            "chimera relay (telemetry http://127.0.0.1:{}/metrics)",
            relayer.telemetry_port()
        ),
        Some(t.elapsed()),
    );

    // Facts, then detach: from here on the processes outlive this program.
    let tp = terra_net.ports();
    let cp = chimera_net.ports(0)?;
    let chimera_home = chimera_net.home(0)?.to_path_buf();
    let terra_ws = format!("ws://{}/websocket", terra_net.rpc_addr());
    let chimera_rpc = chimera_net.rpc_addr(0)?;
    st.v["chains"] = json!({
        "terra": {
            "chain_id": tid, "binary": terra_net.binary().display().to_string(),
            "home": terra_net.home().display().to_string(), "log": terra_net.log_path().display().to_string(),
            "rpc": terra_net.rpc_url(), "websocket": terra_ws, "grpc": terra_net.grpc_url(),
            "rest": terra_net.rest_url(), "p2p": terra_net.p2p_addr().to_string(),
        },
        "chimera": {
            "chain_id": cid, "binary": chimera_net.chimerad().display().to_string(),
            "root": chimera_net.root().display().to_string(), "home": chimera_home.display().to_string(),
            "log": chimera_home.join(chimera::CHIMERAD_LOG).display().to_string(),
            "cometbft_log": chimera_home.join(chimera::COMETBFT_LOG).display().to_string(),
            "rpc": format!("http://{chimera_rpc}"), "websocket": format!("ws://{chimera_rpc}/websocket"),
            "grpc": format!("http://{}", ports::loopback(cp.grpc)),
            "p2p": ports::loopback(cp.p2p).to_string(), "abci": ports::loopback(cp.abci).to_string(),
        },
    });
    st.v["relayer"] = json!({
        "binary": relayer.binary().display().to_string(),
        "home": relayer.home().display().to_string(),
        "config": relayer.config_path().display().to_string(),
        "keys": relayer.home().join("keys").display().to_string(),
        "log": relayer.home().join(relayer::RELAY_LOG).display().to_string(),
        "commands_log": relayer.home().join("commands.log").display().to_string(),
        "telemetry": format!("http://127.0.0.1:{}", relayer.telemetry_port()),
        "user_key": USER_KEY,
    });
    st.v["paths"] = json!({
        "terra": { "client_id": client_t, "connection_id": conn_t, "port_id": TRANSFER_PORT, "channel_id": chan_t },
        "chimera": { "client_id": client_c, "connection_id": conn_c, "port_id": TRANSFER_PORT, "channel_id": chan_c },
        "voucher": ibc_denom(&format!("{TRANSFER_PORT}/{chan_c}/{}", terra::DENOM)),
    });
    let telemetry = ports::loopback(relayer.telemetry_port());
    let env_extra = inherited_env();
    let with_env = |mut d: DetachedProcess| {
        for (k, v) in &env_extra {
            if !d
                .spec
                .env
                .iter()
                .any(|(ek, _)| ek.as_os_str() == std::ffi::OsStr::new(k))
            {
                d.spec.env.push((k.into(), v.into()));
            }
        }
        d
    };
    let dt = with_env(terra_net.detach());
    let dc: Vec<DetachedProcess> = chimera_net.detach().into_iter().map(with_env).collect();
    let dr = relayer
        .detach()
        .map(with_env)
        .context("chimera relay is not running")?;
    let mut records = vec![process_record(
        &dt,
        "terrad",
        vec![
            ready_http(ports::loopback(tp.rpc), "/status"),
            ready_tcp(ports::loopback(tp.grpc)),
            ready_http(
                ports::loopback(tp.api),
                "/cosmos/base/tendermint/v1beta1/node_info",
            ),
        ],
        &tp.services(),
        Some(&tid),
    )];
    for d in &dc {
        records.push(process_record(
            d,
            "chimerad",
            vec![
                ready_http(chimera_rpc, "/status"),
                ready_tcp(ports::loopback(cp.grpc)),
            ],
            &[
                (cp.p2p, "CometBFT P2P"),
                (cp.rpc, "CometBFT RPC"),
                (cp.abci, "ABCI"),
                (cp.grpc, "gRPC"),
            ],
            Some(&cid),
        ));
    }
    records.push(process_record(
        &dr,
        "relay",
        vec![ready_tcp(telemetry)],
        &[(telemetry.port(), "telemetry")],
        None,
    ));
    for d in std::iter::once(&dt).chain(&dc).chain(std::iter::once(&dr)) {
        record_pgid(d.pgid);
    }
    st.v["processes"] = json!(records);
    st.save()?;
    p.line(
        "ok",
        &format!(
            "recorded {} (terrad, chimerad, chimera relay run on after this program)",
            State::path(&st.dir).display()
        ),
        None,
    );
    Ok(())
}

/// The environment a respawn needs that the shell that ran `scripts/devnet`
/// had (`cometbft` on `PATH` for chimerad, libtorch and libwasmvm, the
/// model zoo), recorded with each process.
fn inherited_env() -> Vec<(String, String)> {
    ["PATH", "LD_LIBRARY_PATH", "CHIMERA_MODELS_DIR"]
        .iter()
        .filter_map(|k| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_string(), v))
        })
        .collect()
}

/// Later runs: every recorded process that runs and answers is reused; one
/// that does not is started again from its recorded command line (chains
/// first, side by side, then the relayer).
fn resume_infra(st: &mut State, p: &Progress, words: &mut Vec<String>) -> Result<()> {
    let records = st.processes();
    let mut todo = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let d = DetachedProcess::from_json(r).map_err(|e| anyhow!(e))?;
        let name = d.spec.name.clone();
        match d.state() {
            GroupState::Running => {
                record_pgid(d.pgid);
                if let Some(why) = probe_once(r) {
                    bail!(
                        "{name} runs (pgid {}) but {why}; see {}",
                        d.pgid,
                        d.spec.log_path.display()
                    );
                }
                let height = r["ready"][0]["http"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .filter(|_| r["chain_id"].is_string())
                    .and_then(|a| rpc::status(a).ok())
                    .map_or(String::new(), |s| format!(", height {}", s.latest_height));
                p.line(
                    "reused",
                    &format!("{name}: running (pgid {}){height}", d.pgid),
                    None,
                );
                words.push(format!("reused {}", short_role(r)));
            }
            state => {
                if let GroupState::Leaderless(n) = state {
                    process::stop_group(d.pgid, d.stop_grace);
                    p.line(
                        "stopped",
                        &format!("{n} leftover process(es) of {name}'s group {}", d.pgid),
                        None,
                    );
                }
                todo.push(i);
            }
        }
    }
    // Chains first (side by side), then the relayer.
    let (chains, rest): (Vec<usize>, Vec<usize>) = todo
        .into_iter()
        .partition(|i| records[*i]["chain_id"].is_string());
    let mut new_records = records.clone();
    for batch in [chains, rest] {
        if batch.is_empty() {
            continue;
        }
        let t = Instant::now();
        for i in &batch {
            p.line(
                "respawn",
                &format!(
                    "{}: not running; `{}`",
                    records[*i]["name"].as_str().unwrap_or("?"),
                    command_line(&records[*i])
                ),
                None,
            );
        }
        let results: Vec<(usize, Result<Value>)> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .iter()
                .map(|i| (*i, s.spawn(|| respawn(&records[*i]))))
                .collect();
            handles
                .into_iter()
                .map(|(i, h)| (i, h.join().unwrap_or_else(|_| Err(anyhow!("respawn panicked")))))
                .collect()
        });
        let mut first_err = None;
        for (i, r) in results {
            match r {
                Ok(v) => {
                    p.line(
                        "started",
                        &format!(
                            "{} again (pgid {}), serving",
                            v["name"].as_str().unwrap_or("?"),
                            v["pgid"]
                        ),
                        Some(t.elapsed()),
                    );
                    words.push(format!("restarted {}", short_role(&v)));
                    new_records[i] = v;
                }
                Err(e) => {
                    let log = records[i]["log"].as_str().unwrap_or("?");
                    let said = last_error_line(Path::new(log))
                        .map_or(String::new(), |l| format!("; its log says: {l}"));
                    first_err.get_or_insert(anyhow!(
                        "restarting {} (log {log}): {}{said}",
                        records[i]["name"].as_str().unwrap_or("?"),
                        one_line(&e)
                    ));
                }
            }
        }
        st.v["processes"] = json!(new_records);
        st.save()?;
        if let Some(e) = first_err {
            return Err(e);
        }
    }
    p.line(
        "reused",
        &format!(
            "connection {} <-> {}, transfer channel {} <-> {} (from {})",
            st.str("/paths/terra/connection_id")?,
            st.str("/paths/chimera/connection_id")?,
            st.str("/paths/terra/channel_id")?,
            st.str("/paths/chimera/channel_id")?,
            STATE_FILE
        ),
        None,
    );
    words.push("reused the paths".into());
    Ok(())
}

/// The last line of `log` (since the harness's last start header) that
/// reads like an error.
fn last_error_line(log: &Path) -> Option<String> {
    let tail = process::log_tail(log, 200);
    let since = tail.rfind("=== chimera-e2e: starting").map_or(0, |i| i);
    tail[since..]
        .lines()
        .rev()
        .find(|l| {
            let l = l.to_lowercase();
            l.contains("error") || l.contains("panicked") || l.contains("fatal")
        })
        .map(|l| l.trim().chars().take(300).collect())
}

fn short_role(r: &Value) -> String {
    match r["role"].as_str() {
        Some("relay") => "chimera relay".into(),
        Some(role) => role.to_string(),
        None => r["name"].as_str().unwrap_or("?").to_string(),
    }
}

fn command_line(r: &Value) -> String {
    DetachedProcess::from_json(r).map_or_else(|e| e, |d| d.spec.command_line())
}

/// What the user's request gave.
struct Request {
    value: Value,
    out: PathBuf,
    sha256: String,
    size: usize,
    terra_uluna: u128,
    voucher_balance: u128,
}

/// The LUNC user's flow with the real `chimera` CLI: key, account, funds,
/// request, output.
fn user_flow(st: &mut State, p: &Progress, words: &mut Vec<String>) -> Result<Request> {
    let cli = ChimeraCli::of(st)?;
    let tid = st.str("/chains/terra/chain_id")?;
    let cid = st.str("/chains/chimera/chain_id")?;
    let conn = st.str("/paths/terra/connection_id")?;
    let chan_t = st.str("/paths/terra/channel_id")?;
    let voucher = st.str("/paths/voucher")?;
    let chimera_grpc = st.str("/chains/chimera/grpc")?;
    let terra_grpc = st.str("/chains/terra/grpc")?;
    let route = [
        "--controller",
        tid.as_str(),
        "--host",
        cid.as_str(),
        "--connection",
        conn.as_str(),
        "--key",
        USER_KEY,
    ];
    let with_route = |sub: &str, extra: &[&str]| -> Vec<String> {
        ["ica", sub]
            .iter()
            .chain(route.iter())
            .chain(extra.iter())
            .map(|s| s.to_string())
            .collect()
    };

    // The user's key in the relayer's key store.
    let t = Instant::now();
    let show = ["keys", "show", "--chain", tid.as_str(), "--name", USER_KEY];
    let terra_user = match cli.run(&show, None, false) {
        Ok(out) => {
            p.line(
                "reused",
                &format!("key {USER_KEY} on {tid}: {}", out.trim()),
                None,
            );
            out.trim().to_string()
        }
        Err(_) => {
            let args = [
                "keys",
                "import",
                "--chain",
                tid.as_str(),
                "--name",
                USER_KEY,
                "--mnemonic-file",
                "-",
                "--overwrite",
            ];
            cli.run(&args, Some(keys::USER_MNEMONIC), true)?;
            let out = cli.run(&show, None, false)?;
            p.line(
                "ok",
                &format!("imported key {USER_KEY} on {tid}: {}", out.trim()),
                Some(t.elapsed()),
            );
            out.trim().to_string()
        }
    };
    if terra_user != keys::USER_ADDRESS {
        bail!(
            "key {USER_KEY} on {tid} is {terra_user}, expected the devnet user {}",
            keys::USER_ADDRESS
        );
    }

    // 1. The interchain account.
    let t = Instant::now();
    let known =
        st.v.pointer("/user/interchain_account")
            .and_then(Value::as_str)
            .map(str::to_string);
    let acct = cli.json(&refs(&with_route("register", &["--json"])))?;
    let ica = acct["address"]
        .as_str()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| anyhow!("`chimera ica register` printed no address: {acct}"))?
        .to_string();
    let ica_port = acct["port_id"].as_str().unwrap_or_default().to_string();
    let ica_chan = acct["channel_id"].as_str().unwrap_or_default().to_string();
    let reused = known.as_deref() == Some(ica.as_str());
    p.line(
        if reused { "reused" } else { "ok" },
        &format!("interchain account {ica} of {terra_user} ({ica_port}/{ica_chan} on {tid})"),
        Some(t.elapsed()),
    );
    words.push(
        if reused {
            "reused the account"
        } else {
            "registered the account"
        }
        .into(),
    );
    st.v["user"] = json!({
        "terra_address": terra_user, "key": USER_KEY, "interchain_account": ica,
        "connection_id": conn, "port_id": ica_port, "channel_id": ica_chan,
    });
    st.save()?;

    // 2. Funds, only when one request's fee is not there.
    let t = Instant::now();
    let balance = |addr: &str| -> Result<u128> {
        relayer::rt()
            .block_on(bank::balance(&chimera_grpc, addr, &voucher))
            .with_context(|| format!("{cid}: {voucher} balance of {addr}"))
    };
    let mut held = balance(&ica)?;
    if held < FEE {
        let amount = format!("{FUND}{}", terra::DENOM);
        let f = cli.json(&refs(&with_route(
            "fund",
            &["--amount", &amount, "--channel", &chan_t, "--json"],
        )))?;
        held = f["balance"]
            .as_str()
            .and_then(|b| b.parse().ok())
            .map_or_else(|| balance(&ica), Ok)?;
        p.line(
            "ok",
            &format!("funded {ica} with {amount}: holds {held}{voucher}"),
            Some(t.elapsed()),
        );
        words.push("funded the account".into());
    } else {
        p.line(
            "reused",
            &format!("{ica} holds {held}{voucher} (a request needs at most {FEE})"),
            None,
        );
        words.push("reused its funds".into());
    }

    // 3. The request, followed to its acknowledgement back on Terra.
    let t = Instant::now();
    let outputs = st.dir.join("outputs");
    std::fs::create_dir_all(&outputs).with_context(|| format!("creating {}", outputs.display()))?;
    let incoming = outputs.join(format!(".seven-incoming-{}.png", std::process::id()));
    let fee = format!("{FEE}{voucher}");
    let seed = SEED.to_string();
    let incoming_s = incoming.display().to_string();
    p.line(
        "request",
        &format!("{MODEL} {PROMPT:?} seed {SEED}, fee at most {fee}, from {terra_user} through {ica}"),
        None,
    );
    let r = cli.json(&refs(&with_route(
        "infer",
        &[
            "--model",
            MODEL,
            "--prompt",
            PROMPT,
            "--seed",
            &seed,
            "--fee",
            &fee,
            "--wait",
            INFER_WAIT,
            "--out",
            &incoming_s,
            "--json",
        ],
    )));
    let r = match r {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(e);
        }
    };
    let sequence = r
        .pointer("/sent/sequence")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("`chimera ica infer` printed no sent.sequence: {r}"))?;
    let result = r.pointer("/outcome/result/0").ok_or_else(|| {
        anyhow!(
            "packet {sequence}: no result in the acknowledgement: {}",
            r["outcome"]
        )
    })?;
    let want = result
        .pointer("/output/sha256")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let out = outputs.join(format!("seven-{sequence}.png"));
    std::fs::rename(&incoming, &out).with_context(|| {
        format!(
            "moving {} to {} (did `chimera ica infer --out` write it?)",
            incoming.display(),
            out.display()
        )
    })?;
    let bytes = std::fs::read(&out).with_context(|| format!("reading {}", out.display()))?;
    let got = hex::encode(crate::inference::sha256(&bytes));
    if got != want {
        bail!(
            "{} hashes to {got}, but the acknowledgement commits to {want}",
            out.display()
        );
    }
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        bail!("{} is not a PNG", out.display());
    }
    p.line(
        "ok",
        &format!(
            "packet {sequence}: job {} acknowledged back on {tid}; {} ({} bytes) hashes to the commitment",
            result["job_id"].as_str().unwrap_or("?"),
            out.display(),
            bytes.len()
        ),
        Some(t.elapsed()),
    );
    words.push(format!("new request (packet {sequence})"));
    let mut req = r.clone();
    req["out"] = json!(out.display().to_string());
    req["verified_sha256"] = json!(got);
    req["at_unix"] = json!(unix_now());
    let mut history = st.v["requests"].as_array().cloned().unwrap_or_default();
    history.push(json!({
        "sequence": sequence, "job_id": result["job_id"], "out": out.display().to_string(),
        "sha256": got, "at_unix": unix_now(),
    }));
    st.v["requests"] = json!(history);
    st.save()?;

    let terra_uluna = relayer::rt()
        .block_on(bank::balance(&terra_grpc, &terra_user, terra::DENOM))
        .with_context(|| format!("{tid}: balance of {terra_user}"))?;
    let voucher_balance = balance(&ica)?;
    Ok(Request {
        value: req,
        out,
        sha256: got,
        size: bytes.len(),
        terra_uluna,
        voucher_balance,
    })
}

// --- the contract route --------------------------------------------------------

/// What the request through the contract gave.
struct ContractRequest {
    /// The request id the contract gave.
    id: u64,
    /// The `request_inference` tx.
    tx: wasm::TxResult,
    /// The contract's record of the request once settled.
    record: Value,
    out: PathBuf,
    sha256: String,
    size: usize,
    /// What the payout address received (the fee less Terra's burn tax).
    paid: u128,
    /// What the contract holds afterwards.
    escrow_after: u128,
    /// The exact commands to copy: the request and its query.
    execute_cmd: String,
    query_cmd: String,
}

/// `terrad` against the devnet's Terra home (recorded in the state), each
/// command recorded in the relayer's `commands.log` beside the `chimera`
/// ones.
fn terrad_of(st: &State) -> Result<TerradHome> {
    Ok(TerradHome {
        binary: st.str("/chains/terra/binary")?.into(),
        home: st.str("/chains/terra/home")?.into(),
        log: Some(st.str("/relayer/commands_log")?.into()),
    })
}

/// The address the contract pays fees to: a fixed devnet recipient (not the
/// user, not the relayer, so its balance shows exactly what the fees brought).
fn payout_address() -> Result<String> {
    Ok(keys::terra_address(hermes::RECIPIENT_MNEMONIC)
        .map_err(|e| anyhow!("the recipient mnemonic: {e}"))?
        .to_string())
}

/// The `request_inference` message: [`MODEL`], [`PROMPT`], [`SEED`] on
/// `channel`.
fn request_msg(channel: &str) -> Value {
    use base64::Engine as _;
    json!({"request_inference": {
        "channel": channel,
        "model": MODEL,
        "input": base64::engine::general_purpose::STANDARD.encode(PROMPT),
        "encoding": "text",
        "params": {"seed": SEED.to_string()},
        "timeout_seconds": CONTRACT_TIMEOUT_SECONDS,
    }})
}

/// The LUNC user's request through the inference-requester contract with
/// `terrad` alone (docs/users.md §8): the first run stores and instantiates
/// the contract and opens its `chimera-inference-1` channel; every run
/// executes `request_inference`, waits for the contract's record, fetches
/// and verifies the output.
fn contract_flow(st: &mut State, p: &Progress, words: &mut Vec<String>) -> Result<ContractRequest> {
    let terrad = terrad_of(st)?;
    let cli = ChimeraCli::of(st)?;
    let tid = st.str("/chains/terra/chain_id")?;
    let cid = st.str("/chains/chimera/chain_id")?;
    let terra_grpc = st.str("/chains/terra/grpc")?;
    let chimera_grpc = st.str("/chains/chimera/grpc")?;
    let lunc = |addr: &str| -> Result<u128> {
        relayer::rt()
            .block_on(bank::balance(&terra_grpc, addr, terra::DENOM))
            .with_context(|| format!("{tid}: {} balance of {addr}", terra::DENOM))
    };
    let user = terrad
        .key_address(TERRA_USER_KEY)
        .with_context(|| format!("key {TERRA_USER_KEY} in {}", terrad.home.display()))?;
    if user != keys::USER_ADDRESS {
        bail!(
            "key {TERRA_USER_KEY} in {} is {user}, expected the devnet user {}",
            terrad.home.display(),
            keys::USER_ADDRESS
        );
    }

    // 1. The contract and its channel, once (each step recorded as it lands).
    let mut made = false;
    if st.v.pointer("/contract/code_id").is_none() {
        let t = Instant::now();
        let file = wasm::requester_wasm().context("the contract's wasm (scripts/wasm-build --contract)")?;
        let bytes = std::fs::metadata(&file)
            .with_context(|| format!("reading {}", file.display()))?
            .len();
        p.line(
            "store",
            &format!(
                "terrad tx wasm store {} ({bytes} bytes) from {user}",
                file.display()
            ),
            None,
        );
        let (code, r) = wasm::store(&terrad, TERRA_USER_KEY, &file)?;
        st.v["contract"] = json!({
            "wasm": file.display().to_string(), "wasm_bytes": bytes, "code_id": code,
            "store_tx": r.hash, "store_gas_used": r.gas_used,
        });
        st.save()?;
        p.line(
            "ok",
            &format!(
                "code {code} on {tid} (tx {}, block {}, gas used {})",
                r.hash, r.height, r.gas_used
            ),
            Some(t.elapsed()),
        );
        made = true;
    }
    let code = st.v["contract"]["code_id"]
        .as_u64()
        .ok_or_else(|| anyhow!("{}: /contract/code_id is not a number", STATE_FILE))?;
    if st.v.pointer("/contract/address").is_none() {
        let t = Instant::now();
        let payout = payout_address()?;
        let msg = json!({ "payout_address": payout });
        p.line(
            "create",
            &format!("terrad tx wasm instantiate {code} '{msg}' --label {CONTRACT_LABEL} --admin {user}"),
            None,
        );
        let (addr, r) = wasm::instantiate(&terrad, TERRA_USER_KEY, &user, code, &msg, CONTRACT_LABEL)?;
        let c = &mut st.v["contract"];
        c["address"] = json!(addr);
        c["port_id"] = json!(format!("wasm.{addr}"));
        c["label"] = json!(CONTRACT_LABEL);
        c["admin"] = json!(user);
        c["payout_address"] = json!(payout);
        c["instantiate_tx"] = json!(r.hash);
        c["instantiate_gas_used"] = json!(r.gas_used);
        st.save()?;
        p.line(
            "ok",
            &format!(
                "contract {addr} (admin {user}, payout {payout}; tx {}, gas used {})",
                r.hash, r.gas_used
            ),
            Some(t.elapsed()),
        );
        made = true;
    }
    let contract = st.str("/contract/address")?;
    let port = format!("wasm.{contract}");
    if st.v.pointer("/contract/channel_id").is_none() {
        let conn = st.str("/paths/terra/connection_id")?;
        let args = [
            "create",
            "channel",
            "--a",
            tid.as_str(),
            "--b",
            cid.as_str(),
            "--connection-a",
            conn.as_str(),
            "--port-a",
            port.as_str(),
            "--port-b",
            INFERENCE_PORT,
            "--channel-version",
            INFERENCE_VERSION,
        ];
        let v = with_relay_paused(st, p, || {
            let t = Instant::now();
            p.line(
                "create",
                &format!("chimera create channel {port} on {tid} -> {INFERENCE_PORT} on {cid} ({INFERENCE_VERSION}, {conn})"),
                None,
            );
            let v = cli.json(&args)?;
            p.line(
                "ok",
                &format!(
                    "channel {port}/{} on {tid} <-> {INFERENCE_PORT}/{} on {cid}",
                    v["a"]["channel_id"].as_str().unwrap_or("?"),
                    v["b"]["channel_id"].as_str().unwrap_or("?")
                ),
                Some(t.elapsed()),
            );
            Ok(v)
        })?;
        let (chan_w, chan_i) = (
            v["a"]["channel_id"].as_str().unwrap_or_default(),
            v["b"]["channel_id"].as_str().unwrap_or_default(),
        );
        if chan_w.is_empty() || chan_i.is_empty() {
            bail!("`chimera create channel` printed no channel ids: {v}");
        }
        let c = &mut st.v["contract"];
        c["connection_id"] = json!(conn);
        c["channel_id"] = json!(chan_w);
        c["counterparty_port_id"] = json!(INFERENCE_PORT);
        c["counterparty_channel_id"] = json!(chan_i);
        c["channel_version"] = json!(INFERENCE_VERSION);
        st.save()?;
        made = true;
    }
    let chan_w = st.str("/contract/channel_id")?;
    let chan_i = st.str("/contract/counterparty_channel_id")?;
    // The contract's own view of its channel (it refuses requests on a
    // closed one).
    let channels = wasm::query(&terrad, &contract, &json!({"channels": {}}))?;
    let open = channels["channels"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["channel_id"] == chan_w.as_str() && c["state"] == "open");
    if !open {
        bail!(
            "the contract {contract} does not list {chan_w} as open: {channels} (`scripts/devnet down` and start over)"
        );
    }
    if made {
        words.push("deployed the contract and its channel".into());
    } else {
        p.line(
            "reused",
            &format!(
                "contract {contract} (code {code}), channel {port}/{chan_w} <-> {INFERENCE_PORT}/{chan_i}, open (from {STATE_FILE})"
            ),
            None,
        );
        words.push("reused the contract".into());
    }

    // 2. The request, with terrad alone.
    let msg = request_msg(&chan_w);
    let msg_s = msg.to_string();
    let amount = format!("{CONTRACT_FEE}{}", terra::DENOM);
    let mut exec_args: Vec<&str> = vec![
        "tx",
        "wasm",
        "execute",
        contract.as_str(),
        msg_s.as_str(),
        "--amount",
        amount.as_str(),
        "--from",
        TERRA_USER_KEY,
    ];
    exec_args.extend_from_slice(&wasm::TX_FLAGS);
    exec_args.push("-y");
    let execute_cmd = terrad.shown(&exec_args);
    let payout = st.str("/contract/payout_address")?;
    let payout_before = lunc(&payout)?;
    let t = Instant::now();
    p.line(
        "request",
        &format!(
            "{MODEL} {PROMPT:?} seed {SEED} through contract {contract}, fee {amount}, from {user}: terrad tx wasm execute"
        ),
        None,
    );
    let sent = wasm::execute(&terrad, TERRA_USER_KEY, &contract, &msg, Some(&amount))?;
    let id: u64 = sent
        .attr("wasm", "request_id")
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| anyhow!("tx {}: no wasm.request_id event", sent.hash))?;
    p.line(
        "ok",
        &format!(
            "request {id}: tx {} in {tid} block {}, gas used {}, {amount} escrowed in the contract",
            sent.hash, sent.height, sent.gas_used
        ),
        Some(t.elapsed()),
    );
    let query = json!({"request": {"id": id}});
    let query_s = query.to_string();
    let query_cmd = terrad.shown(&["q", "wasm", "contract-state", "smart", &contract, &query_s]);
    p.line(
        "wait",
        &format!("until `terrad q wasm contract-state smart {contract} '{query_s}'` is no longer pending"),
        None,
    );
    let waited = Instant::now();
    let mut said = Instant::now();
    let record = loop {
        let rec = wasm::query(&terrad, &contract, &query)?;
        match rec["status"].as_str() {
            Some("succeeded") => break rec,
            Some("pending") => {
                if waited.elapsed() > CONTRACT_WAIT {
                    bail!(
                        "request {id} still pending after {}s (packet sequence {}): is chimera relay relaying {port}/{chan_w}? \
                         (see its log)",
                        CONTRACT_WAIT.as_secs(),
                        rec["sequence"]
                    );
                }
                if said.elapsed() > Duration::from_secs(15) {
                    p.line(
                        "waiting",
                        &format!(
                            "request {id} pending ({:.0}s; packet sequence {} on {chan_w})",
                            waited.elapsed().as_secs_f64(),
                            rec["sequence"]
                        ),
                        None,
                    );
                    said = Instant::now();
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            Some(other) => bail!(
                "request {id} {other}: outcome {}, fee went to {} (the contract's record: {rec})",
                rec["outcome"],
                rec["fee_paid_to"]
            ),
            None => bail!("request {id}: the contract answered no status: {rec}"),
        }
    };
    let result = &record["outcome"]["result"];
    let sha = result["output_sha256"]
        .as_str()
        .ok_or_else(|| anyhow!("request {id}: no output_sha256 in {record}"))?
        .to_string();
    p.line(
        "ok",
        &format!(
            "request {id} succeeded: job {} on {cid}, output {sha}, fee paid to {}",
            result["job_id"].as_str().unwrap_or("?"),
            record["fee_paid_to"].as_str().unwrap_or("?")
        ),
        Some(waited.elapsed()),
    );

    // 3. The output, from chimerad's BlobService, checked against the record.
    let t = Instant::now();
    let outputs = st.dir.join("outputs");
    std::fs::create_dir_all(&outputs).with_context(|| format!("creating {}", outputs.display()))?;
    let out = outputs.join(format!("seven-contract-{id}.png"));
    let out_s = out.display().to_string();
    cli.run(
        &["fetch", &sha, "--node", &chimera_grpc, "--out", &out_s],
        None,
        true,
    )?;
    let bytes = std::fs::read(&out).with_context(|| format!("reading {}", out.display()))?;
    let got = hex::encode(crate::inference::sha256(&bytes));
    if got != sha {
        bail!(
            "{} hashes to {got}, but the contract recorded {sha}",
            out.display()
        );
    }
    if result["output_size"].as_str() != Some(bytes.len().to_string().as_str()) {
        bail!(
            "{} has {} bytes, but the contract recorded {}",
            out.display(),
            bytes.len(),
            result["output_size"]
        );
    }
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        bail!("{} is not a PNG", out.display());
    }
    p.line(
        "ok",
        &format!(
            "chimera fetch: {} ({} bytes) hashes to the contract's record",
            out.display(),
            bytes.len()
        ),
        Some(t.elapsed()),
    );
    let paid = lunc(&payout)?.saturating_sub(payout_before);
    let escrow_after = lunc(&contract)?;
    let mut history = st.v["contract_requests"].as_array().cloned().unwrap_or_default();
    history.push(json!({
        "id": id, "tx_hash": sent.hash, "height": sent.height, "gas_used": sent.gas_used,
        "gas_wanted": sent.gas_wanted, "fee": amount, "paid_to": record["fee_paid_to"], "paid": paid.to_string(),
        "job_id": result["job_id"], "status": record["status"], "sequence": record["sequence"],
        "out": out_s, "sha256": got, "at_unix": unix_now(),
    }));
    st.v["contract_requests"] = json!(history);
    st.save()?;
    words.push(format!("new contract request ({id})"));
    Ok(ContractRequest {
        id,
        tx: sent,
        record,
        out,
        sha256: got,
        size: bytes.len(),
        paid,
        escrow_after,
        execute_cmd,
        query_cmd,
    })
}

/// Runs `f` with the recorded `chimera relay` stopped, then starts it again
/// from its recorded command line (whatever `f` gave).
///
/// Why: `chimera create channel` runs all four handshake steps itself; a
/// running relay answers the same OpenInit, so chimerad would get two
/// OpenTry (two channels) and one of the two OpenAck on Terra would fail.
fn with_relay_paused<T>(st: &mut State, p: &Progress, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let mut records = st.processes();
    let i = records
        .iter()
        .position(|r| r["role"] == "relay")
        .ok_or_else(|| anyhow!("{STATE_FILE} records no chimera relay"))?;
    let d = DetachedProcess::from_json(&records[i]).map_err(|e| anyhow!(e))?;
    let t = Instant::now();
    d.stop();
    p.line(
        "stopped",
        &format!(
            "chimera relay (pgid {}) while `chimera create channel` runs the handshake itself",
            d.pgid
        ),
        Some(t.elapsed()),
    );
    let got = f();
    let t = Instant::now();
    let again = respawn(&records[i]);
    if let Ok(v) = &again {
        p.line(
            "started",
            &format!("chimera relay again (pgid {}), serving", v["pgid"]),
            Some(t.elapsed()),
        );
        records[i] = v.clone();
        st.v["processes"] = json!(records);
        st.save()?;
    }
    let got = got?;
    again.context("starting chimera relay again (`scripts/devnet` again restarts it)")?;
    Ok(got)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn stage_line(what: &str, s: &Value) -> String {
    format!(
        "    {what:<10} {} block {}{}",
        s["chain_id"].as_str().unwrap_or("?"),
        s["height"].as_u64().map_or("?".into(), |h| h.to_string()),
        s["seconds"]
            .as_f64()
            .map_or(String::new(), |x| format!("  (+{x:.1} s)"))
    )
}

fn height_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| rpc::status(a).ok())
        .map_or("?".into(), |s| s.latest_height.to_string())
}

fn print_summary(
    st: &State,
    req: &Request,
    c: &ContractRequest,
    p: &Progress,
    words: &[String],
) -> Result<()> {
    let s = |ptr: &str| st.str(ptr).unwrap_or_else(|_| "?".into());
    let (tid, cid) = (s("/chains/terra/chain_id"), s("/chains/chimera/chain_id"));
    let pg = |role: &str| {
        st.processes()
            .iter()
            .find(|r| r["role"] == role)
            .map_or("?".into(), |r| r["pgid"].to_string())
    };
    println!(
        "Chimera devnet is up ({:.1}s; run {} of the devnet in {})",
        p.started.elapsed().as_secs_f64(),
        st.v["runs"],
        st.dir.display()
    );
    println!("  state        {}", State::path(&st.dir).display());
    println!(
        "  Terra        {tid} (terrad, 1 validator), height {}, pgid {}",
        height_of(&s("/chains/terra/rpc")),
        pg("terrad")
    );
    println!(
        "    RPC        {}  (websocket {})",
        s("/chains/terra/rpc"),
        s("/chains/terra/websocket")
    );
    println!("    gRPC       {}", s("/chains/terra/grpc"));
    println!("    REST       {}", s("/chains/terra/rest"));
    println!("    home       {}", s("/chains/terra/home"));
    println!("    log        {}", s("/chains/terra/log"));
    println!(
        "  Chimera      {cid} (chimerad, 1 validator), height {}, pgid {}",
        height_of(&s("/chains/chimera/rpc")),
        pg("chimerad")
    );
    println!(
        "    RPC        {}  (websocket {})",
        s("/chains/chimera/rpc"),
        s("/chains/chimera/websocket")
    );
    println!(
        "    gRPC       {}  (queries, BlobService)",
        s("/chains/chimera/grpc")
    );
    println!("    home       {}", s("/chains/chimera/home"));
    println!("    logs       {}", s("/chains/chimera/log"));
    println!("               {}", s("/chains/chimera/cometbft_log"));
    println!(
        "  relayer      chimera relay, pgid {}, telemetry {}/metrics",
        pg("relay"),
        s("/relayer/telemetry")
    );
    println!(
        "    config     {}  (keys in {})",
        s("/relayer/config"),
        s("/relayer/keys")
    );
    println!("    logs       {}", s("/relayer/log"));
    println!("               {}", s("/relayer/commands_log"));
    println!(
        "    clients    {} on {tid}, {} on {cid}",
        s("/paths/terra/client_id"),
        s("/paths/chimera/client_id")
    );
    println!(
        "    connection {} on {tid} <-> {} on {cid}",
        s("/paths/terra/connection_id"),
        s("/paths/chimera/connection_id")
    );
    println!(
        "    transfer   {TRANSFER_PORT}/{} on {tid} <-> {TRANSFER_PORT}/{} on {cid}",
        s("/paths/terra/channel_id"),
        s("/paths/chimera/channel_id")
    );
    println!(
        "  user         {} (key {USER_KEY}): {}{} on {tid}",
        s("/user/terra_address"),
        req.terra_uluna,
        terra::DENOM
    );
    println!(
        "    account    {} on {cid} ({}/{} on {tid})",
        s("/user/interchain_account"),
        s("/user/port_id"),
        s("/user/channel_id")
    );
    println!(
        "    balance    {}{}  (= {TRANSFER_PORT}/{}/{})",
        req.voucher_balance,
        s("/paths/voucher"),
        s("/paths/chimera/channel_id"),
        terra::DENOM
    );
    let r = &req.value;
    let f = &r["follow"];
    let result = &r["outcome"]["result"][0];
    println!(
        "  request      {MODEL} {PROMPT:?} seed {SEED}, fee at most {FEE}{}",
        s("/paths/voucher")
    );
    println!(
        "    packet     sequence {} on {}/{} -> {}/{} (tx {})",
        r["sent"]["sequence"],
        f["packet"]["port_id"].as_str().unwrap_or("?"),
        f["packet"]["channel_id"].as_str().unwrap_or("?"),
        f["packet"]["host_port_id"].as_str().unwrap_or("?"),
        f["packet"]["host_channel_id"].as_str().unwrap_or("?"),
        r["sent"]["tx_hash"].as_str().unwrap_or("?")
    );
    println!(
        "    job        {} on {cid}, agreed by {}/{} voting power at height {}",
        result["job_id"].as_str().unwrap_or("?"),
        result["quorum"]["agreeing_power"].as_str().unwrap_or("?"),
        result["quorum"]["total_power"].as_str().unwrap_or("?"),
        result["quorum"]["height"].as_str().unwrap_or("?")
    );
    println!("{}", stage_line("included", &f["sent"]));
    for (what, k) in [("received", "received"), ("acked", "host_ack"), ("back", "back")] {
        if f[k].is_object() {
            println!("{}", stage_line(what, &f[k]));
        }
    }
    let secs: f64 = ["received", "host_ack", "back"]
        .iter()
        .filter_map(|k| f[*k]["seconds"].as_f64())
        .sum();
    let blocks = f["back"]["height"]
        .as_u64()
        .zip(f["sent"]["height"].as_u64())
        .map_or("?".into(), |(b, a)| b.saturating_sub(a).to_string());
    let host_blocks = f["host_ack"]["height"]
        .as_u64()
        .zip(f["received"]["height"].as_u64())
        .map_or("?".into(), |(b, a)| b.saturating_sub(a).to_string());
    println!(
        "    total      {blocks} {tid} blocks, {secs:.1} s from inclusion on {tid} to the ack back on {tid} \
         ({host_blocks} {cid} blocks from receipt to ack)"
    );
    println!(
        "    output     {} ({} bytes, {})",
        req.out.display(),
        req.size,
        result["output"]["encoding"].as_str().unwrap_or("?")
    );
    println!("    sha256     {} (verified against the ack)", req.sha256);
    print_contract(st, c);
    print_fees(st);
    print_web(st, req, c);
    println!("  this run     {}", words.join(", "));
    println!(
        "  everything keeps running; `scripts/devnet` again makes a new request on each route, `scripts/devnet down` \
         stops it and removes {}",
        st.dir.display()
    );
    Ok(())
}

/// The summary's block for the request through the contract.
/// Where the LUNC fees went: the executor's operator on chimerad, what
/// waits to be sent, and what reached the community address on Terra (the
/// burn part is burned on arrival by x/treasury).
/// Where to open the web app, and this run's two requests in it.
fn print_web(st: &State, req: &Request, c: &ContractRequest) {
    let Ok(url) = st.str("/web/url") else { return };
    let pgid = st
        .processes()
        .iter()
        .find(|r| r["role"] == "ui")
        .map_or("?".into(), |r| r["pgid"].to_string());
    println!("  web app      {url}  (chimera ui, pgid {pgid}; open it in a browser)");
    println!("    ask        {url}#/ask  (the devnet wallet is filled in: sign and watch the timeline)");
    println!(
        "    contract   {url}#/requests/{}  (this run's contract request)",
        c.id
    );
    if let Some(job) = req.value["outcome"]["result"][0]["job_id"].as_str() {
        println!("    ica job    {url}#/jobs/{job}  (this run's ICA request, verified in the page)");
    }
    println!("    log        {}", st.str("/web/log").unwrap_or_default());
}

fn print_fees(st: &State) {
    let s = |ptr: &str| st.str(ptr).unwrap_or_else(|_| "?".into());
    if st.v["fees"].is_null() {
        println!("  fees         none configured (a devnet created before fees existed)");
        return;
    }
    let (cgrpc, tgrpc, voucher) = (
        s("/chains/chimera/grpc"),
        s("/chains/terra/grpc"),
        s("/paths/voucher"),
    );
    let bal = |url: &str, addr: &str, denom: &str| {
        relayer::rt()
            .block_on(bank::balance(url, addr, denom))
            .map_or("?".into(), |b| b.to_string())
    };
    let operator = s("/fees/operator");
    let community = s("/fees/community_address");
    println!(
        "  fees         {}uluna per request (authority {}); 70% executors, 20% burn, 10% community",
        s("/fees/price"),
        s("/fees/authority")
    );
    println!(
        "    executor   operator {operator} holds {}{voucher} on chimerad",
        bal(&cgrpc, &operator, &voucher)
    );
    println!(
        "    waiting    burn {}, community {} (sent to Terra every {} blocks)",
        bal(&cgrpc, &crate::inference::module_address("fees/burn"), &voucher),
        bal(
            &cgrpc,
            &crate::inference::module_address("fees/community"),
            &voucher
        ),
        st.v["fees"]["send_interval_blocks"]
    );
    println!(
        "    on Terra   community {community} holds {}uluna; burn account {} holds {}uluna (burned every block)",
        bal(&tgrpc, &community, terra::DENOM),
        fees::TERRA_BURN_ADDRESS,
        bal(&tgrpc, fees::TERRA_BURN_ADDRESS, terra::DENOM)
    );
    // The host's own account of it: `chimera fees totals` and `executors`.
    if let Ok(cli) = ChimeraCli::of(st) {
        for what in ["totals", "executors"] {
            match cli.run(&["fees", what, "--node", &cgrpc], None, false) {
                Ok(out) => out.lines().for_each(|l| println!("    {l}")),
                Err(e) => println!("    chimera fees {what}: {}", one_line(&e)),
            }
        }
    }
}

fn print_contract(st: &State, c: &ContractRequest) {
    let s = |ptr: &str| st.str(ptr).unwrap_or_else(|_| "?".into());
    let (tid, cid) = (s("/chains/terra/chain_id"), s("/chains/chimera/chain_id"));
    let r = &c.record;
    let result = &r["outcome"]["result"];
    println!(
        "  contract     {} on {tid} (code {}, label {}, {} bytes of wasm)",
        s("/contract/address"),
        st.v["contract"]["code_id"],
        s("/contract/label"),
        st.v["contract"]["wasm_bytes"]
    );
    println!(
        "    admin      {}, fees paid to {}",
        s("/contract/admin"),
        s("/contract/payout_address")
    );
    println!(
        "    channel    {}/{} on {tid} <-> {}/{} on {cid} ({}, over {})",
        s("/contract/port_id"),
        s("/contract/channel_id"),
        s("/contract/counterparty_port_id"),
        s("/contract/counterparty_channel_id"),
        s("/contract/channel_version"),
        s("/contract/connection_id")
    );
    println!(
        "  contract request {} from {} (terrad only): {MODEL} {PROMPT:?} seed {SEED}",
        c.id,
        r["requester"].as_str().unwrap_or("?")
    );
    println!(
        "    tx         {} in {tid} block {}, gas used {} of {} wanted (tx fee {})",
        c.tx.hash,
        c.tx.height,
        c.tx.gas_used,
        c.tx.gas_wanted,
        c.tx.attr("tx", "fee").unwrap_or_else(|| "?".into())
    );
    println!(
        "    packet     sequence {} on {}/{}",
        r["sequence"],
        s("/contract/port_id"),
        r["channel_id"].as_str().unwrap_or("?")
    );
    println!(
        "    job        {} on {cid}, agreed by {}/{} voting power at height {}",
        result["job_id"].as_str().unwrap_or("?"),
        result["quorum"]["agreeing_power"].as_str().unwrap_or("?"),
        result["quorum"]["total_power"].as_str().unwrap_or("?"),
        result["quorum"]["height"].as_str().unwrap_or("?")
    );
    let fee = format!(
        "{}{}",
        r["fee"]["amount"].as_str().unwrap_or("?"),
        r["fee"]["denom"].as_str().unwrap_or("?")
    );
    println!(
        "    fee        {fee} escrowed, then paid to {}: it received {}{} (the fee less Terra's burn tax); the contract \
         holds {}{} now",
        r["fee_paid_to"].as_str().unwrap_or("?"),
        c.paid,
        terra::DENOM,
        c.escrow_after,
        terra::DENOM
    );
    println!(
        "    output     {} ({} bytes, {})",
        c.out.display(),
        c.size,
        result["output_encoding"].as_str().unwrap_or("?")
    );
    println!(
        "    sha256     {} (verified against the contract's record; `chimera fetch` from {})",
        c.sha256,
        s("/chains/chimera/grpc")
    );
    println!("    with terrad alone (after `source scripts/env.sh`, which puts terrad and libwasmvm on the paths):");
    println!("      {}", c.execute_cmd);
    println!("      {}", c.query_cmd);
}

// --- status and down -----------------------------------------------------------

/// `chimera-e2e devnet status`: each recorded process alive or not, chain
/// heights, the account and the last request. Exit status: 0 when all
/// runs, 1 otherwise (or when there is no devnet).
pub fn status(dir: &Path) -> Result<bool> {
    let Some(st) = State::load(dir)? else {
        println!("no devnet in {} (start one with `scripts/devnet`)", dir.display());
        return Ok(false);
    };
    println!("devnet in {} ({} run(s))", dir.display(), st.v["runs"]);
    let mut all = true;
    let records = st.processes();
    if records.is_empty() {
        println!("  nothing recorded (its first run did not finish)");
        return Ok(false);
    }
    for r in &records {
        let d = DetachedProcess::from_json(r).map_err(|e| anyhow!(e))?;
        let state = d.state();
        let what = match state {
            GroupState::Running => match probe_once(r) {
                None => "running".to_string(),
                Some(why) => {
                    all = false;
                    format!("running, but {why}")
                }
            },
            GroupState::Leaderless(n) => {
                all = false;
                format!("its leader is gone, {n} process(es) of its group remain")
            }
            GroupState::Gone => {
                all = false;
                "not running (`scripts/devnet` starts it again)".to_string()
            }
        };
        let height = if state == GroupState::Running && r["chain_id"].is_string() {
            r["ready"][0]["http"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .and_then(|a| rpc::status(a).ok())
                .map_or(String::new(), |s| format!(", height {}", s.latest_height))
        } else {
            String::new()
        };
        println!("  {:<36} pgid {:<8} {what}{height}", d.spec.name, d.pgid);
        println!("  {:<36} log {}", "", d.spec.log_path.display());
    }
    if let Ok(a) = st.str("/user/interchain_account") {
        println!(
            "  account: {} (key {USER_KEY}) -> {a} on {}",
            st.str("/user/terra_address").unwrap_or_default(),
            st.str("/chains/chimera/chain_id").unwrap_or_default()
        );
    }
    if let Some(last) = st.v["requests"].as_array().and_then(|a| a.last()) {
        println!(
            "  last ICA request: packet {}, job {}, {} (sha256 {})",
            last["sequence"],
            last["job_id"].as_str().unwrap_or("?"),
            last["out"].as_str().unwrap_or("?"),
            last["sha256"].as_str().unwrap_or("?")
        );
    }
    if let Ok(c) = st.str("/contract/address") {
        println!(
            "  contract: {c} (code {}), channel {}/{} <-> {}/{}",
            st.v["contract"]["code_id"],
            st.str("/contract/port_id").unwrap_or_default(),
            st.str("/contract/channel_id")
                .unwrap_or_else(|_| "(none yet)".into()),
            INFERENCE_PORT,
            st.str("/contract/counterparty_channel_id")
                .unwrap_or_else(|_| "(none yet)".into())
        );
    }
    if let Some(last) = st.v["contract_requests"].as_array().and_then(|a| a.last()) {
        println!(
            "  last contract request: id {}, job {}, {} (sha256 {})",
            last["id"],
            last["job_id"].as_str().unwrap_or("?"),
            last["out"].as_str().unwrap_or("?"),
            last["sha256"].as_str().unwrap_or("?")
        );
    }
    Ok(all)
}

/// `chimera-e2e devnet down`: stops every recorded process group (relayer
/// first, then the chains; SIGTERM, SIGKILL after each one's grace) and
/// removes the directory.
pub fn down(dir: &Path) -> Result<()> {
    if !dir.exists() {
        println!("no devnet in {}: nothing to do", dir.display());
        return Ok(());
    }
    State::check_dir(dir).map_err(|_| {
        anyhow!(
            "{} holds no {STATE_FILE}: not removing a directory chimera-e2e did not make",
            dir.display()
        )
    })?;
    let lock = lock_dir(dir)?;
    let Some(st) = State::load(dir)? else {
        let only_lock = std::fs::read_dir(dir)?
            .flatten()
            .all(|e| e.file_name() == "devnet.lock");
        if only_lock {
            drop(lock);
            std::fs::remove_dir_all(dir)?;
            println!("removed the empty {}", dir.display());
            return Ok(());
        }
        bail!(
            "{} holds no {STATE_FILE}: not removing a directory chimera-e2e did not make",
            dir.display()
        );
    };
    let started = Instant::now();
    let records = st.processes();
    // The relayer first (it talks to the chains), then the chains together.
    let (relays, chains): (Vec<Value>, Vec<Value>) =
        records.into_iter().partition(|r| !r["chain_id"].is_string());
    for batch in [relays, chains] {
        let lines: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> = batch
                .iter()
                .map(|r| {
                    s.spawn(move || {
                        let d = match DetachedProcess::from_json(r) {
                            Ok(d) => d,
                            Err(e) => return format!("  skipped a record: {e}"),
                        };
                        let t = Instant::now();
                        let (was, killed) = d.stop();
                        let how = match (was, killed) {
                            (GroupState::Gone, _) => "was not running".to_string(),
                            (_, true) => format!(
                                "killed (SIGKILL after {:.0}s of SIGTERM)",
                                d.stop_grace.as_secs_f64()
                            ),
                            (GroupState::Leaderless(n), false) => {
                                format!("stopped {n} leftover process(es)")
                            }
                            (GroupState::Running, false) => "stopped (SIGTERM)".to_string(),
                        };
                        format!(
                            "  {:<36} pgid {:<8} {how} ({:.1}s)",
                            d.spec.name,
                            d.pgid,
                            t.elapsed().as_secs_f64()
                        )
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|_| "  a stop panicked".into()))
                .collect()
        });
        for l in lines {
            println!("{l}");
        }
    }
    // Anything still running from the directory (it would hold its files).
    let dir_s = dir.display().to_string();
    let left: Vec<String> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (pid != std::process::id() && cmd.contains(&dir_s)).then(|| format!("{pid}: {}", cmd.trim()))
        })
        .collect();
    if !left.is_empty() {
        bail!(
            "still running from {} (not removed): {}",
            dir.display(),
            left.join("; ")
        );
    }
    let (files, bytes) = du(dir);
    drop(lock);
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    println!(
        "removed {} ({files} files, {:.1} MB: the chains' homes, the relayer's config, keys and logs, the outputs, \
         {STATE_FILE}) in {:.1}s",
        dir.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Files and bytes under `dir`.
fn du(dir: &Path) -> (u64, u64) {
    let mut stack = vec![dir.to_path_buf()];
    let (mut files, mut bytes) = (0, 0);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}
