//! `chimera ica ...` fed mistakes, as a LUNC user would make them: malformed
//! coins and durations (exit 2, one line naming the argument), a chain id
//! that is not in the config or a missing config (exit 1 and 3, as every
//! other command), a missing key, a node that does not answer (exit 1).
//!
//! No chain is needed: every case fails before (or at) the first
//! connection. The message building and ack decoding are unit-tested in
//! `relayer/src/ica.rs`; real-chain runs belong to the e2e suite.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The test mnemonic keys are imported from.
const MNEMONIC: &str = "gloom drive forget slab champion note network erosion coin drip frame suspect fire note sister pulse gesture sleep frame food rent route loyal cave";

/// Longest one run of the binary may take.
const GUARD: Duration = Duration::from_secs(30);

/// A host and a Terra controller; `{RPC}` is both chains' RPC URL.
const CONFIG: &str = r#"
[telemetry]
enabled = false

[[chains]]
id = "chimera-1"
rpc = "{RPC}"
grpc = "{RPC}"
account_prefix = "chimera"
key = "relayer"
gas_price = { price = 0.025, denom = "uchim" }
rpc_timeout = "2s"

[[chains]]
id = "columbus-5"
rpc = "{RPC}"
grpc = "{RPC}"
account_prefix = "terra"
coin_type = 330
key = "user"
gas_price = { price = 28.325, denom = "uluna" }
rpc_timeout = "2s"
"#;

/// The chains of [`CONFIG`] as `ica` arguments.
const ROUTE: [&str; 4] = ["--controller", "columbus-5", "--host", "chimera-1"];

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(rpc: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chimera.toml"), CONFIG.replace("{RPC}", rpc)).unwrap();
        Setup { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("chimera.toml")
    }

    /// `chimera --config <config> <args>`.
    fn run(&self, args: &[&str]) -> Output {
        let config = self.config();
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        chimera(&all, "")
    }

    /// `chimera --config <config> ica <sub> <ROUTE> <args>`.
    fn ica(&self, sub: &str, args: &[&str]) -> Output {
        let mut all = vec!["ica", sub];
        all.extend_from_slice(&ROUTE);
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// Imports the test mnemonic as the Terra user's key.
    fn import_user_key(&self) {
        let config = self.config();
        let out = chimera(
            &[
                "--config",
                config.to_str().unwrap(),
                "keys",
                "import",
                "--chain",
                "columbus-5",
                "--name",
                "user",
                "--mnemonic-file",
                "-",
            ],
            MNEMONIC,
        );
        assert_eq!(out.status.code(), Some(0), "import: {}", text(&out.stderr));
    }
}

/// Runs the binary, killing it (and failing) after [`GUARD`].
fn chimera(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chimera"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("CHIMERA_CONFIG")
        .env_remove("CHIMERA_ICA_CONTROLLER")
        .env_remove("CHIMERA_ICA_HOST")
        .env_remove("CHIMERA_BLOB_NODE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chimera");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    {
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chimera {args:?} still running after {GUARD:?}; stderr: {}",
                text(&err_reader.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A loopback URL where nothing listens.
fn closed_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Asserts the exit code, nothing on stdout, and a one-line stderr starting
/// with `error: ` that holds every needle and no panic; returns the line.
fn one_line_error(out: &Output, code: i32, needles: &[&str], context: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{context}: exit code\nstdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "{context}: stdout {:?}", text(&out.stdout));
    let line = stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "{context}: not one line:\n{stderr}");
    assert!(line.starts_with("error: "), "{context}: {line}");
    for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!line.contains(bad), "{context}: {bad} in {line}");
    }
    for n in needles {
        assert!(line.contains(n), "{context}: {n:?} not in: {line}");
    }
    line.to_string()
}

#[test]
fn a_malformed_amount_is_a_usage_error() {
    let s = Setup::new(&closed_url());
    for (amount, why) in [
        ("1000000", "no denom"),
        ("uluna", "the amount then the denom"),
        ("0uluna", "positive"),
        ("1e6uluna", "no exponent"),
        ("10 uluna", "not a denom"),
        ("10u", "not a denom"),
    ] {
        let out = s.ica("fund", &["--amount", amount]);
        one_line_error(&out, 2, &["--amount", amount, why], &format!("--amount {amount}"));
    }
}

#[test]
fn a_malformed_fee_is_a_usage_error() {
    let s = Setup::new(&closed_url());
    for (fee, why) in [
        ("100", "no denom"),
        ("100ibc/AB!", "not a denom"),
        ("5uluna,6uluna", "listed twice"),
        ("5uluna,", "the amount then the denom"),
    ] {
        let out = s.ica(
            "infer",
            &["--model", "digits-ddpm", "--prompt", "7", "--fee", fee],
        );
        one_line_error(&out, 2, &["--fee", why], &format!("--fee {fee}"));
    }
}

#[test]
fn a_malformed_timeout_is_a_usage_error() {
    let s = Setup::new(&closed_url());
    for (t, why) in [
        ("0s", "must be positive"),
        ("10", "unknown unit"),
        ("ten minutes", "expected a number"),
        ("5x", "unknown unit"),
    ] {
        let out = s.ica(
            "infer",
            &["--model", "digits-ddpm", "--prompt", "7", "--timeout", t],
        );
        one_line_error(&out, 2, &["--timeout", why], &format!("--timeout {t}"));
    }
    let out = s.ica("register", &["--wait", "soon"]);
    one_line_error(&out, 2, &["--wait"], "register --wait soon");
}

#[test]
fn other_usage_mistakes_are_one_line() {
    let s = Setup::new(&closed_url());
    let out = s.run(&["ica", "address", "--host", "chimera-1"]);
    one_line_error(&out, 2, &["--controller"], "no --controller");
    let out = s.ica("infer", &["--model", "digits-ddpm"]);
    one_line_error(&out, 2, &["--prompt"], "no prompt");
    let out = s.ica("infer", &["--model", "m", "--prompt", "7", "--out", "x.png"]);
    one_line_error(&out, 2, &["--wait"], "--out without --wait");
    let out = s.ica("infer", &["--model", "m", "--prompt", "7", "--param", "seed"]);
    one_line_error(&out, 2, &["--param", "KEY=VALUE"], "--param without =");
    let out = s.ica("infer", &["--model", "m", "--input", "x", "--tensor", "f33:1x8"]);
    one_line_error(&out, 2, &["--tensor", "unknown dtype"], "bad --tensor");
    let out = s.ica("register", &["--ordering", "sideways"]);
    one_line_error(&out, 2, &["--ordering", "sideways"], "bad --ordering");
    let out = s.run(&[
        "ica",
        "address",
        "--controller",
        "columbus-5",
        "--host",
        "columbus-5",
    ]);
    one_line_error(
        &out,
        2,
        &["--controller and --host", "columbus-5"],
        "same chain twice",
    );
}

#[test]
fn an_unknown_chain_id_lists_the_configured_ones() {
    let s = Setup::new(&closed_url());
    let out = s.run(&[
        "ica",
        "address",
        "--controller",
        "phoenix-1",
        "--host",
        "chimera-1",
    ]);
    one_line_error(
        &out,
        1,
        &["phoenix-1", "--controller", "chimera-1, columbus-5"],
        "unknown controller",
    );
    let out = s.run(&[
        "ica",
        "status",
        "--controller",
        "columbus-5",
        "--host",
        "chimera-9",
        "--sequence",
        "1",
    ]);
    one_line_error(
        &out,
        1,
        &["chimera-9", "--host", "chimera-1, columbus-5"],
        "unknown host",
    );
}

#[test]
fn a_missing_config_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere").join("chimera.toml");
    let path = missing.to_str().unwrap();
    for sub in [
        &["address"][..],
        &["fund", "--amount", "1uluna"][..],
        &["status", "--sequence", "1"][..],
    ] {
        let mut args = vec!["--config", path, "ica"];
        args.extend_from_slice(sub);
        args.extend_from_slice(&ROUTE);
        let out = chimera(&args, "");
        one_line_error(
            &out,
            3,
            &[path, "cannot read"],
            &format!("missing config, {sub:?}"),
        );
    }
}

#[test]
fn a_missing_key_says_how_to_import_one() {
    let s = Setup::new(&closed_url());
    let out = s.ica("address", &[]);
    one_line_error(
        &out,
        1,
        &["\"user\"", "columbus-5", "chimera keys add"],
        "no user key",
    );
    let out = s.ica("address", &["--key", "lunc"]);
    one_line_error(&out, 1, &["\"lunc\"", "columbus-5"], "no --key lunc");
}

#[test]
fn an_unreachable_controller_is_one_line() {
    let url = closed_url();
    let s = Setup::new(&url);
    s.import_user_key();
    for sub in [&["register"][..], &["status", "--sequence", "3"][..]] {
        let mut args = vec!["ica", sub[0]];
        args.extend_from_slice(&ROUTE);
        args.extend_from_slice(&sub[1..]);
        let out = s.run(&args);
        one_line_error(&out, 1, &["columbus-5", &url], &format!("closed port, {sub:?}"));
    }
}

#[test]
fn help_explains_each_command_for_a_lunc_user() {
    let out = chimera(&["ica", "--help"], "");
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for cmd in ["register", "address", "fund", "infer", "status", "fetch"] {
        assert!(help.contains(cmd), "{cmd} not in:\n{help}");
    }
    for (cmd, needles) in [
        (
            "register",
            &[
                "MsgRegisterInterchainAccount",
                "relayer",
                "--encoding",
                "--ordering",
            ][..],
        ),
        ("fund", &["MsgTransfer", "ibc/", "--amount"][..]),
        (
            "infer",
            &[
                "MsgSendTx",
                "MsgRunInference",
                "--encrypt",
                "--fee",
                "--timeout",
                "--wait",
            ][..],
        ),
        ("status", &["pending", "timed out", "--sequence"][..]),
        ("fetch", &["SHA-256", "--out", "--node"][..]),
    ] {
        let out = chimera(&["ica", cmd, "--help"], "");
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        let help = text(&out.stdout);
        for n in needles {
            assert!(help.contains(n), "{n:?} not in `ica {cmd} --help`:\n{help}");
        }
    }
}
