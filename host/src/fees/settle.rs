//! Fees through a job's life: charged at admission (the price from the
//! schedule, moved into the inference module's escrow), divided on a
//! result (agreeing executors, burn, community; faults for those that
//! disagreed), refunded on an error.

use ibc_proto::cosmos::base::v1beta1::Coin;
use tendermint::abci::{Event, EventAttributeIndexExt};
use tracing::info;

use super::params::FeeParams;
use super::split::split;
use super::store::{self, community_account, Totals};
use crate::chain::address::Address;
use crate::chain::bank;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::{Params, StateParams};

/// The fee a request is charged, from what it offers (`MsgRunInference.fee`,
/// "the most the signer pays"): for a priced model, exactly the first
/// price in schedule order that one offered coin covers; for an unpriced
/// model, the whole offer. A request offering too little, or only other
/// denoms, is refused with code 13 (`insufficient fee`) and pays nothing.
pub fn charge(params: &FeeParams, model: &str, offered: &[Coin]) -> Result<Vec<(String, u128)>, TxError> {
    let offered = bank::validate_coins(offered)?;
    let prices = params.prices_of(model);
    if prices.is_empty() {
        return Ok(offered);
    }
    for (denom, price) in &prices {
        if offered.iter().any(|(d, a)| d == denom && a >= price) {
            return Ok(vec![(denom.clone(), *price)]);
        }
    }
    let menu = prices
        .iter()
        .map(|(d, a)| format!("{a}{d}"))
        .collect::<Vec<_>>()
        .join(" or ");
    Err(TxError::InsufficientFee(format!(
        "model {model} costs {menu}; offered {}",
        if offered.is_empty() {
            "nothing".to_string()
        } else {
            bank::coins_string(&offered)
        }
    )))
}

/// The account paid for `validator`'s work: its operator, if one is
/// registered (genesis `inference.operators`).
fn payee(ctx: &mut Ctx, validator: &[u8]) -> Result<Option<Address>, TxError> {
    Ok(crate::inference::store::operator_of(ctx, validator)?.and_then(|b| Address::from_slice(&b)))
}

/// Settles job `job_id`'s result: divides each escrowed coin (held by
/// `escrow`) among the `agreeing` executors with an operator, the burn and
/// the community, and counts a fault for each of `disagreeing`.
pub fn pay(
    ctx: &mut Ctx,
    job_id: u64,
    escrow: &Address,
    fee: &[(String, u128)],
    agreeing: &[Vec<u8>],
    disagreeing: &[Vec<u8>],
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let params = FeeParams::load(ctx.state)?;
    let native = Params::load(ctx.state)?.fee_denom;
    let mut payees = Vec::new();
    let mut unpaid = 0u32;
    for v in agreeing {
        match payee(ctx, v)? {
            Some(a) => payees.push((v.clone(), a)),
            None => unpaid += 1,
        }
    }
    for (denom, amount) in fee {
        let s = split(*amount, params.shares(), agreeing.len() as u32);
        // An agreeing validator with no operator account forfeits its
        // share to the community: paid to nobody, lost by nobody.
        let forfeited = s.per_executor * unpaid as u128;
        for (v, to) in &payees {
            if s.per_executor > 0 {
                bank::send(ctx, escrow, to, &[(denom.clone(), s.per_executor)], events)?;
            }
            let mut rec = store::executor(ctx, v)?;
            store::add_earning(&mut rec, denom, s.per_executor)?;
            rec.jobs_paid += 1;
            store::put_executor(ctx, &rec)?;
        }
        let community = s.community + forfeited;
        let burned_here = if *denom == native && s.burn > 0 {
            bank::burn(ctx, escrow, denom, s.burn)?;
            s.burn
        } else {
            if s.burn > 0 {
                bank::send(
                    ctx,
                    escrow,
                    &store::burn_account(),
                    &[(denom.clone(), s.burn)],
                    events,
                )?;
            }
            0
        };
        if community > 0 {
            bank::send(
                ctx,
                escrow,
                &community_account(),
                &[(denom.clone(), community)],
                events,
            )?;
        }
        let paid = s.per_executor * payees.len() as u128;
        store::update_totals(ctx, denom, |t: &mut Totals| {
            t.collected += amount;
            t.paid_to_executors += paid;
            t.burned += burned_here;
            if *denom == native {
                t.community_paid += community;
            }
        })?;
        events.push(Event::new(
            "fees_paid",
            [
                ("job_id", job_id.to_string()).index(),
                ("denom", denom.clone()).index(),
                ("amount", amount.to_string()).index(),
                ("executors", payees.len().to_string()).index(),
                ("per_executor", s.per_executor.to_string()).index(),
                ("burn", s.burn.to_string()).index(),
                ("community", community.to_string()).index(),
            ],
        ));
    }
    for v in disagreeing {
        fault(ctx, &params, v, job_id, events)?;
    }
    Ok(())
}

/// The memo the requester contract puts on the ICS-20 transfer of a job's
/// executor part: `{"chimera_fees":{"job_id":"N"}}`.
pub fn remote_memo(job_id: u64) -> String {
    format!("{{\"chimera_fees\":{{\"job_id\":\"{job_id}\"}}}}")
}

fn job_of_memo(memo: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(memo).ok()?;
    v.get("chimera_fees")?.get("job_id")?.as_str()?.parse().ok()
}

/// Coins that reached the fees pool over ICS-20 (already in
/// [`store::pool_account`]): the executor part of a contract-route job,
/// named by the memo ([`remote_memo`]). They are shared equally by the
/// job's agreeing executors with an operator; the indivisible dust is
/// burned, the shares of executors without an operator and anything for
/// an unknown or already paid job go to the community.
pub fn pay_remote(
    ctx: &mut Ctx,
    memo: &str,
    denom: &str,
    amount: u128,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let pool = store::pool_account();
    let job = job_of_memo(memo);
    let agreeing = match job {
        Some(id) => store::take_job_executors(ctx, id)?,
        None => Vec::new(),
    };
    let mut payees = Vec::new();
    for v in &agreeing {
        if let Some(a) = payee(ctx, v)? {
            payees.push((v.clone(), a));
        }
    }
    let n = agreeing.len() as u128;
    let per = amount.checked_div(n).unwrap_or(0);
    let dust = amount.checked_rem(n).unwrap_or(0);
    for (v, to) in &payees {
        if per > 0 {
            bank::send(ctx, &pool, to, &[(denom.to_string(), per)], events)?;
        }
        let mut rec = store::executor(ctx, v)?;
        store::add_earning(&mut rec, denom, per)?;
        rec.jobs_paid += 1;
        store::put_executor(ctx, &rec)?;
    }
    let paid = per * payees.len() as u128;
    let community = amount - paid - dust;
    if dust > 0 {
        bank::send(
            ctx,
            &pool,
            &store::burn_account(),
            &[(denom.to_string(), dust)],
            events,
        )?;
    }
    if community > 0 {
        bank::send(
            ctx,
            &pool,
            &community_account(),
            &[(denom.to_string(), community)],
            events,
        )?;
    }
    store::update_totals(ctx, denom, |t| {
        t.collected += amount;
        t.paid_to_executors += paid;
    })?;
    events.push(Event::new(
        "fees_paid",
        [
            ("job_id", job.map(|j| j.to_string()).unwrap_or_default()).index(),
            ("denom", denom.to_string()).index(),
            ("amount", amount.to_string()).index(),
            ("executors", payees.len().to_string()).index(),
            ("per_executor", per.to_string()).index(),
            ("burn", dust.to_string()).index(),
            ("community", community.to_string()).index(),
            ("route", "remote".to_string()).index(),
        ],
    ));
    Ok(())
}

/// Counts one fault of `validator`; at the limit it is excluded from work.
fn fault(
    ctx: &mut Ctx,
    params: &FeeParams,
    validator: &[u8],
    job_id: u64,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let mut rec = store::executor(ctx, validator)?;
    rec.faults += 1;
    let newly_excluded = !rec.excluded && rec.faults >= params.fault_limit;
    rec.excluded |= newly_excluded;
    store::put_executor(ctx, &rec)?;
    let v = hex::encode_upper(validator);
    info!(validator = %v, job = job_id, faults = rec.faults, excluded = rec.excluded, "executor fault");
    events.push(Event::new(
        "executor_fault",
        [
            ("validator", v.clone()).index(),
            ("job_id", job_id.to_string()).index(),
            ("faults", rec.faults.to_string()).index(),
        ],
    ));
    if newly_excluded {
        events.push(Event::new(
            "executor_excluded",
            [
                ("validator", v).index(),
                ("faults", rec.faults.to_string()).index(),
            ],
        ));
    }
    Ok(())
}

/// Records a refund of `fee` (the error path moves the coins itself).
pub fn record_refund(ctx: &mut Ctx, fee: &[(String, u128)]) -> Result<(), TxError> {
    for (denom, amount) in fee {
        store::update_totals(ctx, denom, |t| t.refunded += amount)?;
    }
    Ok(())
}

/// A validator that re-registers its executor key starts again: no
/// faults, back in the work.
pub fn reinstate(ctx: &mut Ctx, validator: &[u8], events: &mut Vec<Event>) -> Result<(), TxError> {
    let mut rec = store::executor(ctx, validator)?;
    if rec.faults == 0 && !rec.excluded {
        return Ok(());
    }
    rec.faults = 0;
    rec.excluded = false;
    store::put_executor(ctx, &rec)?;
    events.push(Event::new(
        "executor_reinstated",
        [("validator", hex::encode_upper(validator)).index()],
    ));
    Ok(())
}
