//! CosmWasm on the Terra Classic localnet, driven by `terrad`'s own CLI the
//! way a LUNC user with only `terrad` would (the commands docs/users.md
//! shows): store a contract, instantiate it, execute and query it, and read
//! each tx's result (gas used, events) once it is in a block.
//!
//! Why the CLI and not built messages: the contract route's promise is that
//! `terrad` alone is enough, so the tests use exactly that.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::terra::TerraLocalnet;

/// Terra Classic's fixed minimum gas price, which terrad enforces in
/// CheckTx whatever the node's `minimum-gas-prices` says.
pub const GAS_PRICES: &str = "28.325uluna";

/// A tx found in a block.
#[derive(Debug, Clone)]
pub struct TxResult {
    pub hash: String,
    pub height: u64,
    pub gas_used: u64,
    pub gas_wanted: u64,
    /// The tx's events as `terrad q tx -o json` prints them.
    pub events: Vec<Value>,
    pub raw_log: String,
}

impl TxResult {
    /// The first value of `key` in an event of type `kind`.
    pub fn attr(&self, kind: &str, key: &str) -> Option<String> {
        self.events
            .iter()
            .filter(|e| e["type"] == kind)
            .flat_map(|e| e["attributes"].as_array().cloned().unwrap_or_default())
            .find(|a| a["key"] == key)
            .and_then(|a| a["value"].as_str().map(str::to_string))
    }
}

/// The JSON document at the end of a command's output (terrad prints
/// "gas estimate: N" before it with `--gas auto`).
fn json_tail(out: &str) -> &str {
    out.find('{').map_or(out, |i| &out[i..])
}

/// The inference-requester contract's `.wasm`, as the set-up builds it
/// (`scripts/wasm-build --contract`, cached by source hash: a no-op when
/// nothing changed, about a minute after a change).
pub fn requester_wasm() -> Result<std::path::PathBuf> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/wasm-build");
    let out = std::process::Command::new(&script)
        .arg("--contract")
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} --contract failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .last()
        .context("wasm-build printed no path")?
        .trim();
    Ok(path.into())
}

/// The txs with an event matching `query` (`type.key=value`, SDK 0.47
/// `terrad q txs --events`), as results.
pub fn txs_with_event(t: &impl TerradRunner, query: &str) -> Result<Vec<TxResult>> {
    let out = t.run_terrad(&["q", "txs", "--events", query, "-o", "json"])?;
    let v: Value = serde_json::from_str(json_tail(&out))?;
    Ok(v["txs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| tx_result(t["txhash"].as_str().unwrap_or_default(), t))
        .collect())
}

/// Runs `terrad` against a node's home, whose `client.toml` names the node,
/// the chain id and the `test` keyring: a [`TerraLocalnet`] this program
/// holds, or a [`TerradHome`] for a chain another process runs.
///
/// Why: the devnet's Terra chain outlives the `chimera-e2e` that started it,
/// so a later run drives it from the home recorded in `devnet.json`.
pub trait TerradRunner {
    /// `terrad ARGS --home HOME`: its standard output, or an error with
    /// everything it printed.
    fn run_terrad(&self, args: &[&str]) -> Result<String>;
}

impl TerradRunner for TerraLocalnet {
    fn run_terrad(&self, args: &[&str]) -> Result<String> {
        Ok(self.terrad_command(args)?)
    }
}

/// `terrad` with `--home HOME` (libwasmvm on `LD_LIBRARY_PATH`), each
/// command and its output appended to `log` when one is given.
#[derive(Debug, Clone)]
pub struct TerradHome {
    /// The `terrad` binary.
    pub binary: std::path::PathBuf,
    /// The node's home (`--home`).
    pub home: std::path::PathBuf,
    /// Where each command is recorded.
    pub log: Option<std::path::PathBuf>,
}

impl TerradHome {
    /// The address of key `name` in the home's `test` keyring.
    pub fn key_address(&self, name: &str) -> Result<String> {
        let out = self.run_terrad(&["keys", "show", name, "-a", "--keyring-backend", "test"])?;
        Ok(out.trim().to_string())
    }

    /// How a user types `terrad ARGS` for this home (the home quoted for
    /// a POSIX shell when it needs it).
    pub fn shown(&self, args: &[&str]) -> String {
        let mut words: Vec<String> = vec!["terrad".into()];
        words.extend(args.iter().map(|a| shell_word(a)));
        words.push("--home".into());
        words.push(shell_word(&self.home.display().to_string()));
        words.join(" ")
    }
}

impl TerradRunner for TerradHome {
    fn run_terrad(&self, args: &[&str]) -> Result<String> {
        let mut cmd = std::process::Command::new(&self.binary);
        cmd.args(args)
            .arg("--home")
            .arg(&self.home)
            .stdin(std::process::Stdio::null());
        if let Some(ld) = crate::bins::library_path() {
            cmd.env("LD_LIBRARY_PATH", ld);
        }
        let shown = format!(
            "{} {} --home {}",
            self.binary.display(),
            args.join(" "),
            self.home.display()
        );
        let out = cmd.output().with_context(|| format!("running `{shown}`"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Some(log) = &self.log {
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
                use std::io::Write as _;
                let _ = writeln!(f, "$ {shown}\n{stdout}{stderr}\n[{}]\n", out.status);
            }
        }
        if !out.status.success() {
            let said = stderr.trim().lines().last().unwrap_or_default().to_string();
            bail!("`{shown}` exited {}: {said}", out.status);
        }
        Ok(stdout)
    }
}

/// `word` as one POSIX shell word: as it is when it holds only plain
/// characters, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The flags every tx of [`tx`] carries after `--from FROM`.
pub const TX_FLAGS: [&str; 8] = [
    "--gas",
    "auto",
    "--gas-adjustment",
    "1.4",
    "--gas-prices",
    GAS_PRICES,
    "--keyring-backend",
    "test",
];

fn tx_result(hash: &str, v: &Value) -> TxResult {
    let num = |k: &str| v[k].as_str().and_then(|h| h.parse().ok()).unwrap_or(0);
    TxResult {
        hash: hash.to_string(),
        height: num("height"),
        gas_used: num("gas_used"),
        gas_wanted: num("gas_wanted"),
        events: v["events"].as_array().cloned().unwrap_or_default(),
        raw_log: v["raw_log"].as_str().unwrap_or_default().to_string(),
    }
}

/// `terrad tx <args> --from <from> --gas auto ... -y -o json`, then waits
/// for the tx in a block; fails with the chain's log when the tx does.
pub fn tx(t: &impl TerradRunner, from: &str, args: &[&str]) -> Result<TxResult> {
    tx_with(t, from, args, &TX_FLAGS)
}

/// [`tx`] with a fixed gas limit instead of `--gas auto`.
///
/// Why: terrad's simulation underestimates some txs by more than
/// `--gas-adjustment 1.4` covers (a gov tx of [`pin_code`] with `--gas
/// auto`: 46,020 wanted, 47,306 used, out of gas).
pub fn tx_fixed_gas(t: &impl TerradRunner, from: &str, args: &[&str], gas: u64) -> Result<TxResult> {
    let gas = gas.to_string();
    tx_with(
        t,
        from,
        args,
        &[
            "--gas",
            &gas,
            "--gas-prices",
            GAS_PRICES,
            "--keyring-backend",
            "test",
        ],
    )
}

fn tx_with(t: &impl TerradRunner, from: &str, args: &[&str], flags: &[&str]) -> Result<TxResult> {
    let mut all: Vec<&str> = vec!["tx"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--from", from]);
    all.extend_from_slice(flags);
    all.extend_from_slice(&["--broadcast-mode", "sync", "-y", "-o", "json"]);
    let out = t.run_terrad(&all)?;
    let v: Value =
        serde_json::from_str(json_tail(&out)).with_context(|| format!("terrad tx output: {out}"))?;
    if v["code"].as_u64().unwrap_or(0) != 0 {
        bail!("terrad tx {} refused: {}", args.join(" "), v["raw_log"]);
    }
    let hash = v["txhash"].as_str().context("txhash")?.to_string();
    wait_tx(t, &hash, Duration::from_secs(60))
}

/// `terrad q tx HASH` until it answers (the tx is in a block).
pub fn wait_tx(t: &impl TerradRunner, hash: &str, within: Duration) -> Result<TxResult> {
    let start = Instant::now();
    loop {
        if let Ok(out) = t.run_terrad(&["q", "tx", hash, "-o", "json"]) {
            let v: Value = serde_json::from_str(json_tail(&out))?;
            let r = tx_result(hash, &v);
            if v["code"].as_u64().unwrap_or(0) != 0 {
                bail!("tx {hash} failed in block {}: {}", r.height, r.raw_log);
            }
            return Ok(r);
        }
        if start.elapsed() > within {
            bail!("tx {hash} not in a block after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `terrad tx wasm store FILE`; returns the code id and the tx.
pub fn store(t: &impl TerradRunner, from: &str, wasm: &std::path::Path) -> Result<(u64, TxResult)> {
    let path = wasm.to_str().context("wasm path")?;
    let r = tx(t, from, &["wasm", "store", path])?;
    let id = r
        .attr("store_code", "code_id")
        .context("store_code.code_id")?
        .parse()?;
    Ok((id, r))
}

/// `terrad tx wasm instantiate CODE MSG --label L --admin ADMIN`: the
/// contract address and the tx.
pub fn instantiate(
    t: &impl TerradRunner,
    from: &str,
    admin: &str,
    code: u64,
    msg: &Value,
    label: &str,
) -> Result<(String, TxResult)> {
    let code = code.to_string();
    let msg = msg.to_string();
    let r = tx(
        t,
        from,
        &[
            "wasm",
            "instantiate",
            &code,
            &msg,
            "--label",
            label,
            "--admin",
            admin,
        ],
    )?;
    let addr = r
        .attr("instantiate", "_contract_address")
        .context("instantiate._contract_address")?;
    Ok((addr, r))
}

/// `terrad tx wasm execute ADDR MSG [--amount COINS]`.
pub fn execute(
    t: &impl TerradRunner,
    from: &str,
    contract: &str,
    msg: &Value,
    amount: Option<&str>,
) -> Result<TxResult> {
    let msg = msg.to_string();
    let mut args = vec!["wasm", "execute", contract, msg.as_str()];
    if let Some(a) = amount {
        args.extend_from_slice(&["--amount", a]);
    }
    tx(t, from, &args)
}

/// `terrad q wasm contract-state smart ADDR MSG`: the `data` it answers.
pub fn query(t: &impl TerradRunner, contract: &str, msg: &Value) -> Result<Value> {
    let msg = msg.to_string();
    let out = t.run_terrad(&[
        "q",
        "wasm",
        "contract-state",
        "smart",
        contract,
        &msg,
        "-o",
        "json",
    ])?;
    let v: Value = serde_json::from_str(json_tail(&out))?;
    Ok(v["data"].clone())
}

/// `terrad q wasm pinned`: the code ids pinned in wasmd's in-memory cache.
pub fn pinned_codes(t: &impl TerradRunner) -> Result<Vec<u64>> {
    let out = t.run_terrad(&["q", "wasm", "pinned", "-o", "json"])?;
    let v: Value = serde_json::from_str(json_tail(&out))?;
    Ok(v["code_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
        .collect())
}

/// Pins code `code_id` on Terra Classic v3.4 the only way it allows: by
/// governance. Submits a gov v1 proposal (`terrad tx gov submit-proposal
/// proposal.json`) whose one message is `/cosmwasm.wasm.v1.MsgPinCodes`
/// with `authority` the gov module account (`terrad q auth module-account
/// gov`), deposit twice `min_deposit`, votes yes from the same key, waits
/// until the proposal is `PROPOSAL_STATUS_PASSED` and checks `terrad q
/// wasm pinned` lists the code. Returns the proposal id.
///
/// `from` must hold the voting power that passes it alone: the localnet's
/// `validator` key. The localnet's voting period is
/// [`crate::terra::GOV_VOTING_PERIOD`].
///
/// Why: pinned code skips wasmd's per-call instance cost (60,000 gas on
/// Terra Classic's wasmd v0.46 fork), so gas measurements of a contract
/// call must say which case they are (docs/benchmarks.md, issue 9).
pub fn pin_code(t: &impl TerradRunner, from: &str, code_id: u64) -> Result<u64> {
    let out = t.run_terrad(&["q", "auth", "module-account", "gov", "-o", "json"])?;
    let v: Value = serde_json::from_str(json_tail(&out))?;
    let gov = v
        .pointer("/account/base_account/address")
        .or_else(|| v.pointer("/account/value/address"))
        .and_then(Value::as_str)
        .with_context(|| format!("no gov module address in {v}"))?
        .to_string();

    let out = t.run_terrad(&["q", "gov", "params", "-o", "json"])?;
    let v: Value = serde_json::from_str(json_tail(&out))?;
    let min = v
        .pointer("/params/min_deposit/0")
        .or_else(|| v.pointer("/deposit_params/min_deposit/0"))
        .with_context(|| format!("no min_deposit in {v}"))?;
    let amount: u128 = min["amount"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("min_deposit {min}"))?;
    let deposit = format!("{}{}", 2 * amount, min["denom"].as_str().unwrap_or("uluna"));

    let proposal = serde_json::json!({
        "messages": [{
            "@type": "/cosmwasm.wasm.v1.MsgPinCodes",
            "authority": gov,
            "code_ids": [code_id.to_string()],
        }],
        "metadata": "",
        "deposit": deposit,
        "title": format!("Pin code {code_id}"),
        "summary": format!("Pin wasm code {code_id} (chimera-e2e gas measurement)"),
    });
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("proposal.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&proposal)?)?;
    let submitted = tx_fixed_gas(
        t,
        from,
        &["gov", "submit-proposal", file.to_str().context("proposal path")?],
        1_000_000,
    )?;
    let id: u64 = submitted
        .attr("submit_proposal", "proposal_id")
        .context("submit_proposal.proposal_id")?
        .parse()?;
    let id_s = id.to_string();
    tx_fixed_gas(t, from, &["gov", "vote", &id_s, "yes"], 300_000)?;

    let start = Instant::now();
    loop {
        let out = t.run_terrad(&["q", "gov", "proposal", &id_s, "-o", "json"])?;
        let v: Value = serde_json::from_str(json_tail(&out))?;
        let status = v
            .get("proposal")
            .unwrap_or(&v)
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match status.as_str() {
            "PROPOSAL_STATUS_PASSED" => break,
            "PROPOSAL_STATUS_REJECTED" | "PROPOSAL_STATUS_FAILED" => {
                bail!("proposal {id} to pin code {code_id} ended {status}: {v}")
            }
            _ if start.elapsed() > Duration::from_secs(90) => {
                bail!("proposal {id} to pin code {code_id} still {status} after 90 s: {v}")
            }
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let pinned = pinned_codes(t)?;
    if !pinned.contains(&code_id) {
        bail!("proposal {id} passed but `terrad q wasm pinned` lists {pinned:?}, not {code_id}");
    }
    Ok(id)
}
