//! `chimerad blob …`: serve the store, and talk to it.
//!
//! Network commands (`put`, `get`, `stat`) use `--endpoint`
//! (`$CHIMERA_BLOB_ENDPOINT`); store commands (`serve`, `gc`, `pin`,
//! `unpin`, `fsck`) open `--home` directly, so the offline ones fail while
//! `serve` holds the store. Every failure is one line on stderr, exit 1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use super::client::BlobClient;
use super::store::{FsyncPolicy, StoreConfig};
use super::{BlobHash, BlobStore};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9690";
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9690";

#[derive(Subcommand, Debug)]
pub enum BlobCommand {
    /// Serve BlobService (gRPC) from the store under --home.
    Serve {
        /// Node home directory; the store lives in HOME/data/blobs.
        #[arg(long)]
        home: PathBuf,
        /// Address to listen on (port 0: any free port; the bound address is
        /// printed on stdout).
        #[arg(long, default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// `commit`: every put is on disk when it returns; `never`: survives
        /// a process crash but not power loss.
        #[arg(long, default_value = "commit")]
        fsync: FsyncPolicy,
        /// Largest blob accepted, in bytes.
        #[arg(long, default_value_t = 1 << 30)]
        max_blob_size: u64,
        /// Chunk size for new blobs, in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        chunk_size: u32,
        /// Serve Prometheus metrics at http://ADDR/metrics.
        #[arg(long)]
        metrics_listen: Option<SocketAddr>,
    },
    /// Upload FILE; prints its SHA-256.
    Put {
        file: PathBuf,
        #[arg(long, env = "CHIMERA_BLOB_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
        endpoint: String,
        /// Label for how the bytes are encoded (stored with the blob).
        #[arg(long, default_value = "raw")]
        encoding: String,
    },
    /// Download blob HASH to --out (verified against HASH before it is
    /// renamed into place).
    Get {
        hash: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, env = "CHIMERA_BLOB_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
        endpoint: String,
        /// Only bytes from this offset (each chunk is verified by the server).
        #[arg(long)]
        offset: Option<u64>,
        /// Only this many bytes.
        #[arg(long)]
        length: Option<u64>,
    },
    /// Print blob HASH's metadata as JSON.
    Stat {
        hash: String,
        #[arg(long, env = "CHIMERA_BLOB_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
        endpoint: String,
    },
    /// Remove unpinned blobs stored more than --retention heights before
    /// --height (offline: the store must not be served).
    Gc {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        height: u64,
        #[arg(long)]
        retention: u64,
    },
    /// Pin blob HASH so GC keeps it (offline).
    Pin {
        hash: String,
        #[arg(long)]
        home: PathBuf,
    },
    /// Remove one pin from blob HASH (offline).
    Unpin {
        hash: String,
        #[arg(long)]
        home: PathBuf,
    },
    /// Re-read and re-hash every blob; report corruption and leftovers
    /// (offline).
    Fsck {
        #[arg(long)]
        home: PathBuf,
    },
}

/// The store directory under a node home.
pub fn store_dir(home: &Path) -> PathBuf {
    home.join("data").join("blobs")
}

/// Runs a `blob` subcommand; returns the process exit code.
pub fn run(cmd: BlobCommand) -> i32 {
    match run_inner(cmd) {
        Ok(()) => 0,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("error: {}", text.split_whitespace().collect::<Vec<_>>().join(" "));
            1
        }
    }
}

fn parse_hash(s: &str) -> anyhow::Result<BlobHash> {
    Ok(s.parse::<BlobHash>()?)
}

fn open(home: &Path, config: StoreConfig) -> anyhow::Result<BlobStore> {
    let dir = store_dir(home);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    BlobStore::open(&dir, config).map_err(|e| {
        let text = e.to_string();
        if text.contains("lock") {
            anyhow::anyhow!(
                "blob store {} is in use (is `chimerad blob serve` running?): {text}",
                dir.display()
            )
        } else {
            anyhow::anyhow!("cannot open blob store {}: {text}", dir.display())
        }
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run_inner(cmd: BlobCommand) -> anyhow::Result<()> {
    match cmd {
        BlobCommand::Serve {
            home,
            listen,
            fsync,
            max_blob_size,
            chunk_size,
            metrics_listen,
        } => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .try_init();
            let store = open(
                &home,
                StoreConfig {
                    chunk_size,
                    max_blob_size,
                    fsync,
                },
            )?;
            runtime()?.block_on(serve(store, listen, metrics_listen))
        }
        BlobCommand::Put {
            file,
            endpoint,
            encoding,
        } => runtime()?.block_on(async {
            let f = tokio::fs::File::open(&file)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut client = BlobClient::connect(&endpoint).await?;
            let out = client.put_reader(f, &encoding).await?;
            println!("{}", out.hash);
            Ok(())
        }),
        BlobCommand::Get {
            hash,
            out,
            endpoint,
            offset,
            length,
        } => {
            let hash = parse_hash(&hash)?;
            runtime()?.block_on(get(hash, &out, &endpoint, offset, length))
        }
        BlobCommand::Stat { hash, endpoint } => {
            let hash = parse_hash(&hash)?;
            runtime()?.block_on(async {
                let info = BlobClient::connect(&endpoint).await?.stat(&hash).await?;
                println!("{}", info.to_json());
                Ok(())
            })
        }
        BlobCommand::Gc {
            home,
            height,
            retention,
        } => {
            let report = open(&home, StoreConfig::default())?.gc(height, retention)?;
            println!(
                "{}",
                serde_json::json!({
                    "removed": report.removed,
                    "freed_bytes": report.freed_bytes,
                    "kept_pinned": report.kept_pinned,
                })
            );
            Ok(())
        }
        BlobCommand::Pin { hash, home } => {
            let hash = parse_hash(&hash)?;
            println!("{}", open(&home, StoreConfig::default())?.pin(&hash)?);
            Ok(())
        }
        BlobCommand::Unpin { hash, home } => {
            let hash = parse_hash(&hash)?;
            println!("{}", open(&home, StoreConfig::default())?.unpin(&hash)?);
            Ok(())
        }
        BlobCommand::Fsck { home } => {
            let r = open(&home, StoreConfig::default())?.fsck()?;
            println!(
                "{}",
                serde_json::json!({
                    "blobs": r.blobs,
                    "verified_bytes": r.verified_bytes,
                    "corrupt": r.corrupt.iter().map(|(h, e)| serde_json::json!({"sha256": h.to_hex(), "error": e})).collect::<Vec<_>>(),
                    "orphan_chunks": r.orphan_chunks,
                    "unfinished_writes": r.staging,
                })
            );
            anyhow::ensure!(r.is_clean(), "the blob store has problems (see the report above)");
            Ok(())
        }
    }
}

async fn serve(
    store: BlobStore,
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    if let Some(m) = metrics_listen {
        let ml = tokio::net::TcpListener::bind(m)
            .await
            .with_context(|| format!("cannot listen on {m}"))?;
        println!("metrics on http://{}/metrics", ml.local_addr()?);
        tokio::spawn(serve_metrics(ml, store.clone()));
    }
    println!("blob service listening on {addr}");
    tracing::info!(%addr, store = %store.path().display(), "blob service listening");
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
    };
    super::server::serve(store, Arc::new(AtomicU64::new(0)), listener, shutdown).await
}

/// A minimal HTTP endpoint: any request gets the metrics text.
async fn serve_metrics(listener: tokio::net::TcpListener, store: BlobStore) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let body = store.metrics().render();
        tokio::spawn(async move {
            let mut req = [0u8; 1024];
            let _ = sock.read(&mut req).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(body.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

async fn get(
    hash: BlobHash,
    out: &Path,
    endpoint: &str,
    offset: Option<u64>,
    length: Option<u64>,
) -> anyhow::Result<()> {
    let mut client = BlobClient::connect(endpoint).await?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "blob".into());
    let tmp = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let mut f = tokio::fs::File::create(&tmp)
        .await
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let r = if offset.is_none() && length.is_none() {
        client.get_to(&hash, &mut f).await.map(|_| ())
    } else {
        client
            .get_range_to(&hash, offset.unwrap_or(0), length, &mut f)
            .await
            .map(|_| ())
    };
    let r = match r {
        Ok(()) => f.sync_all().await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    drop(f);
    if let Err(e) = r {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, out)
        .await
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
