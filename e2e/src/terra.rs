//! A single-validator Terra Classic localnet running the real `terrad`.
//!
//! Chimera's users live on Terra Classic: their requests leave it through
//! ICS-27 and IBC (../shared/DESIGN.md §3). The end-to-end suites therefore
//! need a real Terra Classic chain (terrad v3.4.x: Cosmos SDK 0.47, CometBFT
//! 0.37, ibc-go v7), not a mock. [`TerraLocalnet::start`] builds one from
//! scratch the way an operator would (`terrad init`, recovered keys with coin
//! type 330, genesis accounts, gentx, collect-gentxs), moves every listener to
//! a free loopback port, shortens block time, starts it and waits until it
//! produces blocks.

use std::io::Write;
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

/// Name of the node's log file in its home directory.
pub const LOG_FILE: &str = "terrad.log";

/// Name of the file recording every set-up command and its output.
pub const SETUP_LOG_FILE: &str = "setup.log";

/// The loopback ports a node listens on.
///
/// Why: tests that need to know or choose them (e.g. to provoke a port
/// conflict) pass them explicitly; otherwise [`TerraPorts::pick`] is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerraPorts {
    /// CometBFT RPC (`config.toml` `[rpc] laddr`).
    pub rpc: u16,
    /// CometBFT P2P (`config.toml` `[p2p] laddr`).
    pub p2p: u16,
    /// Cosmos SDK gRPC (`app.toml` `[grpc] address`).
    pub grpc: u16,
    /// Cosmos SDK REST API (`app.toml` `[api] address`).
    pub api: u16,
}

impl TerraPorts {
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

/// A genesis account recovered from a mnemonic (coin type 330).
///
/// Why: fixed mnemonics give fixed addresses, so tests can name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Key name in the node's `test` keyring.
    pub name: String,
    /// 24-word BIP-39 mnemonic.
    pub mnemonic: String,
    /// Genesis balance in uluna.
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
pub struct TerraConfig {
    /// Chain id.
    pub chain_id: String,
    /// Validator moniker.
    pub moniker: String,
    /// Home directory; a fresh temporary one when `None`. An explicit one
    /// must be new or empty.
    pub home: Option<PathBuf>,
    /// Listen ports; fresh free ones when `None`.
    pub ports: Option<TerraPorts>,
    /// The validator's own account (it self-delegates from it).
    pub validator: GenesisAccount,
    /// The validator's self-delegation in uluna (from its genesis amount).
    pub self_delegation: u128,
    /// Further funded accounts.
    pub accounts: Vec<GenesisAccount>,
    /// CometBFT `timeout_commit`: roughly the block time.
    pub timeout_commit: Duration,
    /// `app.toml` `minimum-gas-prices`.
    pub minimum_gas_prices: String,
    /// The height [`TerraLocalnet::start`] waits for.
    pub ready_height: u64,
    /// How long to wait for each readiness step.
    pub ready_timeout: Duration,
    /// The `terrad` binary; found with [`bins::find_binary`] when `None`.
    pub terrad: Option<PathBuf>,
}

impl Default for TerraConfig {
    fn default() -> Self {
        Self {
            chain_id: DEFAULT_CHAIN_ID.into(),
            moniker: "chimera-e2e-validator".into(),
            home: None,
            ports: None,
            validator: GenesisAccount::validator(),
            self_delegation: DEFAULT_SELF_DELEGATION,
            accounts: vec![GenesisAccount::user()],
            timeout_commit: Duration::from_millis(500),
            minimum_gas_prices: DEFAULT_MIN_GAS_PRICES.into(),
            ready_height: 2,
            ready_timeout: Duration::from_secs(60),
            terrad: None,
        }
    }
}

/// Why the localnet could not be built, started or queried.
#[derive(Debug, thiserror::Error)]
pub enum TerraError {
    /// `terrad` is not installed.
    #[error(transparent)]
    Binary(#[from] BinaryMissing),
    /// A listen port is taken.
    #[error("terrad localnet: {0}")]
    PortInUse(#[from] PortInUse),
    /// Two services were given the same port.
    #[error("terrad localnet: port {port} given to both {first} and {second}")]
    DuplicatePort {
        /// The port.
        port: u16,
        /// One service.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// The home directory is unusable (e.g. stale).
    #[error("terrad localnet: {0}")]
    Home(#[from] HomeError),
    /// A mnemonic is invalid.
    #[error("terrad localnet: {0}")]
    Key(#[from] KeyError),
    /// `terrad` derived a different address than BIP-44 coin type 330.
    #[error(
        "terrad recovered key `{name}` as {terrad}, but m/44'/330'/0'/0/0 of its mnemonic is {expected}"
    )]
    AddressMismatch {
        /// Key name.
        name: String,
        /// What terrad reported.
        terrad: String,
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
    #[error("terrad localnet genesis: {0}")]
    Genesis(String),
    /// A generated config file could not be edited.
    #[error("terrad localnet: {0}")]
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
    #[error("terrad localnet: {context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A running single-validator Terra Classic chain. Dropping it stops the
/// node; its home is removed unless the test failed or `CHIMERA_E2E_KEEP=1`.
///
/// Why: the counterparty chain of every Chimera end-to-end test.
#[derive(Debug)]
pub struct TerraLocalnet {
    // Field order matters: the process stops before the home is removed.
    process: ManagedProcess,
    home: NodeHome,
    config: TerraConfig,
    ports: TerraPorts,
    terrad: PathBuf,
    validator_address: String,
    accounts: Vec<(String, String)>,
}

impl TerraLocalnet {
    /// Builds, starts and waits for a localnet: returns once the chain has
    /// reached `config.ready_height` and gRPC and REST answer.
    ///
    /// Why: one call gives a test a real chain; every failure names its
    /// cause (missing binary, taken port, stale home, failing command with
    /// its output, node log tail).
    pub fn start(config: TerraConfig) -> Result<Self, TerraError> {
        let terrad = match &config.terrad {
            Some(p) => p.clone(),
            None => bins::find_binary("terrad")?,
        };
        let ports = match config.ports {
            Some(p) => p,
            None => TerraPorts::pick().map_err(|source| TerraError::Io {
                context: "picking free ports".into(),
                source,
            })?,
        };
        check_ports(&ports, &config.chain_id)?;
        let home = match &config.home {
            Some(p) => NodeHome::explicit(p)?,
            None => NodeHome::fresh(&format!("terra-{}", config.chain_id))?,
        };

        let setup = Setup {
            terrad: &terrad,
            home: home.path(),
        };
        let (validator_address, accounts) = setup.genesis(&config)?;
        setup.configure(&config, &ports)?;

        // Ports may have been taken while the genesis was built.
        check_ports(&ports, &config.chain_id)?;
        let mut spec = ProcessSpec::new(
            format!("terrad {}", config.chain_id),
            &terrad,
            home.path().join(LOG_FILE),
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
            terrad,
            validator_address,
            accounts,
        };
        net.wait_ready()?;
        Ok(net)
    }

    fn wait_ready(&mut self) -> Result<(), TerraError> {
        let timeout = self.config.ready_timeout;
        let rpc = self.rpc_addr();
        self.process.wait_for_http(rpc, "/status", timeout)?;
        let status = rpc::status(rpc)?;
        if status.network != self.config.chain_id {
            return Err(TerraError::WrongChain {
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
    pub fn wait_for_height(&mut self, height: u64, timeout: Duration) -> Result<u64, TerraError> {
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
    pub fn status(&self) -> Result<NodeStatus, TerraError> {
        Ok(rpc::status(self.rpc_addr())?)
    }

    /// The `denom` balance of `address`, over gRPC.
    ///
    /// Why: exact balance assertions in tests.
    pub async fn balance(&self, address: &str, denom: &str) -> Result<u128, TerraError> {
        Ok(bank::balance(&self.grpc_url(), address, denom).await?)
    }

    /// Runs a one-shot `terrad` command against this node's home (e.g.
    /// `["tx", "bank", "send", ...]`), with `--home` appended, and returns
    /// its stdout.
    ///
    /// Why: later tests drive the real CLI (ICA register, send-tx) the way a
    /// user would; `client.toml` already points it at this node, with the
    /// chain id and the `test` keyring.
    pub fn terrad_command(&self, args: &[&str]) -> Result<String, TerraError> {
        Setup {
            terrad: &self.terrad,
            home: self.home.path(),
        }
        .run(args, None)
    }

    /// Stops the node (SIGTERM, then SIGKILL after a grace) and returns its
    /// exit status.
    pub fn stop(&mut self) -> Result<ExitStatus, TerraError> {
        Ok(self.process.stop()?)
    }

    /// Keeps the home directory after drop and returns its path.
    pub fn keep_home(&mut self) -> &Path {
        self.home.keep()
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.config.chain_id
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &TerraConfig {
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

    /// The `terrad` binary in use.
    pub fn terrad(&self) -> &Path {
        &self.terrad
    }

    /// The node process (pid, process group, log tail).
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }

    /// The listen ports.
    pub fn ports(&self) -> TerraPorts {
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

    /// The validator's account address (`terra1...`).
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

fn check_ports(ports: &TerraPorts, chain_id: &str) -> Result<(), TerraError> {
    let services = ports.services();
    for (i, (port, first)) in services.iter().enumerate() {
        if let Some((_, second)) = services[i + 1..].iter().find(|(p, _)| p == port) {
            return Err(TerraError::DuplicatePort {
                port: *port,
                first,
                second,
            });
        }
    }
    for (port, service) in services {
        ports::ensure_free(port, &format!("terrad {chain_id} {service}"))?;
    }
    Ok(())
}

/// One-shot `terrad` commands against one home, logged to `setup.log`.
struct Setup<'a> {
    terrad: &'a Path,
    home: &'a Path,
}

impl Setup<'_> {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, TerraError> {
        let mut cmd = Command::new(self.terrad);
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
            self.terrad.display(),
            args.join(" "),
            self.home.display()
        );
        let io = |source| TerraError::Io {
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
            return Err(TerraError::Command {
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

    /// `keys add NAME --recover --coin-type 330` from `mnemonic`, then
    /// `keys show NAME -a`: the address terrad derived.
    fn recover_key(&self, name: &str, mnemonic: &str) -> Result<String, TerraError> {
        let coin_type = keys::TERRA_COIN_TYPE.to_string();
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
    fn genesis(&self, config: &TerraConfig) -> Result<(String, Vec<(String, String)>), TerraError> {
        self.run(
            &[
                "init",
                &config.moniker,
                "--chain-id",
                &config.chain_id,
                "--default-denom",
                DENOM,
            ],
            None,
        )?;
        let mut accounts = Vec::new();
        for acct in std::iter::once(&config.validator).chain(&config.accounts) {
            let expected = keys::terra_address(&acct.mnemonic)?.to_string();
            let shown = self.recover_key(&acct.name, &acct.mnemonic)?;
            if shown != expected {
                return Err(TerraError::AddressMismatch {
                    name: acct.name.clone(),
                    terrad: shown,
                    expected,
                });
            }
            self.run(
                &["add-genesis-account", &shown, &format!("{}{DENOM}", acct.amount)],
                None,
            )?;
            accounts.push((acct.name.clone(), shown));
        }
        self.run(
            &[
                "gentx",
                &config.validator.name,
                &format!("{}{DENOM}", config.self_delegation),
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
        self.run(&["validate-genesis"], None)?;
        self.check_genesis_denoms()?;
        Ok((accounts[0].1.clone(), accounts))
    }

    /// `init --default-denom uluna` sets these; a future terrad that stops
    /// doing so must fail here, not with a confusing gentx or fee error.
    fn check_genesis_denoms(&self) -> Result<(), TerraError> {
        let path = self.home.join("config/genesis.json");
        let text = std::fs::read_to_string(&path).map_err(|source| TerraError::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
        let genesis: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TerraError::Genesis(format!("{}: {e}", path.display())))?;
        for pointer in [
            "/app_state/staking/params/bond_denom",
            "/app_state/mint/params/mint_denom",
            "/app_state/crisis/constant_fee/denom",
            "/app_state/gov/params/min_deposit/0/denom",
        ] {
            let got = genesis.pointer(pointer).and_then(|v| v.as_str());
            if got != Some(DENOM) {
                return Err(TerraError::Genesis(format!(
                    "{}: {pointer} is {got:?}, expected {DENOM:?}",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Loopback listeners on the chosen ports, fast blocks, gas prices,
    /// client defaults pointing at this node.
    fn configure(&self, config: &TerraConfig, ports: &TerraPorts) -> Result<(), TerraError> {
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
) -> Result<String, TerraError> {
    Setup { terrad, home }.recover_key(name, mnemonic)
}
