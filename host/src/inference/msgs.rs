//! The inference module's transaction messages (docs/protocol.md §8):
//! `MsgRunInference` (a job for a local account), `MsgRequestInference`
//! (send a request to another chain's host over an `inference` channel)
//! and `MsgRegisterExecutorKey` (a validator publishes its X25519 key).

use ::ibc::core::channel::handler::send_packet;
use ::ibc::core::channel::types::packet::Packet;
use ::ibc::core::host::types::identifiers::{ChannelId, PortId};
use ::ibc::core::host::types::path::{ChannelEndPath, SeqSendPath};
use ::ibc::core::host::ValidationContext;
use chimera_packets::{proto, InferencePacketData, Limits, PORT_ID};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::channel::v1::Packet as RawPacket;
use ibc_proto::ibc::core::client::v1::Height as RawHeight;
use prost::{Message, Name};
use tendermint::abci::Event;

use super::jobs::{self, Origin};
use super::params::InferenceParams;
use super::{requester, store};
use crate::chain::address::Address;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::StateParams;

/// A message of the inference module.
#[derive(Debug, Clone)]
pub enum InferenceMsg {
    Run(proto::MsgRunInference),
    Request(proto::MsgRequestInference),
    RegisterExecutorKey(proto::MsgRegisterExecutorKey),
}

/// Every type URL the module executes.
pub fn is_inference_type_url(url: &str) -> bool {
    [
        proto::MsgRunInference::type_url(),
        proto::MsgRequestInference::type_url(),
        proto::MsgRegisterExecutorKey::type_url(),
    ]
    .iter()
    .any(|u| u == url)
}

fn decode_as<M: Message + Default>(any: &Any, name: &str) -> Result<M, TxError> {
    M::decode(any.value.as_slice()).map_err(|e| TxError::Decode(format!("{name}: {e}")))
}

fn refused(e: impl std::fmt::Display) -> TxError {
    TxError::InvalidRequest(e.to_string())
}

impl InferenceMsg {
    pub fn decode(any: &Any) -> Result<InferenceMsg, TxError> {
        let url = any.type_url.as_str();
        if url == proto::MsgRunInference::type_url() {
            Ok(InferenceMsg::Run(decode_as(any, "MsgRunInference")?))
        } else if url == proto::MsgRequestInference::type_url() {
            Ok(InferenceMsg::Request(decode_as(any, "MsgRequestInference")?))
        } else if url == proto::MsgRegisterExecutorKey::type_url() {
            Ok(InferenceMsg::RegisterExecutorKey(decode_as(
                any,
                "MsgRegisterExecutorKey",
            )?))
        } else {
            Err(TxError::UnknownRequest(format!(
                "unrecognized message type: {url}"
            )))
        }
    }

    /// The type URL (`message.action`).
    pub fn type_url(&self) -> &'static str {
        match self {
            InferenceMsg::Run(_) => "/chimera.inference.v1.MsgRunInference",
            InferenceMsg::Request(_) => "/chimera.inference.v1.MsgRequestInference",
            InferenceMsg::RegisterExecutorKey(_) => "/chimera.inference.v1.MsgRegisterExecutorKey",
        }
    }

    /// Who must sign.
    pub fn signer(&self) -> Result<Address, TxError> {
        let s = match self {
            InferenceMsg::Run(m) => &m.signer,
            InferenceMsg::Request(m) => &m.sender,
            InferenceMsg::RegisterExecutorKey(m) => &m.validator,
        };
        Address::parse(s).map_err(|e| TxError::InvalidAddress(format!("{s:?}: {e}")))
    }
}

/// Executes one inference message signed by `signer`.
pub fn exec(
    ctx: &mut Ctx,
    msg: &InferenceMsg,
    signer: &Address,
    chain_id: &str,
    events: &mut Vec<Event>,
) -> Result<Any, TxError> {
    match msg {
        InferenceMsg::Run(m) => run_inference(ctx, m, signer, events),
        InferenceMsg::Request(m) => request_inference(ctx, m, signer, chain_id, events),
        InferenceMsg::RegisterExecutorKey(m) => register_executor_key(ctx, m, signer, events),
    }
}

fn response<M: Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// A local job: the fee moves into escrow first, so a requester without
/// it fails here (insufficient funds) and nothing runs.
fn run_inference(
    ctx: &mut Ctx,
    m: &proto::MsgRunInference,
    signer: &Address,
    events: &mut Vec<Event>,
) -> Result<Any, TxError> {
    let params = InferenceParams::load(ctx.state)?;
    let data = InferencePacketData::from_msg(m).map_err(refused)?;
    data.validate(&params.limits()).map_err(refused)?;
    let fees = crate::fees::FeeParams::load(ctx.state)?;
    let fee = crate::fees::settle::charge(&fees, &data.model, &m.fee)?;
    if !fee.is_empty() {
        crate::chain::bank::send(ctx, signer, &requester::escrow_account(), &fee, events)?;
    }
    let origin = Origin::Local {
        escrow: fee
            .iter()
            .map(|(denom, amount)| Coin {
                denom: denom.clone(),
                amount: amount.to_string(),
            })
            .collect(),
    };
    let job_id = jobs::admit(ctx, &params, &data, origin, events)?.map_err(refused)?;
    Ok(response(&proto::MsgRunInferenceResponse {
        job_id,
        ..Default::default()
    }))
}

fn request_inference(
    ctx: &mut Ctx,
    m: &proto::MsgRequestInference,
    sender: &Address,
    chain_id: &str,
    events: &mut Vec<Event>,
) -> Result<Any, TxError> {
    if m.source_port != PORT_ID {
        return Err(refused(format!(
            "source_port must be {PORT_ID}, got {:?}",
            m.source_port
        )));
    }
    let as_run = proto::MsgRunInference {
        signer: m.sender.clone(),
        model: m.model.clone(),
        input: m.input.clone(),
        encoding: m.encoding.clone(),
        params: m.params.clone(),
        sealed: m.sealed.clone(),
        receiver: m.receiver.clone(),
        memo: m.memo.clone(),
        fee: m.fee.clone(),
    };
    let data = InferencePacketData::from_msg(&as_run).map_err(refused)?;
    data.validate(&Limits::default()).map_err(refused)?;
    let port: PortId = m.source_port.parse().map_err(refused)?;
    let channel: ChannelId = m.source_channel.parse().map_err(refused)?;
    let sequence = crate::ibc::msgs::with_ibc(ctx, chain_id, events, "MsgRequestInference", |ibc, _, _| {
        let end = ibc
            .channel_end(&ChannelEndPath::new(&port, &channel))
            .map_err(|e| refused(format!("ibc: {e}")))?;
        let cp = end.counterparty();
        let cp_channel = cp
            .channel_id()
            .ok_or_else(|| refused(format!("channel {channel} has no counterparty channel yet")))?;
        let seq = ibc
            .get_next_sequence_send(&SeqSendPath::new(&port, &channel))
            .map_err(|e| refused(format!("ibc: {e}")))?;
        let raw = RawPacket {
            sequence: seq.value(),
            source_port: port.to_string(),
            source_channel: channel.to_string(),
            destination_port: cp.port_id().to_string(),
            destination_channel: cp_channel.to_string(),
            data: data.to_bytes(),
            timeout_height: Some(RawHeight {
                revision_number: m.timeout_revision_number,
                revision_height: m.timeout_revision_height,
            }),
            timeout_timestamp: m.timeout_timestamp,
        };
        let packet = Packet::try_from(raw).map_err(|e| refused(format!("packet: {e}")))?;
        send_packet(ibc, packet).map_err(|e| refused(format!("ibc: {e}")))?;
        Ok(seq.value())
    })?;
    requester::record_sent(
        ctx,
        sender,
        proto::InferenceRequest {
            sender: m.sender.clone(),
            source_port: m.source_port.clone(),
            source_channel: m.source_channel.clone(),
            sequence,
            model: m.model.clone(),
            fee: m.fee.clone(),
            status: proto::JobStatus::Pending as i32,
            sent_height: ctx.height,
            ..Default::default()
        },
        events,
    )?;
    Ok(response(&proto::MsgRequestInferenceResponse { sequence }))
}

fn register_executor_key(
    ctx: &mut Ctx,
    m: &proto::MsgRegisterExecutorKey,
    operator: &Address,
    events: &mut Vec<Event>,
) -> Result<Any, TxError> {
    let key: [u8; 32] = m.x25519_public_key.as_slice().try_into().map_err(|_| {
        refused(format!(
            "x25519_public_key must be 32 bytes, got {}",
            m.x25519_public_key.len()
        ))
    })?;
    if key == [0; 32] {
        return Err(refused("x25519_public_key is all zeros"));
    }
    let validator = store::operator_validator(ctx, operator.as_bytes())?
        .ok_or_else(|| TxError::Unauthorized(format!("{operator} is not a validator operator")))?;
    store::put_executor_key(ctx, &validator, &key)?;
    crate::fees::settle::reinstate(ctx, &validator, events)?;
    Ok(response(&proto::MsgRegisterExecutorKeyResponse {}))
}
