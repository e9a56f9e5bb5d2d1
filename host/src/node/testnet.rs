//! `chimerad testnet`: N validator homes on one machine that form one
//! chain.
//!
//! Each node is initialised as by `chimerad init` (its own keys, ports and
//! config); then one genesis listing every node's validator (equal power)
//! replaces each node's own, and every node gets the others as persistent
//! peers. All listeners are on 127.0.0.1, so nothing is exposed.

use std::path::PathBuf;

use anyhow::Context;

use super::cometbft::{self, TESTNET_POWER};
use super::config::NodeConfig;
use super::init::{self, InitOptions, InitReport};
use super::{NodeError, NodeResult, Ports};
use crate::chain::genesis::GenesisAccount;

/// How many ports apart consecutive nodes' port blocks are.
///
/// Why: node i listens on `base + 10*i + {0: P2P, 1: RPC, 2: ABCI, 3: gRPC}`,
/// so with the default base node 0 gets CometBFT's usual 26656/26657/26658
/// and the numbers stay readable.
pub const PORT_STRIDE: u16 = 10;

/// The most validators `testnet` creates.
///
/// Why: a bound that keeps the port blocks in range and catches typos like
/// `--validators 400`.
pub const MAX_VALIDATORS: usize = 64;

/// What `testnet` needs.
#[derive(Debug, Clone)]
pub struct TestnetOptions {
    /// Number of validators (1..=[`MAX_VALIDATORS`]).
    pub validators: usize,
    /// The directory that receives `node0`..`node{N-1}`.
    pub output_dir: PathBuf,
    /// The chain id.
    pub chain_id: String,
    /// The first port of node 0's block.
    pub base_port: u16,
    /// Accounts funded at genesis.
    pub accounts: Vec<GenesisAccount>,
    /// `[consensus] timeout_commit` (Go duration).
    pub timeout_commit: String,
    /// Operator accounts of the first nodes, in node order.
    pub operators: Vec<String>,
    /// The `cometbft` binary.
    pub cometbft: PathBuf,
    /// Replace existing node homes in the output directory.
    pub overwrite: bool,
}

/// The ports of node `i` for a given base port.
///
/// Why: the layout rule in one place, for `testnet` and its callers (the
/// e2e harness computes RPC URLs with it).
pub fn node_ports(base_port: u16, i: usize) -> Option<Ports> {
    let start = u32::from(base_port) + u32::from(PORT_STRIDE) * u32::try_from(i).ok()?;
    let port = |k: u32| u16::try_from(start + k).ok();
    Some(Ports {
        p2p: port(0)?,
        rpc: port(1)?,
        abci: port(2)?,
        grpc: port(3)?,
    })
}

/// The home of node `i` in `output_dir`.
pub fn node_home(output_dir: &std::path::Path, i: usize) -> PathBuf {
    output_dir.join(format!("node{i}"))
}

/// Creates the testnet; returns each node's init report, in order.
///
/// Why: the operator's (and the e2e harness's) one command for a
/// multi-validator localnet.
pub fn testnet(opts: &TestnetOptions) -> NodeResult<Vec<InitReport>> {
    if opts.validators == 0 || opts.validators > MAX_VALIDATORS {
        return Err(NodeError::usage(format!(
            "--validators must be 1 to {MAX_VALIDATORS}, got {}",
            opts.validators
        )));
    }
    if opts.base_port == 0 || node_ports(opts.base_port, opts.validators - 1).is_none() {
        return Err(NodeError::usage(format!(
            "--base-port {} leaves no room for {} nodes of {PORT_STRIDE} ports each below 65536",
            opts.base_port, opts.validators
        )));
    }
    init::validate_chain_id(&opts.chain_id)?;
    // Refuse before creating anything, so a half-built testnet is never left.
    for i in 0..opts.validators {
        let home = node_home(&opts.output_dir, i);
        if let Some(p) = init::node_markers(&home).iter().find(|p| p.exists()) {
            if !opts.overwrite {
                return Err(NodeError::usage(format!(
                    "{} already holds a node (found {}); pass --overwrite to replace the testnet",
                    home.display(),
                    p.display()
                )));
            }
        }
    }

    let mut reports = Vec::with_capacity(opts.validators);
    for i in 0..opts.validators {
        let report = init::init(&InitOptions {
            home: node_home(&opts.output_dir, i),
            chain_id: opts.chain_id.clone(),
            moniker: format!("node{i}"),
            accounts: opts.accounts.clone(),
            ports: node_ports(opts.base_port, i).expect("checked above"),
            timeout_commit: opts.timeout_commit.clone(),
            cometbft: opts.cometbft.clone(),
            overwrite: opts.overwrite,
            operator: None,
        })?;
        reports.push(report);
    }

    // One genesis (node 0's, so one genesis_time) listing every validator.
    let mut genesis = cometbft::read_genesis(&reports[0].cometbft_home)?;
    let validators = reports
        .iter()
        .enumerate()
        .map(|(i, r)| cometbft::genesis_validator(&r.cometbft_home, TESTNET_POWER, &format!("node{i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    genesis["validators"] = serde_json::Value::Array(validators);
    let keys = reports
        .iter()
        .map(|r| init::executor_key_entry(&r.home, &r.cometbft_home))
        .collect::<NodeResult<Vec<_>>>()?;
    if opts.operators.len() > opts.validators {
        return Err(NodeError::usage(format!(
            "{} --operator values for {} validators",
            opts.operators.len(),
            opts.validators
        )));
    }
    let operators: Vec<(String, String)> = opts
        .operators
        .iter()
        .zip(&keys)
        .map(|(op, k)| (op.clone(), k.validator.clone()))
        .collect();
    init::set_operators(&mut genesis, &operators)?;
    init::set_executor_keys(&mut genesis, &keys)?;
    for r in &reports {
        cometbft::write_genesis(&r.cometbft_home, &genesis)?;
    }

    for (i, r) in reports.iter().enumerate() {
        let peers: Vec<String> = reports
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, other)| {
                let p2p = node_ports(opts.base_port, j).expect("checked above").p2p;
                format!("{}@127.0.0.1:{p2p}", other.node_id)
            })
            .collect();
        cometbft::set_persistent_peers(&r.cometbft_home, &peers.join(","))?;
        // Every node can fetch agreed outputs from the others.
        let home = node_home(&opts.output_dir, i);
        let mut cfg = NodeConfig::load(&home)?;
        cfg.executor.blob_peers = (0..opts.validators)
            .filter(|j| *j != i)
            .map(|j| {
                format!(
                    "http://127.0.0.1:{}",
                    node_ports(opts.base_port, j).expect("checked above").grpc
                )
            })
            .collect();
        let path = home.join(super::config::CONFIG_FILE);
        std::fs::write(&path, cfg.render()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_blocks_do_not_overlap_and_stay_in_range() {
        let a = node_ports(26656, 0).unwrap();
        assert_eq!((a.p2p, a.rpc, a.abci, a.grpc), (26656, 26657, 26658, 26659));
        let b = node_ports(26656, 1).unwrap();
        assert_eq!(b.p2p, 26666);
        assert!(node_ports(65532, 0).is_some());
        assert!(node_ports(65533, 0).is_none());
        assert!(node_ports(65500, 3).is_some());
        assert!(node_ports(65510, 3).is_none());
    }
}
