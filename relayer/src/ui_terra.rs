//! `chimera ui`'s contract route (docs/ui.md, "Ask"): the Terra Classic
//! side. With `--contract` the server reads the inference-requester
//! contract (its `config`, `channels` and `request` queries over Terra's
//! gRPC), finds each request's txs on Terra (CometBFT `tx_search` on the
//! RPC) and the job that answered it on chimerad, and proxies `/terra-rpc`
//! to Terra's CometBFT RPC so that CosmJS in the page broadcasts through the
//! same origin. It never signs: the page does, with the user's wallet.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clap::Args;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

use super::{grpc_error, inference, job_json, model_json, one_line, ApiError, ApiResult, Shared, Usage};
use chimera_packets::proto as cproto;

/// Terra Classic's fixed minimum gas price (what `terrad` needs, and the
/// e2e tests' `wasm::GAS_PRICES`).
pub const TERRA_GAS_PRICE: &str = "28.325uluna";
/// The page's simulated gas times this (`terrad --gas-adjustment 1.4`).
pub const TERRA_GAS_ADJUSTMENT: f64 = 1.4;

/// The Terra options of `chimera ui`.
#[derive(Args, Debug, Default)]
pub struct TerraArgs {
    /// The inference-requester contract on Terra Classic (`terra1...`): turns
    /// on the Ask page (the contract route). Needs --terra-rpc and --terra-grpc.
    #[arg(long, env = "CHIMERA_CONTRACT", value_name = "ADDR")]
    pub contract: Option<String>,
    /// Terra Classic's CometBFT RPC (http://HOST:26657): txs are looked up
    /// there, and the page broadcasts through this server's /terra-rpc proxy to it.
    #[arg(long, env = "CHIMERA_TERRA_RPC", value_name = "URL")]
    pub terra_rpc: Option<String>,
    /// Terra Classic's gRPC (http://HOST:9090): the contract's queries, and
    /// the ICA controller's accounts and channels.
    #[arg(long, env = "CHIMERA_TERRA_GRPC", value_name = "URL")]
    pub terra_grpc: Option<String>,
    /// Terra Classic's REST (LCD, http://HOST:1317), optional: served to the
    /// page as /terra-rest and named as the chain's `rest` when the page
    /// suggests the chain to Keplr (whose own balance and fee screens read
    /// it; signing does not).
    #[arg(long, env = "CHIMERA_TERRA_REST", value_name = "URL")]
    pub terra_rest: Option<String>,
    /// Terra's chain id (default: what its RPC's /status says).
    #[arg(long, value_name = "ID")]
    pub terra_chain_id: Option<String>,
    /// The contract's channel to chimerad (default: its only open channel).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// The ICA route: the connection on Terra to chimerad that interchain
    /// accounts are registered over (default: the one OPEN connection whose
    /// client tracks chimerad's chain id). The ICA route is on whenever
    /// --terra-rpc and --terra-grpc are given, with or without --contract.
    #[arg(long, value_name = "CONNECTION")]
    pub ica_connection: Option<String>,
    /// Devnet only: a mnemonic the Ask page pre-fills for its in-page wallet.
    /// The page gets it from /api/ask-info and /api/ica-info; never use a
    /// real wallet's words.
    #[arg(
        long,
        env = "CHIMERA_DEVNET_MNEMONIC",
        value_name = "WORDS",
        hide_env_values = true
    )]
    pub devnet_mnemonic: Option<String>,
}

/// An `http://HOST:PORT[/PREFIX]` URL, split.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpUrl {
    pub host_port: String,
    pub prefix: String,
}

impl HttpUrl {
    pub fn parse(flag: &str, url: &str) -> Result<Self, Usage> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            Usage(format!(
                "{flag} {url:?}: write it as http://HOST:PORT (plain HTTP; put TLS in front of chimera ui, not behind it)"
            ))
        })?;
        let (hp, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if hp.is_empty() || !hp.contains(':') {
            return Err(Usage(format!(
                "{flag} {url:?}: name the port, e.g. http://127.0.0.1:26657"
            )));
        }
        Ok(HttpUrl {
            host_port: hp.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

pub struct Terra {
    /// The requester contract (the contract route); None: the ICA route only.
    pub contract: Option<String>,
    pub rpc_url: String,
    pub rpc: HttpUrl,
    /// `--terra-rest`, when given.
    pub rest: Option<HttpUrl>,
    pub grpc_url: String,
    pub grpc: Channel,
    pub chain_id: Option<String>,
    pub channel: Option<String>,
    pub devnet_mnemonic: Option<String>,
    /// `--ica-connection`.
    pub ica_connection: Option<String>,
    /// The ICA route's lazily connected Terra handle (ui_ica.rs).
    pub ica: super::ica::IcaState,
    /// Reports found in chimerad's blocks, by job: the next height to read
    /// and what was found below it.
    reports: std::sync::Mutex<std::collections::HashMap<u64, (i64, Vec<BlockReport>)>>,
}

/// A validator's report of a job as a chimerad block recorded it.
#[derive(Debug, Clone)]
pub struct BlockReport {
    pub validator: Vec<u8>,
    pub report: cproto::JobReport,
    pub height: i64,
    pub time_ms: Option<i64>,
}

impl Terra {
    /// The Terra side, if `--contract` or `--terra-rpc`/`--terra-grpc` were
    /// given (without `--contract`: the ICA route only); a usage error when
    /// its endpoints are missing or malformed.
    pub fn from_args(a: &TerraArgs) -> Result<Option<Terra>, Usage> {
        let contract = a.contract.clone();
        if contract.is_none() {
            if a.channel.is_some() {
                return Err(Usage(
                    "--channel needs --contract (the inference-requester contract's address)".into(),
                ));
            }
            if a.terra_rpc.is_none() && a.terra_grpc.is_none() {
                if a.ica_connection.is_some() {
                    return Err(Usage(
                        "--ica-connection needs --terra-rpc and --terra-grpc (Terra Classic's endpoints)"
                            .into(),
                    ));
                }
                return Ok(None);
            }
        }
        if let Some(c) = contract.as_deref().filter(|c| !c.starts_with("terra1")) {
            return Err(Usage(format!(
                "--contract {c:?} is not a Terra address (terra1...)"
            )));
        }
        let need = if contract.is_some() {
            "--contract"
        } else {
            "the ICA route"
        };
        let rpc_url = a.terra_rpc.clone().ok_or_else(|| {
            Usage(format!(
                "{need} needs --terra-rpc http://HOST:26657 (Terra's CometBFT RPC)"
            ))
        })?;
        let grpc_url = a.terra_grpc.clone().ok_or_else(|| {
            Usage(format!(
                "{need} needs --terra-grpc http://HOST:9090 (Terra's gRPC)"
            ))
        })?;
        Ok(Some(Terra {
            contract,
            rpc: HttpUrl::parse("--terra-rpc", &rpc_url)?,
            rpc_url,
            rest: a
                .terra_rest
                .as_deref()
                .map(|u| HttpUrl::parse("--terra-rest", u))
                .transpose()?,
            grpc: super::channel("--terra-grpc", &grpc_url)?,
            grpc_url,
            chain_id: a.terra_chain_id.clone(),
            channel: a.channel.clone(),
            devnet_mnemonic: a.devnet_mnemonic.clone(),
            ica_connection: a.ica_connection.clone(),
            ica: Default::default(),
            reports: Default::default(),
        }))
    }

    pub fn unreachable(&self, what: &str, e: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "Terra Classic at {} is unreachable ({what}: {}): start it (scripts/devnet), or point --terra-rpc/--terra-grpc at a running node",
                self.rpc_url,
                one_line(&e.to_string())
            ),
        )
    }

    /// A smart query of the contract: the JSON it answers.
    pub async fn smart(&self, msg: &Value) -> Result<Value, ApiError> {
        let what = "cosmwasm.wasm.v1.Query/SmartContractState";
        let contract = self.contract.clone().ok_or_else(no_contract)?;
        let mut g = tonic::client::Grpc::new(self.grpc.clone());
        g.ready().await.map_err(|e| self.unreachable(what, e))?;
        let r: QuerySmartResponse = g
            .unary(
                tonic::Request::new(QuerySmartRequest {
                    address: contract.clone(),
                    query_data: msg.to_string().into_bytes(),
                }),
                tonic::codegen::http::uri::PathAndQuery::from_static(
                    "/cosmwasm.wasm.v1.Query/SmartContractState",
                ),
                tonic::codec::ProstCodec::<QuerySmartRequest, QuerySmartResponse>::default(),
            )
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| {
                let m = one_line(s.message());
                if m.contains("not found") {
                    ApiError::new(StatusCode::NOT_FOUND, format!("the contract {contract}: {m}"))
                } else if matches!(s.code(), tonic::Code::Unavailable | tonic::Code::DeadlineExceeded) {
                    self.unreachable(what, m)
                } else {
                    ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        format!("the contract {contract} refused {msg}: {m}"),
                    )
                }
            })?;
        serde_json::from_slice(&r.data).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("the contract answered {msg} with no JSON: {e}"),
            )
        })
    }

    /// A GET of Terra's RPC (`path` with its query): the JSON-RPC `result`.
    pub async fn rpc_get(&self, path: &str) -> Result<Value, ApiError> {
        let (status, _, body) = http(&self.rpc, "GET", path, None, &[])
            .await
            .map_err(|e| self.unreachable("CometBFT RPC", e))?;
        let v: Value = serde_json::from_slice(&body)
            .map_err(|e| self.unreachable("CometBFT RPC", format!("answered {status} without JSON ({e})")))?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("Terra's RPC refused {path}: {err}"),
            ));
        }
        Ok(v["result"].clone())
    }

    pub async fn chain_id(&self) -> Result<String, ApiError> {
        if let Some(id) = &self.chain_id {
            return Ok(id.clone());
        }
        let s = self.rpc_get("/status").await?;
        Ok(s["node_info"]["network"].as_str().unwrap_or_default().to_string())
    }

    /// The first (`oldest`) or newest tx matching a CometBFT event query.
    pub async fn tx_search(&self, query: &str, oldest: bool) -> Result<Option<Value>, ApiError> {
        let path = format!(
            "/tx_search?query={}&per_page=1&order_by=%22{}%22",
            url_encode(&format!("\"{query}\"")),
            if oldest { "asc" } else { "desc" }
        );
        let r = self.rpc_get(&path).await?;
        Ok(r["txs"].as_array().and_then(|t| t.first()).cloned())
    }

    /// What the page's wallet needs to sign for Terra (both routes).
    pub fn wallet_json(&self, chain_id: String) -> Value {
        json!({
            "chain_id": chain_id,
            "rpc": self.rpc_url,
            "grpc": self.grpc_url,
            "rpc_proxy": "/terra-rpc",
            "rest_proxy": self.rest.as_ref().map(|_| "/terra-rest"),
            "denom": "uluna",
            "prefix": "terra",
            "coin_type": 330,
            "gas_price": TERRA_GAS_PRICE,
            "gas_adjustment": TERRA_GAS_ADJUSTMENT,
        })
    }

    /// The oldest Terra tx matching `query` (the one that sent a request's
    /// packet): the raw tx_search result and its view for the timeline
    /// (hash, height, block time).
    pub async fn sent_tx(&self, query: &str) -> Result<Option<(Value, Value)>, ApiError> {
        let Some(tx) = self.tx_search(query, true).await? else {
            return Ok(None);
        };
        let h = height_of(&tx);
        let view = json!({"hash": tx["hash"], "height": h, "time_ms": self.block_time_ms(h).await});
        Ok(Some((tx, view)))
    }

    /// The tx that brought packet (`src`, `seq`)'s acknowledgement (or its
    /// timeout) back to Terra: kind, hash, height, block time; null if none.
    pub async fn ack_tx(&self, src: &str, seq: u64) -> Result<Value, ApiError> {
        for kind in ["acknowledge_packet", "timeout_packet"] {
            let q = format!("{kind}.packet_src_channel='{src}' AND {kind}.packet_sequence='{seq}'");
            if let Some(tx) = self.tx_search(&q, false).await? {
                let h = height_of(&tx);
                return Ok(
                    json!({"kind": kind, "hash": tx["hash"], "height": h, "time_ms": self.block_time_ms(h).await}),
                );
            }
        }
        Ok(Value::Null)
    }

    /// The block time of `height` on Terra, in ms since the epoch.
    pub async fn block_time_ms(&self, height: u64) -> Option<i64> {
        let r = self.rpc_get(&format!("/block?height={height}")).await.ok()?;
        rfc3339_ms(r["block"]["header"]["time"].as_str()?)
    }
}

/// chimerad's chain id (its latest block's header).
pub async fn host_chain_id(ctx: &super::Ctx) -> Result<String, ApiError> {
    let mut tm = cosmrs::proto::cosmos::base::tendermint::v1beta1::service_client::ServiceClient::new(
        ctx.host.clone(),
    );
    Ok(tm
        .get_latest_block(cosmrs::proto::cosmos::base::tendermint::v1beta1::GetLatestBlockRequest {})
        .await
        .map_err(|s| grpc_error("cosmos.base.tendermint GetLatestBlock", &ctx.host_url, s))?
        .into_inner()
        .block
        .and_then(|b| b.header)
        .map(|h| h.chain_id)
        .unwrap_or_default())
}

/// `cosmwasm.wasm.v1.QuerySmartContractStateRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct QuerySmartRequest {
    #[prost(string, tag = "1")]
    address: String,
    #[prost(bytes = "vec", tag = "2")]
    query_data: Vec<u8>,
}

/// `cosmwasm.wasm.v1.QuerySmartContractStateResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct QuerySmartResponse {
    #[prost(bytes = "vec", tag = "1")]
    data: Vec<u8>,
}

pub fn rfc3339_ms(s: &str) -> Option<i64> {
    let t = tendermint::Time::parse_from_rfc3339(s).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One HTTP/1.0 exchange (the server closes the connection and sends no
/// chunked body): status, content type, body.
pub async fn http(
    url: &HttpUrl,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), String> {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(&url.host_port)
            .await
            .map_err(|e| format!("connect {}: {e}", url.host_port))?;
        let mut head = format!(
            "{method} {}{path} HTTP/1.0\r\nHost: {}\r\nAccept: application/json\r\nContent-Length: {}\r\n",
            url.prefix,
            url.host_port,
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        s.write_all(body).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        parse_response(&raw)
    };
    tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .map_err(|_| "no answer in 30 s".to_string())?
}

/// Splits an HTTP/1.x response (de-chunking it if it is chunked).
pub fn parse_response(raw: &[u8]) -> Result<(u16, String, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header in the answer")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or("no HTTP status line")?;
    let (mut ctype, mut chunked) = (String::new(), false);
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-type" {
                ctype = v.to_string();
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = raw[end + 4..].to_vec();
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
            let size_s = String::from_utf8_lossy(&rest[..nl]);
            let size = usize::from_str_radix(size_s.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "bad chunk size")?;
            if size == 0 {
                break;
            }
            let start = nl + 2;
            let chunk = rest.get(start..start + size).ok_or("short chunk")?;
            out.extend_from_slice(chunk);
            rest = rest.get(start + size + 2..).unwrap_or(&[]);
        }
        body = out;
    }
    Ok((status, ctype, body))
}

fn no_contract() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "the contract route is off: start chimera ui with --contract terra1... --terra-rpc URL --terra-grpc URL",
    )
}

/// The Terra side and its contract (the contract route).
fn terra_of(ctx: &super::Ctx) -> Result<(&Terra, &str), ApiError> {
    let t = ctx.terra.as_ref().ok_or_else(no_contract)?;
    let c = t.contract.as_deref().ok_or_else(no_contract)?;
    Ok((t, c))
}

/// The channel requests go out on: --channel, or the contract's only open one.
pub fn pick_channel(channels: &Value, wanted: Option<&str>) -> Result<String, String> {
    let list = channels["channels"].as_array().cloned().unwrap_or_default();
    let open: Vec<&Value> = list.iter().filter(|c| c["state"] == "open").collect();
    if let Some(w) = wanted {
        return if open.iter().any(|c| c["channel_id"] == w) {
            Ok(w.to_string())
        } else {
            Err(format!(
                "the contract has no open channel {w} (its channels: {channels})"
            ))
        };
    }
    match open.as_slice() {
        [one] => Ok(one["channel_id"].as_str().unwrap_or_default().to_string()),
        [] => Err("the contract has no open channel to chimerad yet: a relayer opens one (`chimera create channel --port-a wasm.<contract> --port-b inference`)".into()),
        _ => Err(format!(
            "the contract has {} open channels: name one with chimera ui --channel",
            open.len()
        )),
    }
}

/// The least fee in uluna for `model` under the contract's `prices`
/// (its own entry, else `*`); None: any fee above zero.
pub fn price_of(config: &Value, model: &str) -> Option<String> {
    let prices = config["prices"].as_array()?;
    let find = |m: &str| {
        prices
            .iter()
            .find(|p| p["model"] == m)
            .and_then(|p| p["amount"].as_str().map(str::to_string))
    };
    find(model).or_else(|| find("*"))
}

/// `GET /api/ask-info`: what the Ask page needs before signing.
pub async fn ask_info(State(ctx): State<Shared>) -> ApiResult {
    let (t, contract) = terra_of(&ctx)?;
    let models: cproto::QueryModelsResponse =
        inference(&ctx, "Models", cproto::QueryModelsRequest {}).await?;
    let config = t.smart(&json!({"config": {}})).await?;
    let channels = t.smart(&json!({"channels": {}})).await?;
    let chain_id = t.chain_id().await?;
    let (channel, channel_error) = match pick_channel(&channels, t.channel.as_deref()) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    let host_chain_id = host_chain_id(&ctx).await?;
    let models: Vec<Value> = models
        .models
        .iter()
        .map(|m| {
            let mut v = model_json(m);
            v["price_uluna"] = json!(price_of(&config, &m.id));
            v
        })
        .collect();
    Ok(Json(json!({
        "models": models,
        "config": config,
        "channels": channels["channels"],
        "channel": channel,
        "channel_error": channel_error,
        "contract": contract,
        "terra": t.wallet_json(chain_id),
        "host_chain_id": host_chain_id,
        "devnet_mnemonic": t.devnet_mnemonic,
    })))
}

/// The value of `key` in the first event of type `kind` of a tx_search
/// result (CometBFT 0.37: plain-text attributes).
pub fn event_attr(tx: &Value, kind: &str, key: &str) -> Option<String> {
    tx["tx_result"]["events"]
        .as_array()?
        .iter()
        .filter(|e| e["type"] == kind)
        .flat_map(|e| e["attributes"].as_array().cloned().unwrap_or_default())
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"].as_str().map(str::to_string))
}

/// What the request's packet (the `send_packet` event's `packet_data_hex`,
/// else `packet_data`) says about its input, never the input itself: its
/// encoding, its size (`null` for a blob) and, for a sealed prompt, the
/// envelope's scheme and the executor keys it is sealed to. `null` when the
/// event has no packet data that parses.
pub fn packet_input(tx: &Value) -> Value {
    let data = match event_attr(tx, "send_packet", "packet_data_hex") {
        Some(h) => hex::decode(h).ok(),
        None => event_attr(tx, "send_packet", "packet_data").map(String::into_bytes),
    };
    match data.and_then(|d| serde_json::from_slice::<chimera_packets::InferencePacketData>(&d).ok()) {
        Some(p) => input_json(&p),
        None => Value::Null,
    }
}

/// What a request says about its input, never the input (see
/// [`packet_input`]); the ICA route reads it out of the `MsgRunInference`.
pub fn input_json(p: &chimera_packets::InferencePacketData) -> Value {
    let bytes = match &p.input {
        chimera_packets::Input::Inline(b) => Some(b.len()),
        chimera_packets::Input::Blob(_) => None,
    };
    let encoding = match &p.encoding {
        chimera_packets::InputEncoding::Text => "text",
        chimera_packets::InputEncoding::Json => "json",
        chimera_packets::InputEncoding::Tensor { .. } => "tensor",
    };
    json!({
        "encoding": encoding,
        "bytes": bytes,
        "sealed": p.sealed.as_ref().map(|s| json!({
            "scheme": s.scheme,
            "recipients": s.recipients.iter().map(|r| hex::encode(r.executor)).collect::<Vec<_>>(),
        })),
        "output_key": p.output_key.is_some(),
    })
}

pub fn height_of(tx: &Value) -> u64 {
    tx["height"].as_str().and_then(|h| h.parse().ok()).unwrap_or(0)
}

/// The chimerad job that answered packet `sequence` on `channel` (either
/// end) from `requester`: searched among that requester's jobs, newest
/// first (at most 5000).
async fn find_job(
    ctx: &super::Ctx,
    requester: &str,
    channels: &[&str],
    sequence: u64,
) -> Result<Option<cproto::Job>, ApiError> {
    let mut key = Vec::new();
    let mut found = None;
    for _ in 0..5 {
        let r: cproto::QueryJobsResponse = inference(
            ctx,
            "Jobs",
            cproto::QueryJobsRequest {
                requester: requester.to_string(),
                pagination: Some(cproto::PageRequest { key, limit: 1000 }),
            },
        )
        .await?;
        if let Some(j) = r
            .jobs
            .into_iter()
            .filter(|j| j.sequence == sequence && channels.contains(&j.channel_id.as_str()))
            .max_by_key(|j| j.id)
        {
            found = Some(j);
        }
        key = r.pagination.map(|p| p.next_key).unwrap_or_default();
        if key.is_empty() {
            break;
        }
    }
    Ok(found)
}

/// chimerad's block time at `height`, in ms since the epoch.
async fn host_time_ms(ctx: &super::Ctx, height: i64) -> Option<i64> {
    use cosmrs::proto::cosmos::base::tendermint::v1beta1::{
        service_client::ServiceClient, GetBlockByHeightRequest,
    };
    let b = ServiceClient::new(ctx.host.clone())
        .get_block_by_height(GetBlockByHeightRequest { height })
        .await
        .ok()?
        .into_inner();
    let t = b.block.and_then(|b| b.header).and_then(|h| h.time)?;
    Some(t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

/// The prefix of the votes record, the first tx of a chimerad block: the
/// validators' signed vote extensions of the height before, whose reports
/// the block records (`chimera_host::inference::votes::VOTES_TX_PREFIX`).
pub const VOTES_TX_PREFIX: &[u8] = b"\0chimera/votes\0";

/// The reports of `job` in one block's txs: (validator, report), first per
/// validator.
pub fn reports_in_block(txs: &[Vec<u8>], job: u64) -> Vec<(Vec<u8>, cproto::JobReport)> {
    use prost::Message as _;
    let mut out: Vec<(Vec<u8>, cproto::JobReport)> = Vec::new();
    let Some(body) = txs.first().and_then(|t| t.strip_prefix(VOTES_TX_PREFIX)) else {
        return out;
    };
    let Ok(commit) = tendermint_proto::v0_38::abci::ExtendedCommitInfo::decode(body) else {
        return out;
    };
    for v in commit.votes {
        let Some(val) = v.validator else { continue };
        let Ok(ext) = cproto::VoteExtension::decode(v.vote_extension.as_ref()) else {
            continue;
        };
        for r in ext.reports.into_iter().filter(|r| r.job_id == job) {
            if !out.iter().any(|(a, _)| a.as_slice() == val.address.as_ref()) {
                out.push((val.address.to_vec(), r));
            }
        }
    }
    out
}

/// Most chimerad blocks read for one job's reports.
const REPORT_SCAN_BLOCKS: i64 = 300;

/// Every validator's first report of `job` as chimerad's blocks recorded
/// them (the job record keeps none once the job is decided): blocks from
/// the job's height + 1 up to its quorum (or the newest block), read once
/// each and remembered.
async fn block_reports(ctx: &super::Ctx, t: &Terra, job: &cproto::Job) -> Result<Vec<BlockReport>, ApiError> {
    use cosmrs::proto::cosmos::base::tendermint::v1beta1::{
        service_client::ServiceClient, GetBlockByHeightRequest, GetLatestBlockRequest,
    };
    let what = "cosmos.base.tendermint GetBlockByHeight";
    let first = job.created_height as i64 + 1;
    let (mut next, mut found) = t
        .reports
        .lock()
        .ok()
        .and_then(|m| m.get(&job.id).cloned())
        .unwrap_or((first, Vec::new()));
    let mut tm = ServiceClient::new(ctx.host.clone());
    let last = match job.result.as_ref().and_then(|r| r.quorum) {
        Some(q) => q.height as i64,
        None => tm
            .get_latest_block(GetLatestBlockRequest {})
            .await
            .map_err(|s| grpc_error(what, &ctx.host_url, s))?
            .into_inner()
            .block
            .and_then(|b| b.header)
            .map_or(0, |h| h.height),
    }
    .min(first + REPORT_SCAN_BLOCKS);
    while next <= last {
        let b = tm
            .get_block_by_height(GetBlockByHeightRequest { height: next })
            .await
            .map_err(|s| grpc_error(what, &ctx.host_url, s))?
            .into_inner()
            .block;
        let time_ms = b
            .as_ref()
            .and_then(|b| b.header.as_ref())
            .and_then(|h| h.time.as_ref())
            .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
        let txs = b.and_then(|b| b.data).map(|d| d.txs).unwrap_or_default();
        for (validator, report) in reports_in_block(&txs, job.id) {
            // One report per validator and round: a sealed job's second
            // round (AgreementReport) is listed beside the first.
            let round = report_round(&report);
            if !found
                .iter()
                .any(|f| f.validator == validator && report_round(&f.report) == round)
            {
                found.push(BlockReport {
                    validator,
                    report,
                    height: next,
                    time_ms,
                });
            }
        }
        next += 1;
    }
    if let Ok(mut m) = t.reports.lock() {
        m.insert(job.id, (next, found.clone()));
    }
    Ok(found)
}

/// 1 for a result or failure, 2 for a sealed job's agreement report.
fn report_round(r: &cproto::JobReport) -> u8 {
    match r.outcome {
        Some(cproto::job_report::Outcome::Agreement(_)) => 2,
        _ => 1,
    }
}

/// A report for the page: `agrees` once the job has its result; a second
/// round report names the reference validator whose sealed output it
/// checked.
fn report_json(
    job: &cproto::Job,
    validator: &[u8],
    r: &cproto::JobReport,
    height: Option<i64>,
    time_ms: Option<i64>,
) -> Value {
    use cproto::job_report::Outcome as R;
    let agreed = job
        .result
        .as_ref()
        .and_then(|r| r.output.as_ref())
        .map(|o| o.sha256.clone());
    let (outcome, sha, agrees) = match &r.outcome {
        Some(R::Result(e)) => {
            let sha = e.output.as_ref().map(|o| o.sha256.clone()).unwrap_or_default();
            let agrees = agreed.as_ref().is_some_and(|a| *a == sha);
            ("result", sha, agrees)
        }
        Some(R::Failure(_)) => ("failure", Vec::new(), false),
        Some(R::Agreement(a)) => ("agreement", Vec::new(), a.agrees),
        None => ("none", Vec::new(), false),
    };
    let reference = match &r.outcome {
        Some(R::Agreement(a)) => json!(hex::encode_upper(&a.reference)),
        _ => Value::Null,
    };
    json!({
        "validator": hex::encode_upper(validator),
        "round": report_round(r),
        "outcome": outcome,
        "output_sha256": hex::encode(sha),
        "agrees": agrees,
        "reference": reference,
        "height": height,
        "time_ms": time_ms,
    })
}

/// The job that answered a request, for the timeline (both routes): the
/// job with its heights' block times, and each validator's report as
/// chimerad's blocks recorded it, plus any still in state (`JobReports`).
/// Nulls when there is no job yet.
pub async fn job_view(
    ctx: &super::Ctx,
    t: &Terra,
    job: Option<&cproto::Job>,
) -> Result<(Value, Value), ApiError> {
    let mut job_v = Value::Null;
    let mut reports = Value::Null;
    if let Some(j) = job {
        job_v = job_json(j);
        job_v["created_time_ms"] = json!(host_time_ms(ctx, j.created_height as i64).await);
        if let Some(q) = j.result.as_ref().and_then(|r| r.quorum) {
            job_v["quorum_time_ms"] = json!(host_time_ms(ctx, q.height as i64).await);
        }
        // What chimerad's blocks recorded, then what its state still holds
        // (JobReports: a pending job's reports) for any validator not found.
        let mut list: Vec<Value> = block_reports(ctx, t, j)
            .await?
            .iter()
            .map(|b| report_json(j, &b.validator, &b.report, Some(b.height), b.time_ms))
            .collect();
        match inference::<_, cproto::QueryJobReportsResponse>(
            ctx,
            "JobReports",
            cproto::QueryJobReportsRequest { job_id: j.id },
        )
        .await
        {
            Ok(r) => {
                for v in r.reports {
                    let hexv = hex::encode_upper(&v.validator);
                    let round = if v.outcome == "agreement" { 2 } else { 1 };
                    if !list
                        .iter()
                        .any(|x| x["validator"] == hexv.as_str() && x["round"] == round)
                    {
                        list.push(json!({
                            "validator": hexv,
                            "round": round,
                            "outcome": v.outcome,
                            "output_sha256": hex::encode(&v.output_sha256),
                            "agrees": v.agrees,
                            "height": null,
                            "time_ms": null,
                        }));
                    }
                }
            }
            // An older chimerad without JobReports: the blocks suffice.
            Err(e) if e.message.contains("does not serve") => {}
            Err(e) => return Err(e),
        }
        reports = json!(list);
    }
    Ok((job_v, reports))
}

/// `GET /api/requests/:id`: the contract's record of one request, the
/// Terra tx that sent it (height, packet sequence), the chimerad job that
/// answered it with each validator's report so far, and the Terra tx that
/// brought the acknowledgement (or the timeout) back.
pub async fn request(State(ctx): State<Shared>, UrlPath(id): UrlPath<String>) -> ApiResult {
    let (t, contract) = terra_of(&ctx)?;
    let id: u64 = id.parse().ok().filter(|&i| i > 0).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a request id (a positive integer)"),
        )
    })?;
    let record = t.smart(&json!({"request": {"id": id}})).await?;
    // The request's tx: its height and the packet it sent. The oldest tx
    // naming the request: the ack's tx names it too (the contract's
    // acknowledgement handler emits request_id).
    let sent = t
        .sent_tx(&format!(
            "wasm._contract_address='{contract}' AND wasm.request_id='{id}'"
        ))
        .await?;
    let mut terra = json!({"tx": null, "packet": null, "ack": null});
    let mut packet: Option<(String, String, u64)> = None;
    if let Some((tx, view)) = &sent {
        terra["tx"] = view.clone();
        let seq = event_attr(tx, "send_packet", "packet_sequence").and_then(|s| s.parse::<u64>().ok());
        let src = event_attr(tx, "send_packet", "packet_src_channel");
        let dst = event_attr(tx, "send_packet", "packet_dst_channel");
        if let (Some(seq), Some(src), Some(dst)) = (seq, src, dst) {
            terra["packet"] = json!({
                "sequence": seq,
                "source_channel": src,
                "destination_channel": dst,
                "input": packet_input(tx),
            });
            packet = Some((src, dst, seq));
        }
    }
    // The job on chimerad.
    let job_id: Option<u64> = record["outcome"]["result"]["job_id"]
        .as_str()
        .and_then(|s| s.parse().ok());
    let job = match (job_id, &packet) {
        (Some(jid), _) => {
            inference::<_, cproto::QueryJobResponse>(&ctx, "Job", cproto::QueryJobRequest { job_id: jid })
                .await
                .ok()
                .and_then(|r| r.job)
        }
        (None, Some((src, dst, seq))) => {
            let requester = record["requester"].as_str().unwrap_or_default();
            find_job(&ctx, requester, &[src, dst], *seq).await?
        }
        _ => None,
    };
    let (job_v, reports) = job_view(&ctx, t, job.as_ref()).await?;
    // The acknowledgement (or timeout) on Terra.
    let status = record["status"].as_str().unwrap_or("");
    if status != "pending" {
        if let Some((src, _, seq)) = &packet {
            terra["ack"] = t.ack_tx(src, *seq).await?;
        }
    }
    Ok(Json(json!({
        "id": id.to_string(),
        "route": "contract",
        "contract": contract,
        "record": record,
        "terra": terra,
        "job": job_v,
        "reports": reports,
    })))
}

/// `/terra-rpc[/...]`: the request passed on to Terra's CometBFT RPC and
/// its answer passed back (CosmJS's JSON-RPC POSTs, from the same origin).
pub async fn rpc_proxy(State(ctx): State<Shared>, req: Request) -> Response {
    let Some(t) = ctx.terra.as_ref() else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no --terra-rpc: chimera ui was started without Terra Classic (--terra-rpc, --terra-grpc)",
        )
        .into_response();
    };
    proxy(t, &t.rpc, "/terra-rpc", "CometBFT RPC", req).await
}

/// `/terra-rest/...`: the same pass-through to Terra's REST (`--terra-rest`).
pub async fn rest_proxy(State(ctx): State<Shared>, req: Request) -> Response {
    match ctx.terra.as_ref().and_then(|t| t.rest.as_ref().map(|r| (t, r))) {
        Some((t, rest)) => proxy(t, rest, "/terra-rest", "REST", req).await,
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "no --terra-rest: start chimera ui with --terra-rest http://HOST:1317 (Terra's REST)",
        )
        .into_response(),
    }
}

/// GET or POST `req` (its path below `prefix`) to `target`, answering what
/// it answers, body and content type.
async fn proxy(t: &Terra, target: &HttpUrl, prefix: &str, what: &str, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    if method != "GET" && method != "POST" {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "only GET and POST").into_response();
    }
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(prefix)
        .strip_prefix(prefix)
        .unwrap_or("")
        .to_string();
    let path = if path.is_empty() || path.starts_with('?') {
        format!("/{path}")
    } else {
        path
    };
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Bytes = match axum::body::to_bytes(req.into_body(), 4 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, format!("request body: {e}")).into_response()
        }
    };
    match http(target, &method, &path, ctype.as_deref(), &body).await {
        Ok((status, ct, bytes)) => {
            let mut resp = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                bytes,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(if ct.is_empty() { "application/json" } else { &ct }) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        Err(e) => t.unreachable(what, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_prices_and_channels() {
        assert_eq!(
            HttpUrl::parse("--terra-rpc", "http://127.0.0.1:26657/").unwrap(),
            HttpUrl {
                host_port: "127.0.0.1:26657".into(),
                prefix: String::new()
            }
        );
        assert_eq!(HttpUrl::parse("x", "http://h:1/rpc").unwrap().prefix, "/rpc");
        assert!(HttpUrl::parse("x", "https://h:1").is_err());
        assert!(HttpUrl::parse("x", "http://h").is_err());
        assert_eq!(url_encode("\"a='1'\""), "%22a%3D%271%27%22");

        let config =
            json!({"prices": [{"model": "digits-ddpm", "amount": "100000"}, {"model": "*", "amount": "5"}]});
        assert_eq!(price_of(&config, "digits-ddpm").as_deref(), Some("100000"));
        assert_eq!(price_of(&config, "other").as_deref(), Some("5"));
        assert_eq!(price_of(&json!({"prices": null}), "x"), None);

        let ch = |state: &str, id: &str| json!({"channel_id": id, "state": state});
        let one = json!({"channels": [ch("closed", "channel-0"), ch("open", "channel-1")]});
        assert_eq!(pick_channel(&one, None).unwrap(), "channel-1");
        assert!(pick_channel(&one, Some("channel-0")).is_err());
        assert!(pick_channel(&json!({"channels": []}), None)
            .unwrap_err()
            .contains("no open channel"));
        let two = json!({"channels": [ch("open", "channel-0"), ch("open", "channel-1")]});
        assert!(pick_channel(&two, None).unwrap_err().contains("--channel"));
        assert_eq!(pick_channel(&two, Some("channel-0")).unwrap(), "channel-0");
    }

    #[test]
    fn http_answers_and_events() {
        let (s, ct, b) =
            parse_response(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!(
            (s, ct.as_str(), b.as_slice()),
            (200, "application/json", &b"{\"a\":1}"[..])
        );
        let (_, _, b) = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(b, b"abcde");
        assert!(parse_response(b"garbage").is_err());
        let tx = json!({"height": "12", "tx_result": {"events": [
            {"type": "message", "attributes": [{"key": "action", "value": "x"}]},
            {"type": "send_packet", "attributes": [{"key": "packet_sequence", "value": "4"}]},
        ]}});
        assert_eq!(
            event_attr(&tx, "send_packet", "packet_sequence").as_deref(),
            Some("4")
        );
        assert_eq!(event_attr(&tx, "send_packet", "nope"), None);
        assert_eq!(height_of(&tx), 12);
        assert_eq!(rfc3339_ms("2026-01-01T00:00:01.5Z"), Some(1_767_225_601_500));
    }

    #[test]
    fn packet_input_says_sealed_or_not_and_never_the_input() {
        let vector = |name: &str| -> String {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../packets/testdata/{name}.json"));
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v["bytes"].as_str().unwrap().to_string()
        };
        let tx_with = |key: &str, value: String| json!({"tx_result": {"events": [{"type": "send_packet", "attributes": [{"key": key, "value": value}]}]}});
        let sealed = vector("packet_sealed");
        let v = packet_input(&tx_with("packet_data_hex", hex::encode(&sealed)));
        assert_eq!(v["encoding"], "text");
        assert_eq!(v["bytes"], 15 + 16);
        assert_eq!(v["sealed"]["scheme"], chimera_packets::sealed::SCHEME);
        assert_eq!(
            v["sealed"]["recipients"],
            json!([
                "a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209",
                "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59"
            ])
        );
        assert_eq!(v["output_key"], false);
        // Neither the ciphertext nor the wrapped keys are passed on.
        let text = v.to_string();
        assert!(
            !text.contains("YB6hv2X6") && !text.contains("wrapped_key"),
            "{text}"
        );
        // The plain packet (packet_data, the older attribute): not sealed, the prompt not shown.
        let plain = vector("packet_text_inline");
        let v = packet_input(&tx_with("packet_data", plain.clone()));
        assert_eq!(v["sealed"], Value::Null);
        assert_eq!(v["bytes"], "Once upon a time".len());
        assert!(!v.to_string().contains("T25jZSB1cG9u"), "{v}");
        assert_eq!(
            packet_input(&tx_with("packet_data", "not json".into())),
            Value::Null
        );
        assert_eq!(packet_input(&json!({"tx_result": {"events": []}})), Value::Null);
    }

    #[test]
    fn reports_come_out_of_the_votes_record() {
        use prost::Message as _;
        use tendermint_proto::v0_38::abci::{ExtendedCommitInfo, ExtendedVoteInfo, Validator};
        let report = |job: u64, sha: u8| cproto::JobReport {
            job_id: job,
            outcome: Some(cproto::job_report::Outcome::Result(cproto::ExecutedResult {
                output: Some(cproto::OutputCommitment {
                    sha256: vec![sha; 32],
                    size: 3,
                    encoding: "png".into(),
                }),
                ..Default::default()
            })),
        };
        let vote = |addr: u8, reports: Vec<cproto::JobReport>| ExtendedVoteInfo {
            validator: Some(Validator {
                address: vec![addr; 20].into(),
                power: 10,
            }),
            vote_extension: cproto::VoteExtension { reports }.encode_to_vec().into(),
            ..Default::default()
        };
        let commit = ExtendedCommitInfo {
            round: 0,
            votes: vec![
                vote(1, vec![report(7, 0xaa), report(8, 0xbb)]),
                vote(2, vec![report(8, 0xcc)]),
            ],
        };
        let tx = [VOTES_TX_PREFIX, &commit.encode_to_vec()].concat();
        let found = reports_in_block(&[tx.clone(), b"other".to_vec()], 8);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, vec![1; 20]);
        assert_eq!(found[1].1, report(8, 0xcc));
        assert!(reports_in_block(&[tx], 9).is_empty());
        assert!(reports_in_block(&[b"a plain tx".to_vec()], 8).is_empty());
        assert!(reports_in_block(&[], 8).is_empty());

        let job = cproto::Job {
            id: 8,
            result: Some(cproto::MsgRunInferenceResponse {
                output: Some(cproto::OutputCommitment {
                    sha256: vec![0xbb; 32],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = report_json(&job, &[1; 20], &report(8, 0xbb), Some(5), None);
        assert_eq!(v["agrees"], true);
        assert_eq!(v["validator"], "01".repeat(20));
        assert_eq!(
            report_json(&job, &[2; 20], &report(8, 0xcc), None, None)["agrees"],
            false
        );
    }
}
