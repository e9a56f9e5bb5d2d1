//! The blob store: content-addressed blobs (named by SHA-256) in RocksDB,
//! served over gRPC (`chimera.blob.v1.BlobService`).
//!
//! - `store`: `BlobStore` — chunked streaming writes committed atomically,
//!   verified (range) reads, pins, height-based GC, crash recovery, fsck.
//! - `meta`: the canonical metadata record and `BlobInfo`.
//! - `server`: the tonic service; `client`: `BlobClient` (relayer, CLI).
//! - `cli`: `chimerad blob serve|put|get|stat|gc|pin|unpin|fsck`.
//! - `metrics`: Prometheus counters and gauges per store.
//!
//! Nothing here reads a wall clock: ages are block heights passed in.

pub mod cli;
pub mod client;
pub mod error;
pub mod hash;
pub mod meta;
pub mod metrics;
pub mod server;
pub mod store;

/// Generated from `host/proto/chimera/blob/v1/blob.proto`.
#[allow(clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("chimera.blob.v1");
}

pub use client::{BlobClient, ClientError};
pub use error::BlobError;
pub use hash::BlobHash;
pub use meta::BlobInfo;
pub use store::{BlobReader, BlobStore, BlobWriter, FsyncPolicy, GcReport, PutOutcome, StoreConfig};
