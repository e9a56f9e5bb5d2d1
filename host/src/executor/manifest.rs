//! Model manifests: `[[model]]` tables of `host/models/registry.toml`
//! (schema in `host/models/README.md`). Pure parsing and checks.

use std::collections::BTreeMap;

use chimera_packets::DType;
use serde::Deserialize;

use super::sketch::{SketchRule, SketchSpec};

/// The registry file.
#[derive(Clone, Debug, Deserialize)]
pub struct RegistryFile {
    /// Every manifest, in file order.
    #[serde(default, rename = "model")]
    pub models: Vec<Manifest>,
}

/// What the executor does around a model's `forward`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Tensor in, logits out; the executor applies softmax.
    Classify,
    /// Text in, tokenized; a pooled, normalized vector out.
    Embed,
    /// Class prompt in; DDPM sampling loop in the executor; PNG out.
    Diffusion,
    /// Text prompt in; seeded sampling loop in the executor; text out.
    Generate,
}

/// Input encodings a manifest accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Tensor,
    Text,
}

/// Output encodings a manifest produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    Tensor,
    Png,
    Text,
}

/// `[model.input]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct InputSpec {
    pub encoding: InputKind,
    #[serde(default)]
    pub dtype: Option<String>,
    #[serde(default)]
    pub shape: Option<Vec<u32>>,
    /// Text: most UTF-8 bytes; tensor: exact size.
    pub max_bytes: u64,
}

/// `[model.output]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct OutputSpec {
    pub encoding: OutputKind,
    #[serde(default)]
    pub dtype: Option<String>,
    #[serde(default)]
    pub shape: Option<Vec<u32>>,
}

/// One `[[model]]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Manifest {
    pub id: String,
    /// TorchScript file, relative to the models directory (or to
    /// `$CHIMERA_CACHE/models/<sha256>/` when `export = true`).
    pub file: String,
    /// SHA-256 of that file, lowercase hex.
    pub sha256: String,
    pub task: Task,
    #[serde(default = "one")]
    pub batch_max: u32,
    #[serde(default)]
    pub batch_wait_ms: u64,
    /// The file is exported at set-up time into the cache, not committed.
    #[serde(default)]
    pub export: bool,
    pub input: InputSpec,
    pub output: OutputSpec,
    pub sketch: SketchSpec,
    /// Defaults of the request's `params.extra`; the keys it may carry.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Model-specific constants (numbers or strings).
    #[serde(default)]
    pub extra: BTreeMap<String, toml::Value>,
}

fn one() -> u32 {
    1
}

/// Most requests in one batch a manifest may ask for.
pub const MAX_BATCH: u32 = 1024;
/// Longest batching wait a manifest may ask for.
pub const MAX_BATCH_WAIT_MS: u64 = 1000;

impl Manifest {
    /// The pinned hash as bytes.
    pub fn sha256_bytes(&self) -> Option<[u8; 32]> {
        let v = hex::decode(&self.sha256).ok()?;
        v.try_into().ok()
    }

    /// The input tensor's dtype, for tensor inputs.
    pub fn input_dtype(&self) -> Option<DType> {
        self.input.dtype.as_deref().and_then(DType::from_name)
    }

    /// An `extra` constant as text (numbers print as TOML writes them).
    pub fn extra_str(&self, key: &str) -> Option<String> {
        match self.extra.get(key)? {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Float(f) => Some(f.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// An `extra` constant parsed as `T`.
    pub fn extra_parse<T: std::str::FromStr>(&self, key: &str) -> Result<T, String> {
        let s = self
            .extra_str(key)
            .ok_or_else(|| format!("model {}: extra.{key} is missing", self.id))?;
        s.parse()
            .map_err(|_| format!("model {}: extra.{key} = {s:?} does not parse", self.id))
    }

    /// Checks everything that does not need the file. A manifest that fails
    /// is refused (that model only).
    pub fn validate(&self) -> Result<(), String> {
        chimera_packets::packet::validate_model_id(&self.id).map_err(|e| e.to_string())?;
        if self.sha256_bytes().is_none() || self.sha256 != self.sha256.to_ascii_lowercase() {
            return Err(format!("sha256 {:?} is not 64 lowercase hex digits", self.sha256));
        }
        let f = std::path::Path::new(&self.file);
        if self.file.is_empty()
            || f.is_absolute()
            || f.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!("file {:?} must be a plain relative path", self.file));
        }
        if !(1..=MAX_BATCH).contains(&self.batch_max) {
            return Err(format!("batch_max {} is not in 1..={MAX_BATCH}", self.batch_max));
        }
        if self.batch_wait_ms > MAX_BATCH_WAIT_MS {
            return Err(format!(
                "batch_wait_ms {} is over {MAX_BATCH_WAIT_MS}",
                self.batch_wait_ms
            ));
        }
        if self.input.max_bytes == 0 || self.input.max_bytes > chimera_packets::limits::DEFAULT_MAX_BLOB_INPUT
        {
            return Err(format!(
                "input.max_bytes {} is out of range",
                self.input.max_bytes
            ));
        }
        self.sketch.validate()?;
        for k in self.params.keys() {
            let ok = !k.is_empty()
                && k.len() <= 64
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(format!("params key {k:?} is not [a-z0-9_]{{1,64}}"));
            }
        }
        if self.input.encoding == InputKind::Tensor {
            let dtype = self
                .input_dtype()
                .ok_or_else(|| format!("input.dtype {:?} is not a known dtype", self.input.dtype))?;
            let shape = self.input.shape.as_ref().ok_or("input.shape is missing")?;
            if shape.is_empty() || shape.len() > 8 || shape.contains(&0) {
                return Err(format!("input.shape {shape:?} must have rank 1..=8, dims >= 1"));
            }
            let bytes: u64 = shape.iter().map(|&d| d as u64).product::<u64>() * dtype.size();
            if bytes != self.input.max_bytes {
                return Err(format!(
                    "input.max_bytes {} is not the tensor's {bytes} bytes",
                    self.input.max_bytes
                ));
            }
        }
        let (want_in, want_out, want_rule) = match self.task {
            Task::Classify => (InputKind::Tensor, OutputKind::Tensor, SketchRule::Classify),
            Task::Embed => (InputKind::Text, OutputKind::Tensor, SketchRule::Embedding),
            Task::Diffusion => (InputKind::Text, OutputKind::Png, SketchRule::Image),
            Task::Generate => (InputKind::Text, OutputKind::Text, SketchRule::Tokens),
        };
        if self.input.encoding != want_in || self.output.encoding != want_out || self.sketch.rule != want_rule
        {
            return Err(format!(
                "task {:?} needs input {want_in:?}, output {want_out:?}, sketch rule {want_rule:?}",
                self.task
            ));
        }
        if self.output.encoding == OutputKind::Tensor && self.output.dtype.as_deref() != Some("f32") {
            return Err("output.dtype must be \"f32\"".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = r#"
[[model]]
id = "digits-cnn"
file = "digits-cnn.pt"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
task = "classify"
batch_max = 32
batch_wait_ms = 2

[model.input]
encoding = "tensor"
dtype = "f32"
shape = [1, 8, 8]
max_bytes = 256

[model.output]
encoding = "tensor"
dtype = "f32"
shape = [10]

[model.sketch]
rule = "classify"
levels = 256
tolerance = 1

[[model]]
id = "tiny-lm"
file = "tiny-lm.pt"
sha256 = "1111111111111111111111111111111111111111111111111111111111111111"
task = "generate"
export = true

[model.input]
encoding = "text"
max_bytes = 256

[model.output]
encoding = "text"

[model.sketch]
rule = "tokens"

[model.params]
temperature = "0.8"
top_k = "40"

[model.extra]
context = 128
prefix = "\n"
"#;

    #[test]
    fn parses_the_readme_schema() {
        let r: RegistryFile = toml::from_str(SAMPLE).unwrap();
        assert_eq!(r.models.len(), 2);
        let m = &r.models[0];
        assert_eq!(m.task, Task::Classify);
        assert_eq!(m.input_dtype(), Some(DType::F32));
        assert_eq!(m.validate(), Ok(()));
        let lm = &r.models[1];
        assert!(lm.export);
        assert_eq!(lm.batch_max, 1);
        assert_eq!(lm.extra_parse::<usize>("context"), Ok(128));
        assert_eq!(lm.extra_str("prefix").as_deref(), Some("\n"));
        assert!(lm.extra_parse::<usize>("nope").is_err());
        assert_eq!(lm.validate(), Ok(()));
    }

    #[test]
    fn refuses_bad_manifests() {
        let r: RegistryFile = toml::from_str(SAMPLE).unwrap();
        let base = r.models[0].clone();
        let bad = |f: &dyn Fn(&mut Manifest)| {
            let mut m = base.clone();
            f(&mut m);
            m.validate()
        };
        assert!(bad(&|m| m.sha256 = "xyz".into()).is_err());
        assert!(bad(&|m| m.sha256 = "A".repeat(64)).is_err());
        assert!(bad(&|m| m.file = "../etc/passwd".into()).is_err());
        assert!(bad(&|m| m.file = "/abs.pt".into()).is_err());
        assert!(bad(&|m| m.id = "Bad Id".into()).is_err());
        assert!(bad(&|m| m.batch_max = 0).is_err());
        assert!(bad(&|m| m.input.max_bytes = 255).is_err());
        assert!(bad(&|m| m.input.dtype = Some("f99".into())).is_err());
        assert!(bad(&|m| m.task = Task::Generate).is_err());
        assert!(bad(&|m| m.sketch.levels = 1).is_err());
        // An unknown sketch field is refused (its rule would be ignored).
        let unknown = SAMPLE.replace("tolerance = 1", "tolerance = 1\nwobble = 3");
        assert!(toml::from_str::<RegistryFile>(&unknown).is_err());
    }
}
