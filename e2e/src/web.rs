//! What the real-browser tests of the web app share: the tools they need
//! (a built `chimera`, Node.js, Debian's Chromium, the built app with its
//! node_modules), `chimera ui` on a free loopback port, and running one of
//! relayer/web/tests' playwright-core scripts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::ports;
use crate::process::{ManagedProcess, ProcessSpec};
use crate::relayer::chimera_binary;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// Panics with the set-up command to run when a tool is missing; returns
/// the `chimera` binary.
pub fn require_browser_tools() -> PathBuf {
    let chimera = chimera_binary();
    assert!(
        chimera.is_file(),
        "no chimera binary at {}: build it with `cargo build -p chimera-relayer`",
        chimera.display()
    );
    assert!(
        Path::new("/usr/bin/chromium").is_file(),
        "no /usr/bin/chromium: install it with `scripts/setup apt`"
    );
    let web = repo().join("relayer/web");
    for need in ["dist/index.html", "node_modules/playwright-core/package.json"] {
        assert!(
            web.join(need).is_file(),
            "no relayer/web/{need}: build the web app with `scripts/setup web`"
        );
    }
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "Node.js (`node`) is not on PATH: {node:?}"
    );
    chimera
}

/// The start of a browser test named `name` (`web_ask`, ...): panics with
/// the set-up command when a tool is missing, else returns a new directory
/// for its screenshots and logs (`/tmp/chimera-e2e-NAME-...`, kept after
/// the test for people to look at) and says where it is.
pub fn browser_test_dir(name: &str) -> PathBuf {
    require_browser_tools();
    let out = tempfile::Builder::new()
        .prefix(&format!("chimera-e2e-{}-", name.replace('_', "-")))
        .tempdir()
        .expect("temp dir")
        .keep();
    eprintln!("{name}: screenshots and logs in {}", out.display());
    out
}

/// `chimera ui ARGS --listen <free loopback port>` (with `env`), logging to
/// `logs/<name>.log`; returns the process and its base URL once `/api/info`
/// answers.
pub fn start_ui(
    name: &str,
    logs: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (ManagedProcess, SocketAddr) {
    let port = ports::free_port().expect("a free port");
    let addr: SocketAddr = ports::loopback(port);
    let listen = addr.to_string();
    let mut spec = ProcessSpec::new(name, chimera_binary(), logs.join(format!("{name}.log"))).args(
        std::iter::once("ui")
            .chain(args.iter().copied())
            .chain(["--listen", &listen]),
    );
    for (k, v) in env {
        spec = spec.env(k, v);
    }
    let mut p = ManagedProcess::spawn(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    let info = p
        .wait_for_http(addr, "/api/info", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", p.log_tail(30)));
    eprintln!("{name} at http://{addr}: /api/info {info}");
    (p, addr)
}

/// Runs `node relayer/web/tests/<script> ARGS` from the repository root;
/// prints its output and returns (success, stdout, stderr).
pub fn run_script(script: &str, args: &[&str]) -> (bool, String, String) {
    let t = Instant::now();
    let o = Command::new("node")
        .arg(repo().join("relayer/web/tests").join(script))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    eprintln!("{script} ({:.1}s):\n{stdout}{stderr}", t.elapsed().as_secs_f64());
    (o.status.success(), stdout, stderr)
}

/// Panics unless each `NAME.png` in `out` was written (more than a header):
/// the browser scripts save one per page they check, for people to look at.
pub fn expect_screenshots<S: AsRef<str>>(out: &Path, names: impl IntoIterator<Item = S>) {
    for name in names {
        let f = out.join(format!("{}.png", name.as_ref()));
        assert!(
            std::fs::metadata(&f).is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            f.display()
        );
    }
}
