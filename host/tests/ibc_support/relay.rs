//! A minimal relayer between two in-process chains, building exactly the
//! messages Hermes builds (ibc-go protobufs, proofs from ABCI
//! `store/ibc/key` at version `v` with proof height `v + 1`, each batch led
//! by a `MsgUpdateClient` to that height).
#![allow(dead_code)]

use chimera_host::ibc::host::proof_specs;
use ibc::clients::tendermint::client_state::ClientState as TmClientState;
use ibc::clients::tendermint::consensus_state::ConsensusState as TmConsensusState;
use ibc::clients::tendermint::types::{AllowUpdate, ClientState as TmClientStateType, TrustThreshold};
use ibc::core::host::types::identifiers::ChainId;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::channel::v1 as chan;
use ibc_proto::ibc::core::client::v1 as client;
use ibc_proto::ibc::core::commitment::v1::MerklePrefix;
use ibc_proto::ibc::core::connection::v1 as conn;
use prost::Message;
use std::time::Duration;

use super::{Chain, Delivered, Who};

pub const TRUSTING: Duration = Duration::from_secs(14 * 24 * 3600);
/// The SDK default, which chimera's genesis keeps (`unbonding_time_secs`).
pub const UNBONDING: Duration = Duration::from_secs(21 * 24 * 3600);
pub const CLOCK_DRIFT: Duration = Duration::from_secs(20);

/// Wraps a message as a tx's `Any`.
pub fn any<M: prost::Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

/// A 07-tendermint client state of `src` at height `h`, as Hermes makes it
/// (chimera's proof specs, the SDK upgrade path).
pub fn client_state(src: &Chain, h: u64) -> Any {
    let cs = TmClientStateType::new(
        ChainId::new(&src.chain_id).unwrap(),
        TrustThreshold::ONE_THIRD,
        TRUSTING,
        UNBONDING,
        CLOCK_DRIFT,
        src.ibc_height(h),
        proof_specs(),
        vec!["upgrade".into(), "upgradedIBCState".into()],
        AllowUpdate {
            after_expiry: true,
            after_misbehaviour: true,
        },
    )
    .unwrap();
    Any::from(TmClientState::from(cs))
}

/// The consensus state of `src`'s header `h`.
pub fn consensus_state(src: &Chain, h: u64) -> Any {
    Any::from(TmConsensusState::from(src.headers[&h].header.clone()))
}

pub fn prefix() -> Option<MerklePrefix> {
    Some(MerklePrefix {
        key_prefix: b"ibc".to_vec(),
    })
}

pub fn version() -> conn::Version {
    conn::Version {
        identifier: "1".into(),
        features: vec!["ORDER_ORDERED".into(), "ORDER_UNORDERED".into()],
    }
}

/// One side of a path: a chain and what the relayer knows of it.
pub struct End {
    pub chain: Chain,
    /// Its client of the other chain.
    pub client_id: String,
    /// That client's latest height.
    pub client_height: u64,
    pub connection_id: String,
    pub channel_id: String,
}

impl End {
    pub fn new(chain: Chain) -> End {
        End {
            chain,
            client_id: String::new(),
            client_height: 0,
            connection_id: String::new(),
            channel_id: String::new(),
        }
    }

    pub fn signer(&self) -> String {
        self.chain.relayer.address.to_string()
    }
}

/// A path between two chains.
pub struct Path {
    pub a: End,
    pub b: End,
}

/// Which way a step goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    AtoB,
    BtoA,
}

impl Path {
    pub fn new(a: Chain, b: Chain) -> Path {
        Path {
            a: End::new(a),
            b: End::new(b),
        }
    }

    /// (source, destination).
    pub fn ends(&mut self, dir: Dir) -> (&mut End, &mut End) {
        match dir {
            Dir::AtoB => (&mut self.a, &mut self.b),
            Dir::BtoA => (&mut self.b, &mut self.a),
        }
    }

    /// Empty blocks on the chain behind until both are at the same height
    /// (their clocks then agree within a block).
    pub fn sync(&mut self) {
        while self.a.chain.height < self.b.chain.height {
            self.a.chain.block(Vec::new());
        }
        while self.b.chain.height < self.a.chain.height {
            self.b.chain.block(Vec::new());
        }
    }

    /// Creates each chain's client of the other at the other's latest header
    /// (past header 1, whose app hash, InitChain's, is empty).
    pub fn create_clients(&mut self) {
        self.a.chain.block(Vec::new());
        self.sync();
        for dir in [Dir::AtoB, Dir::BtoA] {
            let (src, dst) = self.ends(dir);
            let h = src.chain.height;
            let msg = client::MsgCreateClient {
                client_state: Some(client_state(&src.chain, h)),
                consensus_state: Some(consensus_state(&src.chain, h)),
                signer: dst.signer(),
            };
            let d = dst.chain.deliver(Who::Relayer, vec![any(&msg)]);
            d.assert_ok();
            dst.client_id = d.attr("create_client", "client_id").expect("create_client event");
            dst.client_height = h;
        }
    }

    /// Submits `build(proof_height)` to the destination, preceded by an
    /// update of its client to the source's header `v + 1`, `v` being the
    /// source's latest committed version (whose state the proofs show).
    /// Returns the delivery and `v`.
    pub fn submit(
        &mut self,
        dir: Dir,
        build: impl FnOnce(&mut End, &End, u64) -> Vec<Any>,
    ) -> (Delivered, u64) {
        let (src, dst) = self.ends(dir);
        let v = src.chain.height;
        src.chain.block(Vec::new());
        let update = client::MsgUpdateClient {
            client_id: dst.client_id.clone(),
            client_message: Some(src.chain.client_header(v + 1, dst.client_height)),
            signer: dst.signer(),
        };
        let mut msgs = vec![any(&update)];
        msgs.extend(build(src, dst, v));
        let d = dst.chain.deliver(Who::Relayer, msgs);
        if d.result.code.is_ok() {
            dst.client_height = v + 1;
        }
        (d, v)
    }

    /// The four-step connection handshake, A initiating.
    pub fn connect(&mut self) {
        self.sync();
        let init = conn_open_init(&self.a, &self.b);
        let d = self.a.chain.deliver(Who::Relayer, vec![any(&init)]);
        d.assert_ok();
        self.a.connection_id = d.attr("connection_open_init", "connection_id").unwrap();

        let (d, _) = self.submit(Dir::AtoB, |src, dst, v| vec![any(&conn_open_try(src, dst, v))]);
        d.assert_ok();
        self.b.connection_id = d.attr("connection_open_try", "connection_id").unwrap();

        let (d, _) = self.submit(Dir::BtoA, |src, dst, v| {
            let (client_state, proof_client) = src
                .chain
                .prove(&format!("clients/{}/clientState", src.client_id), v);
            let client_state = Any::decode(client_state.unwrap().as_slice()).unwrap();
            let consensus_height = latest_height(&client_state);
            let (_, proof_try) = src.chain.prove(&format!("connections/{}", src.connection_id), v);
            let (_, proof_consensus) = src.chain.prove(
                &format!(
                    "clients/{}/consensusStates/{}-{}",
                    src.client_id, consensus_height.revision_number, consensus_height.revision_height
                ),
                v,
            );
            #[allow(deprecated)]
            let msg = conn::MsgConnectionOpenAck {
                connection_id: dst.connection_id.clone(),
                counterparty_connection_id: src.connection_id.clone(),
                version: Some(version()),
                client_state: Some(client_state),
                proof_height: Some(src.chain.raw_height(v + 1)),
                proof_try,
                proof_client,
                proof_consensus,
                consensus_height: Some(consensus_height),
                signer: dst.signer(),
                host_consensus_state_proof: Vec::new(),
            };
            vec![any(&msg)]
        });
        d.assert_ok();

        let (d, _) = self.submit(Dir::AtoB, |src, dst, v| {
            let (_, proof_ack) = src.chain.prove(&format!("connections/{}", src.connection_id), v);
            vec![any(&conn::MsgConnectionOpenConfirm {
                connection_id: dst.connection_id.clone(),
                proof_ack,
                proof_height: Some(src.chain.raw_height(v + 1)),
                signer: dst.signer(),
            })]
        });
        d.assert_ok();
    }

    /// The four-step channel handshake on port `transfer`, A initiating.
    pub fn open_transfer_channel(&mut self) {
        self.sync();
        let init = chan::MsgChannelOpenInit {
            port_id: "transfer".into(),
            channel: Some(chan::Channel {
                state: chan::State::Init as i32,
                ordering: chan::Order::Unordered as i32,
                counterparty: Some(chan::Counterparty {
                    port_id: "transfer".into(),
                    channel_id: String::new(),
                }),
                connection_hops: vec![self.a.connection_id.clone()],
                version: "ics20-1".into(),
                upgrade_sequence: 0,
            }),
            signer: self.a.signer(),
        };
        let d = self.a.chain.deliver(Who::Relayer, vec![any(&init)]);
        d.assert_ok();
        self.a.channel_id = d.attr("channel_open_init", "channel_id").unwrap();

        let (d, _) = self.submit(Dir::AtoB, |src, dst, v| {
            let (_, proof_init) = src.chain.prove(
                &format!("channelEnds/ports/transfer/channels/{}", src.channel_id),
                v,
            );
            #[allow(deprecated)]
            let msg = chan::MsgChannelOpenTry {
                port_id: "transfer".into(),
                previous_channel_id: String::new(),
                channel: Some(chan::Channel {
                    state: chan::State::Tryopen as i32,
                    ordering: chan::Order::Unordered as i32,
                    counterparty: Some(chan::Counterparty {
                        port_id: "transfer".into(),
                        channel_id: src.channel_id.clone(),
                    }),
                    connection_hops: vec![dst.connection_id.clone()],
                    version: "ics20-1".into(),
                    upgrade_sequence: 0,
                }),
                counterparty_version: "ics20-1".into(),
                proof_init,
                proof_height: Some(src.chain.raw_height(v + 1)),
                signer: dst.signer(),
            };
            vec![any(&msg)]
        });
        d.assert_ok();
        self.b.channel_id = d.attr("channel_open_try", "channel_id").unwrap();

        let (d, _) = self.submit(Dir::BtoA, |src, dst, v| {
            let (_, proof_try) = src.chain.prove(
                &format!("channelEnds/ports/transfer/channels/{}", src.channel_id),
                v,
            );
            vec![any(&chan::MsgChannelOpenAck {
                port_id: "transfer".into(),
                channel_id: dst.channel_id.clone(),
                counterparty_channel_id: src.channel_id.clone(),
                counterparty_version: "ics20-1".into(),
                proof_try,
                proof_height: Some(src.chain.raw_height(v + 1)),
                signer: dst.signer(),
            })]
        });
        d.assert_ok();

        let (d, _) = self.submit(Dir::AtoB, |src, dst, v| {
            let (_, proof_ack) = src.chain.prove(
                &format!("channelEnds/ports/transfer/channels/{}", src.channel_id),
                v,
            );
            vec![any(&chan::MsgChannelOpenConfirm {
                port_id: "transfer".into(),
                channel_id: dst.channel_id.clone(),
                proof_ack,
                proof_height: Some(src.chain.raw_height(v + 1)),
                signer: dst.signer(),
            })]
        });
        d.assert_ok();
    }

    /// Relays a packet (from its `send_packet` event) to the destination.
    pub fn recv(&mut self, dir: Dir, packet: &chan::Packet) -> Delivered {
        let (d, _) = self.submit(dir, |src, dst, v| {
            let key = format!(
                "commitments/ports/{}/channels/{}/sequences/{}",
                packet.source_port, packet.source_channel, packet.sequence
            );
            let (commitment, proof_commitment) = src.chain.prove(&key, v);
            assert!(commitment.is_some(), "no commitment at {key}");
            vec![any(&chan::MsgRecvPacket {
                packet: Some(packet.clone()),
                proof_commitment,
                proof_height: Some(src.chain.raw_height(v + 1)),
                signer: dst.signer(),
            })]
        });
        d
    }

    /// Relays the acknowledgement of `packet` (written on `dir`'s source)
    /// back to the packet's sender (`dir`'s destination).
    pub fn ack(&mut self, dir: Dir, packet: &chan::Packet, ack: &[u8]) -> Delivered {
        let (d, _) = self.submit(dir, |src, dst, v| {
            let key = format!(
                "acks/ports/{}/channels/{}/sequences/{}",
                packet.destination_port, packet.destination_channel, packet.sequence
            );
            let (_, proof_acked) = src.chain.prove(&key, v);
            vec![any(&chan::MsgAcknowledgement {
                packet: Some(packet.clone()),
                acknowledgement: ack.to_vec(),
                proof_acked,
                proof_height: Some(src.chain.raw_height(v + 1)),
                signer: dst.signer(),
            })]
        });
        d
    }

    /// Times `packet` out on its sender (`dir`'s destination) with a proof
    /// that `dir`'s source never received it.
    pub fn timeout(&mut self, dir: Dir, packet: &chan::Packet) -> Delivered {
        let (d, _) = self.submit(dir, |src, dst, v| {
            let key = format!(
                "receipts/ports/{}/channels/{}/sequences/{}",
                packet.destination_port, packet.destination_channel, packet.sequence
            );
            let (receipt, proof_unreceived) = src.chain.prove(&key, v);
            assert!(receipt.is_none(), "packet was received");
            vec![any(&chan::MsgTimeout {
                packet: Some(packet.clone()),
                proof_unreceived,
                proof_height: Some(src.chain.raw_height(v + 1)),
                next_sequence_recv: packet.sequence,
                signer: dst.signer(),
            })]
        });
        d
    }
}

/// ConnOpenTry on `dst` for `src`'s INIT connection, proven at version `v`.
pub fn conn_open_try(src: &mut End, dst: &End, v: u64) -> conn::MsgConnectionOpenTry {
    let (client_state, proof_client) = src
        .chain
        .prove(&format!("clients/{}/clientState", src.client_id), v);
    let client_state = Any::decode(client_state.unwrap().as_slice()).unwrap();
    let consensus_height = latest_height(&client_state);
    let (_, proof_init) = src.chain.prove(&format!("connections/{}", src.connection_id), v);
    let (_, proof_consensus) = src.chain.prove(
        &format!(
            "clients/{}/consensusStates/{}-{}",
            src.client_id, consensus_height.revision_number, consensus_height.revision_height
        ),
        v,
    );
    #[allow(deprecated)]
    conn::MsgConnectionOpenTry {
        client_id: dst.client_id.clone(),
        previous_connection_id: String::new(),
        client_state: Some(client_state),
        counterparty: Some(conn::Counterparty {
            client_id: src.client_id.clone(),
            connection_id: src.connection_id.clone(),
            prefix: prefix(),
        }),
        delay_period: 0,
        counterparty_versions: vec![version()],
        proof_height: Some(src.chain.raw_height(v + 1)),
        proof_init,
        proof_client,
        proof_consensus,
        consensus_height: Some(consensus_height),
        signer: dst.signer(),
        host_consensus_state_proof: Vec::new(),
    }
}

/// ConnOpenInit on A of a connection to B.
pub fn conn_open_init(a: &End, b: &End) -> conn::MsgConnectionOpenInit {
    conn::MsgConnectionOpenInit {
        client_id: a.client_id.clone(),
        counterparty: Some(conn::Counterparty {
            client_id: b.client_id.clone(),
            connection_id: String::new(),
            prefix: prefix(),
        }),
        version: Some(version()),
        delay_period: 0,
        signer: a.signer(),
    }
}

/// The latest height of a 07-tendermint client state `Any`.
pub fn latest_height(any: &Any) -> client::Height {
    let cs = ibc_proto::ibc::lightclients::tendermint::v1::ClientState::decode(any.value.as_slice()).unwrap();
    cs.latest_height.unwrap()
}

/// The packet of the first `send_packet` event of a delivery, rebuilt from
/// its attributes as Hermes rebuilds it.
pub fn sent_packet(d: &Delivered) -> chan::Packet {
    let a = |k: &str| {
        d.attr("send_packet", k)
            .unwrap_or_else(|| panic!("send_packet has no {k}"))
    };
    let (rev, h) = a("packet_timeout_height")
        .split_once('-')
        .map(|(r, h)| (r.parse().unwrap(), h.parse().unwrap()))
        .unwrap();
    chan::Packet {
        sequence: a("packet_sequence").parse().unwrap(),
        source_port: a("packet_src_port"),
        source_channel: a("packet_src_channel"),
        destination_port: a("packet_dst_port"),
        destination_channel: a("packet_dst_channel"),
        data: hex::decode(a("packet_data_hex")).unwrap(),
        timeout_height: Some(client::Height {
            revision_number: rev,
            revision_height: h,
        }),
        timeout_timestamp: a("packet_timeout_timestamp").parse().unwrap(),
    }
}
