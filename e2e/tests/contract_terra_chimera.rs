//! The `inference` app's requester side on Terra Classic: the
//! inference-requester contract stored and instantiated on a real `terrad`
//! v3.4 localnet with `terrad`'s own CLI, a `chimera-inference-1` channel
//! from its `wasm.<contract>` port to chimerad's `inference` port opened by
//! `chimera create channel`, and a LUNC user's `digits-ddpm` "7" request
//! (fee escrowed in uluna) answered: the contract records the result and
//! pays the fee out, the output is fetched from chimerad and verified. A
//! request that times out is refunded. Gas of a request and of its
//! acknowledgement on Terra is printed beside an ICS-20 transfer's, with the
//! contract's code unpinned and then pinned by a governance proposal
//! (`MsgPinCodes`, the only way Terra Classic v3.4 pins code).

use std::time::{Duration, Instant};

use chimera_e2e::keys;
use chimera_e2e::relayer::{chimera_fetch, rt, terra_and_chimera, user_chain, wait_until, ChimeraRelayer};
use chimera_e2e::terra;
use chimera_e2e::wasm;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(180);
const FEE: u128 = 100_000;

fn request_msg(channel: &str, prompt: &str, timeout_seconds: u64) -> Value {
    use base64::Engine as _;
    json!({"request_inference": {
        "channel": channel,
        "model": "digits-ddpm",
        "input": base64::engine::general_purpose::STANDARD.encode(prompt),
        "encoding": "text",
        "params": {"seed": "42"},
        "timeout_seconds": timeout_seconds,
    }})
}

fn payout_address() -> String {
    keys::terra_address(chimera_e2e::hermes::RECIPIENT_MNEMONIC)
        .unwrap()
        .to_string()
}

/// Stores and instantiates the contract with terrad, as a LUNC user would;
/// returns its code id and address.
fn deploy(terra_net: &terra::TerraLocalnet, wasm_file: &std::path::Path, payout: &str) -> (u64, String) {
    let (code, stored) = wasm::store(terra_net, "user", wasm_file).expect("terrad tx wasm store");
    let admin = terra_net
        .account_address("user")
        .expect("the user key")
        .to_string();
    let (contract, _) = wasm::instantiate(
        terra_net,
        "user",
        &admin,
        code,
        &json!({ "payout_address": payout }),
        "chimera-inference-requester",
    )
    .expect("terrad tx wasm instantiate");
    eprintln!(
        "[ok] stored code {code} ({} bytes, gas {}) and instantiated {contract}",
        std::fs::metadata(wasm_file).unwrap().len(),
        stored.gas_used,
    );
    (code, contract)
}

/// Executes a `digits-ddpm` "7" request (the fee must then wait in the
/// contract) and waits for the contract to record its outcome; returns
/// (request id, the record, the request's tx).
fn request_and_wait(
    terra_net: &terra::TerraLocalnet,
    terra_grpc: &str,
    contract: &str,
    channel: &str,
    relayers: &[&ChimeraRelayer],
) -> (u64, Value, wasm::TxResult) {
    let sent = wasm::execute(
        terra_net,
        "user",
        contract,
        &request_msg(channel, "7", 600),
        Some(&format!("{FEE}uluna")),
    )
    .expect("request_inference");
    let id: u64 = sent
        .attr("wasm", "request_id")
        .expect("request_id")
        .parse()
        .unwrap();
    let escrowed = rt()
        .block_on(chimera_e2e::bank::balance(terra_grpc, contract, terra::DENOM))
        .unwrap();
    assert_eq!(escrowed, FEE, "the fee waits in the contract");
    let mut record = Value::Null;
    wait_until("the contract records the result", WAIT, relayers, || {
        record = wasm::query(terra_net, contract, &json!({"request": {"id": id}})).unwrap();
        record["status"] != "pending"
    });
    assert_eq!(record["status"], "succeeded", "{record}");
    (id, record, sent)
}

#[test]
fn terra_contract_requests_inference_from_chimera() {
    let started = Instant::now();
    let wasm_file = wasm::requester_wasm().expect("the contract's wasm (scripts/wasm-build --contract)");
    let (terra_net, _chimera_net, tc, cc) = terra_and_chimera();
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    let (chan_t, _chan_c, conn_t) = relayer
        .create_channel(&tc.id, &cc.id, "transfer", "transfer", "ics20-1", None)
        .expect("transfer channel");

    let payout = payout_address();
    let (code, contract) = deploy(&terra_net, &wasm_file, &payout);

    // The chimera-inference-1 channel from the contract's port.
    let port = format!("wasm.{contract}");
    let (chan_w, chan_i, _) = relayer
        .create_channel(
            &tc.id,
            &cc.id,
            &port,
            "inference",
            "chimera-inference-1",
            Some(&conn_t),
        )
        .expect("inference channel from the contract");
    relayer.start(WAIT).expect("chimera relay");
    let channels = wasm::query(&terra_net, &contract, &json!({"channels": {}})).unwrap();
    assert!(channels.to_string().contains(&chan_w), "{channels}");
    eprintln!("[ok] channel {port}/{chan_w} <-> inference/{chan_i}");

    // A request: fee escrowed, result recorded, fee paid out.
    let users = tempfile::tempdir().unwrap();
    let terra_user = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let lunc = |addr: &str| {
        rt().block_on(chimera_e2e::bank::balance(&tc.grpc_addr, addr, terra::DENOM))
            .unwrap()
    };
    let payout_before = lunc(&payout);
    let t = Instant::now();
    let (id, record, sent) = request_and_wait(&terra_net, &tc.grpc_addr, &contract, &chan_w, &[&relayer]);
    let result = &record["outcome"]["result"];
    let sha = result["output_sha256"].as_str().unwrap();
    let data = chimera_fetch(sha, &cc.grpc_addr).unwrap();
    assert_eq!(hex::encode(chimera_e2e::inference::sha256(&data)), sha);
    assert_eq!(data.len().to_string(), result["output_size"].as_str().unwrap());
    eprintln!(
        "[ok] request {id}: job {} on chimerad, {} bytes verified against the contract's record ({:.1?})",
        result["job_id"],
        data.len(),
        t.elapsed()
    );
    assert_eq!(lunc(&contract), 0, "nothing left in escrow");
    let paid = lunc(&payout) - payout_before;
    assert!(
        paid > 0 && paid <= FEE,
        "the payout address got {paid} of {FEE} (minus burn tax)"
    );
    let listed = wasm::query(
        &terra_net,
        &contract,
        &json!({"requests_by_requester": {"requester": terra_user.address}}),
    )
    .unwrap();
    assert!(listed.to_string().contains(sha), "{listed}");

    // Gas on Terra, the code not pinned: the request above and the
    // relayer's tx carrying its acknowledgement, beside an ICS-20 transfer
    // and its acknowledgement's tx.
    let receiver = chimera_e2e::chimera::chimera_address(keys::USER_MNEMONIC)
        .unwrap()
        .to_string();
    let transfers_settled = || {
        rt().block_on(terra_user.packet_commitments("transfer", &chan_t))
            .unwrap()
            .is_empty()
    };
    // The first of each pays one-off costs (the payout address's and the
    // transfer escrow's accounts are created), so the comparison below
    // uses later ones.
    let first = measure_gas(
        &terra_net,
        &relayer,
        (&sent, &record),
        (&chan_w, &chan_t),
        &receiver,
        &transfers_settled,
    );
    first.print("code not pinned, first of each on a fresh chain");

    // An ICS-20 transfer chimerad refuses (a receiver that is not an
    // address): its error ack must be JSON Terra's ibc-go can read, so the
    // sender is refunded (ibc-rs's own error acks did not escape quotes).
    wasm::tx(
        &terra_net,
        "user",
        &[
            "ibc-transfer",
            "transfer",
            "transfer",
            &chan_t,
            "chimera1notanaddress",
            "5uluna",
        ],
    )
    .expect("ICS-20 transfer to a bad receiver");
    wait_until(
        "the refused transfer's error ack is taken by Terra",
        WAIT,
        &[&relayer],
        &transfers_settled,
    );

    // A request that times out: refunded, recorded as timed out.
    relayer.stop().unwrap();
    let late = wasm::execute(
        &terra_net,
        "user",
        &contract,
        &request_msg(&chan_w, "1", 3),
        Some(&format!("{FEE}uluna")),
    )
    .unwrap();
    let late_id: u64 = late.attr("wasm", "request_id").unwrap().parse().unwrap();
    std::thread::sleep(Duration::from_secs(6));
    relayer.start(WAIT).unwrap();
    wait_until("the timeout refunds the request", WAIT, &[&relayer], || {
        let r = wasm::query(&terra_net, &contract, &json!({"request": {"id": late_id}})).unwrap();
        r["status"] == "timed_out"
    });
    assert_eq!(lunc(&contract), 0, "the escrow went back");

    // A later request and transfer, the code not pinned; then the same with
    // the code pinned (wasmd then skips the 60,000-gas instance cost of an
    // `execute`) by a governance proposal the validator passes.
    let (_, record, sent) = request_and_wait(&terra_net, &tc.grpc_addr, &contract, &chan_w, &[&relayer]);
    let unpinned = measure_gas(
        &terra_net,
        &relayer,
        (&sent, &record),
        (&chan_w, &chan_t),
        &receiver,
        &transfers_settled,
    );
    unpinned.print("code not pinned");
    let proposal = wasm::pin_code(&terra_net, "validator", code).expect("pin the code by governance");
    eprintln!("[ok] code {code} pinned by proposal {proposal}");
    let (_, record, sent) = request_and_wait(&terra_net, &tc.grpc_addr, &contract, &chan_w, &[&relayer]);
    let pinned = measure_gas(
        &terra_net,
        &relayer,
        (&sent, &record),
        (&chan_w, &chan_t),
        &receiver,
        &transfers_settled,
    );
    pinned.print(&format!("code {code} pinned"));
    let ack = ack_tx(&terra_net, &chan_w, record["sequence"].as_u64());
    eprintln!("[ok] events: request tx: {}", event_kinds(&sent));
    eprintln!("[ok] events: relayer tx with its ack: {}", event_kinds(&ack));
    assert!(
        pinned.request < unpinned.request,
        "pinning lowers the request's gas: {unpinned:?} -> {pinned:?}"
    );
    eprintln!("contract test took {:.1?}", started.elapsed());
}

/// Gas used on Terra by a request and by the relayer's tx carrying its
/// acknowledgement (with its client update), and the same for an ICS-20
/// transfer on the same chain.
#[derive(Debug, Clone, Copy)]
struct Gas {
    request: u64,
    ics20: u64,
    request_ack: u64,
    ics20_ack: u64,
}

impl Gas {
    fn print(&self, case: &str) {
        eprintln!(
            "[ok] gas on Terra ({case}): request_inference {} vs ICS-20 transfer {} ({:.2}x); relayer tx with the ack: contract {} vs ICS-20 {} ({:.2}x)",
            self.request,
            self.ics20,
            self.request as f64 / self.ics20 as f64,
            self.request_ack,
            self.ics20_ack,
            self.request_ack as f64 / self.ics20_ack as f64
        );
    }
}

/// The gas of the relayer's tx that acknowledged packet `sequence` sent on
/// our `channel` (the latest such tx when the sequence is not known).
fn ack_gas(terra_net: &terra::TerraLocalnet, channel: &str, sequence: Option<u64>) -> u64 {
    ack_tx(terra_net, channel, sequence).gas_used
}

/// The relayer's tx that acknowledged packet `sequence` sent on our
/// `channel` (the latest such tx when the sequence is not known).
fn ack_tx(terra_net: &terra::TerraLocalnet, channel: &str, sequence: Option<u64>) -> wasm::TxResult {
    let mut query = format!("acknowledge_packet.packet_src_channel={channel}");
    if let Some(s) = sequence {
        query.push_str(&format!("&acknowledge_packet.packet_sequence={s}"));
    }
    let txs = wasm::txs_with_event(terra_net, &query).unwrap();
    txs.last()
        .cloned()
        .unwrap_or_else(|| panic!("no tx with {query}"))
}

/// `type×count` of a tx's events, in order of first appearance: what a tx
/// did, for reading its gas.
fn event_kinds(tx: &wasm::TxResult) -> String {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for e in &tx.events {
        let k = e["type"].as_str().unwrap_or("?").to_string();
        match kinds.iter_mut().find(|(n, _)| *n == k) {
            Some((_, c)) => *c += 1,
            None => kinds.push((k, 1)),
        }
    }
    kinds
        .iter()
        .map(|(k, c)| if *c == 1 { k.clone() } else { format!("{k}x{c}") })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Takes the gas of an answered request (its tx and its record), then sends
/// one ICS-20 transfer of 1uluna on `chan_t` and waits for its
/// acknowledgement.
fn measure_gas(
    terra_net: &terra::TerraLocalnet,
    relayer: &ChimeraRelayer,
    (sent, record): (&wasm::TxResult, &Value),
    (chan_w, chan_t): (&str, &str),
    receiver: &str,
    transfers_settled: &dyn Fn() -> bool,
) -> Gas {
    let ics20 = wasm::tx(
        terra_net,
        "user",
        &["ibc-transfer", "transfer", "transfer", chan_t, receiver, "1uluna"],
    )
    .expect("ICS-20 transfer");
    wait_until(
        "the ICS-20 transfer is acknowledged",
        WAIT,
        &[relayer],
        transfers_settled,
    );
    let ics20_sequence = ics20
        .attr("send_packet", "packet_sequence")
        .and_then(|s| s.parse().ok());
    Gas {
        request: sent.gas_used,
        ics20: ics20.gas_used,
        request_ack: ack_gas(terra_net, chan_w, record["sequence"].as_u64()),
        ics20_ack: ack_gas(terra_net, chan_t, ics20_sequence),
    }
}

/// The contract's channel opened and relayed by Hermes 1.11 instead:
/// `hermes create channel` from `wasm.<contract>` to `inference` (Hermes
/// stopped, as operators do), `hermes start`, the same request answered.
#[test]
fn terra_contract_through_hermes() {
    use chimera_e2e::devnet::{open_transfer_path, PlainSteps};
    use chimera_e2e::hermes::Hermes;

    let wasm_file = wasm::requester_wasm().expect("the contract's wasm");
    chimera_e2e::bins::find_binary("hermes").unwrap_or_else(|e| panic!("{e}"));
    let (terra_net, _chimera_net, tc, cc) = terra_and_chimera();
    let (_, contract) = deploy(&terra_net, &wasm_file, &payout_address());
    // wasmd drops the `message` events of a contract's sub-messages, so a
    // packet a contract sends has no `message.module = 'ibc_channel'`, the
    // query Hermes's websocket (push) mode subscribes with: Hermes must
    // read Terra in pull mode (every block's results) to see it.
    let mut terra_pull = tc.clone();
    terra_pull.event_source = chimera_e2e::hermes::EventSource::Pull {
        interval: Duration::from_millis(500),
    };
    let mut hermes = Hermes::new(vec![terra_pull, cc.clone()]).expect("hermes set-up");
    let path =
        open_transfer_path(&mut PlainSteps, &mut hermes, &tc.id, &cc.id, |_, _, _| Ok(())).expect("path");
    hermes.stop().unwrap();
    let chan = hermes
        .create_channel_between(
            &tc.id,
            &path.connection.a,
            &format!("wasm.{contract}"),
            "inference",
            "chimera-inference-1",
            "unordered",
        )
        .expect("hermes create channel from the contract");
    hermes.start(WAIT).expect("hermes start");
    let (id, record, _) = request_and_wait(&terra_net, &tc.grpc_addr, &contract, &chan.a, &[]);
    let sha = record["outcome"]["result"]["output_sha256"].as_str().unwrap();
    let data = chimera_fetch(sha, &cc.grpc_addr).unwrap();
    assert_eq!(hex::encode(chimera_e2e::inference::sha256(&data)), sha);
    eprintln!("[ok] request {id} through Hermes: {} bytes verified", data.len());
}
