//! The blob store on its own: round trips, ranges, integrity checks, GC,
//! pins, size limit, aborted writes, recovery.

use chimera_host::blob::store::layout::{chunk_key, CF_CHUNKS, CF_META, CF_PINS, CF_STAGING};
use chimera_host::blob::{BlobError, BlobHash, BlobStore, FsyncPolicy, StoreConfig};

mod blob_support;
use blob_support::bytes;

const CHUNK: u32 = 1024;

fn config(fsync: FsyncPolicy) -> StoreConfig {
    StoreConfig {
        chunk_size: CHUNK,
        max_blob_size: 64 * 1024,
        fsync,
    }
}

fn open(dir: &std::path::Path) -> BlobStore {
    BlobStore::open(dir, config(FsyncPolicy::Commit)).unwrap()
}

/// Opens the store's RocksDB directly, as an operator (or a bug) could.
fn raw_db(dir: &std::path::Path) -> rocksdb::DB {
    let opts = rocksdb::Options::default();
    rocksdb::DB::open_cf(&opts, dir, [CF_META, CF_CHUNKS, CF_PINS, CF_STAGING]).unwrap()
}

#[test]
fn round_trips_every_shape_under_both_fsync_policies() {
    for fsync in [FsyncPolicy::Commit, FsyncPolicy::Never] {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path(), config(fsync)).unwrap();
        let c = CHUNK as usize;
        for (i, n) in [0, 1, 100, c - 1, c, c + 1, 3 * c, 5 * c + 17]
            .into_iter()
            .enumerate()
        {
            let data = bytes(n, i as u64);
            let out = store.put(&data, "raw", 5).unwrap();
            assert_eq!(out.hash, BlobHash::of(&data), "size {n}");
            assert!(out.created);
            assert_eq!(out.size, n as u64);
            assert_eq!(store.get(&out.hash).unwrap(), data, "size {n} {fsync}");
            let info = store.stat(&out.hash).unwrap();
            assert_eq!(info.size, n as u64);
            assert_eq!(info.chunk_count as usize, n.div_ceil(c));
            assert_eq!(info.created_height, 5);
            assert_eq!(info.encoding, "raw");
            assert_eq!(info.pins, 0);
        }
        assert!(store.fsck().unwrap().is_clean());
        drop(store);
        // And after reopening.
        let store = BlobStore::open(dir.path(), config(fsync)).unwrap();
        assert_eq!(store.hashes().unwrap().len(), 8);
        let report = store.fsck().unwrap();
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(store.metrics().blobs.get(), 8);
    }
}

#[test]
fn streaming_writes_in_odd_pieces_equal_one_put() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let data = bytes(7 * CHUNK as usize + 333, 9);
    let mut w = store.writer("safetensors", 1).unwrap();
    for piece in data.chunks(777) {
        w.write(piece).unwrap();
    }
    w.write(&[]).unwrap();
    let out = w.finish().unwrap();
    assert_eq!(out.hash, BlobHash::of(&data));
    assert_eq!(store.get(&out.hash).unwrap(), data);
    assert_eq!(store.stat(&out.hash).unwrap().encoding, "safetensors");
    // put_reader gives the same blob (already stored: created = false).
    let again = store.put_reader(&mut &data[..], "safetensors", 1).unwrap();
    assert_eq!(again.hash, out.hash);
    assert!(!again.created);
    assert!(store.fsck().unwrap().is_clean());
}

#[test]
fn range_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let c = CHUNK as u64;
    let data = bytes(4 * CHUNK as usize + 100, 3);
    let h = store.put(&data, "", 0).unwrap().hash;
    let size = data.len() as u64;
    let read = |off: u64, len: Option<u64>| {
        let mut out = Vec::new();
        let n = store.read_to(&h, off, len, &mut out).unwrap();
        assert_eq!(n, out.len() as u64);
        out
    };
    for (off, len) in [
        (0, Some(1)),
        (5, Some(10)),
        (c - 1, Some(2)),
        (c, Some(c)),
        (c + 7, Some(2 * c + 50)),
        (size - 1, Some(1)),
        (size, Some(0)),
        (0, Some(0)),
        (3 * c + 5, None),
        (size, None),
        (0, None),
    ] {
        let end = len.map_or(size, |l| off + l) as usize;
        assert_eq!(read(off, len), &data[off as usize..end], "range {off} {len:?}");
    }
    // The iterator form yields at most a chunk at a time.
    let parts: Vec<Vec<u8>> = store
        .reader(&h, 10, Some(3 * c))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(parts.len(), 4);
    assert!(parts.iter().all(|p| p.len() as u64 <= c));
    assert_eq!(parts.concat(), &data[10..10 + 3 * c as usize]);
    for (off, len) in [
        (size + 1, None),
        (size, Some(1)),
        (10, Some(size)),
        (1, Some(u64::MAX)),
    ] {
        assert!(
            matches!(store.reader(&h, off, len), Err(BlobError::OutOfRange { .. })),
            "{off} {len:?}"
        );
    }
    let missing = BlobHash::of(b"not stored");
    assert!(matches!(
        store.reader(&missing, 0, None),
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(store.stat(&missing), Err(BlobError::NotFound(_))));
}

#[test]
fn a_flipped_byte_in_rocksdb_is_detected_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let c = CHUNK as usize;
    let (multi, single) = (bytes(3 * c + 10, 1), bytes(200, 2));
    let (hm, hs, data_id_multi, data_id_single) = {
        let store = open(dir.path());
        let hm = store.put(&multi, "raw", 0).unwrap().hash;
        let hs = store.put(&single, "raw", 0).unwrap().hash;
        // Data ids are allocated in order from 0.
        (hm, hs, 0u64, 1u64)
    };
    {
        let db = raw_db(dir.path());
        let chunks = db.cf_handle(CF_CHUNKS).unwrap();
        for key in [chunk_key(data_id_multi, 1), chunk_key(data_id_single, 0)] {
            let mut v = db.get_cf(chunks, key).unwrap().expect("chunk row");
            v[17] ^= 0x40;
            db.put_cf(chunks, key, v).unwrap();
        }
    }
    let store = open(dir.path());
    for h in [hm, hs] {
        match store.get(&h) {
            Err(BlobError::Corrupt { hash, detail }) => {
                assert_eq!(hash, h);
                assert!(detail.contains("does not match its hash"), "{detail}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    // Ranges are checked chunk by chunk: chunk 1 is bad, chunks 0 and 2 are fine.
    let mut out = Vec::new();
    assert!(matches!(
        store.read_to(&hm, c as u64 + 5, Some(3), &mut out),
        Err(BlobError::Corrupt { .. })
    ));
    out.clear();
    store.read_to(&hm, 0, Some(c as u64), &mut out).unwrap();
    assert_eq!(out, &multi[..c]);
    out.clear();
    store.read_to(&hm, 2 * c as u64, None, &mut out).unwrap();
    assert_eq!(out, &multi[2 * c..]);
    let report = store.fsck().unwrap();
    assert_eq!(report.corrupt.len(), 2, "{report:?}");
    assert_eq!(
        store
            .metrics()
            .errors
            .with_label_values(&["get", "corrupt"])
            .get(),
        5
    );
}

#[test]
fn truncated_or_missing_chunks_and_bad_metadata_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let c = CHUNK as usize;
    let a = bytes(2 * c + 1, 4);
    let b = bytes(2 * c + 1, 5);
    let z = bytes(10, 6);
    let (ha, hb, hz) = {
        let store = open(dir.path());
        (
            store.put(&a, "", 0).unwrap().hash,
            store.put(&b, "", 0).unwrap().hash,
            store.put(&z, "", 0).unwrap().hash,
        )
    };
    {
        let db = raw_db(dir.path());
        let chunks = db.cf_handle(CF_CHUNKS).unwrap();
        let meta = db.cf_handle(CF_META).unwrap();
        // a: last chunk truncated; b: middle chunk gone; z: metadata flipped.
        let mut v = db.get_cf(chunks, chunk_key(0, 2)).unwrap().unwrap();
        v.pop();
        db.put_cf(chunks, chunk_key(0, 2), v).unwrap();
        db.delete_cf(chunks, chunk_key(1, 1)).unwrap();
        let mut m = db.get_cf(meta, hz.0).unwrap().unwrap();
        m[3] ^= 1;
        db.put_cf(meta, hz.0, m).unwrap();
    }
    let store = open(dir.path());
    let detail = |h: &BlobHash| match store.get(h) {
        Err(BlobError::Corrupt { detail, .. }) => detail,
        other => panic!("expected Corrupt, got {other:?}"),
    };
    assert!(
        detail(&ha).contains("has 0 bytes") || detail(&ha).contains("chunk 2 has"),
        "{}",
        detail(&ha)
    );
    assert!(detail(&hb).contains("chunk 1 is missing"));
    assert!(detail(&hz).contains("metadata"));
    assert!(matches!(store.stat(&hz), Err(BlobError::Corrupt { .. })));
}

#[test]
fn size_limit_refuses_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let limit = store.config().max_blob_size as usize;
    // Exactly the limit is fine.
    let ok = bytes(limit, 1);
    store.put(&ok, "", 0).unwrap();
    // One byte more fails, in one write or many.
    let big = bytes(limit + 1, 2);
    assert!(matches!(store.put(&big, "", 0), Err(BlobError::TooLarge { limit: l }) if l == limit as u64));
    let mut w = store.writer("", 0).unwrap();
    let mut err = None;
    for piece in big.chunks(1000) {
        if let Err(e) = w.write(piece) {
            err = Some(e);
            break;
        }
    }
    assert!(matches!(err, Some(BlobError::TooLarge { .. })));
    assert!(w.finish().is_err(), "a failed writer cannot commit");
    assert_eq!(store.hashes().unwrap().len(), 1);
    let report = store.fsck().unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        store
            .metrics()
            .errors
            .with_label_values(&["put", "too_large"])
            .get(),
        2
    );
}

#[test]
fn dropped_writers_leave_nothing_and_recovery_clears_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let mut w = store.writer("", 0).unwrap();
        w.write(&bytes(5 * CHUNK as usize, 1)).unwrap();
        drop(w);
        let r = store.fsck().unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert!(store.hashes().unwrap().is_empty());
    }
    // A crash mid-write leaves a staging marker and chunks: simulate it.
    {
        let db = raw_db(dir.path());
        let staging = db.cf_handle(CF_STAGING).unwrap();
        let chunks = db.cf_handle(CF_CHUNKS).unwrap();
        db.put_cf(staging, 77u64.to_be_bytes(), b"").unwrap();
        for i in 0..3 {
            db.put_cf(chunks, chunk_key(77, i), vec![1u8; CHUNK as usize])
                .unwrap();
        }
    }
    let store = open(dir.path());
    let r = store.fsck().unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!(store.metrics().recovered_partial_writes.get(), 1);
    // Ids keep increasing past the leftovers.
    let data = bytes(3 * CHUNK as usize, 2);
    let h = store.put(&data, "", 0).unwrap().hash;
    assert_eq!(store.get(&h).unwrap(), data);
}

#[test]
fn putting_twice_stores_once_and_renews_the_height() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let data = bytes(4 * CHUNK as usize, 8);
    let first = store.put(&data, "", 10).unwrap();
    let second = store.put(&data, "", 30).unwrap();
    assert!(first.created && !second.created);
    assert_eq!(first.hash, second.hash);
    assert_eq!(store.stat(&first.hash).unwrap().created_height, 30);
    // An older height does not move it back.
    store.put(&data, "", 20).unwrap();
    assert_eq!(store.stat(&first.hash).unwrap().created_height, 30);
    let r = store.fsck().unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!(store.metrics().blobs.get(), 1);
    assert_eq!(store.metrics().puts.with_label_values(&["existing"]).get(), 2);
}

#[test]
fn gc_removes_only_expired_unpinned_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = store.put(&bytes(3 * CHUNK as usize, 1), "", 10).unwrap().hash;
    let old_pinned = store.put(&bytes(100, 2), "", 10).unwrap().hash;
    let young = store.put(&bytes(2 * CHUNK as usize + 1, 3), "", 95).unwrap().hash;
    let edge = store.put(&bytes(10, 4), "", 90).unwrap().hash;
    assert_eq!(store.pin(&old_pinned).unwrap(), 1);
    assert_eq!(store.pin(&old_pinned).unwrap(), 2);
    assert_eq!(store.stat(&old_pinned).unwrap().pins, 2);

    // retention 10 at height 100: removed iff created_height + 10 < 100.
    let r = store.gc(100, 10).unwrap();
    assert_eq!(r.removed, 1);
    assert_eq!(r.freed_bytes, 3 * CHUNK as u64);
    assert_eq!(r.kept_pinned, 1);
    assert!(!store.contains(&old).unwrap());
    assert!(matches!(store.get(&old), Err(BlobError::NotFound(_))));
    for h in [old_pinned, young, edge] {
        assert!(store.contains(&h).unwrap());
    }
    // Unpinned twice, then it goes; `edge` expires at 101.
    assert_eq!(store.unpin(&old_pinned).unwrap(), 1);
    assert_eq!(store.gc(100, 10).unwrap().removed, 0);
    assert_eq!(store.unpin(&old_pinned).unwrap(), 0);
    assert!(matches!(store.unpin(&old_pinned), Err(BlobError::NotPinned(_))));
    let r = store.gc(101, 10).unwrap();
    assert_eq!(r.removed, 2);
    assert!(!store.contains(&old_pinned).unwrap() && !store.contains(&edge).unwrap());
    assert!(store.contains(&young).unwrap());
    let f = store.fsck().unwrap();
    assert!(f.is_clean() && f.blobs == 1, "{f:?}");
    assert_eq!(store.metrics().blobs.get(), 1);
    assert_eq!(store.metrics().gc_removed.get(), 3);
    // Pinning something absent is NotFound.
    assert!(matches!(store.pin(&old), Err(BlobError::NotFound(_))));
    assert!(matches!(store.unpin(&old), Err(BlobError::NotFound(_))));
}

#[test]
fn bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let bad = StoreConfig {
        chunk_size: 0,
        ..StoreConfig::default()
    };
    assert!(matches!(
        BlobStore::open(dir.path(), bad),
        Err(BlobError::Config(_))
    ));
    let store = open(dir.path());
    assert!(matches!(
        store.writer("a b", 0),
        Err(BlobError::InvalidEncoding(_))
    ));
    assert!("xyz".parse::<BlobHash>().is_err());
    assert!("sometimes".parse::<FsyncPolicy>().is_err());
    // A second open of the same directory fails (RocksDB's lock).
    assert!(BlobStore::open(dir.path(), StoreConfig::default()).is_err());
}

#[test]
fn default_config_multi_chunk_round_trip() {
    // 1 MiB chunks: the chunk hash runs on a second thread (big chunks only).
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), StoreConfig::default()).unwrap();
    let data = bytes((3 << 20) + 12_345, 11);
    let mut w = store.writer("raw", 1).unwrap();
    for piece in data.chunks(100_000) {
        w.write(piece).unwrap();
    }
    let out = w.finish().unwrap();
    assert_eq!(out.hash, BlobHash::of(&data));
    assert_eq!(store.stat(&out.hash).unwrap().chunk_count, 4);
    assert_eq!(store.get(&out.hash).unwrap(), data);
    let mut mid = Vec::new();
    store
        .read_to(&out.hash, (1 << 20) - 3, Some((2 << 20) + 6), &mut mid)
        .unwrap();
    assert_eq!(mid, &data[(1 << 20) - 3..(3 << 20) + 3]);
    assert!(store.fsck().unwrap().is_clean());
}

#[test]
fn concurrent_puts_of_the_same_and_different_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let shared = bytes(6 * CHUNK as usize + 5, 100);
    let handles: Vec<_> = (0..6u64)
        .map(|t| {
            let store = store.clone();
            let shared = shared.clone();
            std::thread::spawn(move || {
                let own = bytes(3 * CHUNK as usize + t as usize, 200 + t);
                let mut created = 0;
                for _ in 0..5 {
                    created += store.put(&shared, "", t).unwrap().created as u32;
                    store.put(&own, "", t).unwrap();
                }
                created
            })
        })
        .collect();
    let created: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(created, 1, "exactly one put creates the shared blob");
    assert_eq!(store.hashes().unwrap().len(), 7);
    assert_eq!(store.get(&BlobHash::of(&shared)).unwrap(), shared);
    let r = store.fsck().unwrap();
    assert!(r.is_clean(), "{r:?}");
}
