//! The Chimera host chain as operators run it: `chimerad init` / `testnet`
//! homes, `chimerad start` with its real CometBFT 0.38 child, on loopback.
//! Single validator: blocks, a bank send with its exact fee, and each kind
//! of bad transaction refused with the Cosmos SDK's code while blocks go on.
//! Four validators: one app hash per height on every node. Crashes: `kill
//! -9` of either process at random moments, restart, and every app hash
//! seen before is unchanged. Needs `cometbft` from `scripts/setup` and a
//! built `chimerad` (`cargo build -p chimera-host --bin chimerad`); without
//! them every test here fails with that instruction.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chimera_e2e::bins;
use chimera_e2e::chimera::{
    self, chimera_address, chimera_signing_key, corrupt_signature, required_fee, sign_bank_send,
    sign_messages, BankSend, ChimeraNet, ChimeraNetConfig, DEFAULT_GENESIS_AMOUNT, DENOM,
};
use chimera_e2e::keys;
use cosmrs::{AccountId, Any};

const WAIT: Duration = Duration::from_secs(60);

/// The installed CometBFT and the built chimerad, or a failure naming the
/// fix.
fn require_binaries() {
    bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

fn user() -> AccountId {
    chimera_address(keys::USER_MNEMONIC).unwrap()
}

/// An address nobody funded (the validator mnemonic under coin type 118).
fn recipient() -> AccountId {
    chimera_address(keys::VALIDATOR_MNEMONIC).unwrap()
}

fn send(account_number: u64, sequence: u64, amount: u128, gas_limit: u64) -> BankSend {
    BankSend {
        to: recipient(),
        amount,
        denom: DENOM.into(),
        fee: required_fee(gas_limit),
        gas_limit,
        account_number,
        sequence,
        memo: String::new(),
    }
}

/// Account number and sequence of the funded user on node `i`.
fn user_account(net: &ChimeraNet, i: usize) -> (u64, u64) {
    let acc = net
        .account(i, &user())
        .expect("account query")
        .expect("the genesis account exists");
    (acc.account_number, acc.sequence)
}

/// Lowers the chain's `max_tx_bytes` to 64 KiB in a node's genesis, so an
/// oversized tx reaches the app (CometBFT's mempool refuses txs over 1 MiB,
/// the app's default limit, before the app sees them).
fn small_tx_limit(_: usize, home: &std::path::Path) -> Result<(), String> {
    let path = home.join("cometbft/config/genesis.json");
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    let mut g: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    g["app_state"]["params"]["max_tx_bytes"] = serde_json::json!(65536);
    std::fs::write(&path, g.to_string()).map_err(|e| e.to_string())
}

fn latest_height(net: &ChimeraNet, i: usize) -> u64 {
    net.status(i).expect("RPC /status").latest_height
}

#[test]
fn single_validator_moves_coins_charges_fees_and_refuses_bad_txs() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        prepare_node: Some(small_tx_limit),
        ..ChimeraNetConfig::default()
    })
    .expect("start localnet");
    net.wait_for_height(6, WAIT).expect("blocks past height 5");
    eprintln!("single validator at height 6 after {:?}", started.elapsed());
    let chain = net.chain_id().to_string();
    let key = chimera_signing_key(keys::USER_MNEMONIC).unwrap();

    assert_eq!(net.balance(0, &user(), DENOM).unwrap(), DEFAULT_GENESIS_AMOUNT);
    assert_eq!(net.balance(0, &recipient(), DENOM).unwrap(), 0);
    assert!(net.account(0, &recipient()).unwrap().is_none());
    let (number, seq) = user_account(&net, 0);
    assert_eq!(seq, 0);

    // A valid send, paying exactly ceil(gas x 0.025): 200_001 gas -> 5_001.
    let gas = 200_001;
    let fee = required_fee(gas);
    assert_eq!(fee, 5_001);
    let amount = 12_345;
    let tx = sign_bank_send(&key, &chain, &send(number, 0, amount, gas)).unwrap();
    let r = net.broadcast_tx_commit(0, &tx).expect("broadcast");
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(r.gas_wanted, gas);
    let after_send = DEFAULT_GENESIS_AMOUNT - amount - fee;
    assert_eq!(net.balance(0, &user(), DENOM).unwrap(), after_send);
    assert_eq!(net.balance(0, &recipient(), DENOM).unwrap(), amount);
    assert_eq!(user_account(&net, 0), (number, 1));
    // The recipient's account was created on receipt.
    assert!(net.account(0, &recipient()).unwrap().is_some());

    // The same bytes again: CometBFT's mempool cache refuses them before the
    // app sees them, or the app does with "wrong sequence".
    let r = net.broadcast_tx_commit(0, &tx).expect("broadcast replay");
    assert!(
        r.rpc_error
            .as_deref()
            .is_some_and(|e| e.contains("already exists in cache"))
            || r.check_code == 32,
        "{r:?}"
    );
    // The same signer and sequence with new bytes (a memo) reaches the app:
    // code 32, account sequence mismatch.
    let mut replay = send(number, 0, amount, gas);
    replay.memo = "replay".into();
    let r = net
        .broadcast_tx_commit(0, &sign_bank_send(&key, &chain, &replay).unwrap())
        .unwrap();
    assert_eq!(r.check_code, 32, "{r:?}");
    assert!(r.check_log.contains("sequence"), "{r:?}");

    // A bad signature: code 4.
    let good = sign_bank_send(&key, &chain, &send(number, 1, amount, gas)).unwrap();
    let r = net
        .broadcast_tx_commit(0, &corrupt_signature(&good).unwrap())
        .unwrap();
    assert_eq!(r.check_code, 4, "{r:?}");
    // Signed for another chain: also a bad signature, code 4.
    let r = net
        .broadcast_tx_commit(
            0,
            &sign_bank_send(&key, "other-chain", &send(number, 1, amount, gas)).unwrap(),
        )
        .unwrap();
    assert_eq!(r.check_code, 4, "{r:?}");
    // One uchim less than the minimum fee: code 13.
    let mut cheap = send(number, 1, amount, gas);
    cheap.fee = fee - 1;
    let r = net
        .broadcast_tx_commit(0, &sign_bank_send(&key, &chain, &cheap).unwrap())
        .unwrap();
    assert_eq!(r.check_code, 13, "{r:?}");
    assert!(r.check_log.contains("insufficient fee"), "{r:?}");
    // Bytes that are not a tx: code 2.
    let r = net.broadcast_tx_commit(0, &[0xff; 32]).unwrap();
    assert_eq!(r.check_code, 2, "{r:?}");
    // A message type the chain does not route: code 6.
    let unknown = Any {
        type_url: "/cosmos.gov.v1.MsgVote".into(),
        value: Vec::new(),
    };
    let r = net
        .broadcast_tx_commit(
            0,
            &sign_messages(&key, &chain, vec![unknown], &send(number, 1, 0, gas)).unwrap(),
        )
        .unwrap();
    assert_eq!(r.check_code, 6, "{r:?}");
    // A bogus IBC message (an IBC type URL whose bytes are not that message):
    // refused by CheckTx with the decode code and a log naming the message.
    let bogus_ibc = Any {
        type_url: "/ibc.core.client.v1.MsgUpdateClient".into(),
        value: vec![0x0a, 0xff, 0xff, 0xff],
    };
    let r = net
        .broadcast_tx_commit(
            0,
            &sign_messages(&key, &chain, vec![bogus_ibc], &send(number, 1, 0, gas)).unwrap(),
        )
        .unwrap();
    assert_eq!(r.check_code, 2, "{r:?}");
    assert!(r.check_log.contains("MsgUpdateClient"), "{r:?}");
    // A tx over the chain's size limit (64 KiB here, below CometBFT's own
    // mempool limit so that the app answers): code 21.
    let mut big = send(number, 1, amount, gas);
    big.memo = "x".repeat(70 * 1024);
    let r = net
        .broadcast_tx_commit(0, &sign_bank_send(&key, &chain, &big).unwrap())
        .unwrap();
    assert_eq!(r.check_code, 21, "{r:?}");
    assert!(r.check_log.contains("limit is 65536"), "{r:?}");
    // More than the balance: code 5 from the block (CheckTx runs only the
    // ante handler's fee deduction, which succeeds).
    let too_much = sign_bank_send(&key, &chain, &send(number, 1, DEFAULT_GENESIS_AMOUNT, gas)).unwrap();
    let r = net.broadcast_tx_commit(0, &too_much).unwrap();
    assert!(
        r.check_code == 5 || (r.check_code == 0 && r.tx_code == 5),
        "{r:?}"
    );
    let mut seq = 1;
    let mut spent = amount + fee;
    if r.check_code == 0 {
        // Failed in the block: the fee is charged and the sequence used, as
        // in the SDK; the coins stay.
        seq = 2;
        spent += fee;
    }

    // None of the refused txs left a trace in the mempool's view either: the
    // next valid tx, sent at once (no block in between to reset that view),
    // is accepted with the committed sequence.
    let r = net
        .broadcast_tx_commit(
            0,
            &sign_bank_send(&key, &chain, &send(number, seq, 1, gas)).unwrap(),
        )
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    seq += 1;
    spent += 1 + fee;

    // Nothing above moved coins except as accounted, and blocks keep coming.
    assert_eq!(
        net.balance(0, &user(), DENOM).unwrap(),
        DEFAULT_GENESIS_AMOUNT - spent
    );
    assert_eq!(net.balance(0, &recipient(), DENOM).unwrap(), amount + 1);
    assert_eq!(user_account(&net, 0), (number, seq));
    let h = latest_height(&net, 0);
    net.wait_for_height(h + 2, WAIT).expect("blocks after bad txs");

    // A graceful stop exits 0; after a restart the mempool cache is empty,
    // so the byte-identical replay of the first tx reaches the app: code 32.
    let status = net.stop_node(0).expect("stop");
    assert!(status.success(), "chimerad exited with {status} on SIGTERM");
    net.restart(0).expect("restart");
    let r = net.broadcast_tx_commit(0, &tx).unwrap();
    assert_eq!(r.check_code, 32, "{r:?}");
    assert_eq!(
        net.balance(0, &user(), DENOM).unwrap(),
        DEFAULT_GENESIS_AMOUNT - spent
    );
    let h = latest_height(&net, 0);
    net.wait_for_height(h + 2, WAIT).expect("blocks after restart");

    // The gRPC services wallets and Hermes use answer from the same state.
    let grpc = format!("http://127.0.0.1:{}", net.ports(0).unwrap().grpc);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let via_grpc = rt
        .block_on(chimera_e2e::bank::balance(&grpc, user().as_ref(), DENOM))
        .expect("gRPC bank balance");
    assert_eq!(via_grpc, DEFAULT_GENESIS_AMOUNT - spent);
    let info = rt
        .block_on(async {
            use cosmrs::proto::cosmos::base::tendermint::v1beta1::{
                service_client::ServiceClient, GetNodeInfoRequest,
            };
            ServiceClient::connect(grpc.clone())
                .await?
                .get_node_info(GetNodeInfoRequest {})
                .await
                .map_err(Into::into)
        })
        .map_err(|e: Box<dyn std::error::Error>| e.to_string())
        .expect("gRPC GetNodeInfo")
        .into_inner();
    let node = info.default_node_info.expect("default_node_info");
    assert_eq!(node.network, net.chain_id());
    assert_eq!(
        info.application_version.expect("application_version").app_name,
        "chimerad"
    );
    eprintln!("single-validator test took {:?}", started.elapsed());
}

#[test]
fn four_validators_agree_on_every_app_hash() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        validators: 4,
        chain_id: "chimera-4val-1".into(),
        ..ChimeraNetConfig::default()
    })
    .expect("start 4-validator localnet");
    eprintln!("4 validators up after {:?}", started.elapsed());

    // Genesis lists all four with power 10, and every node runs with them.
    for i in 0..4 {
        let vals = net.validators(i).expect("/validators");
        assert_eq!(vals.len(), 4, "node {i}: {vals:?}");
        assert!(vals.iter().all(|(_, p)| *p == 10), "node {i}: {vals:?}");
    }

    // A tx sent through node 2 changes state, so the hashes below are not
    // all the genesis hash.
    let key = chimera_signing_key(keys::USER_MNEMONIC).unwrap();
    let (number, seq) = user_account(&net, 2);
    let r = net
        .broadcast_tx_commit(
            2,
            &sign_bank_send(&key, net.chain_id(), &send(number, seq, 777, 100_000)).unwrap(),
        )
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let top = r.height.max(8) + 1;
    net.wait_for_height(top, WAIT)
        .expect("all four reach the top height");
    eprintln!("4 validators at height {top} after {:?}", started.elapsed());

    let mut distinct = std::collections::HashSet::new();
    for h in 2..=top {
        let hashes: Vec<String> = (0..4).map(|i| net.app_hash_at(i, h).unwrap()).collect();
        assert!(!hashes[0].is_empty(), "empty app hash at height {h}");
        assert!(
            hashes.iter().all(|x| *x == hashes[0]),
            "app hashes differ at height {h}: {hashes:?}"
        );
        distinct.insert(hashes[0].clone());
    }
    assert!(distinct.len() >= 2, "the send did not change the app hash");
    for i in 0..4 {
        assert_eq!(net.balance(i, &recipient(), DENOM).unwrap(), 777, "node {i}");
    }
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
}

/// xorshift64*: the crash moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("CHIMERA_E2E_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
        eprintln!("crash test seed {seed} (set CHIMERA_E2E_SEED={seed} to repeat)");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[test]
fn kill_9_of_either_process_then_restart_keeps_every_app_hash() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        chain_id: "chimera-crash-1".into(),
        timeout_commit: Duration::from_millis(300),
        ..ChimeraNetConfig::default()
    })
    .expect("start localnet");
    let key = chimera_signing_key(keys::USER_MNEMONIC).unwrap();
    let chain = net.chain_id().to_string();
    let (number, _) = user_account(&net, 0);
    let mut rng = Rng::new();
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let (amount, gas) = (1_000u128, 100_000u64);

    for round in 0..5 {
        // A tx in flight (accepted by CheckTx, maybe not yet in a block)...
        let (_, seq) = user_account(&net, 0);
        let tx = sign_bank_send(&key, &chain, &send(number, seq, amount, gas)).unwrap();
        let (code, log) = net.broadcast_tx_sync(0, &tx).expect("broadcast_tx_sync");
        assert_eq!(code, 0, "round {round}: {log}");
        // ...then a random moment, a record of every app hash so far, and the kill.
        std::thread::sleep(Duration::from_millis(rng.below(1500)));
        let top = latest_height(&net, 0);
        let from = seen.keys().next_back().map_or(1, |h| h + 1);
        for h in from..=top {
            seen.insert(h, net.app_hash_at(0, h).expect("app hash before the crash"));
        }
        let kill_cometbft = round % 2 == 1;
        if kill_cometbft {
            let (status, tail) = net.kill9_cometbft(0).expect("kill -9 cometbft");
            assert!(
                !status.success(),
                "round {round}: chimerad exited {status} after its cometbft died"
            );
            assert!(
                tail.contains("cometbft exited on its own") && tail.contains("cometbft.log"),
                "round {round}: chimerad's last words do not name the CometBFT log:\n{tail}"
            );
        } else {
            net.kill9(0).expect("kill -9 chimerad");
        }
        eprintln!(
            "round {round}: killed {} at height {top} ({:?} in)",
            if kill_cometbft { "cometbft" } else { "chimerad" },
            started.elapsed()
        );

        net.restart(0).expect("restart after kill -9");
        net.wait_for_height(top + 3, WAIT)
            .expect("blocks after the restart");
        for (h, hash) in &seen {
            assert_eq!(
                &net.app_hash_at(0, *h).expect("app hash after the crash"),
                hash,
                "round {round}: app hash at height {h} changed across the crash"
            );
        }
    }

    // Every committed send was applied exactly once: the balance matches the
    // sequence (each tx: amount + fee), whatever the crashes lost in flight.
    let (_, seq) = user_account(&net, 0);
    assert!(seq >= 1, "no tx survived five crashes");
    let per_tx = amount + required_fee(gas);
    assert_eq!(
        net.balance(0, &user(), DENOM).unwrap(),
        DEFAULT_GENESIS_AMOUNT - u128::from(seq) * per_tx
    );
    assert_eq!(
        net.balance(0, &recipient(), DENOM).unwrap(),
        u128::from(seq) * amount
    );
    let status = net.stop_node(0).expect("stop");
    assert!(status.success(), "{status}");
    eprintln!(
        "crash test took {:?}, {} heights checked",
        started.elapsed(),
        seen.len()
    );
}

/// Runs `chimerad args...` and returns (exit code, stdout, stderr).
fn chimerad(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(chimera::find_chimerad().unwrap())
        .args(args)
        .output()
        .expect("run chimerad");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn init_and_testnet_write_consistent_homes_and_refuse_misuse() {
    require_binaries();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("solo");
    let home_s = home.to_str().unwrap();
    let acct = format!("{}=1000uchim,5foo", user());

    let base = [
        "init",
        "--home",
        home_s,
        "--chain-id",
        "solo-1",
        "--moniker",
        "solo",
    ];
    let (code, out, err) = chimerad(&[&base[..], &["--account", &acct, "--abci-port", "36658"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let g = read_json(&home.join("cometbft/config/genesis.json"));
    assert_eq!(g["chain_id"], "solo-1");
    assert_eq!(g["initial_height"], "1");
    assert_eq!(
        g["consensus_params"]["abci"]["vote_extensions_enable_height"],
        "1"
    );
    assert_eq!(g["app_state"]["accounts"][0]["address"], user().to_string());
    assert_eq!(g["app_state"]["accounts"][0]["coins"][1]["amount"], "5");
    assert_eq!(g["app_state"]["params"]["fee_denom"], "uchim");
    let cfg = std::fs::read_to_string(home.join("cometbft/config/config.toml")).unwrap();
    // ABCI over a Unix socket in the home by default (no Nagle delay).
    let socket = std::path::absolute(home.join("data/abci.sock")).unwrap();
    let proxy_app = format!("proxy_app = \"unix://{}\"", socket.display());
    for line in [
        proxy_app.as_str(),
        "moniker = \"solo\"",
        "laddr = \"tcp://127.0.0.1:26657\"",
        "timeout_commit = \"1s\"",
        "indexer = \"kv\"",
        "allow_duplicate_ip = true",
        "addr_book_strict = false",
    ] {
        assert!(cfg.lines().any(|l| l == line), "config.toml lacks {line:?}");
    }
    let app_cfg = std::fs::read_to_string(home.join("config/chimerad.toml")).unwrap();
    assert!(
        app_cfg.contains("abci_address = \"127.0.0.1:36658\""),
        "{app_cfg}"
    );
    assert!(app_cfg.contains("abci_socket = \"data/abci.sock\""), "{app_cfg}");
    assert!(app_cfg.contains("keep_versions = 100000"), "{app_cfg}");

    // An existing home is refused (one line, exit 2) unless --overwrite.
    let (code, _, err) = chimerad(&base);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--overwrite"), "{err}");
    let key_before = std::fs::read(home.join("cometbft/config/priv_validator_key.json")).unwrap();
    let (code, out, err) = chimerad(&[&base[..], &["--overwrite"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    let key_after = std::fs::read(home.join("cometbft/config/priv_validator_key.json")).unwrap();
    assert_ne!(key_before, key_after, "--overwrite must make a new node");

    // Usage mistakes: exit 2, one line naming the problem.
    let other = dir.path().join("other");
    let other_s = other.to_str().unwrap();
    for (extra, needle) in [
        (vec!["--account", "chimera1nope=5uchim"], "--account"),
        (vec!["--account", &acct, "--account", &acct], "twice"),
        (vec!["--rpc-port", "9090"], "--grpc-port"),
        (vec!["--timeout-commit", "soon"], "--timeout-commit"),
    ] {
        let args = [
            &["init", "--home", other_s, "--chain-id", "x-1", "--moniker", "m"][..],
            &extra,
        ]
        .concat();
        let (code, _, err) = chimerad(&args);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    assert!(
        !other.join("cometbft").exists(),
        "a refused init must not create the node"
    );

    // testnet: one genesis for all, every validator in it, peers wired.
    let out_dir = dir.path().join("net");
    let (code, out, err) = chimerad(&[
        "testnet",
        "--validators",
        "3",
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--chain-id",
        "tn-1",
        "--base-port",
        "41000",
        "--account",
        &acct,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let genesis: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_to_string(out_dir.join(format!("node{i}/cometbft/config/genesis.json"))).unwrap()
        })
        .collect();
    assert!(genesis.iter().all(|g| *g == genesis[0]), "genesis files differ");
    let g: serde_json::Value = serde_json::from_str(&genesis[0]).unwrap();
    let vals = g["validators"].as_array().unwrap();
    assert_eq!(vals.len(), 3);
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(v["power"], "10");
        let key = read_json(&out_dir.join(format!("node{i}/cometbft/config/priv_validator_key.json")));
        assert_eq!(v["pub_key"], key["pub_key"], "validator {i}");
    }
    for i in 0..3u16 {
        let cfg =
            std::fs::read_to_string(out_dir.join(format!("node{i}/cometbft/config/config.toml"))).unwrap();
        let p2p = 41000 + 10 * i;
        assert!(
            cfg.contains(&format!("laddr = \"tcp://127.0.0.1:{p2p}\"")),
            "node{i}"
        );
        let socket = std::path::absolute(out_dir.join(format!("node{i}/data/abci.sock"))).unwrap();
        assert!(
            cfg.contains(&format!("proxy_app = \"unix://{}\"", socket.display())),
            "node{i}"
        );
        let peers = cfg
            .lines()
            .find(|l| l.starts_with("persistent_peers = "))
            .unwrap();
        assert_eq!(peers.matches('@').count(), 2, "node{i}: {peers}");
        assert!(
            !peers.contains(&format!(":{p2p}\"")) && !peers.contains(&format!(":{p2p},")),
            "node{i} peers itself: {peers}"
        );
    }
    let (code, _, err) = chimerad(&[
        "testnet",
        "--validators",
        "0",
        "--output-dir",
        "x",
        "--chain-id",
        "c",
    ]);
    assert_eq!(code, 2, "{err}");
}
