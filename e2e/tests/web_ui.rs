//! The web app in a real browser against a real chain: a 1-validator
//! chimerad localnet runs one `digits-ddpm` "7" job; the real `chimera ui`
//! serves the built app (relayer/web/dist) and its JSON API over the node's
//! gRPC; Debian's Chromium, driven headless by playwright-core
//! (relayer/web/tests/browser.mjs), opens Models, Jobs, the Job page (the
//! image appears and the page says "verified", having hashed the bytes
//! itself), Validators and Tokenomics, and the Job page at phone width,
//! saving a screenshot of each. Then a second `chimera ui` fetches outputs
//! from a dishonest blob node (one byte flipped) and the same page must say
//! "verification failed" and show no image.
//!
//! Needs `cometbft` and a built chimerad (`scripts/setup`, `cargo build -p
//! chimera-host --bin chimerad`), the models, a built `chimera` (`cargo
//! build -p chimera-relayer`), Node.js, /usr/bin/chromium (`scripts/setup
//! apt`) and the built web app with its node_modules (`scripts/setup web`).
//! Screenshots go to a kept temporary directory whose path is printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chimera_e2e::chimera::{self, ChimeraNet, ChimeraNetConfig};
use chimera_e2e::dishonest::DishonestBlobNode;
use chimera_e2e::inference::{self, Job};
use chimera_e2e::ports;
use chimera_e2e::process::{ManagedProcess, ProcessSpec};
use chimera_e2e::relayer::{chimera_binary, rt};

const RESULT_WAIT: Duration = Duration::from_secs(240);
const GAS: u64 = 600_000;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

fn require_tools() -> PathBuf {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
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

/// `chimera ui` against `host_grpc`, its outputs from `blob_node`, on a
/// free loopback port; returns the process and its base URL once
/// `/api/info` answers.
fn start_ui(
    chimera: &Path,
    logs: &Path,
    name: &str,
    host_grpc: &str,
    blob_node: &str,
) -> (ManagedProcess, String) {
    let port = ports::free_port().expect("a free port");
    let addr: SocketAddr = ports::loopback(port);
    let spec = ProcessSpec::new(name, chimera, logs.join(format!("{name}.log"))).args([
        "ui",
        "--host-grpc",
        host_grpc,
        "--blob-node",
        blob_node,
        "--listen",
        &addr.to_string(),
    ]);
    let mut p = ManagedProcess::spawn(spec).unwrap_or_else(|e| panic!("{name}: {e}"));
    let info = p
        .wait_for_http(addr, "/api/info", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", p.log_tail(30)));
    eprintln!("{name} at http://{addr}: /api/info {info}");
    (p, format!("http://{addr}"))
}

/// Runs the browser script; panics with its output when it fails.
fn browser(base: &str, out: &Path, job: u64, mode: &str) {
    let t = Instant::now();
    let script = repo().join("relayer/web/tests/browser.mjs");
    let o = Command::new("node")
        .arg(&script)
        .arg(base)
        .arg(out)
        .arg(job.to_string())
        .arg(mode)
        .current_dir(repo())
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    eprintln!(
        "browser ({mode}, {:.1}s):\n{stdout}{stderr}",
        t.elapsed().as_secs_f64()
    );
    assert!(o.status.success(), "browser check ({mode}) failed: {stderr}");
}

#[test]
fn the_web_app_shows_and_verifies_a_job_in_chromium() {
    let chimera = require_tools();
    let out = tempfile::Builder::new()
        .prefix("chimera-e2e-web-ui-")
        .tempdir()
        .expect("temp dir")
        .keep();
    eprintln!("web_ui: screenshots and logs in {}", out.display());

    let net = ChimeraNet::start(ChimeraNetConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let grpc = format!("http://127.0.0.1:{}", net.ports(0).unwrap().grpc);
    let (height, id) = inference::submit_job(&net, 0, &Job::digits_ddpm('7', 7), GAS)
        .unwrap_or_else(|e| panic!("MsgRunInference: {e}"));
    let found =
        inference::wait_job(&net, 0, height, id, RESULT_WAIT).unwrap_or_else(|e| panic!("job {id}: {e}"));
    eprintln!(
        "job {id}: result at height {} (output {})",
        found.height,
        found.event.get("output_sha256")
    );

    let (mut ui, base) = start_ui(&chimera, &out, "chimera-ui", &grpc, &grpc);
    // The API answers with the job the page will show.
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let job = chimera_e2e::http::get(addr, &format!("/api/jobs/{id}"), Duration::from_secs(10)).unwrap();
    assert!(job.is_success(), "/api/jobs/{id}: {}", job.body);
    assert!(job.body.contains("\"completed\""), "{}", job.body);
    let missing = chimera_e2e::http::get(addr, "/api/jobs/999999", Duration::from_secs(10)).unwrap();
    assert_eq!(missing.status, 404, "{}", missing.body);
    browser(&base, &out, id, "honest");
    ui.stop().unwrap();

    let dishonest = rt().block_on(DishonestBlobNode::start(&grpc)).unwrap();
    let (mut ui2, base2) = start_ui(
        &chimera,
        &out,
        "chimera-ui-tampered",
        &grpc,
        &dishonest.endpoint(),
    );
    browser(&base2, &out, id, "tampered");
    ui2.stop().unwrap();
    drop(dishonest);

    for name in [
        "models",
        "jobs",
        "job",
        "validators",
        "tokenomics",
        "job-phone",
        "job-tampered",
    ] {
        let f = out.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&f).is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            f.display()
        );
    }
    eprintln!("web_ui: screenshots in {}", out.display());
}
