//! Where the fees module keeps its records, all under `fees/`: totals per
//! denom, one record per executor (earnings, faults, exclusion), and the
//! ICS-20 sends of burn and community parts waiting for their
//! acknowledgement. Amounts are integers; records are protobuf, so every
//! validator writes the same bytes.

use chimera_packets::proto::fees as pb;
use ibc_proto::cosmos::base::v1beta1::Coin;
use prost::Message;

use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::state::{Snapshot, StateError};

const TOTAL: &[u8] = b"fees/total/";
const EXECUTOR: &[u8] = b"fees/executor/";
const IN_FLIGHT: &[u8] = b"fees/in_flight/";

/// The module account holding burn parts until they are sent.
pub fn burn_account() -> crate::chain::address::Address {
    crate::chain::address::Address::module("fees/burn")
}

/// The module account holding community parts: until they are sent
/// (Terra Classic denoms), or for good (the native denom: it is the
/// community pool of this chain).
pub fn community_account() -> crate::chain::address::Address {
    crate::chain::address::Address::module("fees/community")
}

/// The account the Terra Classic requester contract sends executor parts
/// to (ICS-20, memo naming the job): `settle::pay_remote` shares them out.
pub fn pool_account() -> crate::chain::address::Address {
    crate::chain::address::Address::module("fees/pool")
}

const JOB_EXECUTORS: &[u8] = b"fees/job_executors/";

/// Records who agreed on packet-route job `job`, for paying them when the
/// requester chain sends the executor part (`settle::pay_remote`).
pub fn put_job_executors(ctx: &mut Ctx, job: u64, agreeing: &[Vec<u8>]) -> Result<(), TxError> {
    if agreeing.is_empty() {
        return Ok(());
    }
    ctx.put([JOB_EXECUTORS, &job.to_be_bytes()].concat(), agreeing.concat())
}

/// Takes the agreeing validators of `job` (each 20 bytes); a job is paid
/// once: the record is removed.
pub fn take_job_executors(ctx: &mut Ctx, job: u64) -> Result<Vec<Vec<u8>>, TxError> {
    let key = [JOB_EXECUTORS, &job.to_be_bytes()].concat();
    let Some(b) = ctx.get(&key)? else {
        return Ok(Vec::new());
    };
    ctx.delete(key)?;
    Ok(b.chunks(20).map(<[u8]>::to_vec).collect())
}

/// One denom's totals as integers (the stored form is [`pb::Total`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub collected: u128,
    pub paid_to_executors: u128,
    pub burned: u128,
    pub burn_in_flight: u128,
    pub community_paid: u128,
    pub community_in_flight: u128,
    pub refunded: u128,
}

fn amount(s: &str) -> Result<u128, String> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse().map_err(|e| format!("amount {s:?}: {e}"))
}

impl Totals {
    fn from_pb(t: &pb::Total) -> Result<Totals, String> {
        Ok(Totals {
            collected: amount(&t.collected)?,
            paid_to_executors: amount(&t.paid_to_executors)?,
            burned: amount(&t.burned)?,
            burn_in_flight: amount(&t.burn_in_flight)?,
            community_paid: amount(&t.community_paid)?,
            community_in_flight: amount(&t.community_in_flight)?,
            refunded: amount(&t.refunded)?,
        })
    }

    /// The query form, with the pending balances (held by the module
    /// accounts, so not stored here) filled in by the caller.
    pub fn to_pb(&self, denom: &str, burn_pending: u128, community_pending: u128) -> pb::Total {
        pb::Total {
            denom: denom.to_string(),
            collected: self.collected.to_string(),
            paid_to_executors: self.paid_to_executors.to_string(),
            burned: self.burned.to_string(),
            burn_pending: burn_pending.to_string(),
            burn_in_flight: self.burn_in_flight.to_string(),
            community_paid: self.community_paid.to_string(),
            community_pending: community_pending.to_string(),
            community_in_flight: self.community_in_flight.to_string(),
            refunded: self.refunded.to_string(),
        }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> TxError {
    TxError::Internal(format!("fees state: {what}: {e}"))
}

fn total_key(denom: &str) -> Vec<u8> {
    [TOTAL, denom.as_bytes()].concat()
}

/// Changes `denom`'s totals with `f`.
pub fn update_totals(ctx: &mut Ctx, denom: &str, f: impl FnOnce(&mut Totals)) -> Result<(), TxError> {
    let mut t = match ctx.get(&total_key(denom))? {
        Some(b) => {
            let p = pb::Total::decode(b.as_slice()).map_err(|e| corrupt("total", e))?;
            Totals::from_pb(&p).map_err(|e| corrupt("total", e))?
        }
        None => Totals::default(),
    };
    f(&mut t);
    ctx.put(total_key(denom), t.to_pb(denom, 0, 0).encode_to_vec())
}

/// Every denom's totals, by denom, at `snap`'s version (any retained one).
///
/// Only the latest version can list keys. Totals records are never
/// deleted, so the denoms recorded now are a superset of those of any
/// older version: an older snapshot lists them at the latest version and
/// reads each at its own (the fee history in `chimera ui` relies on it).
pub fn totals_committed(snap: &Snapshot) -> Result<Vec<(String, Totals)>, StateError> {
    let records = match snap.prefix(TOTAL) {
        Ok(kv) => kv,
        Err(StateError::NotLatest { .. }) => {
            let mut kv = Vec::new();
            for (k, _) in snap.latest().prefix(TOTAL)? {
                if let Some(v) = snap.get(&k)? {
                    kv.push((k, v));
                }
            }
            kv
        }
        Err(e) => return Err(e),
    };
    records
        .into_iter()
        .map(|(k, v)| {
            let bad = |e: String| StateError::Corrupt(format!("fees state: total: {e}"));
            let p = pb::Total::decode(v.as_slice()).map_err(|e| bad(e.to_string()))?;
            Ok((
                String::from_utf8_lossy(&k[TOTAL.len()..]).into_owned(),
                Totals::from_pb(&p).map_err(bad)?,
            ))
        })
        .collect()
}

/// Denom totals read inside a block (the invariant tests use it).
pub fn totals(ctx: &mut Ctx, denom: &str) -> Result<Totals, TxError> {
    match ctx.get(&total_key(denom))? {
        Some(b) => {
            let p = pb::Total::decode(b.as_slice()).map_err(|e| corrupt("total", e))?;
            Totals::from_pb(&p).map_err(|e| corrupt("total", e))
        }
        None => Ok(Totals::default()),
    }
}

fn executor_key(validator: &[u8]) -> Vec<u8> {
    [EXECUTOR, validator].concat()
}

/// A validator's executor record (a fresh one if it has none).
pub fn executor(ctx: &mut Ctx, validator: &[u8]) -> Result<pb::Executor, TxError> {
    Ok(match ctx.get(&executor_key(validator))? {
        Some(b) => pb::Executor::decode(b.as_slice()).map_err(|e| corrupt("executor", e))?,
        None => pb::Executor {
            validator: validator.to_vec(),
            ..Default::default()
        },
    })
}

pub fn put_executor(ctx: &mut Ctx, e: &pb::Executor) -> Result<(), TxError> {
    ctx.put(executor_key(&e.validator), e.encode_to_vec())
}

/// Adds `amount` of `denom` to a record's earnings, keeping coins sorted.
pub fn add_earning(e: &mut pb::Executor, denom: &str, amount: u128) -> Result<(), TxError> {
    match e.earned.iter_mut().find(|c| c.denom == denom) {
        Some(c) => {
            let had: u128 = c.amount.parse().map_err(|e| corrupt("earning", e))?;
            c.amount = (had + amount).to_string();
        }
        None => {
            e.earned.push(Coin {
                denom: denom.to_string(),
                amount: amount.to_string(),
            });
            e.earned.sort_by(|a, b| a.denom.cmp(&b.denom));
        }
    }
    Ok(())
}

/// Whether `validator` may not run jobs (too many faults).
pub fn is_excluded(ctx: &mut Ctx, validator: &[u8]) -> Result<bool, TxError> {
    Ok(executor(ctx, validator)?.excluded)
}

pub fn is_excluded_committed(snap: &Snapshot, validator: &[u8]) -> Result<bool, StateError> {
    Ok(executor_committed(snap, validator)?.is_some_and(|e| e.excluded))
}

pub fn executor_committed(snap: &Snapshot, validator: &[u8]) -> Result<Option<pb::Executor>, StateError> {
    snap.get(&executor_key(validator))?
        .map(|b| {
            pb::Executor::decode(b.as_slice())
                .map_err(|e| StateError::Corrupt(format!("fees state: executor: {e}")))
        })
        .transpose()
}

/// Which part an ICS-20 send carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Burn = 1,
    Community = 2,
}

/// An ICS-20 send of a part, until its acknowledgement or timeout.
#[derive(Clone, PartialEq, Message)]
pub struct InFlight {
    /// [`Part`] as its number.
    #[prost(uint32, tag = "1")]
    pub part: u32,
    /// Bank denom.
    #[prost(string, tag = "2")]
    pub denom: String,
    #[prost(string, tag = "3")]
    pub amount: String,
}

fn in_flight_key(channel: &str, sequence: u64) -> Vec<u8> {
    [IN_FLIGHT, channel.as_bytes(), b"/", &sequence.to_be_bytes()].concat()
}

pub fn put_in_flight(ctx: &mut Ctx, channel: &str, sequence: u64, f: &InFlight) -> Result<(), TxError> {
    ctx.put(in_flight_key(channel, sequence), f.encode_to_vec())
}

/// Removes and returns the send of `(channel, sequence)`, if it was ours.
pub fn take_in_flight(ctx: &mut Ctx, channel: &str, sequence: u64) -> Result<Option<InFlight>, TxError> {
    let key = in_flight_key(channel, sequence);
    let Some(b) = ctx.get(&key)? else {
        return Ok(None);
    };
    ctx.delete(key)?;
    Ok(Some(
        InFlight::decode(b.as_slice()).map_err(|e| corrupt("in flight", e))?,
    ))
}
