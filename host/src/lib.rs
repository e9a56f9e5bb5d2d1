//! `chimera-host`: the library behind `chimerad` (src/main.rs), so that
//! integration tests, benches and the binary share one build of each module.
//! Each subsystem is one `pub mod` line here.
//!
//! Feature `node` (default): everything a node runs, with libtorch and
//! RocksDB. Without it (`default-features = false`) only the blob client and
//! its types and the generated query clients of [`services`] are built, so
//! the `chimera` CLI fetches outputs and reads fee records without linking
//! either.

/// ML inference: registry, deterministic runtime, queue and workers,
/// commitments and sketches.
#[cfg(feature = "node")]
pub mod executor;

/// The blob store: content-addressed blobs in RocksDB, gRPC BlobService
/// and its client.
pub mod blob;

/// Generated gRPC services of chimerad's own queries that build without
/// the node (the fees `Query` client for `chimera fees`).
pub mod services;

/// Versioned, verifiable chain state: a Jellyfish Merkle tree on RocksDB,
/// ICS-23 proofs, write buffers.
#[cfg(feature = "node")]
pub mod state;

/// The host chain: the ABCI 2.0 app, transactions, accounts, bank.
#[cfg(feature = "node")]
pub mod chain;

/// IBC core (07-tendermint, connections, channels, packets) and ICS-20
/// transfer on the host chain, with ibc-rs over the JMT state; relayers
/// see an ibc-go chain. `crate::ibc` is this module, `::ibc` is ibc-rs.
#[cfg(feature = "node")]
pub mod ibc;

/// The inference application: jobs from IBC packets and local messages,
/// executed by validators and agreed through vote extensions.
#[cfg(feature = "node")]
pub mod inference;

/// ICS-27 interchain accounts, host side: Terra Classic accounts run
/// `MsgRunInference` here through their controller.
#[cfg(feature = "node")]
pub mod ica;

/// Fees: the price schedule, the split among executors, burn and
/// community, executor faults, and the ICS-20 sends to Terra Classic.
#[cfg(feature = "node")]
pub mod fees;

/// Running a node: `chimerad init` / `testnet` (homes, CometBFT config and
/// genesis) and `start` (the ABCI server with CometBFT as a supervised
/// child), kept apart from `chain` so the state machine never touches
/// processes or files outside its store.
#[cfg(feature = "node")]
pub mod node;

/// The Cosmos SDK gRPC query surface (auth, bank, tx, tendermint, staking
/// params, node config), served over tonic and over gRPC-over-ABCI, so that
/// Hermes, cosmjs and Cosmos wallets need nothing chain-specific.
#[cfg(feature = "node")]
pub mod grpc;
