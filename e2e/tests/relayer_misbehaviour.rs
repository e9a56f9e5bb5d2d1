//! Misbehaviour, for real: a fork of chimerad signed by the same validator
//! key (a second network started from the first one's genesis, validator
//! key and executor key) feeds Terra's client of chimerad a header that is
//! not chimerad's block (`chimera update client` pointed at the fork).
//! `chimera relay`, watching Terra's blocks, compares every header a
//! client of chimerad takes with chimerad's own block at that height, finds
//! the conflict, and submits both headers (`MsgSubmitMisbehaviour`); Terra's
//! ibc-go verifies them and freezes the client. Needs `terrad` and
//! `cometbft` from `scripts/setup` and a built chimerad.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chimera_e2e::chimera::{self, ChimeraNet};
use chimera_e2e::devnet::chimera_config;
use chimera_e2e::hermes::HermesChain;
use chimera_e2e::relayer::{rt, terra_and_chimera, wait_until, ChimeraRelayer, RELAY_LOG};
use ibc_proto::ibc::core::client::v1 as client;

const WAIT: Duration = Duration::from_secs(120);

/// The home of the real chain's validator, for the fork's `prepare_node`
/// hook (a plain `fn`).
static REAL_HOME: OnceLock<PathBuf> = OnceLock::new();

/// Makes node 0 of the fork a copy of the real validator: same genesis,
/// same consensus key, same executor key; its own data.
fn copy_validator(_: usize, home: &std::path::Path) -> Result<(), String> {
    let real = REAL_HOME.get().ok_or("no real home")?;
    for f in [
        "cometbft/config/genesis.json",
        "cometbft/config/priv_validator_key.json",
        "config/executor_key.json",
    ] {
        std::fs::copy(real.join(f), home.join(f)).map_err(|e| format!("copying {f}: {e}"))?;
    }
    Ok(())
}

fn client_status(grpc: &str, client_id: &str) -> String {
    rt().block_on(async {
        let mut q = client::query_client::QueryClient::connect(grpc.to_string())
            .await
            .ok()?;
        let r = q
            .client_status(client::QueryClientStatusRequest {
                client_id: client_id.into(),
            })
            .await
            .ok()?;
        Some(r.into_inner().status)
    })
    .unwrap_or_default()
}

#[test]
fn chimera_relay_freezes_a_client_fed_a_forked_header() {
    let (_terra_net, real, tc, cc) = terra_and_chimera();
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    let out = relayer
        .run(&["create", "client", "--host", &tc.id, "--reference", &cc.id])
        .expect("create client");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let client_id = v["client_id"].as_str().unwrap().to_string();
    assert_eq!(client_status(&tc.grpc_addr, &client_id), "Active");
    relayer.start(WAIT).expect("chimera relay");

    // The fork: same genesis and validator key, started later, so its
    // blocks have other times and hashes at the same heights.
    REAL_HOME.set(real.home(0).unwrap().to_path_buf()).unwrap();
    let mut fork_config = chimera_config(chimera::DEFAULT_CHAIN_ID);
    fork_config.prepare_node = Some(copy_validator);
    let fork = ChimeraNet::start(fork_config).expect("the fork");
    let fc = HermesChain::chimera(&fork).unwrap();
    let latest = rt()
        .block_on(async {
            let mut q = client::query_client::QueryClient::connect(tc.grpc_addr.clone()).await?;
            let r = q
                .client_state(client::QueryClientStateRequest {
                    client_id: client_id.clone(),
                })
                .await?;
            let any = r.into_inner().client_state.unwrap_or_default();
            let cs = <ibc_proto::ibc::lightclients::tendermint::v1::ClientState as prost::Message>::decode(
                any.value.as_slice(),
            )?;
            anyhow::Ok(cs.latest_height.unwrap_or_default().revision_height)
        })
        .unwrap();
    let start = Instant::now();
    while chimera_e2e::rpc::status(fork.rpc_addr(0).unwrap()).map_or(0, |s| s.latest_height) <= latest + 2 {
        assert!(start.elapsed() < WAIT, "the fork does not pass height {latest}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Someone updates Terra's client with the fork's header.
    let forger = ChimeraRelayer::new(vec![tc.clone(), fc]).expect("forger set-up");
    let out = forger
        .run(&["update", "client", "--host", &tc.id, "--client", &client_id])
        .expect("update client from the fork");
    eprintln!("[ok] Terra's client took the fork's header: {}", out.trim());

    let start = Instant::now();
    loop {
        let status = client_status(&tc.grpc_addr, &client_id);
        if status == "Frozen" {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "client still {status:?}\n--- relay log ---\n{}",
            relayer.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!(
        "[ok] client {client_id} on Terra is Frozen ({:.1?})",
        start.elapsed()
    );
    // The relayer logs and counts its tx once it is committed, a moment
    // after the chain shows the client frozen.
    wait_until(
        "the relayer reports the misbehaviour it submitted",
        WAIT,
        &[&relayer],
        || {
            std::fs::read_to_string(relayer.home().join(RELAY_LOG))
                .unwrap_or_default()
                .contains("misbehaviour submitted")
                && relayer
                    .metric("chimera_relayer_errors_total", &["kind=\"misbehaviour\""])
                    .unwrap_or(0.0)
                    >= 1.0
        },
    );
    relayer.stop().unwrap();
}
