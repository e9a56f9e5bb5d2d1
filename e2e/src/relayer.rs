//! `chimera relay` as tests run it: a config written from the same chain
//! facts Hermes gets ([`HermesChain`]), keys imported with `chimera keys
//! import`, paths opened with `chimera create`, and `chimera relay` in its
//! own process group so a test can SIGTERM it, `kill -9` it and restart it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chimera_relayer::chain::Chain;
use chimera_relayer::config::{ChainConfig, GasPrice, PacketFilter};
use chimera_relayer::keys::KeyStore;
use chimera_relayer::light::any;
use chimera_relayer::telemetry::Metrics;
use ibc_proto::ibc::applications::transfer::v1::MsgTransfer;
use ibc_proto::ibc::core::client::v1::Height;
use serde_json::Value;

use crate::hermes::HermesChain;
use crate::home::{HomeError, NodeHome};
use crate::process::{self, ManagedProcess, ProcessError, ProcessSpec};
use crate::{http, ports};

/// Name of `chimera relay`'s log in the relayer home.
pub const RELAY_LOG: &str = "relay.log";

/// Why a relayer command failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayerError {
    /// Home directory.
    #[error("relayer home: {0}")]
    Home(#[from] HomeError),
    /// Process management.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A one-shot command failed.
    #[error("`chimera {args}` exited {status}:\n{stderr}")]
    Failed {
        /// The arguments.
        args: String,
        /// Exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// I/O.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The `chimera` binary cargo built beside the e2e binaries (`cargo build
/// -p chimera-relayer`), or `$CHIMERA_RELAYER_BIN`.
pub fn chimera_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CHIMERA_RELAYER_BIN") {
        return PathBuf::from(p);
    }
    // Beside a binary (target/<profile>/chimera-e2e) or one level up from a
    // test (target/<profile>/deps/<test>).
    let exe = std::env::current_exe().expect("own binary path");
    let dir = exe.parent().expect("binary directory");
    [dir.join("chimera"), dir.parent().unwrap_or(dir).join("chimera")]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join("chimera"))
}

/// The coin type in an HD path `m/44'/<coin>'/...`.
fn coin_type(hd_path: &str) -> u32 {
    hd_path
        .split('/')
        .nth(2)
        .and_then(|c| c.trim_end_matches('\'').parse().ok())
        .unwrap_or(118)
}

/// A `chimera` relayer home: config, keys, and at most one `relay` process.
pub struct ChimeraRelayer {
    process: Option<ManagedProcess>,
    home: NodeHome,
    binary: PathBuf,
    config: PathBuf,
    telemetry_port: u16,
    /// The chains, as configured.
    pub chains: Vec<HermesChain>,
}

impl ChimeraRelayer {
    /// Writes the config for `chains` (batching `max_msg_num` like Hermes's
    /// 30) and imports each chain's first key as the relayer key.
    pub fn new(chains: Vec<HermesChain>) -> Result<Self, RelayerError> {
        Self::in_home(chains, NodeHome::fresh("chimera-relayer")?)
    }

    /// [`new`](Self::new) in a fixed home `dir` (new or empty; created if
    /// missing, never removed by the harness).
    ///
    /// Why: the devnet's relayer config and keys stay in a known place
    /// across runs, where `chimera --config DIR/chimera.toml` finds them.
    pub fn new_in(chains: Vec<HermesChain>, dir: &Path) -> Result<Self, RelayerError> {
        Self::in_home(chains, NodeHome::explicit(dir)?)
    }

    fn in_home(chains: Vec<HermesChain>, home: NodeHome) -> Result<Self, RelayerError> {
        let telemetry_port = ports::free_port().map_err(|e| RelayerError::Io("telemetry port".into(), e))?;
        let r = ChimeraRelayer {
            process: None,
            config: home.path().join("chimera.toml"),
            home,
            binary: chimera_binary(),
            telemetry_port,
            chains,
        };
        std::fs::write(&r.config, r.config_toml())
            .map_err(|e| RelayerError::Io("writing config".into(), e))?;
        for c in r.chains.clone() {
            let key = c.keys.first().expect("a relayer key");
            r.import_key(&c.id, "relayer", &key.mnemonic)?;
        }
        Ok(r)
    }

    /// `chimera keys import --chain CHAIN --name NAME --overwrite` of
    /// `mnemonic` (the chain's coin type and prefix from the config);
    /// returns what the command printed.
    ///
    /// Why: a user key beside the relayer's, for `chimera ica --key NAME`.
    pub fn import_key(&self, chain: &str, name: &str, mnemonic: &str) -> Result<String, RelayerError> {
        self.run_with_stdin(
            &[
                "keys",
                "import",
                "--chain",
                chain,
                "--name",
                name,
                "--mnemonic-file",
                "-",
                "--overwrite",
            ],
            mnemonic,
        )
    }

    /// [`run`](Self::run) of a command that prints one JSON line (`chimera
    /// create ...`), parsed.
    fn run_json(&self, args: &[&str]) -> Result<Value, RelayerError> {
        let out = self.run(args)?;
        serde_json::from_str(out.trim()).map_err(|e| RelayerError::Failed {
            args: args.join(" "),
            status: "0".into(),
            stderr: format!("not JSON ({e}): {out}"),
        })
    }

    /// `chimera create connection` with new clients on both chains; returns
    /// `(client on a, client on b, connection on a, connection on b)`.
    pub fn create_connection(
        &self,
        a: &str,
        b: &str,
    ) -> Result<(String, String, String, String), RelayerError> {
        let args = ["create", "connection", "--a", a, "--b", b];
        let v = self.run_json(&args)?;
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok((
            s("/a/client_id"),
            s("/b/client_id"),
            s("/a/connection_id"),
            s("/b/connection_id"),
        ))
    }

    /// The port of `chimera relay`'s telemetry (`/metrics`, `/health`).
    pub fn telemetry_port(&self) -> u16 {
        self.telemetry_port
    }

    /// The `chimera` binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Leaves `chimera relay` running (and the home in place) when this
    /// value goes; returns the detached process, if it ran.
    ///
    /// Why: the devnet's relayer outlives `chimera-e2e devnet up`.
    pub fn detach(mut self) -> Option<process::DetachedProcess> {
        self.home.keep();
        self.process.take().map(ManagedProcess::into_detached)
    }

    /// The config file's text.
    pub fn config_toml(&self) -> String {
        let mut s = format!(
            "# Written by chimera-e2e (e2e/src/relayer.rs)\n\
             [relay]\nmax_msg_num = 30\nclear_interval = 100\npoll_interval = \"200ms\"\n\n\
             [telemetry]\nenabled = true\nlisten = \"127.0.0.1:{}\"\n\n",
            self.telemetry_port
        );
        for c in &self.chains {
            s += &format!(
                "[[chains]]\nid = \"{}\"\nrpc = \"{}\"\ngrpc = \"{}\"\naccount_prefix = \"{}\"\ncoin_type = {}\n\
                 key = \"relayer\"\ngas_price = {{ price = {}, denom = \"{}\" }}\ngas_adjustment = {}\n\
                 max_gas = {}\ndefault_gas = {}\ntrusting_period = \"{}s\"\nclock_drift = \"{}s\"\n",
                c.id,
                c.rpc_addr,
                c.grpc_addr,
                c.account_prefix,
                coin_type(&c.hd_path),
                c.gas_price,
                c.gas_denom,
                c.gas_multiplier,
                c.max_gas,
                c.default_gas,
                c.trusting_period.as_secs(),
                c.clock_drift.as_secs()
            );
            if let Some(specs) = &c.proof_specs {
                s += &format!("proof_specs = '''{specs}'''\n");
            }
            s.push('\n');
        }
        s
    }

    /// Path of the config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The relayer home.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Keeps the home after the test (for reports).
    pub fn keep_home(&mut self) -> &Path {
        self.home.keep()
    }

    /// Runs `chimera --config <config> ARGS`; stdout on success.
    pub fn run(&self, args: &[&str]) -> Result<String, RelayerError> {
        self.run_with_stdin(args, "")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Result<String, RelayerError> {
        use std::io::Write;
        let mut child = Command::new(&self.binary)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| RelayerError::Io(format!("starting {}", self.binary.display()), e))?;
        let _ = child.stdin.take().expect("stdin").write_all(stdin.as_bytes());
        let out = child
            .wait_with_output()
            .map_err(|e| RelayerError::Io("waiting for chimera".into(), e))?;
        let log = self.home.path().join("commands.log");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| {
                writeln!(
                    f,
                    "$ chimera {}\n{}{}[{}]\n",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    out.status
                )
            });
        if !out.status.success() {
            return Err(RelayerError::Failed {
                args: args.join(" "),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `chimera create channel` with new clients and connection; returns
    /// `(channel on a, channel on b)`.
    pub fn create_channel(
        &self,
        a: &str,
        b: &str,
        port_a: &str,
        port_b: &str,
        version: &str,
        connection_a: Option<&str>,
    ) -> Result<(String, String, String), RelayerError> {
        let mut args = vec![
            "create",
            "channel",
            "--a",
            a,
            "--b",
            b,
            "--port-a",
            port_a,
            "--port-b",
            port_b,
            "--channel-version",
            version,
        ];
        if let Some(c) = connection_a {
            args.extend(["--connection-a", c]);
        }
        let v = self.run_json(&args)?;
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok((s("/a/channel_id"), s("/b/channel_id"), s("/a/connection_id")))
    }

    /// Starts `chimera relay` and waits for its metrics endpoint.
    pub fn start(&mut self, timeout: Duration) -> Result<(), RelayerError> {
        if self.process.is_some() {
            return Ok(());
        }
        let spec = ProcessSpec::new("chimera relay", &self.binary, self.home.path().join(RELAY_LOG))
            .arg("--config")
            .arg(&self.config)
            .arg("relay")
            .env("RUST_LOG", "info,chimera_relayer=debug")
            .cwd(self.home.path());
        let mut p = ManagedProcess::spawn(spec)?;
        p.wait_for_port(ports::loopback(self.telemetry_port), timeout)?;
        self.process = Some(p);
        Ok(())
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(&mut self) -> Result<(), RelayerError> {
        if let Some(mut p) = self.process.take() {
            p.stop()?;
        }
        Ok(())
    }

    /// `kill -9` of the relay process group (a crash).
    pub fn kill(&mut self) {
        if let Some(p) = self.process.take() {
            // SAFETY: kill(2) of the group the harness created.
            unsafe {
                libc::kill(-p.pgid(), libc::SIGKILL);
            }
            drop(p);
        }
    }

    /// The pid of `chimera relay`, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ManagedProcess::pid)
    }

    /// Whether `chimera relay` runs.
    pub fn is_running(&mut self) -> bool {
        match self.process.as_mut() {
            Some(p) => matches!(p.try_exit_status(), Ok(None)),
            None => false,
        }
    }

    /// Sum of Prometheus metric `name` over the lines containing every
    /// `labels` entry (`chain="x"`), or None when absent.
    pub fn metric(&self, name: &str, labels: &[&str]) -> Option<f64> {
        let body = http::get(
            ports::loopback(self.telemetry_port),
            "/metrics",
            Duration::from_secs(2),
        )
        .ok()?
        .body;
        let values: Vec<f64> = body
            .lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .filter(|l| labels.iter().all(|x| l.contains(x)))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// `/health` status code and body.
    pub fn health(&self) -> Option<(u16, String)> {
        http::get(
            ports::loopback(self.telemetry_port),
            "/health",
            Duration::from_secs(2),
        )
        .ok()
        .map(|r| (r.status, r.body))
    }

    /// The last lines of the relay log.
    pub fn log_tail(&self, lines: usize) -> String {
        process::log_tail(&self.home.path().join(RELAY_LOG), lines)
    }
}

impl Drop for ChimeraRelayer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// What a test needs of a running relayer, Hermes or ours, so one scenario
/// runs with either and their results compare.
pub trait Relayer {
    /// `hermes` or `chimera relay`.
    fn label(&self) -> &'static str;
    /// Starts relaying.
    fn start_relaying(&mut self, timeout: Duration) -> Result<(), String>;
    /// Stops relaying (SIGTERM).
    fn stop_relaying(&mut self) -> Result<(), String>;
    /// Whether the relay process runs.
    fn running(&mut self) -> bool;
    /// ERROR and WARN lines of its log, first `n`.
    fn problems(&self, n: usize) -> Vec<String>;
    /// Keeps its home after the test; returns the path.
    fn keep(&mut self) -> PathBuf;
    /// Pid of the relay process, while it runs.
    fn relay_pid(&self) -> Option<u32>;
}

impl Relayer for ChimeraRelayer {
    fn label(&self) -> &'static str {
        "chimera relay"
    }
    fn start_relaying(&mut self, timeout: Duration) -> Result<(), String> {
        self.start(timeout).map_err(|e| e.to_string())
    }
    fn stop_relaying(&mut self) -> Result<(), String> {
        self.stop().map_err(|e| e.to_string())
    }
    fn running(&mut self) -> bool {
        self.is_running()
    }
    fn problems(&self, n: usize) -> Vec<String> {
        std::fs::read_to_string(self.home.path().join(RELAY_LOG))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("WARN"))
            .take(n)
            .map(str::to_string)
            .collect()
    }
    fn keep(&mut self) -> PathBuf {
        self.keep_home().to_path_buf()
    }
    fn relay_pid(&self) -> Option<u32> {
        self.pid()
    }
}

impl Relayer for crate::hermes::Hermes {
    fn label(&self) -> &'static str {
        "hermes"
    }
    fn start_relaying(&mut self, timeout: Duration) -> Result<(), String> {
        self.start(timeout).map_err(|e| e.to_string())
    }
    fn stop_relaying(&mut self) -> Result<(), String> {
        self.stop().map_err(|e| e.to_string())
    }
    fn running(&mut self) -> bool {
        self.is_running()
    }
    fn problems(&self, n: usize) -> Vec<String> {
        self.log_lines_with("ERROR")
            .into_iter()
            .chain(self.log_lines_with("WARN"))
            .take(n)
            .collect()
    }
    fn keep(&mut self) -> PathBuf {
        self.keep_home().to_path_buf()
    }
    fn relay_pid(&self) -> Option<u32> {
        self.pid()
    }
}

/// `chimera fetch SHA --node NODE --out FILE`, as a user verifies an
/// output: the bytes, or the exit status and stderr when it refuses (and
/// then no file may exist: a refused fetch that leaves one panics).
pub fn chimera_fetch(sha: &str, node: &str) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("output");
    let run = std::process::Command::new(chimera_binary())
        .args(["fetch", sha, "--node", node, "--out"])
        .arg(&out)
        .output()
        .map_err(|e| format!("running chimera fetch: {e}"))?;
    if run.status.success() {
        std::fs::read(&out).map_err(|e| e.to_string())
    } else {
        assert!(!out.exists(), "a refused fetch left {}", out.display());
        Err(format!(
            "{}: {}",
            run.status,
            String::from_utf8_lossy(&run.stderr)
        ))
    }
}

/// One runtime for the whole test: the gRPC channels of [`Chain`] live on
/// the runtime that made them.
pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A user's signing handle on one chain: the relayer library's own
/// [`Chain`] (the same tx path the relayer uses), keyed by `mnemonic`.
pub fn user_chain(
    c: &HermesChain,
    mnemonic: &str,
    coin_type: u32,
    dir: &std::path::Path,
) -> std::sync::Arc<Chain> {
    let store = KeyStore::open(dir);
    let (key, _) = store
        .add(&c.id, "user", coin_type, &c.account_prefix, Some(mnemonic), true)
        .expect("import user key");
    let config = ChainConfig {
        id: c.id.clone(),
        rpc: c.rpc_addr.clone(),
        grpc: c.grpc_addr.clone(),
        websocket: None,
        account_prefix: c.account_prefix.clone(),
        coin_type,
        key: "user".into(),
        gas_price: GasPrice {
            price: c.gas_price,
            denom: c.gas_denom.clone(),
        },
        gas_adjustment: 1.5,
        max_gas: c.max_gas,
        default_gas: c.default_gas,
        fee_granter: None,
        store_prefix: "ibc".into(),
        proof_specs: c.proof_specs.clone(),
        trusting_period: c.trusting_period,
        unbonding_period: c.trusting_period * 2,
        clock_drift: c.clock_drift,
        packet_filter: PacketFilter::default(),
        rpc_timeout: Duration::from_secs(10),
    };
    rt().block_on(Chain::connect(config, &key, Metrics::new()))
        .expect("connect user")
}

/// `count` ICS-20 transfers in one tx.
pub struct Transfer<'a> {
    /// Source channel (port `transfer`).
    pub channel: &'a str,
    /// Denom sent.
    pub denom: &'a str,
    /// Amount of each transfer.
    pub amount: u128,
    /// Receiver on the other chain.
    pub receiver: &'a str,
    /// How many `MsgTransfer`s.
    pub count: usize,
    /// Timeout height on the destination (revision 1); 0: a 10-minute
    /// timestamp instead.
    pub timeout_height: u64,
}

/// Signs and commits `t` from `from`; returns the block height.
pub fn transfer(from: &Chain, t: &Transfer) -> u64 {
    let msgs = (0..t.count)
        .map(|_| {
            any(&MsgTransfer {
                source_port: "transfer".into(),
                source_channel: t.channel.into(),
                token: Some(ibc_proto::cosmos::base::v1beta1::Coin {
                    denom: t.denom.into(),
                    amount: t.amount.to_string(),
                }),
                sender: from.address.clone(),
                receiver: t.receiver.into(),
                timeout_height: Some(Height {
                    revision_number: if t.timeout_height == 0 { 0 } else { 1 },
                    revision_height: t.timeout_height,
                }),
                timeout_timestamp: if t.timeout_height == 0 {
                    (std::time::SystemTime::now() + Duration::from_secs(600))
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos() as u64
                } else {
                    0
                },
                memo: String::new(),
            })
        })
        .collect();
    let out = rt().block_on(from.send(msgs)).expect("MsgTransfer");
    out.height
}

/// Polls `f` every 250 ms until it holds and prints how long it took;
/// panics after `within` with the last lines of each relayer's log.
///
/// Why: every relayer test waits on chain state this way.
pub fn wait_until(what: &str, within: Duration, relayers: &[&ChimeraRelayer], mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        if start.elapsed() > within {
            let logs: Vec<String> = relayers.iter().map(|r| r.log_tail(40)).collect();
            panic!(
                "timed out: {what}\n--- relay logs ---\n{}",
                logs.join("\n-----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("[ok] {what} ({:.1?})", start.elapsed());
}

/// The pair most relayer tests run on: a Terra Classic localnet and a
/// one-validator chimerad (relayer accounts funded on both), with the chain
/// blocks a relayer config is written from. Panics with the set-up command
/// when `terrad`, `cometbft` or `chimerad` is missing.
pub fn terra_and_chimera() -> (
    crate::terra::TerraLocalnet,
    crate::chimera::ChimeraNet,
    HermesChain,
    HermesChain,
) {
    terra_and_chimera_with(crate::devnet::chimera_config(crate::chimera::DEFAULT_CHAIN_ID))
}

/// [`terra_and_chimera`] with chimerad built from `chimera` (operators,
/// genesis edits).
pub fn terra_and_chimera_with(
    chimera: crate::chimera::ChimeraNetConfig,
) -> (
    crate::terra::TerraLocalnet,
    crate::chimera::ChimeraNet,
    HermesChain,
    HermesChain,
) {
    for b in ["terrad", "cometbft"] {
        crate::bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    crate::chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let (terra, chimera) =
        crate::devnet::start_terra_and_chimera(crate::devnet::terra_config(), chimera).expect("localnets");
    let (tc, cc) = (
        HermesChain::terra(&terra),
        HermesChain::chimera(&chimera).expect("chimerad ports"),
    );
    (terra, chimera, tc, cc)
}
