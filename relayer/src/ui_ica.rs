//! `chimera ui`'s ICA route (docs/ui.md, "Ask: the ICA route"): a Terra
//! Classic account's interchain account on chimerad sends
//! `MsgRunInference` (ICS-27, DESIGN §3). Terra Classic v3.4 runs ibc-go
//! v7.4's controller without an auth module, so the page signs
//! `MsgRegisterInterchainAccount`, an ICS-20 `MsgTransfer` (the LUNC the
//! account pays fees with) and `MsgSendTx` itself; `chimera relay`
//! completes the handshake and carries the packets. The server only reads,
//! with the same library the `chimera ica` CLI uses (`chimera_relayer::ica`):
//!
//! - `GET /api/ica-info`: the connection on Terra to chimerad, the transfer
//!   channel, the LUNC voucher and each model's price in it, the version
//!   metadata a registration proposes, the wallet's chain facts;
//! - `GET /api/ica/:owner`: the owner's interchain account (address,
//!   channel and its state) and its voucher balance on chimerad;
//! - `GET /api/ica-requests/:channel/:sequence`: the timeline of one
//!   `MsgSendTx` packet in the shape of `/api/requests/:id` (the Terra tx,
//!   the job on chimerad with each validator's report, the ack on Terra
//!   decoded), sharing the job and ack parts with the contract route.
//!
//! The library's functions take a connected [`Chain`]; the server's Terra
//! handle is connected lazily (Terra may start after the server) with a
//! throwaway key that never signs.

use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::Json;
use prost::Message as _;
use serde_json::{json, Value};

use super::terra::{self, Terra};
use super::{grpc_error, inference, model_json, one_line, ApiError, ApiResult, Ctx, Shared};
use chimera_packets::ica::{self as pica, Encoding, Metadata};
use chimera_packets::proto as cproto;
use chimera_relayer::chain::Chain;
use chimera_relayer::ica;

/// The relative timeout of the `MsgSendTx` the page signs (`chimera ica
/// infer`'s default).
pub const PACKET_TIMEOUT_SECONDS: u64 = ica::DEFAULT_PACKET_TIMEOUT.as_secs();

/// BIP-39's public test words (all-zero entropy, 24 words): the server's
/// Terra handle needs a key to exist, never to sign (it sends nothing).
const READ_ONLY_WORDS: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
    abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
    abandon abandon abandon abandon art";

/// The ICA route's state, kept in [`Terra`].
#[derive(Default)]
pub struct IcaState {
    /// Terra as `chimera_relayer::ica` reads it, once connected.
    controller: tokio::sync::Mutex<Option<Arc<Chain>>>,
    /// The connection on Terra and its counterparty on chimerad, once found.
    connection: tokio::sync::Mutex<Option<(String, String)>>,
}

fn terra_of(ctx: &Ctx) -> Result<&Terra, ApiError> {
    ctx.terra.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "the ICA route is off: start chimera ui with --terra-rpc http://HOST:26657 --terra-grpc http://HOST:9090 (Terra Classic)",
        )
    })
}

/// Terra as a [`Chain`] (connected on first use; again after a failure).
async fn controller(t: &Terra) -> Result<Arc<Chain>, ApiError> {
    let mut held = t.ica.controller.lock().await;
    if let Some(c) = held.as_ref() {
        return Ok(c.clone());
    }
    let chain_id = t.chain_id().await?;
    let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e);
    let config: chimera_relayer::config::ChainConfig = serde_json::from_value(json!({
        "id": chain_id,
        "rpc": t.rpc_url,
        "grpc": t.grpc_url,
        "account_prefix": "terra",
        "coin_type": 330,
        "key": "ui-read-only",
        "gas_price": {"price": 28.325, "denom": "uluna"},
    }))
    .map_err(|e| internal(format!("Terra's chain config: {e}")))?;
    let dir = std::env::temp_dir().join(format!("chimera-ui-read-only-{}", std::process::id()));
    let key = chimera_relayer::keys::KeyStore::open(&dir)
        .add(
            &chain_id,
            "ui-read-only",
            330,
            "terra",
            Some(READ_ONLY_WORDS),
            true,
        )
        .map(|(k, _)| k)
        .map_err(|e| internal(format!("a read-only key in {}: {e}", dir.display())));
    let _ = std::fs::remove_dir_all(&dir);
    let chain = Chain::connect(config, &key?, chimera_relayer::telemetry::Metrics::new())
        .await
        .map_err(|e| t.unreachable("connecting", format!("{e:#}")))?;
    *held = Some(chain.clone());
    Ok(chain)
}

/// An `anyhow` error of the ICA library as a 502 the page shows.
fn failed(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!("{what}: {}", one_line(&e.to_string())),
    )
}

/// The connection on Terra to chimerad (`--ica-connection`, or the one
/// OPEN connection whose client tracks chimerad's chain id) and its
/// counterparty; `Err` says why there is none.
async fn connection(ctx: &Ctx, t: &Terra, c: &Chain) -> Result<Result<(String, String), String>, ApiError> {
    let mut held = t.ica.connection.lock().await;
    if let Some(p) = held.as_ref() {
        return Ok(Ok(p.clone()));
    }
    let host = terra::host_chain_id(ctx).await?;
    match ica::resolve_path(c, &host, t.ica_connection.as_deref()).await {
        Ok(p) => {
            let found = (p.connection_id, p.host_connection_id);
            *held = Some(found.clone());
            Ok(Ok(found))
        }
        Err(e) => Ok(Err(format!(
            "{} (chimera ui --ica-connection names one)",
            one_line(&format!("{e:#}"))
        ))),
    }
}

/// The price of `model` in `voucher` under chimerad's fee params (its own
/// entries, else `*`'s, as the host reads them): `Some(amount)`; `None`
/// when it is not priced in LUNC; `Some("0")` when it is not priced at all
/// (any fee, none included, will do).
pub fn voucher_price(prices: &[(String, String, String)], model: &str, voucher: &str) -> Option<String> {
    let of = |m: &str| -> Vec<&(String, String, String)> { prices.iter().filter(|p| p.0 == m).collect() };
    let own = of(model);
    let list = if own.is_empty() { of("*") } else { own };
    if list.is_empty() {
        return Some("0".into());
    }
    list.iter()
        .find(|p| bank_denom(&p.1) == voucher)
        .map(|p| p.2.clone())
}

/// The bank denom a price's denom names (`ibc/HASH` for an ICS-20 path).
fn bank_denom(denom: &str) -> String {
    if denom.starts_with("transfer/") {
        ica::ibc_denom(denom)
    } else {
        denom.to_string()
    }
}

/// One balance on a chain's bank (gRPC).
async fn balance(
    channel: tonic::transport::Channel,
    url: &str,
    address: &str,
    denom: &str,
) -> Result<String, ApiError> {
    use cosmrs::proto::cosmos::bank::v1beta1::{query_client::QueryClient, QueryBalanceRequest};
    let r = QueryClient::new(channel)
        .balance(QueryBalanceRequest {
            address: address.into(),
            denom: denom.into(),
        })
        .await
        .map_err(|s| grpc_error("cosmos.bank.v1beta1.Query/Balance", url, s))?;
    Ok(r.into_inner()
        .balance
        .map(|c| c.amount)
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "0".into()))
}

/// The transfer channel on `connection` and the voucher LUNC arrives as on
/// chimerad over it: (channel on Terra, channel on chimerad, `ibc/…`).
async fn voucher(c: &Chain, connection: &str) -> Result<(String, String, String), String> {
    let chan = ica::transfer_channel(c, connection, None)
        .await
        .map_err(|e| one_line(&format!("{e:#}")))?;
    let cp = chan.counterparty.unwrap_or_default();
    let denom = ica::received_denom(
        ica::TRANSFER_PORT,
        &chan.channel_id,
        &cp.port_id,
        &cp.channel_id,
        "uluna",
    );
    Ok((chan.channel_id, cp.channel_id, denom))
}

/// `GET /api/ica-info`: what the Ask page's ICA route needs before signing.
pub async fn ica_info(State(ctx): State<Shared>) -> ApiResult {
    let t = terra_of(&ctx)?;
    let chain_id = t.chain_id().await?;
    let host_chain_id = terra::host_chain_id(&ctx).await?;
    let models: cproto::QueryModelsResponse =
        inference(&ctx, "Models", cproto::QueryModelsRequest {}).await?;
    let prices: Vec<(String, String, String)> = {
        use chimera_host::services::fees::QueryClient as FeesClient;
        let r = FeesClient::new(ctx.host.clone())
            .params(chimera_packets::proto::fees::QueryParamsRequest {})
            .await
            .map_err(|s| grpc_error("chimera.fees.v1.Query/Params", &ctx.host_url, s))?;
        r.into_inner()
            .params
            .unwrap_or_default()
            .prices
            .into_iter()
            .map(|p| (p.model, p.denom, crate::fees_cli::or_zero(&p.amount).to_string()))
            .collect()
    };
    let c = controller(t).await?;
    let conn = connection(&ctx, t, &c).await?;
    let (mut transfer, mut voucher_v, mut route_error) = (Value::Null, Value::Null, Value::Null);
    let mut register_version = Value::Null;
    match &conn {
        Ok((x, h)) => {
            register_version = json!(String::from_utf8_lossy(
                &Metadata::new_controller(x, h, Encoding::Proto3).to_json()
            ));
            match voucher(&c, x).await {
                Ok((tc, hc, v)) => {
                    transfer = json!({"channel_id": tc, "host_channel_id": hc});
                    voucher_v = json!(v);
                }
                Err(e) => route_error = json!(e),
            }
        }
        Err(e) => route_error = json!(e),
    }
    let models: Vec<Value> = models
        .models
        .iter()
        .map(|m| {
            let mut v = model_json(m);
            v["price"] = match voucher_v.as_str() {
                Some(d) => json!(voucher_price(&prices, &m.id, d)),
                None => Value::Null,
            };
            v
        })
        .collect();
    Ok(Json(json!({
        "models": models,
        "terra": t.wallet_json(chain_id),
        "host_chain_id": host_chain_id,
        "connection_id": conn.as_ref().ok().map(|c| c.0.clone()),
        "host_connection_id": conn.as_ref().ok().map(|c| c.1.clone()),
        "transfer": transfer,
        "voucher": voucher_v,
        "route_error": route_error,
        "register_version": register_version,
        "packet_timeout_seconds": PACKET_TIMEOUT_SECONDS,
        "contract": t.contract,
        "devnet_mnemonic": t.devnet_mnemonic,
    })))
}

/// `GET /api/ica/:owner`: `owner`'s interchain account over the route's
/// connection (none yet, a handshake under way, OPEN, CLOSED) and what it
/// holds: its LUNC voucher on chimerad, the owner's uluna on Terra.
pub async fn ica_account(State(ctx): State<Shared>, UrlPath(owner): UrlPath<String>) -> ApiResult {
    let t = terra_of(&ctx)?;
    if !owner.starts_with("terra1") || owner.len() > 128 || !owner.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{owner:?} is not a Terra address (terra1...)"),
        ));
    }
    let c = controller(t).await?;
    let (conn, host_conn) = connection(&ctx, t, &c)
        .await?
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e))?;
    let path = ica::IcaPath::new(&owner, &conn, &host_conn);
    let account = ica::account(&c, &path)
        .await
        .map_err(|e| failed("the interchain account on Terra", e))?;
    let (_, _, voucher_denom) = voucher(&c, &conn)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, e))?;
    let held = match &account.address {
        Some(a) => Some(balance(ctx.host.clone(), &ctx.host_url, a, &voucher_denom).await?),
        None => None,
    };
    let uluna = balance(c.grpc(), &t.grpc_url, &owner, "uluna").await?;
    let mut v = serde_json::to_value(&account).unwrap_or_default();
    v["open"] = json!(account.is_open());
    v["voucher"] = json!(voucher_denom);
    v["voucher_balance"] = json!(held);
    v["terra_balance_uluna"] = json!(uluna);
    Ok(Json(v))
}

/// The chimerad job that ICA packet (`host_channel`, `seq`) created: the
/// `job_id` among the events of the tx that received it, found with
/// chimerad's `cosmos.tx.v1beta1.Service/GetTxsEvent` (a job made by a
/// message, not a packet, records no channel or sequence of its own).
async fn job_of_packet(ctx: &Ctx, host_channel: &str, seq: u64) -> Result<Option<u64>, ApiError> {
    use cosmrs::proto::cosmos::tx::v1beta1::{service_client::ServiceClient, GetTxsEventRequest};
    let query =
        format!("recv_packet.packet_dst_channel='{host_channel}' AND recv_packet.packet_sequence='{seq}'");
    let r = ServiceClient::new(ctx.host.clone())
        .get_txs_event(GetTxsEventRequest {
            query,
            page: 1,
            limit: 1,
            ..Default::default()
        })
        .await
        .map_err(|s| grpc_error("cosmos.tx.v1beta1.Service/GetTxsEvent", &ctx.host_url, s))?;
    Ok(r.into_inner()
        .tx_responses
        .iter()
        .filter(|t| t.code == 0)
        .flat_map(|t| t.events.iter())
        .flat_map(|e| e.attributes.iter())
        .find(|a| a.key == "job_id")
        .and_then(|a| a.value.parse().ok()))
}

/// The `MsgRunInference` inside an ICA packet's data (either encoding).
pub fn run_inference_in(packet_data: &[u8]) -> Option<cproto::MsgRunInference> {
    let p = pica::decode_packet_data(packet_data, Encoding::Proto3)
        .or_else(|_| pica::decode_packet_data(packet_data, Encoding::Proto3Json))
        .ok()?;
    p.messages
        .iter()
        .find(|m| m.type_url == pica::MSG_RUN_INFERENCE_TYPE_URL)
        .and_then(|m| cproto::MsgRunInference::decode(m.value.as_slice()).ok())
}

/// `GET /api/ica-requests/:channel/:sequence`: one `MsgSendTx` packet in
/// the shape of `/api/requests/:id` (`route: "ica"`): the Terra tx that
/// sent it, what its `MsgRunInference` says about the input (never the
/// input), the job on chimerad that answered it (named by the ack, or
/// before it by the `job_id` event of the tx that received the packet on
/// `icahost`) with each validator's report, and the acknowledgement Terra
/// received, decoded (`record.outcome`).
pub async fn ica_request(
    State(ctx): State<Shared>,
    UrlPath((channel, sequence)): UrlPath<(String, String)>,
) -> ApiResult {
    let t = terra_of(&ctx)?;
    let seq: u64 = sequence.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{sequence:?} is not a packet sequence (a positive integer)"),
        )
    })?;
    if !channel
        .strip_prefix("channel-")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{channel:?} is not a channel id (channel-N)"),
        ));
    }
    let c = controller(t).await?;
    let q = format!("send_packet.packet_src_channel='{channel}' AND send_packet.packet_sequence='{seq}'");
    let (tx, tx_view) = t.sent_tx(&q).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no packet {seq} sent on {channel} found on Terra (yet)"),
        )
    })?;
    let attr = |k: &str| terra::event_attr(&tx, "send_packet", k);
    let port = attr("packet_src_port").unwrap_or_default();
    let owner = port
        .strip_prefix(pica::CONTROLLER_PORT_PREFIX)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("packet {seq} on {channel} is from port {port:?}, not an interchain account's"),
            )
        })?
        .to_string();
    let host_channel = attr("packet_dst_channel").unwrap_or_default();
    let data = match attr("packet_data_hex") {
        Some(h) => hex::decode(h).ok(),
        None => attr("packet_data").map(String::into_bytes),
    };
    let msg = data.as_deref().and_then(run_inference_in).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("packet {seq} on {channel} carries no MsgRunInference"),
        )
    })?;
    let input = chimera_packets::InferencePacketData::from_msg(&msg)
        .map(|p| terra::input_json(&p))
        .unwrap_or(Value::Null);
    let fee = msg.fee.first().map_or(
        json!({"denom": "", "amount": "0"}),
        |f| json!({"denom": f.denom, "amount": f.amount}),
    );

    // The acknowledgement Terra received, decoded; else a timeout.
    let found = ica::ack_on_controller(&c, &channel, seq)
        .await
        .map_err(|e| failed("the acknowledgement on Terra", e))?;
    let (status, outcome, result_job) = match found.as_ref().map(|a| ica::decode_ack(&a.ack)) {
        Some(Ok(ica::AckOutcome::Result { responses, .. })) => match responses.first() {
            Some(r) => {
                let o = r.output.clone().unwrap_or_default();
                (
                    "succeeded",
                    json!({"result": {
                        "job_id": r.job_id.to_string(),
                        "output_sha256": hex::encode(&o.sha256),
                        "output_size": o.size.to_string(),
                        "output_encoding": o.encoding,
                    }}),
                    Some(r.job_id),
                )
            }
            None => (
                "failed",
                json!({"error": {"message": "the acknowledgement has no MsgRunInferenceResponse"}}),
                None,
            ),
        },
        Some(Ok(ica::AckOutcome::Error { text, abci_code })) => (
            "failed",
            json!({"error": {"code": abci_code, "message": text}}),
            None,
        ),
        Some(Err(e)) => (
            "failed",
            json!({"error": {"message": format!("an acknowledgement that does not decode: {e}")}}),
            None,
        ),
        None => match ica::timeout_on_controller(&c, &channel, seq)
            .await
            .map_err(|e| failed("timeouts on Terra", e))?
        {
            Some(_) => ("timed_out", json!({"timeout": {}}), None),
            None => ("pending", Value::Null, None),
        },
    };

    // The job on chimerad: the one the ack names, else the one the
    // packet's receipt created.
    let job_id = match result_job {
        Some(id) => Some(id),
        None if status == "pending" && !host_channel.is_empty() => {
            job_of_packet(&ctx, &host_channel, seq).await?
        }
        None => None,
    };
    let job = match job_id {
        Some(id) => {
            inference::<_, cproto::QueryJobResponse>(&ctx, "Job", cproto::QueryJobRequest { job_id: id })
                .await
                .ok()
                .and_then(|r| r.job)
                .filter(|j| j.requester == msg.signer)
        }
        None => None,
    };
    let (job_v, reports) = terra::job_view(&ctx, t, job.as_ref()).await?;
    let ack = if status == "pending" {
        Value::Null
    } else {
        t.ack_tx(&channel, seq).await?
    };
    let mut record = json!({
        "id": format!("{channel}/{seq}"),
        "requester": owner,
        "interchain_account": msg.signer,
        "channel_id": channel,
        "model": msg.model,
        "fee": fee,
        "created_height": terra::height_of(&tx),
        "timeout": attr("packet_timeout_timestamp").unwrap_or_else(|| "0".into()),
        "status": status,
        "sequence": seq,
    });
    if !outcome.is_null() {
        record["outcome"] = outcome;
    }
    Ok(Json(json!({
        "id": format!("{channel}/{seq}"),
        "route": "ica",
        "contract": null,
        "record": record,
        "terra": {
            "tx": tx_view,
            "packet": {
                "sequence": seq,
                "source_channel": channel,
                "destination_channel": host_channel,
                "source_port": port,
                "input": input,
            },
            "ack": ack,
        },
        "job": job_v,
        "reports": reports,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(name: &str) -> Value {
        let p =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../packets/testdata/{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn prices_in_the_lunc_voucher() {
        let path = "transfer/channel-1/uluna";
        let voucher = ica::ibc_denom(path);
        let p = |m: &str, d: &str, a: &str| (m.to_string(), d.to_string(), a.to_string());
        let prices = vec![p("*", path, "100000"), p("tiny-lm", "uchim", "5")];
        assert_eq!(
            voucher_price(&prices, "digits-ddpm", &voucher).as_deref(),
            Some("100000")
        );
        // Priced, but not in LUNC.
        assert_eq!(voucher_price(&prices, "tiny-lm", &voucher), None);
        // By its ibc/ denom too.
        let by_hash = vec![p("digits-ddpm", &voucher, "7")];
        assert_eq!(
            voucher_price(&by_hash, "digits-ddpm", &voucher).as_deref(),
            Some("7")
        );
        // Not priced at all: no fee needed.
        assert_eq!(voucher_price(&[], "digits-ddpm", &voucher).as_deref(), Some("0"));
    }

    /// The bytes `relayer/web/tests/unit/ica.test.ts` expects the page's
    /// writer to make for a tensor input: what prost makes (packed shape).
    #[test]
    fn a_tensor_input_encodes_as_the_page_writes_it() {
        let m = cproto::MsgRunInference {
            signer: "s".into(),
            model: "m".into(),
            input: Some(cproto::Input {
                source: Some(cproto::input::Source::Inline(vec![1, 2])),
            }),
            encoding: Some(cproto::InputEncoding {
                kind: Some(cproto::input_encoding::Kind::Tensor(cproto::TensorSpec {
                    dtype: "f32".into(),
                    shape: vec![1, 8, 300],
                })),
            }),
            params: Some(cproto::Params {
                seed: 1,
                extra: vec![],
            }),
            ..Default::default()
        };
        assert_eq!(
            hex::encode(m.encode_to_vec()),
            "0a017312016d1a040a020102220d1a0b0a0366333212040108ac022a020801"
        );
    }

    #[test]
    fn the_run_inference_comes_out_of_the_packet() {
        for name in ["ica_packet_proto3", "ica_packet_proto3json"] {
            let v = vector(name);
            let m = run_inference_in(v["bytes"].as_str().unwrap().as_bytes()).expect(name);
            assert_eq!(m.model, "tiny-lm", "{name}");
            assert!(m.signer.starts_with("chimera1"), "{name}");
            let input = terra::input_json(&chimera_packets::InferencePacketData::from_msg(&m).unwrap());
            assert_eq!(input["bytes"], "Once upon a time".len(), "{name}");
            assert!(input["sealed"].is_null());
            assert!(!input.to_string().contains("Once"), "{input}");
        }
        assert!(run_inference_in(b"{}").is_none());
        assert_eq!(READ_ONLY_WORDS.split_whitespace().count(), 24);
        assert!(run_inference_in(b"not json").is_none());
    }
}
