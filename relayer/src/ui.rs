//! `chimera ui`: the web app's server (docs/ui.md). Serves the built app
//! (`relayer/web/dist`, Preact + Vite) and a small JSON API over chimerad's
//! gRPC, because a browser cannot speak gRPC: the model registry, jobs,
//! executors and their keys, fee totals, and outputs from a BlobService.
//!
//! The server reads and reshapes; it never vouches for an output. `GET
//! /api/blobs/SHA256` returns the bytes exactly as the blob node sent them,
//! unchecked, and the browser hashes them against the commitment the chain
//! agreed on: a node that lies shows up as "verification failed" on the
//! page, not as a quietly repaired download.
//!
//! Exit codes: 0 stopped by SIGTERM/SIGINT, 1 cannot start (no built app,
//! the address is taken), 2 a usage mistake. Errors are one line.

use crate::edge::{init_logs, one_line};
use crate::fees_cli::or_zero;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use base64::Engine as _;
use chimera_host::blob::proto::blob_service_client::BlobServiceClient;
use chimera_host::blob::proto::{self as blobpb};
use chimera_host::services::fees::QueryClient as FeesClient;
use chimera_packets::proto::{self as cproto, fees as feespb};
use chimera_packets::{Acknowledgement, InferenceResult};
use clap::Args;
use cosmrs::proto::cosmos::base::tendermint::v1beta1::service_client::ServiceClient as TmClient;
use serde::Deserialize;
use serde_json::{json, Value};
use tonic::transport::{Channel, Endpoint};

#[path = "ui_history.rs"]
mod history;
#[path = "ui_ica.rs"]
mod ica;
#[path = "ui_terra.rs"]
mod terra;

/// Where the built web app is unless --web-dir says otherwise: the clone's
/// `relayer/web/dist`, as `scripts/setup web` builds it.
const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist");

/// Most jobs one `/api/jobs` call returns, and most it reads to find them.
const MAX_LIMIT: usize = 500;
const SCAN_LIMIT: u64 = 20_000;
/// Jobs per `Jobs` page (the host's maximum is 1000).
const PAGE: u64 = 1000;

/// `chimera ui`.
#[derive(Args, Debug)]
pub struct UiArgs {
    /// A Chimera host node's gRPC endpoint (chimerad's `grpc_address`): the
    /// registry, jobs, executors and fees are read there. The node's
    /// BlobService listens on the same endpoint.
    #[arg(long, env = "CHIMERA_HOST_GRPC", value_name = "GRPC_URL")]
    host_grpc: String,
    /// The BlobService the page's outputs are fetched from (default: the
    /// --host-grpc node). Any node, honest or not: the browser checks every
    /// byte against the commitment on chain.
    #[arg(long, env = "CHIMERA_BLOB_NODE", value_name = "GRPC_URL")]
    blob_node: Option<String>,
    /// Address to serve on. Loopback by default: the API is read-only, but
    /// exposing it is a choice to make on purpose.
    #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDR")]
    listen: SocketAddr,
    /// The built web app (index.html and its assets). The default is this
    /// clone's relayer/web/dist, which `scripts/setup web` builds.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_WEB_DIR)]
    web_dir: PathBuf,
    /// The contract route (the Ask page): Terra Classic and the
    /// inference-requester contract.
    #[command(flatten)]
    terra: terra::TerraArgs,
}

/// A usage mistake found after parsing (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

/// Runs `chimera ui` until SIGTERM/SIGINT; prints its own errors.
pub fn run(args: UiArgs, json_logs: bool) -> ExitCode {
    init_logs(json_logs);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.chain().any(|c| c.downcast_ref::<Usage>().is_some());
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// A lazily connected channel to `url` (the server starts, and says so on
/// every page, while chimerad is down).
fn channel(flag: &str, url: &str) -> Result<Channel, Usage> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Usage(format!(
            "{flag} {url:?} is not a gRPC URL: write it as http://HOST:PORT (chimerad's grpc_address)"
        )));
    }
    Ok(Endpoint::from_shared(url.to_string())
        .map_err(|e| Usage(format!("{flag} {url:?} is not a URL: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect_lazy())
}

struct Ctx {
    host_url: String,
    blob_url: String,
    host: Channel,
    blobs: Channel,
    listen: SocketAddr,
    /// The contract route, with --contract.
    terra: Option<terra::Terra>,
}

type Shared = Arc<Ctx>;

async fn serve(args: UiArgs) -> anyhow::Result<()> {
    let blob_url = args.blob_node.clone().unwrap_or_else(|| args.host_grpc.clone());
    let host = channel("--host-grpc", &args.host_grpc)?;
    let blobs = channel("--blob-node", &blob_url)?;
    let terra = terra::Terra::from_args(&args.terra)?;
    let index = args.web_dir.join("index.html");
    if !index.is_file() {
        anyhow::bail!(
            "no web app at {} (index.html missing): build it with `scripts/setup web`, or name a built one with --web-dir",
            args.web_dir.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let listen = listener.local_addr()?;
    let ctx = Arc::new(Ctx {
        host_url: args.host_grpc.clone(),
        blob_url: blob_url.clone(),
        host,
        blobs,
        listen,
        terra,
    });
    let app = router(ctx, args.web_dir.clone());
    tracing::info!(
        listen = %listen,
        host_grpc = %args.host_grpc,
        blob_node = %blob_url,
        web_dir = %args.web_dir.display(),
        "chimera ui serving"
    );
    println!(
        "chimera ui: http://{listen}/ (chimerad {}, blobs {blob_url})",
        args.host_grpc
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| anyhow::anyhow!("serving on {listen}: {e}"))?;
    tracing::info!("chimera ui stopped");
    Ok(())
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn router(ctx: Shared, web_dir: PathBuf) -> Router {
    let web = Arc::new(web_dir);
    Router::new()
        .route("/api/info", get(info))
        .route("/api/models", get(models))
        .route("/api/jobs", get(jobs))
        .route("/api/jobs/:id", get(job))
        .route("/api/executors", get(executors))
        .route("/api/executor-keys", get(executor_keys))
        .route("/api/fees/totals", get(fee_totals))
        .route("/api/fees/params", get(fee_params))
        .route("/api/denoms", get(denoms))
        .route("/api/fees/history", get(history::fee_history))
        .route("/api/blobs/:sha256", get(blob))
        .route("/api/ask-info", get(terra::ask_info))
        .route("/api/requests/:id", get(terra::request))
        .route("/api/ica-info", get(ica::ica_info))
        .route("/api/ica/:owner", get(ica::ica_account))
        .route("/api/ica-requests/:channel/:sequence", get(ica::ica_request))
        .route("/terra-rpc", any(terra::rpc_proxy))
        .route("/terra-rpc/*rest", any(terra::rpc_proxy))
        .route("/terra-rest/*rest", any(terra::rest_proxy))
        .route("/api/*rest", get(api_unknown))
        .with_state(ctx)
        .fallback(move |req: Request| static_file(web.clone(), req))
        .layer(axum::middleware::from_fn(log_request))
}

/// One log line per request, with its fields.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let t = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let ms = t.elapsed().as_millis() as u64;
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    resp
}

// ------------------------------------------------------------------ errors

/// An API error: `{"error": "..."}` with its status.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// What a failed gRPC call means for the page: not found (404), a bad
/// request (400), or the node is unreachable or failing (502).
fn grpc_error(what: &str, url: &str, s: tonic::Status) -> ApiError {
    use tonic::Code;
    let msg = one_line(s.message());
    match s.code() {
        Code::NotFound => ApiError::new(StatusCode::NOT_FOUND, msg),
        Code::InvalidArgument => ApiError::new(StatusCode::BAD_REQUEST, msg),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("chimerad at {url} is unreachable ({what}: {msg}): start it with scripts/devnet, or point --host-grpc / --blob-node at a running node"),
        ),
        Code::Unimplemented => ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{url} does not serve {what}: is it a chimerad node's gRPC address?"),
        ),
        code => ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{what} on {url} failed: {msg} ({code:?})"),
        ),
    }
}

/// A unary call of `chimera.inference.v1.Query` (its messages are
/// chimera-packets' prost types; `chimera_relayer::ica` calls it the same way).
async fn inference<Req, Resp>(ctx: &Ctx, method: &'static str, req: Req) -> Result<Resp, ApiError>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let what = format!("chimera.inference.v1.Query/{method}");
    let mut g = tonic::client::Grpc::new(ctx.host.clone());
    g.ready()
        .await
        .map_err(|e| grpc_error(&what, &ctx.host_url, tonic::Status::unavailable(e.to_string())))?;
    let path = format!("/chimera.inference.v1.Query/{method}");
    let path = tonic::codegen::http::uri::PathAndQuery::try_from(path)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    g.unary(
        tonic::Request::new(req),
        path,
        tonic::codec::ProstCodec::<Req, Resp>::default(),
    )
    .await
    .map(tonic::Response::into_inner)
    .map_err(|s| grpc_error(&what, &ctx.host_url, s))
}

// ---------------------------------------------------------------- handlers

async fn info(State(ctx): State<Shared>) -> ApiResult {
    let mut tm = TmClient::new(ctx.host.clone());
    let r = tm
        .get_latest_block(cosmrs::proto::cosmos::base::tendermint::v1beta1::GetLatestBlockRequest {})
        .await
        .map_err(|s| grpc_error("cosmos.base.tendermint GetLatestBlock", &ctx.host_url, s))?
        .into_inner();
    let header = r.block.and_then(|b| b.header).unwrap_or_default();
    Ok(Json(json!({
        "chain_id": header.chain_id,
        "height": header.height,
        "time": header.time.map(|t| t.seconds),
        "host_grpc": ctx.host_url,
        "blob_node": ctx.blob_url,
        "listen": ctx.listen.to_string(),
        "contract": ctx.terra.as_ref().map(|t| t.contract.clone()),
        "version": env!("CARGO_PKG_VERSION"),
    })))
}

async fn models(State(ctx): State<Shared>) -> ApiResult {
    let r: cproto::QueryModelsResponse = inference(&ctx, "Models", cproto::QueryModelsRequest {}).await?;
    Ok(Json(
        json!({ "models": r.models.iter().map(model_json).collect::<Vec<_>>() }),
    ))
}

/// A registry entry for the page: what it reads (`input`: `chimerad infer`
/// maps a prompt through the manifest the same way) and what it writes
/// (`output`, from the agreement rule).
fn model_json(m: &cproto::Model) -> Value {
    let sketch = m.sketch.clone().unwrap_or_default();
    // The chain's record of the manifest's input; older registries lack
    // it, and then the task says which.
    let input = match &m.input {
        Some(i) if i.encoding == "text" || i.encoding == "tensor" => i.encoding.as_str(),
        _ if chimera_relayer::ica::task_takes_text(&m.task) => "text",
        _ => "tensor",
    };
    let tensor = m
        .input
        .as_ref()
        .filter(|i| i.encoding == "tensor")
        .map(|i| json!({ "dtype": i.dtype, "shape": i.shape, "bytes": i.max_bytes }));
    let output = match sketch.rule.as_str() {
        "image" => "png",
        "tokens" => "text",
        "classify" | "embedding" => "tensor",
        _ => "unknown",
    };
    json!({
        "id": m.id,
        "sha256": hex::encode(&m.sha256),
        "task": m.task,
        "input": input,
        "tensor": tensor,
        "output": output,
        "max_input_bytes": m.max_input_bytes,
        "sketch": {
            "rule": sketch.rule,
            "levels": sketch.levels,
            "tolerance": sketch.tolerance,
            "thumb": sketch.thumb,
        },
    })
}

fn status_name(s: i32) -> &'static str {
    match cproto::JobStatus::try_from(s) {
        Ok(cproto::JobStatus::Pending) => "pending",
        Ok(cproto::JobStatus::Completed) => "completed",
        Ok(cproto::JobStatus::Failed) => "failed",
        _ => "unspecified",
    }
}

/// A job for the page. `ack` is the ICS-04 acknowledgement the host writes
/// for this outcome (chimera-packets' canonical bytes, base64): the page
/// takes the commitment out of it as it would out of an ack read on the
/// requester's chain.
fn job_json(j: &cproto::Job) -> Value {
    let result = j.result.as_ref().map(|r| {
        let out = r.output.clone().unwrap_or_default();
        let q = r.quorum.unwrap_or_default();
        json!({
            "job_id": r.job_id.to_string(),
            "model_hash": hex::encode(&r.model_hash),
            "output": {
                "sha256": hex::encode(&out.sha256),
                "size": out.size.to_string(),
                "encoding": out.encoding,
            },
            "quorum": {
                "height": q.height.to_string(),
                "agreeing_power": q.agreeing_power.to_string(),
                "total_power": q.total_power.to_string(),
            },
        })
    });
    let ack = j
        .result
        .as_ref()
        .and_then(|r| InferenceResult::try_from(r).ok())
        .map(|r| base64::engine::general_purpose::STANDARD.encode(Acknowledgement::Result(r).to_bytes()));
    json!({
        "id": j.id.to_string(),
        "model": j.model,
        "requester": j.requester,
        "status": status_name(j.status),
        "created_height": j.created_height.to_string(),
        "port_id": j.port_id,
        "channel_id": j.channel_id,
        "sequence": j.sequence.to_string(),
        "result": result,
        "ack": ack,
        "error_code": j.error_code,
        "error": j.error,
    })
}

async fn job(State(ctx): State<Shared>, UrlPath(id): UrlPath<String>) -> ApiResult {
    let id: u64 = id.parse().ok().filter(|&i| i > 0).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a job id (a positive integer)"),
        )
    })?;
    let r: cproto::QueryJobResponse = inference(&ctx, "Job", cproto::QueryJobRequest { job_id: id }).await?;
    let j = r
        .job
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("job {id} not found")))?;
    Ok(Json(json!({ "job": job_json(&j) })))
}

#[derive(Debug, Default, Deserialize)]
struct JobsQuery {
    model: Option<String>,
    requester: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

/// Whether job id `id` exists (ids start at 1 and have no gaps).
async fn job_exists(ctx: &Ctx, id: u64) -> Result<bool, ApiError> {
    match inference::<_, cproto::QueryJobResponse>(ctx, "Job", cproto::QueryJobRequest { job_id: id }).await {
        Ok(r) => Ok(r.job.is_some()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Ok(false),
        Err(e) => Err(e),
    }
}

/// The newest job id (0: none yet), by doubling then bisecting over `Job`.
async fn latest_job_id(ctx: &Ctx) -> Result<u64, ApiError> {
    if !job_exists(ctx, 1).await? {
        return Ok(0);
    }
    let (mut lo, mut hi) = (1u64, 2u64);
    while job_exists(ctx, hi).await? {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if job_exists(ctx, mid).await? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Recent jobs, newest first: reads pages of `Jobs` backwards from the
/// newest id (a page key is the first job id, 8 bytes big-endian) until
/// `limit` match or `SCAN_LIMIT` jobs were read.
async fn jobs(State(ctx): State<Shared>, Query(q): Query<JobsQuery>) -> ApiResult {
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("pending" | "completed" | "failed")) => Some(s.to_string()),
        Some(s) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("status {s:?} is not one of pending, completed, failed"),
            ))
        }
    };
    let model = q.model.filter(|s| !s.is_empty());
    let requester = q.requester.filter(|s| !s.is_empty());
    let latest = latest_job_id(&ctx).await?;
    let mut found: Vec<cproto::Job> = Vec::new();
    let mut next = latest; // the newest id not yet read
    let mut scanned = 0u64;
    while next > 0 && found.len() < limit && scanned < SCAN_LIMIT {
        let first = next.saturating_sub(PAGE - 1).max(1);
        let r: cproto::QueryJobsResponse = inference(
            &ctx,
            "Jobs",
            cproto::QueryJobsRequest {
                requester: String::new(),
                pagination: Some(cproto::PageRequest {
                    key: first.to_be_bytes().to_vec(),
                    limit: (next - first + 1) as u32,
                }),
            },
        )
        .await?;
        scanned += next - first + 1;
        let mut page: Vec<cproto::Job> = r
            .jobs
            .into_iter()
            .filter(|j| j.id >= first && j.id <= next)
            .filter(|j| model.as_deref().is_none_or(|m| j.model == m))
            .filter(|j| requester.as_deref().is_none_or(|a| j.requester == a))
            .filter(|j| status.as_deref().is_none_or(|s| status_name(j.status) == s))
            .collect();
        page.sort_by_key(|j| std::cmp::Reverse(j.id));
        found.extend(page);
        next = first - 1;
    }
    found.truncate(limit);
    Ok(Json(json!({
        "latest_id": latest.to_string(),
        "scanned": scanned,
        "complete": next == 0 || found.len() >= limit,
        "jobs": found.iter().map(job_json).collect::<Vec<_>>(),
    })))
}

/// The height the node says it read (0 if it did not say).
fn read_height<T>(r: &tonic::Response<T>) -> u64 {
    r.metadata()
        .get("x-cosmos-block-height")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn executors(State(ctx): State<Shared>) -> ApiResult {
    let r = FeesClient::new(ctx.host.clone())
        .executors(feespb::QueryExecutorsRequest {})
        .await
        .map_err(|s| grpc_error("chimera.fees.v1.Query/Executors", &ctx.host_url, s))?;
    let height = read_height(&r);
    let list = r.into_inner().executors;
    Ok(Json(json!({
        "height": height,
        "executors": list.iter().map(|e| json!({
            "validator": hex::encode_upper(&e.validator),
            "operator": e.operator,
            "earned": e.earned.iter().map(|c| json!({"denom": c.denom, "amount": or_zero(&c.amount)})).collect::<Vec<_>>(),
            "jobs_paid": e.jobs_paid.to_string(),
            "faults": e.faults.to_string(),
            "excluded": e.excluded,
        })).collect::<Vec<_>>(),
    })))
}

async fn executor_keys(State(ctx): State<Shared>) -> ApiResult {
    let r: cproto::QueryExecutorKeysResponse =
        inference(&ctx, "ExecutorKeys", cproto::QueryExecutorKeysRequest {}).await?;
    Ok(Json(json!({
        "keys": r.keys.iter().map(|k| json!({
            "validator": k.validator,
            "x25519_public_key": hex::encode(&k.x25519_public_key),
        })).collect::<Vec<_>>(),
    })))
}

async fn fee_totals(State(ctx): State<Shared>) -> ApiResult {
    let r = FeesClient::new(ctx.host.clone())
        .totals(feespb::QueryTotalsRequest {})
        .await
        .map_err(|s| grpc_error("chimera.fees.v1.Query/Totals", &ctx.host_url, s))?;
    let height = read_height(&r);
    let totals = r.into_inner().totals;
    Ok(Json(crate::fees_cli::totals_json(&totals, height)))
}

async fn fee_params(State(ctx): State<Shared>) -> ApiResult {
    let r = FeesClient::new(ctx.host.clone())
        .params(feespb::QueryParamsRequest {})
        .await
        .map_err(|s| grpc_error("chimera.fees.v1.Query/Params", &ctx.host_url, s))?;
    let height = read_height(&r);
    let p = r.into_inner().params.unwrap_or_default();
    Ok(Json(json!({
        "height": height,
        "prices": p.prices.iter().map(|x| json!({"model": x.model, "denom": x.denom, "amount": or_zero(&x.amount)})).collect::<Vec<_>>(),
        "executor_bps": p.executor_bps,
        "burn_bps": p.burn_bps,
        "community_bps": p.community_bps,
        "fault_limit": p.fault_limit.to_string(),
    })))
}

/// `GET /api/denoms`: chimerad's ICS-20 denom traces, `{"ibc/HASH":
/// "transfer/channel-0/uluna"}`, so pages name a voucher by what it is
/// (LUNC) rather than by its hash.
async fn denoms(State(ctx): State<Shared>) -> ApiResult {
    use ibc_proto::ibc::applications::transfer::v1 as transfer;
    let mut q = transfer::query_client::QueryClient::new(ctx.host.clone());
    let mut out = serde_json::Map::new();
    let mut key = Vec::new();
    loop {
        let r = q
            .denom_traces(transfer::QueryDenomTracesRequest {
                pagination: Some(ibc_proto::cosmos::base::query::v1beta1::PageRequest {
                    key: key.clone(),
                    limit: 200,
                    ..Default::default()
                }),
            })
            .await
            .map_err(|s| grpc_error("ibc.applications.transfer.v1.Query/DenomTraces", &ctx.host_url, s))?
            .into_inner();
        for t in &r.denom_traces {
            let path = if t.path.is_empty() {
                t.base_denom.clone()
            } else {
                format!("{}/{}", t.path, t.base_denom)
            };
            let hash = hex::encode_upper(<sha2::Sha256 as sha2::Digest>::digest(path.as_bytes()));
            out.insert(format!("ibc/{hash}"), json!(path));
        }
        match r.pagination {
            Some(p) if !p.next_key.is_empty() => key = p.next_key,
            _ => break,
        }
    }
    Ok(Json(Value::Object(out)))
}

/// The media type of an output encoding.
fn content_type(encoding: &str) -> &'static str {
    match encoding {
        "png" => "image/png",
        "text" => "text/plain; charset=utf-8",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// `GET /api/blobs/SHA256`: the blob as the node streamed it, unverified
/// on purpose (the page verifies). 404 when the node does not hold it.
async fn blob(State(ctx): State<Shared>, UrlPath(sha): UrlPath<String>) -> Result<Response, ApiError> {
    let hash = match hex::decode(&sha) {
        Ok(h) if h.len() == 32 => h,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("{sha:?} is not a SHA-256 (64 hex digits)"),
            ))
        }
    };
    let what = "chimera.blob.v1.BlobService/Get";
    let mut client = BlobServiceClient::new(ctx.blobs.clone()).max_decoding_message_size(64 << 20);
    let mut stream = client
        .get(blobpb::GetRequest {
            sha256: hash,
            offset: 0,
            length: 0,
        })
        .await
        .map_err(|s| grpc_error(what, &ctx.blob_url, s))?
        .into_inner();
    let mut bytes = Vec::new();
    let mut encoding = String::new();
    while let Some(m) = stream
        .message()
        .await
        .map_err(|s| grpc_error(what, &ctx.blob_url, s))?
    {
        if let Some(info) = &m.info {
            encoding = info.encoding.clone();
        }
        bytes.extend_from_slice(&m.data);
    }
    tracing::debug!(sha256 = %sha, size = bytes.len(), %encoding, blob_node = %ctx.blob_url, "blob served unverified");
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&encoding)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&encoding) {
        h.insert("x-chimera-encoding", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.blob_url) {
        h.insert("x-chimera-blob-node", v);
    }
    Ok(resp)
}

async fn api_unknown(UrlPath(rest): UrlPath<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("no API at /api/{rest}"))
}

// ------------------------------------------------------------ static files

/// The file under `root` that `url_path` names, if it stays inside `root`.
fn safe_path(root: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = url_path.trim_start_matches('/');
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn static_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// A file of the built app, or index.html for any other path (the app's
/// router reads the hash; deep links still load the app).
async fn static_file(root: Arc<PathBuf>, req: Request) -> Response {
    if req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "only GET").into_response();
    }
    let path = req.uri().path();
    let file = safe_path(&root, path)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| root.join("index.html"));
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            // Vite names assets by content hash; index.html must not stick.
            let cache = if path.starts_with("/assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, static_type(&file)),
                    (header::CACHE_CONTROL, cache),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "cannot read {}: {e} (rebuild the app: scripts/setup web)",
                file.display()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_paths_stay_inside_the_root() {
        let root = Path::new("/srv/web");
        assert_eq!(
            safe_path(root, "/assets/index-1.js"),
            Some(PathBuf::from("/srv/web/assets/index-1.js"))
        );
        assert_eq!(safe_path(root, "/"), Some(PathBuf::from("/srv/web")));
        assert_eq!(safe_path(root, "/../etc/passwd"), None);
        assert_eq!(safe_path(root, "/assets/../../x"), None);
        assert_eq!(static_type(Path::new("a/index.html")), "text/html; charset=utf-8");
        assert_eq!(content_type("png"), "image/png");
        assert_eq!(content_type("tensor"), "application/octet-stream");
    }

    #[test]
    fn jobs_carry_the_ack_the_host_writes() {
        let j = cproto::Job {
            id: 7,
            model: "digits-ddpm".into(),
            requester: "chimera1x".into(),
            status: cproto::JobStatus::Completed as i32,
            created_height: 12,
            result: Some(cproto::MsgRunInferenceResponse {
                job_id: 7,
                model_hash: vec![1; 32],
                output: Some(cproto::OutputCommitment {
                    sha256: vec![0xab; 32],
                    size: 9,
                    encoding: "png".into(),
                }),
                quorum: Some(cproto::Quorum {
                    height: 13,
                    agreeing_power: 10,
                    total_power: 10,
                }),
            }),
            ..Default::default()
        };
        let v = job_json(&j);
        assert_eq!(v["status"], "completed");
        assert_eq!(v["result"]["output"]["sha256"], "ab".repeat(32));
        let ack = base64::engine::general_purpose::STANDARD
            .decode(v["ack"].as_str().unwrap())
            .unwrap();
        match Acknowledgement::from_bytes(&ack).unwrap() {
            Acknowledgement::Result(r) => {
                assert_eq!(r.job_id, 7);
                assert_eq!(r.output.size, 9);
            }
            Acknowledgement::Error(e) => panic!("{e}"),
        }
        let pending = job_json(&cproto::Job {
            id: 8,
            status: cproto::JobStatus::Pending as i32,
            ..Default::default()
        });
        assert!(pending["ack"].is_null() && pending["result"].is_null());
        assert_eq!(status_name(99), "unspecified");
    }

    #[test]
    fn models_say_what_they_read_and_write() {
        let m = |task: &str, rule: &str| {
            model_json(&cproto::Model {
                id: "m".into(),
                task: task.into(),
                sketch: Some(cproto::SketchSpec {
                    rule: rule.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
        };
        assert_eq!(m("classify", "classify")["input"], "tensor");
        assert_eq!(m("diffusion", "image")["input"], "text");
        assert_eq!(m("diffusion", "image")["output"], "png");
        assert_eq!(m("embed", "embedding")["output"], "tensor");
        assert_eq!(m("generate", "tokens")["output"], "text");
        assert!(
            m("classify", "classify")["tensor"].is_null(),
            "no shape without the chain's record"
        );
        let cnn = model_json(&cproto::Model {
            id: "digits-cnn".into(),
            task: "classify".into(),
            input: Some(cproto::ModelInput {
                encoding: "tensor".into(),
                dtype: "f32".into(),
                shape: vec![1, 8, 8],
                max_bytes: 256,
            }),
            ..Default::default()
        });
        assert_eq!(cnn["input"], "tensor");
        assert_eq!(
            cnn["tensor"],
            json!({ "dtype": "f32", "shape": [1, 8, 8], "bytes": 256 })
        );
    }

    #[test]
    fn unreachable_nodes_are_bad_gateways() {
        let e = grpc_error("X", "http://127.0.0.1:1", tonic::Status::unavailable("refused"));
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert!(e.message.contains("unreachable") && e.message.contains("scripts/devnet"));
        assert_eq!(
            grpc_error("X", "u", tonic::Status::not_found("job 9 not found")).status,
            StatusCode::NOT_FOUND
        );
    }
}
