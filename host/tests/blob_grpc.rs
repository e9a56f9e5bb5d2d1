//! BlobService over loopback: a real tonic server and `BlobClient` in one
//! process.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use chimera_host::blob::server::spawn;
use chimera_host::blob::{BlobClient, BlobHash, BlobStore, ClientError, FsyncPolicy, StoreConfig};

mod blob_support;
use blob_support::bytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_stat_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    // Small chunks so a few hundred KiB make many chunks and messages.
    let config = StoreConfig {
        chunk_size: 64 << 10,
        max_blob_size: 4 << 20,
        fsync: FsyncPolicy::Commit,
    };
    let store = BlobStore::open(dir.path(), config).unwrap();
    let height = Arc::new(AtomicU64::new(7));
    let server = spawn(store.clone(), height.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut client = BlobClient::connect(&server.endpoint()).await.unwrap();

    // Bytes, several Put messages (PUT_PIECE is 1 MiB), many chunks.
    let data = bytes(2_500_000, 1);
    let put = client.put_bytes(data.clone(), "safetensors").await.unwrap();
    assert_eq!(put.hash, BlobHash::of(&data));
    assert!(put.created);
    assert_eq!(client.get_bytes(&put.hash).await.unwrap(), data);
    let info = client.stat(&put.hash).await.unwrap();
    assert_eq!(
        (info.size, info.encoding.as_str(), info.created_height),
        (2_500_000, "safetensors", 7)
    );
    assert_eq!(info.chunk_count, 39);
    // Same bytes again: not created.
    assert!(
        !client
            .put_bytes(data.clone(), "safetensors")
            .await
            .unwrap()
            .created
    );

    // Ranges.
    for (off, len) in [
        (0u64, Some(1u64)),
        (65_530, Some(20)),
        (100_000, Some(1_000_000)),
        (2_499_999, None),
        (2_500_000, None),
        (5, Some(0)),
    ] {
        let mut out = Vec::new();
        let (_, n) = client.get_range_to(&put.hash, off, len, &mut out).await.unwrap();
        let end = len.map_or(data.len(), |l| (off + l) as usize);
        assert_eq!(n as usize, end - off as usize);
        assert_eq!(out, &data[off as usize..end], "{off} {len:?}");
    }
    let mut out = Vec::new();
    assert!(matches!(
        client.get_range_to(&put.hash, 2_500_001, None, &mut out).await,
        Err(ClientError::OutOfRange(_))
    ));

    // From a reader (a file), and the empty blob.
    let path = dir.path().join("input.bin");
    let file_data = bytes(1_234_567, 2);
    std::fs::write(&path, &file_data).unwrap();
    let f = tokio::fs::File::open(&path).await.unwrap();
    let from_file = client.put_reader(f, "raw").await.unwrap();
    assert_eq!(from_file.hash, BlobHash::of(&file_data));
    assert_eq!(store.get(&from_file.hash).unwrap(), file_data);
    let empty = client.put_bytes(Vec::new(), "").await.unwrap();
    assert_eq!(empty.hash, BlobHash::of(b""));
    assert_eq!(client.get_bytes(&empty.hash).await.unwrap(), b"");
    assert_eq!(client.stat(&empty.hash).await.unwrap().encoding, "raw");

    // Errors map to typed client errors.
    let missing = BlobHash::of(b"missing");
    assert!(
        matches!(client.stat(&missing).await, Err(ClientError::NotFound(m)) if m.contains(&missing.to_hex()))
    );
    assert!(matches!(
        client.get_bytes(&missing).await,
        Err(ClientError::NotFound(_))
    ));
    let too_big = bytes((4 << 20) + 1, 3);
    match client.put_bytes(too_big.clone(), "").await {
        Err(ClientError::TooLarge(m)) => assert!(m.contains("limit of 4194304 bytes"), "{m}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let f = {
        let p = dir.path().join("big.bin");
        std::fs::write(&p, &too_big).unwrap();
        tokio::fs::File::open(p).await.unwrap()
    };
    assert!(matches!(
        client.put_reader(f, "").await,
        Err(ClientError::TooLarge(_))
    ));
    assert!(matches!(
        client.put_bytes(Vec::new(), "bad label").await,
        Err(ClientError::Status {
            code: tonic::Code::InvalidArgument,
            ..
        })
    ));

    // A read error mid-upload cancels the call: nothing is stored.
    struct FailingReader(usize);
    impl tokio::io::AsyncRead for FailingReader {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.0 == 0 {
                return std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")));
            }
            let n = self.0.min(buf.remaining()).min(300_000);
            buf.put_slice(&vec![7u8; n]);
            self.0 -= n;
            std::task::Poll::Ready(Ok(()))
        }
    }
    let before = store.hashes().unwrap().len();
    assert!(matches!(
        client.put_reader(FailingReader(2_000_000), "").await,
        Err(ClientError::Io(_))
    ));
    // The server sees the cancellation asynchronously.
    for _ in 0..100 {
        if store.fsck().unwrap().is_clean() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(store.hashes().unwrap().len(), before);
    let report = store.fsck().unwrap();
    assert!(report.is_clean(), "{report:?}");

    let metrics = store.metrics().render();
    assert!(metrics.contains("chimera_blob_put_bytes_total"), "{metrics}");
    assert!(
        metrics.contains("chimera_blob_errors_total{kind=\"too_large\",op=\"put\"} 2"),
        "{metrics}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn connecting_to_nothing_is_one_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = BlobClient::connect(&format!("http://127.0.0.1:{port}"))
        .await
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.starts_with("cannot reach the blob service at http://127.0.0.1:"),
        "{text}"
    );
    assert!(!text.contains('\n'));
}
