//! `chimera-host`: the library behind `chimerad` (src/main.rs), so that
//! integration tests, benches and the binary share one build of each module.
//! Each subsystem is one `pub mod` line here.

/// ML inference: registry, deterministic runtime, queue and workers,
/// commitments and sketches.
pub mod executor;

/// The blob store: content-addressed blobs in RocksDB, gRPC BlobService
/// and its client.
pub mod blob;

/// Versioned, verifiable chain state: a Jellyfish Merkle tree on RocksDB,
/// ICS-23 proofs, write buffers.
pub mod state;

/// The host chain: the ABCI 2.0 app, transactions, accounts, bank.
pub mod chain;

/// Running a node: `chimerad init` / `testnet` (homes, CometBFT config and
/// genesis) and `start` (the ABCI server with CometBFT as a supervised
/// child), kept apart from `chain` so the state machine never touches
/// processes or files outside its store.
pub mod node;

/// The Cosmos SDK gRPC query surface (auth, bank, tx, tendermint, staking
/// params, node config), served over tonic and over gRPC-over-ABCI, so that
/// Hermes, cosmjs and Cosmos wallets need nothing chain-specific.
pub mod grpc;
