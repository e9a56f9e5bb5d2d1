//! The gRPC `chimera.blob.v1.BlobService`, backed by a `BlobStore`.
//!
//! RocksDB calls block, so the store side runs on blocking threads: a Put
//! writes each piece there while receiving the next; a Get reads chunks
//! there into a channel of two messages. A transfer holds a few messages of
//! memory whatever the blob's size.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prost::bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::proto::blob_service_server::{BlobService, BlobServiceServer};
use super::proto::{self as pb};
pub use super::wire::{info_from_proto, info_to_proto, MAX_MESSAGE_BYTES, MAX_PUT_MESSAGE_BYTES};
use super::{BlobError, BlobHash, BlobStore};

/// The service. `height` is the block height puts are stored at: the node
/// advances it as blocks commit; a standalone `chimerad blob serve` leaves
/// it at 0.
#[derive(Clone)]
pub struct BlobGrpc {
    store: BlobStore,
    height: Arc<AtomicU64>,
}

impl BlobGrpc {
    pub fn new(store: BlobStore, height: Arc<AtomicU64>) -> Self {
        BlobGrpc { store, height }
    }

    /// The tonic service with message limits set.
    pub fn into_service(self) -> BlobServiceServer<Self> {
        BlobServiceServer::new(self)
            .max_decoding_message_size(MAX_PUT_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// Serves BlobService on `listener` until `shutdown` resolves.
pub async fn serve(
    store: BlobStore,
    height: Arc<AtomicU64>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
        .map_err(|e| anyhow::anyhow!("listener: {e}"))?;
    tonic::transport::Server::builder()
        .add_service(BlobGrpc::new(store, height).into_service())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

/// Binds `addr` and serves in a background task; returns the bound address
/// and a handle that stops the server when dropped or signalled.
pub async fn spawn(
    store: BlobStore,
    height: Arc<AtomicU64>,
    addr: SocketAddr,
) -> anyhow::Result<ServerHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(store, height, listener, async {
        let _ = rx.await;
    }));
    Ok(ServerHandle {
        addr,
        stop: Some(tx),
        task,
    })
}

/// A server started by `spawn`.
pub struct ServerHandle {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl ServerHandle {
    /// `http://ADDR`, for `BlobClient::connect`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets calls in flight finish, and waits.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// The gRPC status for a store error.
pub fn status_of(e: &BlobError) -> Status {
    let msg = e.to_string();
    match e {
        BlobError::NotFound(_) => Status::not_found(msg),
        BlobError::TooLarge { .. } => Status::resource_exhausted(msg),
        BlobError::Corrupt { .. } => Status::data_loss(msg),
        BlobError::OutOfRange { .. } => Status::out_of_range(msg),
        BlobError::InvalidHash(_) | BlobError::InvalidEncoding(_) => Status::invalid_argument(msg),
        BlobError::NotPinned(_) => Status::failed_precondition(msg),
        BlobError::Config(_) | BlobError::Db(_) | BlobError::Io(_) => Status::internal(msg),
    }
}

fn joined(e: tokio::task::JoinError) -> Status {
    Status::internal(format!("blob store task failed: {e}"))
}

#[tonic::async_trait]
impl BlobService for BlobGrpc {
    async fn put(
        &self,
        request: Request<Streaming<pb::PutRequest>>,
    ) -> Result<Response<pb::PutResponse>, Status> {
        let peer = request.remote_addr();
        let mut stream = request.into_inner();
        let (encoding, first) = match stream.message().await? {
            Some(m) => (m.encoding, m.data),
            None => (String::new(), Bytes::new()),
        };
        let height = self.height.load(Ordering::SeqCst);
        let writer = self.store.writer(&encoding, height).map_err(|e| status_of(&e))?;
        // Each piece is written on a blocking thread while the next one is
        // received. The writer is owned by this future or by the write in
        // flight, never by a thread that outlives the call: if the client
        // goes away (error, reset, dropped connection) the writer is
        // dropped unfinished, which discards what it staged.
        let mut writer = Some(writer);
        let mut data = first;
        loop {
            let write = if data.is_empty() {
                None
            } else {
                let mut w = writer.take().expect("writer is back after each write");
                Some(tokio::task::spawn_blocking(move || w.write(&data).map(|()| w)))
            };
            let next = stream.message().await;
            if let Some(write) = write {
                match write.await.map_err(joined)? {
                    Ok(w) => writer = Some(w),
                    Err(e) => {
                        tracing::info!(?peer, error = %e, "put refused");
                        return Err(status_of(&e));
                    }
                }
            }
            match next {
                Ok(Some(m)) => data = m.data,
                Ok(None) => break,
                Err(s) => {
                    if let Some(w) = writer.take() {
                        tokio::task::spawn_blocking(move || drop(w));
                    }
                    tracing::info!(?peer, error = %s, "put aborted by the client; nothing stored");
                    return Err(Status::cancelled(format!(
                        "put aborted, nothing stored: {}",
                        s.message()
                    )));
                }
            }
        }
        let writer = writer.take().expect("writer is back after each write");
        let out = tokio::task::spawn_blocking(move || writer.finish())
            .await
            .map_err(joined)?
            .map_err(|e| status_of(&e))?;
        tracing::info!(?peer, hash = %out.hash, size = out.size, created = out.created, "put");
        Ok(Response::new(pb::PutResponse {
            sha256: out.hash.0.to_vec(),
            size: out.size,
            created: out.created,
        }))
    }

    type GetStream = ReceiverStream<Result<pb::GetResponse, Status>>;

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<Self::GetStream>, Status> {
        let req = request.into_inner();
        let hash = BlobHash::from_slice(&req.sha256).map_err(|e| status_of(&e))?;
        let length = (req.length != 0).then_some(req.length);
        let store = self.store.clone();
        let (info, mut reader) = tokio::task::spawn_blocking(move || {
            let info = store.stat(&hash)?;
            Ok::<_, BlobError>((info, store.reader(&hash, req.offset, length)?))
        })
        .await
        .map_err(joined)?
        .map_err(|e| status_of(&e))?;
        tracing::debug!(%hash, offset = req.offset, length = reader.remaining(), "get");
        let (tx, rx) = mpsc::channel(2);
        tokio::task::spawn_blocking(move || {
            let mut info = Some(info_to_proto(&info));
            loop {
                let msg = match reader.next_with(Bytes::copy_from_slice) {
                    None => match info.take() {
                        // An empty range still says what the blob is.
                        Some(i) => Ok(pb::GetResponse {
                            info: Some(i),
                            data: Bytes::new(),
                        }),
                        None => break,
                    },
                    Some(Ok(data)) => Ok(pb::GetResponse {
                        info: info.take(),
                        data,
                    }),
                    Some(Err(e)) => Err(status_of(&e)),
                };
                let stop = msg.is_err();
                if tx.blocking_send(msg).is_err() || stop {
                    break; // client gone, or error sent
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn stat(&self, request: Request<pb::StatRequest>) -> Result<Response<pb::StatResponse>, Status> {
        let hash = BlobHash::from_slice(&request.into_inner().sha256).map_err(|e| status_of(&e))?;
        let store = self.store.clone();
        let info = tokio::task::spawn_blocking(move || store.stat(&hash))
            .await
            .map_err(joined)?
            .map_err(|e| status_of(&e))?;
        Ok(Response::new(pb::StatResponse {
            info: Some(info_to_proto(&info)),
        }))
    }
}
