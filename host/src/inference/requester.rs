//! The requester side of the `inference` app (docs/protocol.md §4.4): a
//! host account sends a request to another chain's host with
//! `MsgRequestInference`; the fee it offers waits in escrow until the
//! acknowledgement (paid out) or an error or timeout (refunded), and the
//! outcome is kept for queries by channel and sequence or by sender.

use chimera_packets::{proto, AckError, Acknowledgement, ErrorCode};
use tendermint::abci::{Event, EventAttributeIndexExt};

use super::store;
use crate::chain::address::Address;
use crate::chain::bank;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::fee_collector;

/// The module account holding requesters' fees until the outcome.
pub fn escrow_account() -> Address {
    Address::module("inference")
}

/// Where a fee goes when its request succeeded. Until the fees issue routes
/// fees to executors, this is the chain's fee collector.
pub fn payout_account() -> Address {
    fee_collector()
}

/// Moves the fee into escrow and records the request as sent.
pub fn record_sent(
    ctx: &mut Ctx,
    sender: &Address,
    request: proto::InferenceRequest,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let fee = bank::validate_coins(&request.fee)?;
    if !fee.is_empty() {
        bank::send(ctx, sender, &escrow_account(), &fee, events)?;
    }
    store::put_request(ctx, &request)
}

/// What the acknowledgement or timeout says about a request.
enum Settlement {
    Completed(proto::MsgRunInferenceResponse),
    Failed { code: u32, text: String },
}

/// Records the acknowledgement of `(channel, sequence)`. Any bytes are
/// accepted: an ack this module cannot read is a failure and refunds, so a
/// foreign or garbled ack can never strand the fee.
pub fn on_ack(
    ctx: &mut Ctx,
    channel: &str,
    sequence: u64,
    ack: &[u8],
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let settlement = match Acknowledgement::from_bytes(ack) {
        Ok(Acknowledgement::Result(r)) => Settlement::Completed((&r).into()),
        Ok(Acknowledgement::Error(e)) => Settlement::Failed {
            code: e.code.code(),
            text: e.to_text(),
        },
        Err(e) => {
            let e = AckError::new(
                ErrorCode::InvalidPacket,
                format!("unreadable acknowledgement: {e}"),
            );
            Settlement::Failed {
                code: 0,
                text: e.detail,
            }
        }
    };
    settle(ctx, channel, sequence, settlement, events)
}

/// Records that `(channel, sequence)` timed out (or its channel closed).
pub fn on_timeout(
    ctx: &mut Ctx,
    channel: &str,
    sequence: u64,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    settle(
        ctx,
        channel,
        sequence,
        Settlement::Failed {
            code: 0,
            text: "timeout: the packet was not received before its timeout".into(),
        },
        events,
    )
}

fn settle(
    ctx: &mut Ctx,
    channel: &str,
    sequence: u64,
    s: Settlement,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let Some(mut req) = store::get_request(ctx, channel, sequence)? else {
        // Not sent by this module's MsgRequestInference (e.g. a packet from
        // a chain upgrade's past): nothing to settle.
        return Ok(());
    };
    let fee: Vec<(String, u128)> = bank::validate_coins(&req.fee)?;
    let sender = Address::parse(&req.sender).map_err(|e| TxError::Internal(format!("stored sender: {e}")))?;
    let mut attrs = vec![
        ("source_channel", channel.to_string()).index(),
        ("sequence", sequence.to_string()).index(),
        ("sender", req.sender.clone()).index(),
    ];
    match s {
        Settlement::Completed(result) => {
            if !fee.is_empty() {
                bank::send(ctx, &escrow_account(), &payout_account(), &fee, events)?;
            }
            attrs.push(("status", "completed".to_string()).index());
            if let Some(o) = &result.output {
                attrs.push(("output_sha256", hex::encode(&o.sha256)).index());
            }
            attrs.push(("job_id", result.job_id.to_string()).index());
            req.status = proto::JobStatus::Completed as i32;
            req.result = Some(result);
        }
        Settlement::Failed { code, text } => {
            if !fee.is_empty() {
                bank::send(ctx, &escrow_account(), &sender, &fee, events)?;
            }
            attrs.push(("status", "failed".to_string()).index());
            attrs.push(("error", text.clone()).index());
            req.status = proto::JobStatus::Failed as i32;
            req.error_code = code;
            req.error = text;
        }
    }
    req.done_height = ctx.height;
    store::put_request(ctx, &req)?;
    events.push(Event::new("inference_request_done", attrs));
    Ok(())
}
