//! CometBFT's side of a node home: running its one-shot commands and
//! patching the files `cometbft init` generates.
//!
//! `chimerad` never writes CometBFT's config or genesis from scratch: it
//! lets the installed `cometbft` write them, then changes only what a
//! Chimera node needs (listen addresses, the app socket, block time, peers,
//! the chain id, vote extensions from height 1 and the app's genesis
//! state). A CometBFT upgrade thus keeps its own defaults for everything
//! else, and a renamed key fails loudly (see `toml_lines`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::toml_lines::{self, Edit};
use super::Ports;

/// The CometBFT version line `chimerad` is built for.
///
/// Why: ABCI 2.0 (vote extensions, FinalizeBlock) is CometBFT 0.38's; older
/// engines cannot drive the app, so `init` refuses them up front.
pub const SUPPORTED_VERSION_PREFIX: &str = "0.38.";

/// Voting power of each genesis validator `testnet` lists.
///
/// Why: equal powers, so any 3 of 4 validators are a 2/3+ quorum.
pub const TESTNET_POWER: u64 = 10;

/// Finds `binary`: a path with a `/` is taken as is, a bare name is looked
/// up on `PATH`.
///
/// Why: a missing CometBFT must fail with the fix (install it), not with
/// "No such file or directory" from deep inside `init`.
pub fn find_binary(binary: &Path) -> Result<PathBuf> {
    let is_exec = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if binary.components().count() > 1 || binary.is_absolute() {
        if is_exec(binary) {
            return Ok(binary.to_path_buf());
        }
        bail!("CometBFT binary {} is not an executable file", binary.display());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join(binary);
            if is_exec(&c) {
                return Ok(c);
            }
        }
    }
    bail!(
        "`{}` (CometBFT 0.38) is not on PATH: run `scripts/setup` and `source scripts/env.sh`, \
         or pass --cometbft /path/to/cometbft",
        binary.display()
    )
}

/// Runs `binary args...` to completion and returns its stdout; a non-zero
/// exit is an error carrying the command line and its output.
fn run(binary: &Path, args: &[&str]) -> Result<String> {
    let line = format!("{} {}", binary.display(), args.join(" "));
    let out = Command::new(binary)
        .args(args)
        .output()
        .with_context(|| format!("running `{line}`"))?;
    if !out.status.success() {
        bail!(
            "`{line}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `cometbft version`, checked to be 0.38.x.
///
/// Why: see [`SUPPORTED_VERSION_PREFIX`].
pub fn check_version(binary: &Path) -> Result<String> {
    let v = run(binary, &["version"])?.trim().to_string();
    if !v.starts_with(SUPPORTED_VERSION_PREFIX) {
        bail!(
            "{} is CometBFT {v}; chimerad needs {SUPPORTED_VERSION_PREFIX}x (ABCI 2.0)",
            binary.display()
        );
    }
    Ok(v)
}

/// `cometbft init --home cmt_home`: node key, validator key, genesis,
/// default config.
pub fn init(binary: &Path, cmt_home: &Path) -> Result<()> {
    run(binary, &["init", "--home", &path_str(cmt_home)?]).map(|_| ())
}

/// The node's P2P id (`cometbft show-node-id`), for `persistent_peers`.
pub fn node_id(binary: &Path, cmt_home: &Path) -> Result<String> {
    let id = run(binary, &["show-node-id", "--home", &path_str(cmt_home)?])?
        .trim()
        .to_string();
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`cometbft show-node-id` printed {id:?}, not a 40-hex-digit node id");
    }
    Ok(id)
}

fn path_str(p: &Path) -> Result<String> {
    p.to_str()
        .map(str::to_string)
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}

/// What `chimerad` sets in CometBFT's `config.toml`.
///
/// Why: the complete list of deviations from CometBFT's defaults, in one
/// place.
#[derive(Debug, Clone)]
pub struct ConfigPatch<'a> {
    /// The node's moniker.
    pub moniker: &'a str,
    /// Its ports (P2P, RPC and the app's ABCI port).
    pub ports: Ports,
    /// `[consensus] timeout_commit`, a Go duration such as `"1s"`.
    pub timeout_commit: &'a str,
    /// `proxy_app`: where the app's ABCI server listens
    /// (`NodeConfig::proxy_app`).
    pub proxy_app: &'a str,
}

/// Applies `patch` to `cmt_home/config/config.toml`.
///
/// Why: the app socket, loopback listeners, block time, a kv tx index (for
/// `/tx` and `/tx_search`, which relayers use) and P2P settings that let
/// several nodes share 127.0.0.1.
pub fn patch_config(cmt_home: &Path, patch: &ConfigPatch<'_>) -> Result<()> {
    let lo = "127.0.0.1";
    let p = patch.ports;
    toml_lines::edit_file(
        &cmt_home.join("config/config.toml"),
        &[
            Edit::string("", "moniker", patch.moniker),
            Edit::string("", "proxy_app", patch.proxy_app),
            Edit::string("", "abci", "socket"),
            Edit::string("rpc", "laddr", &format!("tcp://{lo}:{}", p.rpc)),
            Edit::string("rpc", "pprof_laddr", ""),
            Edit::string("p2p", "laddr", &format!("tcp://{lo}:{}", p.p2p)),
            Edit::literal("p2p", "allow_duplicate_ip", "true"),
            Edit::literal("p2p", "addr_book_strict", "false"),
            Edit::string("consensus", "timeout_commit", patch.timeout_commit),
            Edit::string("tx_index", "indexer", "kv"),
            Edit::literal("instrumentation", "prometheus", "false"),
        ],
    )
}

/// Sets `[p2p] persistent_peers` (`id@host:port,...`).
pub fn set_persistent_peers(cmt_home: &Path, peers: &str) -> Result<()> {
    toml_lines::edit_file(
        &cmt_home.join("config/config.toml"),
        &[Edit::string("p2p", "persistent_peers", peers)],
    )
}

/// Reads `cmt_home/config/genesis.json`.
pub fn read_genesis(cmt_home: &Path) -> Result<Value> {
    let path = cmt_home.join("config/genesis.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// Writes `genesis` to `cmt_home/config/genesis.json` (pretty, as CometBFT
/// writes it).
pub fn write_genesis(cmt_home: &Path, genesis: &Value) -> Result<()> {
    let path = cmt_home.join("config/genesis.json");
    let mut text = serde_json::to_string_pretty(genesis)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// Sets the chain id, initial height 1, vote extensions from height 1 and
/// the app's genesis state in a CometBFT genesis document.
///
/// Why: vote extensions will carry inference results, and CometBFT cannot
/// enable them retroactively for heights already decided; the app's
/// InitChain accepts initial height 1 only.
pub fn patch_genesis(genesis: &mut Value, chain_id: &str, app_state: Value) -> Result<()> {
    let obj = genesis
        .as_object_mut()
        .context("genesis.json is not a JSON object")?;
    obj.insert("chain_id".into(), json!(chain_id));
    obj.insert("initial_height".into(), json!("1"));
    obj.insert("app_state".into(), app_state);
    let abci = genesis
        .pointer_mut("/consensus_params/abci")
        .and_then(Value::as_object_mut)
        .context("genesis.json has no consensus_params.abci (not CometBFT 0.38?)")?;
    abci.insert("vote_extensions_enable_height".into(), json!("1"));
    Ok(())
}

/// The genesis validator entry for the key in
/// `cmt_home/config/priv_validator_key.json`, with `power` and `name`.
///
/// Why: `testnet` lists every node's validator in one shared genesis; the
/// public half is all it needs.
pub fn genesis_validator(cmt_home: &Path, power: u64, name: &str) -> Result<Value> {
    let path = cmt_home.join("config/priv_validator_key.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let key: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let address = key.get("address").and_then(Value::as_str);
    let pub_key = key
        .get("pub_key")
        .filter(|v| v.get("type").is_some() && v.get("value").is_some());
    match (address, pub_key) {
        (Some(address), Some(pub_key)) => Ok(json!({
            "address": address,
            "pub_key": pub_key,
            "power": power.to_string(),
            "name": name,
        })),
        _ => bail!("{}: no address or pub_key", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_patch_sets_chain_vote_extensions_and_app_state() {
        let mut g = json!({
            "chain_id": "test-chain-x",
            "initial_height": "0",
            "consensus_params": {"abci": {"vote_extensions_enable_height": "0"}},
            "app_hash": ""
        });
        patch_genesis(&mut g, "chimera-1", json!({"accounts": []})).unwrap();
        assert_eq!(g["chain_id"], "chimera-1");
        assert_eq!(g["initial_height"], "1");
        assert_eq!(
            g["consensus_params"]["abci"]["vote_extensions_enable_height"],
            "1"
        );
        assert_eq!(g["app_state"], json!({"accounts": []}));
        let mut old = json!({"consensus_params": {}});
        assert!(patch_genesis(&mut old, "c", json!({})).is_err());
    }

    #[test]
    fn missing_binary_names_the_fix() {
        let e = find_binary(Path::new("cometbft-no-such-binary")).unwrap_err();
        assert!(e.to_string().contains("scripts/setup"), "{e}");
        assert!(find_binary(Path::new("/no/such/cometbft")).is_err());
        assert!(find_binary(Path::new("sh")).is_ok());
    }
}
