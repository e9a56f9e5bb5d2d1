//! The `init`, `testnet` and `start` subcommands' arguments and their
//! mapping to exit codes (0 ok, 2 usage error, 1 failure).
//!
//! Kept in the library (not `main.rs`) so the argument structs are
//! documented and tested beside the code they drive.

use std::path::PathBuf;

use clap::Args;

use super::init::{self, InitOptions, DEFAULT_TIMEOUT_COMMIT};
use super::start::{self, StartOptions};
use super::testnet::{self, TestnetOptions};
use super::{NodeError, NodeResult, Ports};
use crate::chain::genesis::GenesisAccount;

/// `chimerad init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The node home to create (refused if it already holds a node).
    #[arg(long)]
    pub home: PathBuf,
    /// The chain id.
    #[arg(long)]
    pub chain_id: String,
    /// The node's name in CometBFT (shown to peers and in /status).
    #[arg(long)]
    pub moniker: String,
    /// A genesis account, ADDRESS=COINS (e.g. chimera1...=1000uchim,5foo);
    /// repeat for more.
    #[arg(long = "account", value_name = "ADDRESS=COINS")]
    pub accounts: Vec<String>,
    /// CometBFT P2P port.
    #[arg(long, default_value_t = Ports::default().p2p)]
    pub p2p_port: u16,
    /// CometBFT RPC port.
    #[arg(long, default_value_t = Ports::default().rpc)]
    pub rpc_port: u16,
    /// The app's ABCI port (CometBFT's proxy_app).
    #[arg(long, default_value_t = Ports::default().abci)]
    pub abci_port: u16,
    /// The app's gRPC port.
    #[arg(long, default_value_t = Ports::default().grpc)]
    pub grpc_port: u16,
    /// CometBFT's timeout_commit (roughly the block time), a Go duration.
    #[arg(long, default_value = DEFAULT_TIMEOUT_COMMIT)]
    pub timeout_commit: String,
    /// The CometBFT 0.38 binary (a bare name is looked up on PATH).
    #[arg(long, default_value = "cometbft")]
    pub cometbft: PathBuf,
    /// Replace an existing node in --home (its keys and state are deleted).
    #[arg(long)]
    pub overwrite: bool,
    /// The validator's operator account (chimera1…): receives its
    /// executor earnings and may re-register its executor key after
    /// faults. Without one, its share of fees goes to the community.
    #[arg(long, value_name = "ADDRESS")]
    pub operator: Option<String>,
}

/// `chimerad testnet`.
#[derive(Args, Debug)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long)]
    pub validators: usize,
    /// Directory that receives node0..node{N-1}.
    #[arg(long)]
    pub output_dir: PathBuf,
    /// The chain id.
    #[arg(long)]
    pub chain_id: String,
    /// First port of node 0; node i uses base+10i (P2P), +1 (RPC), +2
    /// (ABCI), +3 (gRPC).
    #[arg(long, default_value_t = 26656)]
    pub base_port: u16,
    /// A genesis account, ADDRESS=COINS; repeat for more.
    #[arg(long = "account", value_name = "ADDRESS=COINS")]
    pub accounts: Vec<String>,
    /// CometBFT's timeout_commit, a Go duration.
    #[arg(long, default_value = DEFAULT_TIMEOUT_COMMIT)]
    pub timeout_commit: String,
    /// The CometBFT 0.38 binary.
    #[arg(long, default_value = "cometbft")]
    pub cometbft: PathBuf,
    /// Replace existing node homes in --output-dir.
    #[arg(long)]
    pub overwrite: bool,
    /// Operator account of node i, for the i-th --operator (see `init
    /// --operator`); repeat up to once per validator.
    #[arg(long = "operator", value_name = "ADDRESS")]
    pub operators: Vec<String>,
}

/// `chimerad start`.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// The node home (`chimerad init --home`).
    #[arg(long)]
    pub home: PathBuf,
    /// Serve ABCI only and let someone else run CometBFT.
    #[arg(long)]
    pub no_cometbft: bool,
}

fn accounts(specs: &[String]) -> NodeResult<Vec<GenesisAccount>> {
    specs.iter().map(|s| init::parse_account(s)).collect()
}

/// Prints `e` as `chimerad` errors are printed and returns its exit code.
fn report(result: NodeResult<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            match &e {
                NodeError::Usage(m) => eprintln!("error: {m} (see --help)"),
                NodeError::Failed(err) => eprintln!("error: {err:#}"),
            }
            e.exit_code()
        }
    }
}

/// Runs `chimerad init`; returns the exit code.
pub fn run_init(a: InitArgs) -> i32 {
    report((|| {
        let opts = InitOptions {
            home: a.home,
            chain_id: a.chain_id,
            moniker: a.moniker,
            accounts: accounts(&a.accounts)?,
            ports: Ports {
                p2p: a.p2p_port,
                rpc: a.rpc_port,
                abci: a.abci_port,
                grpc: a.grpc_port,
            },
            timeout_commit: a.timeout_commit,
            cometbft: a.cometbft,
            overwrite: a.overwrite,
            operator: a.operator,
        };
        let r = init::init(&opts)?;
        println!(
            "initialised {} (chain {}, moniker {}, node id {}, CometBFT {})",
            r.home.display(),
            opts.chain_id,
            opts.moniker,
            r.node_id,
            r.cometbft_version
        );
        println!("start it with: chimerad start --home {}", r.home.display());
        Ok(())
    })())
}

/// Runs `chimerad testnet`; returns the exit code.
pub fn run_testnet(a: TestnetArgs) -> i32 {
    report((|| {
        let opts = TestnetOptions {
            validators: a.validators,
            output_dir: a.output_dir,
            chain_id: a.chain_id,
            base_port: a.base_port,
            accounts: accounts(&a.accounts)?,
            timeout_commit: a.timeout_commit,
            cometbft: a.cometbft,
            overwrite: a.overwrite,
            operators: a.operators,
        };
        let reports = testnet::testnet(&opts)?;
        for (i, r) in reports.iter().enumerate() {
            let p = testnet::node_ports(opts.base_port, i).expect("validated by testnet");
            println!(
                "node{i}: {} node id {} p2p {} rpc {} abci {} grpc {}",
                r.home.display(),
                r.node_id,
                p.p2p,
                p.rpc,
                p.abci,
                p.grpc
            );
        }
        println!(
            "testnet {} with {} validators; start each with: chimerad start --home {}/nodeN",
            opts.chain_id,
            reports.len(),
            opts.output_dir.display()
        );
        Ok(())
    })())
}

/// Runs `chimerad start`; returns the exit code.
pub fn run_start(a: StartArgs) -> i32 {
    report(start::start(&StartOptions {
        home: a.home,
        no_cometbft: a.no_cometbft,
    }))
}
