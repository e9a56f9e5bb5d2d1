//! Fees on a real 4-validator chimerad net whose node3 executor reports
//! wrong results (`[executor] fault = "wrong-results"`), with a price for
//! `digits-cnn` in genesis (`app_state.fees`) and an operator account per
//! validator (`chimerad testnet --operator`): each request is charged
//! exactly its price; the three agreeing executors' operators receive
//! their shares to the micro-unit, the burn part leaves the supply and the
//! community part reaches the community account; node3 earns nothing,
//! collects a fault per job and, at the fault limit, is excluded (its
//! worker stops, the quorum still forms from the other three); its
//! operator's `MsgRegisterExecutorKey` reinstates it.
//!
//! Needs `cometbft` and a built chimerad (`cargo build -p chimera-host --bin
//! chimerad`) and the models (`scripts/setup models`).

use std::time::{Duration, Instant};

use chimera_e2e::chimera::{self, chimera_address, ChimeraNet, ChimeraNetConfig};
use chimera_e2e::inference::{self, wait_for_event, Event, Found, Job, GOLDEN_SEVEN};
use chimera_e2e::keys;
use chimera_packets::proto;
use cosmrs::Any;
use prost::{Message, Name};

const RESULT_WAIT: Duration = Duration::from_secs(240);
const GAS: u64 = 400_000;
const PRICE: u128 = 1000;
const FAULT_LIMIT: u64 = 2;

/// Operators of node0..node2: accounts nobody signs for here (they only
/// receive). Node3's is the recipient mnemonic's, which signs its
/// re-registration.
fn operator(i: usize) -> String {
    if i == 3 {
        return chimera_address(keys::VALIDATOR_MNEMONIC).unwrap().to_string();
    }
    cosmrs::AccountId::new("chimera", &[0x40 + i as u8; 20])
        .unwrap()
        .to_string()
}

fn prepare(i: usize, home: &std::path::Path) -> Result<(), String> {
    if i == 3 {
        inference::set_executor_fault(home, "wrong-results")?;
    }
    chimera::edit_genesis(home, |g| {
        g["app_state"]["fees"] = serde_json::json!({
            "prices": [{"model": "digits-cnn", "denom": "uchim", "amount": PRICE.to_string()}],
            "fault_limit": FAULT_LIMIT,
        });
    })
}

fn run_job(net: &ChimeraNet) -> (u64, u64) {
    let mut job = Job::digits_cnn(&GOLDEN_SEVEN);
    // Offers five times the price: the most it pays.
    job.fee = vec![("uchim".into(), PRICE * 5)];
    inference::submit_job(net, 0, &job, GAS).unwrap_or_else(|e| panic!("MsgRunInference: {e}"))
}

fn wait_result(net: &ChimeraNet, from: u64, id: u64) -> Found {
    let id = id.to_string();
    wait_for_event(net.rpc_addr(0).unwrap(), from, RESULT_WAIT, |e: &Event| {
        e.kind == "inference_result" && e.get("job_id") == id
    })
    .unwrap_or_else(|e| panic!("job {id}: {e}"))
}

/// The fee and fault events of block `height`.
fn fees_events(net: &ChimeraNet, height: u64) -> Vec<Event> {
    let addr = net.rpc_addr(0).unwrap();
    ["fees_paid", "executor_fault", "executor_excluded"]
        .iter()
        .flat_map(|k| inference::events_between(addr, height, height, k))
        .map(|(_, e)| e)
        .collect()
}

fn supply(net: &ChimeraNet) -> u128 {
    use cosmrs::proto::cosmos::bank::v1beta1::{QuerySupplyOfRequest, QuerySupplyOfResponse};
    let q = QuerySupplyOfRequest {
        denom: "uchim".into(),
    };
    let a = net
        .abci_query(0, "/cosmos.bank.v1beta1.Query/SupplyOf", &q.encode_to_vec())
        .unwrap();
    QuerySupplyOfResponse::decode(a.value.as_slice())
        .unwrap()
        .amount
        .unwrap()
        .amount
        .parse()
        .unwrap()
}

fn balance(net: &ChimeraNet, who: &str) -> u128 {
    net.balance(0, &who.parse().unwrap(), "uchim").unwrap()
}

#[test]
fn agreeing_executors_are_paid_and_a_wrong_one_is_excluded() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let mut config = ChimeraNetConfig {
        validators: 4,
        chain_id: "chimera-fees-4".into(),
        prepare_node: Some(prepare),
        operators: (0..4).map(operator).collect(),
        ..ChimeraNetConfig::default()
    };
    config.accounts.push((operator(3), "1000000uchim".into()));
    let mut net = ChimeraNet::start(config).expect("start 4-validator localnet");
    eprintln!(
        "4 validators (node3 wrong-results) up after {:?}",
        started.elapsed()
    );

    let community = inference::module_address("fees/community");
    let supply_before = supply(&net);
    // Pool 700 over 3 agreeing executors: 233 each; the 1 left over is
    // burned with the 200 burn part; 100 to the community.
    let (each, burned, to_community) = (233u128, 201u128, 100u128);

    for n in 1..=FAULT_LIMIT + 1 {
        let (height, id) = run_job(&net);
        let found = wait_result(&net, height, id);
        // CometBFT serves a block's results before the app has committed
        // it: balances are read once the next block is there.
        net.wait_for_height(found.height + 1, RESULT_WAIT)
            .expect("the next block");
        let ev = &found.event;
        assert_eq!(ev.get("status"), "completed", "{ev:?}");
        assert_eq!(ev.get("agreeing_power"), "30", "{ev:?}");
        let events = fees_events(&net, found.height);
        let paid = events
            .iter()
            .find(|e| e.kind == "fees_paid" && e.get("job_id") == id.to_string())
            .unwrap_or_else(|| panic!("no fees_paid for job {id}: {events:?}"));
        assert_eq!(
            paid.get("amount"),
            PRICE.to_string(),
            "charged the price, not the offer"
        );
        assert_eq!(paid.get("per_executor"), each.to_string());
        let n = n as u128;
        for i in 0..3 {
            assert_eq!(
                balance(&net, &operator(i)),
                n * each,
                "operator of node{i} after {n} jobs"
            );
        }
        assert_eq!(balance(&net, &community), n * to_community);
        assert_eq!(supply_before - supply(&net), n * burned, "burned after {n} jobs");
        let faults: Vec<_> = events.iter().filter(|e| e.kind == "executor_fault").collect();
        let excluded = events.iter().any(|e| e.kind == "executor_excluded");
        eprintln!(
            "job {id}: paid {each} x3, faults {:?}, excluded now: {excluded} ({:?})",
            faults.iter().map(|e| e.get("faults")).collect::<Vec<_>>(),
            started.elapsed()
        );
        match n as u64 {
            n if n < FAULT_LIMIT => assert_eq!(faults.len(), 1, "{events:?}"),
            n if n == FAULT_LIMIT => assert!(excluded, "excluded at the limit: {events:?}"),
            // Excluded: its reports are no longer recorded, so no fault.
            _ => assert!(faults.is_empty(), "an excluded executor gets no work: {events:?}"),
        }
    }
    assert_eq!(
        balance(&net, &operator(3)),
        1_000_000,
        "node3's operator earned nothing"
    );

    // Re-registering the executor key (signed by node3's operator) reinstates it.
    let key = inference::executor_keys_blocking(&format!("http://127.0.0.1:{}", net.ports(3).unwrap().grpc))
        .unwrap()
        .into_iter()
        .map(|(_, k)| k)
        .nth(3)
        .expect("node3's key");
    let msg = Any {
        type_url: proto::MsgRegisterExecutorKey::type_url(),
        value: proto::MsgRegisterExecutorKey {
            validator: operator(3),
            x25519_public_key: key.to_vec(),
        }
        .encode_to_vec(),
    };
    let tx = inference::sign_from(&net, 0, keys::VALIDATOR_MNEMONIC, vec![msg], 200_000).unwrap();
    let r = net.broadcast_tx_commit(0, &tx).unwrap();
    assert!(r.is_ok(), "MsgRegisterExecutorKey: {r:?}");
    let ev = wait_for_event(
        net.rpc_addr(0).unwrap(),
        1,
        Duration::from_secs(30),
        |e: &Event| e.kind == "executor_reinstated",
    )
    .expect("executor_reinstated");
    eprintln!("node3 reinstated at height {}", ev.height);
    // Back at work (and still wrong): the next job counts a fault again.
    let (height, id) = run_job(&net);
    let found = wait_result(&net, height, id);
    let events = fees_events(&net, found.height);
    assert!(
        events
            .iter()
            .any(|e| e.kind == "executor_fault" && e.get("faults") == "1"),
        "{events:?}"
    );
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    eprintln!("fees on 4 validators took {:?}", started.elapsed());
}
