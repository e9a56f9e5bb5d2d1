//! The node side of inference (not consensus): after each Commit the worker
//! hands newly committed jobs to the local executor, and at `ExtendVote` it
//! collects finished runs, stores their outputs in the blob store (pinned,
//! so any node that executed can serve them) and reports `(job, exact
//! output hash, sketch)` until its report is in committed state.
//!
//! Nothing here feeds the app hash directly: reports reach state only via
//! signed vote extensions that the quorum rule weighs. A node without the
//! model (or without a GPU for a GPU-only model) abstains.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chimera_packets::{proto, AckError, ErrorCode, InferencePacketData, Input};
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

#[derive(Default)]
struct Inner {
    running: BTreeMap<u64, JobHandle>,
    /// Finished jobs' reports, kept until the job leaves the pending set.
    done: BTreeMap<u64, proto::JobReport>,
    /// Every pending job seen: when one leaves the pending set completed,
    /// its agreed output is fetched if this node lacks it.
    watched: std::collections::BTreeSet<u64>,
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
        let mut inner = self.lock();
        let ended: Vec<u64> = inner
            .watched
            .iter()
            .copied()
            .filter(|id| pending.binary_search(id).is_err())
            .collect();
        for id in ended {
            inner.watched.remove(&id);
            self.pin_agreed(snap, id);
        }
        inner.watched.extend(pending.iter().copied());
        inner.running.retain(|id, h| {
            let keep = pending.binary_search(id).is_ok();
            if !keep {
                h.cancel();
            }
            keep
        });
        inner.done.retain(|id, _| pending.binary_search(id).is_ok());
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
                Ok(Some(req)) => match self.executor.submit(&req, None) {
                    Ok(handle) => {
                        debug!(job = id, model = %req.model, "job started");
                        inner.running.insert(id, handle);
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
    fn request_of(&self, job: &store::StoredJob) -> Result<Option<Request>, AckError> {
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
        Ok(Some(Request::from_packet(&data, input)))
    }

    /// Reports for this node's next vote extension at `height`: finished
    /// runs not yet in committed state.
    pub fn extend_vote(&self, snap: &Snapshot, height: u64) -> Vec<u8> {
        let mut inner = self.lock();
        let mut finished = Vec::new();
        for (id, handle) in &inner.running {
            if let Some(r) = handle.try_result() {
                finished.push((*id, r));
            }
        }
        for (id, r) in finished {
            inner.running.remove(&id);
            let report = match r {
                Ok(out) => self.result_report(id, out, height),
                Err(e) => failure(id, &AckError::new(e.code(), e.ack_detail())),
            };
            inner.done.insert(id, report);
        }
        let reports: Vec<proto::JobReport> = inner
            .done
            .iter()
            .filter(|(id, _)| {
                !store::has_report_committed(snap, **id, &self.config.validator).unwrap_or(true)
            })
            .map(|(_, r)| r.clone())
            .collect();
        if !reports.is_empty() {
            debug!(height, reports = reports.len(), "vote extension");
        }
        votes::encode_extension(reports)
    }

    /// Stores and pins the output, and makes its report.
    fn result_report(&self, id: u64, out: InferenceOutput, height: u64) -> proto::JobReport {
        let mut commitment = out.commitment.clone();
        let mut sketch = out.sketch.clone();
        match self.blobs.put(&out.bytes, commitment.encoding.name(), height) {
            Ok(put) => {
                if let Err(e) = self.blobs.pin(&put.hash) {
                    warn!(job = id, error = %e, "cannot pin output");
                }
            }
            Err(e) => warn!(job = id, error = %e, "cannot store output"),
        }
        if self.config.fault == Fault::WrongResults {
            commitment.sha256 = BlobHash::of(&commitment.sha256).0;
            sketch = corrupt(sketch);
        }
        info!(
            job = id,
            output = %hex::encode(commitment.sha256),
            ran_ms = out.ran.as_millis() as u64,
            "job executed"
        );
        proto::JobReport {
            job_id: id,
            outcome: Some(proto::job_report::Outcome::Result(proto::ExecutedResult {
                model_hash: out.model_hash.to_vec(),
                output: Some(proto::OutputCommitment {
                    sha256: commitment.sha256.to_vec(),
                    size: commitment.size,
                    encoding: commitment.encoding.name().to_string(),
                }),
                sketch: sketch.to_bytes(),
            })),
        }
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
