//! libtorch process settings for deterministic execution (DESIGN §2) and
//! the device choice.
//!
//! - a fixed intra-op thread count (`tch::set_num_threads`), the same on
//!   every validator (a chain parameter; thread counts change reduction
//!   order);
//! - `at::globalContext().setDeterministicAlgorithms(true)`, deterministic
//!   cuDNN with benchmarking off, and TF32 off on CUDA (full f32 matmuls and
//!   convolutions); `CUBLAS_WORKSPACE_CONFIG=:4096:8` (`set_process_env`)
//!   so cuBLAS is deterministic too;
//! - per worker thread: gradients off and the TorchScript graph executor's
//!   optimizer off (the profiling executor would otherwise swap in fused
//!   kernels after a few runs, changing the output bits between the first and
//!   the third request);
//! - no autocast (never enabled) and no torch RNG (noise and sampling come
//!   from `rng::ChaCha`).
//!
//! tch 0.26 does not wrap `setDeterministicAlgorithms` and friends, so they
//! are called through libtorch's exported C++ symbols (Itanium C++ ABI: a
//! member function takes `this` first), which libtorch_cpu.so exports on
//! Linux and macOS; `determinism_flags` reads them back.

use std::ffi::c_void;
use std::sync::OnceLock;

use tch::Device;

#[allow(improper_ctypes)]
extern "C" {
    #[link_name = "_ZN2at13globalContextEv"]
    fn at_global_context() -> *mut c_void;
    #[link_name = "_ZN2at7Context26setDeterministicAlgorithmsEbb"]
    fn at_set_deterministic_algorithms(ctx: *mut c_void, on: bool, warn_only: bool);
    #[link_name = "_ZNK2at7Context23deterministicAlgorithmsEv"]
    fn at_deterministic_algorithms(ctx: *const c_void) -> bool;
    #[link_name = "_ZN2at7Context21setDeterministicCuDNNEb"]
    fn at_set_deterministic_cudnn(ctx: *mut c_void, on: bool);
    #[link_name = "_ZNK2at7Context18deterministicCuDNNEv"]
    fn at_deterministic_cudnn(ctx: *const c_void) -> bool;
    #[link_name = "_ZN2at7Context18setAllowTF32CuBLASEb"]
    fn at_set_allow_tf32_cublas(ctx: *mut c_void, on: bool);
    #[link_name = "_ZN2at7Context17setAllowTF32CuDNNEb"]
    fn at_set_allow_tf32_cudnn(ctx: *mut c_void, on: bool);
}

/// Which device the executor runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA device 0 when `tch::Cuda::is_available()`, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| format!("device {s:?}: want auto, cpu, cuda or cuda:N")),
        }
    }
}

impl DeviceChoice {
    /// The tch device.
    pub fn resolve(self) -> Device {
        match self {
            DeviceChoice::Auto => Device::cuda_if_available(),
            DeviceChoice::Cpu => Device::Cpu,
            DeviceChoice::Cuda(n) => Device::Cuda(n),
        }
    }
}

/// What the process was set to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeInfo {
    pub intra_op_threads: i32,
    pub deterministic_algorithms: bool,
    pub deterministic_cudnn: bool,
    pub cuda_available: bool,
    pub cuda_devices: i64,
}

static INIT: OnceLock<RuntimeInfo> = OnceLock::new();

/// Sets `CUBLAS_WORKSPACE_CONFIG=:4096:8` (deterministic cuBLAS) unless
/// already set. Call it while the process has one thread, before CUDA
/// starts: `chimerad` does at the start of its executor subcommands.
pub fn set_process_env() {
    if std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
        std::env::set_var("CUBLAS_WORKSPACE_CONFIG", ":4096:8");
    }
}

/// Applies the process-wide settings once (later calls return the first
/// result: libtorch's settings are global; `threads` must agree across
/// executors in one process).
pub fn init(threads: usize) -> RuntimeInfo {
    INIT.get_or_init(|| {
        if tch::Cuda::is_available() && std::env::var_os("CUBLAS_WORKSPACE_CONFIG").is_none() {
            eprintln!(
                "warning: CUBLAS_WORKSPACE_CONFIG is unset: cuBLAS may not be deterministic \
                 (chimerad sets it; library users call runtime::set_process_env first)"
            );
        }
        tch::set_num_threads(threads.clamp(1, 1024) as i32);
        // SAFETY: at::globalContext() returns the process-wide context, valid
        // for the life of the process; these setters only store flags.
        unsafe {
            let ctx = at_global_context();
            at_set_deterministic_algorithms(ctx, true, false);
            at_set_deterministic_cudnn(ctx, true);
            at_set_allow_tf32_cublas(ctx, false);
            at_set_allow_tf32_cudnn(ctx, false);
        }
        tch::Cuda::cudnn_set_benchmark(false);
        let (det, det_cudnn) = determinism_flags();
        RuntimeInfo {
            intra_op_threads: tch::get_num_threads(),
            deterministic_algorithms: det,
            deterministic_cudnn: det_cudnn,
            cuda_available: tch::Cuda::is_available(),
            cuda_devices: tch::Cuda::device_count(),
        }
    })
    .clone()
}

/// libtorch's current `(deterministicAlgorithms, deterministicCuDNN)`.
pub fn determinism_flags() -> (bool, bool) {
    // SAFETY: as in `init`; const getters.
    unsafe {
        let ctx = at_global_context();
        (at_deterministic_algorithms(ctx), at_deterministic_cudnn(ctx))
    }
}

/// Per-thread settings every worker applies before running a model: the
/// returned guard keeps gradients off for the thread's life.
pub fn init_worker_thread() -> tch::NoGradGuard {
    tch::jit::set_graph_executor_optimize(false);
    tch::no_grad_guard()
}

/// Workers a device gets by default: one per CUDA device; on the CPU, the
/// cores divided by the intra-op threads each worker uses.
pub fn default_workers(device: Device, threads: usize) -> usize {
    match device {
        Device::Cuda(_) => 1,
        _ => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores / threads.max(1)).max(1)
        }
    }
}
