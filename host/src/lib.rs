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
