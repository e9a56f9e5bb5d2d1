//! Chimera host-chain localnets: 1..N validators, each a real `chimerad`
//! with its own real `cometbft` child, on free loopback ports.
//!
//! The harness drives the operator's commands, not internals: a single
//! validator is built with `chimerad init`, several with `chimerad testnet`
//! (one shared genesis, persistent peers), and every node runs as
//! `chimerad start --home ...`, which spawns and supervises CometBFT. Tests
//! talk to the chain only over CometBFT's RPC (`/status`, `/block`,
//! `/abci_query`, `/broadcast_tx_*`), as wallets and relayers do. Crash tests
//! kill either process with SIGKILL and restart the node.
//!
//! Until the gRPC query services land, balances and accounts are read
//! through ABCI `store/ibc/key` queries of the app's raw state keys
//! (`bank/balance/<len><address>/<denom>`, `auth/account/<len><address>`,
//! the address length-prefixed as the SDK keys it); those helpers are
//! test-only and go when gRPC arrives.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use cosmrs::bank::MsgSend;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::proto::cosmos::auth::v1beta1::BaseAccount;
use cosmrs::proto::cosmos::tx::v1beta1::TxRaw;
use cosmrs::proto::prost::Message as _;
use cosmrs::tx::{self, Fee, Msg as _, SignDoc, SignerInfo};
use cosmrs::{AccountId, Any, Coin};

use crate::bins::{self, BinaryMissing};
use crate::home::{HomeError, NodeHome};
use crate::http;
use crate::keys::{self, KeyError};
use crate::ports::{self, PortInUse};
use crate::process::{self, ManagedProcess, ProcessError, ProcessSpec};
use crate::rpc::{self, NodeStatus};

/// Default chain id of the localnet.
///
/// Why: clearly a test chain, so a signed test transaction can never be
/// replayed on a real one.
pub const DEFAULT_CHAIN_ID: &str = "chimera-localnet-1";

/// The host chain's fee and staking denom (`Params::default().fee_denom`).
pub const DENOM: &str = "uchim";

/// Bech32 prefix of host-chain accounts.
pub const CHIMERA_PREFIX: &str = "chimera";

/// Host-chain keys use the Cosmos SDK's default coin type.
pub const CHIMERA_COIN_TYPE: u32 = keys::COSMOS_COIN_TYPE;

/// The default minimum gas price, 0.025uchim, as the fraction the chain
/// stores (numerator, denominator).
pub const MIN_GAS_PRICE: (u128, u128) = (1, 40);

/// Default genesis balance of the funded test account: 1,000,000 CHIM.
pub const DEFAULT_GENESIS_AMOUNT: u128 = 1_000_000_000_000;

/// Name of `chimerad`'s log in each node home (stdout and stderr of
/// `chimerad start`).
pub const CHIMERAD_LOG: &str = "chimerad.log";

/// Name of the spawned CometBFT's log in each node home (`chimerad.toml`
/// default).
pub const COMETBFT_LOG: &str = "cometbft.log";

/// Name of the log of the set-up commands (`chimerad init` / `testnet`) in
/// the localnet's root directory.
pub const SETUP_LOG: &str = "setup.log";

/// How many ports apart consecutive nodes are in `chimerad testnet`'s
/// layout (`host/src/node/testnet.rs` `PORT_STRIDE`).
pub const PORT_STRIDE: u16 = 10;

/// How long `stop` waits after SIGTERM before SIGKILL.
///
/// Why: `chimerad` gives its CometBFT child up to 10 s after SIGTERM; the
/// harness must wait longer than that, or it kills the child mid-shutdown.
pub const NODE_STOP_GRACE: Duration = Duration::from_secs(20);

/// The fee (in [`DENOM`]) a tx with `gas_limit` must pay at the default
/// minimum gas price: `ceil(gas_limit x 0.025)`.
///
/// Why: tests pay exactly the minimum, and one less, to pin the rule.
pub fn required_fee(gas_limit: u64) -> u128 {
    (u128::from(gas_limit) * MIN_GAS_PRICE.0).div_ceil(MIN_GAS_PRICE.1)
}

/// The host-chain address (`chimera1...`, coin type 118) of `mnemonic`.
pub fn chimera_address(mnemonic: &str) -> Result<AccountId, KeyError> {
    keys::address(mnemonic, CHIMERA_COIN_TYPE, CHIMERA_PREFIX)
}

/// The host-chain signing key (coin type 118) of `mnemonic`.
pub fn chimera_signing_key(mnemonic: &str) -> Result<SigningKey, KeyError> {
    keys::signing_key(mnemonic, CHIMERA_COIN_TYPE)
}

/// A [`ChimeraNetConfig::prepare_node`] hook: node index and home in, a
/// message out on failure.
pub type PrepareNode = fn(usize, &Path) -> Result<(), String>;

/// How to build the localnet. `Default` gives one funded user account
/// ([`keys::USER_MNEMONIC`]) on a single validator.
///
/// Why: tests change only what they need.
#[derive(Debug, Clone)]
pub struct ChimeraNetConfig {
    /// Number of validators (each its own `chimerad` + `cometbft`).
    pub validators: usize,
    /// Chain id.
    pub chain_id: String,
    /// Genesis accounts as (bech32 address, coins such as
    /// `"1000uchim,5foo"`), passed as `--account ADDRESS=COINS`.
    pub accounts: Vec<(String, String)>,
    /// CometBFT `timeout_commit`: roughly the block time.
    pub timeout_commit: Duration,
    /// The height [`ChimeraNet::start`] waits for on every node.
    pub ready_height: u64,
    /// How long to wait for each readiness step.
    pub ready_timeout: Duration,
    /// The `chimerad` binary; [`find_chimerad`] when `None`.
    pub chimerad: Option<PathBuf>,
    /// The `cometbft` binary; [`bins::find_binary`] when `None`.
    pub cometbft: Option<PathBuf>,
    /// Runs once per node, with its index and home, after `chimerad init` /
    /// `testnet` wrote the homes and before the first `chimerad start`.
    ///
    /// Why: fault tests change a node's `config/chimerad.toml` (e.g.
    /// `[executor] fault`) or genesis before the chain starts.
    pub prepare_node: Option<PrepareNode>,
    /// Extra environment of node `i`'s `chimerad` (and so its executor).
    ///
    /// Why: validators on different hardware, imitated on one machine with
    /// `ATEN_CPU_CAPABILITY` per node (docs/determinism.md).
    pub node_env: Option<NodeEnv>,
    /// The localnet's root directory (holding `node0`..); a fresh temporary
    /// one when `None`. An explicit one must be new or empty, and is never
    /// removed by the harness.
    ///
    /// Why: the devnet keeps its chain in a known place across runs.
    pub root: Option<PathBuf>,
    /// Operator accounts (bech32) of the first validators, in node order,
    /// passed as `--operator`: they receive the executors' fee shares.
    pub operators: Vec<String>,
}

/// A [`ChimeraNetConfig::node_env`] hook: node index in, `(name, value)`
/// pairs out.
pub type NodeEnv = fn(usize) -> Vec<(&'static str, &'static str)>;

impl Default for ChimeraNetConfig {
    fn default() -> Self {
        let user = chimera_address(keys::USER_MNEMONIC)
            .expect("the fixed user mnemonic is valid")
            .to_string();
        Self {
            validators: 1,
            chain_id: DEFAULT_CHAIN_ID.into(),
            accounts: vec![(user, format!("{DEFAULT_GENESIS_AMOUNT}{DENOM}"))],
            timeout_commit: Duration::from_millis(500),
            ready_height: 2,
            ready_timeout: Duration::from_secs(60),
            chimerad: None,
            cometbft: None,
            prepare_node: None,
            node_env: None,
            root: None,
            operators: Vec::new(),
        }
    }
}

/// Why the localnet could not be built, started, queried or crashed.
#[derive(Debug, thiserror::Error)]
pub enum ChimeraError {
    /// `cometbft` (or `chimerad`) is not installed.
    #[error(transparent)]
    Binary(#[from] BinaryMissing),
    /// The `chimerad` binary is missing or older than its sources.
    #[error("{0}")]
    Chimerad(String),
    /// A listen port is taken.
    #[error("chimerad localnet: {0}")]
    PortInUse(#[from] PortInUse),
    /// The root directory is unusable.
    #[error("chimerad localnet: {0}")]
    Home(#[from] HomeError),
    /// A key could not be derived.
    #[error("chimerad localnet: {0}")]
    Key(#[from] KeyError),
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
    /// A node process failed to start, become ready or stop.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// `/status` failed.
    #[error(transparent)]
    Rpc(#[from] rpc::RpcError),
    /// Another RPC call failed or answered something unexpected.
    #[error("node {node} RPC {call}: {message}")]
    Call {
        /// The node index.
        node: usize,
        /// The call, e.g. `/block?height=3`.
        call: String,
        /// What went wrong.
        message: String,
    },
    /// A node reports another chain id.
    #[error("node {node} reports chain id {got:?}, expected {expected:?}")]
    WrongChain {
        /// The node index.
        node: usize,
        /// What it reports.
        got: String,
        /// What was configured.
        expected: String,
    },
    /// A node index out of range or a node in the wrong state for the call.
    #[error("node {node}: {message}")]
    Node {
        /// The node index.
        node: usize,
        /// What is wrong.
        message: String,
    },
    /// Building or signing a transaction failed.
    #[error("building tx: {0}")]
    Tx(String),
    /// Any other I/O failure.
    #[error("chimerad localnet: {context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The loopback ports of one node.
///
/// Why: tests that dial a node directly (RPC, ABCI) need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChimeraPorts {
    /// CometBFT P2P.
    pub p2p: u16,
    /// CometBFT RPC.
    pub rpc: u16,
    /// The app's ABCI socket.
    pub abci: u16,
    /// The app's gRPC services.
    pub grpc: u16,
}

impl ChimeraPorts {
    /// Node `i`'s ports in `chimerad testnet`'s layout from `base`.
    fn in_block(base: u16, i: usize) -> Self {
        let start = base + PORT_STRIDE * i as u16;
        Self {
            p2p: start,
            rpc: start + 1,
            abci: start + 2,
            grpc: start + 3,
        }
    }

    fn all(&self) -> [(u16, &'static str); 4] {
        [
            (self.p2p, "CometBFT P2P"),
            (self.rpc, "CometBFT RPC"),
            (self.abci, "ABCI"),
            (self.grpc, "gRPC"),
        ]
    }
}

fn reserved() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A base port from which `n` nodes' port blocks are all free and not
/// reserved by another localnet of this test process.
///
/// Why: `chimerad testnet` lays ports out in fixed blocks; the harness must
/// find a base where the whole layout is free, and tests running in
/// parallel threads must never get overlapping layouts.
fn pick_port_block(n: usize) -> Result<u16, ChimeraError> {
    let mut set = reserved().lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..200 {
        let base = ports::free_port().map_err(|source| ChimeraError::Io {
            context: "picking free ports".into(),
            source,
        })?;
        if u32::from(base) + u32::from(PORT_STRIDE) * n as u32 > 65_000 {
            continue;
        }
        let wanted: Vec<u16> = (0..n)
            .flat_map(|i| ChimeraPorts::in_block(base, i).all().map(|(p, _)| p))
            .collect();
        if wanted
            .iter()
            .all(|p| !set.contains(p) && ports::ensure_free(*p, "probe").is_ok())
        {
            set.extend(wanted);
            return Ok(base);
        }
    }
    Err(ChimeraError::Io {
        context: format!("finding {n} free blocks of {PORT_STRIDE} loopback ports"),
        source: std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no free block found"),
    })
}

/// Edits node `home`'s genesis (`cometbft/config/genesis.json`) with `f`,
/// for a [`ChimeraNetConfig::prepare_node`] hook: every node must make the
/// same edit, or their app hashes differ.
///
/// Why: tests set module parameters (`app_state.fees`, …) that `chimerad
/// init`/`testnet` leave at their defaults.
pub fn edit_genesis(home: &Path, f: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
    let path = home.join("cometbft/config/genesis.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut genesis: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    f(&mut genesis);
    let out = serde_json::to_string_pretty(&genesis).expect("JSON serializes");
    std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds the `chimerad` to test: `$CHIMERAD` if set; else the one cargo
/// built next to this test binary (`target/<profile>/chimerad`), which must
/// be newer than every file in `host/src`; else `$CHIMERA_BIN` and `PATH`.
///
/// Why: the e2e crate cannot depend on the host's binary target, and a
/// stale build would test old code while looking green.
pub fn find_chimerad() -> Result<PathBuf, ChimeraError> {
    if let Some(p) = std::env::var_os("CHIMERAD").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|source| ChimeraError::Io {
        context: "locating the test binary".into(),
        source,
    })?;
    // target/<profile>/deps/<test> or target/<profile>/<bin>
    let candidates = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join("chimerad"))
        .collect::<Vec<_>>();
    if let Some(bin) = candidates.into_iter().find(|p| p.is_file()) {
        check_fresh(&bin)?;
        return Ok(bin);
    }
    bins::find_binary("chimerad").map_err(|_| {
        ChimeraError::Chimerad(format!(
            "no chimerad next to {} (nor $CHIMERAD, $CHIMERA_BIN or PATH): build it first with \
             `cargo build -p chimera-host --bin chimerad`",
            exe.display()
        ))
    })
}

fn check_fresh(bin: &Path) -> Result<(), ChimeraError> {
    let built = std::fs::metadata(bin)
        .and_then(|m| m.modified())
        .map_err(|source| ChimeraError::Io {
            context: format!("reading {}", bin.display()),
            source,
        })?;
    let host = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host");
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    let mut stack = vec![host.join("src"), host.join("Cargo.toml")];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else { continue };
        if meta.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(m) = meta.modified() {
            if newest.as_ref().is_none_or(|(t, _)| m > *t) {
                newest = Some((m, p));
            }
        }
    }
    match newest {
        Some((t, p)) if t > built => Err(ChimeraError::Chimerad(format!(
            "{} is older than {}: rebuild it with `cargo build -p chimera-host --bin chimerad`",
            bin.display(),
            p.display()
        ))),
        _ => Ok(()),
    }
}

/// One validator: its home, ports and (while running) its `chimerad start`
/// process.
#[derive(Debug)]
struct ChimeraNode {
    home: PathBuf,
    ports: ChimeraPorts,
    process: Option<ManagedProcess>,
}

/// What `broadcast_tx_commit` said about a transaction.
///
/// Why: tests assert on the exact ABCI codes of CheckTx and of the block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxCommit {
    /// A JSON-RPC error instead of a result (e.g. CometBFT's mempool cache
    /// refusing a byte-identical tx), else `None`.
    pub rpc_error: Option<String>,
    /// CheckTx code (0 = accepted).
    pub check_code: u32,
    /// CheckTx log.
    pub check_log: String,
    /// The block's result code for the tx (only if CheckTx accepted it).
    pub tx_code: u32,
    /// The block's log for the tx.
    pub tx_log: String,
    /// Gas the tx asked for, as the block reports it.
    pub gas_wanted: u64,
    /// The height of the block that included it (0 if none).
    pub height: u64,
    /// The tx hash (hex).
    pub hash: String,
}

impl TxCommit {
    /// Whether both CheckTx and the block accepted the tx.
    pub fn is_ok(&self) -> bool {
        self.rpc_error.is_none() && self.check_code == 0 && self.tx_code == 0 && self.height > 0
    }
}

/// What an ABCI query answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAnswer {
    /// ABCI code (0 = ok).
    pub code: u32,
    /// The value (empty when the key is absent).
    pub value: Vec<u8>,
    /// The height the answer is for.
    pub height: u64,
    /// The log (the reason, on errors).
    pub log: String,
}

/// A `MsgSend` to build and sign with [`sign_bank_send`].
///
/// Why: every transaction the localnet tests send, valid or deliberately
/// broken, starts here.
#[derive(Debug, Clone)]
pub struct BankSend {
    /// The recipient.
    pub to: AccountId,
    /// Amount of `denom` to send.
    pub amount: u128,
    /// The denom sent.
    pub denom: String,
    /// Fee, in [`DENOM`] unless signed with [`sign_messages_paying`].
    pub fee: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// The signer's account number.
    pub account_number: u64,
    /// The signer's sequence.
    pub sequence: u64,
    /// Memo (changes the bytes without changing the meaning).
    pub memo: String,
}

/// Builds and signs (SIGN_MODE_DIRECT) a tx with one `MsgSend` from the
/// key's address, and returns the `TxRaw` bytes.
///
/// Why: the same encoding wallets produce, built with `cosmrs`, never with
/// the host's own code, so the test checks interoperability.
pub fn sign_bank_send(key: &SigningKey, chain_id: &str, send: &BankSend) -> Result<Vec<u8>, ChimeraError> {
    sign_messages(key, chain_id, vec![bank_send_msg(key, send)?], send)
}

/// The `MsgSend` of `send` as an `Any`, from `key`'s address under the
/// recipient's bech32 prefix (so it serves any chain's keys and denoms).
///
/// Why: the one message every bank-send test and benchmark signs, on
/// chimerad and on the Go peers alike.
pub fn bank_send_msg(key: &SigningKey, send: &BankSend) -> Result<Any, ChimeraError> {
    let from = key
        .public_key()
        .account_id(send.to.prefix())
        .map_err(|e| ChimeraError::Tx(e.to_string()))?;
    MsgSend {
        from_address: from,
        to_address: send.to.clone(),
        amount: vec![coin(&send.denom, send.amount)?],
    }
    .to_any()
    .map_err(|e| ChimeraError::Tx(e.to_string()))
}

fn coin(denom: &str, amount: u128) -> Result<Coin, ChimeraError> {
    Ok(Coin {
        denom: denom
            .parse()
            .map_err(|e| ChimeraError::Tx(format!("denom {denom}: {e}")))?,
        amount,
    })
}

/// Signs arbitrary messages (e.g. an unknown type URL) with `send`'s fee
/// (in [`DENOM`]), gas, account number, sequence and memo.
///
/// Why: bad-input tests need well-signed txs carrying messages the chain
/// must refuse.
pub fn sign_messages(
    key: &SigningKey,
    chain_id: &str,
    messages: Vec<Any>,
    send: &BankSend,
) -> Result<Vec<u8>, ChimeraError> {
    sign_messages_paying(key, chain_id, DENOM, messages, send)
}

/// [`sign_messages`] with the fee paid in `fee_denom` instead of
/// [`DENOM`].
///
/// Why: benchmarks sign the same tx shape for other chains (simd's
/// `stake`, terrad's `uluna`).
pub fn sign_messages_paying(
    key: &SigningKey,
    chain_id: &str,
    fee_denom: &str,
    messages: Vec<Any>,
    send: &BankSend,
) -> Result<Vec<u8>, ChimeraError> {
    let tx_err = |e: cosmrs::ErrorReport| ChimeraError::Tx(e.to_string());
    let body = tx::Body::new(messages, send.memo.clone(), 0u32);
    let fee = Fee::from_amount_and_gas(coin(fee_denom, send.fee)?, send.gas_limit);
    let auth_info = SignerInfo::single_direct(Some(key.public_key()), send.sequence).auth_info(fee);
    let chain_id = chain_id
        .parse()
        .map_err(|e| ChimeraError::Tx(format!("chain id: {e}")))?;
    let raw = SignDoc::new(&body, &auth_info, &chain_id, send.account_number)
        .map_err(tx_err)?
        .sign(key)
        .map_err(tx_err)?;
    raw.to_bytes().map_err(tx_err)
}

/// `tx` with one bit of its first signature flipped.
///
/// Why: a tx that is well formed, correctly sequenced and paid for, whose
/// signature alone is wrong (the chain must answer code 4).
pub fn corrupt_signature(tx: &[u8]) -> Result<Vec<u8>, ChimeraError> {
    let mut raw = TxRaw::decode(tx).map_err(|e| ChimeraError::Tx(e.to_string()))?;
    let sig = raw
        .signatures
        .first_mut()
        .ok_or_else(|| ChimeraError::Tx("tx has no signature".into()))?;
    sig[10] ^= 0x01;
    Ok(raw.encode_to_vec())
}

/// A running chimerad localnet. Dropping it stops every node; its root
/// directory is removed unless the test failed or `CHIMERA_E2E_KEEP=1`.
///
/// Why: the host chain under test in every Chimera end-to-end suite.
#[derive(Debug)]
pub struct ChimeraNet {
    // Field order matters: nodes stop before the root is removed.
    nodes: Vec<ChimeraNode>,
    root: NodeHome,
    config: ChimeraNetConfig,
    chimerad: PathBuf,
    cometbft: PathBuf,
}

impl ChimeraNet {
    /// Builds, starts and waits for a localnet: returns once every node
    /// answers RPC with the configured chain id and has reached
    /// `config.ready_height`.
    ///
    /// Why: one call gives a test a real chain; every failure names its
    /// cause (missing binary, failing command with its output, node log
    /// tail).
    pub fn start(config: ChimeraNetConfig) -> Result<Self, ChimeraError> {
        if config.validators == 0 {
            return Err(ChimeraError::Node {
                node: 0,
                message: "a localnet needs at least one validator".into(),
            });
        }
        let cometbft = match &config.cometbft {
            Some(p) => p.clone(),
            None => bins::find_binary("cometbft")?,
        };
        let chimerad = match &config.chimerad {
            Some(p) => p.clone(),
            None => find_chimerad()?,
        };
        let root = match &config.root {
            Some(dir) => NodeHome::explicit(dir)?,
            None => NodeHome::fresh(&format!("chimera-{}", config.chain_id))?,
        };
        let base = pick_port_block(config.validators)?;
        let commit = format!("{}ms", config.timeout_commit.as_millis().max(1));

        let mut args: Vec<String> = if config.validators == 1 {
            let p = ChimeraPorts::in_block(base, 0);
            vec![
                "init".into(),
                "--home".into(),
                root.path().join("node0").display().to_string(),
                "--moniker".into(),
                "node0".into(),
                "--p2p-port".into(),
                p.p2p.to_string(),
                "--rpc-port".into(),
                p.rpc.to_string(),
                "--abci-port".into(),
                p.abci.to_string(),
                "--grpc-port".into(),
                p.grpc.to_string(),
            ]
        } else {
            vec![
                "testnet".into(),
                "--validators".into(),
                config.validators.to_string(),
                "--output-dir".into(),
                root.path().display().to_string(),
                "--base-port".into(),
                base.to_string(),
            ]
        };
        args.extend([
            "--chain-id".into(),
            config.chain_id.clone(),
            "--timeout-commit".into(),
            commit,
            "--cometbft".into(),
            cometbft.display().to_string(),
        ]);
        for (addr, coins) in &config.accounts {
            args.push("--account".into());
            args.push(format!("{addr}={coins}"));
        }
        for op in &config.operators {
            args.push("--operator".into());
            args.push(op.clone());
        }
        run_logged(&chimerad, &args, &root.path().join(SETUP_LOG))?;

        let nodes = (0..config.validators)
            .map(|i| ChimeraNode {
                home: root.path().join(format!("node{i}")),
                ports: ChimeraPorts::in_block(base, i),
                process: None,
            })
            .collect();
        let mut net = Self {
            nodes,
            root,
            config,
            chimerad,
            cometbft,
        };
        if let Some(prepare) = net.config.prepare_node {
            for (i, node) in net.nodes.iter().enumerate() {
                prepare(i, &node.home).map_err(|message| ChimeraError::Node {
                    node: i,
                    message: format!("preparing {}: {message}", node.home.display()),
                })?;
            }
        }
        for i in 0..net.nodes.len() {
            net.spawn(i)?;
        }
        for i in 0..net.nodes.len() {
            net.wait_rpc(i)?;
        }
        net.wait_for_height(net.config.ready_height, net.config.ready_timeout)?;
        Ok(net)
    }

    fn node(&self, i: usize) -> Result<&ChimeraNode, ChimeraError> {
        self.nodes.get(i).ok_or_else(|| ChimeraError::Node {
            node: i,
            message: format!("no such node (the localnet has {})", self.nodes.len()),
        })
    }

    fn process_mut(&mut self, i: usize) -> Result<&mut ManagedProcess, ChimeraError> {
        self.node(i)?;
        self.nodes[i].process.as_mut().ok_or_else(|| ChimeraError::Node {
            node: i,
            message: "not running".into(),
        })
    }

    /// Starts `chimerad start --home <node home>` for node `i`, after checking
    /// its ports are free.
    fn spawn(&mut self, i: usize) -> Result<(), ChimeraError> {
        let node = self.node(i)?;
        for (port, service) in node.ports.all() {
            ports::ensure_free(port, &format!("chimerad node{i} {service}"))?;
        }
        let spec = ProcessSpec::new(
            format!("chimerad node{i} ({})", self.config.chain_id),
            &self.chimerad,
            node.home.join(CHIMERAD_LOG),
        )
        .arg("start")
        .arg("--home")
        .arg(&node.home)
        .cwd(&node.home);
        let mut spec = spec;
        for (k, v) in self.config.node_env.map(|f| f(i)).unwrap_or_default() {
            spec = spec.env(k, v);
        }
        let mut process = ManagedProcess::spawn(spec)?;
        process.set_stop_grace(NODE_STOP_GRACE);
        self.nodes[i].process = Some(process);
        Ok(())
    }

    /// Waits until node `i` answers `/status` with the right chain id.
    fn wait_rpc(&mut self, i: usize) -> Result<(), ChimeraError> {
        let rpc = self.rpc_addr(i)?;
        let timeout = self.config.ready_timeout;
        self.process_mut(i)?.wait_for_http(rpc, "/status", timeout)?;
        let status = rpc::status(rpc)?;
        if status.network != self.config.chain_id {
            return Err(ChimeraError::WrongChain {
                node: i,
                got: status.network,
                expected: self.config.chain_id.clone(),
            });
        }
        Ok(())
    }

    /// Waits until every running node's latest height is at least `height`;
    /// returns the lowest of their heights.
    ///
    /// Why: tests wait in blocks, never in wall-clock sleeps.
    pub fn wait_for_height(&mut self, height: u64, timeout: Duration) -> Result<u64, ChimeraError> {
        let mut lowest = u64::MAX;
        for i in 0..self.nodes.len() {
            if self.nodes[i].process.is_some() {
                lowest = lowest.min(self.wait_for_node_height(i, height, timeout)?);
            }
        }
        Ok(lowest)
    }

    /// Waits until node `i`'s latest height is at least `height` and returns
    /// it; fails early, with the log tail, if its `chimerad` exits.
    pub fn wait_for_node_height(
        &mut self,
        i: usize,
        height: u64,
        timeout: Duration,
    ) -> Result<u64, ChimeraError> {
        let rpc = self.rpc_addr(i)?;
        Ok(self
            .process_mut(i)?
            .wait_until(&format!("block height >= {height}"), timeout, || {
                rpc::status(rpc)
                    .ok()
                    .map(|s| s.latest_height)
                    .filter(|h| *h >= height)
            })?)
    }

    /// Node `i`'s `/status`.
    pub fn status(&self, i: usize) -> Result<NodeStatus, ChimeraError> {
        Ok(rpc::status(self.rpc_addr(i)?)?)
    }

    /// GETs `path` on node `i`'s RPC and returns the JSON-RPC `result`.
    fn rpc_result(&self, i: usize, path: &str, timeout: Duration) -> Result<serde_json::Value, ChimeraError> {
        rpc_result_at(self.rpc_addr(i)?, path, timeout).map_err(|message| ChimeraError::Call {
            node: i,
            call: path.chars().take(120).collect(),
            message,
        })
    }

    /// The `app_hash` in the header of block `height` on node `i` (upper-case
    /// hex; it commits to the state after block `height - 1`).
    ///
    /// Why: the one number every validator must agree on, before and after
    /// crashes.
    pub fn app_hash_at(&self, i: usize, height: u64) -> Result<String, ChimeraError> {
        let path = format!("/block?height={height}");
        let r = self.rpc_result(i, &path, Duration::from_secs(5))?;
        r.pointer("/block/header/app_hash")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| ChimeraError::Call {
                node: i,
                call: path,
                message: "no block.header.app_hash".into(),
            })
    }

    /// The validator set at the latest height on node `i`, as (address,
    /// voting power).
    ///
    /// Why: a testnet must run with exactly the validators its genesis lists.
    pub fn validators(&self, i: usize) -> Result<Vec<(String, u64)>, ChimeraError> {
        let r = self.rpc_result(i, "/validators?per_page=100", Duration::from_secs(5))?;
        let list = r
            .get("validators")
            .and_then(|v| v.as_array())
            .ok_or_else(|| ChimeraError::Call {
                node: i,
                call: "/validators".into(),
                message: "no validators array".into(),
            })?;
        Ok(list
            .iter()
            .map(|v| {
                (
                    v["address"].as_str().unwrap_or_default().to_string(),
                    v["voting_power"]
                        .as_str()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0),
                )
            })
            .collect())
    }

    /// ABCI query on node `i` at the latest height (`path` such as
    /// `store/ibc/key`, `data` the raw key).
    pub fn abci_query(&self, i: usize, path: &str, data: &[u8]) -> Result<QueryAnswer, ChimeraError> {
        abci_query_at(self.rpc_addr(i)?, path, data).map_err(|message| ChimeraError::Call {
            node: i,
            call: format!("/abci_query {path}"),
            message,
        })
    }

    /// The `denom` balance of `address` on node `i`, read from the app's raw
    /// state key `bank/balance/<len><address>/<denom>` (absent = 0).
    ///
    /// Why: exact balance assertions before the gRPC bank query exists.
    pub fn balance(&self, i: usize, address: &AccountId, denom: &str) -> Result<u128, ChimeraError> {
        let mut key = b"bank/balance/".to_vec();
        key.extend_from_slice(&length_prefixed(address));
        key.push(b'/');
        key.extend_from_slice(denom.as_bytes());
        let a = self.abci_query(i, "store/ibc/key", &key)?;
        let bad = |message: String| ChimeraError::Call {
            node: i,
            call: format!("balance {address} {denom}"),
            message,
        };
        if a.code != 0 {
            return Err(bad(format!("code {}: {}", a.code, a.log)));
        }
        if a.value.is_empty() {
            return Ok(0);
        }
        std::str::from_utf8(&a.value)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("stored amount {:?} is not a decimal", a.value)))
    }

    /// The `BaseAccount` of `address` on node `i` (None if it does not
    /// exist), from the raw state key `auth/account/<len><address>`.
    ///
    /// Why: account number and sequence for signing, before the gRPC auth
    /// query exists.
    pub fn account(&self, i: usize, address: &AccountId) -> Result<Option<BaseAccount>, ChimeraError> {
        let mut key = b"auth/account/".to_vec();
        key.extend_from_slice(&length_prefixed(address));
        let a = self.abci_query(i, "store/ibc/key", &key)?;
        let bad = |message: String| ChimeraError::Call {
            node: i,
            call: format!("account {address}"),
            message,
        };
        if a.code != 0 {
            return Err(bad(format!("code {}: {}", a.code, a.log)));
        }
        if a.value.is_empty() {
            return Ok(None);
        }
        BaseAccount::decode(a.value.as_slice())
            .map(Some)
            .map_err(|e| bad(format!("not a BaseAccount: {e}")))
    }

    /// Broadcasts `tx` to node `i` with `broadcast_tx_commit` (returns after
    /// the block that includes it, or after CheckTx refuses it).
    ///
    /// Why: the simplest way to see a tx's CheckTx and block results.
    pub fn broadcast_tx_commit(&self, i: usize, tx: &[u8]) -> Result<TxCommit, ChimeraError> {
        let path = format!("/broadcast_tx_commit?tx=0x{}", hex::encode(tx));
        let r =
            http::get(self.rpc_addr(i)?, &path, Duration::from_secs(30)).map_err(|e| ChimeraError::Call {
                node: i,
                call: "/broadcast_tx_commit".into(),
                message: e.to_string(),
            })?;
        parse_tx_commit(&r.body).map_err(|message| ChimeraError::Call {
            node: i,
            call: "/broadcast_tx_commit".into(),
            message: format!("HTTP {}: {message}", r.status),
        })
    }

    /// Broadcasts `tx` to node `i` with `broadcast_tx_sync` (returns after
    /// CheckTx) and returns the CheckTx code and log.
    ///
    /// Why: crash tests keep txs in flight while they kill nodes.
    pub fn broadcast_tx_sync(&self, i: usize, tx: &[u8]) -> Result<(u32, String), ChimeraError> {
        broadcast_tx_sync_at(self.rpc_addr(i)?, tx).map_err(|message| ChimeraError::Call {
            node: i,
            call: "/broadcast_tx_sync".into(),
            message,
        })
    }

    /// Stops every node (SIGTERM to `chimerad`, which stops its CometBFT)
    /// and returns their exit statuses.
    pub fn stop(&mut self) -> Result<Vec<ExitStatus>, ChimeraError> {
        (0..self.nodes.len()).map(|i| self.stop_node(i)).collect()
    }

    /// Stops node `i` gracefully (SIGTERM, [`NODE_STOP_GRACE`], SIGKILL) and
    /// returns `chimerad`'s exit status; a no-op status error if it is not
    /// running.
    pub fn stop_node(&mut self, i: usize) -> Result<ExitStatus, ChimeraError> {
        let status = self.process_mut(i)?.stop()?;
        self.nodes[i].process = None;
        Ok(status)
    }

    /// `kill -9` of node `i`'s `chimerad`, then waits (up to
    /// [`NODE_STOP_GRACE`]) for its CometBFT child to exit on its parent
    /// death signal (SIGKILL), and returns `chimerad`'s exit status.
    ///
    /// Why: the crash test's first kind of crash. The child must go by
    /// itself (it would otherwise hold the ports and data of the restart);
    /// if it does not, this fails, after killing the group.
    pub fn kill9(&mut self, i: usize) -> Result<ExitStatus, ChimeraError> {
        let mut p = self
            .nodes
            .get_mut(i)
            .and_then(|n| n.process.take())
            .ok_or_else(|| ChimeraError::Node {
                node: i,
                message: "not running".into(),
            })?;
        let pgid = p.pgid();
        // SAFETY: kill(2) on the pid of a child we have not reaped.
        unsafe {
            libc::kill(p.pid() as libc::pid_t, libc::SIGKILL);
        }
        let status = wait_exit(&mut p, Duration::from_secs(10))?;
        let deadline = Instant::now() + NODE_STOP_GRACE;
        while process::process_group_alive(pgid) {
            if Instant::now() >= deadline {
                // SAFETY: SIGKILL to the group this harness created.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
                return Err(ChimeraError::Node {
                    node: i,
                    message: format!(
                        "cometbft outlived its killed chimerad by {NODE_STOP_GRACE:?} (parent death signal \
                         not honoured?); see {}",
                        self.nodes[i].home.join(COMETBFT_LOG).display()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(status)
    }

    /// The pid of node `i`'s CometBFT child (found in `/proc` as the child of
    /// its `chimerad` named `cometbft`).
    pub fn cometbft_pid(&self, i: usize) -> Result<u32, ChimeraError> {
        let parent = self
            .node(i)?
            .process
            .as_ref()
            .ok_or_else(|| ChimeraError::Node {
                node: i,
                message: "not running".into(),
            })?
            .pid();
        child_named(parent, "cometbft").ok_or_else(|| ChimeraError::Node {
            node: i,
            message: format!("chimerad (pid {parent}) has no cometbft child"),
        })
    }

    /// `kill -9` of node `i`'s CometBFT child; waits for `chimerad` to notice
    /// and exit, and returns its exit status (which must be a failure) and
    /// its log tail.
    ///
    /// Why: the crash test's second kind of crash; `chimerad` must not go on
    /// serving a chain that no longer has a consensus engine.
    pub fn kill9_cometbft(&mut self, i: usize) -> Result<(ExitStatus, String), ChimeraError> {
        let pid = self.cometbft_pid(i)?;
        // SAFETY: kill(2) on a pid just read from /proc as our node's child.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
        let mut p = self.nodes[i]
            .process
            .take()
            .expect("cometbft_pid checked it runs");
        let status = wait_exit(&mut p, NODE_STOP_GRACE)?;
        let tail = p.log_tail(20);
        Ok((status, tail))
    }

    /// Restarts node `i` (which must be stopped or killed) with `chimerad
    /// start` and waits until its RPC answers.
    ///
    /// Why: after a crash the node must come back with the same command an
    /// operator would use.
    pub fn restart(&mut self, i: usize) -> Result<(), ChimeraError> {
        if self.node(i)?.process.is_some() {
            return Err(ChimeraError::Node {
                node: i,
                message: "still running; stop or kill it first".into(),
            });
        }
        self.spawn(i)?;
        self.wait_rpc(i)
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.config.chain_id
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &ChimeraNetConfig {
        &self.config
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes (never, once started).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The localnet's root directory (holding `node0`..).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Keeps the root directory after drop and returns its path.
    pub fn keep_root(&mut self) -> &Path {
        self.root.keep()
    }

    /// Leaves every running node running (and the root in place) when this
    /// value goes, and returns each node's detached `chimerad start` (index
    /// order; stopped nodes are skipped): its spec restarts the node from
    /// its home, its group stops it with its CometBFT child.
    ///
    /// Why: the devnet's chain outlives `chimera-e2e devnet up`.
    pub fn detach(mut self) -> Vec<process::DetachedProcess> {
        self.root.keep();
        self.nodes
            .iter_mut()
            .filter_map(|n| n.process.take())
            .map(ManagedProcess::into_detached)
            .collect()
    }

    /// Node `i`'s home (`chimerad start --home`).
    pub fn home(&self, i: usize) -> Result<&Path, ChimeraError> {
        Ok(&self.node(i)?.home)
    }

    /// Node `i`'s ports.
    pub fn ports(&self, i: usize) -> Result<ChimeraPorts, ChimeraError> {
        Ok(self.node(i)?.ports)
    }

    /// Node `i`'s `chimerad` process, while it runs.
    pub fn process(&self, i: usize) -> Option<&ManagedProcess> {
        self.nodes.get(i).and_then(|n| n.process.as_ref())
    }

    /// The `chimerad` binary in use.
    pub fn chimerad(&self) -> &Path {
        &self.chimerad
    }

    /// The `cometbft` binary in use.
    pub fn cometbft(&self) -> &Path {
        &self.cometbft
    }

    /// Node `i`'s CometBFT RPC address.
    pub fn rpc_addr(&self, i: usize) -> Result<SocketAddr, ChimeraError> {
        Ok(ports::loopback(self.node(i)?.ports.rpc))
    }

    /// Node `i`'s CometBFT RPC URL, `http://127.0.0.1:<port>`.
    pub fn rpc_url(&self, i: usize) -> Result<String, ChimeraError> {
        Ok(format!("http://{}", self.rpc_addr(i)?))
    }
}

/// GETs `path` on the CometBFT RPC at `addr` and returns the JSON-RPC
/// `result`; an error names what went wrong (no answer, not JSON, a
/// JSON-RPC error such as a full mempool).
///
/// Why: the localnet's calls and the benchmarks' calls to any CometBFT
/// node (chimerad's, simd's, terrad's) go through one parser.
pub fn rpc_result_at(addr: SocketAddr, path: &str, timeout: Duration) -> Result<serde_json::Value, String> {
    let r = http::get(addr, path, timeout).map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&r.body)
        .map_err(|e| format!("HTTP {}: not JSON ({e}): {}", r.status, short(&r.body)))?;
    if let Some(err) = v.get("error") {
        return Err(format!("JSON-RPC error: {err}"));
    }
    v.get("result")
        .cloned()
        .ok_or_else(|| format!("no result: {}", short(&r.body)))
}

/// ABCI query through the CometBFT RPC at `addr`, at the latest height:
/// `path` is a store path (`store/ibc/key`, `data` the raw key) or a gRPC
/// method (`/cosmos.bank.v1beta1.Query/Balance`, `data` the request).
///
/// Why: typed queries that work the same on chimerad and on SDK chains,
/// without a gRPC client or an async runtime.
pub fn abci_query_at(addr: SocketAddr, path: &str, data: &[u8]) -> Result<QueryAnswer, String> {
    let url = format!(
        "/abci_query?path=%22{}%22&data=0x{}",
        path.replace('/', "%2F"),
        hex::encode(data)
    );
    let r = rpc_result_at(addr, &url, Duration::from_secs(5))?;
    let resp = &r["response"];
    let value = match resp.get("value").and_then(|v| v.as_str()) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("value is not base64: {e}"))?,
        None => Vec::new(),
    };
    Ok(QueryAnswer {
        code: resp["code"].as_u64().unwrap_or(0) as u32,
        value,
        height: resp["height"].as_str().and_then(|h| h.parse().ok()).unwrap_or(0),
        log: resp["log"].as_str().unwrap_or_default().to_string(),
    })
}

/// Broadcasts `tx` with `broadcast_tx_sync` to the CometBFT RPC at `addr`
/// (returns after CheckTx) and returns the CheckTx code and log.
///
/// Why: the broadcast every load generator and crash test uses.
pub fn broadcast_tx_sync_at(addr: SocketAddr, tx: &[u8]) -> Result<(u32, String), String> {
    let path = format!("/broadcast_tx_sync?tx=0x{}", hex::encode(tx));
    let r = rpc_result_at(addr, &path, Duration::from_secs(10))?;
    Ok((
        r["code"].as_u64().unwrap_or(0) as u32,
        r["log"].as_str().unwrap_or_default().to_string(),
    ))
}

/// Polls until `p` has exited (after a kill) and returns its status.
fn wait_exit(p: &mut ManagedProcess, timeout: Duration) -> Result<ExitStatus, ChimeraError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = p.try_exit_status()? {
            return Ok(s);
        }
        if Instant::now() >= deadline {
            return Err(ChimeraError::Node {
                node: usize::MAX,
                message: format!("{} did not exit within {timeout:?}\n{}", p.name(), p.log_tail(30)),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid of a child of `parent` whose command name is `name`.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = &stat[open + 1..close];
        let ppid: u32 = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
        (ppid == parent && comm == name).then_some(pid)
    })
}

fn short(s: &str) -> String {
    s.chars().take(500).collect()
}

/// Parses a `broadcast_tx_commit` answer (result or JSON-RPC error).
fn parse_tx_commit(body: &str) -> Result<TxCommit, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {}", short(body)))?;
    if let Some(err) = v.get("error") {
        let text = [err.get("message"), err.get("data")]
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join(": ");
        return Ok(TxCommit {
            rpc_error: Some(if text.is_empty() { err.to_string() } else { text }),
            ..TxCommit::default()
        });
    }
    let r = v
        .get("result")
        .ok_or_else(|| format!("no result: {}", short(body)))?;
    let code = |p: &str| r.pointer(p).and_then(|c| c.as_u64()).unwrap_or(0) as u32;
    let text = |p: &str| {
        r.pointer(p)
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(TxCommit {
        rpc_error: None,
        check_code: code("/check_tx/code"),
        check_log: text("/check_tx/log"),
        tx_code: code("/tx_result/code"),
        tx_log: text("/tx_result/log"),
        gas_wanted: text("/tx_result/gas_wanted").parse().unwrap_or(0),
        height: text("/height").parse().unwrap_or(0),
        hash: text("/hash"),
    })
}

/// Runs `chimerad args...` to completion, appending the command and its
/// output to `log`; a failure carries the output.
fn run_logged(chimerad: &Path, args: &[String], log: &Path) -> Result<String, ChimeraError> {
    use std::io::Write;
    let line = format!("{} {}", chimerad.display(), args.join(" "));
    let out = Command::new(chimerad)
        .args(args)
        .output()
        .map_err(|source| ChimeraError::Io {
            context: format!("running `{line}`"),
            source,
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
        let _ = writeln!(f, "$ {line}\n{text}");
    }
    if !out.status.success() {
        return Err(ChimeraError::Command {
            command: line,
            status: out.status.to_string(),
            output: text,
        });
    }
    Ok(text)
}

/// An address's bytes behind their length, as chimerad's (and the SDK's)
/// store keys hold them.
fn length_prefixed(address: &AccountId) -> Vec<u8> {
    let bytes = address.to_bytes();
    let mut k = Vec::with_capacity(1 + bytes.len());
    k.push(bytes.len() as u8);
    k.extend_from_slice(&bytes);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_up() {
        assert_eq!(required_fee(200_000), 5_000);
        assert_eq!(required_fee(200_001), 5_001);
        assert_eq!(required_fee(1), 1);
    }

    #[test]
    fn parses_tx_commit_results_and_errors() {
        let ok = r#"{"jsonrpc":"2.0","id":-1,"result":{"check_tx":{"code":0,"log":""},
            "tx_result":{"code":0,"log":"","gas_wanted":"200000"},"hash":"AB","height":"7"}}"#;
        let c = parse_tx_commit(ok).unwrap();
        assert!(c.is_ok(), "{c:?}");
        assert_eq!((c.height, c.gas_wanted, c.hash.as_str()), (7, 200_000, "AB"));
        let refused = r#"{"result":{"check_tx":{"code":32,"log":"account sequence mismatch"},
            "tx_result":{"code":0},"hash":"AB","height":"0"}}"#;
        let c = parse_tx_commit(refused).unwrap();
        assert_eq!(c.check_code, 32);
        assert!(!c.is_ok());
        let err =
            r#"{"error":{"code":-32603,"message":"Internal error","data":"tx already exists in cache"}}"#;
        let c = parse_tx_commit(err).unwrap();
        assert_eq!(
            c.rpc_error.as_deref(),
            Some("Internal error: tx already exists in cache")
        );
    }

    #[test]
    fn port_blocks_are_distinct() {
        let a = pick_port_block(4).unwrap();
        let b = pick_port_block(4).unwrap();
        let ports = |base| (0..4).flat_map(move |i| ChimeraPorts::in_block(base, i).all().map(|(p, _)| p));
        let a: HashSet<u16> = ports(a).collect();
        assert!(ports(b).all(|p| !a.contains(&p)));
    }

    #[test]
    fn finds_own_children_in_proc() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let found = child_named(std::process::id(), "sleep");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(found, Some(child.id()));
    }

    #[test]
    fn signs_and_corrupts_bank_sends() {
        let key = chimera_signing_key(keys::USER_MNEMONIC).unwrap();
        let to = chimera_address(keys::VALIDATOR_MNEMONIC).unwrap();
        let send = BankSend {
            to,
            amount: 5,
            denom: DENOM.into(),
            fee: 5_000,
            gas_limit: 200_000,
            account_number: 0,
            sequence: 0,
            memo: String::new(),
        };
        let tx = sign_bank_send(&key, DEFAULT_CHAIN_ID, &send).unwrap();
        let bad = corrupt_signature(&tx).unwrap();
        assert_eq!(tx.len(), bad.len());
        assert_ne!(tx, bad);
        let raw = TxRaw::decode(tx.as_slice()).unwrap();
        assert_eq!(raw.signatures.len(), 1);
        assert_eq!(raw.signatures[0].len(), 64);
    }
}
