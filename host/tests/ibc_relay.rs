//! Two in-process chimera chains connected by IBC, with a hand-driven
//! relayer that builds Hermes's messages (host/tests/ibc_support/relay.rs).
//!
//! What is verified, for real, by the chains themselves:
//! - 07-tendermint clients of each other, updated with CometBFT headers
//!   signed by each chain's ed25519 validator (tendermint-rs's production
//!   verifier: signatures, validator-set hashes, trusting period, clock);
//! - every handshake and packet message's ICS-23 proofs, taken from ABCI
//!   `store/ibc/key` at version `v` and checked against the app hash in
//!   header `v + 1` with the proof specs in the client state (chimera's
//!   `[jmt, app-hash]` specs): membership for connection/channel ends,
//!   client and consensus states, commitments and acks; non-membership
//!   for the receipt of a timed-out packet;
//! - self-client validation and host consensus states: ConnOpenTry/Ack
//!   check the counterparty's client of us (chain id, height, specs,
//!   unbonding, upgrade path) and its stored consensus state of us against
//!   what FinalizeBlock recorded;
//! - ICS-20: escrow, voucher mint as `ibc/{hash}` with its denom trace,
//!   burn on the way back, unescrow, ack, and refund on timeout.
//!
//! What is not: the CometBFT side (the test plays consensus with one
//! validator per chain, and header fields CometBFT computes from block data,
//! such as data and results hashes, are left empty); interoperability with
//! ibc-go and Hermes themselves (the localnet tests).

mod chain_support;
mod ibc_support;

use std::time::Instant;

use chimera_host::ibc::transfer;
use chimera_host::state::{proof_specs, verify_membership, verify_non_membership, IBC_STORE_PREFIX};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::ibc::applications::transfer::v1 as transfer_v1;
use ibc_proto::ibc::core::channel::v1 as chan;
use ibc_proto::ibc::core::client::v1 as client;
use ibc_proto::ibc::core::commitment::v1::MerkleProof;
use ibc_proto::ibc::core::connection::v1 as conn;
use ibc_support::relay::{any, sent_packet, Dir, Path};
use ibc_support::{Chain, Who, FEE, START};
use prost::Message;

fn transfer_msg(
    from: &Chain,
    channel: &str,
    denom: &str,
    amount: u128,
    to: &str,
    timeout: u64,
    rev: u64,
) -> transfer_v1::MsgTransfer {
    transfer_v1::MsgTransfer {
        source_port: "transfer".into(),
        source_channel: channel.into(),
        token: Some(Coin {
            denom: denom.into(),
            amount: amount.to_string(),
        }),
        sender: from.user.address.to_string(),
        receiver: to.into(),
        timeout_height: Some(client::Height {
            revision_number: rev,
            revision_height: timeout,
        }),
        timeout_timestamp: 0,
        memo: String::new(),
    }
}

#[test]
fn two_chimera_chains_handshake_transfer_ack_and_timeout() {
    let t0 = Instant::now();
    let mut path = Path::new(Chain::start("chimera-a-1", 1), Chain::start("chimera-b-1", 11));

    path.create_clients();
    assert_eq!(path.a.client_id, "07-tendermint-0");
    assert_eq!(path.b.client_id, "07-tendermint-0");
    path.connect();
    path.open_transfer_channel();
    let handshake = t0.elapsed();
    assert_eq!(
        (path.a.channel_id.as_str(), path.b.channel_id.as_str()),
        ("channel-0", "channel-0")
    );

    // The ends are open, as the query services report them.
    let c: conn::QueryConnectionResponse = path
        .a
        .chain
        .grpc(
            "/ibc.core.connection.v1.Query/Connection",
            conn::QueryConnectionRequest {
                connection_id: "connection-0".into(),
            },
        )
        .unwrap();
    assert_eq!(c.connection.unwrap().state, conn::State::Open as i32);
    let ch: chan::QueryChannelsResponse = path
        .b
        .chain
        .grpc(
            "/ibc.core.channel.v1.Query/Channels",
            chan::QueryChannelsRequest::default(),
        )
        .unwrap();
    assert_eq!(ch.channels.len(), 1);
    assert_eq!(ch.channels[0].state, chan::State::Open as i32);
    assert_eq!(
        ch.channels[0].counterparty.as_ref().unwrap().channel_id,
        "channel-0"
    );

    // --- A -> B: 1000uchim escrowed on A, minted as a voucher on B.
    let escrow_a = transfer::escrow_address("transfer", "channel-0");
    let user_a = path.a.chain.user.address;
    let user_b = path.b.chain.user.address;
    path.sync();
    let rev_b = path.b.chain.revision();
    let timeout = path.b.chain.height + 1000;
    let msg = transfer_msg(
        &path.a.chain,
        "channel-0",
        "uchim",
        1000,
        &user_b.to_string(),
        timeout,
        rev_b,
    );
    let sent = path.a.chain.deliver(Who::User, vec![any(&msg)]);
    sent.assert_ok();
    let packet = sent_packet(&sent);
    assert_eq!(packet.sequence, 1);
    assert_eq!(path.a.chain.balance(&escrow_a, "uchim"), 1000);
    assert_eq!(path.a.chain.balance(&user_a, "uchim"), START - 1000 - FEE);

    // The commitment A stores is ibc-go's hash of the packet, provable
    // against A's app hash with chimera's proof specs.
    let key = format!(
        "commitments/ports/transfer/channels/channel-0/sequences/{}",
        packet.sequence
    );
    let v = path.a.chain.height;
    let (value, proof) = path.a.chain.prove(&key, v);
    let expected = ibc_go_packet_commitment(&packet);
    assert_eq!(value.as_deref(), Some(expected.as_slice()));
    let proofs = MerkleProof::decode(proof.as_slice()).unwrap().proofs;
    let app_hash = path.a.chain.storage.app_hash(v).unwrap();
    assert!(verify_membership(
        &proof_specs(),
        app_hash.as_bytes(),
        IBC_STORE_PREFIX,
        key.as_bytes(),
        &expected,
        &proofs
    ));

    let recv = path.recv(Dir::AtoB, &packet);
    recv.assert_ok();
    let voucher = format!("ibc/{}", transfer::trace_hash("transfer/channel-0/uchim"));
    assert_eq!(path.b.chain.balance(&user_b, &voucher), 1000);
    let ack = recv.attr("write_acknowledgement", "packet_ack").unwrap();
    assert_eq!(ack, r#"{"result":"AQ=="}"#);
    assert_eq!(
        recv.attr("denomination_trace", "trace_hash").unwrap(),
        voucher.trim_start_matches("ibc/")
    );
    let trace: transfer_v1::QueryDenomTraceResponse = path
        .b
        .chain
        .grpc(
            "/ibc.applications.transfer.v1.Query/DenomTrace",
            transfer_v1::QueryDenomTraceRequest {
                hash: voucher.clone(),
            },
        )
        .unwrap();
    assert_eq!(
        trace.denom_trace.unwrap(),
        transfer_v1::DenomTrace {
            path: "transfer/channel-0".into(),
            base_denom: "uchim".into()
        }
    );

    // A relayed packet is not relayed twice: NOOP, nothing changes.
    let again = path.recv(Dir::AtoB, &packet);
    again.assert_ok();
    assert!(again.events("write_acknowledgement").is_empty());
    assert_eq!(path.b.chain.balance(&user_b, &voucher), 1000);
    assert_eq!(packet_result(&again), chan::ResponseResultType::Noop);
    assert_eq!(packet_result(&recv), chan::ResponseResultType::Success);

    let acked = path.ack(Dir::BtoA, &packet, ack.as_bytes());
    acked.assert_ok();
    assert!(acked.attr("acknowledge_packet", "packet_sequence").is_some());
    let (gone, _) = path.a.chain.prove(&key, path.a.chain.height);
    assert_eq!(gone, None, "the commitment is deleted on ack");
    let again = path.ack(Dir::BtoA, &packet, ack.as_bytes());
    again.assert_ok();
    assert_eq!(packet_result(&again), chan::ResponseResultType::Noop);
    assert_eq!(packet_result(&acked), chan::ResponseResultType::Success);

    // --- B -> A: 400 of the voucher, by its ibc/ denom: burnt on B,
    // unescrowed on A.
    path.sync();
    let rev_a = path.a.chain.revision();
    let timeout = path.a.chain.height + 1000;
    let msg = transfer_msg(
        &path.b.chain,
        "channel-0",
        &voucher,
        400,
        &user_a.to_string(),
        timeout,
        rev_a,
    );
    let sent = path.b.chain.deliver(Who::User, vec![any(&msg)]);
    sent.assert_ok();
    let back = sent_packet(&sent);
    assert!(String::from_utf8_lossy(&back.data).contains(r#""denom":"transfer/channel-0/uchim""#));
    assert_eq!(path.b.chain.balance(&user_b, &voucher), 600);
    let supply =
        chimera_host::chain::bank::supply_committed(&path.b.chain.storage.latest_snapshot(), &voucher)
            .unwrap();
    assert_eq!(supply, 600, "vouchers going home are burnt");
    let recv = path.recv(Dir::BtoA, &back);
    recv.assert_ok();
    assert_eq!(path.a.chain.balance(&escrow_a, "uchim"), 600);
    assert_eq!(path.a.chain.balance(&user_a, "uchim"), START - 1000 - FEE + 400);
    let ack = recv.attr("write_acknowledgement", "packet_ack").unwrap();
    path.ack(Dir::AtoB, &back, ack.as_bytes()).assert_ok();

    // --- A -> B with a timeout 2 blocks ahead, never relayed: B passes the
    // height, A times it out with B's proof of no receipt and refunds.
    path.sync();
    let timeout = path.b.chain.height + 2;
    let msg = transfer_msg(
        &path.a.chain,
        "channel-0",
        "uchim",
        100,
        &user_b.to_string(),
        timeout,
        rev_b,
    );
    let sent = path.a.chain.deliver(Who::User, vec![any(&msg)]);
    sent.assert_ok();
    let lost = sent_packet(&sent);
    assert_eq!(lost.sequence, 2);
    assert_eq!(path.a.chain.balance(&escrow_a, "uchim"), 700);
    while path.b.chain.height < timeout + 1 {
        path.b.chain.block(Vec::new());
    }
    path.sync();
    let receipt_key = format!(
        "receipts/ports/transfer/channels/channel-0/sequences/{}",
        lost.sequence
    );
    let vb = path.b.chain.height;
    let (none, proof) = path.b.chain.prove(&receipt_key, vb);
    assert_eq!(none, None);
    let proofs = MerkleProof::decode(proof.as_slice()).unwrap().proofs;
    assert!(verify_non_membership(
        &proof_specs(),
        path.b.chain.storage.app_hash(vb).unwrap().as_bytes(),
        IBC_STORE_PREFIX,
        receipt_key.as_bytes(),
        &proofs
    ));
    // B refuses the late packet itself.
    let late = path.recv(Dir::AtoB, &lost);
    assert_eq!(late.result.code.value(), 18, "{}", late.result.log);
    assert!(
        late.result.log.contains("timed out") || late.result.log.contains("timeout"),
        "{}",
        late.result.log
    );
    let before = path.a.chain.balance(&user_a, "uchim");
    let timed_out = path.timeout(Dir::BtoA, &lost);
    timed_out.assert_ok();
    assert!(timed_out.attr("timeout_packet", "packet_sequence").is_some());
    assert_eq!(path.a.chain.balance(&escrow_a, "uchim"), 600);
    assert_eq!(path.a.chain.balance(&user_a, "uchim"), before + 100);

    // --- The query surface relayers read (gRPC-over-ABCI here; the same
    // handlers serve tonic).
    let a = &mut path.a.chain;
    let states: client::QueryClientStatesResponse = a
        .grpc(
            "/ibc.core.client.v1.Query/ClientStates",
            client::QueryClientStatesRequest::default(),
        )
        .unwrap();
    assert_eq!(states.client_states.len(), 1);
    assert_eq!(states.client_states[0].client_id, "07-tendermint-0");
    let status: client::QueryClientStatusResponse = a
        .grpc(
            "/ibc.core.client.v1.Query/ClientStatus",
            client::QueryClientStatusRequest {
                client_id: "07-tendermint-0".into(),
            },
        )
        .unwrap();
    assert_eq!(status.status, "Active");
    let heights: client::QueryConsensusStateHeightsResponse = a
        .grpc(
            "/ibc.core.client.v1.Query/ConsensusStateHeights",
            client::QueryConsensusStateHeightsRequest {
                client_id: "07-tendermint-0".into(),
                pagination: None,
            },
        )
        .unwrap();
    assert!(heights.consensus_state_heights.len() >= 4);
    assert!(heights
        .consensus_state_heights
        .windows(2)
        .all(|w| w[0].revision_height < w[1].revision_height));
    let commitments: chan::QueryPacketCommitmentsResponse = a
        .grpc(
            "/ibc.core.channel.v1.Query/PacketCommitments",
            chan::QueryPacketCommitmentsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                pagination: None,
            },
        )
        .unwrap();
    assert!(
        commitments.commitments.is_empty(),
        "every packet was acked or timed out"
    );
    let conns: conn::QueryClientConnectionsResponse = a
        .grpc(
            "/ibc.core.connection.v1.Query/ClientConnections",
            conn::QueryClientConnectionsRequest {
                client_id: "07-tendermint-0".into(),
            },
        )
        .unwrap();
    assert_eq!(conns.connection_paths, vec!["connection-0".to_string()]);
    let escrow: transfer_v1::QueryTotalEscrowForDenomResponse = a
        .grpc(
            "/ibc.applications.transfer.v1.Query/TotalEscrowForDenom",
            transfer_v1::QueryTotalEscrowForDenomRequest {
                denom: "uchim".into(),
            },
        )
        .unwrap();
    assert_eq!(escrow.amount.unwrap().amount, "600");
    let b = &mut path.b.chain;
    let unreceived: chan::QueryUnreceivedPacketsResponse = b
        .grpc(
            "/ibc.core.channel.v1.Query/UnreceivedPackets",
            chan::QueryUnreceivedPacketsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                packet_commitment_sequences: vec![1, 2, 3],
            },
        )
        .unwrap();
    assert_eq!(unreceived.sequences, vec![2, 3]);
    let acks: chan::QueryPacketAcknowledgementsResponse = b
        .grpc(
            "/ibc.core.channel.v1.Query/PacketAcknowledgements",
            chan::QueryPacketAcknowledgementsRequest {
                port_id: "transfer".into(),
                channel_id: "channel-0".into(),
                pagination: None,
                packet_commitment_sequences: vec![],
            },
        )
        .unwrap();
    assert_eq!(acks.acknowledgements.len(), 1);
    assert_eq!(
        acks.acknowledgements[0].data,
        sha256(br#"{"result":"AQ=="}"#),
        "ack commitment = sha256(ack bytes), as ibc-go"
    );
    eprintln!(
        "handshake {:?}, whole test {:?} (A at height {}, B at {}); gas: MsgTransfer {}, \
         update+recv {}, update+ack {}, update+timeout {}",
        handshake,
        t0.elapsed(),
        path.a.chain.height,
        path.b.chain.height,
        sent.result.gas_used,
        recv.result.gas_used,
        acked.result.gas_used,
        timed_out.result.gas_used,
    );
}

/// The result of the packet message (after the batch's client update).
fn packet_result(d: &ibc_support::Delivered) -> chan::ResponseResultType {
    let data = ibc_proto::cosmos::base::abci::v1beta1::TxMsgData::decode(d.result.data.as_ref()).unwrap();
    let any = &data.msg_responses[1];
    assert!(any.type_url.ends_with("Response"), "{}", any.type_url);
    let r = chan::MsgRecvPacketResponse::decode(any.value.as_slice()).unwrap();
    chan::ResponseResultType::try_from(r.result).unwrap()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

/// ibc-go v7 `CommitPacket`: sha256(timeout timestamp ‖ timeout revision
/// number ‖ timeout revision height ‖ sha256(data)), integers big-endian.
fn ibc_go_packet_commitment(p: &chan::Packet) -> Vec<u8> {
    let h = p.timeout_height.unwrap_or_default();
    let mut buf = p.timeout_timestamp.to_be_bytes().to_vec();
    buf.extend_from_slice(&h.revision_number.to_be_bytes());
    buf.extend_from_slice(&h.revision_height.to_be_bytes());
    buf.extend_from_slice(&sha256(&p.data));
    sha256(&buf)
}
