//! A single-validator Terra Classic localnet running the real `terrad`, and
//! the same for any Cosmos SDK 0.47 daemon ([`SdkLocalnet`]).
//!
//! Chimera's users live on Terra Classic: their requests leave it through
//! ICS-27 and IBC (../shared/DESIGN.md §3). The end-to-end suites therefore
//! need a real Terra Classic chain (terrad v3.4.x: Cosmos SDK 0.47, CometBFT
//! 0.37, ibc-go v7), not a mock. [`TerraLocalnet::start`] builds one from
//! scratch the way an operator would (`terrad init`, recovered keys with coin
//! type 330, genesis accounts, gentx, collect-gentxs), moves every listener to
//! a free loopback port, shortens block time, starts it and waits until it
//! produces blocks.
//!
//! Nothing in those steps is Terra's own: every SDK 0.47 daemon has the same
//! commands and config files. What differs (binary, denom, coin type, bech32
//! prefix, defaults) is an [`SdkDaemon`]; [`Terra`] is one, `crate::simd`'s
//! `Simd` another.

use std::io::Write;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::bank::{self, BankError};
use crate::bins::{self, BinaryMissing};
use crate::home::{HomeError, NodeHome};
use crate::keys::{self, KeyError};
use crate::ports::{self, PortInUse};
use crate::process::{ManagedProcess, ProcessError, ProcessSpec};
use crate::rpc::{self, NodeStatus};
use crate::toml_config::{self, TomlEdit, TomlEditError};

/// Default chain id of the localnet.
///
/// Why: LocalTerra's naming, clearly not `columbus-5` (mainnet), so a signed
/// test transaction can never be replayed on a real chain.
pub const DEFAULT_CHAIN_ID: &str = "localterra-1";

/// Terra Classic's staking, fee and mint denom.
pub const DENOM: &str = "uluna";

/// Default genesis balance of each account: 1,000,000 LUNC.
pub const DEFAULT_GENESIS_AMOUNT: u128 = 1_000_000_000_000;

/// Default validator self-delegation: 100,000 LUNC.
pub const DEFAULT_SELF_DELEGATION: u128 = 100_000_000_000;

/// Default `minimum-gas-prices` of the node.
///
/// Why: non-zero so later tests exercise fee handling as on mainnet; the
/// value is a localnet choice, not mainnet's.
pub const DEFAULT_MIN_GAS_PRICES: &str = "0.015uluna";

/// Governance voting period of the localnet (`app_state.gov.params.voting_period`;
/// the SDK default is two days).
///
/// Why: the only way to pin wasm code on Terra Classic v3.4 is a passed
/// `MsgPinCodes` proposal (`crate::wasm::pin_code`); with one validator
/// voting yes at once, a few seconds is enough and keeps the test short.
/// Long enough for the vote to land after the proposal's block (blocks are
/// 500 ms).
pub const GOV_VOTING_PERIOD: &str = "6s";

/// Name of terrad's log file in its home directory
/// (`<binary>.log` for any [`SdkDaemon`]).
pub const LOG_FILE: &str = "terrad.log";

/// Name of the file recording every set-up command and its output.
pub const SETUP_LOG_FILE: &str = "setup.log";

/// What tells one Cosmos SDK 0.47 daemon's localnet from another's.
///
/// Why: the operator's set-up commands, the config files and readiness are
/// the SDK's and identical across daemons; only these differ, so one
/// [`SdkLocalnet`] serves terrad, simd and the like.
pub trait SdkDaemon: std::fmt::Debug + Clone + Copy + Default + Send + Sync + 'static {
    /// The binary's name, looked up with [`bins::find_binary`].
    const BINARY: &'static str;
    /// Staking, fee and mint denom (`init --default-denom`).
    const DENOM: &'static str;
    /// BIP-44 coin type of its keys (`keys add --coin-type`).
    const COIN_TYPE: u32;
    /// Bech32 account prefix.
    const PREFIX: &'static str;
    /// Default chain id.
    const DEFAULT_CHAIN_ID: &'static str;
    /// Default `app.toml` `minimum-gas-prices`.
    const DEFAULT_MIN_GAS_PRICES: &'static str;
}

/// Terra Classic's `terrad` (v3.4.x).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terra;

impl SdkDaemon for Terra {
    const BINARY: &'static str = "terrad";
    const DENOM: &'static str = DENOM;
    const COIN_TYPE: u32 = keys::TERRA_COIN_TYPE;
    const PREFIX: &'static str = keys::TERRA_PREFIX;
    const DEFAULT_CHAIN_ID: &'static str = DEFAULT_CHAIN_ID;
    const DEFAULT_MIN_GAS_PRICES: &'static str = DEFAULT_MIN_GAS_PRICES;
}

/// The loopback ports a node listens on.
///
/// Why: tests that need to know or choose them (e.g. to provoke a port
/// conflict) pass them explicitly; otherwise [`SdkPorts::pick`] is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkPorts {
    /// CometBFT RPC (`config.toml` `[rpc] laddr`).
    pub rpc: u16,
    /// CometBFT P2P (`config.toml` `[p2p] laddr`).
    pub p2p: u16,
    /// Cosmos SDK gRPC (`app.toml` `[grpc] address`).
    pub grpc: u16,
    /// Cosmos SDK REST API (`app.toml` `[api] address`).
    pub api: u16,
}

/// terrad's ports (the same four as any SDK daemon's).
pub type TerraPorts = SdkPorts;

impl SdkPorts {
    /// Four distinct free ports from [`ports::free_port`].
    pub fn pick() -> std::io::Result<Self> {
        Ok(Self {
            rpc: ports::free_port()?,
            p2p: ports::free_port()?,
            grpc: ports::free_port()?,
            api: ports::free_port()?,
        })
    }

    /// Each port with the service it is for, for checks and messages.
    pub fn services(&self) -> [(u16, &'static str); 4] {
        [
            (self.rpc, "CometBFT RPC"),
            (self.p2p, "CometBFT P2P"),
            (self.grpc, "gRPC"),
            (self.api, "REST API"),
        ]
    }
}

/// A genesis account recovered from a mnemonic (the daemon's coin type, 330
/// for terrad).
///
/// Why: fixed mnemonics give fixed addresses, so tests can name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Key name in the node's `test` keyring.
    pub name: String,
    /// 24-word BIP-39 mnemonic.
    pub mnemonic: String,
    /// Genesis balance in the daemon's denom.
    pub amount: u128,
}

impl GenesisAccount {
    /// The validator's account: [`keys::VALIDATOR_MNEMONIC`], default
    /// amount.
    pub fn validator() -> Self {
        Self {
            name: "validator".into(),
            mnemonic: keys::VALIDATOR_MNEMONIC.into(),
            amount: DEFAULT_GENESIS_AMOUNT,
        }
    }

    /// An unbonded user account: [`keys::USER_MNEMONIC`], default amount.
    pub fn user() -> Self {
        Self {
            name: "user".into(),
            mnemonic: keys::USER_MNEMONIC.into(),
            amount: DEFAULT_GENESIS_AMOUNT,
        }
    }
}

/// How to build the localnet. `Default` gives a ready-to-use one.
///
/// Why: tests change only what they need (ports, home, accounts).
#[derive(Debug, Clone)]
pub struct SdkConfig<D: SdkDaemon> {
    /// Chain id.
    pub chain_id: String,
    /// Validator moniker.
    pub moniker: String,
    /// Home directory; a fresh temporary one when `None`. An explicit one
    /// must be new or empty.
    pub home: Option<PathBuf>,
    /// Listen ports; fresh free ones when `None`.
    pub ports: Option<SdkPorts>,
    /// The validator's own account (it self-delegates from it).
    pub validator: GenesisAccount,
    /// The validator's self-delegation in the daemon's denom (from its
    /// genesis amount).
    pub self_delegation: u128,
    /// Further funded accounts.
    pub accounts: Vec<GenesisAccount>,
    /// Further genesis balances by bech32 address alone (no key in the
    /// node's keyring), in the daemon's denom.
    ///
    /// Why: benchmarks fund many deterministic keys without a keyring
    /// round trip per key.
    pub balances: Vec<(String, u128)>,
    /// CometBFT `timeout_commit`: roughly the block time.
    pub timeout_commit: Duration,
    /// `app.toml` `minimum-gas-prices`.
    pub minimum_gas_prices: String,
    /// The height [`SdkLocalnet::start`] waits for.
    pub ready_height: u64,
    /// How long to wait for each readiness step.
    pub ready_timeout: Duration,
    /// The daemon's binary; found with [`bins::find_binary`] when `None`.
    pub binary: Option<PathBuf>,
    /// Which daemon.
    pub daemon: PhantomData<D>,
}

/// How to build a Terra Classic localnet.
pub type TerraConfig = SdkConfig<Terra>;

impl<D: SdkDaemon> Default for SdkConfig<D> {
    fn default() -> Self {
        Self {
            chain_id: D::DEFAULT_CHAIN_ID.into(),
            moniker: "chimera-e2e-validator".into(),
            home: None,
            ports: None,
            validator: GenesisAccount::validator(),
            self_delegation: DEFAULT_SELF_DELEGATION,
            accounts: vec![GenesisAccount::user()],
            balances: Vec::new(),
            timeout_commit: Duration::from_millis(500),
            minimum_gas_prices: D::DEFAULT_MIN_GAS_PRICES.into(),
            ready_height: 2,
            ready_timeout: Duration::from_secs(60),
            binary: None,
            daemon: PhantomData,
        }
    }
}

/// Why the localnet could not be built, started or queried.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The daemon is not installed.
    #[error(transparent)]
    Binary(#[from] BinaryMissing),
    /// A listen port is taken.
    #[error("SDK localnet: {0}")]
    PortInUse(#[from] PortInUse),
    /// Two services were given the same port.
    #[error("SDK localnet: port {port} given to both {first} and {second}")]
    DuplicatePort {
        /// The port.
        port: u16,
        /// One service.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// The home directory is unusable (e.g. stale).
    #[error("SDK localnet: {0}")]
    Home(#[from] HomeError),
    /// A mnemonic is invalid.
    #[error("SDK localnet: {0}")]
    Key(#[from] KeyError),
    /// The daemon derived a different address than the harness's BIP-44
    /// derivation with its coin type.
    #[error("{daemon} recovered key `{name}` as {got}, but {path} of its mnemonic is {expected}")]
    AddressMismatch {
        /// The daemon's binary name.
        daemon: &'static str,
        /// Key name.
        name: String,
        /// What the daemon reported.
        got: String,
        /// The HD path the harness derived.
        path: String,
        /// What the harness derived.
        expected: String,
    },
    /// A set-up command failed.
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stdout and stderr.
        output: String,
    },
    /// The generated genesis is not what the harness expects.
    #[error("SDK localnet genesis: {0}")]
    Genesis(String),
    /// A generated config file could not be edited.
    #[error("SDK localnet: {0}")]
    Config(#[from] TomlEditError),
    /// The node process failed to start, become ready or stop.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The RPC answered with an unexpected chain id.
    #[error("RPC {addr} reports chain id {got:?}, expected {expected:?}")]
    WrongChain {
        /// RPC address.
        addr: SocketAddr,
        /// What the node reports.
        got: String,
        /// What was configured.
        expected: String,
    },
    /// The RPC query failed.
    #[error(transparent)]
    Rpc(#[from] rpc::RpcError),
    /// The gRPC balance query failed.
    #[error(transparent)]
    Bank(#[from] BankError),
    /// Any other I/O failure.
    #[error("SDK localnet: {context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Why the Terra Classic localnet could not be built, started or queried.
pub type TerraError = SdkError;

/// A running single-validator chain of an SDK daemon. Dropping it stops the
/// node; its home is removed unless the test failed or `CHIMERA_E2E_KEEP=1`.
///
/// Why: the counterparty chain of every Chimera end-to-end test (terrad),
/// and the Go peer of benchmarks (simd).
#[derive(Debug)]
pub struct SdkLocalnet<D: SdkDaemon> {
    // Field order matters: the process stops before the home is removed.
    process: ManagedProcess,
    home: NodeHome,
    config: SdkConfig<D>,
    ports: SdkPorts,
    binary: PathBuf,
    validator_address: String,
    accounts: Vec<(String, String)>,
}

/// A running single-validator Terra Classic chain.
pub type TerraLocalnet = SdkLocalnet<Terra>;

impl<D: SdkDaemon> SdkLocalnet<D> {
    /// Builds, starts and waits for a localnet: returns once the chain has
    /// reached `config.ready_height` and gRPC and REST answer.
    ///
    /// Why: one call gives a test a real chain; every failure names its
    /// cause (missing binary, taken port, stale home, failing command with
    /// its output, node log tail).
    pub fn start(config: SdkConfig<D>) -> Result<Self, SdkError> {
        let binary = match &config.binary {
            Some(p) => p.clone(),
            None => bins::find_binary(D::BINARY)?,
        };
        let ports = match config.ports {
            Some(p) => p,
            None => SdkPorts::pick().map_err(|source| SdkError::Io {
                context: "picking free ports".into(),
                source,
            })?,
        };
        check_ports::<D>(&ports, &config.chain_id)?;
        let home = match &config.home {
            Some(p) => NodeHome::explicit(p)?,
            None => NodeHome::fresh(&format!("{}-{}", D::BINARY, config.chain_id))?,
        };

        let setup = Setup::<D>::new(&binary, home.path());
        let (validator_address, accounts) = setup.genesis(&config)?;
        setup.configure(&config, &ports)?;

        // Ports may have been taken while the genesis was built.
        check_ports::<D>(&ports, &config.chain_id)?;
        let mut spec = ProcessSpec::new(
            format!("{} {}", D::BINARY, config.chain_id),
            &binary,
            home.path().join(format!("{}.log", D::BINARY)),
        )
        .arg("start")
        .arg("--home")
        .arg(home.path())
        .arg("--log_no_color")
        .cwd(home.path());
        if let Some(ld) = bins::library_path() {
            spec = spec.env("LD_LIBRARY_PATH", ld);
        }
        let process = ManagedProcess::spawn(spec)?;
        let mut net = Self {
            process,
            home,
            config,
            ports,
            binary,
            validator_address,
            accounts,
        };
        net.wait_ready()?;
        Ok(net)
    }

    fn wait_ready(&mut self) -> Result<(), SdkError> {
        let timeout = self.config.ready_timeout;
        let rpc = self.rpc_addr();
        self.process.wait_for_http(rpc, "/status", timeout)?;
        let status = rpc::status(rpc)?;
        if status.network != self.config.chain_id {
            return Err(SdkError::WrongChain {
                addr: rpc,
                got: status.network,
                expected: self.config.chain_id.clone(),
            });
        }
        self.wait_for_height(self.config.ready_height, timeout)?;
        self.process.wait_for_port(self.grpc_addr(), timeout)?;
        self.process.wait_for_http(
            self.api_addr(),
            "/cosmos/base/tendermint/v1beta1/node_info",
            timeout,
        )?;
        Ok(())
    }

    /// Waits until the latest block height is at least `height`.
    ///
    /// Why: tests wait for a transaction's block or for time to pass in
    /// blocks, never in wall-clock sleeps.
    pub fn wait_for_height(&mut self, height: u64, timeout: Duration) -> Result<u64, SdkError> {
        let rpc = self.rpc_addr();
        Ok(self
            .process
            .wait_until(&format!("block height >= {height}"), timeout, || {
                rpc::status(rpc)
                    .ok()
                    .map(|s| s.latest_height)
                    .filter(|h| *h >= height)
            })?)
    }

    /// The node's `/status`: chain id and latest height.
    pub fn status(&self) -> Result<NodeStatus, SdkError> {
        Ok(rpc::status(self.rpc_addr())?)
    }

    /// The `denom` balance of `address`, over gRPC.
    ///
    /// Why: exact balance assertions in tests.
    pub async fn balance(&self, address: &str, denom: &str) -> Result<u128, SdkError> {
        Ok(bank::balance(&self.grpc_url(), address, denom).await?)
    }

    /// Runs a one-shot daemon command against this node's home (e.g.
    /// `["tx", "bank", "send", ...]`), with `--home` appended, and returns
    /// its stdout.
    ///
    /// Why: later tests drive the real CLI (ICA register, send-tx) the way a
    /// user would; `client.toml` already points it at this node, with the
    /// chain id and the `test` keyring.
    pub fn command(&self, args: &[&str]) -> Result<String, SdkError> {
        Setup::<D>::new(&self.binary, self.home.path()).run(args, None)
    }

    /// Stops the node (SIGTERM, then SIGKILL after a grace) and returns its
    /// exit status.
    pub fn stop(&mut self) -> Result<ExitStatus, SdkError> {
        Ok(self.process.stop()?)
    }

    /// Keeps the home directory after drop and returns its path.
    pub fn keep_home(&mut self) -> &Path {
        self.home.keep()
    }

    /// Leaves the node running (and its home in place) when this value
    /// goes, and returns its detached `start --home` process: its spec
    /// restarts the node from its home, its group stops it.
    ///
    /// Why: the devnet's Terra chain outlives `chimera-e2e devnet up`.
    pub fn detach(self) -> crate::process::DetachedProcess {
        let Self {
            process, mut home, ..
        } = self;
        home.keep();
        process.into_detached()
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.config.chain_id
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &SdkConfig<D> {
        &self.config
    }

    /// The node's home directory (`--home`).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The node's log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// The daemon binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The node process (pid, process group, log tail).
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }

    /// The listen ports.
    pub fn ports(&self) -> SdkPorts {
        self.ports
    }

    /// CometBFT RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        ports::loopback(self.ports.rpc)
    }

    /// CometBFT RPC URL, `http://127.0.0.1:<port>`.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr())
    }

    /// gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        ports::loopback(self.ports.grpc)
    }

    /// gRPC URL for tonic, `http://127.0.0.1:<port>`.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr())
    }

    /// REST API address.
    pub fn api_addr(&self) -> SocketAddr {
        ports::loopback(self.ports.api)
    }

    /// REST API URL, `http://127.0.0.1:<port>`.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.api_addr())
    }

    /// CometBFT P2P address.
    pub fn p2p_addr(&self) -> SocketAddr {
        ports::loopback(self.ports.p2p)
    }

    /// The validator's account address (e.g. `terra1...`).
    pub fn validator_address(&self) -> &str {
        &self.validator_address
    }

    /// The address of genesis account `name` (validator included).
    pub fn account_address(&self, name: &str) -> Option<&str> {
        self.accounts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.as_str())
    }

    /// All genesis accounts as (key name, address), validator first.
    pub fn accounts(&self) -> &[(String, String)] {
        &self.accounts
    }
}

impl SdkLocalnet<Terra> {
    /// Runs a one-shot `terrad` command against this node's home: see
    /// [`SdkLocalnet::command`].
    pub fn terrad_command(&self, args: &[&str]) -> Result<String, SdkError> {
        self.command(args)
    }

    /// The `terrad` binary in use.
    pub fn terrad(&self) -> &Path {
        self.binary()
    }
}

fn check_ports<D: SdkDaemon>(ports: &SdkPorts, chain_id: &str) -> Result<(), SdkError> {
    let services = ports.services();
    for (i, (port, first)) in services.iter().enumerate() {
        if let Some((_, second)) = services[i + 1..].iter().find(|(p, _)| p == port) {
            return Err(SdkError::DuplicatePort {
                port: *port,
                first,
                second,
            });
        }
    }
    for (port, service) in services {
        ports::ensure_free(port, &format!("{} {chain_id} {service}", D::BINARY))?;
    }
    Ok(())
}

/// One-shot daemon commands against one home, logged to `setup.log`.
struct Setup<'a, D> {
    binary: &'a Path,
    home: &'a Path,
    daemon: PhantomData<D>,
}

impl<'a, D: SdkDaemon> Setup<'a, D> {
    fn new(binary: &'a Path, home: &'a Path) -> Self {
        Self {
            binary,
            home,
            daemon: PhantomData,
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, SdkError> {
        let mut cmd = Command::new(self.binary);
        cmd.args(args)
            .arg("--home")
            .arg(self.home)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(ld) = bins::library_path() {
            cmd.env("LD_LIBRARY_PATH", ld);
        }
        let command = format!(
            "{} {} --home {}",
            self.binary.display(),
            args.join(" "),
            self.home.display()
        );
        let io = |source| SdkError::Io {
            context: format!("running `{command}`"),
            source,
        };
        let mut child = cmd.spawn().map_err(io)?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(input.as_bytes()).map_err(io)?;
            pipe.write_all(b"\n").map_err(io)?;
        }
        let out = child.wait_with_output().map_err(io)?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let combined = format!("{stdout}{}{stderr}", if stdout.is_empty() { "" } else { "\n" });
        self.log(&command, out.status, &combined);
        if !out.status.success() {
            return Err(SdkError::Command {
                command,
                status: out.status.to_string(),
                output: combined.trim_end().to_string(),
            });
        }
        Ok(stdout)
    }

    fn log(&self, command: &str, status: ExitStatus, output: &str) {
        let path = self.home.join(SETUP_LOG_FILE);
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "$ {command}\n{}\n[{status}]\n", output.trim_end());
        }
    }

    /// `keys add NAME --recover --coin-type <the daemon's>` from `mnemonic`,
    /// then `keys show NAME -a`: the address the daemon derived.
    fn recover_key(&self, name: &str, mnemonic: &str) -> Result<String, SdkError> {
        let coin_type = D::COIN_TYPE.to_string();
        self.run(
            &[
                "keys",
                "add",
                name,
                "--recover",
                "--keyring-backend",
                "test",
                "--coin-type",
                &coin_type,
                "--output",
                "json",
            ],
            Some(mnemonic),
        )?;
        Ok(self
            .run(&["keys", "show", name, "-a", "--keyring-backend", "test"], None)?
            .trim()
            .to_string())
    }

    /// init, keys, genesis accounts, gentx, collect-gentxs, validate-genesis.
    /// Returns the validator address and all (name, address) pairs.
    fn genesis(&self, config: &SdkConfig<D>) -> Result<(String, Vec<(String, String)>), SdkError> {
        self.run(
            &[
                "init",
                &config.moniker,
                "--chain-id",
                &config.chain_id,
                "--default-denom",
                D::DENOM,
            ],
            None,
        )?;
        let mut accounts = Vec::new();
        for acct in std::iter::once(&config.validator).chain(&config.accounts) {
            let expected = keys::address(&acct.mnemonic, D::COIN_TYPE, D::PREFIX)?.to_string();
            let shown = self.recover_key(&acct.name, &acct.mnemonic)?;
            if shown != expected {
                return Err(SdkError::AddressMismatch {
                    daemon: D::BINARY,
                    name: acct.name.clone(),
                    got: shown,
                    path: keys::hd_path(D::COIN_TYPE, 0),
                    expected,
                });
            }
            self.run(
                &[
                    "add-genesis-account",
                    &shown,
                    &format!("{}{}", acct.amount, D::DENOM),
                ],
                None,
            )?;
            accounts.push((acct.name.clone(), shown));
        }
        self.add_genesis_balances(&config.balances)?;
        self.run(
            &[
                "gentx",
                &config.validator.name,
                &format!("{}{}", config.self_delegation, D::DENOM),
                "--chain-id",
                &config.chain_id,
                "--moniker",
                &config.moniker,
                "--keyring-backend",
                "test",
            ],
            None,
        )?;
        self.run(&["collect-gentxs"], None)?;
        self.set_gov_voting_period(GOV_VOTING_PERIOD)?;
        self.run(&["validate-genesis"], None)?;
        self.check_genesis_denoms()?;
        Ok((accounts[0].1.clone(), accounts))
    }

    /// Funds every (address, amount) in one edit of `genesis.json`: what
    /// `add-genesis-account ADDRESS AMOUNT` writes (a `BaseAccount`, a bank
    /// balance, the supply raised by it), without a process per account.
    ///
    /// Why: benchmarks fund thousands of keys; the SDK 0.47 CLI has no bulk
    /// form, and `validate-genesis` afterwards checks the result.
    fn add_genesis_balances(&self, balances: &[(String, u128)]) -> Result<(), SdkError> {
        if balances.is_empty() {
            return Ok(());
        }
        let mut genesis = self.read_genesis()?;
        let bad = |what: &str| SdkError::Genesis(format!("genesis.json has no {what}"));
        let app = genesis.get_mut("app_state").ok_or_else(|| bad("app_state"))?;
        let list = |app: &mut serde_json::Value, pointer: &str| {
            app.pointer_mut(pointer)
                .and_then(|v| v.as_array_mut())
                .map(std::mem::take)
                .ok_or_else(|| bad(pointer))
        };
        let mut accounts = list(app, "/auth/accounts")?;
        let mut bank = list(app, "/bank/balances")?;
        let mut supply = list(app, "/bank/supply")?;
        let mut total: u128 = 0;
        for (address, amount) in balances {
            accounts.push(serde_json::json!({
                "@type": "/cosmos.auth.v1beta1.BaseAccount",
                "address": address,
                "pub_key": null,
                "account_number": "0",
                "sequence": "0",
            }));
            bank.push(serde_json::json!({
                "address": address,
                "coins": [{"denom": D::DENOM, "amount": amount.to_string()}],
            }));
            total += amount;
        }
        match supply.iter_mut().find(|c| c["denom"] == D::DENOM) {
            Some(c) => {
                let had: u128 = c["amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or(0);
                c["amount"] = (had + total).to_string().into();
            }
            None => supply.push(serde_json::json!({"denom": D::DENOM, "amount": total.to_string()})),
        }
        app["auth"]["accounts"] = accounts.into();
        app["bank"]["balances"] = bank.into();
        app["bank"]["supply"] = supply.into();
        self.write_genesis(&genesis)
    }

    /// Sets `app_state.gov.params.voting_period` (gov v1, SDK 0.47): see
    /// [`GOV_VOTING_PERIOD`].
    fn set_gov_voting_period(&self, period: &str) -> Result<(), SdkError> {
        let mut genesis = self.read_genesis()?;
        let slot = genesis
            .pointer_mut("/app_state/gov/params/voting_period")
            .ok_or_else(|| {
                SdkError::Genesis("genesis.json has no app_state.gov.params.voting_period".into())
            })?;
        *slot = period.into();
        self.write_genesis(&genesis)
    }

    fn genesis_path(&self) -> PathBuf {
        self.home.join("config/genesis.json")
    }

    fn read_genesis(&self) -> Result<serde_json::Value, SdkError> {
        let path = self.genesis_path();
        let text = std::fs::read_to_string(&path).map_err(|source| SdkError::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| SdkError::Genesis(format!("{}: {e}", path.display())))
    }

    fn write_genesis(&self, genesis: &serde_json::Value) -> Result<(), SdkError> {
        let path = self.genesis_path();
        let text = serde_json::to_string_pretty(genesis).expect("a JSON value serializes");
        std::fs::write(&path, text).map_err(|source| SdkError::Io {
            context: format!("writing {}", path.display()),
            source,
        })
    }

    /// `init --default-denom <denom>` sets these; a future daemon that stops
    /// doing so must fail here, not with a confusing gentx or fee error.
    fn check_genesis_denoms(&self) -> Result<(), SdkError> {
        let genesis = self.read_genesis()?;
        for pointer in [
            "/app_state/staking/params/bond_denom",
            "/app_state/mint/params/mint_denom",
            "/app_state/crisis/constant_fee/denom",
            "/app_state/gov/params/min_deposit/0/denom",
        ] {
            let got = genesis.pointer(pointer).and_then(|v| v.as_str());
            if got != Some(D::DENOM) {
                return Err(SdkError::Genesis(format!(
                    "{}: {pointer} is {got:?}, expected {:?}",
                    self.genesis_path().display(),
                    D::DENOM
                )));
            }
        }
        Ok(())
    }

    /// Loopback listeners on the chosen ports, fast blocks, gas prices,
    /// client defaults pointing at this node.
    fn configure(&self, config: &SdkConfig<D>, ports: &SdkPorts) -> Result<(), SdkError> {
        let cfg = self.home.join("config");
        let lo = ports::LOOPBACK;
        let commit = format!("{}ms", config.timeout_commit.as_millis());
        toml_config::edit_file(
            &cfg.join("config.toml"),
            &[
                TomlEdit::string("", "moniker", &config.moniker),
                TomlEdit::string("rpc", "laddr", &format!("tcp://{lo}:{}", ports.rpc)),
                // pprof off: one fewer port to collide on.
                TomlEdit::string("rpc", "pprof_laddr", ""),
                TomlEdit::string("p2p", "laddr", &format!("tcp://{lo}:{}", ports.p2p)),
                TomlEdit::string("consensus", "timeout_commit", &commit),
                TomlEdit::literal("instrumentation", "prometheus", "false"),
            ],
        )?;
        toml_config::edit_file(
            &cfg.join("app.toml"),
            &[
                TomlEdit::string("", "minimum-gas-prices", &config.minimum_gas_prices),
                TomlEdit::literal("api", "enable", "true"),
                TomlEdit::string("api", "address", &format!("tcp://{lo}:{}", ports.api)),
                TomlEdit::literal("grpc", "enable", "true"),
                TomlEdit::string("grpc", "address", &format!("{lo}:{}", ports.grpc)),
                // gRPC-web would need a fifth port; nothing uses it.
                TomlEdit::literal("grpc-web", "enable", "false"),
                TomlEdit::literal("rosetta", "enable", "false"),
            ],
        )?;
        toml_config::edit_file(
            &cfg.join("client.toml"),
            &[
                TomlEdit::string("", "chain-id", &config.chain_id),
                TomlEdit::string("", "keyring-backend", "test"),
                TomlEdit::string("", "node", &format!("tcp://{lo}:{}", ports.rpc)),
            ],
        )?;
        Ok(())
    }
}

/// Address terrad's own key derivation gives for `mnemonic` (recovered into a
/// scratch keyring in `home` with `--coin-type 330`), via `terrad keys show
/// -a`.
///
/// Why: lets tests compare the harness's BIP-44 derivation with terrad's
/// without starting a chain.
pub fn terrad_key_address(
    terrad: &Path,
    home: &Path,
    name: &str,
    mnemonic: &str,
) -> Result<String, SdkError> {
    Setup::<Terra>::new(terrad, home).recover_key(name, mnemonic)
}
