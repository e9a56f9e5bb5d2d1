//! Where the inference module keeps its state, and the records it keeps.
//! Every key starts `inference/`; integers in keys are big-endian so that
//! prefix listings come out in numeric order (jobs by id, oldest first),
//! which is the only order anything consensus-relevant iterates in.

use chimera_packets::proto;
use prost::Message;

use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::state::{Delta, Snapshot, StateError};

const MODEL: &[u8] = b"inference/model/";
const JOB: &[u8] = b"inference/job/";
const NEXT_JOB: &[u8] = b"inference/next_job";
const PENDING_COUNT: &[u8] = b"inference/pending_count";
const DEADLINE: &[u8] = b"inference/deadline/";

/// The value of index entries, whose keys carry everything: the state
/// store keeps no empty values (an empty write would mean delete).
const INDEX_MARK: &[u8] = &[1];
const PENDING: &[u8] = b"inference/pending/";
const BY_REQUESTER: &[u8] = b"inference/by_requester/";
const REPORT: &[u8] = b"inference/report/";
const AGREEMENT: &[u8] = b"inference/agreement/";
const EXECUTOR_KEY: &[u8] = b"inference/executor_key/";
const OPERATOR: &[u8] = b"inference/operator/";
const REQUEST: &[u8] = b"inference/request/";
const REQUEST_BY_SENDER: &[u8] = b"inference/request_by_sender/";
const VALIDATOR: &[u8] = b"inference/validator/";

/// A job as the host keeps it: the public record queries return, plus what
/// executing and acknowledging it needs.
#[derive(Clone, PartialEq, Message)]
pub struct StoredJob {
    /// What `Query/Job` returns.
    #[prost(message, optional, tag = "1")]
    pub job: Option<proto::Job>,
    /// The request: `InferencePacketData` as canonical JSON (§3.2), for the
    /// packet route exactly the packet's data.
    #[prost(bytes = "vec", tag = "2")]
    pub request: Vec<u8>,
    /// The received packet (ibc-go `Packet` protobuf) on the packet route:
    /// the asynchronous acknowledgement is written against it.
    #[prost(bytes = "vec", tag = "3")]
    pub packet: Vec<u8>,
    /// The last height at which a quorum may still form.
    #[prost(uint64, tag = "4")]
    pub deadline_height: u64,
    /// Sealed jobs: the validator whose result is the reference, fixed
    /// when the first results are recorded (§13 "Sealed jobs").
    #[prost(bytes = "vec", tag = "5")]
    pub reference: Vec<u8>,
    /// Sealed jobs are agreed in two rounds.
    #[prost(bool, tag = "6")]
    pub sealed: bool,
    /// The fee of a `MsgRunInference`, held by the inference module account
    /// until the outcome: paid out on a result, refunded to the requester
    /// on an error.
    #[prost(message, repeated, tag = "7")]
    pub escrow: Vec<ibc_proto::cosmos::base::v1beta1::Coin>,
}

impl StoredJob {
    /// The public record (always present in what this module writes).
    pub fn record(&self) -> proto::Job {
        self.job.clone().unwrap_or_default()
    }
}

/// A validator of the chain: its consensus key and power, from InitChain.
#[derive(Clone, PartialEq, Message)]
pub struct ValidatorRecord {
    /// The 20-byte consensus address (CometBFT's `sha256(pubkey)[..20]`).
    #[prost(bytes = "vec", tag = "1")]
    pub address: Vec<u8>,
    /// Ed25519 public key, 32 bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub ed25519: Vec<u8>,
    #[prost(uint64, tag = "3")]
    pub power: u64,
}

fn be(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> TxError {
    TxError::Internal(format!("inference state: {what}: {e}"))
}

fn decode<M: Message + Default>(what: &str, bytes: &[u8]) -> Result<M, TxError> {
    M::decode(bytes).map_err(|e| corrupt(what, e))
}

fn decode_committed<M: Message + Default>(what: &str, bytes: &[u8]) -> Result<M, StateError> {
    M::decode(bytes).map_err(|e| StateError::Corrupt(format!("inference state: {what}: {e}")))
}

// ---- models ----------------------------------------------------------------

pub fn model_key(id: &str) -> Vec<u8> {
    join(&[MODEL, id.as_bytes()])
}

pub fn get_model(ctx: &mut Ctx, id: &str) -> Result<Option<proto::Model>, TxError> {
    ctx.get(&model_key(id))?.map(|b| decode("model", &b)).transpose()
}

pub fn put_model(state: &mut Delta, m: &proto::Model) {
    state.put(model_key(&m.id), m.encode_to_vec());
}

pub fn models_committed(snap: &Snapshot) -> Result<Vec<proto::Model>, StateError> {
    snap.prefix(MODEL)?
        .iter()
        .map(|(_, v)| decode_committed("model", v))
        .collect()
}

pub fn model_committed(snap: &Snapshot, id: &str) -> Result<Option<proto::Model>, StateError> {
    snap.get(&model_key(id))?
        .map(|b| decode_committed("model", &b))
        .transpose()
}

// ---- jobs ------------------------------------------------------------------

pub fn job_key(id: u64) -> Vec<u8> {
    join(&[JOB, &be(id)])
}

fn by_requester_key(requester: &str, id: u64) -> Vec<u8> {
    join(&[BY_REQUESTER, requester.as_bytes(), b"\0", &be(id)])
}

/// Takes the next job id (ids start at 1).
pub fn next_job_id(ctx: &mut Ctx) -> Result<u64, TxError> {
    let id = read_u64("next_job", ctx.get(NEXT_JOB)?)?.max(1);
    ctx.put(NEXT_JOB.to_vec(), be(id + 1).to_vec())?;
    Ok(id)
}

fn read_u64(what: &str, b: Option<Vec<u8>>) -> Result<u64, TxError> {
    match b {
        None => Ok(0),
        Some(b) => Ok(u64::from_be_bytes(
            b.as_slice().try_into().map_err(|_| corrupt(what, "length"))?,
        )),
    }
}

/// How many jobs are pending (bounded by `max_pending_jobs`).
pub fn pending_count(ctx: &mut Ctx) -> Result<u64, TxError> {
    read_u64("pending_count", ctx.get(PENDING_COUNT)?)
}

fn add_pending(ctx: &mut Ctx, delta: i64) -> Result<(), TxError> {
    let n = pending_count(ctx)?;
    let n = n
        .checked_add_signed(delta)
        .ok_or_else(|| corrupt("pending_count", format!("{n} {delta:+}")))?;
    ctx.put(PENDING_COUNT.to_vec(), be(n).to_vec())
}

/// Writes a new job and indexes it as pending and by requester.
pub fn insert_job(ctx: &mut Ctx, job: &StoredJob) -> Result<(), TxError> {
    let rec = job.record();
    add_pending(ctx, 1)?;
    ctx.put(
        join(&[DEADLINE, &be(job.deadline_height), &be(rec.id)]),
        INDEX_MARK.to_vec(),
    )?;
    ctx.put(job_key(rec.id), job.encode_to_vec())?;
    ctx.put(join(&[PENDING, &be(rec.id)]), INDEX_MARK.to_vec())?;
    ctx.put(by_requester_key(&rec.requester, rec.id), INDEX_MARK.to_vec())
}

pub fn get_job(ctx: &mut Ctx, id: u64) -> Result<Option<StoredJob>, TxError> {
    ctx.get(&job_key(id))?.map(|b| decode("job", &b)).transpose()
}

/// Rewrites a pending job (its reference was fixed).
pub fn update_job(ctx: &mut Ctx, job: &StoredJob) -> Result<(), TxError> {
    ctx.put(job_key(job.record().id), job.encode_to_vec())
}

/// Rewrites a job after its outcome and drops it from the pending index.
pub fn finish_job(ctx: &mut Ctx, job: &StoredJob) -> Result<(), TxError> {
    let id = job.record().id;
    ctx.put(job_key(id), job.encode_to_vec())?;
    ctx.delete(join(&[PENDING, &be(id)]))?;
    add_pending(ctx, -1)?;
    ctx.delete(join(&[DEADLINE, &be(job.deadline_height), &be(id)]))?;
    for p in [REPORT, AGREEMENT] {
        for (k, _) in ctx.prefix(&join(&[p, &be(id), b"/"]))? {
            ctx.delete(k)?;
        }
    }
    Ok(())
}

fn ids_of(keys: impl Iterator<Item = Vec<u8>>, prefix_len: usize) -> Vec<u64> {
    keys.filter_map(|k| {
        k.get(prefix_len..)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    })
    .collect()
}

/// Ids of the pending jobs whose deadline is `height`.
pub fn expiring(ctx: &mut Ctx, height: u64) -> Result<Vec<u64>, TxError> {
    let p = join(&[DEADLINE, &be(height)]);
    Ok(ids_of(ctx.prefix(&p)?.into_iter().map(|(k, _)| k), p.len()))
}

/// Pending job ids, oldest first.
pub fn pending_ids(state: &Delta) -> Result<Vec<u64>, TxError> {
    Ok(ids_of(
        state.prefix(PENDING)?.into_iter().map(|(k, _)| k),
        PENDING.len(),
    ))
}

/// Pending job ids in committed state, oldest first (the executor's queue).
pub fn pending_ids_committed(snap: &Snapshot) -> Result<Vec<u64>, StateError> {
    Ok(ids_of(
        snap.prefix(PENDING)?.into_iter().map(|(k, _)| k),
        PENDING.len(),
    ))
}

pub fn job_committed(snap: &Snapshot, id: u64) -> Result<Option<StoredJob>, StateError> {
    snap.get(&job_key(id))?
        .map(|b| decode_committed("job", &b))
        .transpose()
}

/// Jobs in id order from `start` (inclusive), optionally of one requester;
/// at most `limit`, and the id to continue from.
pub fn jobs_committed(
    snap: &Snapshot,
    requester: Option<&str>,
    start: u64,
    limit: usize,
) -> Result<(Vec<StoredJob>, Option<u64>), StateError> {
    let ids: Vec<u64> = match requester {
        Some(r) => {
            let p = join(&[BY_REQUESTER, r.as_bytes(), b"\0"]);
            ids_of(snap.prefix(&p)?.into_iter().map(|(k, _)| k), p.len())
        }
        None => ids_of(snap.prefix(JOB)?.into_iter().map(|(k, _)| k), JOB.len()),
    };
    let mut out = Vec::new();
    let mut next = None;
    for id in ids.into_iter().filter(|id| *id >= start) {
        if out.len() == limit {
            next = Some(id);
            break;
        }
        if let Some(j) = job_committed(snap, id)? {
            out.push(j);
        }
    }
    Ok((out, next))
}

// ---- reports ---------------------------------------------------------------

fn report_key(job: u64, validator: &[u8]) -> Vec<u8> {
    join(&[REPORT, &be(job), b"/", validator])
}

pub fn put_report(ctx: &mut Ctx, job: u64, validator: &[u8], r: &proto::JobReport) -> Result<(), TxError> {
    ctx.put(report_key(job, validator), r.encode_to_vec())
}

/// The reports recorded for `job`, by validator address (ascending).
pub fn reports(ctx: &mut Ctx, job: u64) -> Result<Vec<(Vec<u8>, proto::JobReport)>, TxError> {
    let p = join(&[REPORT, &be(job), b"/"]);
    ctx.prefix(&p)?
        .into_iter()
        .map(|(k, v)| Ok((k[p.len()..].to_vec(), decode("report", &v)?)))
        .collect()
}

fn agreement_key(job: u64, validator: &[u8]) -> Vec<u8> {
    join(&[AGREEMENT, &be(job), b"/", validator])
}

/// Records a sealed job's second-round report.
pub fn put_agreement(
    ctx: &mut Ctx,
    job: u64,
    validator: &[u8],
    a: &proto::AgreementReport,
) -> Result<(), TxError> {
    ctx.put(agreement_key(job, validator), a.encode_to_vec())
}

/// The second-round reports of `job`, by validator address (ascending).
pub fn agreements(ctx: &mut Ctx, job: u64) -> Result<Vec<(Vec<u8>, proto::AgreementReport)>, TxError> {
    let p = join(&[AGREEMENT, &be(job), b"/"]);
    ctx.prefix(&p)?
        .into_iter()
        .map(|(k, v)| Ok((k[p.len()..].to_vec(), decode("agreement", &v)?)))
        .collect()
}

/// Whether `validator`'s second-round report of `job` is committed.
pub fn has_agreement_committed(snap: &Snapshot, job: u64, validator: &[u8]) -> Result<bool, StateError> {
    Ok(snap.get(&agreement_key(job, validator))?.is_some())
}

/// Whether `validator`'s report of `job` is in committed state.
pub fn has_report_committed(snap: &Snapshot, job: u64, validator: &[u8]) -> Result<bool, StateError> {
    Ok(snap.get(&report_key(job, validator))?.is_some())
}

/// Committed reports of `job` (what a catching-up node compares against).
pub fn reports_committed(snap: &Snapshot, job: u64) -> Result<Vec<(Vec<u8>, proto::JobReport)>, StateError> {
    let p = join(&[REPORT, &be(job), b"/"]);
    snap.prefix(&p)?
        .into_iter()
        .map(|(k, v)| Ok((k[p.len()..].to_vec(), decode_committed("report", &v)?)))
        .collect()
}

// ---- validators, operators and executor keys -------------------------------

pub fn put_validator(state: &mut Delta, v: &ValidatorRecord) {
    state.put(join(&[VALIDATOR, &v.address]), v.encode_to_vec());
}

/// The validator set, by address (ascending).
pub fn validators(state: &Delta) -> Result<Vec<ValidatorRecord>, TxError> {
    state
        .prefix(VALIDATOR)?
        .iter()
        .map(|(_, v)| decode("validator", v))
        .collect()
}

pub fn validators_committed(snap: &Snapshot) -> Result<Vec<ValidatorRecord>, StateError> {
    snap.prefix(VALIDATOR)?
        .iter()
        .map(|(_, v)| decode_committed("validator", v))
        .collect()
}

/// Records that account `operator` speaks for validator `validator`.
pub fn put_operator(state: &mut Delta, operator: &[u8], validator: &[u8]) {
    state.put(join(&[OPERATOR, operator]), validator.to_vec());
}

pub fn operator_validator(ctx: &mut Ctx, operator: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
    ctx.get(&join(&[OPERATOR, operator]))
}

/// The operator account of `validator` (the first in key order should a
/// validator have several): where its executor earnings go.
pub fn operator_of(ctx: &mut Ctx, validator: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
    Ok(ctx
        .prefix(OPERATOR)?
        .into_iter()
        .find(|(_, v)| v == validator)
        .map(|(k, _)| k[OPERATOR.len()..].to_vec()))
}

/// [`operator_of`] from a committed snapshot, for queries.
pub fn operator_of_committed(snap: &Snapshot, validator: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
    Ok(snap
        .prefix(OPERATOR)?
        .into_iter()
        .find(|(_, v)| v == validator)
        .map(|(k, _)| k[OPERATOR.len()..].to_vec()))
}

pub fn put_executor_key(ctx: &mut Ctx, validator: &[u8], key: &[u8; 32]) -> Result<(), TxError> {
    ctx.put(join(&[EXECUTOR_KEY, validator]), key.to_vec())
}

/// A registered executor key: `(validator address, X25519 public key)`.
pub type ExecutorKey = (Vec<u8>, Vec<u8>);

/// Registered executor keys.
pub fn executor_keys(ctx: &mut Ctx) -> Result<Vec<ExecutorKey>, TxError> {
    Ok(ctx
        .prefix(EXECUTOR_KEY)?
        .into_iter()
        .map(|(k, v)| (k[EXECUTOR_KEY.len()..].to_vec(), v))
        .collect())
}

pub fn executor_keys_committed(snap: &Snapshot) -> Result<Vec<ExecutorKey>, StateError> {
    Ok(snap
        .prefix(EXECUTOR_KEY)?
        .into_iter()
        .map(|(k, v)| (k[EXECUTOR_KEY.len()..].to_vec(), v))
        .collect())
}

// ---- requester side --------------------------------------------------------

fn request_key(channel: &str, seq: u64) -> Vec<u8> {
    join(&[REQUEST, channel.as_bytes(), b"/", &be(seq)])
}

fn request_by_sender_key(sender: &str, channel: &str, seq: u64) -> Vec<u8> {
    join(&[
        REQUEST_BY_SENDER,
        sender.as_bytes(),
        b"\0",
        channel.as_bytes(),
        b"/",
        &be(seq),
    ])
}

pub fn put_request(ctx: &mut Ctx, r: &proto::InferenceRequest) -> Result<(), TxError> {
    ctx.put(request_key(&r.source_channel, r.sequence), r.encode_to_vec())?;
    ctx.put(
        request_by_sender_key(&r.sender, &r.source_channel, r.sequence),
        request_key(&r.source_channel, r.sequence),
    )
}

pub fn get_request(
    ctx: &mut Ctx,
    channel: &str,
    seq: u64,
) -> Result<Option<proto::InferenceRequest>, TxError> {
    ctx.get(&request_key(channel, seq))?
        .map(|b| decode("request", &b))
        .transpose()
}

pub fn request_committed(
    snap: &Snapshot,
    channel: &str,
    seq: u64,
) -> Result<Option<proto::InferenceRequest>, StateError> {
    snap.get(&request_key(channel, seq))?
        .map(|b| decode_committed("request", &b))
        .transpose()
}

/// Requests in key order after `after` (exclusive), optionally of one
/// sender; at most `limit`, and the key to continue after.
pub fn requests_committed(
    snap: &Snapshot,
    sender: Option<&str>,
    after: &[u8],
    limit: usize,
) -> Result<(Vec<proto::InferenceRequest>, Option<Vec<u8>>), StateError> {
    let (prefix, indirect) = match sender {
        Some(s) => (join(&[REQUEST_BY_SENDER, s.as_bytes(), b"\0"]), true),
        None => (REQUEST.to_vec(), false),
    };
    let mut out = Vec::new();
    let mut last = None;
    for (k, v) in snap.prefix(&prefix)? {
        if !after.is_empty() && k.as_slice() <= after {
            continue;
        }
        if out.len() == limit {
            return Ok((out, last));
        }
        let bytes = if indirect {
            snap.get(&v)?.unwrap_or_default()
        } else {
            v
        };
        out.push(decode_committed("request", &bytes)?);
        last = Some(k);
    }
    Ok((out, None))
}
