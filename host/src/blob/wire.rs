//! What the BlobService's two ends share: message limits, the put outcome
//! and the `BlobInfo` <-> protobuf mapping. No RocksDB here, so the client
//! builds without the store (`chimera-host` with `default-features = false`,
//! as the `chimera` CLI links it).

use super::proto::{self as pb};
use super::{BlobError, BlobHash, BlobInfo};

/// The largest chunk size accepted (gRPC messages carry one chunk).
pub const MAX_CHUNK_SIZE: u32 = 16 << 20;

/// Messages larger than this are refused by both sides (one chunk of the
/// largest chunk size, plus room for the other fields).
pub const MAX_MESSAGE_BYTES: usize = MAX_CHUNK_SIZE as usize + (64 << 10);

/// The largest Put message accepted (gRPC's usual 4 MiB, plus room for
/// the other fields); `BlobClient` sends 1 MiB pieces.
pub const MAX_PUT_MESSAGE_BYTES: usize = (4 << 20) + (64 << 10);

/// The result of a put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    pub hash: BlobHash,
    pub size: u64,
    /// False when the store already held the blob (its height is renewed).
    pub created: bool,
}

pub fn info_to_proto(i: &BlobInfo) -> pb::BlobInfo {
    pb::BlobInfo {
        sha256: i.hash.0.to_vec(),
        size: i.size,
        encoding: i.encoding.clone(),
        created_height: i.created_height,
        pins: i.pins,
        chunk_size: i.chunk_size,
        chunk_count: i.chunk_count,
    }
}

pub fn info_from_proto(i: &pb::BlobInfo) -> Result<BlobInfo, BlobError> {
    Ok(BlobInfo {
        hash: BlobHash::from_slice(&i.sha256)?,
        size: i.size,
        encoding: i.encoding.clone(),
        created_height: i.created_height,
        pins: i.pins,
        chunk_size: i.chunk_size,
        chunk_count: i.chunk_count,
    })
}
