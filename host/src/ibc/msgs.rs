//! IBC messages in transactions: decoding (at `Tx::decode`, so an
//! undecodable message is refused before anyone pays for it), the signer,
//! and execution through ibc-rs's entrypoints.

use std::time::Duration;

use ::ibc::apps::transfer::handler::send_transfer;
use ::ibc::apps::transfer::types::msgs::transfer::MsgTransfer;
use ::ibc::core::channel::types::channel::Order;
use ::ibc::core::channel::types::msgs::{ChannelMsg, MsgRecvPacket, PacketMsg};
use ::ibc::core::channel::types::packet::Packet;
use ::ibc::core::client::types::msgs::ClientMsg;
use ::ibc::core::connection::types::msgs::ConnectionMsg;
use ::ibc::core::entrypoint::dispatch;
use ::ibc::core::handler::types::msgs::MsgEnvelope;
use ::ibc::core::host::types::path::{ChannelEndPath, CommitmentPath, ReceiptPath, SeqRecvPath, SeqSendPath};
use ::ibc::core::host::ValidationContext;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::applications::transfer::v1::{MsgTransfer as RawMsgTransfer, MsgTransferResponse};
use ibc_proto::ibc::core::channel::v1::ResponseResultType;
use prost::Message;
use tendermint::abci::Event;

use super::context::{IbcCtx, Shared, SharedRef};
use super::router::IbcRouter;
use super::transfer;
use crate::chain::address::Address;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::Params;
use crate::chain::params::StateParams;

/// Type URL of ICS-20 `MsgTransfer`.
pub const MSG_TRANSFER_TYPE_URL: &str = "/ibc.applications.transfer.v1.MsgTransfer";

/// Every IBC message type a tx may carry: ibc-go's core messages that
/// ibc-rs dispatches, and ICS-20 `MsgTransfer`.
pub const TYPE_URLS: [&str; 19] = [
    "/ibc.core.client.v1.MsgCreateClient",
    "/ibc.core.client.v1.MsgUpdateClient",
    "/ibc.core.client.v1.MsgUpgradeClient",
    "/ibc.core.client.v1.MsgSubmitMisbehaviour",
    "/ibc.core.connection.v1.MsgConnectionOpenInit",
    "/ibc.core.connection.v1.MsgConnectionOpenTry",
    "/ibc.core.connection.v1.MsgConnectionOpenAck",
    "/ibc.core.connection.v1.MsgConnectionOpenConfirm",
    "/ibc.core.channel.v1.MsgChannelOpenInit",
    "/ibc.core.channel.v1.MsgChannelOpenTry",
    "/ibc.core.channel.v1.MsgChannelOpenAck",
    "/ibc.core.channel.v1.MsgChannelOpenConfirm",
    "/ibc.core.channel.v1.MsgChannelCloseInit",
    "/ibc.core.channel.v1.MsgChannelCloseConfirm",
    "/ibc.core.channel.v1.MsgRecvPacket",
    "/ibc.core.channel.v1.MsgAcknowledgement",
    "/ibc.core.channel.v1.MsgTimeout",
    "/ibc.core.channel.v1.MsgTimeoutOnClose",
    MSG_TRANSFER_TYPE_URL,
];

/// Whether `type_url` names an IBC message this chain executes.
pub fn is_ibc_type_url(type_url: &str) -> bool {
    TYPE_URLS.contains(&type_url)
}

/// A decoded IBC message.
#[derive(Debug, Clone)]
pub struct IbcMsg {
    type_url: &'static str,
    signer: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Core(Box<MsgEnvelope>),
    Transfer(RawMsgTransfer),
}

impl IbcMsg {
    /// Decodes one `Any` whose type URL [`is_ibc_type_url`]: the protobuf
    /// and ibc-rs's stateless checks (identifiers, heights, proofs
    /// present). Failures are the SDK's tx parse error (code 2).
    pub fn decode(any: &Any) -> Result<IbcMsg, TxError> {
        let type_url = TYPE_URLS
            .iter()
            .copied()
            .find(|u| *u == any.type_url)
            .ok_or_else(|| TxError::UnknownRequest(format!("unrecognized message type: {}", any.type_url)))?;
        let short = type_url.rsplit('.').next().unwrap_or(type_url);
        if type_url == MSG_TRANSFER_TYPE_URL {
            let raw = RawMsgTransfer::decode(any.value.as_slice())
                .map_err(|e| TxError::Decode(format!("{short}: {e}")))?;
            return Ok(IbcMsg {
                type_url,
                signer: raw.sender.clone(),
                kind: Kind::Transfer(raw),
            });
        }
        let env = MsgEnvelope::try_from(any.clone()).map_err(|e| TxError::Decode(format!("{short}: {e}")))?;
        Ok(IbcMsg {
            type_url,
            signer: envelope_signer(&env).to_string(),
            kind: Kind::Core(Box::new(env)),
        })
    }

    /// An ICS-20 transfer a module sends itself (the fees module's burn
    /// and community sends), with no tx around it.
    pub fn transfer(raw: RawMsgTransfer) -> IbcMsg {
        IbcMsg {
            type_url: MSG_TRANSFER_TYPE_URL,
            signer: raw.sender.clone(),
            kind: Kind::Transfer(raw),
        }
    }

    /// The type URL (also the `message.action` attribute).
    pub fn type_url(&self) -> &'static str {
        self.type_url
    }

    /// Who signs: the message's `signer` (`sender` for `MsgTransfer`).
    pub fn signer(&self) -> Result<Address, TxError> {
        Address::parse(&self.signer).map_err(|e| TxError::InvalidAddress(format!("{}: {e}", self.type_url)))
    }
}

fn envelope_signer(env: &MsgEnvelope) -> &str {
    match env {
        MsgEnvelope::Client(m) => match m {
            ClientMsg::CreateClient(m) => m.signer.as_ref(),
            ClientMsg::UpdateClient(m) => m.signer.as_ref(),
            #[allow(deprecated)] // ibc-go v7 still sends it (Hermes 1.11 does)
            ClientMsg::Misbehaviour(m) => m.signer.as_ref(),
            ClientMsg::UpgradeClient(m) => m.signer.as_ref(),
            ClientMsg::RecoverClient(m) => m.signer.as_ref(),
        },
        MsgEnvelope::Connection(m) => match m {
            ConnectionMsg::OpenInit(m) => m.signer.as_ref(),
            ConnectionMsg::OpenTry(m) => m.signer.as_ref(),
            ConnectionMsg::OpenAck(m) => m.signer.as_ref(),
            ConnectionMsg::OpenConfirm(m) => m.signer.as_ref(),
        },
        MsgEnvelope::Channel(m) => match m {
            ChannelMsg::OpenInit(m) => m.signer.as_ref(),
            ChannelMsg::OpenTry(m) => m.signer.as_ref(),
            ChannelMsg::OpenAck(m) => m.signer.as_ref(),
            ChannelMsg::OpenConfirm(m) => m.signer.as_ref(),
            ChannelMsg::CloseInit(m) => m.signer.as_ref(),
            ChannelMsg::CloseConfirm(m) => m.signer.as_ref(),
        },
        MsgEnvelope::Packet(m) => match m {
            PacketMsg::Recv(m) => m.signer.as_ref(),
            PacketMsg::Ack(m) => m.signer.as_ref(),
            PacketMsg::Timeout(m) => m.signer.as_ref(),
            PacketMsg::TimeoutOnClose(m) => m.signer.as_ref(),
        },
    }
}

/// ibc-go's `MsgTransfer.ValidateBasic` limits (v7.3+).
const MAX_RECEIVER_LEN: usize = 2048;
const MAX_MEMO_LEN: usize = 32768;

/// Executes one IBC message in `ctx` (its signer has signed the tx: the
/// ante handler checked [`IbcMsg::signer`]), appending its ABCI events
/// (ibc-go's names: `create_client`, `send_packet`,
/// `write_acknowledgement`, …, every attribute indexed) to `events`.
/// Nothing is written unless it succeeds; gas is charged either way.
pub fn exec(ctx: &mut Ctx, msg: &IbcMsg, chain_id: &str, events: &mut Vec<Event>) -> Result<Any, TxError> {
    let response = with_ibc(ctx, chain_id, events, msg.type_url, |ibc, router, shared| {
        run(ibc, router, shared, msg)
    })?;
    Ok(match response {
        Response::Packet(type_url, noop) => Any {
            type_url,
            value: PacketResult {
                result: if noop {
                    ResponseResultType::Noop
                } else {
                    ResponseResultType::Success
                } as i32,
            }
            .encode_to_vec(),
        },
        Response::Other(any) => any,
    })
}

/// Runs `f` with ibc-rs's host context and router over a fork of `ctx`'s
/// state, metered by `ctx`'s gas: the writes and events are kept only if
/// `f` succeeds (and no gas or storage fault hit inside ibc-rs); gas is
/// charged either way. `what` names the work in the error of a panic.
///
/// Why one function: every entry into ibc-rs (a relayer's message, an app
/// sending a packet, FinalizeBlock writing an asynchronous ack) needs the
/// same shared buffer, fault handling and panic guard.
pub fn with_ibc<T>(
    ctx: &mut Ctx,
    chain_id: &str,
    events: &mut Vec<Event>,
    what: &str,
    f: impl FnOnce(&mut IbcCtx, &mut IbcRouter, &SharedRef) -> Result<T, TxError>,
) -> Result<T, TxError> {
    let params = Params::load(ctx.state)?;
    let unbonding = Duration::from_secs(params.unbonding_time_secs);
    let shared = Shared::new(ctx.state.fork(), ctx.gas.clone(), ctx.height, chain_id);
    // ibc-rs refuses bad input with errors; should a handler still panic
    // on some input, every node panics alike, and the tx fails rather than
    // the chain halting on it.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut ibc = IbcCtx::new(shared.clone(), chain_id, unbonding)?;
        let mut router = IbcRouter::new(shared.clone());
        f(&mut ibc, &mut router, &shared)
    }))
    .unwrap_or_else(|_| Err(TxError::InvalidRequest(format!("ibc: {what} handler panicked"))));
    let done = std::rc::Rc::try_unwrap(shared)
        .unwrap_or_else(|_| panic!("IBC contexts outlived their message"))
        .into_inner();
    *ctx.gas = done.gas;
    if let Some(fault) = done.fault {
        return Err(fault);
    }
    let value = result?;
    ctx.state.absorb(done.state);
    events.extend(done.events);
    Ok(value)
}

/// Writes the acknowledgement of a packet received earlier without one
/// (an asynchronous acknowledgement: an inference job, or an interchain
/// account tx holding one, ends when its quorum agrees). `packet` is the
/// received packet's ibc-go protobuf as stored at receipt; the ack is
/// committed at its ICS-24 path and `write_acknowledgement` is emitted, so
/// relayers find it in the block's events.
///
/// A packet whose ack can no longer be written (its channel is gone) only
/// logs a warning: the job keeps its outcome for queries, and nothing else
/// can be done deterministically. Only internal faults are errors.
pub fn write_async_ack(
    ctx: &mut Ctx,
    chain_id: &str,
    packet: &[u8],
    ack: ::ibc::core::channel::types::acknowledgement::Acknowledgement,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let r = with_ibc(ctx, chain_id, events, "write_acknowledgement", |ibc, _, _| {
        let raw = ibc_proto::ibc::core::channel::v1::Packet::decode(packet)
            .map_err(|e| TxError::Internal(format!("stored packet: {e}")))?;
        let packet = Packet::try_from(raw).map_err(|e| TxError::Internal(format!("stored packet: {e}")))?;
        ::ibc::core::channel::handler::commit_packet_acknowledgment(ibc, &packet, &ack)
            .map_err(|e| TxError::InvalidRequest(e.to_string()))?;
        ::ibc::core::channel::handler::emit_packet_acknowledgement_event(ibc, packet, ack)
            .map_err(|e| TxError::InvalidRequest(e.to_string()))
    });
    match r {
        Err(e) if !matches!(e, TxError::Internal(_)) => {
            tracing::warn!(error = %e, "could not write an asynchronous acknowledgement");
            Ok(())
        }
        r => r,
    }
}

enum Response {
    /// `Msg{RecvPacket,Acknowledgement,Timeout,TimeoutOnClose}Response`:
    /// `{result}`, NOOP (true) when a relayer was beaten to the packet.
    Packet(String, bool),
    Other(Any),
}

/// Whether `m`'s packet was received already: a receipt on an unordered
/// channel, a passed sequence on an ordered one. Anything unreadable says
/// no and lets ibc-rs report it.
fn already_received(ibc: &IbcCtx, m: &MsgRecvPacket) -> bool {
    let p = &m.packet;
    let Ok(chan) = ibc.channel_end(&ChannelEndPath::new(&p.port_id_on_b, &p.chan_id_on_b)) else {
        return false;
    };
    match chan.ordering {
        Order::Unordered => ibc
            .get_packet_receipt(&ReceiptPath::new(&p.port_id_on_b, &p.chan_id_on_b, p.seq_on_a))
            .is_ok_and(|r| r.is_ok()),
        Order::Ordered => ibc
            .get_next_sequence_recv(&SeqRecvPath::new(&p.port_id_on_b, &p.chan_id_on_b))
            .is_ok_and(|next| p.seq_on_a < next),
        Order::None => false,
    }
}

/// Whether the sender still holds `p`'s commitment (not yet acked or
/// timed out).
fn has_commitment(ibc: &IbcCtx, p: &Packet) -> bool {
    ibc.get_packet_commitment(&CommitmentPath::new(&p.port_id_on_a, &p.chan_id_on_a, p.seq_on_a))
        .is_ok()
}

/// The shape every packet message response shares (field 1, `result`).
#[derive(Clone, PartialEq, prost::Message)]
struct PacketResult {
    #[prost(enumeration = "ResponseResultType", tag = "1")]
    result: i32,
}

fn run(
    ibc: &mut IbcCtx,
    router: &mut IbcRouter,
    shared: &SharedRef,
    msg: &IbcMsg,
) -> Result<Response, TxError> {
    let response_url = format!("{}Response", msg.type_url);
    match &msg.kind {
        Kind::Core(env) => {
            let is_packet = matches!(**env, MsgEnvelope::Packet(_));
            let noop = match &**env {
                MsgEnvelope::Packet(PacketMsg::Recv(m)) => {
                    if already_received(ibc, m) {
                        // ibc-go's ErrNoOpMsg: a relayer beaten to the
                        // packet succeeds with result NOOP and changes
                        // nothing (ibc-rs alone would fail the tx, its
                        // client update included).
                        return Ok(Response::Packet(response_url, true));
                    }
                    false
                }
                // ibc-rs already treats these as no-ops (event, no change).
                MsgEnvelope::Packet(PacketMsg::Ack(m)) => !has_commitment(ibc, &m.packet),
                MsgEnvelope::Packet(PacketMsg::Timeout(m)) => !has_commitment(ibc, &m.packet),
                MsgEnvelope::Packet(PacketMsg::TimeoutOnClose(m)) => !has_commitment(ibc, &m.packet),
                _ => false,
            };
            dispatch(ibc, router, (**env).clone())
                .map_err(|e| TxError::InvalidRequest(format!("ibc: {e}")))?;
            Ok(if is_packet {
                Response::Packet(response_url, noop)
            } else {
                Response::Other(Any {
                    type_url: response_url,
                    value: Vec::new(),
                })
            })
        }
        Kind::Transfer(raw) => {
            let mut raw = raw.clone();
            let token = raw
                .token
                .as_mut()
                .ok_or_else(|| TxError::InvalidCoins("MsgTransfer without a token".into()))?;
            if token.amount.is_empty() || token.amount.bytes().all(|c| c == b'0') {
                return Err(TxError::InvalidCoins(format!(
                    "{}{}: amount must be positive",
                    token.amount, token.denom
                )));
            }
            if raw.receiver.is_empty() || raw.receiver.len() > MAX_RECEIVER_LEN {
                return Err(TxError::InvalidAddress(format!(
                    "receiver must be 1 to {MAX_RECEIVER_LEN} bytes"
                )));
            }
            if raw.memo.len() > MAX_MEMO_LEN {
                return Err(TxError::InvalidRequest(format!(
                    "memo must be at most {MAX_MEMO_LEN} bytes"
                )));
            }
            token.denom = shared
                .borrow_mut()
                .with_ctx(|c| transfer::resolve_denom(c, &token.denom))?;
            let domain =
                MsgTransfer::try_from(raw).map_err(|e| TxError::Decode(format!("MsgTransfer: {e}")))?;
            let seq_path = SeqSendPath::new(&domain.port_id_on_a, &domain.chan_id_on_a);
            let sequence = ibc
                .get_next_sequence_send(&seq_path)
                .map_err(|e| TxError::InvalidRequest(format!("ibc: {e}")))?;
            send_transfer(ibc, router.transfer_mut(), domain)
                .map_err(|e| TxError::InvalidRequest(format!("ibc transfer: {e}")))?;
            Ok(Response::Other(Any {
                type_url: response_url,
                value: MsgTransferResponse {
                    sequence: sequence.value(),
                }
                .encode_to_vec(),
            }))
        }
    }
}
