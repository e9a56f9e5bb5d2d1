//! `BlobStore`: content-addressed blobs in RocksDB.
//!
//! Column families (`layout`):
//! - `meta`: blob hash (32 bytes) → canonical `BlobMeta` (size, chunk size,
//!   data id, created height, encoding, chunk hashes, check).
//! - `chunks`: `data_id u64 ‖ chunk_index u32` (big-endian) → chunk bytes.
//!   Chunks are keyed by a data id allocated per write, not by the blob
//!   hash, because the hash is known only after the last byte: the chunks
//!   are written while the blob streams in and become visible when the
//!   `meta` record naming their data id is committed (a rename in one small
//!   WriteBatch, no copy).
//! - `pins`: blob hash → pin count (u64); GC never removes a pinned blob.
//! - `staging`: data id → "" for writes in progress. A write that never
//!   commits (crash, error, dropped writer) leaves its marker; `open`
//!   deletes the marker and its chunks.
//!
//! Crash safety. A blob is visible iff its `meta` record exists, and that
//! record is written, after every chunk is durable, in one batch:
//! - a blob of at most one chunk is one WriteBatch (chunk + meta);
//! - a larger blob writes its chunks as they arrive (memory: one chunk),
//!   then commits `meta` and removes its staging marker in one batch. With
//!   `FsyncPolicy::Commit` the chunks skip the WAL and the `chunks` memtable
//!   is flushed (synced SST and blob files) before the commit, so the data is
//!   written once; with `FsyncPolicy::Never` they go through the WAL, which
//!   orders them before the commit.
//!
//! Reads re-check integrity: every chunk read is hashed and compared with
//! the hash recorded for it (a one-chunk blob's chunk hash is the blob
//! hash), and metadata carries its own check. Large chunks live in RocksDB
//! blob files (integrated BlobDB), so compaction moves only keys.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, DBRecoveryMode, FlushOptions,
    IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions, DB,
};
use sha2::{Digest, Sha256};
use tracing::field::Empty;

use super::meta::{normalize_encoding, BlobInfo, BlobMeta};
use super::metrics::BlobMetrics;
use super::{BlobError, BlobHash};

/// Column family names and key layout, public for tools and tests that
/// open the database directly.
pub mod layout {
    pub const CF_META: &str = "meta";
    pub const CF_CHUNKS: &str = "chunks";
    pub const CF_PINS: &str = "pins";
    pub const CF_STAGING: &str = "staging";

    /// `data_id ‖ chunk_index`, big-endian, so a blob's chunks are adjacent
    /// and in order.
    pub fn chunk_key(data_id: u64, index: u32) -> [u8; 12] {
        let mut k = [0u8; 12];
        k[..8].copy_from_slice(&data_id.to_be_bytes());
        k[8..].copy_from_slice(&index.to_be_bytes());
        k
    }

    /// The data id and chunk index of a `chunks` key.
    pub fn parse_chunk_key(key: &[u8]) -> Option<(u64, u32)> {
        if key.len() != 12 {
            return None;
        }
        Some((
            u64::from_be_bytes(key[..8].try_into().ok()?),
            u32::from_be_bytes(key[8..].try_into().ok()?),
        ))
    }
}
use layout::*;

/// When the store calls fsync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Never wait for the disk: a put survives the process being killed
    /// (the OS holds the written pages) but not power loss. After power
    /// loss the store is still consistent (no torn blob), only recent puts
    /// may be missing.
    Never,
    /// A put, pin, unpin or GC is durable when it returns (the commit is
    /// synced; a large blob's chunks are flushed to synced files first).
    Commit,
}

impl FromStr for FsyncPolicy {
    type Err = BlobError;
    fn from_str(s: &str) -> Result<Self, BlobError> {
        match s {
            "never" => Ok(FsyncPolicy::Never),
            "commit" => Ok(FsyncPolicy::Commit),
            _ => Err(BlobError::Config(format!(
                "fsync policy {s:?}: expected never or commit"
            ))),
        }
    }
}

impl std::fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FsyncPolicy::Never => "never",
            FsyncPolicy::Commit => "commit",
        })
    }
}

/// Chunks at least this big are hashed on a second thread while the
/// writer's thread hashes the blob and stores the chunk.
const PARALLEL_HASH_MIN: usize = 256 << 10;

pub use super::wire::{PutOutcome, MAX_CHUNK_SIZE};

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Bytes per chunk (default 1 MiB): the unit of storage, of read
    /// verification and of memory per reader or writer.
    pub chunk_size: u32,
    /// Puts past this many bytes fail with `TooLarge` (default 1 GiB).
    pub max_blob_size: u64,
    pub fsync: FsyncPolicy,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            chunk_size: 1 << 20,
            max_blob_size: 1 << 30,
            fsync: FsyncPolicy::Commit,
        }
    }
}

impl StoreConfig {
    fn validate(&self) -> Result<(), BlobError> {
        if self.chunk_size == 0 || self.chunk_size > MAX_CHUNK_SIZE {
            return Err(BlobError::Config(format!(
                "chunk size {} must be 1..={MAX_CHUNK_SIZE}",
                self.chunk_size
            )));
        }
        if self.max_blob_size.div_ceil(u64::from(self.chunk_size)) > u64::from(u32::MAX) {
            return Err(BlobError::Config(
                "max blob size needs more than 2^32 chunks".into(),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: u64,
    pub freed_bytes: u64,
    /// Expired blobs kept because they are pinned.
    pub kept_pinned: u64,
}

/// What `fsck` found. A healthy store has no `corrupt`, `orphan_chunks` or
/// `staging`.
#[derive(Clone, Debug, Default)]
pub struct FsckReport {
    pub blobs: u64,
    pub verified_bytes: u64,
    pub corrupt: Vec<(BlobHash, String)>,
    /// Chunk rows that no committed blob and no write in progress owns.
    pub orphan_chunks: u64,
    /// Writes in progress (always 0 when nothing is writing).
    pub staging: u64,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.corrupt.is_empty() && self.orphan_chunks == 0 && self.staging == 0
    }
}

/// A handle on an open store; clones share it.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: DB,
    config: StoreConfig,
    path: PathBuf,
    next_id: AtomicU64,
    /// Serialises every commit that reads before it writes (exists?, pins,
    /// GC), so a pin and a GC, or two puts of one blob, never interleave.
    commit: Mutex<()>,
    metrics: BlobMetrics,
}

impl BlobStore {
    /// Opens (creating if needed) the store in directory `path`, discarding
    /// any write a crash left unfinished.
    pub fn open(path: impl AsRef<Path>, config: StoreConfig) -> Result<Self, BlobError> {
        config.validate()?;
        tune_malloc();
        let path = path.as_ref().to_path_buf();
        let span = tracing::info_span!("blob_open", path = %path.display());
        let _e = span.enter();

        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(2);
        db_opts.set_max_total_wal_size(256 << 20);
        db_opts.set_wal_recovery_mode(DBRecoveryMode::PointInTime);
        db_opts.set_keep_log_file_num(4);

        let small = Options::default();
        let mut chunks = Options::default();
        chunks.set_compression_type(DBCompressionType::None);
        // Integrated BlobDB: chunk values of 4 KiB and more go to blob files,
        // written once at flush and not rewritten by compaction.
        chunks.set_enable_blob_files(true);
        chunks.set_min_blob_size(4096);
        chunks.set_blob_file_size(256 << 20);
        chunks.set_blob_compression_type(DBCompressionType::None);
        chunks.set_enable_blob_gc(true);
        chunks.set_write_buffer_size(32 << 20);
        chunks.set_max_write_buffer_number(3);
        let mut table = BlockBasedOptions::default();
        table.set_block_size(16 << 10);
        chunks.set_block_based_table_factory(&table);

        let cfs = vec![
            ColumnFamilyDescriptor::new(CF_META, small.clone()),
            ColumnFamilyDescriptor::new(CF_CHUNKS, chunks),
            ColumnFamilyDescriptor::new(CF_PINS, small.clone()),
            ColumnFamilyDescriptor::new(CF_STAGING, small),
        ];
        let db = DB::open_cf_descriptors(&db_opts, &path, cfs)?;
        let store = BlobStore {
            inner: Arc::new(Inner {
                db,
                config,
                path,
                next_id: AtomicU64::new(0),
                commit: Mutex::new(()),
                metrics: BlobMetrics::new(),
            }),
        };
        store
            .recover()
            .inspect_err(|e| store.inner.metrics.error("open", e))?;
        Ok(store)
    }

    /// Drops unfinished writes, then counts blobs and finds the next data id.
    fn recover(&self) -> Result<(), BlobError> {
        let inner = &*self.inner;
        let db = &inner.db;
        let mut max_id: Option<u64> = None;
        let mut bump = |id: u64| max_id = Some(max_id.map_or(id, |m| m.max(id)));

        let staged: Vec<u64> = db
            .iterator_cf(inner.cf(CF_STAGING), IteratorMode::Start)
            .map(|r| r.map(|(k, _)| k))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .filter_map(|k| Some(u64::from_be_bytes(k.as_ref().try_into().ok()?)))
            .collect();
        for id in staged {
            bump(id);
            let mut batch = WriteBatch::default();
            let n = self.delete_chunks_of(&mut batch, id)?;
            batch.delete_cf(inner.cf(CF_STAGING), id.to_be_bytes());
            db.write_opt(batch, &inner.sync_opts())?;
            inner.metrics.recovered_partial_writes.inc();
            tracing::warn!(data_id = id, chunks = n, "discarded a write that never committed");
        }

        let (mut blobs, mut bytes) = (0i64, 0i64);
        for item in db.iterator_cf(inner.cf(CF_META), IteratorMode::Start) {
            let (k, v) = item?;
            let hash = BlobHash::from_slice(&k)?;
            match BlobMeta::decode(&hash, &v) {
                Ok(m) => {
                    bump(m.data_id);
                    blobs += 1;
                    bytes += m.size as i64;
                }
                Err(e) => tracing::error!(%hash, error = %e, "corrupt metadata"),
            }
        }
        if let Some(item) = db.iterator_cf(inner.cf(CF_CHUNKS), IteratorMode::End).next() {
            let (k, _) = item?;
            if let Some((id, _)) = parse_chunk_key(&k) {
                bump(id);
            }
        }
        inner.next_id.store(max_id.map_or(0, |m| m + 1), Ordering::SeqCst);
        inner.metrics.blobs.set(blobs);
        inner.metrics.stored_bytes.set(bytes);
        tracing::info!(blobs, bytes, "blob store open");
        Ok(())
    }

    /// Adds a delete of every chunk row of `data_id` to `batch`.
    fn delete_chunks_of(&self, batch: &mut WriteBatch, data_id: u64) -> Result<u64, BlobError> {
        let inner = &*self.inner;
        let from = chunk_key(data_id, 0);
        let mut n = 0;
        let iter = inner.db.iterator_cf(
            inner.cf(CF_CHUNKS),
            IteratorMode::From(&from[..], rocksdb::Direction::Forward),
        );
        for item in iter {
            let (k, _) = item?;
            match parse_chunk_key(&k) {
                Some((id, _)) if id == data_id => {
                    batch.delete_cf(inner.cf(CF_CHUNKS), &k);
                    n += 1;
                }
                _ => break,
            }
        }
        Ok(n)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn metrics(&self) -> &BlobMetrics {
        &self.inner.metrics
    }

    /// Starts a streaming put. `height` is the block height the blob is
    /// stored at (GC ages blobs from it; no wall clock is involved).
    pub fn writer(&self, encoding: &str, height: u64) -> Result<BlobWriter, BlobError> {
        let encoding = normalize_encoding(encoding).inspect_err(|e| self.inner.metrics.error("put", e))?;
        let span = tracing::info_span!("blob_put", %encoding, height, hash = Empty, size = Empty);
        Ok(BlobWriter {
            store: self.clone(),
            buf: Vec::with_capacity(self.inner.config.chunk_size.min(1 << 20) as usize),
            whole: Sha256::new(),
            size: 0,
            chunk_hashes: Vec::new(),
            staged: None,
            encoding,
            height,
            state: WriterState::Open,
            span,
        })
    }

    /// Puts `data` in one call.
    pub fn put(&self, data: &[u8], encoding: &str, height: u64) -> Result<PutOutcome, BlobError> {
        let mut w = self.writer(encoding, height)?;
        w.write(data)?;
        w.finish()
    }

    /// Puts everything `reader` yields, one chunk in memory at a time.
    pub fn put_reader(
        &self,
        reader: &mut impl Read,
        encoding: &str,
        height: u64,
    ) -> Result<PutOutcome, BlobError> {
        let mut w = self.writer(encoding, height)?;
        let mut buf = vec![0u8; self.inner.config.chunk_size as usize];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            w.write(&buf[..n])?;
        }
        w.finish()
    }

    fn load_meta(&self, hash: &BlobHash) -> Result<Option<BlobMeta>, BlobError> {
        let inner = &*self.inner;
        match inner.db.get_pinned_cf(inner.cf(CF_META), hash.0)? {
            None => Ok(None),
            Some(v) => BlobMeta::decode(hash, &v).map(Some),
        }
    }

    fn load_pins(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let inner = &*self.inner;
        match inner.db.get_pinned_cf(inner.cf(CF_PINS), hash.0)? {
            None => Ok(0),
            Some(v) => v
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| BlobError::corrupt(*hash, "pin count is not 8 bytes")),
        }
    }

    pub fn contains(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        let inner = &*self.inner;
        Ok(inner.db.get_pinned_cf(inner.cf(CF_META), hash.0)?.is_some())
    }

    /// The blob's metadata and pin count.
    pub fn stat(&self, hash: &BlobHash) -> Result<BlobInfo, BlobError> {
        let r = (|| {
            let meta = self.load_meta(hash)?.ok_or(BlobError::NotFound(*hash))?;
            Ok(meta.info(*hash, self.load_pins(hash)?))
        })();
        r.inspect_err(|e| self.inner.metrics.error("stat", e))
    }

    /// A reader over bytes `[offset, offset + length)` of the blob (`length`
    /// `None`: to the end). Each chunk is verified as it is read.
    pub fn reader(&self, hash: &BlobHash, offset: u64, length: Option<u64>) -> Result<BlobReader, BlobError> {
        let r = (|| {
            let meta = self.load_meta(hash)?.ok_or(BlobError::NotFound(*hash))?;
            let size = meta.size;
            let length = match length {
                None if offset <= size => size - offset,
                Some(l) if offset.checked_add(l).is_some_and(|end| end <= size) => l,
                _ => {
                    return Err(BlobError::OutOfRange {
                        hash: *hash,
                        offset,
                        length: length.unwrap_or(0),
                        size,
                    })
                }
            };
            let cs = u64::from(meta.chunk_size);
            let info = meta.info(*hash, 0);
            self.inner.metrics.gets.inc();
            Ok(BlobReader {
                store: self.clone(),
                hash: *hash,
                next: (offset / cs) as u32,
                skip: (offset % cs) as usize,
                remaining: length,
                meta,
                info,
                span: tracing::debug_span!("blob_get", %hash, offset, length),
            })
        })();
        r.inspect_err(|e| self.inner.metrics.error("get", e))
    }

    /// Writes bytes `[offset, offset + length)` of the blob to `out`;
    /// returns how many. On a corrupt chunk, fails before writing any of it.
    pub fn read_to(
        &self,
        hash: &BlobHash,
        offset: u64,
        length: Option<u64>,
        out: &mut impl Write,
    ) -> Result<u64, BlobError> {
        let mut reader = self.reader(hash, offset, length)?;
        let mut n = 0u64;
        while let Some(r) = reader.next_with(|bytes| {
            out.write_all(bytes)?;
            Ok::<_, std::io::Error>(bytes.len() as u64)
        }) {
            n += r??;
        }
        Ok(n)
    }

    /// The whole blob in memory (small blobs; stream big ones).
    pub fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let mut out = Vec::new();
        self.read_to(hash, 0, None, &mut out)?;
        Ok(out)
    }

    /// Adds a pin; returns the new count. GC never removes a pinned blob.
    pub fn pin(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let r = (|| {
            let inner = &*self.inner;
            let _g = inner.lock();
            if !self.contains(hash)? {
                return Err(BlobError::NotFound(*hash));
            }
            let n = self.load_pins(hash)? + 1;
            let mut batch = WriteBatch::default();
            batch.put_cf(inner.cf(CF_PINS), hash.0, n.to_be_bytes());
            inner.db.write_opt(batch, &inner.commit_opts())?;
            Ok(n)
        })();
        r.inspect_err(|e| self.inner.metrics.error("pin", e))
    }

    /// Removes a pin; returns the new count.
    pub fn unpin(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let r = (|| {
            let inner = &*self.inner;
            let _g = inner.lock();
            let n = self.load_pins(hash)?;
            if n == 0 {
                return Err(if self.contains(hash)? {
                    BlobError::NotPinned(*hash)
                } else {
                    BlobError::NotFound(*hash)
                });
            }
            let mut batch = WriteBatch::default();
            if n == 1 {
                batch.delete_cf(inner.cf(CF_PINS), hash.0);
            } else {
                batch.put_cf(inner.cf(CF_PINS), hash.0, (n - 1).to_be_bytes());
            }
            inner.db.write_opt(batch, &inner.commit_opts())?;
            Ok(n - 1)
        })();
        r.inspect_err(|e| self.inner.metrics.error("unpin", e))
    }

    /// Removes every unpinned blob stored more than `retention` heights
    /// before `current_height` (`created_height + retention <
    /// current_height`). Each removal is one atomic batch (metadata and
    /// chunks), so no reader ever sees half a blob.
    pub fn gc(&self, current_height: u64, retention: u64) -> Result<GcReport, BlobError> {
        let span = tracing::info_span!("blob_gc", current_height, retention);
        let _e = span.enter();
        let r = self.gc_inner(current_height, retention);
        match &r {
            Ok(rep) => tracing::info!(
                removed = rep.removed,
                freed_bytes = rep.freed_bytes,
                kept_pinned = rep.kept_pinned,
                "gc done"
            ),
            Err(e) => self.inner.metrics.error("gc", e),
        }
        r
    }

    fn gc_inner(&self, current_height: u64, retention: u64) -> Result<GcReport, BlobError> {
        let inner = &*self.inner;
        let expired = |m: &BlobMeta| m.created_height.saturating_add(retention) < current_height;
        let mut candidates = Vec::new();
        for item in inner.db.iterator_cf(inner.cf(CF_META), IteratorMode::Start) {
            let (k, v) = item?;
            let hash = BlobHash::from_slice(&k)?;
            match BlobMeta::decode(&hash, &v) {
                Ok(m) if expired(&m) => candidates.push(hash),
                Ok(_) => {}
                Err(e) => tracing::error!(%hash, error = %e, "gc skips a blob with corrupt metadata"),
            }
        }
        let mut report = GcReport::default();
        for group in candidates.chunks(256) {
            let _g = inner.lock();
            let mut batch = WriteBatch::default();
            let (mut removed, mut freed) = (0u64, 0u64);
            for hash in group {
                // Re-check under the lock: a put may have renewed it, a pin
                // may have arrived.
                let Some(m) = self.load_meta(hash)? else { continue };
                if !expired(&m) {
                    continue;
                }
                if self.load_pins(hash)? > 0 {
                    report.kept_pinned += 1;
                    continue;
                }
                batch.delete_cf(inner.cf(CF_META), hash.0);
                for i in 0..m.chunk_count() {
                    batch.delete_cf(inner.cf(CF_CHUNKS), chunk_key(m.data_id, i));
                }
                removed += 1;
                freed += m.size;
                tracing::debug!(%hash, size = m.size, created_height = m.created_height, "gc removes");
            }
            if removed > 0 {
                inner.db.write_opt(batch, &inner.commit_opts())?;
                inner.metrics.blobs.sub(removed as i64);
                inner.metrics.stored_bytes.sub(freed as i64);
                inner.metrics.gc_removed.inc_by(removed);
                report.removed += removed;
                report.freed_bytes += freed;
            }
        }
        Ok(report)
    }

    /// Every stored blob's hash, in hash order.
    pub fn hashes(&self) -> Result<Vec<BlobHash>, BlobError> {
        let inner = &*self.inner;
        inner
            .db
            .iterator_cf(inner.cf(CF_META), IteratorMode::Start)
            .map(|item| BlobHash::from_slice(&item?.0))
            .collect()
    }

    /// Reads every blob in full and re-hashes it, and looks for chunk rows
    /// no blob owns. Slow (reads everything); for tests and operators.
    pub fn fsck(&self) -> Result<FsckReport, BlobError> {
        use std::collections::{HashMap, HashSet};
        let inner = &*self.inner;
        let mut report = FsckReport::default();
        let mut owners: HashMap<u64, u32> = HashMap::new();
        for hash in self.hashes()? {
            report.blobs += 1;
            let meta = match self.load_meta(&hash) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    report.corrupt.push((hash, e.to_string()));
                    continue;
                }
            };
            let count = owners.entry(meta.data_id).or_insert(0);
            *count = (*count).max(meta.chunk_count());
            let mut whole = Sha256::new();
            let mut w = HashWriter(&mut whole);
            match self.read_to(&hash, 0, None, &mut w) {
                Ok(n) if n == meta.size && BlobHash(whole.finalize().into()) == hash => {
                    report.verified_bytes += n;
                }
                Ok(_) => report
                    .corrupt
                    .push((hash, "content does not hash to its name".into())),
                Err(e) => report.corrupt.push((hash, e.to_string())),
            }
        }
        let staging: HashSet<u64> = inner
            .db
            .iterator_cf(inner.cf(CF_STAGING), IteratorMode::Start)
            .filter_map(|item| Some(u64::from_be_bytes(item.ok()?.0.as_ref().try_into().ok()?)))
            .collect();
        report.staging = staging.len() as u64;
        for item in inner.db.iterator_cf(inner.cf(CF_CHUNKS), IteratorMode::Start) {
            let (k, _) = item?;
            let owned = match parse_chunk_key(&k) {
                Some((id, idx)) => owners.get(&id).is_some_and(|&n| idx < n) || staging.contains(&id),
                None => false,
            };
            if !owned {
                report.orphan_chunks += 1;
            }
        }
        Ok(report)
    }
}

/// RocksDB (Debian's, on glibc malloc) allocates a fresh buffer of the
/// value's size for every blob-file read and frees it after the copy out.
/// With glibc's defaults those 1 MiB buffers come from mmap or from heap
/// top that is trimmed at once, so every chunk read page-faults 512 times:
/// it halved read throughput in `benches/blob.rs`. Keep such buffers in
/// the heap (up to 16 MiB, the largest chunk) and trim only past 64 MiB
/// free. Process-wide, once; glibc only.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets allocator parameters.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MAX_CHUNK_SIZE as i32 + (1 << 20));
                libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
            }
        });
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Inner {
    fn cf(&self, name: &str) -> &ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column family opened with the store")
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.commit.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_opts(&self) -> WriteOptions {
        let mut o = WriteOptions::default();
        o.set_sync(true);
        o
    }

    /// For chunk reads: every chunk is checked against its SHA-256 right
    /// after, so RocksDB's own CRC pass over the same bytes is redundant.
    fn chunk_read_opts(&self) -> ReadOptions {
        let mut o = ReadOptions::default();
        o.set_verify_checksums(false);
        o
    }

    /// For commits: synced unless the policy is `Never`.
    fn commit_opts(&self) -> WriteOptions {
        let mut o = WriteOptions::default();
        o.set_sync(self.config.fsync == FsyncPolicy::Commit);
        o
    }

    /// For the chunks of a multi-chunk write before its commit.
    fn chunk_opts(&self) -> WriteOptions {
        let mut o = WriteOptions::default();
        // Commit policy: the memtable is flushed (and synced) before the
        // commit, so the WAL would only write the bytes twice.
        o.disable_wal(self.config.fsync == FsyncPolicy::Commit);
        o
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WriterState {
    Open,
    Failed,
    Done,
}

/// A put in progress: `write` any number of times, then `finish`. Holds at
/// most one chunk in memory. Dropping it without `finish` (or after an
/// error) stores nothing and discards what was staged.
pub struct BlobWriter {
    store: BlobStore,
    buf: Vec<u8>,
    whole: Sha256,
    size: u64,
    chunk_hashes: Vec<[u8; 32]>,
    /// Data id, once the first chunk has been staged.
    staged: Option<u64>,
    encoding: String,
    height: u64,
    state: WriterState,
    span: tracing::Span,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), BlobError> {
        let r = self.write_inner(data);
        if let Err(e) = &r {
            self.state = WriterState::Failed;
            self.store.inner.metrics.error("put", e);
            tracing::debug!(parent: &self.span, error = %e, "put failed");
        }
        r
    }

    fn write_inner(&mut self, mut data: &[u8]) -> Result<(), BlobError> {
        if self.state != WriterState::Open {
            return Err(BlobError::Io(std::io::Error::other("write after a failed write")));
        }
        let limit = self.store.inner.config.max_blob_size;
        if self.size + data.len() as u64 > limit {
            return Err(BlobError::TooLarge { limit });
        }
        self.size += data.len() as u64;
        let cs = self.store.inner.config.chunk_size as usize;
        while !data.is_empty() {
            if self.buf.len() == cs {
                self.stage_chunk()?;
            }
            let take = (cs - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Writes the buffered chunk under this write's data id.
    fn stage_chunk(&mut self) -> Result<(), BlobError> {
        let inner = &*self.store.inner;
        let id = match self.staged {
            Some(id) => id,
            None => {
                let id = inner.next_id.fetch_add(1, Ordering::SeqCst);
                // The marker is durable before any chunk can be, so a crash
                // never leaves chunks that `open` would not find.
                let mut batch = WriteBatch::default();
                batch.put_cf(inner.cf(CF_STAGING), id.to_be_bytes(), b"");
                let opts = if inner.config.fsync == FsyncPolicy::Commit {
                    inner.sync_opts()
                } else {
                    WriteOptions::default()
                };
                inner.db.write_opt(batch, &opts)?;
                self.staged = Some(id);
                id
            }
        };
        let key = chunk_key(id, self.chunk_hashes.len() as u32);
        let (buf, whole) = (&self.buf, &mut self.whole);
        let put = |whole: &mut Sha256| {
            whole.update(buf);
            inner
                .db
                .put_cf_opt(inner.cf(CF_CHUNKS), key, buf, &inner.chunk_opts())
        };
        // Two SHA-256 passes over every byte (the blob's and the chunk's):
        // on big chunks, run the chunk's on another core.
        let (hash, put): ([u8; 32], _) = if buf.len() >= PARALLEL_HASH_MIN {
            std::thread::scope(|s| {
                let chunk = s.spawn(|| Sha256::digest(buf));
                let put = put(whole);
                (chunk.join().expect("chunk hash thread").into(), put)
            })
        } else {
            (Sha256::digest(buf).into(), put(whole))
        };
        put?;
        self.chunk_hashes.push(hash);
        self.buf.clear();
        Ok(())
    }

    /// Commits the blob; returns its hash. Idempotent by content: putting
    /// bytes the store already holds writes nothing new (the stored height
    /// is renewed if `height` is later).
    pub fn finish(mut self) -> Result<PutOutcome, BlobError> {
        let r = self.finish_inner();
        match &r {
            Ok(out) => {
                self.state = WriterState::Done;
                let m = &self.store.inner.metrics;
                m.put_bytes.inc_by(out.size);
                m.puts
                    .with_label_values(&[if out.created { "created" } else { "existing" }])
                    .inc();
                if out.created {
                    m.blobs.inc();
                    m.stored_bytes.add(out.size as i64);
                }
                self.span.record("hash", tracing::field::display(out.hash));
                self.span.record("size", out.size);
                tracing::debug!(parent: &self.span, created = out.created, chunks = self.chunk_hashes.len(), "put committed");
            }
            Err(e) => {
                self.state = WriterState::Failed;
                self.store.inner.metrics.error("put", e);
                tracing::warn!(parent: &self.span, error = %e, "put failed");
            }
        }
        r
    }

    fn finish_inner(&mut self) -> Result<PutOutcome, BlobError> {
        if self.state != WriterState::Open {
            return Err(BlobError::Io(std::io::Error::other(
                "finish after a failed write",
            )));
        }
        let store = self.store.clone();
        let inner = &*store.inner;
        let size = self.size;
        if self.staged.is_none() {
            self.whole.update(&self.buf);
        } else {
            self.stage_chunk()?;
            if inner.config.fsync == FsyncPolicy::Commit {
                let mut fo = FlushOptions::default();
                fo.set_wait(true);
                inner.db.flush_cf_opt(inner.cf(CF_CHUNKS), &fo)?;
            }
        }
        let hash = BlobHash(std::mem::take(&mut self.whole).finalize().into());
        let _g = inner.lock();
        let mut batch = WriteBatch::default();
        if let Some(existing) = store.load_meta(&hash)? {
            // Already stored: drop what we staged, renew the height.
            if let Some(id) = self.staged {
                for i in 0..self.chunk_hashes.len() as u32 {
                    batch.delete_cf(inner.cf(CF_CHUNKS), chunk_key(id, i));
                }
                batch.delete_cf(inner.cf(CF_STAGING), id.to_be_bytes());
            }
            if existing.created_height < self.height {
                let renewed = BlobMeta {
                    created_height: self.height,
                    ..existing
                };
                batch.put_cf(inner.cf(CF_META), hash.0, renewed.encode(&hash));
            }
            if !batch.is_empty() {
                inner.db.write_opt(batch, &inner.commit_opts())?;
            }
            self.staged = None;
            return Ok(PutOutcome {
                hash,
                size,
                created: false,
            });
        }
        let data_id = match self.staged {
            Some(id) => {
                batch.delete_cf(inner.cf(CF_STAGING), id.to_be_bytes());
                id
            }
            None => {
                // At most one chunk: chunk and metadata in one batch.
                let id = inner.next_id.fetch_add(1, Ordering::SeqCst);
                if size > 0 {
                    batch.put_cf(inner.cf(CF_CHUNKS), chunk_key(id, 0), &self.buf);
                    self.chunk_hashes.push(hash.0);
                }
                id
            }
        };
        let meta = BlobMeta {
            size,
            chunk_size: inner.config.chunk_size,
            data_id,
            created_height: self.height,
            encoding: self.encoding.clone(),
            chunk_hashes: std::mem::take(&mut self.chunk_hashes),
        };
        batch.put_cf(inner.cf(CF_META), hash.0, meta.encode(&hash));
        inner.db.write_opt(batch, &inner.commit_opts())?;
        self.chunk_hashes = meta.chunk_hashes;
        self.staged = None;
        Ok(PutOutcome {
            hash,
            size,
            created: true,
        })
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        let Some(id) = self.staged.take() else { return };
        // Unfinished: discard the staged chunks (if this fails too, `open`
        // will, from the staging marker).
        let inner = &*self.store.inner;
        let mut batch = WriteBatch::default();
        for i in 0..self.chunk_hashes.len() as u32 {
            batch.delete_cf(inner.cf(CF_CHUNKS), chunk_key(id, i));
        }
        batch.delete_cf(inner.cf(CF_STAGING), id.to_be_bytes());
        if let Err(e) = inner.db.write_opt(batch, &WriteOptions::default()) {
            tracing::warn!(parent: &self.span, data_id = id, error = %e, "could not discard an unfinished put");
        }
    }
}

/// A verified read of a blob or a range of it, one chunk at a time.
pub struct BlobReader {
    store: BlobStore,
    hash: BlobHash,
    meta: BlobMeta,
    info: BlobInfo,
    next: u32,
    /// Bytes to skip at the start of the first chunk.
    skip: usize,
    remaining: u64,
    span: tracing::Span,
}

impl BlobReader {
    /// The blob's metadata (pins not filled in).
    pub fn info(&self) -> &BlobInfo {
        &self.info
    }

    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Reads and verifies the next chunk and hands its part of the range to
    /// `f`, without copying. `None` at the end; after an error, `None`.
    pub fn next_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<Result<R, BlobError>> {
        if self.remaining == 0 {
            return None;
        }
        let store = self.store.clone();
        let inner = &*store.inner;
        let index = self.next;
        let fail = |this: &mut Self, e: BlobError| {
            this.remaining = 0;
            inner.metrics.error("get", &e);
            if matches!(e, BlobError::Corrupt { .. }) {
                tracing::error!(parent: &this.span, chunk = index, error = %e, "integrity check failed");
            }
            Some(Err(e))
        };
        let value = match inner.db.get_pinned_cf_opt(
            inner.cf(CF_CHUNKS),
            chunk_key(self.meta.data_id, index),
            &inner.chunk_read_opts(),
        ) {
            Ok(Some(v)) => v,
            Ok(None) => {
                // Removed by GC while we read, or lost.
                let e = match self.store.contains(&self.hash) {
                    Ok(false) => BlobError::NotFound(self.hash),
                    Ok(true) => BlobError::corrupt(self.hash, format!("chunk {index} is missing")),
                    Err(e) => e,
                };
                return fail(self, e);
            }
            Err(e) => return fail(self, e.into()),
        };
        let expected_len = self.meta.chunk_len(index);
        if value.len() as u64 != expected_len {
            let e = BlobError::corrupt(
                self.hash,
                format!("chunk {index} has {} bytes, expected {expected_len}", value.len()),
            );
            return fail(self, e);
        }
        let digest: [u8; 32] = Sha256::digest(&value).into();
        if digest != self.meta.chunk_hashes[index as usize] {
            return fail(
                self,
                BlobError::corrupt(self.hash, format!("chunk {index} does not match its hash")),
            );
        }
        let start = std::mem::take(&mut self.skip);
        let end = (start as u64 + self.remaining).min(value.len() as u64) as usize;
        self.remaining -= (end - start) as u64;
        self.next += 1;
        inner.metrics.get_bytes.inc_by((end - start) as u64);
        Some(Ok(f(&value[start..end])))
    }
}

impl Iterator for BlobReader {
    type Item = Result<Vec<u8>, BlobError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_with(|b| b.to_vec())
    }
}
