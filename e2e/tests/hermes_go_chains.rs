//! The Hermes harness against two known-good Go chains: two Terra Classic
//! v3.4.0 localnets (ibc-go v7). Hermes creates both clients, a connection
//! and an ICS-20 channel; `hermes start` relays a transfer A → B, the
//! voucher's return B → A and a native transfer B → A, with exact balances
//! (sender, receiver, escrow) on both sides; then, with Hermes stopped, a
//! transfer with a near timeout height is not relayed in time, and `hermes
//! tx packet-recv` times it out on the source, refunding the sender.
//! This validates the harness before it is pointed at chimerad
//! (`hermes_chimera.rs`). Needs `terrad` and `hermes` from `scripts/setup`.

use std::time::{Duration, Instant};

use chimera_e2e::hermes::{
    self, escrow_address, ibc_denom, FtTransfer, Hermes, HermesChain, RELAYER_MNEMONIC, TRANSFER_PORT,
};
use chimera_e2e::keys::{self, TERRA_PREFIX};
use chimera_e2e::terra::{GenesisAccount, TerraConfig, TerraLocalnet, DEFAULT_GENESIS_AMOUNT, DENOM};

const WAIT: Duration = Duration::from_secs(90);

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

fn terra(chain_id: &str) -> TerraLocalnet {
    let config = TerraConfig {
        chain_id: chain_id.into(),
        accounts: vec![
            GenesisAccount::user(),
            GenesisAccount {
                name: hermes::RELAYER_KEY.into(),
                mnemonic: RELAYER_MNEMONIC.into(),
                amount: DEFAULT_GENESIS_AMOUNT,
            },
        ],
        ..TerraConfig::default()
    };
    TerraLocalnet::start(config).unwrap_or_else(|e| panic!("start {chain_id}: {e}"))
}

fn balance(net: &TerraLocalnet, address: &str, denom: &str) -> u128 {
    block_on(net.balance(address, denom)).unwrap_or_else(|e| panic!("balance of {address}: {e}"))
}

/// Waits until `address` holds exactly `want` of `denom` on `net`; on
/// timeout, fails with what it holds and Hermes's errors.
fn wait_balance(net: &TerraLocalnet, hermes: &Hermes, address: &str, denom: &str, want: u128) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = balance(net, address, denom);
        if got == want {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{}: {address} holds {got}{denom}, expected {want} after {WAIT:?}\n\
                 hermes errors:\n{}\n--- hermes log tail ---\n{}",
                net.chain_id(),
                hermes.log_lines_with("ERROR").join("\n"),
                hermes.log_tail(30)
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The fee (uluna) of the tx that sent packet `sequence` on `channel` of
/// `net`, found by its `send_packet` events in terrad's tx index.
fn send_fee(net: &TerraLocalnet, channel: &str, sequence: u64) -> u128 {
    let events = format!("send_packet.packet_src_channel={channel}&send_packet.packet_sequence={sequence}");
    let out = net
        .terrad_command(&["query", "txs", "--events", &events, "--output", "json"])
        .expect("terrad query txs");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON from terrad");
    let txs = v["txs"].as_array().expect("txs");
    assert_eq!(txs.len(), 1, "one tx sent packet {sequence}: {out}");
    txs[0]["tx"]["auth_info"]["fee"]["amount"]
        .as_array()
        .expect("fee amount")
        .iter()
        .filter(|c| c["denom"] == DENOM)
        .map(|c| c["amount"].as_str().unwrap().parse::<u128>().unwrap())
        .sum()
}

#[test]
fn hermes_relays_ics20_between_two_terra_localnets_and_refunds_a_timeout() {
    let started = Instant::now();
    let (mut a, mut b) = std::thread::scope(|s| {
        let a = s.spawn(|| terra("localterra-a"));
        let b = s.spawn(|| terra("localterra-b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    eprintln!("[{:?}] two terrad localnets up", started.elapsed());
    let (ida, idb) = (a.chain_id().to_string(), b.chain_id().to_string());

    let mut hermes =
        Hermes::new(vec![HermesChain::terra(&a), HermesChain::terra(&b)]).expect("hermes set-up");
    eprintln!("hermes config:\n{}", hermes.config_toml());

    let client_a = hermes.create_client(&ida, &idb).expect("client of B on A");
    let client_b = hermes.create_client(&idb, &ida).expect("client of A on B");
    eprintln!(
        "[{:?}] clients {client_a} (on A), {client_b} (on B)",
        started.elapsed()
    );
    let conn = hermes
        .create_connection(&ida, &client_a, &client_b)
        .expect("connection");
    eprintln!("[{:?}] connection {conn:?}", started.elapsed());
    let chan = hermes
        .create_transfer_channel(&ida, &conn.a)
        .expect("transfer channel");
    eprintln!("[{:?}] channel {chan:?}", started.elapsed());
    assert_eq!((chan.a.as_str(), chan.b.as_str()), ("channel-0", "channel-0"));

    hermes.start(WAIT).expect("hermes start");
    eprintln!("[{:?}] hermes start relaying", started.elapsed());

    let user = keys::USER_ADDRESS;
    let recipient = keys::terra_address(hermes::RECIPIENT_MNEMONIC)
        .unwrap()
        .to_string();
    let escrow_a = escrow_address(TRANSFER_PORT, &chan.a, TERRA_PREFIX).unwrap();
    let escrow_b = escrow_address(TRANSFER_PORT, &chan.b, TERRA_PREFIX).unwrap();
    let voucher_on_b = ibc_denom(&format!("{TRANSFER_PORT}/{}/{DENOM}", chan.b));
    let voucher_on_a = ibc_denom(&format!("{TRANSFER_PORT}/{}/{DENOM}", chan.a));
    let user_a0 = balance(&a, user, DENOM);
    let user_b0 = balance(&b, user, DENOM);
    assert_eq!(user_a0, DEFAULT_GENESIS_AMOUNT);

    // A → B: 1 LUNC of A escrowed on A, minted as a voucher on B.
    let t = Instant::now();
    let sent = hermes
        .ft_transfer(&FtTransfer {
            src_chain: ida.clone(),
            dst_chain: idb.clone(),
            src_channel: chan.a.clone(),
            amount: 1_000_000,
            denom: DENOM.into(),
            key_name: "user".into(),
            receiver: user.into(),
            timeout_height_offset: 1_000,
            timeout_seconds: 0,
        })
        .expect("ft-transfer A -> B");
    assert_eq!(sent.sequence, 1);
    let fee1 = send_fee(&a, &chan.a, sent.sequence);
    wait_balance(&b, &hermes, user, &voucher_on_b, 1_000_000);
    eprintln!(
        "[{:?}] A -> B relayed in {:?} (fee {fee1}uluna), voucher {voucher_on_b}",
        started.elapsed(),
        t.elapsed()
    );
    assert_eq!(balance(&a, user, DENOM), user_a0 - 1_000_000 - fee1);
    assert_eq!(balance(&a, &escrow_a, DENOM), 1_000_000);
    assert_eq!(
        balance(&b, user, DENOM),
        user_b0,
        "receiving costs the receiver nothing"
    );

    // B → A: 400000 of the voucher back, to an unfunded account on A.
    let t = Instant::now();
    let back = hermes
        .ft_transfer(&FtTransfer {
            src_chain: idb.clone(),
            dst_chain: ida.clone(),
            src_channel: chan.b.clone(),
            amount: 400_000,
            denom: voucher_on_b.clone(),
            key_name: "user".into(),
            receiver: recipient.clone(),
            timeout_height_offset: 1_000,
            timeout_seconds: 0,
        })
        .expect("ft-transfer B -> A (voucher back)");
    let fee2 = send_fee(&b, &chan.b, back.sequence);
    wait_balance(&a, &hermes, &recipient, DENOM, 400_000);
    eprintln!(
        "[{:?}] voucher B -> A relayed in {:?}",
        started.elapsed(),
        t.elapsed()
    );
    assert_eq!(
        balance(&b, user, &voucher_on_b),
        600_000,
        "vouchers burnt on return"
    );
    assert_eq!(balance(&a, &escrow_a, DENOM), 600_000, "escrow released");
    assert_eq!(balance(&b, user, DENOM), user_b0 - fee2);

    // B → A, native: B's uluna arrives on A as a voucher.
    let native = hermes
        .ft_transfer(&FtTransfer {
            src_chain: idb.clone(),
            dst_chain: ida.clone(),
            src_channel: chan.b.clone(),
            amount: 250_000,
            denom: DENOM.into(),
            key_name: "user".into(),
            receiver: recipient.clone(),
            timeout_height_offset: 0,
            timeout_seconds: 600,
        })
        .expect("ft-transfer B -> A (native)");
    let fee3 = send_fee(&b, &chan.b, native.sequence);
    wait_balance(&a, &hermes, &recipient, &voucher_on_a, 250_000);
    assert_eq!(balance(&b, &escrow_b, DENOM), 250_000);
    assert_eq!(balance(&b, user, DENOM), user_b0 - fee2 - 250_000 - fee3);
    eprintln!("[{:?}] native B -> A relayed", started.elapsed());

    // Timeout: with Hermes stopped, a packet whose timeout height on B is
    // 3 blocks away cannot be received; once B is past it, `tx packet-recv`
    // proves non-receipt on B and times the packet out on A: refund.
    hermes.stop().expect("stop hermes");
    let user_a1 = balance(&a, user, DENOM);
    let sent = hermes
        .ft_transfer(&FtTransfer {
            src_chain: ida.clone(),
            dst_chain: idb.clone(),
            src_channel: chan.a.clone(),
            amount: 5_000,
            denom: DENOM.into(),
            key_name: "user".into(),
            receiver: user.into(),
            timeout_height_offset: 3,
            timeout_seconds: 0,
        })
        .expect("ft-transfer A -> B with a near timeout");
    assert!(sent.timeout_height > 0, "{sent:?}");
    let fee4 = send_fee(&a, &chan.a, sent.sequence);
    assert_eq!(balance(&a, user, DENOM), user_a1 - 5_000 - fee4);
    assert_eq!(balance(&a, &escrow_a, DENOM), 605_000);
    b.wait_for_height(sent.timeout_height + 1, WAIT)
        .expect("B past the timeout height");
    let t = Instant::now();
    let out = hermes
        .packet_recv(&idb, &ida, &chan.a)
        .expect("tx packet-recv (timeout)");
    eprintln!(
        "[{:?}] packet-recv after timeout ({:?}): {:?}",
        started.elapsed(),
        t.elapsed(),
        hermes::event_names(&out.result)
    );
    assert!(
        hermes::find_key(&out.result, "TimeoutPacket").is_some(),
        "expected a TimeoutPacket event: {}",
        out.result
    );
    assert_eq!(balance(&a, user, DENOM), user_a1 - fee4, "refunded");
    assert_eq!(balance(&a, &escrow_a, DENOM), 600_000);
    assert_eq!(balance(&b, user, &voucher_on_b), 600_000, "never received");

    eprintln!("[{:?}] done", started.elapsed());
    hermes.stop().unwrap();
    a.stop().unwrap();
    b.stop().unwrap();
}
