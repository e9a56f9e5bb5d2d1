//! `chimera relay` between two Go chains it did not write: Terra Classic
//! (`terrad` v3.4, ibc-go v7) and ibc-go's `simd` (v7.10). `chimera create
//! channel` opens an ICS-20 path; `uluna` goes to simd and `stake` to Terra
//! with exact balances; a transfer that expires unrelayed is timed out and
//! refunded; then a Terra account registers an interchain
//! account on simd (`MsgRegisterInterchainAccount`, the ICS-27 controller
//! Terra Classic runs today): the handshake starts on Terra, and the
//! running relayer must finish it by itself (OpenTry on simd's `icahost`,
//! OpenAck, OpenConfirm) until both ends are OPEN and Terra knows the
//! account's address. A second relayer on the same path at the same time
//! must deliver nothing twice and crash neither. Needs `terrad` and `simd`
//! from `scripts/setup`.

use std::time::{Duration, Instant};

use chimera_e2e::bank;
use chimera_e2e::devnet::terra_config;
use chimera_e2e::hermes::{ibc_denom, HermesChain, RECIPIENT_MNEMONIC, RELAYER_KEY, RELAYER_MNEMONIC};
use chimera_e2e::keys;
use chimera_e2e::relayer::{rt, transfer, user_chain, wait_until, ChimeraRelayer, Transfer};
use chimera_e2e::simd::{self, SimdConfig, SimdLocalnet};
use chimera_e2e::terra::{self, GenesisAccount, TerraLocalnet, DEFAULT_GENESIS_AMOUNT};
use chimera_relayer::light::any;
use ibc_proto::ibc::applications::interchain_accounts::controller::v1 as ica;
use ibc_proto::ibc::applications::interchain_accounts::v1 as ica_v1;
use ibc_proto::ibc::core::channel::v1::State;

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn chimera_relay_between_terrad_and_simd_ics20_and_an_ica_handshake_terra_starts() {
    for b in ["terrad", "simd"] {
        chimera_e2e::bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    let (terra_net, simd_net) = std::thread::scope(|s| {
        let t = s.spawn(|| TerraLocalnet::start(terra_config()).expect("terrad"));
        let m = s.spawn(|| {
            SimdLocalnet::start(SimdConfig {
                accounts: vec![
                    GenesisAccount::user(),
                    GenesisAccount {
                        name: RELAYER_KEY.into(),
                        mnemonic: RELAYER_MNEMONIC.into(),
                        amount: DEFAULT_GENESIS_AMOUNT,
                    },
                ],
                ..SimdConfig::default()
            })
            .expect("simd")
        });
        (t.join().unwrap(), m.join().unwrap())
    });
    let tc = HermesChain::terra(&terra_net);
    let sc = HermesChain::sdk(&simd_net, 0.025, "0.37");
    let mut relayer = ChimeraRelayer::new(vec![tc.clone(), sc.clone()]).expect("relayer set-up");
    let t = Instant::now();
    let (chan_t, chan_s, conn_t) = relayer
        .create_channel(&tc.id, &sc.id, "transfer", "transfer", "ics20-1", None)
        .expect("create channel");
    eprintln!(
        "[ok] clients, {conn_t}, channel {chan_t} <-> {chan_s} ({:.1?})",
        t.elapsed()
    );
    relayer.start(WAIT).expect("chimera relay");

    let users = tempfile::tempdir().unwrap();
    let terra_user = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let simd_user = user_chain(&sc, keys::USER_MNEMONIC, keys::COSMOS_COIN_TYPE, users.path());
    let terra_recipient = keys::terra_address(RECIPIENT_MNEMONIC).unwrap().to_string();
    let simd_recipient = keys::address(RECIPIENT_MNEMONIC, keys::COSMOS_COIN_TYPE, simd::PREFIX)
        .unwrap()
        .to_string();
    let bal = |grpc: &str, addr: &str, denom: &str| rt().block_on(bank::balance(grpc, addr, denom)).unwrap();
    let luna_on_simd = ibc_denom(&format!("transfer/{chan_s}/{}", terra::DENOM));
    let stake_on_terra = ibc_denom(&format!("transfer/{chan_t}/{}", simd::DENOM));

    // A second relayer on the same path, started at the same time.
    let mut second = ChimeraRelayer::new(vec![tc.clone(), sc.clone()]).expect("second relayer");
    second.start(WAIT).expect("second chimera relay");
    for _ in 0..3 {
        transfer(
            &terra_user,
            &Transfer {
                channel: &chan_t,
                denom: terra::DENOM,
                amount: 1_000,
                receiver: &simd_recipient,
                count: 10,
                timeout_height: 0,
            },
        );
        transfer(
            &simd_user,
            &Transfer {
                channel: &chan_s,
                denom: simd::DENOM,
                amount: 7,
                receiver: &terra_recipient,
                count: 10,
                timeout_height: 0,
            },
        );
    }
    wait_until(
        "30 uluna transfers arrive on simd, 30 stake on Terra",
        WAIT,
        &[&relayer, &second],
        || {
            bal(&sc.grpc_addr, &simd_recipient, &luna_on_simd) == 30_000
                && bal(&tc.grpc_addr, &terra_recipient, &stake_on_terra) == 210
        },
    );
    wait_until("every acknowledgement back", WAIT, &[&relayer, &second], || {
        rt().block_on(terra_user.packet_commitments("transfer", &chan_t))
            .unwrap()
            .is_empty()
            && rt()
                .block_on(simd_user.packet_commitments("transfer", &chan_s))
                .unwrap()
                .is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        bal(&sc.grpc_addr, &simd_recipient, &luna_on_simd),
        30_000,
        "delivered exactly once"
    );
    assert!(
        relayer.is_running() && second.is_running(),
        "both relayers still run"
    );
    let redundant: f64 = [&relayer, &second]
        .iter()
        .map(|r| {
            r.metric("chimera_relayer_redundant_packets_total", &[])
                .unwrap_or(0.0)
        })
        .sum();
    eprintln!("       packets the other relayer delivered first (counted, skipped): {redundant}");
    second.stop().unwrap();

    // Timeout: nobody relays while a simd → Terra transfer's timeout
    // height on Terra passes; relaying back, it is timed out on simd and
    // the sender refunded (only the fee spent).
    relayer.stop().unwrap();
    let (terra_h, _) = rt().block_on(terra_user.latest()).unwrap();
    let before = bal(&sc.grpc_addr, &simd_user.address, simd::DENOM);
    let received = bal(&tc.grpc_addr, &terra_recipient, &stake_on_terra);
    transfer(
        &simd_user,
        &Transfer {
            channel: &chan_s,
            denom: simd::DENOM,
            amount: 5_000,
            receiver: &terra_recipient,
            count: 1,
            timeout_height: terra_h + 3,
        },
    );
    let fee = before - bal(&sc.grpc_addr, &simd_user.address, simd::DENOM) - 5_000;
    wait_until("Terra passes the timeout height", WAIT, &[&relayer], || {
        rt().block_on(terra_user.latest()).unwrap().0 > terra_h + 4
    });
    relayer.start(WAIT).unwrap();
    wait_until("timeout refunds the sender on simd", WAIT, &[&relayer], || {
        bal(&sc.grpc_addr, &simd_user.address, simd::DENOM) == before - fee
    });
    assert_eq!(bal(&tc.grpc_addr, &terra_recipient, &stake_on_terra), received);

    // ICS-27: Terra starts the handshake; the relayer finishes it.
    let owner = terra_user.address.clone();
    let msg = ica::MsgRegisterInterchainAccount {
        owner: owner.clone(),
        connection_id: conn_t.clone(),
        version: String::new(),
        ordering: 0,
    };
    let out = rt()
        .block_on(terra_user.send(vec![any(&msg)]))
        .expect("MsgRegisterInterchainAccount");
    eprintln!(
        "       MsgRegisterInterchainAccount in Terra block {}",
        out.height
    );
    let port = format!("icacontroller-{owner}");
    let mut address = String::new();
    wait_until(
        "the ICA channel is OPEN on both chains and Terra knows the account",
        WAIT,
        &[&relayer],
        || {
            let chans = rt().block_on(terra_user.channels()).unwrap_or_default();
            let Some(c) = chans.iter().find(|c| c.port_id == port) else {
                return false;
            };
            let Some(cp) = c.counterparty.clone() else {
                return false;
            };
            if c.state != State::Open as i32 || cp.channel_id.is_empty() {
                return false;
            }
            let Ok(host) = rt().block_on(simd_user.channel(&cp.port_id, &cp.channel_id)) else {
                return false;
            };
            if host.state != State::Open as i32 {
                return false;
            }
            let mut q = ica::query_client::QueryClient::new(terra_user.grpc());
            address = rt()
                .block_on(q.interchain_account(ica::QueryInterchainAccountRequest {
                    owner: owner.clone(),
                    connection_id: conn_t.clone(),
                }))
                .map(|r| r.into_inner().address)
                .unwrap_or_default();
            !address.is_empty()
        },
    );
    assert!(address.starts_with("cosmos1"), "{address}");
    eprintln!("       interchain account of {owner} on simd: {address}");

    // An ordered channel closed by a timeout: with nobody relaying, Terra
    // sends two ICA txs, the first with a 3 s timeout. Relaying back, the
    // first is timed out (the ordered channel closes on Terra), the
    // relayer confirms the close on simd, and the second, which can never be
    // received now, is timed out on close (MsgTimeoutOnClose).
    relayer.stop().unwrap();
    let ica_chan = rt()
        .block_on(terra_user.channels())
        .unwrap()
        .into_iter()
        .find(|c| c.port_id == port)
        .expect("the ICA channel")
        .channel_id;
    for timeout in [Duration::from_secs(3), Duration::from_secs(600)] {
        let send = cosmrs::proto::cosmos::bank::v1beta1::MsgSend {
            from_address: address.clone(),
            to_address: address.clone(),
            amount: vec![],
        };
        let tx = ica_v1::CosmosTx {
            messages: vec![any(&send)],
        };
        let msg = ica::MsgSendTx {
            owner: owner.clone(),
            connection_id: conn_t.clone(),
            packet_data: Some(ica_v1::InterchainAccountPacketData {
                r#type: ica_v1::Type::ExecuteTx as i32,
                data: prost::Message::encode_to_vec(&tx),
                memo: String::new(),
            }),
            relative_timeout: timeout.as_nanos() as u64,
        };
        rt().block_on(terra_user.send(vec![any(&msg)]))
            .expect("MsgSendTx");
    }
    std::thread::sleep(Duration::from_secs(5));
    relayer.start(WAIT).unwrap();
    wait_until(
        "both ICA packets resolved: timeout, close on both ends, timeout on close",
        WAIT,
        &[&relayer],
        || {
            let left = rt()
                .block_on(terra_user.packet_commitments(&port, &ica_chan))
                .unwrap_or_default();
            let terra_end = rt()
                .block_on(terra_user.channel(&port, &ica_chan))
                .map(|c| c.state);
            left.is_empty() && terra_end.is_ok_and(|s| s == State::Closed as i32)
        },
    );
    let host_end = rt()
        .block_on(terra_user.channel(&port, &ica_chan))
        .unwrap()
        .counterparty
        .unwrap();
    assert_eq!(
        rt().block_on(simd_user.channel(&host_end.port_id, &host_end.channel_id))
            .unwrap()
            .state,
        State::Closed as i32,
        "simd's end confirmed the close"
    );
    let by_kind = |kind: &str| {
        relayer
            .metric(
                "chimera_relayer_packets_relayed_total",
                &[&format!("kind=\"{kind}\"")],
            )
            .unwrap_or(0.0)
    };
    // The relayer counts a packet once its tx is committed (a moment after
    // the chain shows it).
    wait_until(
        "a timeout and a timeout-on-close counted",
        WAIT,
        &[&relayer],
        || by_kind("timeout") >= 1.0 && by_kind("timeout_on_close") >= 1.0,
    );
    relayer.stop().unwrap();
}
