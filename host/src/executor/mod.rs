//! The executor: runs registry models deterministically and commits to
//! their outputs (DESIGN §2, §5; `docs/architecture.md`).
//!
//! - `registry` / `manifest`: `host/models/registry.toml`, every file
//!   checked against its pinned SHA-256; a bad model is refused alone.
//! - `runtime`: process settings for deterministic libtorch (threads,
//!   deterministic algorithms, no TF32, no graph-executor fusion) and the
//!   device (CUDA when available, else CPU).
//! - `pool`: `Executor` — bounded queue with back-pressure, workers,
//!   dynamic batching, deadlines, cancellation, panic isolation.
//! - `model`: what runs around each model's `forward` (docs/models.md).
//! - `output`: the canonical tensor encoding, the canonical PNG, and
//!   `commitment` (sha256, size, encoding).
//! - `sketch`: integer fingerprints and `agree` — pure, no libtorch, for
//!   consensus; `sampling`: seeded token sampling and `verify_tokens`;
//!   `rng`: the portable ChaCha20 stream.

pub mod error;
pub mod manifest;
pub mod model;
pub mod output;
pub mod pool;
pub mod registry;
pub mod rng;
pub mod runtime;
pub mod sampling;
pub mod sketch;

pub use error::ExecError;
pub use model::{LoadedModel, Request};
pub use pool::{Executor, ExecutorConfig, InferenceOutput, JobHandle, Slot};
pub use registry::{ModelStatus, ModelsDirs, Registry};
pub use sketch::{agree, Sketch, SketchRule, SketchSpec};
