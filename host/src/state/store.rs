//! `Storage` and `Snapshot`: the JMT on RocksDB (layout: [`super::layout`]).
//!
//! Versions are block heights: the first commit is version 1, and jmt sees
//! the empty tree as a null root at version 0 (never stored, supplied by the
//! reader). A commit is one `WriteBatch` holding the new JMT nodes and value
//! entries, the `flat` and preimage updates, the pruning index entries and
//! the metadata (latest version, root, oldest retained version): after a
//! crash the store is at the previous version or the new one, never between.
//!
//! Pruning (`keep_versions = K > 0`): committing `V` makes versions below
//! `V - K + 1` unreadable in that same batch (the metadata moves); the
//! garbage they leave is then deleted in follow-up batches of at most
//! [`PRUNE_CHUNK`] index entries. A crash between them loses nothing: `open`
//! resumes the deletion, and every deletion is idempotent.
//!
//! Concurrency: commits serialise on a mutex. Readers never block on the
//! tree update, only on the short window in which the batch is written and
//! the latest version moves (a read lock), so a reader of the latest
//! version sees `flat` and the version number agree. Reads of older versions
//! check after reading that the version was not pruned meanwhile.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jmt::storage::{HasPreimage, LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Sha256Jmt};
use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBRecoveryMode, Direction, IteratorMode,
    Options, ReadOptions, WriteBatch, WriteOptions, DB,
};
use sha2::Sha256;

use super::codec;
use super::layout::*;
use super::proof::{app_hash_proof, AppHash, EMPTY_TREE_ROOT};
use super::StateError;

/// A block's writes: key → new value, or None to delete the key.
pub type Changes = std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Key-ordered `(key, value)` pairs, as prefix iteration returns them.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// At most this many `stale` index entries are handled per pruning batch,
/// so a large backlog (say after lowering `keep_versions`) never builds one
/// huge batch.
pub const PRUNE_CHUNK: usize = 4096;

/// How a store keeps history and how durable a commit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageOptions {
    /// How many versions stay readable (with proofs): after committing `V`,
    /// versions `V - keep_versions + 1 ..= V`. 0 keeps every version. IBC
    /// relayers query proofs at recent heights only, so a few hundred
    /// versions suffice for a validator; an archive node keeps all.
    pub keep_versions: u64,
    /// fsync the write-ahead log on every commit. Without it a commit
    /// survives the process being killed but maybe not power loss (CometBFT
    /// then replays the lost blocks, which the app must be able to redo).
    pub sync: bool,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            keep_versions: 0,
            sync: true,
        }
    }
}

/// A computed but unwritten version: what `FinalizeBlock` hashes and
/// `Commit` writes (see [`Storage::prepare_commit`]).
pub struct PreparedCommit {
    /// Identifies the `Storage` that prepared it (the address of its shared
    /// state), so that it cannot be applied to another store.
    store: usize,
    version: u64,
    root: [u8; 32],
    oldest: u64,
    changes: usize,
    batch: Vec<u8>,
}

impl PreparedCommit {
    /// The version it will become.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The app hash the version will have (what `FinalizeBlock` returns).
    pub fn app_hash(&self) -> AppHash {
        AppHash::from_root(self.root)
    }

    /// The JMT root the version will have.
    pub fn root_hash(&self) -> [u8; 32] {
        self.root
    }
}

impl std::fmt::Debug for PreparedCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCommit")
            .field("version", &self.version)
            .field("app_hash", &self.app_hash())
            .field("changes", &self.changes)
            .field("batch_bytes", &self.batch.len())
            .finish()
    }
}

/// The versioned state store; clones share one open database.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    db: DB,
    opts: StorageOptions,
    path: PathBuf,
    /// Serialises commits and pruning.
    commit: Mutex<()>,
    versions: RwLock<Versions>,
}

#[derive(Clone, Copy, Debug)]
struct Versions {
    latest: Option<u64>,
    /// JMT root of `latest` (the empty-tree root before the first commit).
    latest_root: [u8; 32],
    /// Versions below this are pruned; 1 while nothing is.
    oldest: u64,
}

impl Storage {
    /// Opens (creating if needed) the store in directory `path`, checks
    /// that the latest version's root node matches its recorded root, and
    /// finishes any pruning a crash interrupted (or that a smaller
    /// `keep_versions` now asks for).
    pub fn open(path: &Path, opts: StorageOptions) -> Result<Storage, StateError> {
        let span = tracing::info_span!("state_open", path = %path.display());
        let _e = span.enter();

        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        // Several CFs share the WAL; a CF that is rarely written (meta)
        // would otherwise pin old WAL files.
        db_opts.set_max_total_wal_size(64 << 20);
        db_opts.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
        db_opts.set_keep_log_file_num(4);

        let mut point = Options::default();
        let mut table = BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        point.set_block_based_table_factory(&table);
        let cfs = ALL_CFS
            .iter()
            .map(|name| {
                // Values are read by seek, which bloom filters do not serve.
                let cf_opts = if *name == CF_VALUES {
                    Options::default()
                } else {
                    point.clone()
                };
                ColumnFamilyDescriptor::new(*name, cf_opts)
            })
            .collect::<Vec<_>>();
        let db = DB::open_cf_descriptors(&db_opts, path, cfs)?;

        let meta = db.cf_handle(CF_META).expect("created above");
        let read_u64 = |key: &[u8]| -> Result<Option<u64>, StateError> {
            match db.get_cf(meta, key)? {
                None => Ok(None),
                Some(b) => Ok(Some(u64::from_be_bytes(b.as_slice().try_into().map_err(
                    |_| {
                        StateError::corrupt(format!(
                            "meta {} is {} bytes",
                            String::from_utf8_lossy(key),
                            b.len()
                        ))
                    },
                )?))),
            }
        };
        let latest = read_u64(META_LATEST)?;
        let oldest = read_u64(META_OLDEST)?.unwrap_or(1);
        match db.get_cf(meta, META_FORMAT)? {
            Some(f) if f == FORMAT => {}
            Some(f) => {
                return Err(StateError::Config(format!(
                    "{} holds state format {:?}, this build reads {:?}",
                    path.display(),
                    String::from_utf8_lossy(&f),
                    String::from_utf8_lossy(FORMAT)
                )))
            }
            None if latest.is_none() => {
                let mut wo = WriteOptions::default();
                wo.set_sync(opts.sync);
                db.put_cf_opt(meta, META_FORMAT, FORMAT, &wo)?;
            }
            None => {
                return Err(StateError::corrupt(
                    "format marker missing from a non-empty store",
                ))
            }
        }

        let latest_root = match latest {
            None => EMPTY_TREE_ROOT,
            Some(v) => read_root(&db, v)?
                .ok_or_else(|| StateError::corrupt(format!("no root for latest version {v}")))?,
        };
        let store = Storage {
            inner: Arc::new(Inner {
                db,
                opts,
                path: path.to_path_buf(),
                commit: Mutex::new(()),
                versions: RwLock::new(Versions {
                    latest,
                    latest_root,
                    oldest,
                }),
            }),
        };
        if let Some(v) = latest {
            let reader = TreeStore { inner: &store.inner };
            let node_root = Sha256Jmt::new(&reader)
                .get_root_hash(v)
                .map_err(StateError::Jmt)?;
            if node_root.0 != latest_root {
                return Err(StateError::corrupt(format!(
                    "root node of version {v} hashes to {}, recorded root is {}",
                    hex::encode(node_root.0),
                    hex::encode(latest_root)
                )));
            }
            let _guard = store.inner.lock_commit();
            store.inner.advance_oldest(v)?;
            store.inner.prune()?;
        }
        tracing::info!(latest = ?latest, oldest, keep_versions = opts.keep_versions, "state store open");
        Ok(store)
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> StorageOptions {
        self.inner.opts
    }

    /// The latest committed version; None before the first commit.
    pub fn latest_version(&self) -> Option<u64> {
        self.inner.versions().latest
    }

    /// The oldest version still readable; None before the first commit.
    pub fn oldest_version(&self) -> Option<u64> {
        let v = self.inner.versions();
        v.latest.map(|_| v.oldest)
    }

    /// The latest state: the empty tree (version None) before the first commit.
    pub fn latest_snapshot(&self) -> Snapshot {
        let v = self.inner.versions();
        Snapshot {
            store: self.clone(),
            version: v.latest,
            root: v.latest_root,
        }
    }

    /// The state as of `version`: `Pruned` if `keep_versions` dropped it
    /// (version 0, the empty tree before genesis, counts as pruned),
    /// `NotYetCommitted` if it is newer than the latest commit.
    pub fn snapshot(&self, version: u64) -> Result<Snapshot, StateError> {
        let v = self.inner.versions();
        match v.latest {
            Some(latest) if version <= latest => {}
            latest => return Err(StateError::NotYetCommitted { version, latest }),
        }
        if version < v.oldest || version == 0 {
            return Err(StateError::Pruned {
                version,
                oldest: v.oldest,
            });
        }
        let root = if v.latest == Some(version) {
            v.latest_root
        } else {
            let root = read_root(&self.inner.db, version)?;
            self.inner.check_retained(version)?;
            root.ok_or_else(|| {
                StateError::corrupt(format!("no root recorded for retained version {version}"))
            })?
        };
        Ok(Snapshot {
            store: self.clone(),
            version: Some(version),
            root,
        })
    }

    /// The app hash of `version` (errors as [`Storage::snapshot`]).
    pub fn app_hash(&self, version: u64) -> Result<AppHash, StateError> {
        Ok(self.snapshot(version)?.app_hash())
    }

    /// Writes `changes` (None = delete) as `version` (must be latest+1, or
    /// 1 for an empty store) and returns the new app hash. Keys and values
    /// must be non-empty (ICS-23 cannot prove either empty). On error
    /// nothing is written. Equivalent to [`Storage::prepare_commit`] then
    /// [`Storage::apply`].
    pub fn commit(&self, version: u64, changes: Changes) -> Result<AppHash, StateError> {
        let prepared = self.prepare_commit(version, changes)?;
        self.apply(prepared)
    }

    /// Computes `version` from `changes` (rules as [`Storage::commit`])
    /// without writing anything: the app hash for ABCI `FinalizeBlock`, and
    /// the batch that [`Storage::apply`] writes at `Commit`. Dropping it
    /// discards the block.
    pub fn prepare_commit(&self, version: u64, changes: Changes) -> Result<PreparedCommit, StateError> {
        let inner = &*self.inner;
        let _guard = inner.lock_commit();
        let before = inner.versions();
        let expected = before.latest.map_or(1, |v| v + 1);
        if version != expected {
            return Err(StateError::WrongVersion { version, expected });
        }
        for (k, v) in &changes {
            if k.is_empty() {
                return Err(StateError::EmptyKey);
            }
            if v.as_ref().is_some_and(|v| v.is_empty()) {
                return Err(StateError::EmptyValue { key: hex::encode(k) });
            }
        }
        let span = tracing::debug_span!("state_prepare", version, changes = changes.len());
        let _e = span.enter();

        let hashed: Vec<_> = changes
            .iter()
            .map(|(k, v)| (KeyHash::with::<Sha256>(k), k, v))
            .collect();
        let reader = TreeStore { inner };
        let (root, update) = Sha256Jmt::new(&reader)
            .put_value_set(hashed.iter().map(|(h, _, v)| (*h, (*v).clone())), version)
            .map_err(StateError::Jmt)?;

        let (nodes, values, preimages, flat, stale, meta) = (
            inner.cf(CF_NODES),
            inner.cf(CF_VALUES),
            inner.cf(CF_PREIMAGES),
            inner.cf(CF_FLAT),
            inner.cf(CF_STALE),
            inner.cf(CF_META),
        );
        let mut batch = WriteBatch::default();
        for (key, node) in update.node_batch.nodes() {
            let bytes =
                codec::encode(node).map_err(|e| StateError::corrupt(format!("encoding a node: {e}")))?;
            batch.put_cf(nodes, node_key(key), bytes);
        }
        for ((v, hash), value) in update.node_batch.values() {
            batch.put_cf(values, value_key(&hash.0, *v), encode_value(value.as_deref()));
        }
        let mut root_superseded = false;
        let prev_root = root_node_key(version - 1);
        for index in &update.stale_node_index_batch {
            let key = node_key(&index.node_key);
            root_superseded |= key == prev_root;
            batch.put_cf(stale, stale_key(index.stale_since_version, STALE_NODE, &key), []);
        }
        // A version that changes nothing gets a copy of the previous root,
        // and jmt does not index the old one as stale: do it here, or every
        // empty block would leak a node.
        if !root_superseded && version > 1 {
            batch.put_cf(stale, stale_key(version, STALE_NODE, &prev_root), []);
        }
        for (hash, key, value) in &hashed {
            if let Some(prev) = inner.latest_entry_version(hash, version - 1)? {
                batch.put_cf(
                    stale,
                    stale_key(version, STALE_VALUE, &value_key(&hash.0, prev)),
                    [],
                );
            }
            match value {
                Some(v) => {
                    batch.put_cf(flat, key, v);
                    batch.put_cf(preimages, hash.0, key);
                }
                None => {
                    batch.delete_cf(flat, key);
                    batch.put_cf(stale, stale_key(version, STALE_TOMBSTONE, &hash.0), []);
                }
            }
        }
        batch.put_cf(meta, META_LATEST, version.to_be_bytes());
        batch.put_cf(meta, root_key(version), root.0);
        let oldest = inner.oldest_after(version, before.oldest);
        if oldest > before.oldest {
            batch.delete_range_cf(meta, root_key(before.oldest), root_key(oldest));
            batch.put_cf(meta, META_OLDEST, oldest.to_be_bytes());
        }
        Ok(PreparedCommit {
            store: Arc::as_ptr(&self.inner) as usize,
            version,
            root: root.0,
            oldest,
            changes: changes.len(),
            // Kept as bytes: a WriteBatch is not Sync, and the app keeps
            // this between FinalizeBlock and Commit.
            batch: batch.data().to_vec(),
        })
    }

    /// Writes a prepared version (one batch, fsynced if `sync`), makes it
    /// the latest, then prunes. `WrongVersion` if another version was
    /// committed since it was prepared.
    pub fn apply(&self, prepared: PreparedCommit) -> Result<AppHash, StateError> {
        let inner = &*self.inner;
        if prepared.store != Arc::as_ptr(&self.inner) as usize {
            return Err(StateError::Config(
                "a version prepared by another store cannot be applied here".into(),
            ));
        }
        let _guard = inner.lock_commit();
        let version = prepared.version;
        let expected = inner.versions().latest.map_or(1, |v| v + 1);
        if version != expected {
            return Err(StateError::WrongVersion { version, expected });
        }
        let batch = WriteBatch::from_data(&prepared.batch);
        {
            // Readers of the latest version hold the read lock while they
            // read `flat`: the batch and the version move together.
            let mut v = inner.versions.write().unwrap_or_else(PoisonError::into_inner);
            inner.db.write_opt(batch, &inner.write_opts())?;
            *v = Versions {
                latest: Some(version),
                latest_root: prepared.root,
                oldest: prepared.oldest,
            };
        }
        if let Err(e) = inner.prune() {
            // The commit is durable; the garbage stays indexed and the next
            // commit or open retries.
            tracing::error!(error = %e, version, "pruning failed");
        }
        let app_hash = prepared.app_hash();
        tracing::debug!(version, changes = prepared.changes, %app_hash, oldest = prepared.oldest, "committed");
        Ok(app_hash)
    }

    /// Entries per column family (a full scan): for tests, benchmarks and
    /// operators checking that pruning keeps the database bounded.
    pub fn entry_counts(&self) -> Result<Vec<(&'static str, u64)>, StateError> {
        let inner = &*self.inner;
        ALL_CFS
            .iter()
            .map(|name| {
                let mut n = 0u64;
                for item in inner.db.iterator_cf(inner.cf(name), IteratorMode::Start) {
                    item?;
                    n += 1;
                }
                Ok((*name, n))
            })
            .collect()
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.inner.versions();
        f.debug_struct("Storage")
            .field("path", &self.inner.path)
            .field("latest", &v.latest)
            .field("oldest", &v.oldest)
            .field("options", &self.inner.opts)
            .finish()
    }
}

impl Inner {
    fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created at open")
    }

    fn versions(&self) -> Versions {
        *self.versions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_commit(&self) -> std::sync::MutexGuard<'_, ()> {
        self.commit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_opts(&self) -> WriteOptions {
        let mut wo = WriteOptions::default();
        wo.set_sync(self.opts.sync);
        wo
    }

    /// `Pruned` if `version` is no longer readable. Called after a read of
    /// an older version, so data pruned during the read is never returned.
    fn check_retained(&self, version: u64) -> Result<(), StateError> {
        let oldest = self.versions().oldest;
        if version < oldest {
            return Err(StateError::Pruned { version, oldest });
        }
        Ok(())
    }

    /// The oldest version to keep once `latest` is committed.
    fn oldest_after(&self, latest: u64, oldest: u64) -> u64 {
        match self.opts.keep_versions {
            0 => oldest,
            k => oldest.max(latest.saturating_sub(k - 1)).max(1),
        }
    }

    /// Moves `oldest` forward for `latest` (at open, when `keep_versions`
    /// shrank since the last run). Caller holds the commit lock.
    fn advance_oldest(&self, latest: u64) -> Result<(), StateError> {
        let before = self.versions().oldest;
        let oldest = self.oldest_after(latest, before);
        if oldest > before {
            let meta = self.cf(CF_META);
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(meta, root_key(before), root_key(oldest));
            batch.put_cf(meta, META_OLDEST, oldest.to_be_bytes());
            let mut v = self.versions.write().unwrap_or_else(PoisonError::into_inner);
            self.db.write_opt(batch, &self.write_opts())?;
            v.oldest = oldest;
        }
        Ok(())
    }

    /// Deletes everything the `stale` index marks as garbage for the
    /// versions now pruned, in batches. Caller holds the commit lock.
    fn prune(&self) -> Result<(), StateError> {
        let oldest = self.versions().oldest;
        let (nodes, values, preimages, stale) = (
            self.cf(CF_NODES),
            self.cf(CF_VALUES),
            self.cf(CF_PREIMAGES),
            self.cf(CF_STALE),
        );
        let mut total = 0usize;
        loop {
            let mut batch = WriteBatch::default();
            let mut n = 0usize;
            for item in self.db.iterator_cf(stale, IteratorMode::Start) {
                let (key, _) = item?;
                let (since, kind, payload) =
                    parse_stale_key(&key).ok_or_else(|| StateError::corrupt("malformed stale index key"))?;
                // Garbage since `since` is unused by versions >= since.
                if since > oldest || n == PRUNE_CHUNK {
                    break;
                }
                match kind {
                    STALE_NODE => batch.delete_cf(nodes, payload),
                    STALE_VALUE => batch.delete_cf(values, payload),
                    STALE_TOMBSTONE => {
                        let hash: [u8; 32] = payload
                            .try_into()
                            .map_err(|_| StateError::corrupt("malformed tombstone index entry"))?;
                        batch.delete_cf(values, value_key(&hash, since));
                        if !self.has_entry_after(&hash, since)? {
                            batch.delete_cf(preimages, hash);
                        }
                    }
                    other => return Err(StateError::corrupt(format!("unknown stale index kind {other}"))),
                }
                batch.delete_cf(stale, &key);
                n += 1;
            }
            if n == 0 {
                break;
            }
            self.db.write_opt(batch, &WriteOptions::default())?;
            total += n;
            if n < PRUNE_CHUNK {
                break;
            }
        }
        if total > 0 {
            tracing::debug!(entries = total, oldest, "pruned");
        }
        Ok(())
    }

    /// The value of `hash` at `version`: one seek to the newest entry at or
    /// before it.
    fn value_at(&self, hash: &[u8; 32], version: u64) -> Result<Option<Vec<u8>>, StateError> {
        match self.entry_at(hash, version)? {
            None => Ok(None),
            Some((_, entry)) => match decode_value(&entry) {
                Some(v) => Ok(v.map(<[u8]>::to_vec)),
                None => Err(StateError::corrupt(format!(
                    "malformed value entry for key hash {}",
                    hex::encode(hash)
                ))),
            },
        }
    }

    /// The version of the newest entry of `hash` at or before `version`.
    fn latest_entry_version(&self, hash: &KeyHash, version: u64) -> Result<Option<u64>, StateError> {
        Ok(self.entry_at(&hash.0, version)?.map(|(v, _)| v))
    }

    fn entry_at(&self, hash: &[u8; 32], version: u64) -> Result<Option<(u64, Vec<u8>)>, StateError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(value_key(hash, 0).to_vec());
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_VALUES), ro);
        it.seek_for_prev(value_key(hash, version));
        if !it.valid() {
            it.status()?;
            return Ok(None);
        }
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.len() == 40 && k[..32] == hash[..] => Ok(Some((
                u64::from_be_bytes(k[32..].try_into().expect("8 bytes")),
                v.to_vec(),
            ))),
            _ => Ok(None),
        }
    }

    /// Whether `hash` has a value entry newer than `version`.
    fn has_entry_after(&self, hash: &[u8; 32], version: u64) -> Result<bool, StateError> {
        let from = value_key(hash, version + 1);
        let mut it = self
            .db
            .iterator_cf(self.cf(CF_VALUES), IteratorMode::From(&from, Direction::Forward));
        match it.next() {
            Some(item) => Ok(item?.0.starts_with(hash)),
            None => Ok(false),
        }
    }
}

fn read_root(db: &DB, version: u64) -> Result<Option<[u8; 32]>, StateError> {
    let meta = db.cf_handle(CF_META).expect("created at open");
    match db.get_pinned_cf(meta, root_key(version))? {
        None => Ok(None),
        Some(b) => Ok(Some(b.as_ref().try_into().map_err(|_| {
            StateError::corrupt(format!("root of version {version} is {} bytes", b.len()))
        })?)),
    }
}

/// jmt's view of the database.
struct TreeStore<'a> {
    inner: &'a Inner,
}

impl TreeReader for TreeStore<'_> {
    fn get_node_option(&self, node_key_: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = node_key(node_key_);
        match self.inner.db.get_pinned_cf(self.inner.cf(CF_NODES), &key)? {
            Some(bytes) => {
                Ok(Some(codec::decode(&bytes).map_err(|e| {
                    anyhow::anyhow!("corrupt node {node_key_:?}: {e}")
                })?))
            }
            // The empty tree jmt grows version 1 from.
            None if node_key_.version() == 0 && node_key_.nibble_path().is_empty() => Ok(Some(Node::Null)),
            None => Ok(None),
        }
    }

    fn get_value_option(&self, max_version: u64, key_hash: KeyHash) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.inner.value_at(&key_hash.0, max_version)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's state-sync restore asks for it; we do not restore
        // through jmt.
        anyhow::bail!("get_rightmost_leaf is not supported by the state store")
    }
}

impl HasPreimage for TreeStore<'_> {
    fn preimage(&self, key_hash: KeyHash) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.inner.db.get_cf(self.inner.cf(CF_PREIMAGES), key_hash.0)?)
    }
}

/// The state at one version: cheap to clone, keeps the store open, reads
/// never block commits for long. A snapshot of an older version turns into
/// `Pruned` errors once pruning passes it.
#[derive(Clone)]
pub struct Snapshot {
    store: Storage,
    version: Option<u64>,
    root: [u8; 32],
}

impl Snapshot {
    /// The version; None for the empty store.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The latest committed state of the same store (for a reader of an
    /// older version that must list keys, which only the latest can).
    pub fn latest(&self) -> Snapshot {
        self.store.latest_snapshot()
    }

    /// The app hash CometBFT recorded for this version.
    pub fn app_hash(&self) -> AppHash {
        AppHash::from_root(self.root)
    }

    /// The JMT root (the value the app-hash proof proves under `ibc`).
    pub fn root_hash(&self) -> [u8; 32] {
        self.root
    }

    /// The value of `key` at this version. At the latest version it is one
    /// point lookup in `flat`; at an older one, one seek in `jmt_values`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let Some(version) = self.version else {
            return Ok(None);
        };
        let inner = &*self.store.inner;
        {
            let v = inner.versions.read().unwrap_or_else(PoisonError::into_inner);
            if v.latest == Some(version) {
                return Ok(inner.db.get_cf(inner.cf(CF_FLAT), key)?);
            }
        }
        let value = inner.value_at(&KeyHash::with::<Sha256>(key).0, version)?;
        inner.check_retained(version)?;
        Ok(value)
    }

    /// The value of `key` and the two ICS-23 proofs ibc-go chains for the
    /// merkle path `["ibc", key]`: `[jmt existence or non-existence proof of
    /// key, existence proof of "ibc" → JMT root]` (verify with
    /// [`super::verify_membership`] / [`super::verify_non_membership`]
    /// and [`super::proof_specs`]). `EmptyTree` when there is no key at all
    /// at this version.
    pub fn get_with_proof(
        &self,
        key: &[u8],
    ) -> Result<(Option<Vec<u8>>, Vec<ics23::CommitmentProof>), StateError> {
        let version = match self.version {
            Some(v) if self.root != EMPTY_TREE_ROOT => v,
            version => return Err(StateError::EmptyTree { version }),
        };
        let inner = &*self.store.inner;
        inner.check_retained(version)?;
        let reader = TreeStore { inner };
        let result = Sha256Jmt::new(&reader).get_with_ics23_proof(key.to_vec(), version);
        inner.check_retained(version)?;
        let (value, proof) = result.map_err(StateError::Jmt)?;
        Ok((value, vec![proof, app_hash_proof(self.root)]))
    }

    /// Key-ordered `(key, value)` pairs whose key starts with `prefix`.
    /// Reads `flat`, so only the latest version can answer (`NotLatest`
    /// otherwise, including once a newer version is committed); the result
    /// is one consistent point in time.
    pub fn prefix(&self, prefix: &[u8]) -> Result<KeyValues, StateError> {
        let inner = &*self.store.inner;
        let iter = {
            let v = inner.versions.read().unwrap_or_else(PoisonError::into_inner);
            if v.latest != self.version {
                return Err(StateError::NotLatest {
                    version: self.version,
                    latest: v.latest,
                });
            }
            let mut ro = ReadOptions::default();
            if let Some(end) = prefix_end(prefix) {
                ro.set_iterate_upper_bound(end);
            }
            // An iterator reads the state as of its creation: create it
            // while the version cannot move.
            inner.db.iterator_cf_opt(
                inner.cf(CF_FLAT),
                ro,
                IteratorMode::From(prefix, Direction::Forward),
            )
        };
        let mut out = Vec::new();
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("version", &self.version)
            .field("app_hash", &self.app_hash())
            .finish()
    }
}
