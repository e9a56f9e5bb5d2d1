//! IBC state and messages on the real app, one property per test:
//! - every IBC value is stored under its ICS-24 path in the bytes ibc-go
//!   writes (rebuilt here from ibc-go's definitions, not from ibc-rs), and
//!   proves with `state::verify_membership` under `state::proof_specs()`;
//! - bogus IBC messages (undecodable, unknown client, bad proof, foreign
//!   signer, governance-only) get the SDK's ABCI code and a log that says
//!   why, and change no IBC state (the update batched with a bad message is
//!   dropped with it);
//! - `MsgTransfer` escrows and emits `send_packet` with ibc-go's attribute
//!   names, every attribute indexed, under a `message` event of module `ibc`;
//! - IBC messages pay KV gas like any other (out of gas is code 11).

mod chain_support;
mod ibc_support;

use chain_support::GrpcServer;
use chimera_host::ibc::transfer;
use chimera_host::state::{proof_specs, verify_membership, IBC_STORE_PREFIX};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::applications::transfer::v1 as transfer_v1;
use ibc_proto::ibc::core::channel::v1 as chan;
use ibc_proto::ibc::core::client::v1 as client;
use ibc_proto::ibc::core::commitment::v1::{MerklePrefix, MerkleProof};
use ibc_proto::ibc::core::connection::v1 as conn;
use ibc_support::relay::{any, conn_open_init, conn_open_try, sent_packet, Dir, Path};
use ibc_support::{Chain, Who};
use prost::Message;
use sha2::Digest;

fn open_path() -> Path {
    let mut path = Path::new(Chain::start("chimera-a-1", 1), Chain::start("chimera-b-1", 11));
    path.create_clients();
    path.connect();
    path.open_transfer_channel();
    path
}

/// The committed value at `key` and a check that its proof verifies
/// against the app hash of that version.
fn proven(chain: &mut Chain, key: &str) -> Vec<u8> {
    let v = chain.height;
    let (value, proof) = chain.prove(key, v);
    let value = value.unwrap_or_else(|| panic!("nothing stored at {key}"));
    let proofs = MerkleProof::decode(proof.as_slice()).unwrap().proofs;
    assert!(
        verify_membership(
            &proof_specs(),
            chain.storage.app_hash(v).unwrap().as_bytes(),
            IBC_STORE_PREFIX,
            key.as_bytes(),
            &value,
            &proofs
        ),
        "proof of {key} does not verify"
    );
    value
}

fn transfer(from: &Chain, denom: &str, amount: &str, to: &Chain, timeout: u64) -> transfer_v1::MsgTransfer {
    transfer_v1::MsgTransfer {
        source_port: "transfer".into(),
        source_channel: "channel-0".into(),
        token: Some(Coin {
            denom: denom.into(),
            amount: amount.into(),
        }),
        sender: from.user.address.to_string(),
        receiver: to.user.address.to_string(),
        timeout_height: Some(to.raw_height(timeout)),
        timeout_timestamp: 0,
        memo: "hello".into(),
    }
}

#[test]
fn ibc_values_are_ibc_go_bytes_under_ics24_paths_and_prove() {
    let mut path = open_path();
    path.sync();
    let msg = transfer(
        &path.a.chain,
        "uchim",
        "1000",
        &path.b.chain,
        path.b.chain.height + 100,
    );
    let sent = path.a.chain.deliver(Who::User, vec![any(&msg)]);
    sent.assert_ok();
    let packet = sent_packet(&sent);
    let recv = path.recv(Dir::AtoB, &packet);
    recv.assert_ok();

    let a = &mut path.a.chain;
    // Client state: Any of /ibc.lightclients.tendermint.v1.ClientState.
    let cs = Any::decode(proven(a, "clients/07-tendermint-0/clientState").as_slice()).unwrap();
    assert_eq!(cs.type_url, "/ibc.lightclients.tendermint.v1.ClientState");
    let raw = ibc_proto::ibc::lightclients::tendermint::v1::ClientState::decode(cs.value.as_slice()).unwrap();
    assert_eq!(raw.chain_id, "chimera-b-1");
    assert_eq!(
        raw.proof_specs,
        proof_specs(),
        "the counterparty's specs, kept as given"
    );
    assert_eq!(raw.encode_to_vec(), cs.value, "canonical protobuf");
    // Consensus states: Any of /ibc.lightclients.tendermint.v1.ConsensusState,
    // root = the app hash in the header, at `consensusStates/{rev}-{h}`.
    let h = raw.latest_height.unwrap();
    let key = format!(
        "clients/07-tendermint-0/consensusStates/{}-{}",
        h.revision_number, h.revision_height
    );
    let cons = Any::decode(proven(a, &key).as_slice()).unwrap();
    assert_eq!(cons.type_url, "/ibc.lightclients.tendermint.v1.ConsensusState");
    let rawc =
        ibc_proto::ibc::lightclients::tendermint::v1::ConsensusState::decode(cons.value.as_slice()).unwrap();
    let b_app_hash = path.b.chain.storage.app_hash(h.revision_height - 1).unwrap();
    assert_eq!(rawc.root.unwrap().hash, b_app_hash.as_bytes().to_vec());
    let a = &mut path.a.chain;
    // Connection end: ibc.core.connection.v1.ConnectionEnd.
    let expected = conn::ConnectionEnd {
        client_id: "07-tendermint-0".into(),
        versions: vec![conn::Version {
            identifier: "1".into(),
            features: vec!["ORDER_ORDERED".into(), "ORDER_UNORDERED".into()],
        }],
        state: conn::State::Open as i32,
        counterparty: Some(conn::Counterparty {
            client_id: "07-tendermint-0".into(),
            connection_id: "connection-0".into(),
            prefix: Some(MerklePrefix {
                key_prefix: b"ibc".to_vec(),
            }),
        }),
        delay_period: 0,
    };
    assert_eq!(proven(a, "connections/connection-0"), expected.encode_to_vec());
    assert_eq!(
        proven(a, "clients/07-tendermint-0/connections"),
        conn::ClientPaths {
            paths: vec!["connection-0".into()]
        }
        .encode_to_vec()
    );
    // Channel end: ibc.core.channel.v1.Channel.
    let expected = chan::Channel {
        state: chan::State::Open as i32,
        ordering: chan::Order::Unordered as i32,
        counterparty: Some(chan::Counterparty {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
        }),
        connection_hops: vec!["connection-0".into()],
        version: "ics20-1".into(),
        upgrade_sequence: 0,
    };
    assert_eq!(
        proven(a, "channelEnds/ports/transfer/channels/channel-0"),
        expected.encode_to_vec()
    );
    // Sequences: u64 big-endian (sdk.Uint64ToBigEndian).
    assert_eq!(
        proven(a, "nextSequenceSend/ports/transfer/channels/channel-0"),
        2u64.to_be_bytes()
    );
    assert_eq!(
        proven(a, "nextSequenceRecv/ports/transfer/channels/channel-0"),
        1u64.to_be_bytes()
    );
    assert_eq!(
        proven(a, "nextSequenceAck/ports/transfer/channels/channel-0"),
        1u64.to_be_bytes()
    );
    // Packet commitment: ibc-go's CommitPacket.
    let mut pre = packet.timeout_timestamp.to_be_bytes().to_vec();
    let th = packet.timeout_height.unwrap();
    pre.extend_from_slice(&th.revision_number.to_be_bytes());
    pre.extend_from_slice(&th.revision_height.to_be_bytes());
    pre.extend_from_slice(&sha2::Sha256::digest(&packet.data));
    assert_eq!(
        proven(a, "commitments/ports/transfer/channels/channel-0/sequences/1"),
        sha2::Sha256::digest(&pre).to_vec()
    );
    // ibc-go's counters.
    assert_eq!(
        a.prove("nextClientSequence", a.height).0.unwrap(),
        1u64.to_be_bytes()
    );
    assert_eq!(
        a.prove("nextConnectionSequence", a.height).0.unwrap(),
        1u64.to_be_bytes()
    );
    assert_eq!(
        a.prove("nextChannelSequence", a.height).0.unwrap(),
        1u64.to_be_bytes()
    );

    let b = &mut path.b.chain;
    // Receipt: the byte 0x01; ack: sha256(ack bytes) (CommitAcknowledgement).
    assert_eq!(
        proven(b, "receipts/ports/transfer/channels/channel-0/sequences/1"),
        vec![1u8]
    );
    assert_eq!(
        proven(b, "acks/ports/transfer/channels/channel-0/sequences/1"),
        sha2::Sha256::digest(br#"{"result":"AQ=="}"#).to_vec()
    );
    assert_eq!(
        proven(b, "nextSequenceRecv/ports/transfer/channels/channel-0"),
        1u64.to_be_bytes(),
        "unordered channels keep nextSequenceRecv at 1, as ibc-go"
    );
    // The packet data on the wire is ibc-go's ICS-20 JSON.
    let data: serde_json::Value = serde_json::from_slice(&packet.data).unwrap();
    assert_eq!(
        data,
        serde_json::json!({
            "amount": "1000",
            "denom": "uchim",
            "memo": "hello",
            "receiver": b.user.address.to_string(),
            "sender": path.a.chain.user.address.to_string(),
        })
    );
}

#[test]
fn bogus_ibc_messages_are_refused_and_change_nothing() {
    let mut path = Path::new(Chain::start("chimera-a-1", 1), Chain::start("chimera-b-1", 11));
    let signer = path.b.signer();
    let b = &mut path.b.chain;

    // Undecodable: the SDK's tx parse error, refused before fees.
    let junk = Any {
        type_url: "/ibc.core.client.v1.MsgCreateClient".into(),
        value: vec![0xff, 0xff, 0x01],
    };
    let r = b.check(Who::Relayer, vec![junk.clone()]);
    assert_eq!(r.code.value(), 2, "{}", r.log);
    assert!(r.log.contains("MsgCreateClient"), "{}", r.log);
    let d = b.deliver(Who::Relayer, vec![junk]);
    assert_eq!(d.result.code.value(), 2, "{}", d.result.log);

    // A well-formed create with a consensus state that does not decode as
    // 07-tendermint.
    let not_tm = client::MsgCreateClient {
        client_state: Some(Any {
            type_url: "/ibc.lightclients.solomachine.v3.ClientState".into(),
            value: vec![8, 1],
        }),
        consensus_state: Some(Any {
            type_url: "/ibc.lightclients.solomachine.v3.ConsensusState".into(),
            value: vec![],
        }),
        signer: signer.clone(),
    };
    let d = b.deliver(Who::Relayer, vec![any(&not_tm)]);
    assert_eq!(d.result.code.value(), 18, "{}", d.result.log);
    assert!(
        d.result
            .log
            .contains("/ibc.lightclients.tendermint.v1.ClientState"),
        "{}",
        d.result.log
    );

    // Unknown client.
    let header = path.a.chain.client_header(path.a.chain.height, 1);
    let b = &mut path.b.chain;
    let update = client::MsgUpdateClient {
        client_id: "07-tendermint-7".into(),
        client_message: Some(header),
        signer: signer.clone(),
    };
    let d = b.deliver(Who::Relayer, vec![any(&update)]);
    assert_eq!(d.result.code.value(), 18, "{}", d.result.log);
    assert!(d.result.log.contains("07-tendermint-7"), "{}", d.result.log);
    assert!(d.result.log.contains("not found"), "{}", d.result.log);

    // A signer that is not a chimera address.
    let foreign = client::MsgUpdateClient {
        signer: "terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v".into(),
        ..update.clone()
    };
    let r = b.check(Who::Relayer, vec![any(&foreign)]);
    assert_eq!(r.code.value(), 7, "{}", r.log);

    // Governance-only messages are not accepted from anyone.
    let recover = client::MsgRecoverClient {
        subject_client_id: "07-tendermint-0".into(),
        substitute_client_id: "07-tendermint-1".into(),
        signer: signer.clone(),
    };
    let r = b.check(Who::Relayer, vec![any(&recover)]);
    assert_eq!(r.code.value(), 6, "{}", r.log);
    for key in ["nextClientSequence", "clients/07-tendermint-0/clientState"] {
        assert_eq!(b.prove(key, b.height).0, None, "{key} was written");
    }

    // Bad proof: a ConnOpenTry whose INIT proof is of another key. The
    // client update batched before it is dropped with it.
    path.create_clients();
    path.sync();
    let init = conn_open_init(&path.a, &path.b);
    path.a.chain.deliver(Who::Relayer, vec![any(&init)]).assert_ok();
    path.a.connection_id = "connection-0".into();
    let client_height = path.b.client_height;
    let (d, v) = path.submit(Dir::AtoB, |src, dst, v| {
        let mut m = conn_open_try(src, dst, v);
        m.proof_init = src.chain.prove("nextConnectionSequence", v).1;
        vec![any(&m)]
    });
    assert_eq!(d.result.code.value(), 18, "{}", d.result.log);
    assert!(d.result.log.contains("verif"), "{}", d.result.log);
    let b = &mut path.b.chain;
    assert_eq!(b.prove("connections/connection-0", b.height).0, None);
    assert_eq!(b.prove("nextConnectionSequence", b.height).0, None);
    let update_key = format!("clients/07-tendermint-0/consensusStates/1-{}", v + 1);
    assert_eq!(
        b.prove(&update_key, b.height).0,
        None,
        "the batched update was kept"
    );
    path.b.client_height = client_height;

    // The same try with honest proofs then goes through.
    let (d, _) = path.submit(Dir::AtoB, |src, dst, v| vec![any(&conn_open_try(src, dst, v))]);
    d.assert_ok();
    assert_eq!(
        d.attr("connection_open_try", "connection_id").unwrap(),
        "connection-0"
    );
}

#[test]
fn msg_transfer_escrows_and_emits_ibc_go_events() {
    let mut path = open_path();
    path.sync();
    let timeout = path.b.chain.height + 100;
    let escrow = transfer::escrow_address("transfer", "channel-0");
    let a = &mut path.a.chain;
    let user = a.user.address;
    let before = a.balance(&user, "uchim");

    // Too much: refused, nothing escrowed.
    let too_much = transfer(a, "uchim", &(before * 2).to_string(), &path.b.chain, timeout);
    let d = a.deliver(Who::User, vec![any(&too_much)]);
    assert_eq!(d.result.code.value(), 18, "{}", d.result.log);
    assert!(d.result.log.contains("insufficient funds"), "{}", d.result.log);
    assert_eq!(a.balance(&escrow, "uchim"), 0);
    // A voucher denom this chain never minted.
    let unknown = transfer(
        a,
        &format!("ibc/{}", "AB".repeat(32)),
        "5",
        &path.b.chain,
        timeout,
    );
    let d = a.deliver(Who::User, vec![any(&unknown)]);
    assert_eq!(d.result.code.value(), 10, "{}", d.result.log);
    assert!(
        d.result.log.contains("denomination trace not found"),
        "{}",
        d.result.log
    );

    let msg = transfer(a, "uchim", "1234", &path.b.chain, timeout);
    let before = a.balance(&user, "uchim");
    let d = a.deliver(Who::User, vec![any(&msg)]);
    d.assert_ok();
    assert_eq!(a.balance(&escrow, "uchim"), 1234);
    assert_eq!(
        a.balance(&user, "uchim"),
        before - 1234 - a.gas_limit.div_ceil(40) as u128
    );

    // The message event Hermes and explorers read.
    let message = d
        .events("message")
        .into_iter()
        .find(|e| {
            e.attributes
                .iter()
                .any(|x| x.value_str().ok() == Some("/ibc.applications.transfer.v1.MsgTransfer"))
        })
        .expect("message event of the MsgTransfer");
    let attrs: Vec<_> = message
        .attributes
        .iter()
        .map(|x| (x.key_str().unwrap(), x.value_str().unwrap()))
        .collect();
    assert!(attrs.contains(&("module", "ibc")), "{attrs:?}");
    assert!(
        attrs.contains(&("sender", user.to_string().as_str())),
        "{attrs:?}"
    );

    // send_packet with ibc-go v7's attribute names, all indexed.
    let sp = d.events("send_packet");
    assert_eq!(sp.len(), 1);
    let keys: Vec<&str> = sp[0].attributes.iter().map(|x| x.key_str().unwrap()).collect();
    for k in [
        "packet_data",
        "packet_data_hex",
        "packet_timeout_height",
        "packet_timeout_timestamp",
        "packet_sequence",
        "packet_src_port",
        "packet_src_channel",
        "packet_dst_port",
        "packet_dst_channel",
        "packet_channel_ordering",
        "packet_connection",
    ] {
        assert!(keys.contains(&k), "send_packet lacks {k}: {keys:?}");
    }
    assert!(sp[0].attributes.iter().all(|x| x.index()), "unindexed attribute");
    assert_eq!(d.attr("send_packet", "packet_sequence").unwrap(), "1");
    assert_eq!(d.attr("send_packet", "packet_src_channel").unwrap(), "channel-0");
    assert_eq!(
        d.attr("send_packet", "packet_channel_ordering").unwrap(),
        "ORDER_UNORDERED"
    );
    assert_eq!(
        d.attr("send_packet", "packet_connection").unwrap(),
        "connection-0"
    );
    assert_eq!(
        d.attr("send_packet", "packet_timeout_height").unwrap(),
        format!("1-{timeout}")
    );
    assert_eq!(d.attr("ibc_transfer", "amount").unwrap(), "1234");
    // The escrow is a bank transfer, with the SDK's bank events.
    assert!(
        d.events("transfer").iter().any(|e| e
            .attributes
            .iter()
            .any(|x| x.key_str().unwrap() == "recipient" && x.value_str().unwrap() == escrow.to_string())),
        "no bank transfer to the escrow account"
    );
    // MsgTransferResponse {sequence}.
    let data = ibc_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(d.result.data.as_ref()).unwrap();
    assert_eq!(
        data.msg_responses[0].type_url,
        "/ibc.applications.transfer.v1.MsgTransferResponse"
    );
    let resp = transfer_v1::MsgTransferResponse::decode(data.msg_responses[0].value.as_slice()).unwrap();
    assert_eq!(resp.sequence, 1);

    // The escrow account is the SDK's, as EscrowAddress reports it.
    let q: transfer_v1::QueryEscrowAddressResponse = a
        .grpc(
            "/ibc.applications.transfer.v1.Query/EscrowAddress",
            transfer_v1::QueryEscrowAddressRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
            },
        )
        .unwrap();
    assert_eq!(q.escrow_address, escrow.to_string());
}

#[test]
fn ibc_messages_pay_kv_gas() {
    let mut path = open_path();
    path.sync();
    let timeout = path.b.chain.height + 100;
    let a = &mut path.a.chain;
    let msg = transfer(a, "uchim", "10", &path.b.chain, timeout);
    let d = a.deliver(Who::User, vec![any(&msg)]);
    d.assert_ok();
    let used = d.result.gas_used as u64;
    // Reads and writes of channel, sequence, commitment, balances: tens of
    // thousands of gas, as an SDK chain charges.
    assert!((30_000..300_000).contains(&used), "MsgTransfer used {used} gas");
    a.gas_limit = used / 2;
    let d = a.deliver(Who::User, vec![any(&msg)]);
    assert_eq!(d.result.code.value(), 11, "{}", d.result.log);
    assert_eq!(
        a.prove(
            "commitments/ports/transfer/channels/channel-0/sequences/2",
            a.height
        )
        .0,
        None,
        "an out-of-gas transfer left a packet"
    );
}

/// The four IBC services through `crate::grpc::serve_on`, as Hermes asks
/// them over gRPC (with the height header in the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibc_query_services_answer_over_grpc() {
    let path = tokio::task::spawn_blocking(open_path).await.unwrap();
    let storage = path.a.chain.storage.clone();
    let height = path.a.chain.height;
    let server = GrpcServer::start(storage, "chimera-a-1").await;
    let ch = server.channel().await;

    let r = call::<_, client::QueryClientStatesResponse>(
        &ch,
        "/ibc.core.client.v1.Query/ClientStates",
        client::QueryClientStatesRequest::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        r.metadata()
            .get("x-cosmos-block-height")
            .unwrap()
            .to_str()
            .unwrap(),
        height.to_string()
    );
    assert_eq!(r.into_inner().client_states[0].client_id, "07-tendermint-0");
    let params: client::QueryClientParamsResponse = get(
        &ch,
        "/ibc.core.client.v1.Query/ClientParams",
        client::QueryClientParamsRequest {},
    )
    .await;
    assert_eq!(params.params.unwrap().allowed_clients, vec!["07-tendermint"]);

    let p: conn::QueryConnectionParamsResponse = get(
        &ch,
        "/ibc.core.connection.v1.Query/ConnectionParams",
        conn::QueryConnectionParamsRequest {},
    )
    .await;
    assert_eq!(p.params.unwrap().max_expected_time_per_block, 30_000_000_000);
    let c: conn::QueryConnectionResponse = get(
        &ch,
        "/ibc.core.connection.v1.Query/Connection",
        conn::QueryConnectionRequest {
            connection_id: "connection-0".into(),
        },
    )
    .await;
    assert_eq!(c.proof_height.unwrap().revision_height, height);

    let e = call::<_, chan::QueryChannelResponse>(
        &ch,
        "/ibc.core.channel.v1.Query/Channel",
        chan::QueryChannelRequest {
            port_id: "transfer".into(),
            channel_id: "channel-9".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
    let cc: chan::QueryConnectionChannelsResponse = get(
        &ch,
        "/ibc.core.channel.v1.Query/ConnectionChannels",
        chan::QueryConnectionChannelsRequest {
            connection: "connection-0".into(),
            pagination: None,
        },
    )
    .await;
    assert_eq!(cc.channels.len(), 1);
    let next: chan::QueryNextSequenceReceiveResponse = get(
        &ch,
        "/ibc.core.channel.v1.Query/NextSequenceReceive",
        chan::QueryNextSequenceReceiveRequest {
            port_id: "transfer".into(),
            channel_id: "channel-0".into(),
        },
    )
    .await;
    assert_eq!(next.next_sequence_receive, 1);

    let tp: transfer_v1::QueryParamsResponse = get(
        &ch,
        "/ibc.applications.transfer.v1.Query/Params",
        transfer_v1::QueryParamsRequest {},
    )
    .await;
    assert!(tp.params.unwrap().send_enabled);
    let ica: ibc_proto::ibc::applications::interchain_accounts::host::v1::QueryParamsResponse = get(
        &ch,
        "/ibc.applications.interchain_accounts.host.v1.Query/Params",
        ibc_proto::ibc::applications::interchain_accounts::host::v1::QueryParamsRequest {},
    )
    .await;
    let ica = ica.params.unwrap();
    assert!(ica.host_enabled);
    assert_eq!(
        ica.allow_messages,
        vec![
            "/chimera.inference.v1.MsgRunInference",
            "/cosmos.bank.v1beta1.MsgSend"
        ]
    );
    let hash = get::<_, transfer_v1::QueryDenomHashResponse>(
        &ch,
        "/ibc.applications.transfer.v1.Query/DenomHash",
        transfer_v1::QueryDenomHashRequest {
            trace: "transfer/channel-0/uluna".into(),
        },
    )
    .await
    .hash;
    assert_eq!(hash, transfer::trace_hash("transfer/channel-0/uluna"));

    server.stop().await;
    drop(path);
}

/// One unary gRPC call by method path (what the generated clients do;
/// host builds ibc-proto with its servers only).
async fn call<Req, Resp>(
    ch: &tonic::transport::Channel,
    path: &'static str,
    req: Req,
) -> Result<tonic::Response<Resp>, tonic::Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unknown(e.to_string()))?;
    let codec = tonic::codec::ProstCodec::<Req, Resp>::default();
    grpc.unary(
        tonic::Request::new(req),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        codec,
    )
    .await
}

async fn get<Req, Resp>(ch: &tonic::transport::Channel, path: &'static str, req: Req) -> Resp
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    call(ch, path, req)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e:?}"))
        .into_inner()
}
