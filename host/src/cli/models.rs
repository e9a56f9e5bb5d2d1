//! `chimerad models list|verify`: the registry and each model's status.

use chimera_host::executor::{LoadedModel, ModelStatus, Registry};

use super::ExecOpts;

/// The model registry.
#[derive(clap::Subcommand, Debug)]
pub enum ModelsCmd {
    /// Every manifest: id, task, file, status (hashes checked).
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecOpts,
    },
    /// Check every file against its pinned sha256 and load each model into
    /// libtorch; exits 1 if any model is not ok.
    Verify {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: ExecOpts,
    },
}

/// Runs the command; returns the exit code.
pub fn run(cmd: ModelsCmd) -> i32 {
    let (json, exec, load) = match cmd {
        ModelsCmd::List { json, exec } => (json, exec, false),
        ModelsCmd::Verify { json, exec } => (json, exec, true),
    };
    let mut registry = exec.registry();
    if load {
        load_check(&mut registry, &exec);
    }
    if !json {
        println!("registry  {}", registry.dirs.registry_path().display());
        println!("cache     {}", registry.dirs.cache.display());
    }
    for e in &registry.entries {
        let m = &e.manifest;
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "id": m.id, "task": format!("{:?}", m.task).to_lowercase(), "sha256": m.sha256,
                    "path": e.path.display().to_string(), "status": e.status.label(),
                    "detail": e.status.to_string(),
                })
            );
        } else {
            println!(
                "{:<14} {:<10} {:<14} {}",
                m.id,
                format!("{:?}", m.task).to_lowercase(),
                e.status.label(),
                if e.status.is_ok() {
                    e.path.display().to_string()
                } else {
                    e.status.to_string()
                }
            );
        }
    }
    if load && !registry.all_ok() {
        1
    } else {
        0
    }
}

/// Loads every hash-verified model into libtorch; a failure marks it invalid.
fn load_check(registry: &mut Registry, exec: &ExecOpts) {
    chimera_host::executor::runtime::init(exec.threads);
    let device = exec.device.resolve();
    for e in registry.entries.iter_mut().filter(|e| e.status.is_ok()) {
        if let Err(why) = LoadedModel::load(e, device) {
            e.status = ModelStatus::Invalid(why);
        }
    }
}
