//! The ICS-27 host (`icahost`) driven through ibc-rs's `Module` callbacks
//! over real state (genesis applied to a RocksDB-backed store, connection
//! and channel ends written at their ICS-24 keys): the handshake creates
//! the account ibc-go would (same derivation, same version JSON), refuses a
//! second open channel and bad metadata, and re-opens to the same account;
//! packets execute atomically with ibc-go's acknowledgements, and a tx with
//! `MsgRunInference` is acknowledged when its job ends.

mod chain_support;

use chain_support::open_storage;
use chimera_host::chain::address::Address;
use chimera_host::chain::bank;
use chimera_host::chain::gas::{unmetered, GasMeter};
use chimera_host::chain::genesis::AppGenesis;
use chimera_host::ibc::context::Shared;
use chimera_host::ica::module::IcaHostModule;
use chimera_host::ica::store;
use chimera_host::inference::jobs::{Outcome, Verdict};
use chimera_host::state::Delta;
use chimera_packets::ica::{self, Encoding, Metadata};
use chimera_packets::{proto, AckError, ErrorCode};
use ibc::core::channel::types::channel::{Counterparty, Order};
use ibc::core::channel::types::packet::Packet;
use ibc::core::channel::types::Version;
use ibc::core::host::types::identifiers::{ChannelId, ConnectionId, PortId};
use ibc::core::router::module::Module;
use ibc::primitives::Signer;
use ibc_proto::cosmos::bank::v1beta1::MsgSend;
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::channel::v1::{
    Channel, Counterparty as RawCp, Order as RawOrder, Packet as RawPacket, State,
};
use ibc_proto::ibc::core::client::v1::Height;
use ibc_proto::ibc::core::commitment::v1::MerklePrefix;
use ibc_proto::ibc::core::connection::v1::{ConnectionEnd, Counterparty as ConnCp, Version as ConnVersion};
use prost::{Message, Name};
use sha2::{Digest, Sha256};

const HEIGHT: u64 = 7;
const CONTROLLER_PORT: &str = "icacontroller-terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v";
const MODEL_SHA: &str = "5d41402abc4b2a76b9719d911017c592a7b1c7e8f3e2a9d6c4b0f1e2d3c4b5a6";
const VOUCHER: &str = "ibc/72E1F7D2D5F0D9F9AB5A0A3A0D2B9E0A1C7E3F0B8D0F6C1B9A7E3D2C1B0A9F8E";

fn genesis(dir: &tempfile::TempDir, ica_host: serde_json::Value) -> Delta {
    let storage = open_storage(dir.path());
    let mut state = Delta::new(storage.latest_snapshot());
    let g = serde_json::json!({
        "inference": {
            "models": [{
                "id": "digits-ddpm", "sha256": MODEL_SHA, "task": "generate",
                "sketch": { "rule": "image", "levels": 256, "tolerance": 8, "thumb": 8 }
            }]
        },
        "ica_host": ica_host,
    });
    AppGenesis::parse(g.to_string().as_bytes())
        .unwrap()
        .apply(&mut state)
        .unwrap();
    // The block executing: its header hashes feed the account address.
    chimera_host::ibc::begin_block(
        &mut state,
        HEIGHT,
        tendermint::Time::from_unix_timestamp(1_700_000_000, 0).unwrap(),
        tendermint::Hash::Sha256([3; 32]),
        &[0xAA; 32],
        &[b"some tx".to_vec()],
    );
    // connection-0 here, connection-5 on the controller.
    let conn = ConnectionEnd {
        client_id: "07-tendermint-0".into(),
        versions: vec![ConnVersion {
            identifier: "1".into(),
            features: vec!["ORDER_ORDERED".into(), "ORDER_UNORDERED".into()],
        }],
        state: 3,
        counterparty: Some(ConnCp {
            client_id: "07-tendermint-2".into(),
            connection_id: "connection-5".into(),
            prefix: Some(MerklePrefix {
                key_prefix: b"ibc".to_vec(),
            }),
        }),
        delay_period: 0,
    };
    state.put(b"connections/connection-0".to_vec(), conn.encode_to_vec());
    state
}

fn default_genesis(dir: &tempfile::TempDir) -> Delta {
    genesis(dir, serde_json::json!({}))
}

fn metadata(encoding: Encoding) -> Metadata {
    Metadata::new_controller("connection-5", "connection-0", encoding)
}

struct Host {
    shared: chimera_host::ibc::context::SharedRef,
    module: IcaHostModule,
}

impl Host {
    fn new(state: Delta) -> Host {
        let shared = Shared::new(state, GasMeter::infinite(), HEIGHT, "chimera-test");
        Host {
            module: IcaHostModule::new(shared.clone()),
            shared,
        }
    }

    fn done(self) -> Delta {
        drop(self.module);
        let shared = std::rc::Rc::try_unwrap(self.shared).ok().unwrap().into_inner();
        assert!(shared.fault.is_none(), "{:?}", shared.fault);
        shared.state
    }
}

fn cp() -> Counterparty {
    Counterparty::new(CONTROLLER_PORT.parse().unwrap(), Some(ChannelId::new(3)))
}

fn open_try(state: Delta, order: Order, version: &[u8]) -> (Result<Version, String>, Delta) {
    let mut host = Host::new(state);
    let hops = [ConnectionId::new(0)];
    let port: PortId = ica::HOST_PORT.parse().unwrap();
    let version = Version::new(String::from_utf8(version.to_vec()).unwrap());
    let checked =
        host.module
            .on_chan_open_try_validate(order, &hops, &port, &ChannelId::new(1), &cp(), &version);
    let r = host
        .module
        .on_chan_open_try_execute(order, &hops, &port, &ChannelId::new(1), &cp(), &version)
        .map(|(_, v)| v)
        .map_err(|e| e.to_string());
    assert_eq!(
        checked.map_err(|e| e.to_string()),
        r,
        "validate and execute disagree"
    );
    (r, host.done())
}

/// Writes channel `id` of the account (as the core handler would) and
/// confirms it.
fn put_channel(state: &mut Delta, id: u64, version: &str, order: RawOrder, st: State) {
    let end = Channel {
        state: st as i32,
        ordering: order as i32,
        counterparty: Some(RawCp {
            port_id: CONTROLLER_PORT.into(),
            channel_id: format!("channel-{}", id + 2),
        }),
        connection_hops: vec!["connection-0".into()],
        version: version.into(),
        upgrade_sequence: 0,
    };
    state.put(
        format!("channelEnds/ports/icahost/channels/channel-{id}").into_bytes(),
        end.encode_to_vec(),
    );
}

fn confirm(state: Delta, id: u64) -> Delta {
    let mut host = Host::new(state);
    let port: PortId = ica::HOST_PORT.parse().unwrap();
    host.module
        .on_chan_open_confirm_execute(&port, &ChannelId::new(id))
        .unwrap();
    host.done()
}

/// An open ORDERED channel-1 with its account; returns the account.
fn opened(encoding: Encoding) -> (tempfile::TempDir, Delta, Address) {
    let dir = tempfile::tempdir().unwrap();
    let (v, mut state) = open_try(
        default_genesis(&dir),
        Order::Ordered,
        &metadata(encoding).to_json(),
    );
    let v = v.unwrap();
    put_channel(&mut state, 1, v.as_str(), RawOrder::Ordered, State::Tryopen);
    let mut state = confirm(state, 1);
    put_channel(&mut state, 1, v.as_str(), RawOrder::Ordered, State::Open);
    let address = Address::parse(&Metadata::from_json(v.as_str().as_bytes()).unwrap().address).unwrap();
    (dir, state, address)
}

#[test]
fn open_try_creates_the_account_ibc_go_would() {
    let dir = tempfile::tempdir().unwrap();
    let (v, mut state) = open_try(
        default_genesis(&dir),
        Order::Ordered,
        &metadata(Encoding::Proto3).to_json(),
    );
    let v = v.unwrap();
    let data_hash = chimera_host::ibc::host::data_hash(&[b"some tx".to_vec()]);
    let raw = ica::interchain_account_address("connection-0", CONTROLLER_PORT, &[0xAA; 32], &data_hash);
    let address = Address::from(raw);
    assert!(address.to_string().starts_with("chimera1"));
    assert_eq!(
        v.as_str().as_bytes(),
        metadata(Encoding::Proto3)
            .with_address(&address.to_string())
            .to_json(),
        "the version is ibc-go's JSON with the address filled in"
    );
    unmetered(&mut state, HEIGHT, |ctx| {
        assert_eq!(
            store::account(ctx, "connection-0", CONTROLLER_PORT).unwrap(),
            Some(address)
        );
        assert!(store::is_interchain_account(ctx, &address).unwrap());
        assert!(chimera_host::chain::auth::get(ctx, &address).unwrap().is_some());
    });
}

#[test]
fn handshake_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let state = default_genesis(&dir);
    let mut bad_tx_type = metadata(Encoding::Proto3);
    bad_tx_type.tx_type = "sdk_single_msg".into();
    let mut wrong_conn = metadata(Encoding::Proto3);
    wrong_conn.controller_connection_id = "connection-9".into();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not JSON",
            b"ics20-1".to_vec(),
            "cannot unmarshal ICS-27 interchain accounts metadata",
        ),
        (
            "an unknown encoding",
            metadata(Encoding::Proto3)
                .to_json()
                .replace_bytes("proto3", "cbor"),
            "unsupported encoding format",
        ),
        (
            "a wrong tx type",
            bad_tx_type.to_json(),
            "unsupported transaction type",
        ),
        (
            "the wrong controller connection",
            wrong_conn.to_json(),
            "controller_connection_id",
        ),
    ];
    let mut state = state;
    for (what, version, want) in cases {
        let (r, s) = open_try(state, Order::Ordered, &version);
        state = s;
        let e = r.expect_err(what);
        assert!(e.contains(want), "{what}: {e}");
    }
    // Nothing was created by the refusals.
    unmetered(&mut state, HEIGHT, |ctx| {
        assert_eq!(
            store::account(ctx, "connection-0", CONTROLLER_PORT).unwrap(),
            None
        );
    });
    // Disabled host: no handshake.
    let dir2 = tempfile::tempdir().unwrap();
    let off = genesis(&dir2, serde_json::json!({"host_enabled": false}));
    let (r, _) = open_try(off, Order::Ordered, &metadata(Encoding::Proto3).to_json());
    assert!(r.unwrap_err().contains("host submodule is disabled"));
    // A host never starts or closes.
    let host = Host::new(state);
    let port: PortId = ica::HOST_PORT.parse().unwrap();
    let e = host
        .module
        .on_chan_open_init_validate(
            Order::Ordered,
            &[ConnectionId::new(0)],
            &port,
            &ChannelId::new(0),
            &cp(),
            &Version::empty(),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("must be initiated by controller chain"),
        "{e}"
    );
    let e = host
        .module
        .on_chan_close_init_validate(&port, &ChannelId::new(0))
        .unwrap_err();
    assert!(e.to_string().contains("user cannot close channel"), "{e}");
}

trait ReplaceBytes {
    fn replace_bytes(self, from: &str, to: &str) -> Vec<u8>;
}

impl ReplaceBytes for Vec<u8> {
    fn replace_bytes(self, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(self).unwrap().replace(from, to).into_bytes()
    }
}

#[test]
fn one_open_channel_per_account_and_reopening_keeps_the_account() {
    let (_dir, state, address) = opened(Encoding::Proto3);
    // A second channel while channel-1 is OPEN.
    let (r, mut state) = open_try(state, Order::Ordered, &metadata(Encoding::Proto3).to_json());
    assert!(r.unwrap_err().contains("already OPEN"));
    // Channel-1 closed (an ordered channel's timeout): re-open; same terms
    // required, same account given.
    let v1 = Metadata::new_controller("connection-5", "connection-0", Encoding::Proto3)
        .with_address(&address.to_string())
        .to_json();
    put_channel(
        &mut state,
        1,
        std::str::from_utf8(&v1).unwrap(),
        RawOrder::Ordered,
        State::Closed,
    );
    let (r, state) = open_try(state, Order::Ordered, &metadata(Encoding::Proto3Json).to_json());
    assert!(r
        .unwrap_err()
        .contains("previous active channel metadata does not match"));
    let (r, mut state) = open_try(state, Order::Unordered, &metadata(Encoding::Proto3).to_json());
    let v2 = r.unwrap();
    assert_eq!(
        v2.as_str().as_bytes(),
        v1.as_slice(),
        "re-opened with the same account"
    );
    put_channel(&mut state, 2, v2.as_str(), RawOrder::Unordered, State::Tryopen);
    let mut state = confirm(state, 2);
    unmetered(&mut state, HEIGHT, |ctx| {
        assert_eq!(
            store::active_channel(ctx, "connection-0", CONTROLLER_PORT)
                .unwrap()
                .as_deref(),
            Some("channel-2")
        );
    });
}

fn packet(seq: u64, data: Vec<u8>) -> Packet {
    Packet::try_from(RawPacket {
        sequence: seq,
        source_port: CONTROLLER_PORT.into(),
        source_channel: "channel-3".into(),
        destination_port: ica::HOST_PORT.into(),
        destination_channel: "channel-1".into(),
        data,
        timeout_height: Some(Height {
            revision_number: 0,
            revision_height: 1000,
        }),
        timeout_timestamp: 0,
    })
    .unwrap()
}

fn receive(state: Delta, seq: u64, data: Vec<u8>) -> (Option<Vec<u8>>, Delta, Vec<tendermint::abci::Event>) {
    let mut host = Host::new(state);
    let (_, ack) = host
        .module
        .on_recv_packet_execute(&packet(seq, data), &Signer::from("relayer".to_string()));
    let events = host.shared.borrow().events.clone();
    (ack.map(|a| a.as_ref().to_vec()), host.done(), events)
}

fn send_msg(from: &Address, to: &Address, amount: u128) -> Any {
    Any {
        type_url: MsgSend::type_url(),
        value: MsgSend {
            from_address: from.to_string(),
            to_address: to.to_string(),
            amount: vec![Coin {
                denom: VOUCHER.into(),
                amount: amount.to_string(),
            }],
        }
        .encode_to_vec(),
    }
}

fn run_msg(signer: &Address, model: &str, fee: u128) -> Any {
    let data = chain_support::seven_request(&signer.to_string(), model);
    let fee = if fee == 0 {
        vec![]
    } else {
        vec![Coin {
            denom: VOUCHER.into(),
            amount: fee.to_string(),
        }]
    };
    Any {
        type_url: proto::MsgRunInference::type_url(),
        value: data.to_msg(fee).encode_to_vec(),
    }
}

fn balance(state: &mut Delta, a: &Address) -> u128 {
    unmetered(state, HEIGHT, |ctx| bank::balance(ctx, a, VOUCHER).unwrap())
}

fn ack_commitment(state: &Delta, seq: u64) -> Option<Vec<u8>> {
    state
        .get(format!("acks/ports/icahost/channels/channel-1/sequences/{seq}").as_bytes())
        .unwrap()
}

#[test]
fn packets_execute_atomically_with_ibc_go_acks() {
    for encoding in [Encoding::Proto3, Encoding::Proto3Json] {
        let (_dir, mut state, account) = opened(encoding);
        unmetered(&mut state, HEIGHT, |ctx| {
            bank::mint(ctx, &account, VOUCHER, 1_000)
        })
        .unwrap();
        let friend = Address::from([5u8; 20]);
        let stranger = Address::from([6u8; 20]);

        // MsgSend: executed, TxMsgData with its response.
        let data = ica::packet_data(&[send_msg(&account, &friend, 100)], encoding, "").unwrap();
        let (ack, mut s, events) = receive(state, 1, data);
        let ack = ack.expect("a synchronous ack");
        let responses = ica::msg_responses_from_ack(&ack).unwrap();
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].type_url, "/cosmos.bank.v1beta1.MsgSendResponse");
        assert_eq!((balance(&mut s, &account), balance(&mut s, &friend)), (900, 100));
        assert!(events.iter().any(|e| e.kind == "ics27_packet"
            && e.attributes
                .iter()
                .any(|a| a.key_str().unwrap() == "success" && a.value_str().unwrap() == "true")));
        state = s;

        // Refusals: ibc-go's error ack, nothing moved.
        let cases: Vec<(&str, Vec<Any>, u32)> = vec![
            (
                "a type off the allow-list",
                vec![Any {
                    type_url: "/ibc.applications.transfer.v1.MsgTransfer".into(),
                    value: vec![],
                }],
                4,
            ),
            ("a wrong signer", vec![send_msg(&stranger, &friend, 1)], 4),
            (
                "a send then an unfunded send",
                vec![
                    send_msg(&account, &friend, 10),
                    send_msg(&account, &friend, 10_000),
                ],
                5,
            ),
            (
                "an unknown model",
                vec![run_msg(&account, "no-such-model", 0)],
                18,
            ),
            (
                "a fee the account lacks",
                vec![run_msg(&account, "digits-ddpm", 5_000)],
                5,
            ),
        ];
        for (what, msgs, code) in cases {
            let data = ica::packet_data(&msgs, encoding, "").unwrap_or_else(|_| {
                // proto3json cannot carry an unmappable type: send it as proto3
                // bytes the channel will not decode as JSON.
                ica::packet_data(&msgs, Encoding::Proto3, "").unwrap()
            });
            let (ack, mut s, events) = receive(state, 2, data);
            let ack = ack.unwrap_or_else(|| panic!("{what}: no ack"));
            let text = String::from_utf8(ack.clone()).unwrap();
            let got = ica::error_ack_code(
                serde_json::from_slice::<serde_json::Value>(&ack).unwrap()["error"]
                    .as_str()
                    .unwrap(),
            );
            if what == "a type off the allow-list" && encoding == Encoding::Proto3Json {
                assert_eq!(got, Some(2), "{what}: {text}");
            } else {
                assert_eq!(got, Some(code), "{what}: {text}");
            }
            assert_eq!(
                (balance(&mut s, &account), balance(&mut s, &friend)),
                (900, 100),
                "{what}"
            );
            assert!(events.iter().any(|e| e.kind == "ics27_packet"
                && e.attributes
                    .iter()
                    .any(|a| a.key_str().unwrap() == "success" && a.value_str().unwrap() == "false")));
            state = s;
        }
    }
}

#[test]
fn inference_tx_is_acknowledged_when_its_job_ends() {
    let (_dir, mut state, account) = opened(Encoding::Proto3);
    unmetered(&mut state, HEIGHT, |ctx| {
        bank::mint(ctx, &account, VOUCHER, 1_000)
    })
    .unwrap();
    let friend = Address::from([5u8; 20]);
    let data = ica::packet_data(
        &[
            send_msg(&account, &friend, 10),
            run_msg(&account, "digits-ddpm", 300),
        ],
        Encoding::Proto3,
        "",
    )
    .unwrap();
    let (ack, mut state, _) = receive(state, 4, data);
    assert!(ack.is_none(), "the ack waits for the job");
    assert_eq!(balance(&mut state, &account), 1_000 - 10 - 300, "fee escrowed");
    let job = unmetered(&mut state, HEIGHT, |ctx| {
        let pending = chimera_host::inference::store::pending_ids(ctx.state).unwrap();
        assert_eq!(pending.len(), 1);
        pending[0]
    });
    // The quorum agrees: the ack is TxMsgData with the job's result.
    let result = chimera_packets::InferenceResult {
        job_id: job,
        model_hash: [7; 32],
        output: chimera_packets::OutputCommitment {
            sha256: [8; 32],
            size: 1234,
            encoding: chimera_packets::OutputEncoding::Png,
        },
        quorum: chimera_packets::Quorum {
            height: HEIGHT + 2,
            agreeing_power: 10,
            total_power: 10,
        },
    };
    let mut events = Vec::new();
    unmetered(&mut state, HEIGHT + 2, |ctx| {
        let rec = chimera_host::inference::store::get_job(ctx, job)
            .unwrap()
            .unwrap();
        let outcome = Outcome::Result(result.clone());
        chimera_host::inference::jobs::finish(ctx, rec, &outcome, &Verdict::default(), &mut events).unwrap();
        chimera_host::ica::on_job_finished(ctx, "chimera-test", job, &outcome, &mut events).unwrap();
    });
    let write = events
        .iter()
        .find(|e| e.kind == "write_acknowledgement")
        .expect("write_acknowledgement");
    let ack_hex = write
        .attributes
        .iter()
        .find(|a| a.key_str().unwrap() == "packet_ack_hex")
        .unwrap()
        .value_str()
        .unwrap()
        .to_string();
    let ack = hex::decode(ack_hex).unwrap();
    let responses = ica::run_inference_response_from_ack(&ack).unwrap();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].job_id, job);
    assert_eq!(responses[0].output.as_ref().unwrap().sha256, vec![8; 32]);
    let all = ica::msg_responses_from_ack(&ack).unwrap();
    assert_eq!(all[0].type_url, "/cosmos.bank.v1beta1.MsgSendResponse");
    assert_eq!(ack_commitment(&state, 4).unwrap(), Sha256::digest(&ack).to_vec());
    assert_eq!(balance(&mut state, &account), 690, "the fee was paid out");

    // A second tx whose job fails: error ack with the inference code, fee
    // refunded.
    let data = ica::packet_data(&[run_msg(&account, "digits-ddpm", 90)], Encoding::Proto3, "").unwrap();
    let (ack, mut state, _) = receive(state, 5, data);
    assert!(ack.is_none());
    assert_eq!(balance(&mut state, &account), 600);
    let job = unmetered(&mut state, HEIGHT, |ctx| {
        chimera_host::inference::store::pending_ids(ctx.state).unwrap()[0]
    });
    let mut events = Vec::new();
    let err = AckError::new(ErrorCode::NoQuorum, "no quorum by the deadline");
    unmetered(&mut state, HEIGHT + 60, |ctx| {
        let rec = chimera_host::inference::store::get_job(ctx, job)
            .unwrap()
            .unwrap();
        let outcome = Outcome::Error(err.clone());
        chimera_host::inference::jobs::finish(ctx, rec, &outcome, &Verdict::default(), &mut events).unwrap();
        chimera_host::ica::on_job_finished(ctx, "chimera-test", job, &outcome, &mut events).unwrap();
    });
    assert_eq!(balance(&mut state, &account), 690, "refunded");
    let want = ica::error_ack(ErrorCode::NoQuorum.code());
    assert_eq!(ack_commitment(&state, 5).unwrap(), Sha256::digest(&want).to_vec());
}

mod arbitrary_packets {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn packet_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Anything at all (IBC core refuses empty data before the app).
            proptest::collection::vec(any::<u8>(), 1..512),
            // ibc-go's JSON shape around arbitrary CosmosTx bytes.
            (
                proptest::collection::vec(any::<u8>(), 0..256),
                "[a-zA-Z_]{0,20}",
                ".{0,40}"
            )
                .prop_map(|(data, kind, memo)| {
                    serde_json::json!({
                        "type": if kind.is_empty() { "TYPE_EXECUTE_TX".to_string() } else { kind },
                        "data": base64::engine::general_purpose::STANDARD.encode(data),
                        "memo": memo,
                    })
                    .to_string()
                    .into_bytes()
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever a controller sends, the host answers at once, never
        /// panics or faults, and an error ack leaves the state as it was.
        #[test]
        fn any_packet_gets_an_ack_and_an_error_ack_writes_nothing(data in packet_bytes()) {
            let (_dir, mut base, account) = opened(Encoding::Proto3);
            unmetered(&mut base, HEIGHT, |ctx| bank::mint(ctx, &account, VOUCHER, 1_000)).unwrap();
            let before = base.fork();
            let (ack, mut after, _) = receive(base, 9, data);
            let ack = ack.expect("no job can hide in random bytes: the ack is synchronous");
            match ica::msg_responses_from_ack(&ack) {
                Err(ica::IcaError::ErrorAck(text)) => {
                    prop_assert!(ica::error_ack_code(&text).is_some(), "{text}");
                    let mut before = before;
                    prop_assert_eq!(balance(&mut after, &account), balance(&mut before, &account));
                    prop_assert_eq!(ack_commitment(&after, 9), None);
                }
                Ok(responses) => prop_assert!(responses.is_empty(), "{responses:?}"),
                Err(e) => prop_assert!(false, "an ack that is not ibc-go's: {e}"),
            }
        }
    }
}
