//! The inference module's part of genesis: parameters, the model registry
//! the chain commits to, and which accounts operate which validators.

use chimera_packets::proto;
use serde::{Deserialize, Serialize};

use super::params::InferenceParams;
use super::store;
use crate::chain::address::Address;
use crate::chain::params::StateParams;
use crate::executor::manifest::Manifest;
use crate::state::Delta;

/// `app_state.inference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceGenesis {
    #[serde(default)]
    pub params: InferenceParams,
    #[serde(default)]
    pub models: Vec<GenesisModel>,
    /// Validator operators (they may register executor keys).
    #[serde(default)]
    pub operators: Vec<GenesisOperator>,
    /// Executor keys known from the start (`chimerad init`/`testnet` list
    /// every validator's), so sealed requests work from block 1.
    #[serde(default)]
    pub executor_keys: Vec<GenesisExecutorKey>,
}

/// A validator's X25519 executor key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisExecutorKey {
    /// The validator's consensus address, hex.
    pub validator: String,
    /// The X25519 public key, lowercase hex.
    pub key: String,
}

/// A registered model: what a request may name and how results agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisModel {
    pub id: String,
    /// SHA-256 of the TorchScript file, lowercase hex.
    pub sha256: String,
    pub task: String,
    pub sketch: GenesisSketch,
}

/// A model's agreement rule (`[model.sketch]` of its manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisSketch {
    pub rule: String,
    pub levels: u32,
    pub tolerance: u32,
    pub thumb: u32,
}

/// An account that speaks for a validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisOperator {
    /// The operator's account (`chimera1…`).
    pub operator: String,
    /// The validator's consensus address, upper-case hex as CometBFT prints it.
    pub validator: String,
}

impl GenesisModel {
    /// The registry entry of a manifest.
    pub fn from_manifest(m: &Manifest) -> GenesisModel {
        let rule = match m.sketch.rule {
            crate::executor::sketch::SketchRule::Classify => "classify",
            crate::executor::sketch::SketchRule::Embedding => "embedding",
            crate::executor::sketch::SketchRule::Image => "image",
            crate::executor::sketch::SketchRule::Tokens => "tokens",
        };
        GenesisModel {
            id: m.id.clone(),
            sha256: m.sha256.clone(),
            task: format!("{:?}", m.task).to_lowercase(),
            sketch: GenesisSketch {
                rule: rule.into(),
                levels: m.sketch.levels,
                tolerance: m.sketch.tolerance,
                thumb: m.sketch.thumb,
            },
        }
    }
}

impl InferenceGenesis {
    /// Writes the module's genesis state.
    pub fn apply(&self, state: &mut Delta) -> Result<(), String> {
        self.params
            .validate()
            .map_err(|e| format!("inference.params: {e}"))?;
        self.params.store(state);
        for m in &self.models {
            chimera_packets::packet::validate_model_id(&m.id)
                .map_err(|e| format!("inference.models: {e}"))?;
            let sha = hex::decode(&m.sha256)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or_else(|| format!("inference.models[{}].sha256 is not 32 bytes of hex", m.id))?;
            let sketch = proto::SketchSpec {
                rule: m.sketch.rule.clone(),
                levels: m.sketch.levels,
                tolerance: m.sketch.tolerance,
                thumb: m.sketch.thumb,
            };
            let spec = super::tally::sketch_spec(&sketch).ok_or_else(|| {
                format!(
                    "inference.models[{}].sketch.rule {:?} is unknown",
                    m.id, m.sketch.rule
                )
            })?;
            spec.validate()
                .map_err(|e| format!("inference.models[{}]: {e}", m.id))?;
            store::put_model(
                state,
                &proto::Model {
                    id: m.id.clone(),
                    sha256: sha,
                    task: m.task.clone(),
                    max_input_bytes: self.params.max_inline_input_bytes,
                    sketch: Some(sketch),
                },
            );
        }
        for o in &self.operators {
            let operator = Address::parse(&o.operator).map_err(|e| format!("inference.operators: {e}"))?;
            let validator = hex::decode(&o.validator)
                .ok()
                .filter(|b| b.len() == 20)
                .ok_or_else(|| {
                    format!(
                        "inference.operators: validator {:?} is not 20 bytes of hex",
                        o.validator
                    )
                })?;
            store::put_operator(state, operator.as_bytes(), &validator);
        }
        for k in &self.executor_keys {
            let validator = hex::decode(&k.validator)
                .ok()
                .filter(|b| b.len() == 20)
                .ok_or_else(|| {
                    format!(
                        "inference.executor_keys: validator {:?} is not 20 bytes of hex",
                        k.validator
                    )
                })?;
            let key: [u8; 32] = hex::decode(&k.key)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("inference.executor_keys: key {:?} is not 32 bytes of hex", k.key))?;
            crate::chain::gas::unmetered(state, 0, |ctx| store::put_executor_key(ctx, &validator, &key))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
