//! `cosmos.tx.v1beta1.Service`: simulation against committed state (the gas
//! figure Hermes and wallets multiply into their fee), and broadcast and
//! lookup through the node's CometBFT RPC, answered as the SDK's
//! `TxResponse`s.

use std::collections::HashMap;

use ibc_proto::cosmos::base::abci::v1beta1::{GasInfo, Result as AbciResult, TxMsgData, TxResponse};
use ibc_proto::cosmos::tx::v1beta1::service_server::Service;
use ibc_proto::cosmos::tx::v1beta1::*;
use ibc_proto::google::protobuf::Any;
use prost::Message;
use serde_json::{json, Value};
use tonic::{Code, Request, Response, Status};

use super::comet::{self, CometRpc, ExecResult};
use super::error::{QResult, QueryError};
use super::page::offset_page;
use super::read::{self, QueryCtx};
use crate::chain::app::App;
use crate::chain::error::TxError;

/// Type URL of `Tx` in `TxResponse.tx`.
pub const TX_TYPE_URL: &str = "/cosmos.tx.v1beta1.Tx";

/// `TxRaw` bytes of a decoded `Tx` (how the SDK re-encodes `Simulate`'s
/// deprecated `tx` field and `TxEncode`'s input).
pub fn encode_tx(tx: &Tx) -> Vec<u8> {
    TxRaw {
        body_bytes: tx.body.as_ref().map(Message::encode_to_vec).unwrap_or_default(),
        auth_info_bytes: tx
            .auth_info
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default(),
        signatures: tx.signatures.clone(),
    }
    .encode_to_vec()
}

/// A `Tx` from `TxRaw` bytes.
pub fn decode_tx(bytes: &[u8]) -> QResult<Tx> {
    let bad = |what: &str, e: prost::DecodeError| QueryError::invalid(format!("tx parse error: {what}: {e}"));
    let raw = TxRaw::decode(bytes).map_err(|e| bad("TxRaw", e))?;
    Ok(Tx {
        body: Some(TxBody::decode(raw.body_bytes.as_slice()).map_err(|e| bad("TxBody", e))?),
        auth_info: Some(AuthInfo::decode(raw.auth_info_bytes.as_slice()).map_err(|e| bad("AuthInfo", e))?),
        signatures: raw.signatures,
    })
}

/// `Service/Simulate`: runs the tx on the latest committed state without
/// keeping its writes. A failure is the SDK's `codes.Unknown` with its
/// message, `"<error> With gas wanted: '<w>' and gas used: '<u>' "`,
/// whose error part Hermes matches (e.g. "account sequence mismatch,
/// expected E, got G" to decide whether to send anyway).
/// Runs of one simulation at most when commits keep landing during it
/// (each commit is a block, so the second run nearly always holds).
const SIMULATE_ATTEMPTS: usize = 3;

#[allow(deprecated)] // `tx` (request) and `data` (result): SDK clients still use both
pub fn simulate(q: &QueryCtx, req: SimulateRequest) -> QResult<SimulateResponse> {
    let bytes = if !req.tx_bytes.is_empty() {
        req.tx_bytes
    } else if let Some(tx) = req.tx {
        encode_tx(&tx)
    } else {
        return Err(QueryError::invalid("empty txBytes is not allowed"));
    };
    // A commit landing mid-simulation leaves it reading a superseded
    // snapshot (key listings then fail): run it again on the new state.
    let mut attempts = 0;
    let out = loop {
        attempts += 1;
        let (out, height) = match &q.mempool {
            Some(mempool) => {
                let (state, height) = mempool();
                (App::simulate_on(state, height, &q.chain_id, &bytes), height)
            }
            None => {
                let height = q.storage.latest_version().unwrap_or(0) + 1;
                (App::simulate(&q.storage, &q.chain_id, &bytes), height)
            }
        };
        if q.storage.latest_version().unwrap_or(0) + 1 == height || attempts >= SIMULATE_ATTEMPTS {
            break out;
        }
    };
    let gas_info = GasInfo {
        gas_wanted: out.gas_wanted,
        gas_used: out.gas_used,
    };
    match out.result {
        Ok(data) => {
            let msg_responses = TxMsgData::decode(data.as_slice())
                .map(|d| d.msg_responses)
                .unwrap_or_default();
            Ok(SimulateResponse {
                gas_info: Some(gas_info),
                result: Some(AbciResult {
                    data,
                    log: String::new(),
                    events: out.events.into_iter().map(Into::into).collect(),
                    msg_responses,
                }),
            })
        }
        Err(e) => {
            let code = if matches!(e, TxError::Internal(_)) {
                Code::Internal
            } else {
                Code::Unknown
            };
            Err(QueryError::new(
                code,
                format!(
                    "{e} With gas wanted: '{}' and gas used: '{}' ",
                    gas_info.gas_wanted, gas_info.gas_used
                ),
            ))
        }
    }
}

/// `Service/TxDecode`.
pub fn tx_decode(req: TxDecodeRequest) -> QResult<TxDecodeResponse> {
    if req.tx_bytes.is_empty() {
        return Err(QueryError::invalid("invalid empty tx bytes"));
    }
    Ok(TxDecodeResponse {
        tx: Some(decode_tx(&req.tx_bytes)?),
    })
}

/// `Service/TxEncode`.
pub fn tx_encode(req: TxEncodeRequest) -> QResult<TxEncodeResponse> {
    let tx = req.tx.ok_or_else(|| QueryError::invalid("invalid empty tx"))?;
    Ok(TxEncodeResponse {
        tx_bytes: encode_tx(&tx),
    })
}

/// `TxResponse` of an executed (or checked) tx, as the SDK fills it:
/// uppercase hex hash and data, the raw log, and the tx itself as an Any
/// when its bytes are a Cosmos tx.
fn tx_response(
    height: i64,
    hash: &str,
    r: ExecResult,
    tx_bytes: Option<&[u8]>,
    timestamp: String,
) -> (Option<Tx>, TxResponse) {
    let tx = tx_bytes.and_then(|b| decode_tx(b).ok());
    let any = tx.as_ref().map(|t| Any {
        type_url: TX_TYPE_URL.into(),
        value: t.encode_to_vec(),
    });
    // `logs` stays empty: the SDK parses it out of JSON raw logs, which the
    // app does not write.
    let resp = TxResponse {
        height,
        txhash: hash.to_uppercase(),
        codespace: r.codespace,
        code: r.code,
        data: hex::encode_upper(&r.data),
        raw_log: r.log,
        logs: Vec::new(),
        info: r.info,
        gas_wanted: r.gas_wanted,
        gas_used: r.gas_used,
        tx: any,
        timestamp,
        events: r.events,
    };
    (tx, resp)
}

/// The tonic service.
#[derive(Clone)]
pub struct TxService {
    /// Committed state, for simulations.
    pub q: QueryCtx,
    /// The node's CometBFT, for broadcasts and the tx index.
    pub rpc: CometRpc,
}

impl TxService {
    /// Block times by height, fetched once per request.
    async fn block_time(&self, cache: &mut HashMap<i64, String>, height: i64) -> QResult<String> {
        if let Some(t) = cache.get(&height) {
            return Ok(t.clone());
        }
        let t = self.rpc.block(Some(height)).await?.time_rfc3339();
        cache.insert(height, t.clone());
        Ok(t)
    }

    /// One `/tx` or `/tx_search` entry as (Tx, TxResponse).
    async fn indexed_tx(
        &self,
        v: &Value,
        cache: &mut HashMap<i64, String>,
    ) -> QResult<(Option<Tx>, TxResponse)> {
        let height = comet::int(v, "height")?;
        let result = ExecResult::from_json(v.get("tx_result").unwrap_or(&Value::Null))?;
        let bytes = comet::base64_field(v, "tx")?;
        let time = self.block_time(cache, height).await?;
        Ok(tx_response(
            height,
            &comet::string(v, "hash"),
            result,
            Some(&bytes),
            time,
        ))
    }
}

fn unimplemented(method: &str) -> Status {
    QueryError::unimplemented(&format!("cosmos.tx.v1beta1.Service/{method}")).into()
}

#[tonic::async_trait]
impl Service for TxService {
    async fn simulate(&self, req: Request<SimulateRequest>) -> Result<Response<SimulateResponse>, Status> {
        let q = self.q.clone();
        read::grpc_blocking(req, move |r| simulate(&q, r)).await
    }

    /// Looks a tx up by hash in the node's tx index.
    async fn get_tx(&self, req: Request<GetTxRequest>) -> Result<Response<GetTxResponse>, Status> {
        let hash = req.into_inner().hash;
        let bytes = hex::decode(&hash)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| QueryError::invalid(format!("tx hash {hash:?} is not 32 bytes of hex")))?;
        let r = match self
            .rpc
            .call(
                "tx",
                json!({ "hash": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes), "prove": false }),
            )
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_not_found() => return Err(QueryError::not_found(format!("tx not found: {hash}")).into()),
            Err(e) => return Err(QueryError::from(e).into()),
        };
        let (tx, tx_response) = self.indexed_tx(&r, &mut HashMap::new()).await?;
        Ok(Response::new(GetTxResponse {
            tx,
            tx_response: Some(tx_response),
        }))
    }

    /// Hands the tx to CometBFT: `broadcast_tx_sync` (CheckTx result),
    /// `_async` (nothing checked) or, for the deprecated BLOCK mode,
    /// `_commit` (waits for the block).
    async fn broadcast_tx(
        &self,
        req: Request<BroadcastTxRequest>,
    ) -> Result<Response<BroadcastTxResponse>, Status> {
        let req = req.into_inner();
        if req.tx_bytes.is_empty() {
            return Err(QueryError::invalid("invalid empty tx").into());
        }
        let method = match BroadcastMode::try_from(req.mode) {
            Ok(BroadcastMode::Sync) => "broadcast_tx_sync",
            Ok(BroadcastMode::Async) => "broadcast_tx_async",
            Ok(BroadcastMode::Block) => "broadcast_tx_commit",
            _ => {
                return Err(QueryError::invalid(format!(
                    "unsupported broadcast mode {}; supported modes: sync, async, block",
                    req.mode
                ))
                .into())
            }
        };
        let tx_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &req.tx_bytes);
        let r = self
            .rpc
            .call(method, json!({ "tx": tx_b64 }))
            .await
            .map_err(QueryError::from)?;
        let hash = comet::string(&r, "hash");
        let (_, tx_response) = if method == "broadcast_tx_commit" {
            let check = ExecResult::from_json(r.get("check_tx").unwrap_or(&Value::Null))?;
            if check.code != 0 {
                tx_response(0, &hash, check, None, String::new())
            } else {
                let deliver = r
                    .get("tx_result")
                    .or_else(|| r.get("deliver_tx"))
                    .unwrap_or(&Value::Null);
                let height = comet::int(&r, "height")?;
                let time = self
                    .block_time(&mut HashMap::new(), height)
                    .await
                    .unwrap_or_default();
                tx_response(height, &hash, ExecResult::from_json(deliver)?, None, time)
            }
        } else {
            tx_response(0, &hash, ExecResult::from_json(&r)?, None, String::new())
        };
        Ok(Response::new(BroadcastTxResponse {
            tx_response: Some(tx_response),
        }))
    }

    /// Searches the node's tx index (`tx_search`) with the SDK 0.50 `query`
    /// or the 0.47 `events` (joined with AND).
    async fn get_txs_event(
        &self,
        req: Request<GetTxsEventRequest>,
    ) -> Result<Response<GetTxsEventResponse>, Status> {
        let req = req.into_inner();
        #[allow(deprecated)] // `events` and `pagination`: SDK 0.47 clients still send them
        let (query, pagination) = (
            if !req.query.is_empty() {
                req.query.clone()
            } else {
                req.events.join(" AND ")
            },
            req.pagination.clone(),
        );
        if query.is_empty() {
            return Err(QueryError::invalid("query cannot be empty").into());
        }
        let limit = match (req.limit, &pagination) {
            (0, Some(p)) if p.limit > 0 => p.limit,
            (0, _) => 100,
            (l, _) => l,
        }
        .min(100);
        let page = match (req.page, &pagination) {
            (0, Some(p)) => p.offset / limit + 1,
            (0, None) => 1,
            (p, _) => p,
        };
        let order_by = match OrderBy::try_from(req.order_by) {
            Ok(OrderBy::Desc) => "desc",
            _ => "asc",
        };
        let r = self
            .rpc
            .call(
                "tx_search",
                json!({
                    "query": query,
                    "prove": false,
                    "page": page.to_string(),
                    "per_page": limit.to_string(),
                    "order_by": order_by,
                }),
            )
            .await
            .map_err(QueryError::from)?;
        let total = comet::int(&r, "total_count")?.max(0) as u64;
        let mut cache = HashMap::new();
        let (mut txs, mut tx_responses) = (Vec::new(), Vec::new());
        for v in r
            .get("txs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let (tx, resp) = self.indexed_tx(&v, &mut cache).await?;
            txs.push(tx.unwrap_or_default());
            tx_responses.push(resp);
        }
        #[allow(deprecated)] // `pagination`: SDK 0.47 clients read the total there
        Ok(Response::new(GetTxsEventResponse {
            txs,
            tx_responses,
            pagination: Some(ibc_proto::cosmos::base::query::v1beta1::PageResponse {
                next_key: Vec::new(),
                total,
            }),
            total,
        }))
    }

    async fn get_block_with_txs(
        &self,
        req: Request<GetBlockWithTxsRequest>,
    ) -> Result<Response<GetBlockWithTxsResponse>, Status> {
        let req = req.into_inner();
        if req.height <= 0 {
            return Err(QueryError::invalid(format!("height must be positive, got {}", req.height)).into());
        }
        let b = self.rpc.block(Some(req.height)).await?;
        let raw_txs = b.block.data.as_ref().map(|d| d.txs.clone()).unwrap_or_default();
        let (page_txs, page) = offset_page(raw_txs, req.pagination.as_ref())?;
        let txs = page_txs
            .iter()
            .map(|t| decode_tx(t))
            .collect::<QResult<Vec<_>>>()?;
        Ok(Response::new(GetBlockWithTxsResponse {
            txs,
            block_id: Some(b.id),
            block: Some(b.block),
            pagination: Some(page),
        }))
    }

    async fn tx_decode(&self, req: Request<TxDecodeRequest>) -> Result<Response<TxDecodeResponse>, Status> {
        read::grpc_blocking(req, tx_decode).await
    }

    async fn tx_encode(&self, req: Request<TxEncodeRequest>) -> Result<Response<TxEncodeResponse>, Status> {
        read::grpc_blocking(req, tx_encode).await
    }

    async fn tx_encode_amino(
        &self,
        _: Request<TxEncodeAminoRequest>,
    ) -> Result<Response<TxEncodeAminoResponse>, Status> {
        Err(unimplemented("TxEncodeAmino"))
    }

    async fn tx_decode_amino(
        &self,
        _: Request<TxDecodeAminoRequest>,
    ) -> Result<Response<TxDecodeAminoResponse>, Status> {
        Err(unimplemented("TxDecodeAmino"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_roundtrip_and_responses() {
        let tx = Tx {
            body: Some(TxBody {
                memo: "m".into(),
                ..Default::default()
            }),
            auth_info: Some(AuthInfo::default()),
            signatures: vec![vec![7; 64]],
        };
        let bytes = encode_tx(&tx);
        assert_eq!(decode_tx(&bytes).unwrap(), tx);
        assert!(decode_tx(b"\xff\xff").is_err());
        let (decoded, resp) = tx_response(
            5,
            "ab",
            ExecResult {
                code: 0,
                data: vec![0xab, 0x01],
                ..Default::default()
            },
            Some(&bytes),
            "2026-01-01T00:00:00Z".into(),
        );
        assert_eq!(decoded, Some(tx));
        assert_eq!(
            (resp.txhash.as_str(), resp.data.as_str(), resp.height),
            ("AB", "AB01", 5)
        );
        assert_eq!(resp.tx.unwrap().type_url, TX_TYPE_URL);
    }
}
