//! A real Terra Classic localnet (terrad v3.4.x) through the harness: it
//! makes blocks, reports exact genesis balances over gRPC, stops without
//! leaving processes behind, and its failure modes (taken port, stale home)
//! explain themselves. Needs `terrad` from `scripts/setup`; without it every
//! test here fails with that instruction.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chimera_e2e::bins;
use chimera_e2e::home::HomeError;
use chimera_e2e::keys::{self, COSMOS_COIN_TYPE, TERRA_PREFIX};
use chimera_e2e::process::process_group_alive;
use chimera_e2e::terra::{
    self, TerraConfig, TerraError, TerraLocalnet, TerraPorts, DEFAULT_GENESIS_AMOUNT,
    DEFAULT_SELF_DELEGATION, DENOM,
};

/// The installed terrad, or a failure telling the reader to run the set-up.
fn require_terrad() -> PathBuf {
    bins::find_binary("terrad").unwrap_or_else(|e| panic!("{e}"))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

#[test]
fn localnet_makes_blocks_and_reports_exact_genesis_balances() {
    require_terrad();
    let mut net = TerraLocalnet::start(TerraConfig::default()).expect("start localnet");

    let status = net.status().expect("RPC /status");
    assert_eq!(status.network, terra::DEFAULT_CHAIN_ID);
    assert!(status.latest_height >= 2, "{status:?}");
    assert_eq!(net.validator_address(), keys::VALIDATOR_ADDRESS);
    assert_eq!(net.account_address("user"), Some(keys::USER_ADDRESS));

    // Blocks keep coming, and nothing in them moves genesis funds: the
    // validator holds its genesis amount less its self-delegation (staking
    // rewards accrue in distribution, not in the bank balance), the unbonded
    // user exactly its genesis amount.
    let h = net
        .wait_for_height(status.latest_height + 2, Duration::from_secs(60))
        .expect("more blocks");
    assert!(h >= status.latest_height + 2);
    let (validator, user) = block_on(async {
        (
            net.balance(keys::VALIDATOR_ADDRESS, DENOM).await,
            net.balance(keys::USER_ADDRESS, DENOM).await,
        )
    });
    assert_eq!(
        validator.expect("validator balance over gRPC"),
        DEFAULT_GENESIS_AMOUNT - DEFAULT_SELF_DELEGATION
    );
    assert_eq!(user.expect("user balance over gRPC"), DEFAULT_GENESIS_AMOUNT);
    // A denom nobody holds is a zero balance, not an error.
    assert_eq!(block_on(net.balance(keys::USER_ADDRESS, "uusd")).unwrap(), 0);

    // The CLI is pointed at this node by client.toml.
    let out = net
        .terrad_command(&[
            "query",
            "bank",
            "balances",
            keys::USER_ADDRESS,
            "--output",
            "json",
        ])
        .expect("terrad query bank balances");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON from terrad");
    assert_eq!(
        v["balances"][0],
        serde_json::json!({"denom": DENOM, "amount": DEFAULT_GENESIS_AMOUNT.to_string()})
    );

    let pgid = net.process().pgid();
    assert!(process_group_alive(pgid));
    net.stop().expect("stop");
    assert!(!process_group_alive(pgid), "terrad's process group survived stop");
    assert!(
        std::net::TcpStream::connect(net.rpc_addr()).is_err(),
        "RPC port still accepting after stop"
    );
}

#[test]
fn port_in_use_is_named_before_anything_starts() {
    require_terrad();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let ports = TerraPorts {
        grpc: port,
        ..TerraPorts::pick().unwrap()
    };
    let err = TerraLocalnet::start(TerraConfig {
        ports: Some(ports),
        ..TerraConfig::default()
    })
    .expect_err("a taken gRPC port must be refused");
    let msg = err.to_string();
    match &err {
        TerraError::PortInUse(p) => assert_eq!(p.port, port, "{msg}"),
        other => panic!("expected PortInUse, got: {other}"),
    }
    assert!(
        msg.contains(&format!("port {port} ")) && msg.contains("gRPC") && msg.contains("already in use"),
        "{msg}"
    );
}

#[test]
fn stale_home_is_refused_with_a_clear_message() {
    let terrad = require_terrad();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("old-node");
    // A home that terrad itself initialised earlier.
    let out = Command::new(&terrad)
        .args(["init", "old", "--chain-id", "old-1", "--home"])
        .arg(&home)
        .env("LD_LIBRARY_PATH", bins::library_path().unwrap_or_default())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let err = TerraLocalnet::start(TerraConfig {
        home: Some(home.clone()),
        ..TerraConfig::default()
    })
    .expect_err("a stale home must be refused");
    let msg = err.to_string();
    assert!(
        matches!(err, TerraError::Home(HomeError::Stale { .. })),
        "expected a stale-home error, got: {msg}"
    );
    assert!(
        msg.contains(&home.display().to_string()) && msg.contains("already holds an initialised node"),
        "{msg}"
    );
}

#[test]
fn coin_type_330_derivation_matches_terrad_keys_show() {
    let terrad = require_terrad();
    let scratch = tempfile::tempdir().unwrap();
    for (name, mnemonic, published) in [
        ("validator", keys::VALIDATOR_MNEMONIC, keys::VALIDATOR_ADDRESS),
        ("user", keys::USER_MNEMONIC, keys::USER_ADDRESS),
    ] {
        let ours = keys::terra_address(mnemonic).unwrap().to_string();
        let theirs = terra::terrad_key_address(&terrad, scratch.path(), name, mnemonic)
            .expect("terrad keys add --recover / keys show -a");
        assert_eq!(ours, theirs, "m/44'/330'/0'/0/0 vs terrad for {name}");
        assert_eq!(ours, published);
        let cosmos = keys::address(mnemonic, COSMOS_COIN_TYPE, TERRA_PREFIX).unwrap();
        assert_ne!(
            cosmos.to_string(),
            theirs,
            "terrad must not be using coin type 118"
        );
    }
}
