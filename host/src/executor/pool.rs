//! The job queue and the worker pool: a bounded queue (a full queue refuses
//! with `ExecError::Busy`, never grows), workers sized to the device,
//! dynamic batching of same-model requests (`batch_max`, `batch_wait_ms`),
//! per-job deadlines and cancellation, and panics caught per batch.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chimera_packets::OutputCommitment;

use super::error::ExecError;
use super::model::{LoadedModel, Prepared, Request};
use super::output::commitment;
use super::registry::{ModelStatus, Registry};
use super::runtime::{self, DeviceChoice, RuntimeInfo};
use super::sketch::{sketch_of_output, Sketch};

/// How the executor runs.
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// libtorch intra-op threads (fixed: thread counts change float
    /// reduction order, so validators use one value).
    pub threads: usize,
    /// Worker threads; `None`: `runtime::default_workers`.
    pub workers: Option<usize>,
    /// Most jobs waiting in the queue; more are refused with `Busy`.
    pub queue_capacity: usize,
    /// Deadline of a job submitted without one.
    pub default_deadline: Duration,
    pub device: DeviceChoice,
    /// Dynamic batching on (`batch_max` from the manifest) or off (1).
    pub batching: bool,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            threads: 1,
            workers: None,
            queue_capacity: 256,
            default_deadline: Duration::from_secs(120),
            device: DeviceChoice::Auto,
            batching: true,
        }
    }
}

/// What a finished job gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InferenceOutput {
    pub job_id: u64,
    pub model: String,
    /// SHA-256 of the TorchScript file that ran.
    pub model_hash: [u8; 32],
    /// The exact output bytes (§4.2 encodings).
    pub bytes: Vec<u8>,
    /// sha256, size and encoding of `bytes`.
    pub commitment: OutputCommitment,
    /// Its integer fingerprint (`sketch::sketch_of_output`).
    pub sketch: Sketch,
    /// How many requests shared the forward passes.
    pub batch_size: usize,
    /// Time in the queue and running.
    pub queued: Duration,
    pub ran: Duration,
}

/// One model's state in a running executor.
pub enum Slot {
    Ready(Arc<LoadedModel>),
    Refused(String),
}

struct Job {
    id: u64,
    model: Arc<LoadedModel>,
    input: Prepared,
    key: (usize, usize),
    deadline: Instant,
    cancel: Arc<AtomicBool>,
    enqueued: Instant,
    reply: mpsc::Sender<Result<InferenceOutput, ExecError>>,
}

impl Job {
    fn dead(&self, now: Instant) -> Option<ExecError> {
        if self.cancel.load(Ordering::Relaxed) {
            Some(ExecError::Cancelled)
        } else if now >= self.deadline {
            Some(ExecError::DeadlineExceeded)
        } else {
            None
        }
    }

    fn finish(self, r: Result<InferenceOutput, ExecError>) {
        let _ = self.reply.send(r); // the waiter may have gone: fine
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    shutdown: bool,
}

struct Shared {
    models: BTreeMap<String, Slot>,
    queue: Mutex<Queue>,
    cv: Condvar,
    capacity: usize,
    batching: bool,
    next_id: AtomicU64,
    /// Workers running a batch now.
    running: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A worker never panics while holding the lock (batches run unlocked),
        // but recover anyway: the queue stays consistent.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running executor: loaded models, a bounded queue and its workers.
/// Dropping it stops the workers after the jobs already queued.
pub struct Executor {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    runtime: RuntimeInfo,
    device: tch::Device,
    default_deadline: Duration,
}

/// A submitted job: wait for it, or cancel it.
pub struct JobHandle {
    pub id: u64,
    rx: mpsc::Receiver<Result<InferenceOutput, ExecError>>,
    cancel: Arc<AtomicBool>,
    deadline: Instant,
}

impl JobHandle {
    /// Waits for the result, at most until the job's deadline.
    pub fn wait(self) -> Result<InferenceOutput, ExecError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.cancel.store(true, Ordering::Relaxed);
                Err(ExecError::DeadlineExceeded)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(ExecError::ShutDown),
        }
    }

    /// The result if it is there.
    pub fn try_result(&self) -> Option<Result<InferenceOutput, ExecError>> {
        self.rx.try_recv().ok()
    }

    /// Cancels the job: dropped if still queued, stopped at the next step if
    /// running (its batch-mates go on); `wait` then gives `Cancelled`.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Executor {
    /// Applies the runtime settings, loads every verified model of the
    /// registry (a model that fails to load is refused, the rest served) and
    /// starts the workers.
    pub fn start(registry: &Registry, config: ExecutorConfig) -> Executor {
        let runtime = runtime::init(config.threads);
        let device = config.device.resolve();
        let mut models = BTreeMap::new();
        for e in &registry.entries {
            let slot = match &e.status {
                ModelStatus::Ok => match LoadedModel::load(e, device) {
                    Ok(m) => Slot::Ready(Arc::new(m)),
                    Err(why) => Slot::Refused(why),
                },
                other => Slot::Refused(other.to_string()),
            };
            models.entry(e.manifest.id.clone()).or_insert(slot);
        }
        let shared = Arc::new(Shared {
            models,
            queue: Mutex::new(Queue::default()),
            cv: Condvar::new(),
            capacity: config.queue_capacity.max(1),
            batching: config.batching,
            next_id: AtomicU64::new(1),
            running: AtomicUsize::new(0),
        });
        let n = config
            .workers
            .unwrap_or_else(|| runtime::default_workers(device, config.threads))
            .max(1);
        let workers = (0..n)
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("chimera-exec-{i}"))
                    .spawn(move || worker(shared))
                    .expect("spawn executor worker")
            })
            .collect();
        Executor {
            shared,
            workers,
            runtime,
            device,
            default_deadline: config.default_deadline,
        }
    }

    /// The process settings in force.
    pub fn runtime(&self) -> &RuntimeInfo {
        &self.runtime
    }

    /// The device models run on.
    pub fn device(&self) -> tch::Device {
        self.device
    }

    /// Every model id with its state.
    pub fn models(&self) -> impl Iterator<Item = (&str, &Slot)> {
        self.shared.models.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The loaded model of an id, or why it is not served.
    pub fn model(&self, id: &str) -> Result<&Arc<LoadedModel>, ExecError> {
        match self.shared.models.get(id) {
            None => Err(ExecError::UnknownModel(id.into())),
            Some(Slot::Refused(reason)) => Err(ExecError::ModelUnavailable {
                model: id.into(),
                reason: reason.clone(),
            }),
            Some(Slot::Ready(m)) => Ok(m),
        }
    }

    /// Jobs waiting now.
    pub fn queued(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Checks a request and queues it. Refuses at once (nothing queued) an
    /// unknown model, a bad input and a full queue (`Busy`).
    pub fn submit(&self, req: &Request, deadline: Option<Duration>) -> Result<JobHandle, ExecError> {
        let model = self.model(&req.model)?.clone();
        let input = model.prepare(req)?;
        let key = input.batch_key(model.context());
        let now = Instant::now();
        let deadline = now + deadline.unwrap_or(self.default_deadline);
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut q = self.shared.lock();
            if q.shutdown {
                return Err(ExecError::ShutDown);
            }
            if q.jobs.len() >= self.shared.capacity {
                // Make room from jobs nobody waits for any more.
                let (dead, live): (Vec<Job>, Vec<Job>) =
                    q.jobs.drain(..).partition(|j| j.dead(now).is_some());
                q.jobs = live.into();
                for j in dead {
                    let why = j.dead(now).expect("partitioned dead");
                    j.finish(Err(why));
                }
            }
            if q.jobs.len() >= self.shared.capacity {
                return Err(ExecError::Busy {
                    queued: q.jobs.len(),
                    capacity: self.shared.capacity,
                });
            }
            q.jobs.push_back(Job {
                id,
                model,
                input,
                key,
                deadline,
                cancel: cancel.clone(),
                enqueued: now,
                reply: tx,
            });
        }
        self.shared.cv.notify_all();
        Ok(JobHandle {
            id,
            rx,
            cancel,
            deadline,
        })
    }

    /// `submit` and `wait`.
    pub fn run(&self, req: &Request) -> Result<InferenceOutput, ExecError> {
        self.submit(req, None)?.wait()
    }

    /// Re-scores a claimed token generation (see `LoadedModel::verify_generation`).
    pub fn verify_generation(&self, req: &Request, output: &[u8]) -> Result<bool, ExecError> {
        let m = self.model(&req.model)?.clone();
        let _grad = runtime::init_worker_thread();
        Ok(guarded(|| m.verify_generation(req, output))?.is_ok())
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.cv.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(shared: Arc<Shared>) {
    let _grad = runtime::init_worker_thread();
    while let Some(batch) = next_batch(&shared) {
        shared.running.fetch_add(1, Ordering::Relaxed);
        run(batch, &shared.running);
    }
}

/// Takes the oldest live job and every queued job that may share its batch,
/// waiting up to the model's `batch_wait_ms` for more while another worker
/// is busy. `None` at shutdown with an empty queue.
fn next_batch(shared: &Shared) -> Option<Vec<Job>> {
    let mut q = shared.lock();
    let first = loop {
        match q.jobs.pop_front() {
            Some(j) => match j.dead(Instant::now()) {
                Some(why) => j.finish(Err(why)),
                None => break j,
            },
            None if q.shutdown => return None,
            None => q = shared.cv.wait(q).unwrap_or_else(|e| e.into_inner()),
        }
    };
    let m = &first.model.manifest;
    let max = if shared.batching { m.batch_max as usize } else { 1 };
    // Wait for more only under load (another worker busy): a lone request
    // on an idle executor runs at once, without the batching delay.
    let loaded = shared.running.load(Ordering::Relaxed) > 0;
    let wait = if loaded { m.batch_wait_ms } else { 0 };
    let until = Instant::now() + Duration::from_millis(wait);
    let mut batch = vec![first];
    loop {
        let mut i = 0;
        while i < q.jobs.len() && batch.len() < max {
            let j = &q.jobs[i];
            if Arc::ptr_eq(&j.model, &batch[0].model) && j.key == batch[0].key {
                let j = q.jobs.remove(i).expect("index in range");
                match j.dead(Instant::now()) {
                    Some(why) => j.finish(Err(why)),
                    None => batch.push(j),
                }
            } else {
                i += 1;
            }
        }
        let now = Instant::now();
        if batch.len() >= max || now >= until || q.shutdown {
            break;
        }
        q = shared
            .cv
            .wait_timeout(q, until - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    Some(batch)
}

/// Runs one batch; lowers `running` as soon as the model is done, before
/// the replies go out, so that a client's next request does not find this
/// worker still "busy" and wait `batch_wait_ms` for batch-mates.
fn run(batch: Vec<Job>, running: &AtomicUsize) {
    let start = Instant::now();
    let model = batch[0].model.clone();
    let inputs: Vec<&Prepared> = batch.iter().map(|j| &j.input).collect();
    let alive = || {
        let now = Instant::now();
        batch.iter().any(|j| j.dead(now).is_none())
    };
    let result = guarded(|| model.run_batch(&inputs, &alive));
    let ran = start.elapsed();
    running.fetch_sub(1, Ordering::Relaxed);
    let n = batch.len();
    match result {
        Err(e) => batch.into_iter().for_each(|j| {
            let e = j.dead(Instant::now()).unwrap_or_else(|| e.clone());
            j.finish(Err(e))
        }),
        Ok(outputs) => {
            for (j, out) in batch.into_iter().zip(outputs) {
                if let Some(why) = j.dead(Instant::now()) {
                    j.finish(Err(why));
                    continue;
                }
                let r = out.and_then(|bytes| finish_output(&model, &j, bytes, n, start, ran));
                j.finish(r);
            }
        }
    }
}

fn finish_output(
    model: &LoadedModel,
    job: &Job,
    bytes: Vec<u8>,
    batch_size: usize,
    start: Instant,
    ran: Duration,
) -> Result<InferenceOutput, ExecError> {
    let m = &model.manifest;
    let encoding = match m.output.encoding {
        super::manifest::OutputKind::Tensor => chimera_packets::OutputEncoding::Tensor,
        super::manifest::OutputKind::Png => chimera_packets::OutputEncoding::Png,
        super::manifest::OutputKind::Text => chimera_packets::OutputEncoding::Text,
    };
    let sketch = sketch_of_output(&m.sketch, encoding, &bytes).map_err(|e| match e {
        super::sketch::SketchError::BadOutput(ref s) if s.contains("NaN") => {
            ExecError::NonFinite { model: m.id.clone() }
        }
        other => ExecError::Torch(other.to_string()),
    })?;
    Ok(InferenceOutput {
        job_id: job.id,
        model: m.id.clone(),
        model_hash: model.model_hash,
        commitment: commitment(&bytes, encoding),
        bytes,
        sketch,
        batch_size,
        queued: start.saturating_duration_since(job.enqueued),
        ran,
    })
}

/// Runs `f`, turning a panic into `ExecError::Panicked`: a bug or an
/// unexpected libtorch abort in one batch fails that batch, not the process.
fn guarded<T>(f: impl FnOnce() -> Result<T, ExecError>) -> Result<T, ExecError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(ExecError::Panicked(panic_text(&*p))))
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        assert_eq!(guarded(|| Ok::<_, ExecError>(3)), Ok(3));
        let r: Result<(), ExecError> = guarded(|| panic!("boom {}", 7));
        assert_eq!(r, Err(ExecError::Panicked("boom 7".into())));
        let r: Result<(), ExecError> = guarded(|| std::panic::panic_any(5u8));
        assert_eq!(r, Err(ExecError::Panicked("non-text panic".into())));
        // And from another thread, as in a worker: the thread survives.
        let h = std::thread::spawn(|| guarded::<()>(|| panic!("in a worker")));
        assert!(matches!(h.join().unwrap(), Err(ExecError::Panicked(_))));
    }
}
