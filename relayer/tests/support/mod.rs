//! What the tests of the `chimera` binary share: a config for `chimera-1`
//! and `columbus-5` in a temp dir, running the binary under a time guard,
//! and the checks of exit codes and one-line errors.
//!
//! Each test file is a crate of its own and uses only part of this.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The test mnemonic keys are imported from.
pub const MNEMONIC: &str = "gloom drive forget slab champion note network erosion coin drip frame suspect fire note sister pulse gesture sleep frame food rent route loyal cave";

/// Longest a single run of the binary may take.
pub const GUARD: Duration = Duration::from_secs(30);

/// [`two_chains`]' template (a leading empty line, then `[telemetry]`).
const TWO_CHAINS: &str = include_str!("two_chains.toml");

/// A valid config for `chimera-1` then `columbus-5` (coin type 330), each
/// with its `(rpc, grpc)` URLs; Terra's key is `terra_key`, Chimera's
/// `relayer`. Telemetry is off so no run binds a fixed port; `rpc_timeout`
/// is 2s.
pub fn two_chains(chimera: (&str, &str), terra: (&str, &str), terra_key: &str) -> String {
    TWO_CHAINS
        .replace("{CHIMERA_RPC}", chimera.0)
        .replace("{CHIMERA_GRPC}", chimera.1)
        .replace("{TERRA_RPC}", terra.0)
        .replace("{TERRA_GRPC}", terra.1)
        .replace("{TERRA_KEY}", terra_key)
}

/// A temp dir holding `chimera.toml`; the key store is `keys/` beside it.
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn with(config_text: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chimera.toml"), config_text).unwrap();
        Setup { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("chimera.toml")
    }

    /// `chimera --config <config> <args>`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, "")
    }

    /// `chimera --config <config> <args>` reading `stdin`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let config = self.config();
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        chimera(&all, stdin)
    }

    /// `chimera --config <config> keys <args>` reading `stdin`.
    pub fn keys(&self, args: &[&str], stdin: &str) -> Output {
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        self.run_with_stdin(&all, stdin)
    }

    /// Imports [`MNEMONIC`] as key `name` of `chain`.
    pub fn import_key(&self, chain: &str, name: &str) {
        let import = ["import", "--chain", chain, "--name", name, "--mnemonic-file", "-"];
        let out = self.keys(&import, MNEMONIC);
        assert_eq!(
            out.status.code(),
            Some(0),
            "importing key {name:?} for {chain}: {}",
            text(&out.stderr)
        );
    }
}

/// Runs the binary with `args` and `stdin`, killing it (and failing) after
/// [`GUARD`]. `RUST_BACKTRACE=1` as an operator debugging would have it: an
/// error must stay short even then. `RUST_LOG=warn` keeps the info logs of
/// `relay`/`status`/`create` out of stderr, so stderr is the error alone.
/// No `CHIMERA_*` variable of the caller's environment leaks in.
pub fn chimera(args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chimera"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LIB_BACKTRACE")
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("CHIMERA_CONFIG")
        .env_remove("CHIMERA_ICA_CONTROLLER")
        .env_remove("CHIMERA_ICA_HOST")
        .env_remove("CHIMERA_BLOB_NODE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chimera");
    // Readers on their own threads, so a chatty child never blocks on a full
    // pipe while we wait for it.
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
        let _ = input.write_all(stdin.as_ref());
    }
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chimera") {
            break status;
        }
        if start.elapsed() > GUARD {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = out_reader.join().unwrap();
            let stderr = err_reader.join().unwrap();
            panic!(
                "chimera {args:?} still running after {GUARD:?}; killed.\nstdout: {}\nstderr: {}",
                text(&stdout),
                text(&stderr)
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

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `s` cut to its first 1,500 characters, for failure messages.
pub fn clip(s: &str) -> String {
    match s.char_indices().nth(1500) {
        Some((i, _)) => format!("{}\n[... {} more bytes]", &s[..i], s.len() - i),
        None => s.to_string(),
    }
}

/// No panic and no backtrace, in stderr or in `what` (stdout or a JSON error).
pub fn assert_no_panic(what: &str, context: &str) {
    let lower = what.to_lowercase();
    for bad in ["panicked", "rust_backtrace", "stack backtrace"] {
        assert!(!lower.contains(bad), "{context}: {bad:?} in:\n{}", clip(what));
    }
}

/// Asserts the exit code and no panic; returns stderr.
pub fn expect_exit(out: &Output, code: i32, context: &str) -> String {
    let stderr = text(&out.stderr);
    assert_no_panic(&stderr, context);
    assert_no_panic(&text(&out.stdout), context);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{context}: exit code\nstdout: {}\nstderr: {}",
        clip(&text(&out.stdout)),
        clip(&stderr)
    );
    stderr
}

/// Asserts stderr is one line starting with `error: ` and holding every one
/// of `needles`; returns that line.
pub fn one_line_error(stderr: &str, needles: &[&str], context: &str) -> String {
    let trimmed = stderr.trim_end();
    assert_eq!(
        trimmed.lines().count(),
        1,
        "{context}: the error should be one line, got {} lines:\n{}",
        trimmed.lines().count(),
        clip(stderr)
    );
    assert!(trimmed.starts_with("error: "), "{context}: {stderr}");
    for n in needles {
        assert!(trimmed.contains(n), "{context}: {n:?} not in: {stderr}");
    }
    trimmed.to_string()
}

/// A failed run: exit `code`, no panic, nothing on stdout, and stderr one
/// line starting with `error: ` that holds every one of `needles`; returns
/// that line.
pub fn fails_in_one_line(out: &Output, code: i32, needles: &[&str], context: &str) -> String {
    let stderr = expect_exit(out, code, context);
    assert!(out.stdout.is_empty(), "{context}: stdout {:?}", text(&out.stdout));
    one_line_error(&stderr, needles, context)
}

/// A config path where there is nothing (nor its directory), in a temp dir
/// that lives as long as the returned guard.
pub fn missing_config() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere").join("chimera.toml");
    (dir, missing)
}

/// A loopback URL where nothing listens: bind an ephemeral port, then close it.
pub fn closed_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}
