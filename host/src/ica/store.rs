//! Where the ICS-27 host keeps its state. Every key starts `icahost/`;
//! connection and port ids never contain `/` (ICS-24), so they join with it.
//!
//! - `account/<connection>/<controller port>` → the account's raw address
//!   (ibc-go `InterchainAccountAddress`);
//! - `owner/<length-prefixed address>` → `<connection>/<controller port>`,
//!   which marks the address as an interchain account;
//! - `active/<connection>/<controller port>` → the open channel's id
//!   (ibc-go `ActiveChannelID`);
//! - `pending/<channel>/<sequence BE>` → [`PendingAck`]: a received tx whose
//!   acknowledgement waits for its inference jobs;
//! - `job/<job id BE>` → the `pending/…` key the job belongs to.

use ibc_proto::google::protobuf::Any;
use prost::Message;

use crate::chain::address::Address;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::state::{Snapshot, StateError};

const ACCOUNT: &str = "icahost/account/";
const OWNER: &[u8] = b"icahost/owner/";
const ACTIVE: &str = "icahost/active/";
const PENDING: &str = "icahost/pending/";
const JOB: &[u8] = b"icahost/job/";

/// An interchain account tx executed at receipt whose acknowledgement is
/// written when its last `MsgRunInference` job ends.
#[derive(Clone, PartialEq, Message)]
pub struct PendingAck {
    /// The received packet (ibc-go `Packet` protobuf).
    #[prost(bytes = "vec", tag = "1")]
    pub packet: Vec<u8>,
    /// One response per message; a job's is replaced by its result.
    #[prost(message, repeated, tag = "2")]
    pub responses: Vec<Any>,
    /// Jobs still running.
    #[prost(message, repeated, tag = "3")]
    pub jobs: Vec<JobSlot>,
    /// The first failed job's error code (0: none failed yet).
    #[prost(uint32, tag = "4")]
    pub error_code: u32,
    #[prost(string, tag = "5")]
    pub error: String,
}

/// A job of a [`PendingAck`] and the message index it answers.
#[derive(Clone, PartialEq, Message)]
pub struct JobSlot {
    #[prost(uint64, tag = "1")]
    pub job_id: u64,
    #[prost(uint32, tag = "2")]
    pub index: u32,
}

fn pair(connection: &str, port: &str) -> String {
    format!("{connection}/{port}")
}

fn account_key(connection: &str, port: &str) -> Vec<u8> {
    format!("{ACCOUNT}{}", pair(connection, port)).into_bytes()
}

fn owner_key(address: &Address) -> Vec<u8> {
    [OWNER, &address.length_prefixed()].concat()
}

fn active_key(connection: &str, port: &str) -> Vec<u8> {
    format!("{ACTIVE}{}", pair(connection, port)).into_bytes()
}

/// The key of a pending acknowledgement.
pub fn pending_key(channel: &str, sequence: u64) -> Vec<u8> {
    [format!("{PENDING}{channel}/").as_bytes(), &sequence.to_be_bytes()].concat()
}

fn job_key(job: u64) -> Vec<u8> {
    [JOB, &job.to_be_bytes()].concat()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> TxError {
    TxError::Internal(format!("ICA host state: {what}: {e}"))
}

/// The interchain account of controller port `port` over `connection`.
pub fn account(ctx: &mut Ctx, connection: &str, port: &str) -> Result<Option<Address>, TxError> {
    ctx.get(&account_key(connection, port))?
        .map(|b| Address::from_slice(&b).ok_or_else(|| corrupt("account", format!("{} bytes", b.len()))))
        .transpose()
}

/// [`account`] from a committed snapshot, for queries.
pub fn account_committed(
    snap: &Snapshot,
    connection: &str,
    port: &str,
) -> Result<Option<Address>, StateError> {
    Ok(snap
        .get(&account_key(connection, port))?
        .and_then(|b| Address::from_slice(&b)))
}

/// Records a new interchain account both ways.
pub fn put_account(ctx: &mut Ctx, connection: &str, port: &str, address: &Address) -> Result<(), TxError> {
    ctx.put(account_key(connection, port), address.as_bytes().to_vec())?;
    ctx.put(owner_key(address), pair(connection, port).into_bytes())
}

/// Whether `address` is an interchain account of this host.
pub fn is_interchain_account(ctx: &mut Ctx, address: &Address) -> Result<bool, TxError> {
    Ok(ctx.get(&owner_key(address))?.is_some())
}

/// The channel an account's controller currently uses.
pub fn active_channel(ctx: &mut Ctx, connection: &str, port: &str) -> Result<Option<String>, TxError> {
    ctx.get(&active_key(connection, port))?
        .map(|b| String::from_utf8(b).map_err(|e| corrupt("active channel", e)))
        .transpose()
}

pub fn set_active_channel(ctx: &mut Ctx, connection: &str, port: &str, channel: &str) -> Result<(), TxError> {
    ctx.put(active_key(connection, port), channel.as_bytes().to_vec())
}

/// Stores a pending acknowledgement and indexes its jobs.
pub fn put_pending(ctx: &mut Ctx, key: &[u8], pending: &PendingAck) -> Result<(), TxError> {
    for slot in &pending.jobs {
        ctx.put(job_key(slot.job_id), key.to_vec())?;
    }
    ctx.put(key.to_vec(), pending.encode_to_vec())
}

/// The pending acknowledgement job `job` belongs to, with its key.
pub fn pending_of_job(ctx: &mut Ctx, job: u64) -> Result<Option<(Vec<u8>, PendingAck)>, TxError> {
    let Some(key) = ctx.get(&job_key(job))? else {
        return Ok(None);
    };
    let bytes = ctx
        .get(&key)?
        .ok_or_else(|| corrupt("pending ack", "job index points at nothing"))?;
    let pending = PendingAck::decode(bytes.as_slice()).map_err(|e| corrupt("pending ack", e))?;
    Ok(Some((key, pending)))
}

/// Forgets that `job` belongs to a pending acknowledgement.
pub fn drop_job(ctx: &mut Ctx, job: u64) -> Result<(), TxError> {
    ctx.delete(job_key(job))
}

/// Rewrites (or, when `pending` is None, deletes) a pending ack.
pub fn update_pending(ctx: &mut Ctx, key: &[u8], pending: Option<&PendingAck>) -> Result<(), TxError> {
    match pending {
        Some(p) => ctx.put(key.to_vec(), p.encode_to_vec()),
        None => ctx.delete(key.to_vec()),
    }
}
