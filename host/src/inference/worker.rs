//! The node side of inference (not consensus): after each Commit the worker
//! hands newly committed jobs to the local executor, and at `ExtendVote` it
//! collects finished runs, stores their outputs in the blob store and
//! reports `(job, exact output hash, sketch)` until its report is in
//! committed state. When a job finishes, the agreed output is pinned (or
//! fetched from a peer first), so every node can serve every result.
//!
//! Nothing here feeds the app hash directly: reports reach state only via
//! signed vote extensions that the quorum rule weighs. A node without the
//! model (or without a GPU for a GPU-only model) abstains.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chimera_packets::sealed::{output_context, sketch_context, SealedMessage};
use chimera_packets::{proto, AckError, ErrorCode, InferencePacketData, Input, OutputEncoding};
use rand_core::OsRng;
use tracing::{debug, info, warn};
use x25519_dalek::StaticSecret;

use super::store;
use super::votes;
use crate::blob::{BlobHash, BlobStore};
use crate::executor::error::ExecError;
use crate::executor::model::Request;
use crate::executor::pool::{Executor, InferenceOutput, JobHandle};
use crate::executor::sketch::Sketch;
use crate::state::Snapshot;

/// Deliberate misbehaviour, for fault tests only (`[executor] fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Report a different sketch and hash than the model produced: what a
    /// broken or dishonest executor would send.
    WrongResults,
}

/// This node's identity and options as an executor.
pub struct WorkerConfig {
    /// The validator's consensus address (whose reports count).
    pub validator: Vec<u8>,
    /// Its X25519 secret for sealed inputs (`None`: sealed jobs abstain).
    pub executor_secret: Option<StaticSecret>,
    pub fault: Fault,
    /// Other nodes' gRPC endpoints to fetch agreed outputs from.
    pub blob_peers: Vec<String>,
}

/// Runs committed jobs and reports them in vote extensions.
pub struct Worker {
    executor: Executor,
    blobs: BlobStore,
    config: WorkerConfig,
    inner: Mutex<Inner>,
}

/// What the worker keeps about a job it runs.
struct Running {
    handle: JobHandle,
    model: String,
    /// Sealed jobs: the envelope's recipients (the sketch is sealed to the
    /// registered ones) and the requester's output key.
    sealed: Option<SealedJob>,
}

#[derive(Clone)]
struct SealedJob {
    recipients: Vec<[u8; 32]>,
    output_key: Option<[u8; 32]>,
}

/// A sealed job's own result, kept in memory for the second round.
struct OwnSealed {
    model: String,
    sketch: Sketch,
}

#[derive(Default)]
struct Inner {
    running: BTreeMap<u64, Running>,
    /// Sealed jobs this node ran: its plaintext sketch (never leaves the node).
    own_sealed: BTreeMap<u64, OwnSealed>,
    /// Finished jobs' reports, kept until the job leaves the pending set.
    done: BTreeMap<u64, proto::JobReport>,
    /// The vote height each job's report last went out at.
    sent: BTreeMap<u64, u64>,
}

/// Whether a report not yet in committed state goes into the vote at
/// `height`: not when it went into the vote at `height - 1`, whose
/// extensions the block now being decided carries. Sent again otherwise
/// (never sent, or a proposer left it out, or a new round at `height`).
///
/// Why: re-sending in-flight reports let them crowd newly finished runs out
/// of the capped extension (measured: results came 256, 0, 256, 0 per
/// block in the 1000-request soak).
fn due(last_sent: Option<u64>, height: u64) -> bool {
    height == 0 || last_sent != Some(height - 1)
}

fn failure(job_id: u64, e: &AckError) -> proto::JobReport {
    proto::JobReport {
        job_id,
        outcome: Some(proto::job_report::Outcome::Failure(proto::ExecutionFailure {
            code: e.code.code(),
            detail: e.detail.clone(),
        })),
    }
}

impl Worker {
    pub fn new(executor: Executor, blobs: BlobStore, config: WorkerConfig) -> Worker {
        Worker {
            executor,
            blobs,
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The blob store outputs go to.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes up the jobs pending in `snap` that this node has not started,
    /// and forgets the ones that are no longer pending.
    pub fn after_commit(&self, snap: &Snapshot) {
        let pending = match store::pending_ids_committed(snap) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "worker cannot list pending jobs");
                return;
            }
        };
        // An excluded executor (`crate::fees`: too many faults) gets no
        // work until its operator re-registers the key: its reports would
        // not be recorded, so running jobs would only burn its GPU.
        let pending =
            if crate::fees::store::is_excluded_committed(snap, &self.config.validator).unwrap_or(false) {
                Vec::new()
            } else {
                pending
            };
        let mut inner = self.lock();
        inner.running.retain(|id, r| {
            let keep = pending.binary_search(id).is_ok();
            if !keep {
                r.handle.cancel();
            }
            keep
        });
        inner.done.retain(|id, _| pending.binary_search(id).is_ok());
        inner.own_sealed.retain(|id, _| pending.binary_search(id).is_ok());
        inner.sent.retain(|id, _| pending.binary_search(id).is_ok());
        for id in pending {
            if inner.running.contains_key(&id) || inner.done.contains_key(&id) {
                continue;
            }
            if store::has_report_committed(snap, id, &self.config.validator).unwrap_or(false) {
                continue;
            }
            let job = match store::job_committed(snap, id) {
                Ok(Some(j)) => j,
                _ => continue,
            };
            match self.request_of(&job) {
                Ok(Some((req, sealed))) => match self.executor.submit(&req, None) {
                    Ok(handle) => {
                        debug!(job = id, model = %req.model, "job started");
                        inner.running.insert(
                            id,
                            Running {
                                handle,
                                model: req.model.clone(),
                                sealed,
                            },
                        );
                    }
                    // Full: try again after the next commit.
                    Err(ExecError::Busy { .. }) => break,
                    // Not served here: abstain.
                    Err(ExecError::UnknownModel(_) | ExecError::ModelUnavailable { .. }) => {}
                    Err(e) => {
                        inner
                            .done
                            .insert(id, failure(id, &AckError::new(e.code(), e.ack_detail())));
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    inner.done.insert(id, failure(id, &e));
                }
            }
        }
    }

    /// Pins or fetches the agreed outputs of the jobs a committed block
    /// finished.
    pub fn pin_finished(&self, snap: &Snapshot, ids: &[u64]) {
        for id in ids {
            self.pin_agreed(snap, *id);
        }
    }

    /// Makes sure a completed job's agreed output is in this node's store:
    /// pins it if present (this node produced the reference, or the same
    /// bytes), else fetches it from a peer in the background; the client
    /// re-hashes what it downloads and the store names blobs by their hash.
    fn pin_agreed(&self, snap: &Snapshot, id: u64) {
        let Ok(Some(job)) = store::job_committed(snap, id) else {
            return;
        };
        let Some(out) = job.record().result.and_then(|r| r.output) else {
            return;
        };
        let Ok(hash) = BlobHash::from_slice(&out.sha256) else {
            return;
        };
        if self.blobs.contains(&hash).unwrap_or(false) {
            let _ = self.blobs.pin(&hash);
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            warn!(job = id, "no runtime to fetch the agreed output on");
            return;
        };
        let peers = self.config.blob_peers.clone();
        let blobs = self.blobs.clone();
        let height = snap.version().unwrap_or(0);
        rt.spawn(async move {
            for peer in &peers {
                let fetched = async {
                    let mut c = crate::blob::BlobClient::connect(peer).await?;
                    c.get_bytes(&hash).await
                };
                match fetched.await {
                    Ok(bytes) => {
                        let stored = blobs
                            .put(&bytes, &out.encoding, height)
                            .and_then(|p| blobs.pin(&p.hash).map(|_| p));
                        match stored {
                            Ok(_) => {
                                info!(job = id, %peer, output = %hash.to_hex(), "fetched the agreed output")
                            }
                            Err(e) => warn!(job = id, error = %e, "cannot store the agreed output"),
                        }
                        return;
                    }
                    Err(e) => debug!(job = id, %peer, error = %e, "agreed output not fetched from this peer"),
                }
            }
            warn!(job = id, output = %hash.to_hex(), "no peer served the agreed output");
        });
    }

    /// The executor's request for a job: `Ok(None)` to abstain (a sealed
    /// input not addressed to this node), `Err` for a failure to report.
    fn request_of(&self, job: &store::StoredJob) -> Result<Option<(Request, Option<SealedJob>)>, AckError> {
        let data = InferencePacketData::from_bytes(&job.request).map_err(|e| AckError::from(&e))?;
        let payload = match &data.input {
            Input::Inline(b) => b.clone(),
            Input::Blob(r) => self.blobs.get(&BlobHash(r.sha256)).map_err(|e| {
                AckError::new(
                    ErrorCode::BlobNotFound,
                    format!("input blob {}: {e}", hex::encode(r.sha256)),
                )
            })?,
        };
        let input = match &data.sealed {
            None => payload,
            Some(envelope) => {
                let Some(secret) = &self.config.executor_secret else {
                    return Ok(None);
                };
                let public = x25519_dalek::PublicKey::from(secret).to_bytes();
                if envelope.recipient(&public).is_none() {
                    return Ok(None);
                }
                envelope
                    .open(&payload, &data.model, secret)
                    .map_err(|e| AckError::new(ErrorCode::InvalidSealedEnvelope, e.to_string()))?
            }
        };
        let sealed = data.sealed.as_ref().map(|e| SealedJob {
            recipients: e.recipients.iter().map(|r| r.executor).collect(),
            output_key: data.output_key,
        });
        Ok(Some((Request::from_packet(&data, input), sealed)))
    }

    /// Reports for this node's next vote extension at `height`: finished
    /// runs not yet in committed state.
    pub fn extend_vote(&self, snap: &Snapshot, height: u64) -> Vec<u8> {
        let mut inner = self.lock();
        let mut finished = Vec::new();
        for (id, r) in &inner.running {
            if let Some(result) = r.handle.try_result() {
                finished.push((*id, result));
            }
        }
        let registered: Vec<Vec<u8>> = store::executor_keys_committed(snap)
            .map(|k| k.into_iter().map(|(_, key)| key).collect())
            .unwrap_or_default();
        for (id, result) in finished {
            let Some(run) = inner.running.remove(&id) else {
                continue;
            };
            let report = match result {
                Ok(out) => match &run.sealed {
                    None => self.result_report(id, out, height, None),
                    Some(sealed) => {
                        inner.own_sealed.insert(
                            id,
                            OwnSealed {
                                model: run.model.clone(),
                                sketch: out.sketch.clone(),
                            },
                        );
                        self.result_report(id, out, height, Some((sealed, &registered)))
                    }
                },
                Err(e) => failure(id, &AckError::new(e.code(), e.ack_detail())),
            };
            inner.done.insert(id, report);
        }
        let me = &self.config.validator;
        let mut reports: Vec<proto::JobReport> = Vec::new();
        for (id, report) in &inner.done {
            if !due(inner.sent.get(id).copied(), height) {
                continue;
            }
            // A sealed job this node ran has a second round once its
            // reference (another validator) is fixed: agreement only.
            if let Some(own) = inner.own_sealed.get(id) {
                let reference = store::job_committed(snap, *id)
                    .ok()
                    .flatten()
                    .map(|j| j.reference)
                    .unwrap_or_default();
                if !reference.is_empty() && &reference != me {
                    if !store::has_agreement_committed(snap, *id, me).unwrap_or(true) {
                        reports.extend(self.agreement(snap, *id, own, &reference));
                    }
                    continue;
                }
            }
            if !store::has_report_committed(snap, *id, me).unwrap_or(true) {
                reports.push(report.clone());
            }
        }
        if !reports.is_empty() {
            debug!(height, reports = reports.len(), "vote extension");
        }
        let (bytes, jobs) = votes::encode_extension(reports);
        for id in jobs {
            inner.sent.insert(id, height);
        }
        bytes
    }

    /// Stores the output, and makes its report.
    fn result_report(
        &self,
        id: u64,
        out: InferenceOutput,
        height: u64,
        sealed: Option<(&SealedJob, &[Vec<u8>])>,
    ) -> proto::JobReport {
        let mut commitment = out.commitment.clone();
        let mut sketch = out.sketch.clone();
        // A sealed job with an output key stores and commits to the output
        // sealed to the requester; the plaintext never reaches the store.
        let mut stored = out.bytes.clone();
        if let Some(key) = sealed.and_then(|(s, _)| s.output_key) {
            match SealedMessage::seal(&out.bytes, &output_context(&out.model), &[key], &mut OsRng) {
                Ok(m) => {
                    stored = m.to_bytes();
                    commitment = crate::executor::output::commitment(&stored, OutputEncoding::Json);
                }
                Err(e) => {
                    return failure(
                        id,
                        &AckError::new(ErrorCode::InvalidSealedEnvelope, format!("output_key: {e}")),
                    )
                }
            }
        }
        // Stored now (peers may fetch it while the vote runs), pinned only
        // once agreed (`pin_agreed`): one pin per agreed output, and a
        // result that lost the vote is left to GC.
        if let Err(e) = self.blobs.put(&stored, commitment.encoding.name(), height) {
            warn!(job = id, error = %e, "cannot store output");
        }
        if self.config.fault == Fault::WrongResults {
            commitment.sha256 = BlobHash::of(&commitment.sha256).0;
            sketch = corrupt(sketch);
        }
        info!(
            job = id,
            vote_height = height,
            output = %hex::encode(commitment.sha256),
            queued_ms = out.queued.as_millis() as u64,
            ran_ms = out.ran.as_millis() as u64,
            "job executed"
        );
        // A sealed job's sketch goes only to the executors that can run it.
        let (plain_sketch, sealed_sketch) = match sealed {
            None => (sketch.to_bytes(), Vec::new()),
            Some((job, registered)) => {
                let mut to: Vec<[u8; 32]> = job
                    .recipients
                    .iter()
                    .filter(|r| registered.iter().any(|k| k.as_slice() == r.as_slice()))
                    .copied()
                    .collect();
                if to.is_empty() {
                    to = job.recipients.clone();
                }
                match SealedMessage::seal(
                    &sketch.to_bytes(),
                    &sketch_context(&out.model, id),
                    &to,
                    &mut OsRng,
                ) {
                    Ok(m) => (Vec::new(), m.to_bytes()),
                    Err(e) => {
                        return failure(
                            id,
                            &AckError::new(
                                ErrorCode::InvalidSealedEnvelope,
                                format!("sealing the sketch: {e}"),
                            ),
                        )
                    }
                }
            }
        };
        proto::JobReport {
            job_id: id,
            outcome: Some(proto::job_report::Outcome::Result(proto::ExecutedResult {
                model_hash: out.model_hash.to_vec(),
                output: Some(proto::OutputCommitment {
                    sha256: commitment.sha256.to_vec(),
                    size: commitment.size,
                    encoding: commitment.encoding.name().to_string(),
                }),
                sketch: plain_sketch,
                sealed_sketch,
            })),
        }
    }

    /// The second-round report of a sealed job: opens the reference's
    /// sealed sketch and compares it with this node's own (in memory only).
    fn agreement(
        &self,
        snap: &Snapshot,
        id: u64,
        own: &OwnSealed,
        reference: &[u8],
    ) -> Option<proto::JobReport> {
        let secret = self.config.executor_secret.as_ref()?;
        let reports = store::reports_committed(snap, id).ok()?;
        let (_, r) = reports.iter().find(|(v, _)| v == reference)?;
        let Some(proto::job_report::Outcome::Result(x)) = &r.outcome else {
            return None;
        };
        let spec = store::model_committed(snap, &own.model)
            .ok()
            .flatten()
            .and_then(|m| m.sketch)
            .and_then(|s| super::tally::sketch_spec(&s))?;
        let theirs = SealedMessage::from_bytes(&x.sealed_sketch)
            .ok()
            .and_then(|m| m.open(&sketch_context(&own.model, id), secret).ok())
            .and_then(|b| Sketch::from_bytes(&b).ok());
        let mut agrees = theirs.is_some_and(|t| crate::executor::sketch::agree(&spec, &own.sketch, &t));
        if self.config.fault == Fault::WrongResults {
            agrees = !agrees;
        }
        debug!(job = id, agrees, "sealed job: agreement with the reference");
        Some(proto::JobReport {
            job_id: id,
            outcome: Some(proto::job_report::Outcome::Agreement(proto::AgreementReport {
                reference: reference.to_vec(),
                agrees,
            })),
        })
    }
}

/// A sketch no honest run would agree with (the fault tests' wrong result).
fn corrupt(s: Sketch) -> Sketch {
    let flip = |v: Vec<u16>| v.into_iter().map(|x| x ^ 0x00ff).collect::<Vec<_>>();
    match s {
        Sketch::Classify { label, probs } => Sketch::Classify {
            label: (label + 1) % probs.len().max(1) as u32,
            probs: flip(probs),
        },
        Sketch::Embedding { signs, values } => Sketch::Embedding {
            signs: signs.into_iter().map(|b| !b).collect(),
            values: flip(values),
        },
        Sketch::Image { cols, rows, cells } => Sketch::Image {
            cols,
            rows,
            cells: flip(cells),
        },
        Sketch::Tokens { tokens } => Sketch::Tokens {
            tokens: tokens.into_iter().map(|t| t ^ 1).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::due;

    #[test]
    fn reports_in_flight_are_not_sent_twice_in_a_row() {
        assert!(due(None, 7), "never sent");
        assert!(!due(Some(6), 7), "in the block being decided");
        assert!(due(Some(5), 7), "left out by a proposer: sent again");
        assert!(due(Some(7), 7), "a new round at the same height");
        assert!(due(None, 0));
    }
}
