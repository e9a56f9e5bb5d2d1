//! Finding the real chain binaries that `scripts/setup` installs.
//!
//! The end-to-end suites run real `terrad`, `cometbft`, `simd` and Hermes,
//! built by `scripts/setup` into `$CHIMERA_BIN` (default
//! `~/.cache/chimera/bin`). A missing binary must fail the test with the fix
//! (run the set-up), never skip it: a suite that silently passes without its
//! peers proves nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A binary the set-up should have installed was not found.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{name}` was not found (looked in {searched}); run `scripts/setup` \
     (or `scripts/setup go-chains`) from the repository root to install it"
)]
pub struct BinaryMissing {
    /// The binary's name.
    pub name: String,
    /// Where the harness looked, for the message.
    pub searched: String,
}

/// The Chimera cache directory: `$CHIMERA_CACHE`, else `~/.cache/chimera`.
///
/// Why: the same default as `scripts/lib.sh`, so tests find what the set-up
/// installed without sourcing `scripts/env.sh`.
pub fn chimera_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("CHIMERA_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| OsString::from("/"));
    Path::new(&home).join(".cache/chimera")
}

/// The directory the set-up installs binaries into: `$CHIMERA_BIN`, else
/// `<cache>/bin`.
pub fn chimera_bin_dir() -> PathBuf {
    std::env::var_os("CHIMERA_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| chimera_cache().join("bin"))
}

/// Finds `name`: first `$CHIMERA_BIN/name`, then each directory on `PATH`.
///
/// Why: the set-up's pinned build wins over whatever else is installed.
pub fn find_binary(name: &str) -> Result<PathBuf, BinaryMissing> {
    let mut dirs = vec![chimera_bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    for dir in &dirs {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(BinaryMissing {
        name: name.to_string(),
        searched: format!("{} and PATH", chimera_bin_dir().display()),
    })
}

/// `LD_LIBRARY_PATH` with `<cache>/lib` (where the set-up puts `libwasmvm`)
/// in front, if that directory exists.
///
/// Why: `terrad` loads `libwasmvm` at start; this makes it run even when the
/// caller did not source `scripts/env.sh`.
pub fn library_path() -> Option<OsString> {
    let lib = chimera_cache().join("lib");
    let current = std::env::var_os("LD_LIBRARY_PATH");
    if !lib.is_dir() {
        return current;
    }
    let mut parts = vec![lib];
    if let Some(cur) = &current {
        parts.extend(std::env::split_paths(cur));
    }
    std::env::join_paths(parts).ok().or(current)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binary_names_the_fix() {
        let err = find_binary("chimera-e2e-no-such-binary").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("scripts/setup") && msg.contains("chimera-e2e-no-such-binary"),
            "{msg}"
        );
    }

    #[test]
    fn finds_binaries_on_path() {
        assert!(find_binary("sh").is_ok());
    }
}
