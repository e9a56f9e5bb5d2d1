//! Shared set-up of the executor integration tests (`executor_*.rs`): the
//! real registry (`CHIMERA_MODELS_DIR`, else host/models) and one executor
//! per test binary (models load once).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use chimera_host::executor::{Executor, ExecutorConfig, ModelsDirs, Registry};

/// The registry the tests use; every model in it must verify.
pub fn registry() -> Registry {
    let dir = std::env::var_os("CHIMERA_MODELS_DIR").map(PathBuf::from);
    let reg = Registry::open(ModelsDirs::new(dir)).expect("registry.toml readable");
    for e in &reg.entries {
        assert!(
            e.status.is_ok(),
            "model {} is not servable: {} (run scripts/setup, which builds and exports the models)",
            e.manifest.id,
            e.status
        );
    }
    reg
}

/// One shared executor: 1 intra-op thread, CPU or CUDA as available.
pub fn executor() -> &'static Executor {
    static EXEC: OnceLock<Executor> = OnceLock::new();
    EXEC.get_or_init(|| Executor::start(&registry(), ExecutorConfig::default()))
}

/// The test fixtures directory.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// sklearn digits fixture: (label, f32[64] in [0, 1]).
pub fn digits() -> Vec<(u32, Vec<f32>)> {
    let text = std::fs::read_to_string(fixture("digits.json")).expect("digits fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("digits json");
    v["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .map(|s| {
            let label = s["label"].as_u64().expect("label") as u32;
            let px = s["pixels"]
                .as_array()
                .expect("pixels")
                .iter()
                .map(|p| p.as_f64().expect("pixel") as f32 / 16.0)
                .collect();
            (label, px)
        })
        .collect()
}

/// The canonical f32 tensor's values.
pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    chimera_host::executor::output::decode_tensor(bytes)
        .expect("canonical tensor")
        .f32s()
        .expect("f32")
}
