//! Sending the burn and community parts of Terra Classic denoms home:
//! every `route.send_interval_blocks`, FinalizeBlock sends each module
//! account's balance of each priced foreign denom over ICS-20 on
//! `route.channel` (vouchers going home are burned here and unescrowed on
//! Terra Classic, so the LUNC reaches the burn address itself). The
//! acknowledgement moves the amount from "in flight" to "burned" or
//! "community paid"; an error or timeout refunds the module account
//! (ICS-20 does that), and the next interval sends it again.

use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::ibc::applications::transfer::v1::{MsgTransfer as RawMsgTransfer, MsgTransferResponse};
use prost::Message;
use tendermint::abci::{Event, EventAttributeIndexExt};
use tracing::{info, warn};

use super::params::FeeParams;
use super::store::{self, burn_account, community_account, InFlight, Part};
use crate::chain::address::Address;
use crate::chain::bank;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::{Params, StateParams};
use crate::ibc::msgs::IbcMsg;

/// Runs at the end of every block: on the interval, sends what waits.
/// A send that cannot go out (channel not open, …) is logged and retried
/// on the next interval; only internal faults are errors.
pub fn end_block(ctx: &mut Ctx, chain_id: &str, events: &mut Vec<Event>) -> Result<(), TxError> {
    let params = FeeParams::load(ctx.state)?;
    let route = &params.route;
    if route.channel.is_empty() || !ctx.height.is_multiple_of(route.send_interval_blocks) {
        return Ok(());
    }
    let native = Params::load(ctx.state)?.fee_denom;
    let Some(now) = crate::ibc::host::host_time(ctx.state, ctx.height)? else {
        return Ok(());
    };
    let timeout = now.nanoseconds() + route.timeout_seconds * 1_000_000_000;
    for (denom, _) in params.foreign_denoms(&native) {
        for (part, from, to) in [
            (Part::Burn, burn_account(), &route.burn_address),
            (Part::Community, community_account(), &route.community_address),
        ] {
            let amount = bank::balance(ctx, &from, &denom)?;
            if amount == 0 {
                continue;
            }
            match send(
                ctx,
                chain_id,
                &route.channel,
                &from,
                to,
                &denom,
                amount,
                timeout,
                events,
            ) {
                Ok(sequence) => {
                    store::put_in_flight(
                        ctx,
                        &route.channel,
                        sequence,
                        &InFlight {
                            part: part as u32,
                            denom: denom.clone(),
                            amount: amount.to_string(),
                        },
                    )?;
                    store::update_totals(ctx, &denom, |t| match part {
                        Part::Burn => t.burn_in_flight += amount,
                        Part::Community => t.community_in_flight += amount,
                    })?;
                    info!(?part, %denom, amount, sequence, to = %to, "fees sent over ICS-20");
                    events.push(Event::new(
                        "fees_sent",
                        [
                            ("part", format!("{part:?}").to_lowercase()).index(),
                            ("denom", denom.clone()).index(),
                            ("amount", amount.to_string()).index(),
                            ("receiver", to.clone()).index(),
                            ("channel", route.channel.clone()).index(),
                            ("sequence", sequence.to_string()).index(),
                        ],
                    ));
                }
                Err(TxError::Internal(m)) => return Err(TxError::Internal(m)),
                Err(e) => {
                    warn!(?part, %denom, amount, error = %e, "could not send fees; retrying next interval")
                }
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn send(
    ctx: &mut Ctx,
    chain_id: &str,
    channel: &str,
    from: &Address,
    to: &str,
    denom: &str,
    amount: u128,
    timeout_nanos: u64,
    events: &mut Vec<Event>,
) -> Result<u64, TxError> {
    let msg = IbcMsg::transfer(RawMsgTransfer {
        source_port: "transfer".into(),
        source_channel: channel.into(),
        token: Some(Coin {
            denom: denom.into(),
            amount: amount.to_string(),
        }),
        sender: from.to_string(),
        receiver: to.into(),
        timeout_height: None,
        timeout_timestamp: timeout_nanos,
        memo: "chimera fees".into(),
    });
    let any = crate::ibc::msgs::exec(ctx, &msg, chain_id, events)?;
    let r = MsgTransferResponse::decode(any.value.as_slice())
        .map_err(|e| TxError::Internal(format!("MsgTransferResponse: {e}")))?;
    Ok(r.sequence)
}

/// The outcome of an ICS-20 packet this chain sent on `channel` with
/// `sequence`: if it carried a part, it is paid (`delivered`) or back in
/// its module account (ICS-20 refunded it).
pub fn on_transfer_outcome(
    ctx: &mut Ctx,
    channel: &str,
    sequence: u64,
    delivered: bool,
) -> Result<(), TxError> {
    let Some(f) = store::take_in_flight(ctx, channel, sequence)? else {
        return Ok(());
    };
    let amount: u128 = f
        .amount
        .parse()
        .map_err(|e| TxError::Internal(format!("fees in flight amount: {e}")))?;
    let burn = f.part == Part::Burn as u32;
    store::update_totals(ctx, &f.denom, |t| {
        if burn {
            t.burn_in_flight -= amount;
            if delivered {
                t.burned += amount;
            }
        } else {
            t.community_in_flight -= amount;
            if delivered {
                t.community_paid += amount;
            }
        }
    })
}
