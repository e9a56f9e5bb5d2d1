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
//!
//! Then the contract route's fee split (`docs/tokenomics.md`): a second
//! instance with a `fee_split` (70/20/10) and a price refuses a fee below
//! the price, and settles a result by sending the burn part to Terra's burn
//! account (burned by x/treasury), the community part to a fresh address,
//! and the executor part over ICS-20 to chimerad's `fees/pool`, which pays
//! the validator's operator in LUNC vouchers (`fees_paid`, route=remote).

use std::time::{Duration, Instant};

use chimera_e2e::hermes::{ibc_denom, HermesChain};
use chimera_e2e::keys;
use chimera_e2e::relayer::{chimera_fetch, rt, terra_and_chimera, user_chain, wait_until, ChimeraRelayer};
use chimera_e2e::terra;
use chimera_e2e::wasm;
use chimera_e2e::{chimera, fees};
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
    let (terra_net, _chimera_net, tc, cc) = terra_and_chimera_with_operator();
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    let (chan_t, chan_c, conn_t) = relayer
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

    fee_split_contract(
        &terra_net,
        &mut relayer,
        (&tc, &cc),
        code,
        (&conn_t, &chan_t, &chan_c),
        pinned,
    );
    eprintln!("contract test took {:.1?}", started.elapsed());
}

/// [`terra_and_chimera`] with the chimerad validator's operator account
/// in genesis ([`fees::operator_address`]), so that a job's executor part
/// has a payee.
fn terra_and_chimera_with_operator() -> (
    terra::TerraLocalnet,
    chimera::ChimeraNet,
    HermesChain,
    HermesChain,
) {
    for b in ["terrad", "cometbft"] {
        chimera_e2e::bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let mut config = chimera_e2e::devnet::chimera_config(chimera::DEFAULT_CHAIN_ID);
    config.operators = vec![fees::operator_address()];
    let (terra_net, chimera_net) =
        chimera_e2e::devnet::start_terra_and_chimera(chimera_e2e::devnet::terra_config(), config)
            .expect("localnets");
    let (tc, cc) = (
        HermesChain::terra(&terra_net),
        HermesChain::chimera(&chimera_net).expect("chimerad ports"),
    );
    (terra_net, chimera_net, tc, cc)
}

/// The value of `key` in the first event of type `kind` among `events`
/// (`terrad q tx -o json` form) whose attributes include every `(k, v)` of
/// `with`.
fn event_attr(events: &[Value], kind: &str, with: &[(&str, &str)], key: &str) -> Option<String> {
    events
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| e["attributes"].as_array().cloned().unwrap_or_default())
        .find(|attrs| {
            with.iter()
                .all(|(k, v)| attrs.iter().any(|a| a["key"] == *k && a["value"] == *v))
        })
        .and_then(|attrs| {
            attrs
                .iter()
                .find(|a| a["key"] == key)
                .and_then(|a| a["value"].as_str().map(str::to_string))
        })
}

/// Terra Classic v3.4's burn tax rate (`terrad q tax burn-tax-rate`) in
/// units of 1e-18.
fn burn_tax_rate(terra_net: &terra::TerraLocalnet) -> u128 {
    let out = terra_net
        .terrad_command(&["q", "tax", "burn-tax-rate", "-o", "json"])
        .expect("terrad q tax burn-tax-rate");
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let dec = v
        .as_object()
        .and_then(|o| o.values().find_map(Value::as_str))
        .or_else(|| v.as_str())
        .unwrap_or_else(|| panic!("no rate in {out}"))
        .to_string();
    let (int, frac) = dec.split_once('.').unwrap_or((&dec, ""));
    let frac = format!("{frac:0<18}");
    int.parse::<u128>().unwrap() * 1_000_000_000_000_000_000 + frac[..18].parse::<u128>().unwrap()
}

/// `12345uluna` -> 12345.
fn uluna(coins: &str) -> u128 {
    coins
        .strip_suffix(terra::DENOM)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an uluna amount: {coins:?}"))
}

/// A second instance of code `code` with a 70/20/10 fee split to
/// chimerad's fees pool over `chan_t` and a price of [`FEE`] for
/// `digits-ddpm`: a lower fee is refused; a result's fee is divided to the
/// micro-unit. Prints the gas of the relayer's tx carrying the
/// acknowledgement beside `pinned` (the same code, pinned, no split).
fn fee_split_contract(
    terra_net: &terra::TerraLocalnet,
    relayer: &mut ChimeraRelayer,
    (tc, cc): (&HermesChain, &HermesChain),
    code: u64,
    (conn_t, chan_t, chan_c): (&str, &str, &str),
    pinned: Gas,
) {
    const EXECUTOR: u128 = FEE * 7000 / 10_000;
    const BURN: u128 = FEE * 2000 / 10_000;
    const COMMUNITY: u128 = FEE - EXECUTOR - BURN;
    let t = Instant::now();
    let operator = fees::operator_address();
    let pool = chimera_e2e::inference::module_address("fees/pool");
    // A fresh Terra address: no account before its part arrives.
    let community = cosmrs::AccountId::new(
        "terra",
        &chimera_e2e::inference::sha256(b"chimera-e2e contract community")[..20],
    )
    .unwrap()
    .to_string();
    let admin = terra_net.account_address("user").unwrap().to_string();
    let (contract, _) = wasm::instantiate(
        terra_net,
        "user",
        &admin,
        code,
        &json!({
            "payout_address": payout_address(),
            "fee_split": {
                "transfer_channel": chan_t,
                "host_pool": pool,
                "burn_address": fees::TERRA_BURN_ADDRESS,
                "community_address": community,
                "executor_bps": 7000,
                "burn_bps": 2000,
                "community_bps": 1000,
            },
            "prices": [{"model": "digits-ddpm", "amount": FEE.to_string()}],
        }),
        "chimera-inference-requester-split",
    )
    .expect("instantiate with a fee split");
    let config = wasm::query(terra_net, &contract, &json!({"config": {}})).unwrap();
    assert_eq!(config["fee_split"]["host_pool"], pool, "{config}");
    assert_eq!(config["fee_split"]["transfer_channel"], chan_t, "{config}");
    assert_eq!(config["prices"][0]["amount"], FEE.to_string(), "{config}");

    relayer.stop().unwrap();
    let port = format!("wasm.{contract}");
    let (chan_w, chan_i, _) = relayer
        .create_channel(
            &tc.id,
            &cc.id,
            &port,
            "inference",
            "chimera-inference-1",
            Some(conn_t),
        )
        .expect("inference channel from the split contract");
    relayer.start(WAIT).unwrap();
    eprintln!("[ok] split contract {contract}: {port}/{chan_w} <-> inference/{chan_i}");

    let lunc = |addr: &str| {
        rt().block_on(chimera_e2e::bank::balance(&tc.grpc_addr, addr, terra::DENOM))
            .unwrap()
    };
    let voucher = ibc_denom(&format!("transfer/{chan_c}/{}", terra::DENOM));
    let vouchers = |addr: &str| {
        rt().block_on(chimera_e2e::bank::balance(&cc.grpc_addr, addr, &voucher))
            .unwrap()
    };

    // Below the price: refused by the contract, no packet, nothing held.
    let err = wasm::execute(
        terra_net,
        "user",
        &contract,
        &request_msg(&chan_w, "7", 600),
        Some(&format!("{}uluna", FEE - 1)),
    )
    .expect_err("a fee below the price");
    assert!(
        err.to_string().contains(&format!(
            "fee too low: model digits-ddpm costs at least {FEE}uluna, got {}uluna",
            FEE - 1
        )),
        "{err:#}"
    );
    assert_eq!(lunc(&contract), 0);
    assert!(wasm::query(terra_net, &contract, &json!({"request": {"id": 1}})).is_err());
    eprintln!("[ok] {} uluna for a {FEE}-uluna model refused", FEE - 1);

    let operator_before = vouchers(&operator);
    let community_before = lunc(&community);
    assert_eq!(community_before, 0, "a fresh address");
    let (id, record, _) = request_and_wait(terra_net, &tc.grpc_addr, &contract, &chan_w, &[relayer]);
    let job = record["outcome"]["result"]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let split = &record["fee_split"];
    assert_eq!(split["executor"], EXECUTOR.to_string(), "{record}");
    assert_eq!(split["burn"], BURN.to_string(), "{record}");
    assert_eq!(split["community"], COMMUNITY.to_string(), "{record}");
    assert_eq!(split["host_pool"], pool, "{record}");
    assert!(record.get("fee_paid_to").is_none(), "{record}");
    assert_eq!(lunc(&contract), 0, "nothing left in escrow");

    // The relayer's tx with the acknowledgement: the contract's attributes,
    // the two bank sends and the ICS-20 packet to the pool.
    let ack = ack_tx(terra_net, &chan_w, record["sequence"].as_u64());
    let wasm_attr = |k: &str| event_attr(&ack.events, "wasm", &[("_contract_address", &contract)], k);
    assert_eq!(wasm_attr("executor_part"), Some(EXECUTOR.to_string()));
    assert_eq!(wasm_attr("burn"), Some(BURN.to_string()));
    assert_eq!(wasm_attr("community"), Some(COMMUNITY.to_string()));
    assert_eq!(wasm_attr("host_pool").as_deref(), Some(pool.as_str()));
    let packet = event_attr(
        &ack.events,
        "send_packet",
        &[("packet_src_channel", chan_t)],
        "packet_data",
    )
    .unwrap_or_else(|| panic!("no ICS-20 send_packet in the ack tx: {}", event_kinds(&ack)));
    let packet: Value = serde_json::from_str(&packet).unwrap();
    assert_eq!(
        packet,
        json!({
            "amount": EXECUTOR.to_string(),
            "denom": terra::DENOM,
            "memo": format!("{{\"chimera_fees\":{{\"job_id\":\"{job}\"}}}}"),
            "receiver": pool,
            "sender": contract,
        })
    );
    eprintln!("[ok] events of the ack tx with the split: {}", event_kinds(&ack));
    // What Terra Classic v3.4 does to a contract's bank send: x/tax's burn
    // tax (`terrad q tax burn-tax-rate`; not x/treasury's `tax-rate`, which
    // v3.4 no longer applies), truncated, "reverse charged": taken out of
    // the amount sent (`tax_payment` with `reverse_charge=true`). The ICS-20
    // transfer is not taxed: the escrow receives the whole executor part.
    let rate = burn_tax_rate(terra_net);
    let tax = |amount: u128| amount * rate / 1_000_000_000_000_000_000;
    let one = |e: &Value, kind: &str, with: &[(&str, &str)], key: &str| {
        event_attr(std::slice::from_ref(e), kind, with, key)
    };
    let received = |to: &str| -> u128 {
        ack.events
            .iter()
            .filter_map(|e| one(e, "coin_received", &[("receiver", to)], "amount"))
            .map(|a| uluna(&a))
            .sum()
    };
    let taxes: Vec<u128> = ack
        .events
        .iter()
        .filter_map(|e| one(e, "tax_payment", &[("reverse_charge", "true")], "tax_amount"))
        .map(|a| uluna(&a))
        .collect();
    assert_eq!(
        taxes,
        vec![tax(BURN), tax(COMMUNITY)],
        "one reverse-charged tax per bank send"
    );
    let escrow = event_attr(
        &ack.events,
        "transfer",
        &[("sender", &contract), ("amount", &format!("{EXECUTOR}uluna"))],
        "recipient",
    )
    .expect("the executor part, untaxed, to the ICS-20 escrow");
    eprintln!(
        "[ok] burn tax rate {}: {} of the burn part, {} of the community part; {EXECUTOR} untaxed to the transfer escrow {escrow}",
        rate as f64 / 1e18,
        tax(BURN),
        tax(COMMUNITY)
    );

    // chimerad: the pool pays the one agreeing executor's operator.
    wait_until("the executor part reaches the operator", WAIT, &[relayer], || {
        vouchers(&operator) == operator_before + EXECUTOR
    });
    assert_eq!(vouchers(&pool), 0, "the pool keeps nothing");
    let users = tempfile::tempdir().unwrap();
    let chimera_user = user_chain(cc, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
    let paid = rt()
        .block_on(
            chimera_user.search_events(&format!("fees_paid.route='remote' AND fees_paid.job_id='{job}'")),
        )
        .unwrap();
    let fees_paid = paid
        .iter()
        .flat_map(|(_, events)| events)
        .find(|e| e.kind == "fees_paid")
        .unwrap_or_else(|| panic!("no fees_paid event for job {job} on chimerad"));
    let get = |k: &str| {
        fees_paid
            .attributes
            .iter()
            .find(|a| a.key_str().ok() == Some(k))
            .and_then(|a| a.value_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        (
            get("amount"),
            get("denom"),
            get("executors"),
            get("per_executor"),
            get("burn"),
            get("community")
        ),
        (
            EXECUTOR.to_string(),
            voucher.clone(),
            "1".into(),
            EXECUTOR.to_string(),
            "0".into(),
            "0".into()
        )
    );
    eprintln!("[ok] job {job}: operator {operator} paid {EXECUTOR} {voucher} by fees_paid (route=remote)");

    // Terra: the community part less its burn tax, exactly.
    assert_eq!(received(&community), COMMUNITY - tax(COMMUNITY));
    assert_eq!(lunc(&community) - community_before, COMMUNITY - tax(COMMUNITY));
    // The burn part less its tax reached the burn account, beside the
    // burned share of the two taxes; x/treasury burns the account's whole
    // balance at the end of the block: a `burn` event of the bank module
    // (a block event) for exactly what the tx put there, the account empty.
    let from_contract = event_attr(
        &ack.events,
        "transfer",
        &[("sender", &contract), ("recipient", fees::TERRA_BURN_ADDRESS)],
        "amount",
    )
    .map(|a| uluna(&a));
    assert_eq!(
        from_contract,
        Some(BURN - tax(BURN)),
        "the burn part less its tax"
    );
    // The rest that arrives there is the burned share of the two taxes
    // (from the fee collector): at most the taxes.
    let to_burn_account = received(fees::TERRA_BURN_ADDRESS);
    assert!(
        to_burn_account >= BURN - tax(BURN) && to_burn_account <= BURN + tax(COMMUNITY),
        "{to_burn_account}"
    );
    wait_until("x/treasury burns the burn account", WAIT, &[relayer], || {
        lunc(fees::TERRA_BURN_ADDRESS) == 0
    });
    let terra_user = user_chain(tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let burns = rt()
        .block_on(terra_user.search_events(&format!("burn.burner='{}'", fees::TERRA_BURN_ADDRESS)))
        .unwrap();
    let (burn_height, burned) = burns
        .iter()
        .filter(|(h, _)| *h >= ack.height)
        .flat_map(|(h, events)| events.iter().filter(|e| e.kind == "burn").map(move |e| (*h, e)))
        .map(|(h, e)| {
            let amount = e
                .attributes
                .iter()
                .find(|a| a.key_str().ok() == Some("amount"))
                .and_then(|a| a.value_str().ok())
                .map(uluna)
                .unwrap_or_default();
            (h, amount)
        })
        .next()
        .unwrap_or_else(|| panic!("no burn event from height {} on", ack.height));
    assert_eq!(burned, to_burn_account, "burned at height {burn_height}");
    eprintln!(
        "[ok] request {id}: {} uluna to the community ({COMMUNITY} less {} tax); {to_burn_account} uluna burned at height {burn_height} (the ack's at {}): {} of the burn part, {} of the taxes",
        COMMUNITY - tax(COMMUNITY),
        tax(COMMUNITY),
        ack.height,
        BURN - tax(BURN),
        to_burn_account - (BURN - tax(BURN)),
    );

    eprintln!(
        "[ok] gas on Terra (code {code} pinned): relayer tx with the ack, split {} vs whole fee to the payout address {} ({:+}) ({:.1?})",
        ack.gas_used,
        pinned.request_ack,
        ack.gas_used as i64 - pinned.request_ack as i64,
        t.elapsed()
    );
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
