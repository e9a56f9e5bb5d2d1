//! Receiving an interchain account packet (ibc-go v7 `host/keeper/relay.go`
//! `OnRecvPacket`): decode `InterchainAccountPacketData` in the channel's
//! encoding, authenticate every message (allow-listed type, signed by the
//! channel's account), execute them atomically, and acknowledge with
//! `TxMsgData` — at once, or, when the tx holds `MsgRunInference`, when the
//! last of its jobs ends (the asynchronous acknowledgement of
//! docs/protocol.md §5).
//!
//! Failures get ibc-go's deterministic error ack (`ABCI code: N: …`), the
//! text going to the `ics27_packet` event, and leave no state behind.

use ::ibc::core::channel::types::acknowledgement::Acknowledgement as IbcAck;
use ::ibc::core::channel::types::packet::Packet;
use chimera_packets::ica::{self, IcaError, Metadata};
use chimera_packets::proto;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::channel::v1::Packet as RawPacket;
use prost::{Message, Name};
use tendermint::abci::{Event, EventAttributeIndexExt};
use tracing::info;

use super::channel::channel_end;
use super::params::IcaHostParams;
use super::store::{self, JobSlot, PendingAck};
use crate::chain::address::Address;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::StateParams;
use crate::chain::tx::Msg;
use crate::inference::jobs::Outcome;

/// ibc-go's ABCI codes of the ICS-27 errors a host acknowledges with
/// (`27-interchain-accounts/types/errors.go`, `host/types/errors.go`).
mod code {
    pub const HOST_DISABLED: u32 = 2;
    pub const INVALID_ROUTE: u32 = 7;
    pub const ACCOUNT_NOT_FOUND: u32 = 8;
}

/// Why a packet is refused: the code its error ack carries and the text
/// its event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u32,
    pub text: String,
}

impl Refusal {
    fn new(code: u32, text: impl Into<String>) -> Refusal {
        Refusal {
            code,
            text: text.into(),
        }
    }

    /// The error acknowledgement.
    pub fn ack(&self) -> Vec<u8> {
        ica::error_ack(self.code)
    }
}

impl From<IcaError> for Refusal {
    fn from(e: IcaError) -> Refusal {
        Refusal::new(e.host_abci_code(), e.to_string())
    }
}

/// What receiving a packet did.
#[derive(Debug)]
pub enum Received {
    /// Executed; the acknowledgement is written now.
    Done(Vec<u8>),
    /// Executed; the acknowledgement waits for these jobs.
    Waiting(Vec<u64>),
}

/// Splits a message's failure into a refusal (the packet gets an error
/// ack) and a fault that must end the relayer's tx (gas, storage).
fn refusal_or_fault(e: TxError) -> Result<Refusal, TxError> {
    match e {
        e @ (TxError::OutOfGas(_) | TxError::Internal(_)) => Err(e),
        e => Ok(Refusal::new(e.code(), e.to_string())),
    }
}

/// The `ics27_packet` event ibc-go emits with every acknowledgement.
pub fn ack_event(host_channel: &str, refusal: Option<&Refusal>) -> Event {
    let mut attrs = vec![
        ("module", ica::MODULE_NAME.to_string()).index(),
        ("host_channel_id", host_channel.to_string()).index(),
        ("success", refusal.is_none().to_string()).index(),
    ];
    if let Some(r) = refusal {
        attrs.push(("error", r.text.clone()).index());
    }
    Event::new("ics27_packet", attrs)
}

/// Receives one packet on `icahost`. `Ok(Err(..))` is a refusal (error
/// ack); `Err` is a fault. The caller runs this in a nested state and
/// keeps the writes only on `Ok(Ok(..))`.
pub fn receive(
    ctx: &mut Ctx,
    chain_id: &str,
    packet: &Packet,
    events: &mut Vec<Event>,
) -> Result<Result<Received, Refusal>, TxError> {
    let params = IcaHostParams::load(ctx.state)?;
    if !params.host_enabled {
        return Ok(Err(Refusal::new(
            code::HOST_DISABLED,
            "host submodule is disabled",
        )));
    }
    let host_port = packet.port_id_on_b.as_str();
    let host_channel = packet.chan_id_on_b.as_str();
    let Some(end) = channel_end(ctx, host_port, host_channel)? else {
        return Ok(Err(Refusal::new(
            code::INVALID_ROUTE,
            format!("channel not found: {host_channel}"),
        )));
    };
    let encoding = match Metadata::from_json(end.version.as_bytes()).and_then(|m| m.encoding()) {
        Ok(e) => e,
        Err(e) => return Ok(Err(e.into())),
    };
    let data = match ica::decode_packet_data(&packet.data, encoding) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e.into())),
    };
    let connection = end.connection_hops.first().cloned().unwrap_or_default();
    let controller_port = packet.port_id_on_a.as_str();
    let Some(account) = store::account(ctx, &connection, controller_port)? else {
        return Ok(Err(Refusal::new(
            code::ACCOUNT_NOT_FOUND,
            format!("interchain account not found: failed to retrieve interchain account on port {controller_port}"),
        )));
    };
    let msgs = match authenticate(&params, &data.messages, &account) {
        Ok(m) => m,
        Err(r) => return Ok(Err(r)),
    };

    let mut responses = Vec::with_capacity(msgs.len());
    let mut jobs = Vec::new();
    for (i, msg) in msgs.iter().enumerate() {
        match msg.exec(ctx, &account, chain_id, events) {
            Ok(any) => {
                if any.type_url == proto::MsgRunInferenceResponse::type_url() {
                    let r = proto::MsgRunInferenceResponse::decode(any.value.as_slice())
                        .map_err(|e| TxError::Internal(format!("own MsgRunInferenceResponse: {e}")))?;
                    jobs.push(JobSlot {
                        job_id: r.job_id,
                        index: i as u32,
                    });
                }
                responses.push(any);
            }
            Err(e) => return refusal_or_fault(e).map(Err),
        }
    }
    if jobs.is_empty() {
        events.push(ack_event(host_channel, None));
        return Ok(Ok(Received::Done(ica::success_ack(&responses))));
    }
    let ids: Vec<u64> = jobs.iter().map(|s| s.job_id).collect();
    let key = store::pending_key(host_channel, packet.seq_on_a.value());
    let pending = PendingAck {
        packet: RawPacket::from(packet.clone()).encode_to_vec(),
        responses,
        jobs,
        error_code: 0,
        error: String::new(),
    };
    store::put_pending(ctx, &key, &pending)?;
    info!(channel = host_channel, sequence = packet.seq_on_a.value(), jobs = ?ids, "interchain account tx waits for its jobs");
    Ok(Ok(Received::Waiting(ids)))
}

/// ibc-go `authenticateTx`: each message is allow-listed and signed by the
/// channel's account alone; then decoded for execution.
fn authenticate(params: &IcaHostParams, anys: &[Any], account: &Address) -> Result<Vec<Msg>, Refusal> {
    let unauthorized = |text: String| Refusal::new(TxError::Unauthorized(String::new()).code(), text);
    let mut msgs = Vec::with_capacity(anys.len());
    for any in anys {
        if !params.allows(&any.type_url) {
            return Err(unauthorized(format!(
                "unauthorized: message type not allowed: {}",
                any.type_url
            )));
        }
        let msg = Msg::from_any(any).map_err(|e| Refusal::new(e.code(), e.to_string()))?;
        let signer = msg.signer().map_err(|e| Refusal::new(e.code(), e.to_string()))?;
        if signer != *account {
            return Err(unauthorized(format!(
                "unauthorized: unexpected signer address: expected {account}, got {signer}"
            )));
        }
        msgs.push(msg);
    }
    Ok(msgs)
}

/// A job ended (FinalizeBlock, after the quorum or the deadline): if it
/// belongs to an interchain account tx, records its result and, when it was
/// the tx's last job, writes the acknowledgement: `TxMsgData` with each
/// job's `MsgRunInferenceResponse`, or the error ack of the first job that
/// failed (whose fee was refunded; the tx's other messages stay executed).
pub fn on_job_finished(
    ctx: &mut Ctx,
    chain_id: &str,
    job: u64,
    outcome: &Outcome,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let Some((key, mut pending)) = store::pending_of_job(ctx, job)? else {
        return Ok(());
    };
    store::drop_job(ctx, job)?;
    let Some(pos) = pending.jobs.iter().position(|s| s.job_id == job) else {
        return Err(TxError::Internal(format!("pending ack does not list job {job}")));
    };
    let slot = pending.jobs.remove(pos);
    match outcome {
        Outcome::Result(r) => {
            let response = proto::MsgRunInferenceResponse::from(r);
            if let Some(any) = pending.responses.get_mut(slot.index as usize) {
                *any = Any {
                    type_url: proto::MsgRunInferenceResponse::type_url(),
                    value: response.encode_to_vec(),
                };
            }
        }
        Outcome::Error(e) if pending.error_code == 0 => {
            pending.error_code = e.code.code();
            pending.error = e.to_text();
        }
        Outcome::Error(_) => {}
    }
    if !pending.jobs.is_empty() {
        return store::update_pending(ctx, &key, Some(&pending));
    }
    store::update_pending(ctx, &key, None)?;
    let raw = RawPacket::decode(pending.packet.as_slice())
        .map_err(|e| TxError::Internal(format!("stored ICA packet: {e}")))?;
    let (ack, refusal) = if pending.error_code == 0 {
        (ica::success_ack(&pending.responses), None)
    } else {
        let r = Refusal::new(pending.error_code, pending.error.clone());
        (r.ack(), Some(r))
    };
    info!(channel = %raw.destination_channel, sequence = raw.sequence, success = refusal.is_none(), "interchain account tx acknowledged");
    events.push(ack_event(&raw.destination_channel, refusal.as_ref()));
    let ack = IbcAck::try_from(ack).expect("an ICS-27 ack is never empty");
    crate::ibc::msgs::write_async_ack(ctx, chain_id, &pending.packet, ack, events)
}
