//! Hermes (`ibc-relayer-cli` 1.11), the reference IBC relayer, driven against
//! localnets: config, keys, clients, connections, channels, ICS-20
//! transfers and a managed `hermes start`.
//!
//! Issue #5 asks that relayer operators' standard tool accepts chimerad as it
//! accepts any Cosmos SDK chain, so the suites relay with the real Hermes
//! binary (`scripts/setup hermes`, version pinned by ../shared/DESIGN.md §4),
//! never with our own relayer. Every Hermes call is a process: one-shot
//! commands run with `--json` (their last stdout line is the
//! `{"result":..,"status":..}` object parsed here) in their own process
//! group under a deadline, and `hermes start` is a [`ManagedProcess`]. The
//! config, key store, and every command's output live in one home directory
//! (kept when a test fails), so a failing run can be replayed by hand with
//! `hermes --config <home>/config.toml ...`.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cosmrs::tendermint::crypto::default::Sha256;
use cosmrs::tendermint::crypto::Sha256 as _;
use serde_json::Value;

use crate::bins::{self, BinaryMissing};
use crate::chimera::{self, ChimeraNet};
use crate::home::{HomeError, NodeHome};
use crate::http;
use crate::keys::{self, KeyError};
use crate::ports;
use crate::process::{self, ManagedProcess, ProcessError, ProcessSpec};
use crate::terra::{SdkDaemon, SdkLocalnet, TerraLocalnet};

/// The Hermes version the harness is written for.
///
/// Why: 1.12+ cannot be built here (../shared/DESIGN.md §4) and config keys
/// differ between minor versions; a different binary must fail loudly.
pub const HERMES_VERSION: &str = "1.11.";

/// Key name of the relayer's own account on every chain (pays relaying fees).
pub const RELAYER_KEY: &str = "relayer";

/// Mnemonic of the relayer account on every chain: BIP-39 of the 32 bytes
/// `chimera-e2e-hermes-relayer-key!!` (test material, never fund it anywhere
/// real).
///
/// Why: a funded account separate from the test's users, so a user's balance
/// changes only by what the user itself sends and pays.
pub const RELAYER_MNEMONIC: &str = "gloom drive forget slab champion note network erosion coin drip frame \
     suspect fire note sister pulse gesture sleep frame food rent route loyal cave";

/// Mnemonic of an account nobody funds: BIP-39 of the 32 bytes
/// `chimera-e2e-hermes-recipient-0!!`.
///
/// Why: a transfer's receiver whose balance is exactly what arrived.
pub const RECIPIENT_MNEMONIC: &str = "gloom drive forget slab champion note network erosion coin drip frame \
     suspect fire note sister property harvest local flock table drift object loyal caution";

/// The ICS-20 port.
pub const TRANSFER_PORT: &str = "transfer";

/// The ICS-20 channel version.
pub const TRANSFER_VERSION: &str = "ics20-1";

/// `chimera_host::state::proof_specs()` (`[jmt::ics23_spec(),
/// app_hash_spec()]`) in the proto-JSON form Hermes's `proof_specs` config
/// key parses (`ibc-relayer` `config::proof_specs`: a string holding the
/// serde JSON of `Vec<ics23::ProofSpec>`, i.e. pbjson: camelCase fields,
/// enum names, base64 bytes, zero values omitted).
///
/// Spec 0, the JMT (jmt 0.12 `ics23_spec`): leaf `sha256(prefix ‖
/// sha256(key) ‖ sha256(value))` with prefix `JMT::LeafNode`; binary inner
/// nodes `sha256("JMT::IntrnalNode" ‖ left ‖ right)` (prefix exactly 16
/// bytes), 32-byte children, empty child `SPARSE_MERKLE_PLACEHOLDER_HASH__`,
/// depth ≤ 64, keys compared after hashing (the tree is ordered by
/// `sha256(key)`). Spec 1, the app hash: one leaf `sha256("ChimeraAppHash" ‖
/// "ibc" ‖ jmt_root)`, no inner nodes (depth ≤ 1).
///
/// Why: Hermes puts these specs into every 07-tendermint client of chimerad
/// it creates; the counterparty verifies our proofs with exactly them. The
/// default (IAVL + tendermint) would reject every chimerad proof. The e2e
/// crate cannot link `chimera-host`, so this is a copy: `hermes_chimera.rs`
/// checks that Terra's client of chimerad stores it, and any drift from the
/// host's specs fails that test's connection handshake (Terra's ibc-go
/// verifies chimerad's proofs with exactly these specs).
pub const CHIMERA_PROOF_SPECS_JSON: &str = concat!(
    r#"[{"leafSpec":{"hash":"SHA256","prehashKey":"SHA256","prehashValue":"SHA256","#,
    r#""prefix":"Sk1UOjpMZWFmTm9kZQ=="},"innerSpec":{"childOrder":[0,1],"childSize":32,"#,
    r#""minPrefixLength":16,"maxPrefixLength":16,"#,
    r#""emptyChild":"U1BBUlNFX01FUktMRV9QTEFDRUhPTERFUl9IQVNIX18=","hash":"SHA256"},"#,
    r#""maxDepth":64,"prehashKeyBeforeComparison":true},"#,
    r#"{"leafSpec":{"hash":"SHA256","prefix":"Q2hpbWVyYUFwcEhhc2g="},"#,
    r#""innerSpec":{"childOrder":[0,1],"childSize":32,"hash":"SHA256"},"maxDepth":1}]"#
);

/// The gas price (uluna) Hermes pays on Terra Classic.
///
/// Why: terrad v3.4 enforces Terra Classic's fixed minimum gas prices
/// (28.325uluna, 0.75uusd, ...) in CheckTx whatever the node's
/// `minimum-gas-prices` says: a tx at the localnet's 0.015uluna is refused
/// with `insufficient fees; ... required: ...3303262uluna...(gas)`.
pub const TERRA_GAS_PRICE: f64 = 28.325;

/// Name of `hermes start`'s log in the Hermes home.
pub const HERMES_LOG: &str = "hermes.log";

/// Name of the log of every one-shot command (command line, output, exit) in
/// the Hermes home.
pub const COMMANDS_LOG: &str = "commands.log";

/// Default deadline of one one-shot command.
///
/// Why: creating a connection is four transactions and several client
/// updates, about 10-30 s on 0.5 s blocks; a hung Hermes must still end the
/// test.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(240);

/// Trusting period of every client: two thirds of the 21-day unbonding time
/// both chimerad (`Params::unbonding_time_secs`) and a default `terrad init`
/// genesis use.
///
/// Why: Hermes's own default rule (2/3 of unbonding), written out so the
/// config shows it.
pub const TRUSTING_PERIOD: Duration = Duration::from_secs(14 * 24 * 3600);

/// Environment variable that sets Hermes's `log_level` (default `info`).
///
/// Why: `debug` shows every query and tx Hermes makes, to find where a
/// handshake spends its time, without editing the harness.
pub const LOG_LEVEL_ENV: &str = "CHIMERA_E2E_HERMES_LOG";

fn log_level() -> String {
    std::env::var(LOG_LEVEL_ENV)
        .ok()
        .filter(|v| ["error", "warn", "info", "debug", "trace"].contains(&v.as_str()))
        .unwrap_or_else(|| "info".into())
}

/// `sha256("ics20-1" ‖ 0x00 ‖ "port/channel")[..20]`: ibc-go's
/// `types.GetEscrowAddress`, the account holding a channel's escrowed
/// tokens, in bech32 with `prefix`.
///
/// Why: tests check that escrow holds exactly what left and nothing after a
/// return or refund.
pub fn escrow_address(port: &str, channel: &str, prefix: &str) -> Result<String, KeyError> {
    let mut pre = TRANSFER_VERSION.as_bytes().to_vec();
    pre.push(0);
    pre.extend_from_slice(format!("{port}/{channel}").as_bytes());
    let hash = Sha256::digest(&pre);
    cosmrs::AccountId::new(prefix, &hash[..20])
        .map(|a| a.to_string())
        .map_err(|e| KeyError::Derive {
            path: format!("escrow {port}/{channel}"),
            message: e.to_string(),
        })
}

/// The voucher denom of `trace_path` (e.g. `transfer/channel-0/uluna`):
/// `ibc/` + upper-case hex of its SHA-256, as ICS-20 names it.
///
/// Why: tests compute the denom a transfer must produce instead of reading
/// it from the chain under test.
pub fn ibc_denom(trace_path: &str) -> String {
    format!("ibc/{}", hex::encode_upper(Sha256::digest(trace_path.as_bytes())))
}

/// How Hermes learns of new blocks and IBC events of a chain.
///
/// Why: a chain-config choice operators must make; both are supported by
/// CometBFT 0.37 and 0.38 (see `docs/operators.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSource {
    /// WebSocket subscription to `/websocket` (events as blocks commit).
    Push {
        /// Delay to batch events of one block.
        batch_delay: Duration,
    },
    /// Polling `/block_results` of every new height.
    Pull {
        /// Poll interval.
        interval: Duration,
    },
}

/// A signing key to import into Hermes's key store for one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HermesKey {
    /// Key name (`--key-name`).
    pub name: String,
    /// 24-word BIP-39 mnemonic.
    pub mnemonic: String,
}

/// One `[[chains]]` entry of Hermes's config (type `CosmosSdk`) plus the
/// keys and HD path to import for it.
///
/// Why: built from a running localnet by [`HermesChain::terra`] or
/// [`HermesChain::chimera`]; tests may change any field before
/// [`Hermes::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct HermesChain {
    /// Chain id.
    pub id: String,
    /// CometBFT RPC, `http://127.0.0.1:<port>`.
    pub rpc_addr: String,
    /// Cosmos SDK gRPC, `http://127.0.0.1:<port>`.
    pub grpc_addr: String,
    /// Event source mode.
    pub event_source: EventSource,
    /// Bech32 account prefix.
    pub account_prefix: String,
    /// IBC commitment prefix (store key) of the chain.
    pub store_prefix: String,
    /// Gas price Hermes pays.
    pub gas_price: f64,
    /// Fee denom.
    pub gas_denom: String,
    /// Gas used when simulation fails.
    pub default_gas: u64,
    /// Largest gas limit Hermes asks for.
    pub max_gas: u64,
    /// Factor over simulated gas.
    pub gas_multiplier: f64,
    /// Client trusting period for clients of this chain.
    pub trusting_period: Duration,
    /// Allowed clock drift.
    pub clock_drift: Duration,
    /// Maximum block time Hermes assumes. 5 s in the harness: Hermes
    /// retries each handshake step every `max_block_time / 5`, so the
    /// production value (30 s, ibc's `max_expected_time_per_block`) would
    /// add 6 s per step on 0.5 s localnet blocks.
    pub max_block_time: Duration,
    /// CometBFT RPC compatibility, `0.34`, `0.37` or `0.38`.
    pub compat_mode: String,
    /// `proof_specs` JSON (None: Hermes's default IAVL + tendermint).
    pub proof_specs: Option<String>,
    /// HD path of every key of this chain.
    pub hd_path: String,
    /// Keys to import; the first is the relayer key (`key_name`).
    pub keys: Vec<HermesKey>,
}

impl HermesChain {
    /// Hermes's view of a running Terra Classic localnet: `terra` prefix,
    /// coin type 330, `uluna` at the node's minimum gas price, CometBFT 0.37
    /// RPC, IAVL proof specs (Hermes's default), push events; keys: the
    /// relayer, then the localnet's genesis accounts by name.
    ///
    /// Why: Terra Classic v3.4 is the chain Chimera's users come from.
    pub fn terra(net: &TerraLocalnet) -> Self {
        Self::sdk(net, TERRA_GAS_PRICE, "0.37")
    }

    /// Hermes's view of any running SDK localnet (`terrad`, ibc-go `simd`):
    /// the daemon's prefix, coin type and denom at `gas_price`, CometBFT
    /// `compat_mode` RPC, IAVL proof specs, push events; keys: the relayer,
    /// then the localnet's genesis accounts by name.
    pub fn sdk<D: SdkDaemon>(net: &SdkLocalnet<D>, gas_price: f64, compat_mode: &str) -> Self {
        let cfg = net.config();
        let keys = std::iter::once(HermesKey {
            name: RELAYER_KEY.into(),
            mnemonic: RELAYER_MNEMONIC.into(),
        })
        .chain(
            std::iter::once(&cfg.validator)
                .chain(&cfg.accounts)
                .filter(|a| a.name != RELAYER_KEY)
                .map(|a| HermesKey {
                    name: a.name.clone(),
                    mnemonic: a.mnemonic.clone(),
                }),
        )
        .collect();
        Self {
            id: net.chain_id().into(),
            rpc_addr: net.rpc_url(),
            grpc_addr: net.grpc_url(),
            event_source: EventSource::Push {
                batch_delay: Duration::from_millis(200),
            },
            account_prefix: D::PREFIX.into(),
            store_prefix: "ibc".into(),
            gas_price,
            gas_denom: D::DENOM.into(),
            default_gas: 200_000,
            max_gas: 3_000_000,
            gas_multiplier: 1.3,
            trusting_period: TRUSTING_PERIOD,
            clock_drift: Duration::from_secs(5),
            max_block_time: Duration::from_secs(5),
            compat_mode: compat_mode.into(),
            proof_specs: None,
            hd_path: keys::hd_path(D::COIN_TYPE, 0),
            keys,
        }
    }

    /// Hermes's view of a running chimerad localnet (node 0): `chimera`
    /// prefix, coin type 118, 0.025 `uchim`, CometBFT 0.38 RPC, store
    /// prefix `ibc` with [`CHIMERA_PROOF_SPECS_JSON`], push events; keys: the
    /// relayer and `user` ([`keys::USER_MNEMONIC`]).
    ///
    /// Why: the chain config `docs/operators.md` tells operators to use.
    pub fn chimera(net: &ChimeraNet) -> Result<Self, chimera::ChimeraError> {
        let ports = net.ports(0)?;
        Ok(Self {
            id: net.chain_id().into(),
            rpc_addr: net.rpc_url(0)?,
            grpc_addr: format!("http://{}", ports::loopback(ports.grpc)),
            event_source: EventSource::Push {
                batch_delay: Duration::from_millis(200),
            },
            account_prefix: chimera::CHIMERA_PREFIX.into(),
            store_prefix: "ibc".into(),
            gas_price: chimera::MIN_GAS_PRICE.0 as f64 / chimera::MIN_GAS_PRICE.1 as f64,
            gas_denom: chimera::DENOM.into(),
            default_gas: 400_000,
            max_gas: 10_000_000,
            gas_multiplier: 1.3,
            trusting_period: TRUSTING_PERIOD,
            clock_drift: Duration::from_secs(5),
            max_block_time: Duration::from_secs(5),
            compat_mode: "0.38".into(),
            proof_specs: Some(CHIMERA_PROOF_SPECS_JSON.into()),
            hd_path: keys::hd_path(chimera::CHIMERA_COIN_TYPE, 0),
            keys: vec![
                HermesKey {
                    name: RELAYER_KEY.into(),
                    mnemonic: RELAYER_MNEMONIC.into(),
                },
                HermesKey {
                    name: "user".into(),
                    mnemonic: keys::USER_MNEMONIC.into(),
                },
            ],
        })
    }

    /// The CometBFT WebSocket URL, `ws://host:port/websocket`.
    pub fn websocket_addr(&self) -> String {
        let rest = self
            .rpc_addr
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        format!("ws://{rest}/websocket")
    }

    /// The `[[chains]]` TOML block, with its key store in `key_store`.
    ///
    /// Why: also printed into `docs/operators.md` form by tests, so the
    /// documented block and the tested one are the same text.
    pub fn to_toml(&self, key_store: &Path) -> String {
        let mut s = String::new();
        let relayer_key = self.keys.first().map_or(RELAYER_KEY, |k| k.name.as_str());
        let event_source = match &self.event_source {
            EventSource::Push { batch_delay } => format!(
                "{{ mode = 'push', url = '{}', batch_delay = '{}ms' }}",
                self.websocket_addr(),
                batch_delay.as_millis()
            ),
            EventSource::Pull { interval } => {
                format!("{{ mode = 'pull', interval = '{}ms' }}", interval.as_millis())
            }
        };
        let _ = writeln!(s, "[[chains]]");
        let _ = writeln!(s, "id = '{}'", self.id);
        let _ = writeln!(s, "type = 'CosmosSdk'");
        let _ = writeln!(s, "rpc_addr = '{}'", self.rpc_addr);
        let _ = writeln!(s, "grpc_addr = '{}'", self.grpc_addr);
        let _ = writeln!(s, "event_source = {event_source}");
        let _ = writeln!(s, "rpc_timeout = '10s'");
        let _ = writeln!(s, "trusted_node = false");
        let _ = writeln!(s, "account_prefix = '{}'", self.account_prefix);
        let _ = writeln!(s, "key_name = '{relayer_key}'");
        let _ = writeln!(s, "key_store_type = 'Test'");
        let _ = writeln!(s, "key_store_folder = '{}'", key_store.display());
        let _ = writeln!(s, "store_prefix = '{}'", self.store_prefix);
        let _ = writeln!(s, "default_gas = {}", self.default_gas);
        let _ = writeln!(s, "max_gas = {}", self.max_gas);
        let _ = writeln!(s, "gas_multiplier = {}", self.gas_multiplier);
        let _ = writeln!(s, "max_msg_num = 30");
        let _ = writeln!(s, "max_tx_size = 180000");
        let _ = writeln!(s, "clock_drift = '{}s'", self.clock_drift.as_secs());
        let _ = writeln!(s, "max_block_time = '{}s'", self.max_block_time.as_secs());
        let _ = writeln!(s, "trusting_period = '{}s'", self.trusting_period.as_secs());
        let _ = writeln!(s, "compat_mode = '{}'", self.compat_mode);
        let _ = writeln!(s, "memo_prefix = ''");
        if let Some(specs) = &self.proof_specs {
            let _ = writeln!(s, "proof_specs = '''{specs}'''");
        }
        let _ = writeln!(s, "trust_threshold = '2/3'");
        let _ = writeln!(
            s,
            "gas_price = {{ price = {}, denom = '{}' }}",
            self.gas_price, self.gas_denom
        );
        let _ = writeln!(s, "address_type = {{ derivation = 'cosmos' }}");
        s
    }
}

/// Why Hermes could not be set up or a Hermes command failed.
#[derive(Debug, thiserror::Error)]
pub enum HermesError {
    /// The binary is not installed.
    #[error(transparent)]
    Binary(#[from] BinaryMissing),
    /// The installed binary is another version.
    #[error("{binary} reports {got:?}; the harness needs Hermes {HERMES_VERSION}x (scripts/setup hermes)")]
    Version {
        /// The binary.
        binary: PathBuf,
        /// What `hermes version` printed.
        got: String,
    },
    /// The home directory is unusable.
    #[error("hermes: {0}")]
    Home(#[from] HomeError),
    /// `hermes start` failed to start, become ready or stop.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A command answered `"status": "error"` or exited non-zero.
    #[error("`{command}` failed ({exit}): {message}\n--- last lines of its output ({log}) ---\n{tail}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        exit: String,
        /// Hermes's error result (or the reason no result came).
        message: String,
        /// Where the whole output is.
        log: String,
        /// The last lines of its output.
        tail: String,
    },
    /// A command did not finish in time (its process group was killed).
    #[error(
        "`{command}` did not finish within {timeout:?}\n--- last lines of its output ({log}) ---\n{tail}"
    )]
    Timeout {
        /// The command line.
        command: String,
        /// The deadline.
        timeout: Duration,
        /// Where the whole output is.
        log: String,
        /// The last lines of its output.
        tail: String,
    },
    /// A result did not hold what the command should return.
    #[error("`{command}`: unexpected result: {detail}: {result}")]
    Result {
        /// The command line.
        command: String,
        /// What was missing.
        detail: String,
        /// The result JSON.
        result: String,
    },
    /// No chain with this id in the config.
    #[error("hermes: no chain {0:?} in the config")]
    UnknownChain(String),
    /// Any other I/O failure.
    #[error("hermes: {context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a successful one-shot command returned.
#[derive(Debug, Clone)]
pub struct HermesOutput {
    /// The `result` field of Hermes's JSON answer.
    pub result: Value,
    /// Hermes's whole stdout (JSON log lines and the answer).
    pub stdout: String,
}

/// Both ends of a connection or channel, as `create` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ends {
    /// The identifier on chain `a`.
    pub a: String,
    /// The identifier on chain `b`.
    pub b: String,
}

/// One ICS-20 transfer for [`Hermes::ft_transfer`].
#[derive(Debug, Clone)]
pub struct FtTransfer {
    /// Source chain id.
    pub src_chain: String,
    /// Destination chain id.
    pub dst_chain: String,
    /// Source channel (port is [`TRANSFER_PORT`]).
    pub src_channel: String,
    /// Amount.
    pub amount: u128,
    /// Denom on the source chain (a base denom or `ibc/...`).
    pub denom: String,
    /// Hermes key on the source chain that sends and pays.
    pub key_name: String,
    /// Receiver on the destination chain.
    pub receiver: String,
    /// Timeout in destination blocks from its latest height (0: none).
    pub timeout_height_offset: u64,
    /// Timeout in seconds from now (0: none).
    pub timeout_seconds: u64,
}

/// A packet `tx ft-transfer` sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPacket {
    /// Packet sequence on its channel.
    pub sequence: u64,
    /// Height (revision height) of the block that included the send.
    pub height: u64,
    /// The packet's timeout height (revision height, 0 if none).
    pub timeout_height: u64,
}

/// A Hermes home: config, key store, logs; and, while relaying, the
/// `hermes start` process. Dropping it stops the process; the home is
/// removed unless the test failed or `CHIMERA_E2E_KEEP=1`.
///
/// Why: one value per test that owns everything Hermes does.
#[derive(Debug)]
pub struct Hermes {
    // Field order matters: the relayer stops before the home is removed.
    relayer: Option<ManagedProcess>,
    home: NodeHome,
    binary: PathBuf,
    config_path: PathBuf,
    chains: Vec<HermesChain>,
    telemetry_port: u16,
    command_timeout: Duration,
    commands_run: u32,
    complete_handshakes: bool,
}

impl Hermes {
    /// Finds the binary (checking its version), writes `config.toml` for
    /// `chains` in a fresh home, validates it with `hermes config validate`
    /// and imports every chain's keys.
    ///
    /// Why: after this, any Hermes command can run against the chains.
    pub fn new(chains: Vec<HermesChain>) -> Result<Self, HermesError> {
        let binary = bins::find_binary("hermes")?;
        let version = Command::new(&binary)
            .arg("version")
            .env("HOME", std::env::temp_dir())
            .output()
            .map_err(|source| HermesError::Io {
                context: format!("running {} version", binary.display()),
                source,
            })?;
        let text =
            String::from_utf8_lossy(&version.stdout).into_owned() + &String::from_utf8_lossy(&version.stderr);
        if !text.contains(&format!("hermes {HERMES_VERSION}")) {
            return Err(HermesError::Version {
                binary,
                got: text.trim().to_string(),
            });
        }
        let home = NodeHome::fresh("hermes")?;
        let telemetry_port = ports::free_port().map_err(|source| HermesError::Io {
            context: "picking a telemetry port".into(),
            source,
        })?;
        let mut hermes = Self {
            relayer: None,
            config_path: home.path().join("config.toml"),
            home,
            binary,
            chains,
            telemetry_port,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            commands_run: 0,
            complete_handshakes: false,
        };
        let config = hermes.config_toml();
        std::fs::write(&hermes.config_path, config).map_err(|source| HermesError::Io {
            context: format!("writing {}", hermes.config_path.display()),
            source,
        })?;
        hermes.run(&["config", "validate"])?;
        for chain in hermes.chains.clone() {
            for key in &chain.keys {
                hermes.add_key(&chain.id, key, &chain.hd_path)?;
            }
        }
        Ok(hermes)
    }

    /// The whole config file.
    ///
    /// Why: written by [`new`](Self::new); tests print it into their report.
    pub fn config_toml(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "# Written by chimera-e2e (e2e/src/hermes.rs) for Hermes {HERMES_VERSION}x\n\
             [global]\nlog_level = '{}'\n\n\
             [mode.clients]\nenabled = true\nrefresh = true\nmisbehaviour = false\n\n\
             [mode.connections]\nenabled = false\n\n\
             [mode.channels]\nenabled = {}\n\n\
             [mode.packets]\nenabled = true\nclear_interval = 100\nclear_on_start = true\n\
             tx_confirmation = false\n\n\
             [telemetry]\nenabled = true\nhost = '127.0.0.1'\nport = {}\n\n",
            log_level(),
            self.complete_handshakes,
            self.telemetry_port
        );
        let key_store = self.home.path().join("keys");
        for chain in &self.chains {
            s.push_str(&chain.to_toml(&key_store));
            s.push('\n');
        }
        s
    }

    /// Turns on `[mode.channels]` (rewriting the config; takes effect at
    /// the next `hermes start`): Hermes then finishes channel handshakes
    /// that a chain starts by itself, such as an ICS-27 controller's
    /// `MsgRegisterInterchainAccount`.
    pub fn complete_handshakes(&mut self) -> Result<(), HermesError> {
        self.complete_handshakes = true;
        std::fs::write(&self.config_path, self.config_toml()).map_err(|source| HermesError::Io {
            context: format!("writing {}", self.config_path.display()),
            source,
        })
    }

    /// Imports `key` for `chain` with `hermes keys add --mnemonic-file`.
    pub fn add_key(&mut self, chain: &str, key: &HermesKey, hd_path: &str) -> Result<String, HermesError> {
        let file = self
            .home
            .path()
            .join(format!("mnemonic-{chain}-{}.txt", key.name));
        std::fs::write(&file, &key.mnemonic).map_err(|source| HermesError::Io {
            context: format!("writing {}", file.display()),
            source,
        })?;
        let file = file.display().to_string();
        let out = self.run(&[
            "keys",
            "add",
            "--chain",
            chain,
            "--key-name",
            &key.name,
            "--hd-path",
            hd_path,
            "--mnemonic-file",
            &file,
            "--overwrite",
        ])?;
        Ok(out.result.as_str().unwrap_or_default().to_string())
    }

    /// Runs `hermes --json --config <config> ARGS` to completion (at most
    /// the command timeout) and returns its result, or an error with
    /// Hermes's message and output tail.
    ///
    /// Why: every one-shot Hermes call goes through here, so all are logged
    /// to `commands.log` the same way and none can hang a test.
    pub fn run(&mut self, args: &[&str]) -> Result<HermesOutput, HermesError> {
        self.commands_run += 1;
        let verb: String = args
            .iter()
            .take_while(|a| !a.starts_with('-'))
            .take(2)
            .copied()
            .collect::<Vec<_>>()
            .join("-");
        let out_path = self
            .home
            .path()
            .join(format!("cmd-{:03}-{verb}.log", self.commands_run));
        let config = self.config_path.display().to_string();
        let full: Vec<&str> = ["--json", "--config", config.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let command = format!("{} {}", self.binary.display(), full.join(" "));
        let io = |context: String| move |source| HermesError::Io { context, source };
        let out_file = File::create(&out_path).map_err(io(format!("creating {}", out_path.display())))?;
        let err_file = out_file
            .try_clone()
            .map_err(io(format!("cloning {}", out_path.display())))?;
        let mut child = Command::new(&self.binary)
            .args(&full)
            .env("HOME", self.home.path())
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(out_file)
            .stderr(err_file)
            .process_group(0)
            .spawn()
            .map_err(io(format!("starting `{command}`")))?;
        let deadline = Instant::now() + self.command_timeout;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(io(format!("waiting for `{command}`")))? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                // SAFETY: kill(2) of the group this call created.
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        self.log_command(&command, status.map(|s| s.to_string()).as_deref(), &stdout);
        let tail = || process::log_tail(&out_path, 25);
        let log = out_path.display().to_string();
        let Some(status) = status else {
            return Err(HermesError::Timeout {
                command,
                timeout: self.command_timeout,
                log,
                tail: tail(),
            });
        };
        let answer = stdout.lines().rev().find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("status").is_some() && v.get("result").is_some())
        });
        match answer {
            // Some commands (`create client`) answer "success" with an
            // error inside, e.g. `{"ChainError": "..."}`.
            Some(v) if v["status"] == "success" && status.success() && !is_error_result(&v["result"]) => {
                Ok(HermesOutput {
                    result: v["result"].clone(),
                    stdout,
                })
            }
            Some(v) => Err(HermesError::Failed {
                command,
                exit: status.to_string(),
                message: match &v["result"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                log,
                tail: tail(),
            }),
            None => Err(HermesError::Failed {
                command,
                exit: status.to_string(),
                message: "no JSON result on stdout".into(),
                log,
                tail: tail(),
            }),
        }
    }

    fn log_command(&self, command: &str, status: Option<&str>, output: &str) {
        let path = self.home.path().join(COMMANDS_LOG);
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(
                f,
                "$ {command}\n{}\n[{}]\n",
                output.trim_end(),
                status.unwrap_or("killed: timeout")
            );
        }
    }

    /// `hermes create client --host-chain HOST --reference-chain REFERENCE`;
    /// returns the new client's id on `host`.
    pub fn create_client(&mut self, host: &str, reference: &str) -> Result<String, HermesError> {
        let args = [
            "create",
            "client",
            "--host-chain",
            host,
            "--reference-chain",
            reference,
        ];
        let out = self.run(&args)?;
        string_at(&out.result, "client_id").ok_or_else(|| result_error(&args, "no client_id", &out.result))
    }

    /// `hermes create connection --a-chain A --a-client CA --b-client CB`;
    /// returns the connection ids on both sides.
    pub fn create_connection(
        &mut self,
        a_chain: &str,
        a_client: &str,
        b_client: &str,
    ) -> Result<Ends, HermesError> {
        let args = [
            "create",
            "connection",
            "--a-chain",
            a_chain,
            "--a-client",
            a_client,
            "--b-client",
            b_client,
        ];
        let out = self.run(&args)?;
        ends(&out.result, "connection_id")
            .ok_or_else(|| result_error(&args, "no connection ids", &out.result))
    }

    /// `hermes create channel --a-chain A --a-connection CONN --a-port
    /// transfer --b-port transfer` (unordered, `ics20-1`); returns the
    /// channel ids on both sides.
    pub fn create_transfer_channel(
        &mut self,
        a_chain: &str,
        a_connection: &str,
    ) -> Result<Ends, HermesError> {
        let args = [
            "create",
            "channel",
            "--a-chain",
            a_chain,
            "--a-connection",
            a_connection,
            "--a-port",
            TRANSFER_PORT,
            "--b-port",
            TRANSFER_PORT,
            "--channel-version",
            TRANSFER_VERSION,
        ];
        let out = self.run(&args)?;
        ends(&out.result, "channel_id").ok_or_else(|| result_error(&args, "no channel ids", &out.result))
    }

    /// `hermes create channel --a-chain A --a-connection CONN --a-port PORT
    /// --b-port PORT --channel-version VERSION --order ORDER` (`ordered` or
    /// `unordered`); returns the channel ids on both sides.
    ///
    /// Why: applications other than ICS-20 (Chimera's `inference` port)
    /// open their channels the same way.
    pub fn create_channel(
        &mut self,
        a_chain: &str,
        a_connection: &str,
        port: &str,
        version: &str,
        order: &str,
    ) -> Result<Ends, HermesError> {
        self.create_channel_between(a_chain, a_connection, port, port, version, order)
    }

    /// [`create_channel`](Self::create_channel) between two different
    /// ports, e.g. a CosmWasm contract's `wasm.<address>` and `inference`.
    pub fn create_channel_between(
        &mut self,
        a_chain: &str,
        a_connection: &str,
        port_a: &str,
        port_b: &str,
        version: &str,
        order: &str,
    ) -> Result<Ends, HermesError> {
        let args = [
            "create",
            "channel",
            "--a-chain",
            a_chain,
            "--a-connection",
            a_connection,
            "--a-port",
            port_a,
            "--b-port",
            port_b,
            "--channel-version",
            version,
            "--order",
            order,
        ];
        let out = self.run(&args)?;
        ends(&out.result, "channel_id").ok_or_else(|| result_error(&args, "no channel ids", &out.result))
    }

    /// `hermes tx ft-transfer` of one packet; returns what was sent.
    ///
    /// Why: the ICS-20 send as an operator's tool signs and submits it.
    pub fn ft_transfer(&mut self, t: &FtTransfer) -> Result<SentPacket, HermesError> {
        let amount = t.amount.to_string();
        let height_offset = t.timeout_height_offset.to_string();
        let seconds = t.timeout_seconds.to_string();
        let args = [
            "tx",
            "ft-transfer",
            "--src-chain",
            &t.src_chain,
            "--dst-chain",
            &t.dst_chain,
            "--src-port",
            TRANSFER_PORT,
            "--src-channel",
            &t.src_channel,
            "--amount",
            &amount,
            "--denom",
            &t.denom,
            "--key-name",
            &t.key_name,
            "--receiver",
            &t.receiver,
            "--timeout-height-offset",
            &height_offset,
            "--timeout-seconds",
            &seconds,
        ];
        let out = self.run(&args)?;
        let send = find_key(&out.result, "SendPacket")
            .ok_or_else(|| result_error(&args, "no SendPacket event", &out.result))?;
        let sequence =
            u64_at(send, "sequence").ok_or_else(|| result_error(&args, "no sequence", &out.result))?;
        let timeout_height = find_key(send, "timeout_height")
            .and_then(|h| u64_at(h, "revision_height"))
            .unwrap_or(0);
        let height = out
            .result
            .as_array()
            .and_then(|a| a.first())
            .and_then(|e| e.get("height"))
            .and_then(|h| u64_at(h, "revision_height"))
            .unwrap_or(0);
        Ok(SentPacket {
            sequence,
            height,
            timeout_height,
        })
    }

    /// `hermes health-check` for every chain; returns (chain, reason) for
    /// each chain Hermes found unhealthy or misconfigured (empty: all
    /// healthy).
    ///
    /// Why: Hermes runs the same checks at `start` and only warns, so a
    /// chain that answers some query wrongly would otherwise go unnoticed.
    pub fn health_check(&mut self) -> Result<Vec<(String, String)>, HermesError> {
        let out = self.run(&["health-check"])?;
        let mut found = Vec::new();
        for line in out.stdout.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if v["level"] != "WARN" && v["level"] != "ERROR" {
                continue;
            }
            let message = v["fields"]["message"].as_str().unwrap_or_default();
            let chain = find_key(&v["spans"], "chain")
                .or_else(|| find_key(&v["span"], "chain"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            if message.starts_with("reason:") || v["level"] == "ERROR" {
                found.push((chain, message.to_string()));
            }
        }
        Ok(found)
    }

    /// `hermes clear packets --chain C --port transfer --channel CH`:
    /// relays every pending packet and ack of the channel, both ways, and
    /// times out packets whose timeout has passed.
    pub fn clear_packets(&mut self, chain: &str, channel: &str) -> Result<HermesOutput, HermesError> {
        self.run(&[
            "clear",
            "packets",
            "--chain",
            chain,
            "--port",
            TRANSFER_PORT,
            "--channel",
            channel,
        ])
    }

    /// `hermes tx packet-recv --dst-chain DST --src-chain SRC --src-port
    /// transfer --src-channel CH`: delivers pending packets to `dst`, or
    /// sends `MsgTimeout` back to `src` for those that timed out.
    pub fn packet_recv(
        &mut self,
        dst: &str,
        src: &str,
        src_channel: &str,
    ) -> Result<HermesOutput, HermesError> {
        self.run(&[
            "tx",
            "packet-recv",
            "--dst-chain",
            dst,
            "--src-chain",
            src,
            "--src-port",
            TRANSFER_PORT,
            "--src-channel",
            src_channel,
        ])
    }

    /// Starts `hermes start` (own process group, log `hermes.log`) and waits
    /// for its "Hermes has started" line and telemetry port.
    ///
    /// Why: the relayer operators run, relaying packets as they are sent.
    pub fn start(&mut self, timeout: Duration) -> Result<(), HermesError> {
        if self.relayer.is_some() {
            return Ok(());
        }
        let spec = ProcessSpec::new("hermes start", &self.binary, self.home.path().join(HERMES_LOG))
            .arg("--config")
            .arg(&self.config_path)
            .arg("start")
            .env("HOME", self.home.path())
            .env("RUST_BACKTRACE", "1")
            .cwd(self.home.path());
        let mut p = ManagedProcess::spawn(spec)?;
        p.wait_for_log_line("Hermes has started", timeout)?;
        p.wait_for_port(ports::loopback(self.telemetry_port), timeout)?;
        self.relayer = Some(p);
        Ok(())
    }

    /// Stops `hermes start` if it runs.
    ///
    /// Why: tests stop relaying to let a packet time out.
    pub fn stop(&mut self) -> Result<(), HermesError> {
        if let Some(mut p) = self.relayer.take() {
            p.stop()?;
        }
        Ok(())
    }

    /// The pid of `hermes start`, while it runs.
    ///
    /// Why: benchmarks read its peak memory from `/proc`.
    pub fn pid(&self) -> Option<u32> {
        self.relayer.as_ref().map(ManagedProcess::pid)
    }

    /// Whether `hermes start` runs (and has not exited).
    pub fn is_running(&mut self) -> bool {
        match self.relayer.as_mut() {
            Some(p) => matches!(p.try_exit_status(), Ok(None)),
            None => false,
        }
    }

    /// The last `lines` lines of `hermes start`'s log.
    pub fn log_tail(&self, lines: usize) -> String {
        process::log_tail(&self.home.path().join(HERMES_LOG), lines)
    }

    /// Lines of `hermes start`'s log that contain `needle`.
    ///
    /// Why: tests report the first ERROR/WARN lines when relaying stalls.
    pub fn log_lines_with(&self, needle: &str) -> Vec<String> {
        std::fs::read_to_string(self.home.path().join(HERMES_LOG))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }

    /// The value of Prometheus metric `name` with label `chain="<chain>"`
    /// (summed over its other labels) from `hermes start`'s telemetry;
    /// `None` if it is not reported (yet).
    ///
    /// Why: `ws_events_total` counts the events (new blocks included) the
    /// event source received from a chain, in push and pull mode alike: the
    /// proof that Hermes follows that chain.
    pub fn metric(&self, name: &str, chain: &str) -> Option<f64> {
        let addr = ports::loopback(self.telemetry_port);
        let body = http::get(addr, "/metrics", Duration::from_secs(2)).ok()?.body;
        let label = format!("chain=\"{chain}\"");
        let values: Vec<f64> = body
            .lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{') && l.contains(&label))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// Waits until `hermes start` has received at least `count` events
    /// (`ws_events_total`) from `chain`; returns how many.
    pub fn wait_for_events(
        &mut self,
        chain: &str,
        count: f64,
        timeout: Duration,
    ) -> Result<f64, HermesError> {
        let addr = ports::loopback(self.telemetry_port);
        let label = format!("chain=\"{chain}\"");
        let p = self.relayer.as_mut().ok_or_else(|| HermesError::Io {
            context: "waiting for events".into(),
            source: std::io::Error::other("hermes start is not running"),
        })?;
        Ok(
            p.wait_until(&format!("{count} events from {chain}"), timeout, || {
                let body = http::get(addr, "/metrics", Duration::from_secs(2)).ok()?.body;
                let n: f64 = body
                    .lines()
                    .filter(|l| l.starts_with("ws_events_total{") && l.contains(&label))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum();
                (n >= count).then_some(n)
            })?,
        )
    }

    /// Changes the deadline of one-shot commands.
    pub fn set_command_timeout(&mut self, timeout: Duration) {
        self.command_timeout = timeout;
    }

    /// The chain config entry for `id`.
    pub fn chain(&self, id: &str) -> Result<&HermesChain, HermesError> {
        self.chains
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| HermesError::UnknownChain(id.into()))
    }

    /// The Hermes home (config, keys, logs).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Keeps the home after drop and returns its path.
    pub fn keep_home(&mut self) -> &Path {
        self.home.keep()
    }

    /// `config.toml`'s path.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The telemetry (Prometheus) port of `hermes start`.
    pub fn telemetry_port(&self) -> u16 {
        self.telemetry_port
    }
}

/// Whether a result is an error variant (`{"ChainError": ...}`,
/// `{"Error": ...}`): an object with one key ending in `Error`.
fn is_error_result(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.keys().all(|k| k.ends_with("Error")))
}

fn result_error(args: &[&str], detail: &str, result: &Value) -> HermesError {
    HermesError::Result {
        command: format!("hermes {}", args.join(" ")),
        detail: detail.into(),
        result: result.to_string(),
    }
}

/// The first value under `key` anywhere in `v` (depth first).
///
/// Why: Hermes's result shapes nest events and sides differently per
/// command; the harness only needs a few named fields.
pub fn find_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(key).or_else(|| m.values().find_map(|x| find_key(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

/// The event kinds in a result that lists events (`tx ...`, `clear
/// packets`), e.g. `["UpdateClient", "TimeoutPacket"]`.
///
/// Why: a short line for test reports instead of whole headers.
pub fn event_names(v: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a.iter().rev()),
            Value::Object(m) => {
                if let Some(Value::Object(event)) = m.get("event") {
                    names.extend(event.keys().cloned());
                } else if m.len() == 1 && m.keys().all(|k| k.chars().next().is_some_and(char::is_uppercase)) {
                    names.extend(m.keys().cloned());
                } else {
                    stack.extend(m.values());
                }
            }
            _ => {}
        }
    }
    names
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    find_key(v, key).and_then(Value::as_str).map(str::to_string)
}

fn u64_at(v: &Value, key: &str) -> Option<u64> {
    find_key(v, key).and_then(|x| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
}

fn ends(result: &Value, key: &str) -> Option<Ends> {
    Some(Ends {
        a: string_at(result.get("a_side")?, key)?,
        b: string_at(result.get("b_side")?, key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_mnemonics_are_valid_and_distinct() {
        let r = keys::address(RELAYER_MNEMONIC, 118, "chimera").unwrap();
        let x = keys::address(RECIPIENT_MNEMONIC, 118, "chimera").unwrap();
        assert_ne!(r, x);
        assert_ne!(
            keys::terra_address(RELAYER_MNEMONIC).unwrap(),
            keys::terra_address(keys::USER_MNEMONIC).unwrap()
        );
    }

    #[test]
    fn voucher_denom_and_escrow_address_match_ibc_go() {
        // ibc-go: `simd q ibc-transfer denom-hash transfer/channel-0/uatom`.
        assert_eq!(
            ibc_denom("transfer/channel-0/uatom"),
            "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2"
        );
        // `terrad q ibc-transfer escrow-address transfer channel-0` (v3.4.0).
        assert_eq!(
            escrow_address("transfer", "channel-0", "terra").unwrap(),
            "terra1a53udazy8ayufvy0s434pfwjcedzqv34sgc9fw"
        );
    }

    #[test]
    fn chain_block_parses_and_names_the_proof_specs() {
        let specs: Value = serde_json::from_str(CHIMERA_PROOF_SPECS_JSON).unwrap();
        assert_eq!(specs.as_array().unwrap().len(), 2);
        assert_eq!(specs[0]["maxDepth"], 64);
        assert_eq!(specs[1]["leafSpec"]["prefix"], "Q2hpbWVyYUFwcEhhc2g=");
    }

    #[test]
    fn finds_nested_keys() {
        let v: Value = serde_json::from_str(
            r#"{"a_side":{"client_id":"07-tendermint-0","connection_id":"connection-1"},
                "b_side":{"client_id":"07-tendermint-2","connection_id":"connection-3"}}"#,
        )
        .unwrap();
        assert_eq!(
            ends(&v, "connection_id"),
            Some(Ends {
                a: "connection-1".into(),
                b: "connection-3".into()
            })
        );
    }
}
