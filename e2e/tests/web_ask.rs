//! The web app's Ask page on the contract route, in a real browser: a Terra
//! Classic localnet and a 4-validator chimerad with `chimera relay` between
//! them, the inference-requester contract stored, instantiated (price 0.1
//! LUNC for `digits-ddpm`) and given its channel; the real `chimera ui`
//! with `--contract`, `--terra-rpc`, `--terra-grpc` and `--devnet-mnemonic`
//! (the funded devnet user's words). Debian's Chromium, driven by
//! playwright-core (relayer/web/tests/ask.mjs), signs a `digits-ddpm` "7"
//! request with the in-page CosmJS wallet, broadcasts it through the
//! server's /terra-rpc proxy, follows the timeline (Terra inclusion →
//! chimerad job → each validator's report → quorum → acknowledgement on
//! Terra), sees the image and the "verified" badge, and saves screenshots;
//! then it ticks "Encrypt prompt" and sends the same request sealed in the
//! browser (lib/sealed.ts, chimera-packets' envelope) to the executor key
//! chimerad publishes: the signed tx carries only ciphertext and the
//! envelope, and the job reaches its verified image, which chimerad's
//! validator can only make by opening what the browser sealed. Then
//! `digits-cnn`, a tensor model: the page builds its f32[1, 8, 8] input
//! from the chain's registry record by scaling request 1's uploaded PNG,
//! and the verified class probabilities put 7 first. Then a private
//! output: the prompt sealed and the output sealed to a key the page makes
//! and keeps; only that browser opens the verified ciphertext, and the
//! stored blob is the sealed message. Last, a request
//! sent while the relayer is stopped, with a 3 s timeout: the relayer's
//! timeout refunds it and the request page says it timed out (tests/request.mjs). The
//! contract's own records must say succeeded for both, and the request API
//! must say the second was sealed. The page-load and submit-to-verified
//! times it prints are docs/benchmarks.md's "Web app".
//!
//! Needs what contract_terra_chimera.rs needs (terrad, cometbft, chimerad,
//! the contract's wasm) plus a built `chimera`, Node.js, /usr/bin/chromium
//! and the built web app with node_modules (`scripts/setup web`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chimera_e2e::keys;
use chimera_e2e::relayer::{terra_and_chimera_with, ChimeraRelayer};
use chimera_e2e::wasm;
use chimera_e2e::web;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(180);
/// chimerad validators, equal power.
const VALIDATORS: usize = 4;

#[test]
fn the_ask_page_requests_through_the_contract_and_verifies_in_chromium() {
    let started = Instant::now();
    let out = web::browser_test_dir("web_ask");

    // Four validators: the timeline shows each one's report as it lands,
    // and the quorum (more than 2/3 of the power) needs three of them.
    let (terra_net, _chimera_net, tc, cc) = terra_and_chimera_with(chimera_e2e::chimera::ChimeraNetConfig {
        validators: VALIDATORS,
        ..chimera_e2e::devnet::chimera_config("chimera-web-ask")
    });
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
    let (mut ui, addr) = web::start_ui(
        "chimera-ui",
        &out,
        &[
            "--host-grpc",
            &cc.grpc_addr,
            "--contract",
            &contract.address,
            "--terra-rpc",
            &tc.rpc_addr,
            "--terra-grpc",
            &tc.grpc_addr,
        ],
        &[("CHIMERA_DEVNET_MNEMONIC", keys::USER_MNEMONIC)],
    );
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
    let (ok, stdout, stderr) = web::run_script(
        "ask.mjs",
        &[&format!("http://{addr}"), &out.display().to_string()],
    );
    if !ok {
        // What the page was reading, and Terra's own index of the ack, to
        // tell a server bug from a chain that did not get there.
        for id in [1, 2] {
            let api = chimera_e2e::http::get(addr, &format!("/api/requests/{id}"), Duration::from_secs(20))
                .unwrap();
            eprintln!("/api/requests/{id} after the failure: {}", api.body);
        }
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
        ok,
        "browser check failed: {stderr}\nchimera ui log:\n{}\nrelayer log:\n{}",
        ui.log_tail(40),
        relayer.log_tail(40)
    );

    // The contract agrees with what the page showed: request 1 plain,
    // request 2 sealed to the executor keys chimerad publishes.
    let mut outputs = Vec::new();
    for id in [1, 2] {
        let record = wasm::query(&terra_net, &contract.address, &json!({"request": {"id": id}})).unwrap();
        assert_eq!(record["status"], "succeeded", "request {id}: {record}");
        outputs.push(record["outcome"]["result"]["output_sha256"].clone());
        let api =
            chimera_e2e::http::get(addr, &format!("/api/requests/{id}"), Duration::from_secs(20)).unwrap();
        assert!(api.body.contains("acknowledge_packet"), "{}", api.body);
        let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        let input = &v["terra"]["packet"]["input"];
        assert_eq!(input["encoding"], "text", "request {id}: {input}");
        if id == 1 {
            assert!(input["sealed"].is_null(), "request 1 was plain: {input}");
            assert_eq!(input["bytes"], 1, "{input}");
        } else {
            let keys = chimera_e2e::inference::executor_keys_blocking(&cc.grpc_addr).unwrap();
            let want: Vec<String> = keys.iter().map(|(_, k)| hex::encode(k)).collect();
            assert_eq!(input["sealed"]["recipients"], json!(want), "request 2: {input}");
            assert_eq!(input["bytes"], 1 + 16, "the ciphertext of \"7\": {input}");
        }
    }
    // Every request was agreed by at least three of the four validators,
    // each report on the page with the chimerad block that recorded it.
    for id in [1, 2, 3] {
        let api =
            chimera_e2e::http::get(addr, &format!("/api/requests/{id}"), Duration::from_secs(20)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        let reports = v["reports"].as_array().cloned().unwrap_or_default();
        let agreeing = reports.iter().filter(|r| r["agrees"] == true).count();
        assert!(
            agreeing >= 3,
            "request {id}: {agreeing} agreeing reports: {}",
            v["reports"]
        );
        assert!(
            reports.iter().all(|r| r["height"].as_u64().is_some()),
            "request {id}: {}",
            v["reports"]
        );
        let q = &v["job"]["result"]["quorum"];
        let (agreed, total): (u64, u64) = (
            q["agreeing_power"].as_str().unwrap().parse().unwrap(),
            q["total_power"].as_str().unwrap().parse().unwrap(),
        );
        assert!(3 * agreed > 2 * total, "request {id}: quorum {q}");
        // The sealed request agreed in two rounds: besides the reference,
        // at least two validators confirmed its sealed sketch (3 of 4).
        let second: Vec<_> = reports.iter().filter(|r| r["round"] == 2).collect();
        if id == 2 {
            assert!(
                second.len() >= 2
                    && second
                        .iter()
                        .all(|r| r["agrees"] == true && r["reference"].is_string()),
                "request 2: second round {second:?}"
            );
        } else {
            assert!(second.is_empty(), "request {id} was not sealed: {second:?}");
        }
    }
    // Same model, prompt and seed: the validator that opened the sealed "7"
    // drew the very image of the plain one.
    assert!(
        outputs[0].is_string() && outputs[0] == outputs[1],
        "plain and sealed \"7\" gave different outputs: {outputs:?}"
    );
    assert!(
        stdout.contains("sealed_request 2 "),
        "the browser did not report the sealed request as request 2"
    );
    // Request 3: digits-cnn on the uploaded PNG of request 1, a tensor
    // input built from the chain's registry record; the contract and the
    // page's API agree on its encoding and size.
    assert!(
        stdout.contains("tensor_request 3: "),
        "no tensor request 3: {stdout}"
    );
    let record = wasm::query(&terra_net, &contract.address, &json!({"request": {"id": 3}})).unwrap();
    assert_eq!(
        (record["status"].as_str(), record["model"].as_str()),
        (Some("succeeded"), Some("digits-cnn")),
        "{record}"
    );
    let api = chimera_e2e::http::get(addr, "/api/requests/3", Duration::from_secs(20)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    let input = &v["terra"]["packet"]["input"];
    assert_eq!(
        (input["encoding"].as_str(), input["bytes"].as_u64()),
        (Some("tensor"), Some(256)),
        "{input}"
    );
    assert_eq!(
        record["outcome"]["result"]["output_encoding"], "tensor",
        "{record}"
    );
    // Request 4: a private output. The packet named the page's output key;
    // what the validators committed to, and any node serves, is the sealed
    // message, not a PNG.
    assert!(
        stdout.contains("private_request 4"),
        "no private request 4: {stdout}"
    );
    let record = wasm::query(&terra_net, &contract.address, &json!({"request": {"id": 4}})).unwrap();
    assert_eq!(record["status"], "succeeded", "{record}");
    assert_eq!(record["outcome"]["result"]["output_encoding"], "json", "{record}");
    let api = chimera_e2e::http::get(addr, "/api/requests/4", Duration::from_secs(20)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(
        v["terra"]["packet"]["input"]["output_key"], true,
        "{}",
        v["terra"]["packet"]
    );
    let sha = record["outcome"]["result"]["output_sha256"].as_str().unwrap();
    let blob = chimera_e2e::http::get(addr, &format!("/api/blobs/{sha}"), Duration::from_secs(20)).unwrap();
    assert!(
        blob.body.starts_with("{\"ciphertext\":") && !blob.body.contains("PNG"),
        "the stored output is not the sealed message: {}",
        &blob.body[..blob.body.len().min(200)]
    );

    // A request the relayer did not carry in time (stopped, a 3 s packet
    // timeout): once it relays the timeout, the contract refunds, and the
    // request page says so.
    relayer.stop().unwrap();
    let late = wasm::execute(
        &terra_net,
        "user",
        &contract.address,
        &json!({"request_inference": {
            "channel": contract.channel, "model": "digits-ddpm", "input": "Nw==",
            "encoding": "text", "params": {"seed": "42"}, "timeout_seconds": 3,
        }}),
        Some("100000uluna"),
    )
    .unwrap();
    let late_id = late.attr("wasm", "request_id").unwrap();
    std::thread::sleep(Duration::from_secs(6));
    relayer.start(WAIT).unwrap();
    let (ok, _, stderr) = web::run_script(
        "request.mjs",
        &[
            &format!("http://{addr}"),
            &out.display().to_string(),
            &late_id,
            "timed_out",
        ],
    );
    assert!(
        ok,
        "the timed-out request's page: {stderr}\nrelayer log:\n{}",
        relayer.log_tail(30)
    );
    let record = wasm::query(
        &terra_net,
        &contract.address,
        &json!({"request": {"id": late_id.parse::<u64>().unwrap()}}),
    )
    .unwrap();
    assert_eq!(record["status"], "timed_out", "{record}");

    ui.stop().unwrap();
    web::expect_screenshots(
        &out,
        [
            "ask",
            "request-done",
            "request-phone",
            "ask-phone",
            "ask-encrypted",
            "request-sealed-done",
            "ask-tensor",
            "request-tensor-done",
            "validators",
            "request-timed_out",
        ],
    );
    eprintln!(
        "web_ask: passed in {:.0?}; screenshots in {}",
        started.elapsed(),
        out.display()
    );
}
