//! ICS-27 from real controller chains to Chimera. A Terra Classic
//! `terrad` v3.4 account (ibc-go v7.4 controller, no auth module) registers an
//! interchain account on chimerad's `icahost`, `chimera relay` completes
//! the ORDERED handshake, LUNC reaches the account over ICS-20, and
//! `MsgSendTx` runs `MsgRunInference` for every zoo model (one with a
//! sealed prompt): the acknowledgement comes back to Terra when the quorum
//! agrees, is read from Terra's own `MsgAcknowledgement`, and names an
//! output that the node serves and that hashes to the commitment (a
//! dishonest node's bytes do not). Refusals (a type off the allow-list, a
//! wrong signer, an unknown model, a fee the account lacks) come back as
//! ibc-go error acks and move nothing; a packet that times out closes the
//! ORDERED channel, and registering again opens a new one to the same
//! account, balance kept. ibc-go v7.10's `simd` covers what Terra v3.4
//! cannot open: an UNORDERED channel with `proto3json` encoding. Needs
//! `terrad`, `simd` and `cometbft` from `scripts/setup`, a built chimerad
//! and chimera.

use std::time::{Duration, Instant};

use chimera_e2e::bank;
use chimera_e2e::chimera;
use chimera_e2e::dishonest::DishonestBlobNode;
use chimera_e2e::fees;
use chimera_e2e::hermes::{ibc_denom, HermesChain, RECIPIENT_MNEMONIC};
use chimera_e2e::inference::{executor_keys_blocking, sha256};
use chimera_e2e::keys;
use chimera_e2e::relayer::{
    chimera_fetch, rt, terra_and_chimera, transfer, user_chain, wait_until, ChimeraRelayer, Transfer,
};
use chimera_e2e::terra;
use chimera_packets::ica::{self, Encoding, Metadata};
use chimera_packets::InputEncoding;
use chimera_relayer::chain::Chain;
use chimera_relayer::ica as rica;
use chimera_relayer::light::any;
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::channel::v1::{Order, State};

const WAIT: Duration = Duration::from_secs(180);
const FUND: u128 = 2_000_000;
const FEE: u128 = 1_000;

/// A controller chain and chimerad joined by `chimera relay` over an
/// ICS-20 path, with the user's signing handles on both.
struct Linked {
    relayer: ChimeraRelayer,
    controller: std::sync::Arc<Chain>,
    host: std::sync::Arc<Chain>,
    /// The transfer channel on the controller and on chimerad.
    chan_x: String,
    chan_c: String,
    /// The connection on the controller and on chimerad.
    conn_x: String,
    conn_c: String,
}

/// `chimera create channel` transfer between `x` and `cc`, then `chimera
/// relay`; the user's keys (coin type `coin_type` on `x`) under `keys`.
fn link(x: &HermesChain, coin_type: u32, cc: &HermesChain, keys_dir: &std::path::Path) -> Linked {
    let mut relayer = ChimeraRelayer::new(vec![x.clone(), cc.clone()]).expect("relayer set-up");
    let (chan_x, chan_c, conn_x) = relayer
        .create_channel(&x.id, &cc.id, "transfer", "transfer", "ics20-1", None)
        .expect("create channel");
    relayer.start(WAIT).expect("chimera relay");
    let controller = user_chain(x, keys::USER_MNEMONIC, coin_type, keys_dir);
    let host = user_chain(cc, keys::USER_MNEMONIC, chimera::CHIMERA_COIN_TYPE, keys_dir);
    let conn_c = rt()
        .block_on(controller.connection(&conn_x))
        .unwrap()
        .counterparty
        .unwrap()
        .connection_id;
    Linked {
        relayer,
        controller,
        host,
        chan_x,
        chan_c,
        conn_x,
        conn_c,
    }
}

/// A registered account, seen from its controller.
struct Account {
    path: rica::IcaPath,
    state: rica::IcaAccount,
    channel: String,
    address: String,
    encoding: Encoding,
}

/// `MsgRegisterInterchainAccount` on `terra` (any ibc-go controller), as
/// `chimera ica register` builds it; `ordering` None leaves the field out,
/// as ibc-go < v7.5 requires.
fn send_register(terra: &Chain, path: &rica::IcaPath, encoding: Encoding, ordering: Option<Order>) {
    rt().block_on(terra.send(vec![rica::register_msg(path, encoding, ordering)]))
        .expect("MsgRegisterInterchainAccount");
}

/// Waits for a relayer to open the account's channel.
fn wait_account(
    terra: &Chain,
    path: &rica::IcaPath,
    encoding: Encoding,
    relayers: &[&ChimeraRelayer],
) -> Account {
    let mut account = None;
    wait_until(
        "the ICA channel opens and the controller knows the account",
        WAIT,
        relayers,
        || {
            let a = rt().block_on(rica::account(terra, path)).unwrap();
            if !a.is_open() {
                return false;
            }
            account = Some(Account {
                path: path.clone(),
                channel: a.channel_id.clone().unwrap(),
                address: a.address.clone().unwrap(),
                state: a,
                encoding,
            });
            true
        },
    );
    account.unwrap()
}

fn register(
    terra: &Chain,
    connection: &str,
    host_connection: &str,
    encoding: Encoding,
    ordering: Option<Order>,
    relayers: &[&ChimeraRelayer],
) -> Account {
    let path = rica::IcaPath::new(&terra.address, connection, host_connection);
    send_register(terra, &path, encoding, ordering);
    wait_account(terra, &path, encoding, relayers)
}

/// `MsgRunInference` as `chimera ica infer` builds it (sealed to
/// `seal_to` when given), offering `fee` of `voucher` (0: no fee).
#[allow(clippy::too_many_arguments)]
fn request(
    signer: &str,
    model: &str,
    input: Vec<u8>,
    encoding: InputEncoding,
    seed: u64,
    fee: u128,
    voucher: &str,
    seal_to: Option<&[[u8; 32]]>,
) -> Any {
    let mut req = rica::InferRequest::text(model, "", seed);
    req.input = input;
    req.encoding = encoding;
    if fee > 0 {
        req.fee = vec![Coin {
            denom: voucher.into(),
            amount: fee.to_string(),
        }];
    }
    rica::build_infer(signer, &req, seal_to, &mut rand_core::OsRng).expect("a request the host accepts")
}

fn run_msg(
    signer: &str,
    model: &str,
    input: Vec<u8>,
    encoding: InputEncoding,
    seed: u64,
    fee: u128,
    voucher: &str,
) -> Any {
    request(signer, model, input, encoding, seed, fee, voucher, None)
}

/// `MsgSendTx` of `msgs`, as `chimera ica infer` sends it; returns the
/// packet sequence.
fn send_tx(terra: &Chain, a: &Account, msgs: &[Any], timeout: Duration) -> u64 {
    let mut state = a.state.clone();
    state.encoding = Some(a.encoding.as_str().to_string());
    rt().block_on(rica::send_infer(terra, &a.path, &state, msgs, "", timeout))
        .expect("MsgSendTx")
        .sequence
}

/// The acknowledgement of `seq` as the controller received it: the bytes
/// inside the `MsgAcknowledgement` it executed.
fn controller_ack(terra: &Chain, a: &Account, seq: u64) -> Option<Vec<u8>> {
    rt().block_on(rica::ack_on_controller(terra, &a.channel, seq))
        .unwrap()
        .map(|f| f.ack)
}

fn wait_ack(terra: &Chain, a: &Account, seq: u64, relayers: &[&ChimeraRelayer], what: &str) -> Vec<u8> {
    let mut ack = None;
    wait_until(
        &format!("ack of {what} (packet {seq}) back on the controller"),
        WAIT,
        relayers,
        || {
            ack = controller_ack(terra, a, seq);
            ack.is_some()
        },
    );
    ack.unwrap()
}

/// Sends `amount` of `denom` from `from` over `transfer/<channel>` to the
/// interchain account `receiver` and waits until `bal` shows it there.
#[allow(clippy::too_many_arguments)]
fn fund(
    from: &Chain,
    channel: &str,
    denom: &str,
    amount: u128,
    receiver: &str,
    what: &str,
    relayers: &[&ChimeraRelayer],
    bal: &dyn Fn(&str) -> u128,
) {
    let before = bal(receiver);
    transfer(
        from,
        &Transfer {
            channel,
            denom,
            amount,
            receiver,
            count: 1,
            timeout_height: 0,
        },
    );
    wait_until(what, WAIT, relayers, || bal(receiver) == before + amount);
}

fn error_code(ack: &[u8]) -> u32 {
    match ica::msg_responses_from_ack(ack) {
        Err(ica::IcaError::ErrorAck(text)) => ica::error_ack_code(&text).expect("ibc-go's error text"),
        other => panic!("expected an error ack, got {other:?}"),
    }
}

#[test]
fn terra_account_runs_inference_on_chimera_through_ica() {
    chimera_e2e::relayer::chimera_binary();
    let started = Instant::now();
    let (_terra_net, chimera_net, tc, cc) = terra_and_chimera();
    let users = tempfile::tempdir().unwrap();
    let Linked {
        relayer,
        controller: terra_user,
        host: chimera_user,
        chan_x: chan_t,
        chan_c,
        conn_x: conn_t,
        conn_c,
    } = link(&tc, keys::TERRA_COIN_TYPE, &cc, users.path());
    let mut relayer = relayer;
    let voucher = ibc_denom(&format!("transfer/{chan_c}/{}", terra::DENOM));
    let bal = |addr: &str| {
        rt().block_on(bank::balance(&cc.grpc_addr, addr, &voucher))
            .unwrap()
    };

    // Register: the host creates the account as ibc-go would.
    let a = register(&terra_user, &conn_t, &conn_c, Encoding::Proto3, None, &[&relayer]);
    assert!(
        a.address.starts_with("chimera1") && a.address.len() == 66,
        "{}",
        a.address
    );
    eprintln!(
        "[ok] interchain account {} on channel {} ({:.1?})",
        a.address,
        a.channel,
        started.elapsed()
    );
    let host_chan = rt()
        .block_on(terra_user.channel(&a.path.port_id, &a.channel))
        .unwrap()
        .counterparty
        .unwrap()
        .channel_id;
    let host_end = rt()
        .block_on(chimera_user.channel(ica::HOST_PORT, &host_chan))
        .unwrap();
    assert_eq!(
        host_end.ordering,
        Order::Ordered as i32,
        "Terra v3.4 opens ORDERED ICA channels"
    );
    let meta = Metadata::from_json(host_end.version.as_bytes()).unwrap();
    assert_eq!(meta.address, a.address);
    // Same address as ibc-go's derivation over the opening block's header.
    let try_height = rt()
        .block_on(chimera_user.search_events(&format!(
            "channel_open_try.port_id='icahost' AND channel_open_try.channel_id='{host_chan}'"
        )))
        .unwrap()
        .first()
        .expect("the OpenTry tx")
        .0;
    let header = chimera_e2e::chimera::rpc_result_at(
        chimera_net.rpc_addr(0).unwrap(),
        &format!("/block?height={try_height}"),
        Duration::from_secs(5),
    )
    .unwrap();
    let h = &header["block"]["header"];
    let raw = ica::interchain_account_address(
        &conn_c,
        &a.path.port_id,
        &hex::decode(h["app_hash"].as_str().unwrap()).unwrap(),
        &hex::decode(h["data_hash"].as_str().unwrap()).unwrap(),
    );
    let derived = cosmrs::AccountId::new("chimera", &raw).unwrap().to_string();
    assert_eq!(
        derived, a.address,
        "ibc-go GenerateAddress over the OpenTry block header"
    );

    // Fund it with LUNC over ICS-20.
    fund(
        &terra_user,
        &chan_t,
        terra::DENOM,
        FUND,
        &a.address,
        "uluna reaches the interchain account",
        &[&relayer],
        &bal,
    );

    // Every zoo model, one with a sealed prompt.
    let keys: Vec<[u8; 32]> = executor_keys_blocking(&cc.grpc_addr)
        .unwrap()
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let sealed_msg = request(
        &a.address,
        "digits-ddpm",
        b"7".to_vec(),
        InputEncoding::Text,
        42,
        FEE,
        &voucher,
        Some(&keys),
    );
    let seven: Vec<u8> = chimera_e2e::inference::Job::digits_cnn(&chimera_e2e::inference::GOLDEN_SEVEN).input;
    let requests: Vec<(&str, Any)> = vec![
        (
            "digits-ddpm \"7\"",
            run_msg(
                &a.address,
                "digits-ddpm",
                b"7".to_vec(),
                InputEncoding::Text,
                42,
                FEE,
                &voucher,
            ),
        ),
        ("digits-ddpm \"7\" sealed", sealed_msg),
        (
            "digits-cnn",
            run_msg(
                &a.address,
                "digits-cnn",
                seven,
                InputEncoding::Tensor {
                    dtype: chimera_packets::DType::F32,
                    shape: vec![1, 8, 8],
                },
                0,
                FEE,
                &voucher,
            ),
        ),
        (
            "minilm-l6",
            run_msg(
                &a.address,
                "minilm-l6",
                b"inference over IBC".to_vec(),
                InputEncoding::Text,
                0,
                FEE,
                &voucher,
            ),
        ),
        (
            "tiny-lm",
            run_msg(
                &a.address,
                "tiny-lm",
                b"Once upon a time".to_vec(),
                InputEncoding::Text,
                7,
                FEE,
                &voucher,
            ),
        ),
    ];
    let dishonest = rt().block_on(DishonestBlobNode::start(&cc.grpc_addr)).unwrap();
    let mut paid = 0;
    for (what, msg) in &requests {
        let t = Instant::now();
        let seq = send_tx(
            &terra_user,
            &a,
            std::slice::from_ref(msg),
            Duration::from_secs(600),
        );
        let ack = wait_ack(&terra_user, &a, seq, &[&relayer], what);
        let r = ica::run_inference_response_from_ack(&ack).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r.len(), 1);
        let out = r[0].output.clone().unwrap();
        let data =
            chimera_fetch(&hex::encode(&out.sha256), &cc.grpc_addr).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            sha256(&data).to_vec(),
            out.sha256,
            "{what}: the output hashes to the commitment"
        );
        assert_eq!(data.len() as u64, out.size);
        let lie = chimera_fetch(&hex::encode(&out.sha256), &dishonest.endpoint());
        assert!(
            lie.as_ref()
                .is_err_and(|e| e.contains("exit status: 1") && e.contains("hash to")),
            "{what}: a dishonest node's bytes: {lie:?}"
        );
        paid += FEE;
        eprintln!(
            "[ok] {what}: job {} acknowledged on Terra, {} bytes verified, {}/{} power ({:.1?})",
            r[0].job_id,
            out.size,
            r[0].quorum.as_ref().map_or(0, |q| q.agreeing_power),
            r[0].quorum.as_ref().map_or(0, |q| q.total_power),
            t.elapsed()
        );
    }
    assert_eq!(bal(&a.address), FUND - paid, "each fee paid once");

    // Two requests in flight on the ORDERED channel, the first slower (a
    // sealed job agrees in two rounds): both acknowledgements reach Terra,
    // whose ordered channel takes them in sequence order only.
    let slow = request(
        &a.address,
        "digits-ddpm",
        b"4".to_vec(),
        InputEncoding::Text,
        4,
        FEE,
        &voucher,
        Some(&keys),
    );
    let fast = run_msg(
        &a.address,
        "digits-ddpm",
        b"5".to_vec(),
        InputEncoding::Text,
        5,
        FEE,
        &voucher,
    );
    let t = Instant::now();
    let first = send_tx(&terra_user, &a, &[slow], Duration::from_secs(600));
    let second = send_tx(&terra_user, &a, &[fast], Duration::from_secs(600));
    for seq in [first, second] {
        let ack = wait_ack(
            &terra_user,
            &a,
            seq,
            &[&relayer],
            "a request in flight with another",
        );
        assert_eq!(ica::run_inference_response_from_ack(&ack).unwrap().len(), 1);
    }
    paid += 2 * FEE;
    eprintln!(
        "[ok] two requests in flight acknowledged in order ({:.1?})",
        t.elapsed()
    );
    assert_eq!(bal(&a.address), FUND - paid);

    // Terra v3.4's ibc-go (v7.4.1) also speaks proto3json: a second LUNC
    // account registers with it and runs the same request.
    let second_keys = tempfile::tempdir().unwrap();
    let second = user_chain(&tc, RECIPIENT_MNEMONIC, keys::TERRA_COIN_TYPE, second_keys.path());
    rt().block_on(
        terra_user.send(vec![any(&ibc_proto::cosmos::bank::v1beta1::MsgSend {
            from_address: terra_user.address.clone(),
            to_address: second.address.clone(),
            amount: vec![Coin {
                denom: terra::DENOM.into(),
                amount: "50000000".into(),
            }],
        })]),
    )
    .expect("MsgSend to the second account");
    let b = register(&second, &conn_t, &conn_c, Encoding::Proto3Json, None, &[&relayer]);
    assert_ne!(b.address, a.address);
    let meta =
        rt().block_on(chimera_user.channel(ica::HOST_PORT, b.state.host_channel_id.as_deref().unwrap()));
    assert_eq!(
        Metadata::from_json(meta.unwrap().version.as_bytes())
            .unwrap()
            .encoding,
        "proto3json"
    );
    fund(
        &second,
        &chan_t,
        terra::DENOM,
        10_000,
        &b.address,
        "uluna reaches the second account",
        &[&relayer],
        &bal,
    );
    let seq = send_tx(
        &second,
        &b,
        &[run_msg(
            &b.address,
            "digits-ddpm",
            b"7".to_vec(),
            InputEncoding::Text,
            42,
            FEE,
            &voucher,
        )],
        Duration::from_secs(600),
    );
    let ack = wait_ack(
        &second,
        &b,
        seq,
        &[&relayer],
        "digits-ddpm \"7\" in proto3json from Terra",
    );
    let r = ica::run_inference_response_from_ack(&ack).unwrap();
    assert_eq!(r[0].output.as_ref().unwrap().size, 1124);
    assert_eq!(bal(&b.address), 10_000 - FEE);

    // Refusals: ibc-go error acks; nothing moves.
    let friend = chimera_e2e::chimera::chimera_address(keys::USER_MNEMONIC)
        .unwrap()
        .to_string();
    let send = |from: &str, amount: u128| {
        any(&ibc_proto::cosmos::bank::v1beta1::MsgSend {
            from_address: from.into(),
            to_address: friend.clone(),
            amount: vec![Coin {
                denom: voucher.clone(),
                amount: amount.to_string(),
            }],
        })
    };
    let delegate = Any {
        type_url: "/cosmos.staking.v1beta1.MsgDelegate".into(),
        value: vec![],
    };
    let cases: Vec<(&str, Vec<Any>, u32)> = vec![
        ("a type off the allow-list", vec![delegate], 4),
        ("a wrong signer", vec![send(&friend, 1)], 4),
        (
            "an unknown model",
            vec![run_msg(
                &a.address,
                "no-such-model",
                b"7".to_vec(),
                InputEncoding::Text,
                1,
                0,
                &voucher,
            )],
            18,
        ),
        (
            "a fee the account lacks",
            vec![
                send(&a.address, 5),
                run_msg(
                    &a.address,
                    "digits-ddpm",
                    b"7".to_vec(),
                    InputEncoding::Text,
                    1,
                    FUND,
                    &voucher,
                ),
            ],
            5,
        ),
    ];
    let before = (bal(&a.address), bal(&friend));
    for (what, msgs, code) in cases {
        let seq = send_tx(&terra_user, &a, &msgs, Duration::from_secs(600));
        let ack = wait_ack(&terra_user, &a, seq, &[&relayer], what);
        assert_eq!(error_code(&ack), code, "{what}");
        assert_eq!((bal(&a.address), bal(&friend)), before, "{what}: nothing moved");
    }

    // A timeout closes the ORDERED channel; registering again re-opens to
    // the same account.
    relayer.stop().unwrap();
    let seq = send_tx(
        &terra_user,
        &a,
        &[run_msg(
            &a.address,
            "digits-ddpm",
            b"1".to_vec(),
            InputEncoding::Text,
            1,
            0,
            &voucher,
        )],
        Duration::from_secs(3),
    );
    std::thread::sleep(Duration::from_secs(6));
    relayer.start(WAIT).unwrap();
    wait_until(
        "the timed-out packet closes the channel on both ends",
        WAIT,
        &[&relayer],
        || {
            let t = rt()
                .block_on(terra_user.channel(&a.path.port_id, &a.channel))
                .unwrap();
            let c = rt()
                .block_on(chimera_user.channel(ica::HOST_PORT, &host_chan))
                .unwrap();
            t.state == State::Closed as i32 && c.state == State::Closed as i32
        },
    );
    assert!(
        controller_ack(&terra_user, &a, seq).is_none(),
        "timed out, not acknowledged"
    );
    // Registered again while no relayer runs: the relayer's clearing finds
    // the waiting OpenInit when it starts.
    relayer.stop().unwrap();
    send_register(&terra_user, &a.path, Encoding::Proto3, None);
    relayer.start(WAIT).unwrap();
    let again = wait_account(&terra_user, &a.path, Encoding::Proto3, &[&relayer]);
    assert_ne!(again.channel, a.channel);
    assert_eq!(again.address, a.address, "the account is kept");
    assert_eq!(bal(&again.address), before.0, "and its balance");
    let seq = send_tx(
        &terra_user,
        &again,
        &[run_msg(
            &again.address,
            "digits-ddpm",
            b"3".to_vec(),
            InputEncoding::Text,
            3,
            FEE,
            &voucher,
        )],
        Duration::from_secs(600),
    );
    let ack = wait_ack(
        &terra_user,
        &again,
        seq,
        &[&relayer],
        "digits-ddpm \"3\" on the new channel",
    );
    assert_eq!(ica::run_inference_response_from_ack(&ack).unwrap().len(), 1);
    eprintln!("ICA test took {:.1?}", started.elapsed());
}

/// ibc-go v7.10's `simd` as the controller: an UNORDERED channel with
/// `proto3json` encoding (both newer than Terra Classic v3.4's ibc-go), a
/// tx of `MsgSend` and `MsgRunInference` in proto3 JSON acknowledged with
/// both responses, and a timed-out packet that leaves the UNORDERED channel
/// open for the next one.
#[test]
fn simd_controller_unordered_proto3json() {
    use chimera_e2e::simd::{self, SimdConfig, SimdLocalnet};
    use chimera_e2e::terra::GenesisAccount;
    chimera_e2e::bins::find_binary("simd").unwrap_or_else(|e| panic!("{e}"));
    chimera_e2e::chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let (simd_net, chimera_net) = std::thread::scope(|s| {
        let m = s.spawn(|| {
            SimdLocalnet::start(SimdConfig {
                accounts: vec![
                    GenesisAccount::user(),
                    GenesisAccount {
                        name: chimera_e2e::hermes::RELAYER_KEY.into(),
                        mnemonic: chimera_e2e::hermes::RELAYER_MNEMONIC.into(),
                        amount: chimera_e2e::terra::DEFAULT_GENESIS_AMOUNT,
                    },
                ],
                ..SimdConfig::default()
            })
            .expect("simd")
        });
        let c = s.spawn(|| {
            chimera::ChimeraNet::start(chimera_e2e::devnet::chimera_config(chimera::DEFAULT_CHAIN_ID))
                .expect("chimerad")
        });
        (m.join().unwrap(), c.join().unwrap())
    });
    let sc = HermesChain::sdk(&simd_net, 0.025, "0.37");
    let cc = HermesChain::chimera(&chimera_net).unwrap();
    let users = tempfile::tempdir().unwrap();
    let Linked {
        relayer,
        controller: simd_user,
        host: chimera_user,
        chan_x: chan_s,
        chan_c,
        conn_x: conn_s,
        conn_c,
    } = link(&sc, keys::COSMOS_COIN_TYPE, &cc, users.path());
    let mut relayer = relayer;
    let a = register(
        &simd_user,
        &conn_s,
        &conn_c,
        Encoding::Proto3Json,
        Some(Order::Unordered),
        &[&relayer],
    );
    let host_chan = rt()
        .block_on(simd_user.channel(&a.path.port_id, &a.channel))
        .unwrap()
        .counterparty
        .unwrap()
        .channel_id;
    let host_end = rt()
        .block_on(chimera_user.channel(ica::HOST_PORT, &host_chan))
        .unwrap();
    assert_eq!(host_end.ordering, Order::Unordered as i32);
    assert_eq!(
        Metadata::from_json(host_end.version.as_bytes()).unwrap().encoding,
        "proto3json"
    );

    let voucher = ibc_denom(&format!("transfer/{chan_c}/{}", simd::DENOM));
    let bal = |addr: &str| {
        rt().block_on(bank::balance(&cc.grpc_addr, addr, &voucher))
            .unwrap()
    };
    fund(
        &simd_user,
        &chan_s,
        simd::DENOM,
        FUND,
        &a.address,
        "stake reaches the interchain account",
        &[&relayer],
        &bal,
    );

    // A timed-out packet: the UNORDERED channel stays open.
    relayer.stop().unwrap();
    let lost = send_tx(
        &simd_user,
        &a,
        &[run_msg(
            &a.address,
            "digits-ddpm",
            b"1".to_vec(),
            InputEncoding::Text,
            1,
            FEE,
            &voucher,
        )],
        Duration::from_secs(3),
    );
    std::thread::sleep(Duration::from_secs(6));
    relayer.start(WAIT).unwrap();
    wait_until("the packet times out on simd", WAIT, &[&relayer], || {
        rt().block_on(simd_user.packet_commitments(&a.path.port_id, &a.channel))
            .unwrap()
            .is_empty()
    });
    assert!(controller_ack(&simd_user, &a, lost).is_none());
    let open = rt()
        .block_on(simd_user.channel(&a.path.port_id, &a.channel))
        .unwrap();
    assert_eq!(
        open.state,
        State::Open as i32,
        "an UNORDERED channel survives a timeout"
    );
    assert_eq!(bal(&a.address), FUND, "nothing ran, nothing paid");

    let friend = chimera::chimera_address(keys::USER_MNEMONIC).unwrap().to_string();
    let send = any(&ibc_proto::cosmos::bank::v1beta1::MsgSend {
        from_address: a.address.clone(),
        to_address: friend.clone(),
        amount: vec![Coin {
            denom: voucher.clone(),
            amount: "25".into(),
        }],
    });
    let run = run_msg(
        &a.address,
        "digits-ddpm",
        b"7".to_vec(),
        InputEncoding::Text,
        42,
        FEE,
        &voucher,
    );
    let seq = send_tx(&simd_user, &a, &[send, run], Duration::from_secs(600));
    let ack = wait_ack(
        &simd_user,
        &a,
        seq,
        &[&relayer],
        "MsgSend + MsgRunInference in proto3json",
    );
    let all = ica::msg_responses_from_ack(&ack).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].type_url, "/cosmos.bank.v1beta1.MsgSendResponse");
    let r = ica::run_inference_response_from_ack(&ack).unwrap();
    let out = r[0].output.clone().unwrap();
    let data = chimera_fetch(&hex::encode(&out.sha256), &cc.grpc_addr).unwrap();
    assert_eq!(sha256(&data).to_vec(), out.sha256);
    assert_eq!(bal(&a.address), FUND - 25 - FEE);
    assert_eq!(bal(&friend), 25);
}

/// The same route relayed by Hermes 1.11 instead of `chimera relay`:
/// Hermes (channel mode on) finishes the ICS-27 handshake Terra starts,
/// carries the LUNC, and relays the asynchronous acknowledgement that
/// chimerad writes in FinalizeBlock back to Terra.
#[test]
fn terra_ica_through_hermes() {
    use chimera_e2e::devnet::{open_transfer_path, PlainSteps};
    use chimera_e2e::hermes::Hermes;

    chimera_e2e::bins::find_binary("hermes").unwrap_or_else(|e| panic!("{e}"));
    let (_terra_net, _chimera_net, tc, cc) = terra_and_chimera();
    let mut hermes = Hermes::new(vec![tc.clone(), cc.clone()]).expect("hermes set-up");
    hermes.complete_handshakes().unwrap();
    let path =
        open_transfer_path(&mut PlainSteps, &mut hermes, &tc.id, &cc.id, |_, _, _| Ok(())).expect("path");
    let users = tempfile::tempdir().unwrap();
    let terra_user = user_chain(&tc, keys::USER_MNEMONIC, keys::TERRA_COIN_TYPE, users.path());
    let a = register(
        &terra_user,
        &path.connection.a,
        &path.connection.b,
        Encoding::Proto3,
        None,
        &[],
    );
    let voucher = ibc_denom(&format!("transfer/{}/{}", path.channel.b, terra::DENOM));
    let bal = |addr: &str| {
        rt().block_on(bank::balance(&cc.grpc_addr, addr, &voucher))
            .unwrap()
    };
    fund(
        &terra_user,
        &path.channel.a,
        terra::DENOM,
        FUND,
        &a.address,
        "uluna reaches the interchain account",
        &[],
        &bal,
    );
    let seq = send_tx(
        &terra_user,
        &a,
        &[run_msg(
            &a.address,
            "digits-ddpm",
            b"7".to_vec(),
            InputEncoding::Text,
            42,
            FEE,
            &voucher,
        )],
        Duration::from_secs(600),
    );
    let ack = wait_ack(&terra_user, &a, seq, &[], "digits-ddpm \"7\" relayed by Hermes");
    let r = ica::run_inference_response_from_ack(&ack).unwrap();
    let out = r[0].output.clone().unwrap();
    let data = chimera_fetch(&hex::encode(&out.sha256), &cc.grpc_addr).unwrap();
    assert_eq!(sha256(&data).to_vec(), out.sha256);
    assert_eq!(bal(&a.address), FUND - FEE);
    let problems: Vec<String> = hermes.log_lines_with("ERROR").into_iter().take(5).collect();
    assert!(problems.is_empty(), "Hermes errors: {problems:#?}");
}

#[test]
fn lunc_pays_the_executor_and_burns_on_terra() {
    chimera_e2e::relayer::chimera_binary();
    let started = Instant::now();
    let operator = fees::operator_address();
    let mut config = chimera_e2e::devnet::chimera_config("chimera-fees-terra");
    config.operators = vec![operator.clone()];
    config.prepare_node = Some(fees::authority_genesis);
    let (_terra_net, _chimera_net, tc, cc) = chimera_e2e::relayer::terra_and_chimera_with(config);
    let users = tempfile::tempdir().unwrap();
    let l = link(&tc, keys::TERRA_COIN_TYPE, &cc, users.path());
    let (relayer, terra_user, chimera_user) = (&l.relayer, &l.controller, &l.host);
    let chan_c = l.chan_c.clone();
    let voucher = ibc_denom(&format!("transfer/{chan_c}/{}", terra::DENOM));
    let burn_hash = sha256(b"burn");
    assert_eq!(
        cosmrs::AccountId::new("terra", &burn_hash[..20])
            .unwrap()
            .to_string(),
        fees::TERRA_BURN_ADDRESS,
        "the burn module account"
    );
    let community = keys::terra_address(RECIPIENT_MNEMONIC).unwrap().to_string();

    // The authority prices every model in LUNC and names the route home.
    let params = fees::lunc_params(&chimera_user.address, &chan_c, FEE, &community, 10);
    rt().block_on(fees::update_params(chimera_user, params))
        .expect("MsgUpdateParams");

    let host_bal =
        |addr: &str, denom: &str| rt().block_on(bank::balance(&cc.grpc_addr, addr, denom)).unwrap();
    let terra_bal = |addr: &str| {
        rt().block_on(bank::balance(&tc.grpc_addr, addr, terra::DENOM))
            .unwrap()
    };
    let a = register(
        terra_user,
        &l.conn_x,
        &l.conn_c,
        Encoding::Proto3,
        None,
        &[relayer],
    );
    fund(
        terra_user,
        &l.chan_x,
        terra::DENOM,
        FUND,
        &a.address,
        "uluna reaches the interchain account",
        &[relayer],
        &|addr| host_bal(addr, &voucher),
    );
    let community_before = terra_bal(&community);
    eprintln!("[ok] priced, registered and funded ({:.1?})", started.elapsed());

    // Too little: ibc-go's error ack with the SDK's insufficient-fee code,
    // nothing taken.
    let seq = send_tx(
        terra_user,
        &a,
        &[run_msg(
            &a.address,
            "digits-ddpm",
            b"7".to_vec(),
            InputEncoding::Text,
            1,
            FEE - 1,
            &voucher,
        )],
        WAIT,
    );
    let ack = wait_ack(terra_user, &a, seq, &[relayer], "a request offering too little");
    assert_eq!(error_code(&ack), 13, "insufficient fee");
    assert_eq!(host_bal(&a.address, &voucher), FUND);

    // The price, offered twice over: exactly the price is charged.
    let seq = send_tx(
        terra_user,
        &a,
        &[run_msg(
            &a.address,
            "digits-ddpm",
            b"7".to_vec(),
            InputEncoding::Text,
            1,
            2 * FEE,
            &voucher,
        )],
        WAIT,
    );
    let ack = wait_ack(terra_user, &a, seq, &[relayer], "a paid request");
    ica::run_inference_response_from_ack(&ack).expect("a result ack");
    assert_eq!(host_bal(&a.address, &voucher), FUND - FEE);
    // 70% to the one agreeing executor's operator, 20% burned, 10% to the
    // community, all in LUNC.
    let (to_executor, to_burn, to_community) = (FEE * 7 / 10, FEE * 2 / 10, FEE / 10);
    assert_eq!(host_bal(&operator, &voucher), to_executor);
    eprintln!("[ok] executor paid {to_executor} ({:.1?})", started.elapsed());

    // Within the send interval the parts go home over ICS-20: the community
    // address receives its part; the burn part reaches the burn account
    // (and x/treasury burns it: the account stays empty).
    wait_until("the community part reaches Terra", WAIT, &[relayer], || {
        terra_bal(&community) == community_before + to_community
    });
    let burn_recv = format!(
        "fungible_token_packet.receiver='{}' AND fungible_token_packet.amount='{to_burn}'",
        fees::TERRA_BURN_ADDRESS
    );
    wait_until("the burn part is received on Terra", WAIT, &[relayer], || {
        !rt()
            .block_on(terra_user.search_events(&burn_recv))
            .unwrap()
            .is_empty()
    });
    assert_eq!(
        terra_bal(fees::TERRA_BURN_ADDRESS),
        0,
        "x/treasury burned what arrived"
    );
    // Nothing waits on the host any more.
    assert_eq!(
        host_bal(&chimera_e2e::inference::module_address("fees/burn"), &voucher),
        0
    );
    assert_eq!(
        host_bal(
            &chimera_e2e::inference::module_address("fees/community"),
            &voucher
        ),
        0
    );
    eprintln!(
        "[ok] {to_burn} uluna burned on Terra, {to_community} to the community ({:.1?})",
        started.elapsed()
    );
}
