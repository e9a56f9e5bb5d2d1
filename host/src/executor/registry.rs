//! The registry: every manifest of `registry.toml`, where its files are, and
//! whether they match their pinned SHA-256. A model whose file is missing or
//! differs is refused (that model only); the rest are served.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, RegistryFile};

/// Where the models are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelsDirs {
    /// `registry.toml` and the committed model files (default `host/models`).
    pub dir: PathBuf,
    /// Exported files (`export = true`): `<cache>/<sha256>/<file>`
    /// (default `$CHIMERA_CACHE/models`, `$CHIMERA_CACHE` defaulting to
    /// `~/.cache/chimera`).
    pub cache: PathBuf,
}

impl ModelsDirs {
    /// `dir` from the `--models-dir` flag / `CHIMERA_MODELS_DIR` when given,
    /// else the source tree's `host/models`; the cache from `CHIMERA_CACHE`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        let dir = dir.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
        let cache_root = std::env::var_os("CHIMERA_CACHE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
                home.join(".cache").join("chimera")
            });
        ModelsDirs {
            dir,
            cache: cache_root.join("models"),
        }
    }

    /// `<dir>/registry.toml`.
    pub fn registry_path(&self) -> PathBuf {
        self.dir.join("registry.toml")
    }

    /// The directory a manifest's files live in.
    pub fn model_dir(&self, m: &Manifest) -> PathBuf {
        if m.export {
            self.cache.join(&m.sha256)
        } else {
            self.dir.clone()
        }
    }
}

/// Whether a model may be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelStatus {
    /// Every file is present and matches its hash.
    Ok,
    /// A file is not there.
    Missing { path: PathBuf },
    /// A file's SHA-256 is not the pinned one.
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// The manifest breaks a rule, a file cannot be read, or the model
    /// failed to load.
    Invalid(String),
}

impl ModelStatus {
    /// True for `Ok`.
    pub fn is_ok(&self) -> bool {
        matches!(self, ModelStatus::Ok)
    }

    /// One word: `ok`, `missing`, `hash-mismatch`, `invalid`.
    pub fn label(&self) -> &'static str {
        match self {
            ModelStatus::Ok => "ok",
            ModelStatus::Missing { .. } => "missing",
            ModelStatus::HashMismatch { .. } => "hash-mismatch",
            ModelStatus::Invalid(_) => "invalid",
        }
    }
}

impl fmt::Display for ModelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelStatus::Ok => write!(f, "ok"),
            ModelStatus::Missing { path } => write!(f, "missing: {} is not there", path.display()),
            ModelStatus::HashMismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "hash mismatch: {} has sha256 {actual}, the registry pins {expected}",
                path.display()
            ),
            ModelStatus::Invalid(why) => write!(f, "invalid: {why}"),
        }
    }
}

/// One manifest and its state.
#[derive(Clone, Debug)]
pub struct RegistryEntry {
    pub manifest: Manifest,
    /// The TorchScript file.
    pub path: PathBuf,
    pub status: ModelStatus,
    /// Auxiliary files by `extra` key (e.g. `tokenizer`), for every
    /// `extra.<key>` with a pinned `extra.<key>_sha256`.
    pub aux: BTreeMap<String, PathBuf>,
}

impl RegistryEntry {
    /// The auxiliary file named by `extra.<key>`.
    pub fn aux_path(&self, key: &str) -> Option<&Path> {
        self.aux.get(key).map(PathBuf::as_path)
    }
}

/// Why the registry file itself cannot be used (no model is served).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid registry: {reason}")]
    Parse { path: PathBuf, reason: String },
}

/// The loaded and verified registry.
#[derive(Clone, Debug)]
pub struct Registry {
    pub dirs: ModelsDirs,
    pub entries: Vec<RegistryEntry>,
}

impl Registry {
    /// Reads `registry.toml` and checks every model's files (hashing each).
    pub fn open(dirs: ModelsDirs) -> Result<Registry, RegistryError> {
        let path = dirs.registry_path();
        let text = std::fs::read_to_string(&path).map_err(|source| RegistryError::Read {
            path: path.clone(),
            source,
        })?;
        Self::from_toml(dirs, &text).map_err(|reason| RegistryError::Parse { path, reason })
    }

    /// `open` on registry text already read.
    pub fn from_toml(dirs: ModelsDirs, text: &str) -> Result<Registry, String> {
        let file: RegistryFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries: Vec<RegistryEntry> = Vec::with_capacity(file.models.len());
        for manifest in file.models {
            let path = dirs.model_dir(&manifest).join(&manifest.file);
            let mut aux = BTreeMap::new();
            let status = if entries.iter().any(|e| e.manifest.id == manifest.id) {
                ModelStatus::Invalid(format!("model id {:?} appears twice", manifest.id))
            } else {
                match manifest.validate() {
                    Err(why) => ModelStatus::Invalid(why),
                    Ok(()) => verify_files(&dirs, &manifest, &path, &mut aux),
                }
            };
            entries.push(RegistryEntry {
                manifest,
                path,
                status,
                aux,
            });
        }
        Ok(Registry { dirs, entries })
    }

    /// The entry of a model id.
    pub fn get(&self, id: &str) -> Option<&RegistryEntry> {
        self.entries.iter().find(|e| e.manifest.id == id)
    }

    /// True when every model verified.
    pub fn all_ok(&self) -> bool {
        self.entries.iter().all(|e| e.status.is_ok())
    }
}

/// Checks the model file, then every auxiliary file `extra.<k>` that has a
/// pinned `extra.<k>_sha256`: in the models directory (committed, as the
/// tokenizer is), else next to the model file.
fn verify_files(
    dirs: &ModelsDirs,
    m: &Manifest,
    path: &Path,
    aux: &mut BTreeMap<String, PathBuf>,
) -> ModelStatus {
    let status = verify_one(path, &m.sha256);
    if !status.is_ok() {
        return status;
    }
    for (key, _) in m.extra.iter() {
        let Some(name) = key.strip_suffix("_sha256") else {
            continue;
        };
        let (Some(file), Some(hash)) = (m.extra_str(name), m.extra_str(key)) else {
            return ModelStatus::Invalid(format!("extra.{key} pins a hash but extra.{name} names no file"));
        };
        if hash.len() != 64 || hex::decode(&hash).is_err() {
            return ModelStatus::Invalid(format!("extra.{key} is not 64 hex digits"));
        }
        let p = Path::new(&file);
        if p.is_absolute()
            || p.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return ModelStatus::Invalid(format!("extra.{name} {file:?} must be a plain relative path"));
        }
        let committed = dirs.dir.join(p);
        let aux_path = if committed.is_file() {
            committed
        } else {
            dirs.model_dir(m).join(p)
        };
        let status = verify_one(&aux_path, &hash);
        if !status.is_ok() {
            return status;
        }
        aux.insert(name.to_string(), aux_path);
    }
    ModelStatus::Ok
}

fn verify_one(path: &Path, expected: &str) -> ModelStatus {
    match sha256_file(path) {
        Ok(actual) if actual == expected => ModelStatus::Ok,
        Ok(actual) => ModelStatus::HashMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ModelStatus::Missing {
            path: path.to_path_buf(),
        },
        Err(e) => ModelStatus::Invalid(format!("cannot read {}: {e}", path.display())),
    }
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_toml(id: &str, file: &str, sha: &str, export: bool) -> String {
        format!(
            r#"
[[model]]
id = "{id}"
file = "{file}"
sha256 = "{sha}"
task = "classify"
export = {export}
[model.input]
encoding = "tensor"
dtype = "f32"
shape = [2]
max_bytes = 8
[model.output]
encoding = "tensor"
dtype = "f32"
shape = [2]
[model.sketch]
rule = "classify"
"#
        )
    }

    #[test]
    fn statuses_ok_missing_mismatch_invalid() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = ModelsDirs {
            dir: tmp.path().join("models"),
            cache: tmp.path().join("cache"),
        };
        std::fs::create_dir_all(&dirs.dir).unwrap();
        std::fs::write(dirs.dir.join("good.pt"), b"good").unwrap();
        std::fs::write(dirs.dir.join("bad.pt"), b"tampered").unwrap();
        let good = hex::encode(Sha256::digest(b"good"));
        let exported = hex::encode(Sha256::digest(b"exported"));
        std::fs::create_dir_all(dirs.cache.join(&exported)).unwrap();
        std::fs::write(dirs.cache.join(&exported).join("exp.pt"), b"exported").unwrap();
        let text = [
            manifest_toml("good", "good.pt", &good, false),
            manifest_toml("bad", "bad.pt", &good, false),
            manifest_toml("gone", "gone.pt", &good, false),
            manifest_toml("exp", "exp.pt", &exported, true),
            manifest_toml("good", "good.pt", &good, false),
            manifest_toml("Weird", "good.pt", &good, false),
        ]
        .concat();
        std::fs::write(dirs.registry_path(), text).unwrap();
        let reg = Registry::open(dirs).unwrap();
        let labels: Vec<_> = reg.entries.iter().map(|e| e.status.label()).collect();
        assert_eq!(
            labels,
            ["ok", "hash-mismatch", "missing", "ok", "invalid", "invalid"]
        );
        assert!(!reg.all_ok());
        assert!(reg.get("good").unwrap().status.is_ok());
        let msg = reg.get("bad").unwrap().status.to_string();
        assert!(msg.contains("hash mismatch") && msg.contains(&good), "{msg}");
    }

    #[test]
    fn unreadable_registry_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = ModelsDirs {
            dir: tmp.path().to_path_buf(),
            cache: tmp.path().to_path_buf(),
        };
        assert!(matches!(
            Registry::open(dirs.clone()),
            Err(RegistryError::Read { .. })
        ));
        std::fs::write(dirs.registry_path(), "[[model]]\nid = 3").unwrap();
        assert!(matches!(Registry::open(dirs), Err(RegistryError::Parse { .. })));
    }
}
