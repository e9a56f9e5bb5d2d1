//! Admission and outcome of jobs on the host side: the checks of
//! docs/protocol.md §4.1 that need chain state, recording a job, and
//! finishing it with a result or an error (§4.2, §4.3).
//!
//! Both routes share this module: an `inference` packet (`on_recv_packet`)
//! and a local `MsgRunInference` build the same [`StoredJob`]; only the
//! packet route has an acknowledgement to write when the job ends.

use chimera_packets::{proto, AckError, ErrorCode, InferencePacketData, InferenceResult, SealedEnvelope};
use tendermint::abci::{Event, EventAttributeIndexExt};

use super::params::InferenceParams;
use super::requester;
use super::store::{self, StoredJob};
use crate::chain::address::Address;
use crate::chain::bank;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;

/// Where a job came from, and so where its outcome goes.
pub enum Origin {
    /// An `inference` packet: `(destination port, channel, sequence, packet
    /// protobuf)`; its acknowledgement is written when the job ends.
    Packet {
        port: String,
        channel: String,
        sequence: u64,
        packet: Vec<u8>,
    },
    /// `MsgRunInference` from a host account (or an interchain account):
    /// the result is read by query; `escrow` is the fee already moved into
    /// the module account, settled with the outcome.
    Local {
        escrow: Vec<ibc_proto::cosmos::base::v1beta1::Coin>,
    },
}

/// Checks a decoded, statelessly valid request against chain state and
/// records it as a pending job. `Ok(Err(..))` is a refusal that becomes an
/// error acknowledgement (or a failed tx); `Err` is out of gas or a fault.
pub fn admit(
    ctx: &mut Ctx,
    params: &InferenceParams,
    data: &InferencePacketData,
    origin: Origin,
    events: &mut Vec<Event>,
) -> Result<Result<u64, AckError>, TxError> {
    let Some(model) = store::get_model(ctx, &data.model)? else {
        return Ok(Err(AckError::new(
            ErrorCode::UnknownModel,
            format!("model {:?} is not registered on this host", data.model),
        )));
    };
    if let Some(envelope) = &data.sealed {
        if let Some(e) = check_recipients(ctx, envelope)? {
            return Ok(Err(e));
        }
    }
    let pending = store::pending_count(ctx)?;
    if pending >= params.max_pending_jobs {
        return Ok(Err(AckError::new(
            ErrorCode::QueueFull,
            format!(
                "{pending} jobs are pending (the limit is {})",
                params.max_pending_jobs
            ),
        )));
    }
    let id = store::next_job_id(ctx)?;
    let (port_id, channel_id, sequence, packet, escrow) = match origin {
        Origin::Packet {
            port,
            channel,
            sequence,
            packet,
        } => (port, channel, sequence, packet, Vec::new()),
        Origin::Local { escrow } => (String::new(), String::new(), 0, Vec::new(), escrow),
    };
    let job = StoredJob {
        job: Some(proto::Job {
            id,
            model: data.model.clone(),
            requester: data.requester.clone(),
            status: proto::JobStatus::Pending as i32,
            created_height: ctx.height,
            port_id,
            channel_id,
            sequence,
            result: None,
            error_code: 0,
            error: String::new(),
        }),
        request: data.to_bytes(),
        packet,
        deadline_height: ctx.height + params.deadline_blocks,
        reference: Vec::new(),
        sealed: data.sealed.is_some(),
        escrow,
    };
    store::insert_job(ctx, &job)?;
    events.push(Event::new(
        "inference_job",
        [
            ("job_id", id.to_string()).index(),
            ("model", data.model.clone()).index(),
            ("model_hash", hex::encode(&model.sha256)).index(),
            ("requester", data.requester.clone()).index(),
            ("sealed", data.sealed.is_some().to_string()).index(),
            ("deadline_height", job.deadline_height.to_string()).index(),
        ],
    ));
    Ok(Ok(id))
}

/// A sealed request must name at least one registered executor key, or no
/// validator could ever open it.
fn check_recipients(ctx: &mut Ctx, envelope: &SealedEnvelope) -> Result<Option<AckError>, TxError> {
    let keys = store::executor_keys(ctx)?;
    let known = envelope
        .recipients
        .iter()
        .any(|r| keys.iter().any(|(_, k)| k.as_slice() == r.executor.as_slice()));
    Ok((!known).then(|| {
        AckError::new(
            ErrorCode::InvalidSealedEnvelope,
            "no recipient of the envelope is a registered executor key",
        )
    }))
}

/// How a job ended.
pub enum Outcome {
    Result(InferenceResult),
    Error(AckError),
}

/// Who made a result: the validators whose reports agreed with it (paid)
/// and those whose results disagreed (a fault each). Empty for errors:
/// a failure report is no fault, and nobody is paid.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub agreeing: Vec<Vec<u8>>,
    pub disagreeing: Vec<Vec<u8>>,
}

/// Records a job's outcome, settles its escrowed fee (divided by
/// `crate::fees` on a result, refunded on an error), emits
/// `inference_result`, and returns the job as finished (its
/// acknowledgement, if any, is the caller's to write).
pub fn finish(
    ctx: &mut Ctx,
    mut job: StoredJob,
    outcome: &Outcome,
    verdict: &Verdict,
    events: &mut Vec<Event>,
) -> Result<StoredJob, TxError> {
    let mut rec = job.record();
    let mut attrs = vec![
        ("job_id", rec.id.to_string()).index(),
        ("model", rec.model.clone()).index(),
        ("requester", rec.requester.clone()).index(),
    ];
    match outcome {
        Outcome::Result(r) => {
            rec.status = proto::JobStatus::Completed as i32;
            rec.result = Some(proto::MsgRunInferenceResponse::from(r));
            attrs.push(("status", "completed".to_string()).index());
            attrs.push(("output_sha256", hex::encode(r.output.sha256)).index());
            attrs.push(("output_size", r.output.size.to_string()).index());
            attrs.push(("agreeing_power", r.quorum.agreeing_power.to_string()).index());
            attrs.push(("total_power", r.quorum.total_power.to_string()).index());
        }
        Outcome::Error(e) => {
            rec.status = proto::JobStatus::Failed as i32;
            rec.error_code = e.code.code();
            rec.error = e.to_text();
            attrs.push(("status", "failed".to_string()).index());
            attrs.push(("error", e.to_text()).index());
        }
    }
    let fee = bank::validate_coins(&job.escrow)?;
    if matches!(outcome, Outcome::Result(_)) && !job.packet.is_empty() {
        // The requester chain pays the executors later (`fees::settle::pay_remote`).
        crate::fees::store::put_job_executors(ctx, rec.id, &verdict.agreeing)?;
    }
    match outcome {
        Outcome::Result(_) => crate::fees::settle::pay(
            ctx,
            rec.id,
            &requester::escrow_account(),
            &fee,
            &verdict.agreeing,
            &verdict.disagreeing,
            events,
        )?,
        Outcome::Error(_) if !fee.is_empty() => {
            let to = Address::parse(&rec.requester)
                .map_err(|e| TxError::Internal(format!("stored requester: {e}")))?;
            bank::send(ctx, &requester::escrow_account(), &to, &fee, events)?;
            crate::fees::settle::record_refund(ctx, &fee)?;
        }
        Outcome::Error(_) => {}
    }
    job.job = Some(rec);
    store::finish_job(ctx, &job)?;
    events.push(Event::new("inference_result", attrs));
    Ok(job)
}
