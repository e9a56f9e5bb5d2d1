//! The web app's Ask page on the contract route, in a real browser: a Terra
//! Classic localnet and a 1-validator chimerad with `chimera relay` between
//! them, the inference-requester contract stored, instantiated (price 0.1
//! LUNC for `digits-ddpm`) and given its channel; the real `chimera ui`
//! with `--contract`, `--terra-rpc`, `--terra-grpc` and `--devnet-mnemonic`
//! (the funded devnet user's words). Debian's Chromium, driven by
//! playwright-core (relayer/web/tests/ask.mjs), signs a `digits-ddpm` "7"
//! request with the in-page CosmJS wallet, broadcasts it through the
//! server's /terra-rpc proxy, follows the timeline (Terra inclusion →
//! chimerad job → the validator's report → quorum → acknowledgement on
//! Terra), sees the image and the "verified" badge, and saves screenshots;
//! then the contract's own record must say succeeded. The page-load and
//! submit-to-verified times it prints are docs/benchmarks.md's "Web app".
//!
//! Needs what contract_terra_chimera.rs needs (terrad, cometbft, chimerad,
//! the contract's wasm) plus a built `chimera`, Node.js, /usr/bin/chromium
//! and the built web app with node_modules (`scripts/setup web`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chimera_e2e::keys;
use chimera_e2e::ports;
use chimera_e2e::process::{ManagedProcess, ProcessSpec};
use chimera_e2e::relayer::{chimera_binary, terra_and_chimera, ChimeraRelayer};
use chimera_e2e::wasm;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

fn require_browser_tools() {
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
    assert!(
        chimera_binary().is_file(),
        "no chimera binary at {}: `cargo build -p chimera-relayer`",
        chimera_binary().display()
    );
}

#[test]
fn the_ask_page_requests_through_the_contract_and_verifies_in_chromium() {
    let started = Instant::now();
    require_browser_tools();
    let out = tempfile::Builder::new()
        .prefix("chimera-e2e-web-ask-")
        .tempdir()
        .expect("temp dir")
        .keep();
    eprintln!("web_ask: screenshots and logs in {}", out.display());

    let (terra_net, _chimera_net, tc, cc) = terra_and_chimera();
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    let payout = keys::terra_address(chimera_e2e::hermes::RECIPIENT_MNEMONIC)
        .unwrap()
        .to_string();
    let contract = chimera_e2e::requester::deploy(
        &terra_net,
        &relayer,
        (&tc, &cc),
        "user",
        &json!({
            "payout_address": payout,
            "prices": [{"model": "digits-ddpm", "amount": "100000"}],
        }),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    relayer.start(WAIT).expect("chimera relay");
    eprintln!(
        "[ok] contract {} (code {}), channel {} <-> inference/{} ({:.0?})",
        contract.address,
        contract.code_id,
        contract.channel,
        contract.host_channel,
        started.elapsed()
    );

    // chimera ui with the contract route.
    let port = ports::free_port().expect("a free port");
    let addr: SocketAddr = ports::loopback(port);
    let spec = ProcessSpec::new("chimera-ui", chimera_binary(), out.join("chimera-ui.log"))
        .args([
            "ui",
            "--host-grpc",
            &cc.grpc_addr,
            "--listen",
            &addr.to_string(),
            "--contract",
            &contract.address,
            "--terra-rpc",
            &tc.rpc_addr,
            "--terra-grpc",
            &tc.grpc_addr,
        ])
        .env("CHIMERA_DEVNET_MNEMONIC", keys::USER_MNEMONIC);
    let mut ui = ManagedProcess::spawn(spec).unwrap_or_else(|e| panic!("chimera ui: {e}"));
    ui.wait_for_http(addr, "/api/info", Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("chimera ui: {e}\n{}", ui.log_tail(30)));
    let info = chimera_e2e::http::get(addr, "/api/ask-info", Duration::from_secs(20)).unwrap();
    assert!(info.is_success(), "/api/ask-info: {}", info.body);
    assert!(
        info.body.contains(&contract.channel) && info.body.contains("\"price_uluna\":\"100000\""),
        "{}",
        info.body
    );
    let missing = chimera_e2e::http::get(addr, "/api/requests/99", Duration::from_secs(20)).unwrap();
    assert_eq!(missing.status, 404, "{}", missing.body);

    // The browser: sign, watch, verify.
    let t = Instant::now();
    let o = Command::new("node")
        .arg(repo().join("relayer/web/tests/ask.mjs"))
        .arg(format!("http://{addr}"))
        .arg(&out)
        .current_dir(repo())
        .output()
        .expect("running node");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    eprintln!("browser ({:.1}s):\n{stdout}{stderr}", t.elapsed().as_secs_f64());
    if !o.status.success() {
        // What the page was reading, and Terra's own index of the ack, to
        // tell a server bug from a chain that did not get there.
        let api = chimera_e2e::http::get(addr, "/api/requests/1", Duration::from_secs(20)).unwrap();
        eprintln!("/api/requests/1 after the failure: {}", api.body);
        let rpc: SocketAddr = tc.rpc_addr.trim_start_matches("http://").parse().unwrap();
        let q = chimera_e2e::http::get(
            rpc,
            "/tx_search?query=%22acknowledge_packet.packet_sequence%3D%271%27%22",
            Duration::from_secs(20),
        )
        .unwrap();
        eprintln!(
            "Terra tx_search acknowledge_packet: {}",
            &q.body[..q.body.len().min(3000)]
        );
    }
    assert!(
        o.status.success(),
        "browser check failed: {stderr}\nchimera ui log:\n{}\nrelayer log:\n{}",
        ui.log_tail(40),
        relayer.log_tail(40)
    );

    // The contract agrees with what the page showed.
    let record = wasm::query(&terra_net, &contract.address, &json!({"request": {"id": 1}})).unwrap();
    assert_eq!(record["status"], "succeeded", "{record}");
    let api = chimera_e2e::http::get(addr, "/api/requests/1", Duration::from_secs(20)).unwrap();
    assert!(api.body.contains("acknowledge_packet"), "{}", api.body);
    ui.stop().unwrap();
    for name in ["ask", "request-done", "request-phone", "ask-phone"] {
        let f = out.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&f).is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            f.display()
        );
    }
    eprintln!(
        "web_ask: passed in {:.0?}; screenshots in {}",
        started.elapsed(),
        out.display()
    );
}
