//! `StateError`: every way a state operation fails.

/// Errors of the state store. `Pruned`, `NotYetCommitted`, `NotLatest` and
/// `EmptyTree` are answers to a query (map them to a query error code);
/// `WrongVersion`, `EmptyKey` and `EmptyValue` are caller bugs; `Db`,
/// `Corrupt` and `Jmt` mean the node cannot trust its state and should stop.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// RocksDB failed (I/O, lock held by another process, ...).
    #[error("state database: {0}")]
    Db(#[from] rocksdb::Error),
    /// Stored bytes do not decode or contradict each other.
    #[error("state database is corrupt: {0}")]
    Corrupt(String),
    /// The version is older than the oldest one `keep_versions` retains.
    #[error("version {version} is pruned (oldest retained version: {oldest})")]
    Pruned { version: u64, oldest: u64 },
    /// The version is newer than the latest commit.
    #[error("version {version} is not committed yet (latest: {latest:?})")]
    NotYetCommitted { version: u64, latest: Option<u64> },
    /// `commit` was given a version other than latest + 1 (1 on an empty store).
    #[error("cannot commit version {version}: the next version is {expected}")]
    WrongVersion { version: u64, expected: u64 },
    /// Keys must be non-empty: ICS-23 cannot prove an empty key.
    #[error("empty key in a change set")]
    EmptyKey,
    /// Values must be non-empty (delete instead): ICS-23 cannot prove an
    /// empty value and ibc-go rejects one.
    #[error("empty value for key {key}")]
    EmptyValue { key: String },
    /// `prefix` reads the latest version only; this snapshot is older.
    #[error("prefix iteration needs the latest version: snapshot is at {version:?}, latest is {latest:?}")]
    NotLatest {
        version: Option<u64>,
        latest: Option<u64>,
    },
    /// ICS-23 has no proof of anything in an empty tree.
    #[error("no ICS-23 proof exists in an empty tree (version {version:?})")]
    EmptyTree { version: Option<u64> },
    /// The Jellyfish Merkle tree failed (a missing node means corruption
    /// unless the version was pruned, which is reported as `Pruned`).
    #[error("jellyfish merkle tree: {0:#}")]
    Jmt(anyhow::Error),
    /// `StorageOptions` or an on-disk format marker is not usable.
    #[error("state store configuration: {0}")]
    Config(String),
}

impl StateError {
    /// A stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            StateError::Db(_) => "db",
            StateError::Corrupt(_) => "corrupt",
            StateError::Pruned { .. } => "pruned",
            StateError::NotYetCommitted { .. } => "not_yet_committed",
            StateError::WrongVersion { .. } => "wrong_version",
            StateError::EmptyKey => "empty_key",
            StateError::EmptyValue { .. } => "empty_value",
            StateError::NotLatest { .. } => "not_latest",
            StateError::EmptyTree { .. } => "empty_tree",
            StateError::Jmt(_) => "jmt",
            StateError::Config(_) => "config",
        }
    }

    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        StateError::Corrupt(detail.into())
    }
}
