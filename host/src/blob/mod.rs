//! The blob store: content-addressed blobs (named by SHA-256) in RocksDB,
//! served over gRPC (`chimera.blob.v1.BlobService`).
//!
//! - `store`: `BlobStore` — chunked streaming writes committed atomically,
//!   verified (range) reads, pins, height-based GC, crash recovery, fsck.
//! - `meta`: the canonical metadata record and `BlobInfo`.
//! - `server`: the tonic service; `client`: `BlobClient` (relayer, CLI);
//!   `wire`: what both share. Without the `node` feature only `client`,
//!   `wire`, `hash`, `meta` and `error` are built (no RocksDB, no libtorch).
//! - `cli`: `chimerad blob serve|put|get|stat|gc|pin|unpin|fsck`.
//! - `metrics`: Prometheus counters and gauges per store.
//!
//! Nothing here reads a wall clock: ages are block heights passed in.

#[cfg(feature = "node")]
pub mod cli;
pub mod client;
pub mod error;
pub mod hash;
pub mod meta;
#[cfg(feature = "node")]
pub mod metrics;
#[cfg(feature = "node")]
pub mod server;
#[cfg(feature = "node")]
pub mod store;
pub mod wire;

/// Generated from `host/proto/chimera/blob/v1/blob.proto`.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("chimera.blob.v1");
}

pub use client::{BlobClient, ClientError};
pub use error::BlobError;
pub use hash::BlobHash;
pub use meta::BlobInfo;
#[cfg(feature = "node")]
pub use store::{BlobReader, BlobStore, BlobWriter, FsyncPolicy, GcReport, StoreConfig};
pub use wire::PutOutcome;
