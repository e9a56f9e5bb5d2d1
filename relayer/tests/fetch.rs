//! `chimera fetch` against a real BlobService (RocksDB store, tonic server
//! on loopback): the verified output is written, a missing or unparseable
//! hash exits 1 with one line and leaves no file behind.

mod support;

use std::path::Path;
use std::process::Output;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use chimera_host::blob::server::spawn;
use chimera_host::blob::{BlobClient, BlobStore, FsyncPolicy, StoreConfig};
use support::chimera;

/// `chimera fetch <hash> --node <node> --out <out>`.
fn fetch(hash: &str, node: &str, out: &Path) -> Output {
    chimera(
        &["fetch", hash, "--node", node, "--out", out.to_str().unwrap()],
        "",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_writes_only_verified_outputs() {
    let db = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        chunk_size: 64 << 10,
        max_blob_size: 8 << 20,
        fsync: FsyncPolicy::Commit,
    };
    let store = BlobStore::open(db.path(), config).unwrap();
    let server = spawn(store, Arc::new(AtomicU64::new(1)), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = server.endpoint();
    // Several chunks, bytes that are not all alike.
    let data: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let put = BlobClient::connect(&endpoint)
        .await
        .unwrap()
        .put_bytes(data.clone(), "application/octet-stream")
        .await
        .unwrap();

    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("output.bin");
    let hash = put.hash.to_string();
    let endpoint2 = endpoint.clone();
    let out2 = out.clone();
    let ok = tokio::task::spawn_blocking(move || fetch(&hash, &endpoint2, &out2))
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), data);

    // A well-formed hash the node does not hold: exit 1, one line, no file.
    let missing = out_dir.path().join("missing.bin");
    let (m, e) = (missing.clone(), endpoint.clone());
    let r = tokio::task::spawn_blocking(move || fetch(&"ab".repeat(32), &e, &m))
        .await
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not found"), "{err}");
    assert!(!missing.exists());
    assert_eq!(
        std::fs::read_dir(out_dir.path()).unwrap().count(),
        1,
        "no partial files left"
    );

    // Not a hash at all.
    let r = tokio::task::spawn_blocking(move || fetch("xyz", &endpoint, Path::new("/dev/null")))
        .await
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("is not a SHA-256"));
    server.shutdown().await.unwrap();
}
