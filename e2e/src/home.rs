//! Home directories for localnet nodes.
//!
//! Each node needs its own directory for config, keys, data and its log. By
//! default it is a fresh temporary directory, removed when the node is
//! dropped, unless the test is failing or `CHIMERA_E2E_KEEP=1` is set: then
//! it stays and its path is printed, so the config, genesis and log can be
//! inspected. A directory given explicitly must be new or empty: reusing one
//! that already holds a node would make the chain binary fail in confusing
//! ways (`genesis.json file already exists`, duplicate keys, old state).

use std::path::{Path, PathBuf};

/// Environment variable that keeps every home directory after the run.
///
/// Why: to look at a passing run's config and logs too.
pub const KEEP_ENV: &str = "CHIMERA_E2E_KEEP";

/// Files whose presence means a directory already holds an initialised node.
///
/// Why: named in the stale-home error so the user sees what was found.
pub const NODE_MARKERS: &[&str] = &["config/genesis.json", "config/config.toml", "data"];

/// Why a home directory could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// The explicitly given directory already holds a node.
    #[error(
        "home directory {} already holds an initialised node (found {marker}); \
         the harness only initialises fresh homes: remove it, or pass a new or empty directory",
        path.display()
    )]
    Stale {
        /// The directory.
        path: PathBuf,
        /// The first [`NODE_MARKERS`] entry found in it.
        marker: String,
    },
    /// The explicitly given directory is not empty (but holds no node).
    #[error(
        "home directory {} is not empty; pass a new or empty directory",
        path.display()
    )]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// Creating or reading the directory failed.
    #[error("home directory {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A node's home directory: temporary (removed on a passing drop) or
/// explicit (always kept).
///
/// Why: one place decides cleanup, so failing runs always leave their
/// evidence behind and passing runs leave nothing.
#[derive(Debug)]
pub struct NodeHome {
    path: PathBuf,
    temp: Option<tempfile::TempDir>,
}

impl NodeHome {
    /// A new temporary directory named `chimera-e2e-<label>-XXXX` in the
    /// system temp dir.
    ///
    /// Why: the default for tests, isolated from every other node.
    pub fn fresh(label: &str) -> Result<Self, HomeError> {
        let temp = tempfile::Builder::new()
            .prefix(&format!("chimera-e2e-{label}-"))
            .tempdir()
            .map_err(|source| HomeError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(Self {
            path: temp.path().to_path_buf(),
            temp: Some(temp),
        })
    }

    /// Uses `path`, which must not exist yet or be an empty directory; it is
    /// created if missing and never removed by the harness.
    ///
    /// Why: for `--home` on the command line and for tests that need a known
    /// place; refusing a used directory turns a confusing chain-binary error
    /// into [`HomeError::Stale`].
    pub fn explicit(path: impl Into<PathBuf>) -> Result<Self, HomeError> {
        let path = path.into();
        let io = |source| HomeError::Io {
            path: path.clone(),
            source,
        };
        if path.exists() {
            if let Some(marker) = NODE_MARKERS.iter().find(|m| path.join(m).exists()) {
                return Err(HomeError::Stale {
                    path,
                    marker: (*marker).to_string(),
                });
            }
            if std::fs::read_dir(&path).map_err(io)?.next().is_some() {
                return Err(HomeError::NotEmpty { path });
            }
        } else {
            std::fs::create_dir_all(&path).map_err(io)?;
        }
        let path = path.canonicalize().map_err(io)?;
        Ok(Self { path, temp: None })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the directory will be removed on drop (temporary, not kept).
    pub fn is_temporary(&self) -> bool {
        self.temp.is_some()
    }

    /// Keeps the directory after drop and returns its path.
    ///
    /// Why: a binary that leaves a localnet's files for the user, or a test
    /// that wants its evidence regardless of outcome.
    pub fn keep(&mut self) -> &Path {
        if let Some(t) = self.temp.take() {
            let _ = t.keep();
        }
        &self.path
    }
}

impl Drop for NodeHome {
    fn drop(&mut self) {
        let keep_env = std::env::var(KEEP_ENV).is_ok_and(|v| !v.is_empty() && v != "0");
        if self.temp.is_some() && (keep_env || std::thread::panicking()) {
            self.keep();
            eprintln!(
                "chimera-e2e: kept node home {} ({})",
                self.path.display(),
                if keep_env { KEEP_ENV } else { "test failed" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_is_removed_on_drop() {
        let home = NodeHome::fresh("unit").unwrap();
        let p = home.path().to_path_buf();
        assert!(p.is_dir() && home.is_temporary());
        if std::env::var(KEEP_ENV).is_err() {
            drop(home);
            assert!(!p.exists());
        }
    }

    #[test]
    fn explicit_rejects_stale_and_non_empty() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        let h = NodeHome::explicit(&new).unwrap();
        assert!(!h.is_temporary());
        drop(h);
        assert!(new.is_dir(), "explicit homes are never removed");

        std::fs::create_dir_all(new.join("config")).unwrap();
        std::fs::write(new.join("config/genesis.json"), "{}").unwrap();
        let err = NodeHome::explicit(&new).unwrap_err();
        assert!(matches!(err, HomeError::Stale { ref marker, .. } if marker == "config/genesis.json"));
        assert!(err.to_string().contains("already holds an initialised node"));

        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "x").unwrap();
        assert!(matches!(
            NodeHome::explicit(&other),
            Err(HomeError::NotEmpty { .. })
        ));
    }
}
