//! `chimerad init`: a new node home with CometBFT's keys and config, a
//! genesis for a new chain, and `chimerad.toml`.
//!
//! The result starts as a single-validator chain with `chimerad start`;
//! `chimerad testnet` builds on it for several validators sharing one
//! genesis.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::cometbft::{self, ConfigPatch};
use super::config::{NodeConfig, CONFIG_FILE};
use super::{NodeError, NodeResult, Ports};
use crate::chain::address::Address;
use crate::chain::bank;
use crate::chain::genesis::{AppGenesis, GenesisAccount, GenesisCoin};
use crate::chain::params::Params;
use crate::inference::genesis::GenesisExecutorKey;

/// CometBFT's limit on chain id length (`MaxChainIDLen`).
pub const MAX_CHAIN_ID_LEN: usize = 50;

/// The default `[consensus] timeout_commit`.
///
/// Why: one-second blocks keep localnets and tests quick while leaving
/// validators on one machine time to gossip.
pub const DEFAULT_TIMEOUT_COMMIT: &str = "1s";

/// Everything `init` needs.
///
/// Why: shared by the `init` subcommand and by `testnet`, which calls
/// [`init`] once per node.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The node home to create.
    pub home: PathBuf,
    /// The chain id.
    pub chain_id: String,
    /// The node's moniker.
    pub moniker: String,
    /// Accounts funded at genesis.
    pub accounts: Vec<GenesisAccount>,
    /// Listen ports.
    pub ports: Ports,
    /// `[consensus] timeout_commit` (Go duration).
    pub timeout_commit: String,
    /// The `cometbft` binary (bare name: looked up on `PATH`).
    pub cometbft: PathBuf,
    /// Replace an existing node in `home`.
    pub overwrite: bool,
    /// The validator's operator account (`inference.operators`).
    pub operator: Option<String>,
}

/// What `init` created, for the summary it prints and for `testnet`.
#[derive(Debug, Clone)]
pub struct InitReport {
    /// The home directory.
    pub home: PathBuf,
    /// CometBFT's home inside it.
    pub cometbft_home: PathBuf,
    /// The node's P2P id.
    pub node_id: String,
    /// The CometBFT version used.
    pub cometbft_version: String,
}

/// Parses one `--account ADDR=COINS` value, e.g.
/// `chimera1...=1000uchim,5foo`.
///
/// Why: the same syntax as the SDK's `add-genesis-account ADDR COINS`,
/// checked here (address prefix, denom rules, amounts) so a typo is a usage
/// error, not a chain that refuses to start.
pub fn parse_account(spec: &str) -> NodeResult<GenesisAccount> {
    let bad = |why: String| NodeError::usage(format!("--account {spec:?}: {why}"));
    let (addr, coins) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected ADDRESS=COINS, e.g. chimera1...=1000uchim,5foo".into()))?;
    Address::parse(addr.trim()).map_err(|e| bad(e.to_string()))?;
    let mut parsed: Vec<GenesisCoin> = Vec::new();
    for coin in coins.split(',') {
        let coin = coin.trim();
        let split = coin.find(|c: char| !c.is_ascii_digit()).unwrap_or(coin.len());
        let (amount, denom) = coin.split_at(split);
        if amount.is_empty() {
            return Err(bad(format!(
                "coin {coin:?} must start with an amount, e.g. 1000uchim"
            )));
        }
        let value = bank::parse_amount(amount).map_err(|e| bad(format!("coin {coin:?}: {e}")))?;
        if value == 0 {
            return Err(bad(format!("coin {coin:?} has amount 0")));
        }
        bank::validate_denom(denom).map_err(|e| bad(format!("coin {coin:?}: {e}")))?;
        if parsed.iter().any(|c| c.denom == denom) {
            return Err(bad(format!("denom {denom:?} given twice")));
        }
        parsed.push(GenesisCoin {
            denom: denom.to_string(),
            amount: value.to_string(),
        });
    }
    Ok(GenesisAccount {
        address: addr.trim().to_string(),
        coins: parsed,
    })
}

/// Checks a chain id as CometBFT does (non-empty, at most 50 bytes) and
/// refuses whitespace, which breaks every CLI that passes it on.
pub fn validate_chain_id(id: &str) -> NodeResult<()> {
    if id.is_empty() || id.len() > MAX_CHAIN_ID_LEN {
        return Err(NodeError::usage(format!(
            "--chain-id must be 1 to {MAX_CHAIN_ID_LEN} bytes, got {}",
            id.len()
        )));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(NodeError::usage(format!("--chain-id {id:?} contains whitespace")));
    }
    Ok(())
}

/// Checks a Go duration as CometBFT's config parser accepts it (`500ms`,
/// `1s`, `1m30s`), and requires it to be positive.
pub fn validate_duration(flag: &str, d: &str) -> NodeResult<()> {
    let bad = || NodeError::usage(format!("{flag} {d:?} is not a duration such as 500ms or 1s"));
    let mut rest = d;
    let mut any_nonzero = false;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| bad())?;
        any_nonzero |= value > 0.0;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        if !matches!(unit, "ns" | "us" | "µs" | "ms" | "s" | "m" | "h") {
            return Err(bad());
        }
        rest = next;
    }
    if !any_nonzero {
        return Err(bad());
    }
    Ok(())
}

/// The models of the executor registry (`host/models/registry.toml`, or
/// `$CHIMERA_MODELS_DIR`'s), which genesis registers on chain.
///
/// Why: the chain must commit to each model's file hash and agreement rule,
/// and the registry is where both are pinned.
fn registry_models() -> NodeResult<Vec<crate::inference::genesis::GenesisModel>> {
    let dir = std::env::var_os("CHIMERA_MODELS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let path = crate::executor::registry::ModelsDirs::new(dir).registry_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display()).into()),
    };
    let file: crate::executor::manifest::RegistryFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(file
        .models
        .iter()
        .map(crate::inference::genesis::GenesisModel::from_manifest)
        .collect())
}

/// The `app_state` JSON for `accounts` with default parameters.
///
/// Why: the exact shape InitChain parses (`chain::genesis::AppGenesis`).
pub fn app_state(accounts: &[GenesisAccount]) -> NodeResult<Value> {
    let mut seen = std::collections::HashSet::new();
    for a in accounts {
        if !seen.insert(a.address.as_str()) {
            return Err(NodeError::usage(format!("--account {} given twice", a.address)));
        }
    }
    let genesis = AppGenesis {
        params: Params::default(),
        accounts: accounts.to_vec(),
        inference: crate::inference::genesis::InferenceGenesis {
            models: registry_models()?,
            ..Default::default()
        },
        ica_host: Default::default(),
        fees: Default::default(),
    };
    serde_json::to_value(&genesis)
        .context("encoding app_state")
        .map_err(NodeError::from)
}

/// Where a node keeps its X25519 executor secret.
pub const EXECUTOR_KEY_FILE: &str = "config/executor_key.json";

/// Creates the node's executor key (`config/executor_key.json`, mode 0600)
/// and returns its genesis entry (the validator's address and public key).
///
/// Why: sealed inputs are encrypted to validators' executor keys; a node
/// made by `init` can open them from its first block.
fn write_executor_key(home: &Path, cmt_home: &Path) -> NodeResult<GenesisExecutorKey> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret)).to_bytes();
    let path = home.join(EXECUTOR_KEY_FILE);
    let text = serde_json::json!({ "secret": hex::encode(secret), "public": hex::encode(public) });
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{text:#}\n").as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    let validator = validator_address(cmt_home)?;
    Ok(GenesisExecutorKey {
        validator,
        key: hex::encode(public),
    })
}

/// The validator's consensus address (hex) of a CometBFT home.
fn validator_address(cmt_home: &Path) -> NodeResult<String> {
    Ok(cometbft::genesis_validator(cmt_home, 0, "")?
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Reads a node's executor secret, if it has one.
pub fn read_executor_secret(home: &Path) -> NodeResult<Option<x25519_dalek::StaticSecret>> {
    let path = home.join(EXECUTOR_KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display()).into()),
    };
    let v: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let secret: [u8; 32] = v
        .get("secret")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("{}: no 32-byte hex \"secret\"", path.display()))?;
    Ok(Some(x25519_dalek::StaticSecret::from(secret)))
}

/// The executor key entry of the node at `home` (for `testnet`'s shared
/// genesis).
pub fn executor_key_entry(home: &Path, cmt_home: &Path) -> NodeResult<GenesisExecutorKey> {
    let secret =
        read_executor_secret(home)?.ok_or_else(|| anyhow::anyhow!("{}: no executor key", home.display()))?;
    let validator = validator_address(cmt_home)?;
    Ok(GenesisExecutorKey {
        validator,
        key: hex::encode(x25519_dalek::PublicKey::from(&secret).to_bytes()),
    })
}

/// Sets `app_state.inference.executor_keys` of a genesis.json value.
pub fn set_executor_keys(genesis: &mut Value, keys: &[GenesisExecutorKey]) -> NodeResult<()> {
    let inference = genesis
        .pointer_mut("/app_state/inference")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| anyhow::anyhow!("genesis.json has no app_state.inference"))?;
    inference.insert(
        "executor_keys".into(),
        serde_json::to_value(keys).context("encoding executor keys")?,
    );
    Ok(())
}

/// Sets `app_state.inference.operators` from (operator address, validator
/// address hex) pairs; a bad address is a usage error.
pub fn set_operators(genesis: &mut Value, operators: &[(String, String)]) -> NodeResult<()> {
    for (op, _) in operators {
        crate::chain::address::Address::parse(op)
            .map_err(|e| NodeError::usage(format!("--operator: {e}")))?;
    }
    let inference = genesis
        .pointer_mut("/app_state/inference")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| anyhow::anyhow!("genesis.json has no app_state.inference"))?;
    inference.insert(
        "operators".into(),
        Value::Array(
            operators
                .iter()
                .map(|(op, v)| serde_json::json!({ "operator": op, "validator": v }))
                .collect(),
        ),
    );
    Ok(())
}

/// The paths inside a home that `init` creates; their presence means the
/// home already holds a node.
pub fn node_markers(home: &Path) -> [PathBuf; 3] {
    [home.join(CONFIG_FILE), home.join("cometbft"), home.join("data")]
}

/// Creates the node home described by `opts`.
///
/// Why: the operator's one command for a working node; see the module doc.
pub fn init(opts: &InitOptions) -> NodeResult<InitReport> {
    validate_chain_id(&opts.chain_id)?;
    if opts.moniker.trim().is_empty() {
        return Err(NodeError::usage("--moniker must not be empty"));
    }
    validate_duration("--timeout-commit", &opts.timeout_commit)?;
    opts.ports.validate()?;
    let app_state = app_state(&opts.accounts)?;

    let home = &opts.home;
    let existing: Vec<PathBuf> = node_markers(home).into_iter().filter(|p| p.exists()).collect();
    if !existing.is_empty() && !opts.overwrite {
        return Err(NodeError::usage(format!(
            "{} already holds a node (found {}); pass --overwrite to replace it (its keys and state are deleted)",
            home.display(),
            existing[0].display()
        )));
    }
    let binary = cometbft::find_binary(&opts.cometbft)?;
    let cometbft_version = cometbft::check_version(&binary)?;
    for p in &existing {
        let r = if p.is_dir() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
        r.with_context(|| format!("--overwrite: removing {}", p.display()))?;
    }
    std::fs::create_dir_all(home.join("config")).with_context(|| format!("creating {}", home.display()))?;

    let mut node_cfg = NodeConfig::with_ports(opts.ports.abci, opts.ports.grpc);
    node_cfg.telemetry = super::config::TelemetrySection::beside(&opts.ports);
    let cmt_home = home.join(&node_cfg.cometbft.home);
    cometbft::init(&binary, &cmt_home)?;
    cometbft::patch_config(
        &cmt_home,
        &ConfigPatch {
            moniker: &opts.moniker,
            ports: opts.ports,
            timeout_commit: &opts.timeout_commit,
            proxy_app: &node_cfg.proxy_app(
                &std::path::absolute(home).with_context(|| format!("resolving {}", home.display()))?,
            ),
        },
    )?;
    let executor_key = write_executor_key(home, &cmt_home)?;
    let mut genesis = cometbft::read_genesis(&cmt_home)?;
    cometbft::patch_genesis(&mut genesis, &opts.chain_id, app_state)?;
    if let Some(op) = &opts.operator {
        set_operators(&mut genesis, &[(op.clone(), executor_key.validator.clone())])?;
    }
    set_executor_keys(&mut genesis, &[executor_key])?;
    cometbft::write_genesis(&cmt_home, &genesis)?;

    std::fs::create_dir_all(home.join("data"))
        .with_context(|| format!("creating {}/data", home.display()))?;
    let cfg_path = home.join(CONFIG_FILE);
    std::fs::write(&cfg_path, node_cfg.render())
        .with_context(|| format!("writing {}", cfg_path.display()))?;

    let node_id = cometbft::node_id(&binary, &cmt_home)?;
    Ok(InitReport {
        home: home.clone(),
        cometbft_home: cmt_home,
        node_id,
        cometbft_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> String {
        Address::from([7u8; 20]).to_string()
    }

    #[test]
    fn parses_account_specs() {
        let a = parse_account(&format!("{}=1000uchim,5foo", addr())).unwrap();
        assert_eq!(a.address, addr());
        assert_eq!(
            a.coins,
            vec![
                GenesisCoin {
                    denom: "uchim".into(),
                    amount: "1000".into()
                },
                GenesisCoin {
                    denom: "foo".into(),
                    amount: "5".into()
                }
            ]
        );
    }

    #[test]
    fn bad_account_specs_are_usage_errors() {
        let a = addr();
        for (spec, why) in [
            (a.clone(), "ADDRESS=COINS"),
            ("cosmos1xyz=1uchim".to_string(), "bech32"),
            (format!("{a}=uchim"), "must start with an amount"),
            (format!("{a}=0uchim"), "amount 0"),
            (format!("{a}=10"), "10"),
            (format!("{a}=1uchim,2uchim"), "given twice"),
        ] {
            let e = parse_account(&spec).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{spec}");
            assert!(e.to_string().contains(why), "{spec}: {e}");
        }
    }

    #[test]
    fn chain_ids_and_durations() {
        assert!(validate_chain_id("chimera-1").is_ok());
        assert!(validate_chain_id("").is_err());
        assert!(validate_chain_id(&"x".repeat(51)).is_err());
        assert!(validate_chain_id("a b").is_err());
        for ok in ["1s", "500ms", "1m30s", "1.5s"] {
            assert!(validate_duration("--t", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1", "s", "0s", "1x", "-1s", "1s2"] {
            assert!(validate_duration("--t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn app_state_round_trips_through_the_chain_parser() {
        let acc = parse_account(&format!("{}=42uchim", addr())).unwrap();
        let v = app_state(std::slice::from_ref(&acc)).unwrap();
        let parsed = AppGenesis::parse(v.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.accounts, vec![acc.clone()]);
        assert_eq!(parsed.params, Params::default());
        assert!(app_state(&[acc.clone(), acc]).is_err());
    }
}
