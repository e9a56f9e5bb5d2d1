//! `BlobError`: every way a blob store operation fails.

use super::BlobHash;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} not found")]
    NotFound(BlobHash),
    #[error("blob is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// Stored bytes or metadata no longer match what was committed. Never
    /// returned for a blob that was merely removed.
    #[error("blob {hash} is corrupt: {detail}")]
    Corrupt { hash: BlobHash, detail: String },
    #[error("range {offset}+{length} is outside blob {hash} of {size} bytes")]
    OutOfRange {
        hash: BlobHash,
        offset: u64,
        length: u64,
        size: u64,
    },
    #[error("invalid blob hash: {0}")]
    InvalidHash(String),
    #[error("invalid encoding label {0:?}: at most 64 printable ASCII characters")]
    InvalidEncoding(String),
    #[error("blob {0} is not pinned")]
    NotPinned(BlobHash),
    #[error("invalid blob store configuration: {0}")]
    Config(String),
    #[cfg(feature = "node")]
    #[error("blob store database: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl BlobError {
    /// A stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            BlobError::NotFound(_) => "not_found",
            BlobError::TooLarge { .. } => "too_large",
            BlobError::Corrupt { .. } => "corrupt",
            BlobError::OutOfRange { .. } => "out_of_range",
            BlobError::InvalidHash(_) => "invalid_hash",
            BlobError::InvalidEncoding(_) => "invalid_encoding",
            BlobError::NotPinned(_) => "not_pinned",
            BlobError::Config(_) => "config",
            #[cfg(feature = "node")]
            BlobError::Db(_) => "db",
            BlobError::Io(_) => "io",
        }
    }

    pub(crate) fn corrupt(hash: BlobHash, detail: impl Into<String>) -> Self {
        BlobError::Corrupt {
            hash,
            detail: detail.into(),
        }
    }
}
