//! `chimerad` subcommands of the executor: `infer`, `models`, `bench`.

pub mod bench;
pub mod infer;
pub mod models;

use std::path::PathBuf;

use chimera_host::executor::runtime::DeviceChoice;
use chimera_host::executor::{ExecutorConfig, ModelsDirs, Registry};

/// Parses a `--param KEY=VALUE` argument.
pub fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// Options every executor subcommand takes.
#[derive(clap::Args, Debug, Clone)]
pub struct ExecOpts {
    /// Directory of registry.toml and the committed model files
    /// (default: the source tree's host/models). Exported files are read from
    /// $CHIMERA_CACHE/models/<sha256>/.
    #[arg(long, env = "CHIMERA_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,
    /// libtorch intra-op threads (validators must use one value).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

impl ExecOpts {
    /// The registry, verified; exits 1 when the file itself is unusable.
    /// Also sets the process environment the runtime needs, while the
    /// process has one thread.
    pub fn registry(&self) -> Registry {
        chimera_host::executor::runtime::set_process_env();
        Registry::open(ModelsDirs::new(self.models_dir.clone())).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1)
        })
    }

    pub fn config(&self) -> ExecutorConfig {
        ExecutorConfig {
            threads: self.threads,
            device: self.device,
            ..ExecutorConfig::default()
        }
    }
}
