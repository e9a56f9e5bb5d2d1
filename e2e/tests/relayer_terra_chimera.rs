//! `chimera relay` between Terra Classic (`terrad` v3.4) and chimerad, as an
//! operator runs it: `chimera keys import`, `chimera create channel` (both
//! clients, the connection and an ICS-20 channel, four-step handshakes),
//! `chimera relay`; then `uluna` to chimerad and `uchim` to Terra, a
//! timeout refund, and a crash: `kill -9` of the relayer in the middle of a
//! 60-packet burst, a restart, and every packet delivered and acknowledged
//! exactly once (the recipient holds exactly 60 transfers, the sender's
//! channel holds no commitment). Needs `terrad` and `cometbft` from
//! `scripts/setup` and a built chimerad.

use std::time::{Duration, Instant};

use chimera_e2e::bank;
use chimera_e2e::chimera::{self, chimera_address};
use chimera_e2e::hermes::{ibc_denom, RECIPIENT_MNEMONIC};
use chimera_e2e::keys;
use chimera_e2e::relayer::{
    rt, terra_and_chimera, transfer, user_chain, wait_until, ChimeraRelayer, Transfer,
};
use chimera_e2e::terra;

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn chimera_relay_carries_ics20_both_ways_timeouts_and_survives_kill_9() {
    let (_terra_net, _chimera_net, tc, cc) = terra_and_chimera();
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), cc.clone()]).expect("relayer set-up");
    relayer.run(&["config", "validate"]).expect("config validate");

    let t = Instant::now();
    let (chan_t, chan_c, _) = relayer
        .create_channel(&tc.id, &cc.id, "transfer", "transfer", "ics20-1", None)
        .expect("create channel");
    eprintln!(
        "[ok] clients, connection, channel {chan_t} <-> {chan_c} ({:.1?})",
        t.elapsed()
    );
    relayer.start(WAIT).expect("chimera relay");

    let users = tempfile::tempdir().unwrap();
    let terra_user = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let chimera_user = user_chain(&cc, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, users.path());
    let terra_recipient = keys::terra_address(RECIPIENT_MNEMONIC).unwrap().to_string();
    let chimera_recipient = chimera_address(RECIPIENT_MNEMONIC).unwrap().to_string();
    let voucher_on_chimera = ibc_denom(&format!("transfer/{chan_c}/{}", terra::DENOM));
    let voucher_on_terra = ibc_denom(&format!("transfer/{chan_t}/{}", chimera::DENOM));
    let bal = |grpc: &str, addr: &str, denom: &str| rt().block_on(bank::balance(grpc, addr, denom)).unwrap();

    // Terra → chimerad and chimerad → Terra.
    transfer(
        &terra_user,
        &Transfer {
            channel: &chan_t,
            denom: terra::DENOM,
            amount: 1_000_000,
            receiver: &chimera_recipient,
            count: 1,
            timeout_height: 0,
        },
    );
    wait_until("uluna arrives on chimerad", WAIT, &[&relayer], || {
        bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera) == 1_000_000
    });
    transfer(
        &chimera_user,
        &Transfer {
            channel: &chan_c,
            denom: chimera::DENOM,
            amount: 777,
            receiver: &terra_recipient,
            count: 1,
            timeout_height: 0,
        },
    );
    wait_until("uchim arrives on Terra", WAIT, &[&relayer], || {
        bal(&tc.grpc_addr, &terra_recipient, &voucher_on_terra) == 777
    });
    let rt0 = rt();
    wait_until(
        "both acknowledgements back (no commitments left)",
        WAIT,
        &[&relayer],
        || {
            rt0.block_on(terra_user.packet_commitments("transfer", &chan_t))
                .unwrap()
                .is_empty()
                && rt0
                    .block_on(chimera_user.packet_commitments("transfer", &chan_c))
                    .unwrap()
                    .is_empty()
        },
    );

    // Timeout: relayer stopped, a packet to chimerad that expires at
    // chimerad height now + 4; relayer back: a refund, no delivery.
    relayer.stop().unwrap();
    let (ch_h, _) = rt().block_on(chimera_user.latest()).unwrap();
    let before = bal(&tc.grpc_addr, &terra_user.address, terra::DENOM);
    let escrow_before = bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera);
    transfer(
        &terra_user,
        &Transfer {
            channel: &chan_t,
            denom: terra::DENOM,
            amount: 5_000,
            receiver: &chimera_recipient,
            count: 1,
            timeout_height: ch_h + 4,
        },
    );
    let after_send = bal(&tc.grpc_addr, &terra_user.address, terra::DENOM);
    let fee = before - after_send - 5_000;
    wait_until("chimerad passes the timeout height", WAIT, &[&relayer], || {
        rt().block_on(chimera_user.latest()).unwrap().0 > ch_h + 5
    });
    relayer.start(WAIT).unwrap();
    wait_until("timeout refunds the sender on Terra", WAIT, &[&relayer], || {
        bal(&tc.grpc_addr, &terra_user.address, terra::DENOM) == before - fee
    });
    assert_eq!(
        bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera),
        escrow_before
    );

    // kill -9 in the middle of a burst of 60 packets (two batches of 30).
    relayer.stop().unwrap();
    let start_bal = bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera);
    transfer(
        &terra_user,
        &Transfer {
            channel: &chan_t,
            denom: terra::DENOM,
            amount: 10,
            receiver: &chimera_recipient,
            count: 60,
            timeout_height: 0,
        },
    );
    relayer.start(WAIT).unwrap();
    wait_until("part of the burst delivered", WAIT, &[&relayer], || {
        bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera) > start_bal
    });
    relayer.kill();
    let mid = bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera) - start_bal;
    let unacked = rt0
        .block_on(terra_user.packet_commitments("transfer", &chan_t))
        .unwrap()
        .len();
    eprintln!(
        "       killed with {} of 60 packets received, {unacked} not acknowledged",
        mid / 10
    );
    relayer.start(WAIT).unwrap();
    wait_until(
        "every packet received after the restart",
        WAIT,
        &[&relayer],
        || bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera) == start_bal + 600,
    );
    wait_until("every packet acknowledged", WAIT, &[&relayer], || {
        rt0.block_on(terra_user.packet_commitments("transfer", &chan_t))
            .unwrap()
            .is_empty()
    });
    // Exactly once: nothing more arrives.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        bal(&cc.grpc_addr, &chimera_recipient, &voucher_on_chimera),
        start_bal + 600
    );
    let (code, body) = relayer.health().expect("health");
    assert_eq!(code, 200, "{body}");
    // `chimera status`: both chains, their clients of each other with time
    // left, the transfer channel with nothing unacknowledged.
    let status: serde_json::Value =
        serde_json::from_str(&relayer.run(&["status"]).expect("chimera status")).unwrap();
    for (c, chan) in [(&tc.id, &chan_t), (&cc.id, &chan_c)] {
        let st = status["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["chain"] == c.as_str())
            .unwrap_or_else(|| panic!("{c} missing: {status}"));
        assert!(st["height"].as_u64().unwrap_or(0) > 0, "{st}");
        assert!(st["balance"].as_str().is_some(), "{st}");
        let client = &st["clients"][0];
        assert!(client["expires_in_secs"].as_i64().unwrap_or(0) > 0, "{st}");
        let ch = st["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["channel"] == chan.as_str())
            .unwrap_or_else(|| panic!("{chan} missing: {st}"));
        assert_eq!(ch["unacknowledged_packets"], 0, "{st}");
    }
    eprintln!("[ok] chimera status");
    // What the restarted process found by clearing, it relayed itself.
    let relayed = |kind: &str| {
        relayer
            .metric(
                "chimera_relayer_packets_relayed_total",
                &[&format!("kind=\"{kind}\"")],
            )
            .unwrap_or(0.0)
    };
    if mid < 600 {
        assert!(relayed("recv") >= ((600 - mid) / 10) as f64, "recv after restart");
    }
    if unacked > 0 {
        assert!(relayed("ack") >= 1.0, "acks after restart");
    }
    relayer.stop().unwrap();
}
