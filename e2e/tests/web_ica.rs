//! The web app's Ask page on the ICA route, in a real browser: a Terra
//! Classic localnet (ibc-go v7.4's ICA controller, no auth module) and a
//! 1-validator chimerad whose fee authority prices every model at 0.1 LUNC
//! (in the ICS-20 voucher of uluna over the transfer channel, as
//! `ica_controllers.rs`'s `lunc_pays_the_executor_and_burns_on_terra`
//! does), `chimera relay` between them, and the real `chimera ui` with
//! only `--terra-rpc`, `--terra-grpc` and `--devnet-mnemonic` (no
//! contract: the page defaults to the ICA route). Debian's Chromium, driven
//! by playwright-core (relayer/web/tests/ica.mjs), submits `digits-ddpm`
//! "7" seed 42 once: the page registers the devnet user's interchain
//! account (`MsgRegisterInterchainAccount`, the relayer opens the
//! channel), funds it over ICS-20 (1 LUNC) and signs `MsgSendTx` with the
//! `MsgRunInference` it encodes itself; the timeline reaches the ack on
//! Terra, the image and the "verified" badge. Then a second request
//! through the same account, encrypted in the page: no registration, no
//! transfer, one `MsgSendTx` carrying only ciphertext. chimerad must hold
//! the fees (the account has 1 LUNC − 2 × 0.1 LUNC left), and the API the
//! page reads must agree. It prints the page-ready, register, fund and
//! submit-to-verified times.
//!
//! Third, the Keplr path (relayer/web/tests/keplr-shim.js: Keplr's
//! `window.keplr` API injected before the page loads, backed by a CosmJS
//! key outside the page): the Terra validator's genesis account, a funded
//! account other than the devnet user's, connects through "Keplr /
//! Station" (the page suggests `localterra-1`, which Keplr does not ship,
//! then enables it), rejects the first signature (nothing is broadcast),
//! then registers its own interchain account, funds it and sends the same
//! "7" with every tx signed by the wallet's `signDirect`. Its account must
//! hold 1 LUNC − 0.1 LUNC and its packet must have succeeded, while the
//! devnet user's account is left as it was.
//!
//! Needs terrad, cometbft, a built chimerad and chimera, Node.js,
//! /usr/bin/chromium and the built web app with node_modules
//! (`scripts/setup web`).

use std::time::{Duration, Instant};

use chimera_e2e::chimera;
use chimera_e2e::fees;
use chimera_e2e::hermes::{ibc_denom, RECIPIENT_MNEMONIC};
use chimera_e2e::keys;
use chimera_e2e::relayer::{rt, terra_and_chimera_with, user_chain, ChimeraRelayer};
use chimera_e2e::web;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(180);
/// chimerad's price of every model: 0.1 LUNC.
const FEE: u128 = 100_000;
/// What the page funds the account with: ten requests.
const FUND: u128 = 10 * FEE;

fn api(addr: std::net::SocketAddr, path: &str) -> Value {
    let r = chimera_e2e::http::get(addr, path, Duration::from_secs(30)).unwrap();
    assert!(r.is_success(), "{path}: {} {}", r.status, r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body))
}

#[test]
fn the_ask_page_requests_through_an_interchain_account_and_verifies_in_chromium() {
    let started = Instant::now();
    let out = web::browser_test_dir("web_ica");

    // chimerad with the devnet user as fee authority, Terra, a transfer
    // channel and `chimera relay`.
    let mut config = chimera_e2e::devnet::chimera_config("chimera-web-ica");
    config.operators = vec![fees::operator_address()];
    config.prepare_node = Some(fees::authority_genesis);
    let (terra_net, _chimera_net, tc, cc) = terra_and_chimera_with(config);
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    let (chan_t, chan_c, conn_t) = relayer
        .create_channel(&tc.id, &cc.id, "transfer", "transfer", "ics20-1", None)
        .expect("create channel");
    relayer.start(WAIT).expect("chimera relay");
    let keys_dir = tempfile::tempdir().unwrap();
    let authority = user_chain(
        &cc,
        keys::USER_MNEMONIC,
        chimera::CHIMERA_COIN_TYPE,
        keys_dir.path(),
    );
    let community = keys::terra_address(RECIPIENT_MNEMONIC).unwrap().to_string();
    rt().block_on(fees::update_params(
        &authority,
        fees::lunc_params(&authority.address, &chan_c, FEE, &community, 10),
    ))
    .expect("MsgUpdateParams");
    let voucher = ibc_denom(&format!("transfer/{chan_c}/uluna"));
    eprintln!(
        "[ok] transfer {chan_t} <-> {chan_c} over {conn_t}, every model priced {FEE} {voucher} ({:.0?})",
        started.elapsed()
    );

    // chimera ui with Terra but no contract: the ICA route only.
    let (mut ui, addr) = web::start_ui(
        "chimera-ui",
        &out,
        &[
            "--host-grpc",
            &cc.grpc_addr,
            "--terra-rpc",
            &tc.rpc_addr,
            "--terra-grpc",
            &tc.grpc_addr,
            "--terra-rest",
            &terra_net.rest_url(),
        ],
        &[("CHIMERA_DEVNET_MNEMONIC", keys::USER_MNEMONIC)],
    );
    let info = api(addr, "/api/ica-info");
    assert_eq!(info["connection_id"], conn_t.as_str(), "{info}");
    assert_eq!(info["transfer"]["channel_id"], chan_t.as_str(), "{info}");
    assert_eq!(info["voucher"], voucher.as_str(), "{info}");
    assert!(info["route_error"].is_null(), "{info}");
    let ddpm = info["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "digits-ddpm")
        .expect("digits-ddpm in /api/ica-info");
    assert_eq!(ddpm["price"], FEE.to_string(), "{ddpm}");
    let owner = keys::terra_address(keys::USER_MNEMONIC).unwrap().to_string();
    let before = api(addr, &format!("/api/ica/{owner}"));
    assert_eq!(before["open"], false, "{before}");
    let contract_off = chimera_e2e::http::get(addr, "/api/ask-info", Duration::from_secs(20)).unwrap();
    assert_eq!(contract_off.status, 404, "{}", contract_off.body);

    // The browser: register, fund, send, watch, verify; then sealed; then
    // through Keplr's API with the validator's account.
    let keplr_owner = keys::terra_address(keys::VALIDATOR_MNEMONIC).unwrap().to_string();
    assert_ne!(keplr_owner, owner);
    assert_eq!(api(addr, &format!("/api/ica/{keplr_owner}"))["open"], false);
    let (ok, stdout, stderr) = web::run_script(
        "ica.mjs",
        &[
            &format!("http://{addr}"),
            &out.display().to_string(),
            keys::VALIDATOR_MNEMONIC,
        ],
    );
    let account = api(addr, &format!("/api/ica/{owner}"));
    if !ok {
        eprintln!("/api/ica/{owner} after the failure: {account}");
        if let Some(ch) = account["channel_id"].as_str() {
            for seq in [1, 2] {
                let r = chimera_e2e::http::get(
                    addr,
                    &format!("/api/ica-requests/{ch}/{seq}"),
                    Duration::from_secs(20),
                )
                .unwrap();
                eprintln!("/api/ica-requests/{ch}/{seq}: {}", r.body);
            }
        }
    }
    assert!(
        ok,
        "browser check failed: {stderr}\nchimera ui log:\n{}\nrelayer log:\n{}",
        ui.log_tail(40),
        relayer.log_tail(40)
    );

    // What the chains say: one account, funded once, charged twice.
    assert_eq!(account["open"], true, "{account}");
    let ica = account["address"].as_str().unwrap().to_string();
    let channel = account["channel_id"].as_str().unwrap().to_string();
    let held: u128 = chimera_e2e::relayer::rt()
        .block_on(chimera_e2e::bank::balance(&cc.grpc_addr, &ica, &voucher))
        .unwrap();
    assert_eq!(held, FUND - 2 * FEE, "{ica} holds {held}{voucher}");
    assert_eq!(account["voucher_balance"], (FUND - 2 * FEE).to_string());
    let mut outputs = Vec::new();
    for seq in [1, 2] {
        let v = api(addr, &format!("/api/ica-requests/{channel}/{seq}"));
        assert_eq!(v["route"], "ica");
        assert_eq!(v["record"]["status"], "succeeded", "packet {seq}: {v}");
        assert_eq!(v["record"]["interchain_account"], ica.as_str());
        assert_eq!(v["record"]["requester"], owner.as_str());
        assert_eq!(v["record"]["fee"]["denom"], voucher.as_str());
        assert_eq!(v["record"]["fee"]["amount"], FEE.to_string());
        assert_eq!(v["terra"]["ack"]["kind"], "acknowledge_packet", "{v}");
        assert_eq!(v["job"]["status"], "completed", "{v}");
        assert_eq!(v["job"]["requester"], ica.as_str(), "{v}");
        let input = &v["terra"]["packet"]["input"];
        if seq == 1 {
            assert!(input["sealed"].is_null(), "{input}");
            assert_eq!(input["bytes"], 1, "{input}");
        } else {
            let keys = chimera_e2e::inference::executor_keys_blocking(&cc.grpc_addr).unwrap();
            let want: Vec<String> = keys.iter().map(|(_, k)| hex::encode(k)).collect();
            assert_eq!(input["sealed"]["recipients"], serde_json::json!(want), "{input}");
            assert_eq!(input["bytes"], 1 + 16, "{input}");
        }
        outputs.push(v["record"]["outcome"]["result"]["output_sha256"].clone());
    }
    assert!(
        outputs[0].is_string() && outputs[0] == outputs[1],
        "plain and sealed \"7\" gave different outputs: {outputs:?}"
    );
    assert!(stdout.contains("ica check passed"), "{stdout}");

    // The Keplr leg: the wallet's own account, its own interchain account.
    let keplr: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("keplr "))
        .map(|j| serde_json::from_str(j).unwrap())
        .unwrap_or_else(|| panic!("no keplr summary in {stdout}"));
    assert_eq!(keplr["address"], keplr_owner.as_str(), "{keplr}");
    assert_eq!(keplr["chain_id"], chimera_e2e::terra::DEFAULT_CHAIN_ID, "{keplr}");
    let k_account = api(addr, &format!("/api/ica/{keplr_owner}"));
    assert_eq!(k_account["open"], true, "{k_account}");
    let k_ica = k_account["address"].as_str().unwrap().to_string();
    assert_ne!(k_ica, ica);
    let k_channel = k_account["channel_id"].as_str().unwrap().to_string();
    assert_ne!(k_channel, channel);
    assert_eq!(
        k_account["voucher_balance"],
        (FUND - FEE).to_string(),
        "{k_account}"
    );
    let v = api(addr, &format!("/api/ica-requests/{k_channel}/1"));
    assert_eq!(v["record"]["status"], "succeeded", "{v}");
    assert_eq!(v["record"]["requester"], keplr_owner.as_str(), "{v}");
    assert_eq!(v["record"]["interchain_account"], k_ica.as_str(), "{v}");
    assert_eq!(v["job"]["requester"], k_ica.as_str(), "{v}");
    assert_eq!(v["terra"]["packet"]["input"]["bytes"], 1, "{v}");
    assert_eq!(
        v["record"]["outcome"]["result"]["output_sha256"], outputs[0],
        "the Keplr request's \"7\" gave another output"
    );
    // The devnet user's account is untouched by the Keplr leg.
    let after = api(addr, &format!("/api/ica/{owner}"));
    assert_eq!(after["voucher_balance"], (FUND - 2 * FEE).to_string(), "{after}");
    ui.stop().unwrap();
    web::expect_screenshots(
        &out,
        [
            "ica-ask",
            "ica-ask-steps",
            "ica-request-done",
            "ica-ask-encrypted",
            "ica-request-sealed-done",
            "ica-request-phone",
            "ica-ask-keplr",
            "ica-ask-keplr-rejected",
            "ica-request-keplr-done",
        ],
    );
    eprintln!(
        "web_ica: passed in {:.0?}; screenshots in {}",
        started.elapsed(),
        out.display()
    );
}
