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
    /// What the model reads (`[model.input]`); absent in genesis files
    /// written before the registry carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<GenesisInput>,
}

/// A model's input (`[model.input]` of its manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisInput {
    /// `text` or `tensor`.
    pub encoding: String,
    /// Tensor element type, e.g. `f32` (tensors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// Tensor shape (tensors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<u32>>,
    /// Text: most UTF-8 bytes; tensor: its exact size.
    pub max_bytes: u64,
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

impl GenesisInput {
    /// The committed form, checked: a known encoding; a tensor names a
    /// dtype and a shape whose size is `max_bytes`.
    fn to_proto(&self) -> Result<proto::ModelInput, String> {
        let (dtype, shape) = (
            self.dtype.clone().unwrap_or_default(),
            self.shape.clone().unwrap_or_default(),
        );
        match self.encoding.as_str() {
            "text" => {}
            "tensor" => {
                let element = chimera_packets::DType::from_name(&dtype)
                    .ok_or_else(|| format!("dtype {dtype:?} is not a tensor dtype"))?
                    .size();
                let size = shape
                    .iter()
                    .try_fold(element, |n, &d| n.checked_mul(u64::from(d)));
                if shape.is_empty() || size != Some(self.max_bytes) {
                    return Err(format!(
                        "a {dtype} tensor of shape {shape:?} is not max_bytes {} bytes",
                        self.max_bytes
                    ));
                }
            }
            other => return Err(format!("encoding {other:?} is neither text nor tensor")),
        }
        Ok(proto::ModelInput {
            encoding: self.encoding.clone(),
            dtype,
            shape,
            max_bytes: self.max_bytes,
        })
    }
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
            input: Some(GenesisInput {
                encoding: match m.input.encoding {
                    crate::executor::manifest::InputKind::Text => "text",
                    crate::executor::manifest::InputKind::Tensor => "tensor",
                }
                .into(),
                dtype: m.input.dtype.clone(),
                shape: m.input.shape.clone(),
                max_bytes: m.input.max_bytes,
            }),
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
                    input: m
                        .input
                        .as_ref()
                        .map(GenesisInput::to_proto)
                        .transpose()
                        .map_err(|e| format!("inference.models[{}].input: {e}", m.id))?,
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

#[cfg(test)]
mod tests {
    use super::GenesisInput;

    fn input(encoding: &str, dtype: Option<&str>, shape: Option<Vec<u32>>, max_bytes: u64) -> GenesisInput {
        GenesisInput {
            encoding: encoding.into(),
            dtype: dtype.map(Into::into),
            shape,
            max_bytes,
        }
    }

    #[test]
    fn model_inputs_are_checked_before_they_are_committed() {
        let cnn = input("tensor", Some("f32"), Some(vec![1, 8, 8]), 256)
            .to_proto()
            .unwrap();
        assert_eq!(
            (cnn.dtype.as_str(), cnn.shape.as_slice(), cnn.max_bytes),
            ("f32", &[1, 8, 8][..], 256)
        );
        let text = input("text", None, None, 4096).to_proto().unwrap();
        assert_eq!((text.encoding.as_str(), text.shape.len()), ("text", 0));
        for (bad, why) in [
            (
                input("tensor", Some("f32"), Some(vec![1, 8, 8]), 255),
                "is not max_bytes 255",
            ),
            (
                input("tensor", Some("f99"), Some(vec![8]), 32),
                "not a tensor dtype",
            ),
            (input("tensor", Some("u8"), None, 0), "shape []"),
            (
                input("tensor", Some("u8"), Some(vec![u32::MAX, u32::MAX, u32::MAX]), 1),
                "is not max_bytes",
            ),
            (input("image", None, None, 1), "neither text nor tensor"),
        ] {
            let e = bad.to_proto().unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}
