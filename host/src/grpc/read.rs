//! How a query reaches committed state, once for both transports: a handler
//! is a plain function of a snapshot and a request; [`grpc`] runs it for a
//! tonic method (off the async runtime, at the height the
//! `x-cosmos-block-height` header asks for) and [`abci`] for an
//! `abci_query` (protobuf bytes in, protobuf bytes out).

use std::sync::Arc;

use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use super::error::{QResult, QueryError};
use crate::state::{Snapshot, Storage};

/// The gRPC header with which SDK clients pick the height of a query, and
/// in which the SDK answers the height it read.
pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

/// A snapshot read loses a race with a commit at most this often before the
/// query gives up (each commit is a block, seconds apart).
const STALE_RETRIES: usize = 3;

/// The mempool's view of the state (the last commit plus the txs CheckTx
/// accepted since) and the height a tx would run at, taken from the app on
/// demand. `Simulate` runs on it, as the SDK simulates on its CheckTx
/// state: a relayer or wallet that pipelines txs estimates each one after
/// the ones still waiting (their sequences, their client updates).
pub type MempoolState = Arc<dyn Fn() -> (crate::state::Delta, u64) + Send + Sync>;

/// What every query handler may use: the store (read through snapshots,
/// never the app), the chain id (for simulations' sign bytes), and the
/// mempool's view for `Simulate` where the server has one.
#[derive(Clone)]
pub struct QueryCtx {
    /// The node's store; queries take snapshots of it.
    pub storage: Storage,
    /// The chain id simulations sign-check against.
    pub chain_id: Arc<str>,
    /// The mempool's view (gRPC server of a node); None for
    /// gRPC-over-ABCI, which runs inside the app's own call.
    pub mempool: Option<MempoolState>,
}

impl QueryCtx {
    /// One per server (gRPC) or per query (ABCI): both fields are cheap
    /// to clone.
    pub fn new(storage: Storage, chain_id: &str) -> QueryCtx {
        QueryCtx {
            storage,
            chain_id: chain_id.into(),
            mempool: None,
        }
    }

    /// The same context, simulating on the mempool's view.
    pub fn with_mempool(mut self, mempool: Option<MempoolState>) -> QueryCtx {
        self.mempool = mempool;
        self
    }

    /// Runs `f` on the state at `height` (0: the latest commit) and returns
    /// its answer with the height read. Key listings only work on the latest
    /// version, so a commit landing mid-read retries a latest-state query on
    /// the new version rather than failing it.
    pub fn read<T>(&self, height: u64, f: impl Fn(&Snapshot) -> QResult<T>) -> QResult<(T, u64)> {
        if height > 0 {
            let snap = self
                .storage
                .snapshot(height)
                .map_err(|e| QueryError::invalid(format!("failed to load state at height {height}; {e}")))?;
            return f(&snap).map(|t| (t, height));
        }
        let mut tries = 0;
        loop {
            let snap = self.storage.latest_snapshot();
            match f(&snap) {
                Err(e) if e.is_stale() && tries < STALE_RETRIES => tries += 1,
                r => return r.map(|t| (t, snap.version().unwrap_or(0))),
            }
        }
    }
}

/// A state query handler: the same function serves gRPC and ABCI.
pub trait StateHandler<Req, Resp>:
    Fn(&QueryCtx, &Snapshot, Req) -> QResult<Resp> + Send + Sync + 'static
{
}
impl<Req, Resp, F> StateHandler<Req, Resp> for F where
    F: Fn(&QueryCtx, &Snapshot, Req) -> QResult<Resp> + Send + Sync + 'static
{
}

/// The height a gRPC request asks for (0 = latest).
fn requested_height<T>(req: &Request<T>) -> QResult<u64> {
    match req.metadata().get(HEIGHT_HEADER) {
        None => Ok(0),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|h| *h >= 0)
            .map(|h| h as u64)
            .ok_or_else(|| QueryError::invalid(format!("invalid {HEIGHT_HEADER} header {v:?}"))),
    }
}

/// Serves one state query over gRPC: on a blocking thread (RocksDB reads
/// block), answering with the height read in `x-cosmos-block-height`.
pub async fn grpc<Req, Resp>(
    q: &QueryCtx,
    req: Request<Req>,
    f: impl StateHandler<Req, Resp>,
) -> Result<Response<Resp>, Status>
where
    Req: Clone + Send + 'static,
    Resp: Send + 'static,
{
    let height = requested_height(&req)?;
    let q = q.clone();
    let req = req.into_inner();
    let (resp, read_height) =
        tokio::task::spawn_blocking(move || q.read(height, |snap| f(&q, snap, req.clone())))
            .await
            .map_err(|e| Status::internal(format!("query task: {e}")))??;
    let mut resp = Response::new(resp);
    resp.metadata_mut()
        .insert(HEIGHT_HEADER, MetadataValue::from(read_height));
    Ok(resp)
}

/// Runs a handler that needs no snapshot (simulation, pure conversions) on
/// a blocking thread.
pub async fn grpc_blocking<Req, Resp, F>(req: Request<Req>, f: F) -> Result<Response<Resp>, Status>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    F: FnOnce(Req) -> QResult<Resp> + Send + 'static,
{
    let req = req.into_inner();
    let resp = tokio::task::spawn_blocking(move || f(req))
        .await
        .map_err(|e| Status::internal(format!("query task: {e}")))??;
    Ok(Response::new(resp))
}

/// Decodes a gRPC-over-ABCI request as the SDK's query router does.
pub fn decode<Req: Message + Default>(data: &[u8]) -> QResult<Req> {
    Req::decode(data)
        .map_err(|e| QueryError::invalid(format!("failed to decode {}: {e}", std::any::type_name::<Req>())))
}

/// Serves one state query from `abci_query` bytes.
pub fn abci<Req, Resp>(
    q: &QueryCtx,
    data: &[u8],
    height: u64,
    f: impl StateHandler<Req, Resp>,
) -> QResult<Vec<u8>>
where
    Req: Message + Default + Clone,
    Resp: Message,
{
    let req: Req = decode(data)?;
    let (resp, _) = q.read(height, |snap| f(q, snap, req.clone()))?;
    Ok(resp.encode_to_vec())
}

/// Serves one query that needs no snapshot from `abci_query` bytes.
pub fn abci_call<Req, Resp>(data: &[u8], f: impl FnOnce(Req) -> QResult<Resp>) -> QResult<Vec<u8>>
where
    Req: Message + Default,
    Resp: Message,
{
    Ok(f(decode(data)?)?.encode_to_vec())
}

/// Implements a tonic query service over a `QueryCtx` newtype (`Svc(pub
/// QueryCtx)`): each `method(Request) -> Response = handler;` serves a
/// [`StateHandler`] through [`grpc`], and each entry of the optional
/// `unimplemented { method(Request) -> Response = status; }` block answers
/// the given `Status`. Saves writing the same async delegation per method.
macro_rules! state_service {
    (
        impl $($trait:ident)::+ for $svc:ident {
            $($method:ident($req:ty) -> $resp:ty = $handler:expr;)*
        }
        $(unimplemented {
            $($um:ident($ureq:ty) -> $uresp:ty = $status:expr;)*
        })?
    ) => {
        #[tonic::async_trait]
        impl $($trait)::+ for $svc {
            $(
                async fn $method(
                    &self,
                    r: ::tonic::Request<$req>,
                ) -> ::std::result::Result<::tonic::Response<$resp>, ::tonic::Status> {
                    $crate::grpc::read::grpc(&self.0, r, $handler).await
                }
            )*
            $($(
                async fn $um(
                    &self,
                    _: ::tonic::Request<$ureq>,
                ) -> ::std::result::Result<::tonic::Response<$uresp>, ::tonic::Status> {
                    Err($status)
                }
            )*)?
        }
    };
}
pub(crate) use state_service;
