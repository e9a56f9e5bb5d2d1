//! Strict, minimal edits of generated TOML config files.
//!
//! Chain binaries write `config.toml`, `app.toml` and `client.toml` on init;
//! the harness changes a few values (listen addresses, timeouts, gas prices).
//! Each edit replaces the value of an existing `key = ...` line inside a
//! named table, keeping comments and layout, and fails if the key is not
//! there: a renamed key in a new binary version must break the harness
//! loudly, not leave a default listening on 0.0.0.0.

use std::path::Path;

/// One edit: in table `section` (`""` for top-level keys), set `key` to the
/// TOML literal `value` (already quoted if a string, e.g. `"\"500ms\""`).
///
/// Why: a list of these documents exactly what the harness changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlEdit {
    /// The table name without brackets, or `""` for the top level.
    pub section: String,
    /// The key.
    pub key: String,
    /// The new value as a TOML literal.
    pub value: String,
}

impl TomlEdit {
    /// A string-valued edit (quotes and escapes `value`).
    pub fn string(section: &str, key: &str, value: &str) -> Self {
        Self::literal(section, key, &format!("{value:?}"))
    }

    /// An edit with a raw TOML literal (`true`, `0`, `"x"`).
    pub fn literal(section: &str, key: &str, value: &str) -> Self {
        Self {
            section: section.into(),
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A key the edit expected was not in the file.
#[derive(Debug, thiserror::Error)]
pub enum TomlEditError {
    /// The key is missing from its table.
    #[error("{file}: no key `{key}` in table [{section}] to edit (config format changed?)")]
    MissingKey {
        /// The file.
        file: String,
        /// The table.
        section: String,
        /// The key.
        key: String,
    },
    /// Reading or writing the file failed.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Applies `edits` to `text` and returns the new text.
///
/// Why: pure core of [`edit_file`], tested without files.
pub fn apply(text: &str, edits: &[TomlEdit], file: &str) -> Result<String, TomlEditError> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for edit in edits {
        let mut section = String::new();
        let mut done = false;
        for line in lines.iter_mut() {
            let t = line.trim();
            if t.starts_with('[') && !t.starts_with("[[") {
                section = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
                continue;
            }
            if section != edit.section || t.starts_with('#') {
                continue;
            }
            let Some((k, _)) = t.split_once('=') else {
                continue;
            };
            if k.trim().trim_matches('"') == edit.key {
                *line = format!("{} = {}", edit.key, edit.value);
                done = true;
                break;
            }
        }
        if !done {
            return Err(TomlEditError::MissingKey {
                file: file.to_string(),
                section: edit.section.clone(),
                key: edit.key.clone(),
            });
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

/// Applies `edits` to the file at `path` in place.
///
/// Why: the harness's only way of changing a node's generated config.
pub fn edit_file(path: &Path, edits: &[TomlEdit]) -> Result<(), TomlEditError> {
    let file = path.display().to_string();
    let io = |source| TomlEditError::Io {
        file: file.clone(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let new = apply(&text, edits, &file)?;
    std::fs::write(path, new).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# top\nproxy_app = \"tcp://127.0.0.1:26658\"\n\n[rpc]\n# laddr = \"x\"\nladdr = \"tcp://0.0.0.0:26657\"\n\n[p2p]\nladdr = \"tcp://0.0.0.0:26656\"\n";

    #[test]
    fn edits_the_key_in_its_own_table() {
        let out = apply(
            SAMPLE,
            &[
                TomlEdit::string("p2p", "laddr", "tcp://127.0.0.1:1"),
                TomlEdit::string("", "proxy_app", "tcp://127.0.0.1:2"),
            ],
            "t",
        )
        .unwrap();
        assert!(out.contains("[rpc]\n# laddr = \"x\"\nladdr = \"tcp://0.0.0.0:26657\""));
        assert!(out.contains("[p2p]\nladdr = \"tcp://127.0.0.1:1\""));
        assert!(out.contains("proxy_app = \"tcp://127.0.0.1:2\""));
    }

    #[test]
    fn missing_key_is_an_error() {
        let err = apply(SAMPLE, &[TomlEdit::literal("rpc", "nope", "1")], "config.toml").unwrap_err();
        assert!(err.to_string().contains("no key `nope` in table [rpc]"));
    }
}
