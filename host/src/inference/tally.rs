//! The quorum (docs/protocol.md §4.2, §4.3), run by `FinalizeBlock`: record
//! the reports of the votes record, then decide every job that got new
//! reports or reached its deadline.
//!
//! A job completes when validators holding more than `quorum_num /
//! quorum_den` of the total power report sketches that `agree` with one
//! reference result. The reference is tried in order of power (most first),
//! ties by address, so every node picks the same one. Exact output hashes
//! are never compared: honest validators on different kernels differ in the
//! last float bits (docs/determinism.md). Integers only: powers are summed
//! as u64, the quorum compared in u128.

use chimera_packets::{
    proto, AckError, Acknowledgement, ErrorCode, InferenceResult, OutputCommitment, OutputEncoding, Quorum,
};
use tendermint::abci::Event;
use tracing::info;

use super::jobs::{self, Outcome, Verdict};
use super::module::ibc_ack;
use super::params::InferenceParams;
use super::store::{self, StoredJob, ValidatorRecord};
use super::votes::SignedReports;
use crate::chain::error::TxError;
use crate::chain::gas::Ctx;
use crate::chain::params::StateParams;
use crate::executor::sketch::{agree, Sketch, SketchRule, SketchSpec};

/// Records each validator's first report of each pending job; returns the
/// ids of jobs that got a new report.
pub fn record_reports(ctx: &mut Ctx, signed: &[SignedReports]) -> Result<Vec<u64>, TxError> {
    let mut touched = Vec::new();
    for s in signed {
        // An excluded executor (too many faults, `crate::fees`) gets no
        // work: its reports are not recorded until it re-registers.
        if crate::fees::store::is_excluded(ctx, &s.validator)? {
            continue;
        }
        for r in &s.extension.reports {
            let Some(job) = store::get_job(ctx, r.job_id)? else {
                continue;
            };
            if job.record().status != proto::JobStatus::Pending as i32 {
                continue;
            }
            if let Some(proto::job_report::Outcome::Agreement(a)) = &r.outcome {
                // Second round of a sealed job: only about the current
                // reference, never from the reference itself, once each.
                if !job.sealed || job.reference != a.reference || a.reference == s.validator {
                    continue;
                }
                if store::agreements(ctx, r.job_id)?
                    .iter()
                    .any(|(v, _)| v == &s.validator)
                {
                    continue;
                }
                store::put_agreement(ctx, r.job_id, &s.validator, a)?;
                touched.push(r.job_id);
                continue;
            }
            if store::reports(ctx, r.job_id)?
                .iter()
                .any(|(v, _)| v == &s.validator)
            {
                continue;
            }
            store::put_report(ctx, r.job_id, &s.validator, r)?;
            touched.push(r.job_id);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    Ok(touched)
}

/// The model's agreement rule as stored on chain.
pub fn sketch_spec(m: &proto::SketchSpec) -> Option<SketchSpec> {
    let rule = match m.rule.as_str() {
        "classify" => SketchRule::Classify,
        "embedding" => SketchRule::Embedding,
        "image" => SketchRule::Image,
        "tokens" => SketchRule::Tokens,
        _ => return None,
    };
    Some(SketchSpec {
        rule,
        levels: m.levels,
        tolerance: m.tolerance,
        thumb: m.thumb,
        logit_tolerance: None,
    })
}

/// One validator's result, ready to compare.
struct Candidate<'a> {
    validator: &'a [u8],
    power: u64,
    model_hash: [u8; 32],
    output: OutputCommitment,
    sketch: Sketch,
}

/// `addr`'s voting power (0 outside the validator set).
fn power(validators: &[ValidatorRecord], addr: &[u8]) -> u64 {
    validators
        .iter()
        .find(|v| v.address == addr)
        .map_or(0, |v| v.power)
}

/// The decision on a job, if any yet.
pub enum Decision {
    Pending,
    Done(Outcome, Verdict),
}

/// Decides an unsealed job from its reports at `height`.
pub fn decide(
    params: &InferenceParams,
    job: &StoredJob,
    model: Option<&proto::Model>,
    reports: &[(Vec<u8>, proto::JobReport)],
    validators: &[ValidatorRecord],
    height: u64,
) -> Decision {
    use proto::job_report::Outcome as R;
    let rec = job.record();
    let total: u64 = validators.iter().map(|v| v.power).sum();
    let power_of = |addr: &[u8]| power(validators, addr);
    let spec = model.and_then(|m| m.sketch.as_ref()).and_then(sketch_spec);
    let registered_hash = model.map(|m| m.sha256.as_slice());

    let mut reported = 0u64;
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut failures: Vec<(u64, &[u8], &proto::ExecutionFailure)> = Vec::new();
    for (addr, r) in reports {
        let power = power_of(addr);
        if power == 0 {
            continue;
        }
        reported += power;
        match &r.outcome {
            Some(R::Result(x)) => {
                // A result of another model file never counts.
                let parsed = commitment_of(x, registered_hash).and_then(|(model_hash, output)| {
                    Some(Candidate {
                        validator: addr,
                        power,
                        model_hash,
                        output,
                        sketch: Sketch::from_bytes(&x.sketch).ok()?,
                    })
                });
                candidates.extend(parsed);
            }
            Some(R::Failure(f)) => failures.push((power, addr, f)),
            Some(R::Agreement(_)) | None => {}
        }
    }
    candidates.sort_by(|a, b| b.power.cmp(&a.power).then(a.validator.cmp(b.validator)));

    let mut best = 0u64;
    if let Some(spec) = &spec {
        for c in &candidates {
            let agreeing: u64 = candidates
                .iter()
                .filter(|o| agree(spec, &c.sketch, &o.sketch))
                .map(|o| o.power)
                .sum();
            best = best.max(agreeing);
            if params.is_quorum(agreeing, total) {
                let (agree_with, differ): (Vec<_>, Vec<_>) =
                    candidates.iter().partition(|o| agree(spec, &c.sketch, &o.sketch));
                let verdict = Verdict {
                    agreeing: sorted(agree_with.iter().map(|o| o.validator.to_vec())),
                    disagreeing: sorted(differ.iter().map(|o| o.validator.to_vec())),
                };
                return Decision::Done(
                    Outcome::Result(InferenceResult {
                        job_id: rec.id,
                        model_hash: c.model_hash,
                        output: c.output.clone(),
                        quorum: Quorum {
                            height,
                            agreeing_power: agreeing,
                            total_power: total,
                        },
                    }),
                    verdict,
                );
            }
        }
    }
    if let Some(e) = failure_quorum(params, &mut failures, total) {
        return Decision::Done(Outcome::Error(e), Verdict::default());
    }
    if spec.is_none() {
        return no_quorum(format!(
            "model {:?} has no agreement rule on this host",
            rec.model
        ));
    }
    undecided(
        reported >= total,
        height >= job.deadline_height,
        || {
            format!("results split: every validator reported but at most {best} of {total} power agreed on one result")
        },
        || {
            format!(
                "no quorum by height {}: {reported} of {total} power reported, at most {best} agreed on one result",
                job.deadline_height
            )
        },
    )
}

fn sorted(addrs: impl Iterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = addrs.collect();
    v.sort();
    v
}

/// A sealed result's verdict: the reference and those who reported
/// agreeing with it, against those who reported disagreeing.
fn sealed_verdict(
    reference: &[u8],
    reference_addr: &[u8],
    agreements: &[(Vec<u8>, proto::AgreementReport)],
) -> Verdict {
    let about = || {
        agreements
            .iter()
            .filter(move |(v, a)| a.reference == reference && v.as_slice() != reference_addr)
    };
    Verdict {
        agreeing: sorted(
            std::iter::once(reference_addr.to_vec())
                .chain(about().filter(|(_, a)| a.agrees).map(|(v, _)| v.clone())),
        ),
        disagreeing: sorted(about().filter(|(_, a)| !a.agrees).map(|(v, _)| v.clone())),
    }
}

fn no_quorum(why: String) -> Decision {
    Decision::Done(
        Outcome::Error(AckError::new(ErrorCode::NoQuorum, why)),
        Verdict::default(),
    )
}

/// A job without a quorum yet: `no_quorum` when everyone has answered
/// (`split`) or the deadline has come, else still pending.
fn undecided(
    all_answered: bool,
    at_deadline: bool,
    split: impl FnOnce() -> String,
    late: impl FnOnce() -> String,
) -> Decision {
    if all_answered {
        no_quorum(split())
    } else if at_deadline {
        no_quorum(late())
    } else {
        Decision::Pending
    }
}

/// The error when failures hold a quorum: the most powerful failing
/// validator's code and detail (ties by address).
fn failure_quorum(
    params: &InferenceParams,
    failures: &mut [(u64, &[u8], &proto::ExecutionFailure)],
    total: u64,
) -> Option<AckError> {
    let failed: u64 = failures.iter().map(|(p, _, _)| p).sum();
    if !params.is_quorum(failed, total) {
        return None;
    }
    failures.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let f = failures[0].2;
    let code = ErrorCode::from_code(f.code).unwrap_or(ErrorCode::ExecutionFailed);
    Some(AckError::new(code, f.detail.clone()))
}

/// A result report's commitment, if it is well formed and of the
/// registered model file.
fn commitment_of(
    x: &proto::ExecutedResult,
    registered: Option<&[u8]>,
) -> Option<([u8; 32], OutputCommitment)> {
    let o = x.output.as_ref()?;
    let model_hash: [u8; 32] = x.model_hash.as_slice().try_into().ok()?;
    (Some(model_hash.as_slice()) == registered).then_some(())?;
    Some((
        model_hash,
        OutputCommitment {
            sha256: o.sha256.as_slice().try_into().ok()?,
            size: o.size,
            encoding: OutputEncoding::from_name(&o.encoding)?,
        },
    ))
}

/// The reference of a sealed job: among the result reports recorded so far
/// (valid, of the registered model, with a sealed sketch), the most
/// powerful validator, ties by address. Fixed once chosen.
pub fn choose_reference(
    reports: &[(Vec<u8>, proto::JobReport)],
    model: Option<&proto::Model>,
    validators: &[ValidatorRecord],
) -> Option<Vec<u8>> {
    let registered = model.map(|m| m.sha256.as_slice());
    reports
        .iter()
        .filter_map(|(addr, r)| match &r.outcome {
            Some(proto::job_report::Outcome::Result(x))
                if !x.sealed_sketch.is_empty() && commitment_of(x, registered).is_some() =>
            {
                let power = power(validators, addr);
                (power > 0).then_some((power, addr))
            }
            _ => None,
        })
        .min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)))
        .map(|(_, addr)| addr.clone())
}

/// Decides a sealed job: the reference's result completes when the
/// reference's power plus that of validators reporting agreement with it
/// is a quorum. Sketches never appear in state, only agreement bits.
pub fn decide_sealed(
    params: &InferenceParams,
    job: &StoredJob,
    model: Option<&proto::Model>,
    reports: &[(Vec<u8>, proto::JobReport)],
    agreements: &[(Vec<u8>, proto::AgreementReport)],
    validators: &[ValidatorRecord],
    height: u64,
) -> Decision {
    use proto::job_report::Outcome as R;
    let rec = job.record();
    let total: u64 = validators.iter().map(|v| v.power).sum();
    let power_of = |addr: &[u8]| power(validators, addr);
    let registered = model.map(|m| m.sha256.as_slice());
    let mut failures: Vec<(u64, &[u8], &proto::ExecutionFailure)> = reports
        .iter()
        .filter_map(|(addr, r)| match &r.outcome {
            Some(R::Failure(f)) => Some((power_of(addr), addr.as_slice(), f)),
            _ => None,
        })
        .filter(|(p, _, _)| *p > 0)
        .collect();
    let reference = reports
        .iter()
        .find(|(addr, _)| !job.reference.is_empty() && *addr == job.reference);
    let mut agreeing = 0u64;
    let mut settled = failures.iter().map(|(p, _, _)| *p).sum::<u64>();
    if let Some((addr, r)) = reference {
        let power = power_of(addr);
        agreeing = power;
        settled += power;
        for (v, a) in agreements
            .iter()
            .filter(|(v, a)| a.reference == job.reference && v != addr)
        {
            let p = power_of(v);
            settled += p;
            if a.agrees {
                agreeing += p;
            }
        }
        if let Some(R::Result(x)) = &r.outcome {
            if let Some((model_hash, output)) = commitment_of(x, registered) {
                if params.is_quorum(agreeing, total) {
                    let verdict = sealed_verdict(&job.reference, addr, agreements);
                    return Decision::Done(
                        Outcome::Result(InferenceResult {
                            job_id: rec.id,
                            model_hash,
                            output,
                            quorum: Quorum {
                                height,
                                agreeing_power: agreeing,
                                total_power: total,
                            },
                        }),
                        verdict,
                    );
                }
            }
        }
    }
    if let Some(e) = failure_quorum(params, &mut failures, total) {
        return Decision::Done(Outcome::Error(e), Verdict::default());
    }
    undecided(
        settled >= total,
        height >= job.deadline_height,
        || {
            format!("results split: every validator answered but only {agreeing} of {total} power agreed with the reference")
        },
        || {
            format!(
                "no quorum by height {}: {agreeing} of {total} power agreed with the reference",
                job.deadline_height
            )
        },
    )
}

/// Decides the jobs in `ids` plus every job whose deadline is `height`,
/// finishing those decided: records the outcome and, for packet jobs,
/// writes the acknowledgement and its `write_acknowledgement` event.
/// Returns the ids of the jobs finished.
pub fn run(ctx: &mut Ctx, chain_id: &str, ids: &[u64], events: &mut Vec<Event>) -> Result<Vec<u64>, TxError> {
    let params = InferenceParams::load(ctx.state)?;
    let mut ids: Vec<u64> = ids.to_vec();
    ids.extend(store::expiring(ctx, ctx.height)?);
    ids.sort_unstable();
    ids.dedup();
    let mut finished = Vec::new();
    if ids.is_empty() {
        return Ok(finished);
    }
    let validators = store::validators(ctx.state)?;
    for id in ids {
        let Some(job) = store::get_job(ctx, id)? else {
            continue;
        };
        if job.record().status != proto::JobStatus::Pending as i32 {
            continue;
        }
        let model = store::get_model(ctx, &job.record().model)?;
        let reports = store::reports(ctx, id)?;
        let decision = if job.sealed {
            let mut job = job.clone();
            if job.reference.is_empty() {
                if let Some(r) = choose_reference(&reports, model.as_ref(), &validators) {
                    info!(job = id, reference = %hex::encode_upper(&r), "sealed job reference fixed");
                    job.reference = r;
                    store::update_job(ctx, &job)?;
                }
            }
            let agreements = store::agreements(ctx, id)?;
            decide_sealed(
                &params,
                &job,
                model.as_ref(),
                &reports,
                &agreements,
                &validators,
                ctx.height,
            )
        } else {
            decide(&params, &job, model.as_ref(), &reports, &validators, ctx.height)
        };
        let Decision::Done(outcome, verdict) = decision else {
            continue;
        };
        // Re-read: a reference fixed above is part of the record.
        let Some(job) = store::get_job(ctx, id)? else {
            continue;
        };
        finished.push(id);
        match &outcome {
            Outcome::Result(r) => info!(
                job = id,
                output = %hex::encode(r.output.sha256),
                agreeing = r.quorum.agreeing_power,
                total = r.quorum.total_power,
                "job reached quorum"
            ),
            Outcome::Error(e) => info!(job = id, error = %e, "job failed"),
        }
        let job = jobs::finish(ctx, job, &outcome, &verdict, events)?;
        if !job.packet.is_empty() {
            write_ack(ctx, chain_id, &job, &outcome, events)?;
        }
        crate::ica::on_job_finished(ctx, chain_id, id, &outcome, events)?;
    }
    Ok(finished)
}

fn write_ack(
    ctx: &mut Ctx,
    chain_id: &str,
    job: &StoredJob,
    outcome: &Outcome,
    events: &mut Vec<Event>,
) -> Result<(), TxError> {
    let ack = match outcome {
        Outcome::Result(r) => Acknowledgement::Result(r.clone()),
        Outcome::Error(e) => Acknowledgement::Error(e.clone()),
    };
    crate::ibc::msgs::write_async_ack(ctx, chain_id, &job.packet, ibc_ack(&ack), events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators(powers: &[u64]) -> Vec<ValidatorRecord> {
        powers
            .iter()
            .enumerate()
            .map(|(i, p)| ValidatorRecord {
                address: vec![i as u8 + 1; 20],
                ed25519: vec![0; 32],
                power: *p,
            })
            .collect()
    }

    fn model() -> proto::Model {
        proto::Model {
            id: "digits-cnn".into(),
            sha256: vec![7; 32],
            task: "classify".into(),
            max_input_bytes: 65536,
            sketch: Some(proto::SketchSpec {
                rule: "classify".into(),
                levels: 256,
                tolerance: 2,
                thumb: 8,
            }),
            input: None,
        }
    }

    fn job(deadline: u64) -> StoredJob {
        StoredJob {
            job: Some(proto::Job {
                id: 9,
                model: "digits-cnn".into(),
                ..Default::default()
            }),
            deadline_height: deadline,
            ..Default::default()
        }
    }

    /// A classify result with label `label` and a distinct exact hash `tag`.
    fn result(validator: u8, label: u32, tag: u8) -> (Vec<u8>, proto::JobReport) {
        let mut probs = vec![0u16; 10];
        probs[label as usize] = 250;
        (
            vec![validator; 20],
            proto::JobReport {
                job_id: 9,
                outcome: Some(proto::job_report::Outcome::Result(proto::ExecutedResult {
                    model_hash: vec![7; 32],
                    output: Some(proto::OutputCommitment {
                        sha256: vec![tag; 32],
                        size: 50,
                        encoding: "tensor".into(),
                    }),
                    sketch: Sketch::Classify { label, probs }.to_bytes(),
                    sealed_sketch: Vec::new(),
                })),
            },
        )
    }

    fn failure(validator: u8) -> (Vec<u8>, proto::JobReport) {
        (
            vec![validator; 20],
            proto::JobReport {
                job_id: 9,
                outcome: Some(proto::job_report::Outcome::Failure(proto::ExecutionFailure {
                    code: ErrorCode::ExecutionFailed.code(),
                    detail: "model returned NaN".into(),
                })),
            },
        )
    }

    fn decide_at(powers: &[u64], reports: &[(Vec<u8>, proto::JobReport)], height: u64) -> Decision {
        let p = InferenceParams::default();
        decide(
            &p,
            &job(100),
            Some(&model()),
            reports,
            &validators(powers),
            height,
        )
    }

    #[test]
    fn three_of_four_agreeing_complete_with_the_strongest_as_reference() {
        // Validator 4 is wrong; 1..3 agree on label 7 with different exact
        // hashes (different kernels): the reference is the most powerful
        // agreeing validator (2), not the one with the most common hash.
        let reports = [
            result(1, 7, 0xa1),
            result(2, 7, 0xa2),
            result(3, 7, 0xa3),
            result(4, 3, 0xff),
        ];
        let Decision::Done(Outcome::Result(r), _) = decide_at(&[10, 20, 10, 10], &reports, 5) else {
            panic!("expected a result");
        };
        assert_eq!(r.output.sha256, [0xa2; 32]);
        assert_eq!(
            (r.quorum.agreeing_power, r.quorum.total_power, r.quorum.height),
            (40, 50, 5)
        );
    }

    #[test]
    fn ties_in_power_go_to_the_lower_address() {
        let reports = [result(3, 7, 0xa3), result(2, 7, 0xa2), result(4, 7, 0xa4)];
        let Decision::Done(Outcome::Result(r), _) = decide_at(&[10, 10, 10, 10], &reports, 5) else {
            panic!("expected a result");
        };
        assert_eq!(r.output.sha256, [0xa2; 32]);
    }

    #[test]
    fn two_of_four_wrong_wait_for_the_deadline_then_fail() {
        let reports = [result(1, 7, 1), result(2, 7, 2), result(3, 1, 3)];
        assert!(matches!(
            decide_at(&[10, 10, 10, 10], &reports, 5),
            Decision::Pending
        ));
        let Decision::Done(Outcome::Error(e), _) = decide_at(&[10, 10, 10, 10], &reports, 100) else {
            panic!("expected no_quorum at the deadline");
        };
        assert_eq!(e.code, ErrorCode::NoQuorum);
        assert!(e.detail.contains("30 of 40 power reported"), "{}", e.detail);
    }

    #[test]
    fn a_split_with_everyone_reported_fails_at_once() {
        let reports = [result(1, 7, 1), result(2, 7, 2), result(3, 1, 3), result(4, 1, 4)];
        let Decision::Done(Outcome::Error(e), _) = decide_at(&[10, 10, 10, 10], &reports, 5) else {
            panic!("expected a split");
        };
        assert_eq!(e.code, ErrorCode::NoQuorum);
        assert!(e.detail.contains("results split"), "{}", e.detail);
    }

    #[test]
    fn a_quorum_of_failures_is_an_execution_error() {
        let reports = [failure(1), failure(2), failure(3), result(4, 7, 4)];
        let Decision::Done(Outcome::Error(e), _) = decide_at(&[10, 10, 10, 10], &reports, 5) else {
            panic!("expected execution_failed");
        };
        assert_eq!(e.code, ErrorCode::ExecutionFailed);
        assert_eq!(e.detail, "model returned NaN");
    }

    #[test]
    fn results_of_another_model_file_and_strangers_never_count() {
        let mut other = result(1, 7, 1);
        if let Some(proto::job_report::Outcome::Result(x)) = &mut other.1.outcome {
            x.model_hash = vec![8; 32];
        }
        // Validator 9 is not in the set: its report weighs nothing.
        let reports = [other, result(2, 7, 2), result(9, 7, 9)];
        assert!(matches!(decide_at(&[10, 10, 10], &reports, 5), Decision::Pending));
    }

    #[test]
    fn one_validator_decides_alone() {
        let Decision::Done(Outcome::Result(r), _) = decide_at(&[10], &[result(1, 7, 1)], 2) else {
            panic!("expected a result");
        };
        assert_eq!(r.quorum.agreeing_power, 10);
    }

    fn sealed(validator: u8, tag: u8) -> (Vec<u8>, proto::JobReport) {
        let (v, mut r) = result(validator, 7, tag);
        if let Some(proto::job_report::Outcome::Result(x)) = &mut r.outcome {
            x.sketch.clear();
            x.sealed_sketch = b"opaque".to_vec();
        }
        (v, r)
    }

    fn agreement(validator: u8, reference: u8, agrees: bool) -> (Vec<u8>, proto::AgreementReport) {
        (
            vec![validator; 20],
            proto::AgreementReport {
                reference: vec![reference; 20],
                agrees,
            },
        )
    }

    #[test]
    fn sealed_jobs_fix_the_strongest_reporter_as_reference() {
        let vals = validators(&[10, 20, 10, 10]);
        let reports = [sealed(1, 1), sealed(3, 3)];
        assert_eq!(
            choose_reference(&reports, Some(&model()), &vals),
            Some(vec![1; 20])
        );
        let reports = [sealed(1, 1), sealed(2, 2), sealed(3, 3)];
        assert_eq!(
            choose_reference(&reports, Some(&model()), &vals),
            Some(vec![2; 20])
        );
        // Plain sketches are not sealed results.
        assert_eq!(choose_reference(&[result(1, 7, 1)], Some(&model()), &vals), None);
    }

    #[test]
    fn sealed_jobs_complete_on_agreement_bits_alone() {
        let p = InferenceParams::default();
        let vals = validators(&[10, 10, 10, 10]);
        let mut j = job(100);
        j.sealed = true;
        j.reference = vec![1; 20];
        let reports = [sealed(1, 0xa1), sealed(2, 0xa2)];
        // Reference alone: pending.
        assert!(matches!(
            decide_sealed(&p, &j, Some(&model()), &reports, &[], &vals, 5),
            Decision::Pending
        ));
        // Two agree, one (faulty) disagrees: 30 of 40 is a quorum.
        let agreements = [
            agreement(2, 1, true),
            agreement(3, 1, true),
            agreement(4, 1, false),
        ];
        let Decision::Done(Outcome::Result(r), _) =
            decide_sealed(&p, &j, Some(&model()), &reports, &agreements, &vals, 5)
        else {
            panic!("expected a result");
        };
        assert_eq!(r.output.sha256, [0xa1; 32]);
        assert_eq!(r.quorum.agreeing_power, 30);
        // Agreements with another reference do not count; two dissenters
        // and everyone answered: split.
        let agreements = [
            agreement(2, 1, true),
            agreement(3, 1, false),
            agreement(4, 1, false),
            agreement(2, 9, true),
        ];
        let Decision::Done(Outcome::Error(e), _) =
            decide_sealed(&p, &j, Some(&model()), &reports, &agreements, &vals, 5)
        else {
            panic!("expected a split");
        };
        assert_eq!(e.code, ErrorCode::NoQuorum);
        assert!(e.detail.contains("20 of 40"), "{}", e.detail);
    }
}
