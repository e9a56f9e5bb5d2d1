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
use std::path::Path;
use std::time::Duration;

use chimera_e2e::chimera::{self, ChimeraNet, ChimeraNetConfig};
use chimera_e2e::dishonest::DishonestBlobNode;
use chimera_e2e::inference::{self, Job};
use chimera_e2e::relayer::rt;
use chimera_e2e::web;

const RESULT_WAIT: Duration = Duration::from_secs(240);
const GAS: u64 = 600_000;

/// Runs the browser script in `mode`; panics with its output when it fails.
fn browser(addr: SocketAddr, out: &Path, job: u64, mode: &str) {
    let (ok, _, stderr) = web::run_script(
        "browser.mjs",
        &[
            &format!("http://{addr}"),
            &out.display().to_string(),
            &job.to_string(),
            mode,
        ],
    );
    assert!(ok, "browser check ({mode}) failed: {stderr}");
}

#[test]
fn the_web_app_shows_and_verifies_a_job_in_chromium() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let out = web::browser_test_dir("web_ui");

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

    let (mut ui, addr) = web::start_ui(
        "chimera-ui",
        &out,
        &["--host-grpc", &grpc, "--blob-node", &grpc],
        &[],
    );
    // The API answers with the job the page will show.
    let job = chimera_e2e::http::get(addr, &format!("/api/jobs/{id}"), Duration::from_secs(10)).unwrap();
    assert!(job.is_success(), "/api/jobs/{id}: {}", job.body);
    assert!(job.body.contains("\"completed\""), "{}", job.body);
    let missing = chimera_e2e::http::get(addr, "/api/jobs/999999", Duration::from_secs(10)).unwrap();
    assert_eq!(missing.status, 404, "{}", missing.body);
    browser(addr, &out, id, "honest");
    ui.stop().unwrap();

    let dishonest = rt().block_on(DishonestBlobNode::start(&grpc)).unwrap();
    let blob_node = dishonest.endpoint();
    let (mut ui2, addr2) = web::start_ui(
        "chimera-ui-tampered",
        &out,
        &["--host-grpc", &grpc, "--blob-node", &blob_node],
        &[],
    );
    browser(addr2, &out, id, "tampered");
    ui2.stop().unwrap();
    drop(dishonest);

    web::expect_screenshots(
        &out,
        [
            "models",
            "jobs",
            "job",
            "validators",
            "tokenomics",
            "job-phone",
            "job-tampered",
        ],
    );
    eprintln!("web_ui: screenshots in {}", out.display());
}
