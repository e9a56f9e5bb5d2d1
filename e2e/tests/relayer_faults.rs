//! `chimera relay` under operator faults, between Terra Classic and
//! chimerad: a relayer whose chimerad account holds nothing reports
//! `out_of_funds` (metric and one clear log line) and relays by itself once
//! funded; then chimerad's RPC and gRPC go away for a minute (a TCP proxy
//! drops every connection while the chain keeps making blocks): `/health`
//! turns 503, the relayer retries with back-off, and once the node is back
//! it catches up and delivers the packet sent meanwhile. Clients of short
//! trusting period (100 s) are refreshed while the path idles. Needs
//! `terrad` and `cometbft` from `scripts/setup` and a built chimerad.

use std::time::{Duration, Instant};

use bip32::{Language, Mnemonic};
use chimera_e2e::bank;
use chimera_e2e::chimera::{self, chimera_address};
use chimera_e2e::hermes::{ibc_denom, HermesKey, RECIPIENT_MNEMONIC};
use chimera_e2e::keys;
use chimera_e2e::ports;
use chimera_e2e::proxy::TcpProxy;
use chimera_e2e::relayer::{
    rt, terra_and_chimera, transfer, user_chain, wait_until, ChimeraRelayer, Transfer,
};
use chimera_e2e::terra;
use chimera_relayer::light::any;
use cosmrs::proto::cosmos::bank::v1beta1::MsgSend;
use cosmrs::proto::cosmos::base::v1beta1::Coin;

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn chimera_relay_recovers_from_an_empty_account_and_a_node_down_for_a_minute() {
    let (_terra_net, chimera_net, mut tc, mut cc) = terra_and_chimera();
    tc.trusting_period = Duration::from_secs(100);
    cc.trusting_period = Duration::from_secs(100);
    // The path, opened by a funded relayer.
    let opener = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    let (chan_t, chan_c, _) = opener
        .create_channel(&tc.id, &cc.id, "transfer", "transfer", "ics20-1", None)
        .expect("create channel");

    // The relayer under test: its chimerad key holds nothing, and it
    // reaches chimerad through proxies the test can take down.
    let rpc_proxy = TcpProxy::start(chimera_net.rpc_addr(0).unwrap()).unwrap();
    let grpc_proxy = TcpProxy::start(ports::loopback(chimera_net.ports(0).unwrap().grpc)).unwrap();
    let empty = Mnemonic::from_entropy(*b"chimera-e2e-relayer-unfunded-00!", Language::English);
    let empty_address = chimera_address(empty.phrase()).unwrap().to_string();
    let mut proxied = cc.clone();
    proxied.rpc_addr = rpc_proxy.url();
    proxied.grpc_addr = grpc_proxy.url();
    proxied.keys[0] = HermesKey {
        name: "relayer".into(),
        mnemonic: empty.phrase().into(),
    };
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), proxied]).expect("relayer set-up");
    relayer.start(WAIT).expect("chimera relay");

    let users = tempfile::tempdir().unwrap();
    let terra_user = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let chimera_user = user_chain(&cc, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
    let recipient = chimera_address(RECIPIENT_MNEMONIC).unwrap().to_string();
    let voucher = ibc_denom(&format!("transfer/{chan_c}/{}", terra::DENOM));
    let bal = |addr: &str, denom: &str| rt().block_on(bank::balance(&cc.grpc_addr, addr, denom)).unwrap();
    let send_luna = |amount: u128| {
        transfer(
            &terra_user,
            &Transfer {
                channel: &chan_t,
                denom: terra::DENOM,
                amount,
                receiver: &recipient,
                count: 1,
                timeout_height: 0,
            },
        )
    };

    // Out of funds: a clear error and metric, nothing delivered.
    send_luna(1_000);
    wait_until(
        "out_of_funds counted and one log line naming the account",
        WAIT,
        &[&relayer],
        || {
            let log = std::fs::read_to_string(relayer.home().join(chimera_e2e::relayer::RELAY_LOG))
                .unwrap_or_default();
            relayer
                .metric("chimera_relayer_errors_total", &["kind=\"out_of_funds\""])
                .unwrap_or(0.0)
                >= 1.0
                && log
                    .lines()
                    .any(|l| l.contains("cannot pay fees") && l.contains(&empty_address))
        },
    );
    assert_eq!(bal(&recipient, &voucher), 0);
    // Funded: it resumes by itself.
    let fund = MsgSend {
        from_address: chimera_user.address.clone(),
        to_address: empty_address.clone(),
        amount: vec![Coin {
            denom: chimera::DENOM.into(),
            amount: "50000000".into(),
        }],
    };
    rt().block_on(chimera_user.send(vec![any(&fund)]))
        .expect("fund the relayer");
    wait_until("funded: the packet arrives", WAIT, &[&relayer], || {
        bal(&recipient, &voucher) == 1_000
    });

    // Clients of a 100 s trusting period are refreshed while idle.
    wait_until("an idle client refreshed", WAIT, &[&relayer], || {
        std::fs::read_to_string(relayer.home().join(chimera_e2e::relayer::RELAY_LOG))
            .unwrap_or_default()
            .contains("client refreshed")
    });

    // chimerad's RPC and gRPC down for a minute.
    rpc_proxy.set_down(true);
    grpc_proxy.set_down(true);
    let down = Instant::now();
    send_luna(2_000);
    let mut saw_503 = false;
    while down.elapsed() < Duration::from_secs(60) {
        if let Some((code, _)) = relayer.health() {
            saw_503 |= code == 503;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(saw_503, "/health never reported the node down");
    assert!(relayer.is_running(), "the relayer exited while the node was down");
    rpc_proxy.set_down(false);
    grpc_proxy.set_down(false);
    wait_until(
        "node back: the packet sent meanwhile arrives",
        WAIT,
        &[&relayer],
        || bal(&recipient, &voucher) == 3_000,
    );
    wait_until("/health is 200 again", WAIT, &[&relayer], || {
        relayer.health().is_some_and(|(c, _)| c == 200)
    });
    relayer.stop().unwrap();
}
