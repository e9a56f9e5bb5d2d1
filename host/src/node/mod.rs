//! Running a host-chain node: `chimerad init`, `testnet` and `start`.
//!
//! A node is two processes: `chimerad` (the ABCI 2.0 app, `crate::chain`)
//! and the `cometbft` 0.38 consensus engine that drives it over a TCP ABCI
//! socket. This module owns everything between the operator and those two
//! processes: the home directory layout, CometBFT's generated files (patched,
//! never hand-written, so a CometBFT upgrade keeps its own defaults), the
//! app's own config file, and the supervision of the `cometbft` child.
//!
//! Home layout (`--home DIR`):
//! - `DIR/config/chimerad.toml`: the app's config ([`config::NodeConfig`]).
//! - `DIR/cometbft/`: CometBFT's home (`config/config.toml`,
//!   `config/genesis.json`, keys, `data/`).
//! - `DIR/data/state/`: the app's state (JMT on RocksDB).
//! - `DIR/cometbft.log`: the spawned CometBFT's stdout and stderr.

pub mod cli;
pub mod cometbft;
pub mod config;
pub mod init;
pub mod start;
pub mod telemetry;
pub mod testnet;
mod toml_lines;

/// A node command's failure, split by who must act: the caller (a usage
/// mistake, exit 2) or the environment (a failure, exit 1).
///
/// Why: `chimerad` promises one-line usage errors with exit code 2, and
/// scripts tell "you called it wrong" from "it broke" by that code.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The arguments are wrong (bad account spec, chain id, port clash,
    /// existing home without `--overwrite`); the message says which.
    #[error("{0}")]
    Usage(String),
    /// Something failed while doing what was asked (a `cometbft` command, I/O,
    /// the state store, the child process).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl NodeError {
    /// The process exit code for this error: 2 for usage, 1 otherwise.
    ///
    /// Why: one mapping shared by every node subcommand.
    pub fn exit_code(&self) -> i32 {
        match self {
            NodeError::Usage(_) => 2,
            NodeError::Failed(_) => 1,
        }
    }

    /// Builds a usage error.
    ///
    /// Why: shorter call sites for the many argument checks.
    pub fn usage(msg: impl Into<String>) -> NodeError {
        NodeError::Usage(msg.into())
    }
}

/// Shorthand for node results.
pub type NodeResult<T> = Result<T, NodeError>;

/// The listen ports of one node, all on 127.0.0.1 for localnets (operators
/// edit the addresses afterwards for public nodes).
///
/// Why: `init` and `testnet` both assign the four ports and must refuse
/// clashes the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// CometBFT P2P (`[p2p] laddr`).
    pub p2p: u16,
    /// CometBFT RPC (`[rpc] laddr`).
    pub rpc: u16,
    /// The app's ABCI socket (`proxy_app`, `abci_address`).
    pub abci: u16,
    /// The app's gRPC query services (`grpc_address`).
    pub grpc: u16,
}

impl Default for Ports {
    /// CometBFT's and the Cosmos SDK's customary ports.
    fn default() -> Self {
        Ports {
            p2p: 26656,
            rpc: 26657,
            abci: 26658,
            grpc: 9090,
        }
    }
}

impl Ports {
    /// Refuses port 0 and any port used twice.
    ///
    /// Why: a clash would surface only at `start` as an obscure bind error
    /// in one of two processes.
    pub fn validate(&self) -> NodeResult<()> {
        let named = [
            (self.p2p, "--p2p-port"),
            (self.rpc, "--rpc-port"),
            (self.abci, "--abci-port"),
            (self.grpc, "--grpc-port"),
        ];
        for (i, (p, name)) in named.iter().enumerate() {
            if *p == 0 {
                return Err(NodeError::usage(format!("{name} must not be 0")));
            }
            if let Some((_, other)) = named[..i].iter().find(|(q, _)| q == p) {
                return Err(NodeError::usage(format!("{other} and {name} are both {p}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_refuse_zero_and_clashes() {
        assert!(Ports::default().validate().is_ok());
        let clash = Ports {
            grpc: 26657,
            ..Ports::default()
        };
        let e = clash.validate().unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string()
                .contains("--rpc-port and --grpc-port are both 26657"),
            "{e}"
        );
        let zero = Ports {
            abci: 0,
            ..Ports::default()
        };
        assert!(zero.validate().unwrap_err().to_string().contains("--abci-port"));
    }
}
