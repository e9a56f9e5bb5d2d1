//! Strict, minimal edits of CometBFT's generated `config.toml`.
//!
//! `cometbft init` writes a long, commented config whose defaults belong to
//! CometBFT; `chimerad` changes a dozen values. Each edit replaces the value
//! of an existing `key = ...` line inside a named table, keeping comments and
//! layout, and fails if the key is missing: a key renamed by a new CometBFT
//! must break `init` loudly instead of leaving a default listening on
//! 0.0.0.0. (The same approach as `e2e/src/toml_config.rs`; the host cannot
//! depend on the test harness.)

use anyhow::{bail, Context, Result};
use std::path::Path;

/// One edit: in table `section` (`""` for top-level keys) set `key` to the
/// TOML literal `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    section: &'static str,
    key: &'static str,
    value: String,
}

impl Edit {
    /// A string value, quoted and escaped as TOML.
    pub fn string(section: &'static str, key: &'static str, value: &str) -> Edit {
        Edit {
            section,
            key,
            value: toml::Value::String(value.to_string()).to_string(),
        }
    }

    /// A raw TOML literal (`true`, `0`).
    pub fn literal(section: &'static str, key: &'static str, value: &str) -> Edit {
        Edit {
            section,
            key,
            value: value.to_string(),
        }
    }
}

/// Applies `edits` to `text`; `file` names the file in errors.
pub fn apply(text: &str, edits: &[Edit], file: &str) -> Result<String> {
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
            bail!(
                "{file}: no key `{}` in table [{}] to edit (CometBFT config format changed?)",
                edit.key,
                edit.section
            );
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    // The result must still be TOML: a bad literal must not reach CometBFT.
    toml::from_str::<toml::Table>(&out)
        .with_context(|| format!("{file}: edited config is not valid TOML"))?;
    Ok(out)
}

/// Applies `edits` to the file at `path` in place.
pub fn edit_file(path: &Path, edits: &[Edit]) -> Result<()> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {file}"))?;
    let new = apply(&text, edits, &file)?;
    std::fs::write(path, new).with_context(|| format!("writing {file}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# top\nproxy_app = \"tcp://127.0.0.1:26658\"\n\n[rpc]\n# laddr = \"x\"\nladdr = \"tcp://0.0.0.0:26657\"\n\n[p2p]\nladdr = \"tcp://0.0.0.0:26656\"\naddr_book_strict = true\n";

    #[test]
    fn edits_the_key_in_its_own_table() {
        let out = apply(
            SAMPLE,
            &[
                Edit::string("p2p", "laddr", "tcp://127.0.0.1:1"),
                Edit::string("", "proxy_app", "tcp://127.0.0.1:2"),
                Edit::literal("p2p", "addr_book_strict", "false"),
            ],
            "t",
        )
        .unwrap();
        assert!(out.contains("[rpc]\n# laddr = \"x\"\nladdr = \"tcp://0.0.0.0:26657\""));
        assert!(out.contains("[p2p]\nladdr = \"tcp://127.0.0.1:1\"\naddr_book_strict = false"));
        assert!(out.contains("proxy_app = \"tcp://127.0.0.1:2\""));
    }

    #[test]
    fn missing_key_and_bad_literal_are_errors() {
        let err = apply(SAMPLE, &[Edit::literal("rpc", "nope", "1")], "config.toml").unwrap_err();
        assert!(err.to_string().contains("no key `nope` in table [rpc]"), "{err}");
        let err = apply(SAMPLE, &[Edit::literal("rpc", "laddr", "not toml")], "c").unwrap_err();
        assert!(err.to_string().contains("not valid TOML"), "{err}");
    }

    #[test]
    fn strings_are_escaped() {
        let out = apply(SAMPLE, &[Edit::string("", "proxy_app", "a\"b\\c")], "t").unwrap();
        let t: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(t["proxy_app"].as_str(), Some("a\"b\\c"));
    }
}
