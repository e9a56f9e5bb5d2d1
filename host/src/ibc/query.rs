//! The IBC query services relayers use, over gRPC and gRPC-over-ABCI:
//! `ibc.core.client.v1.Query`, `ibc.core.connection.v1.Query`,
//! `ibc.core.channel.v1.Query` and `ibc.applications.transfer.v1.Query`,
//! answered from committed snapshots as ibc-go's keepers answer them (the
//! same not-found messages, pagination over the same store ordering,
//! `proof_height` = the height read, and no proof: like ibc-go's gRPC,
//! proofs come from ABCI `store/ibc/key` queries, which Hermes uses).
//!
//! Written here rather than taken from `ibc-query`: its services read one
//! shared context with no height header, no pagination and no
//! gRPC-over-ABCI, while these handlers are plain functions of a snapshot
//! ([`crate::grpc::read`]) like every other query of the node.

use ::ibc::clients::tendermint::client_state::ClientState as TmClientState;
use ::ibc::clients::tendermint::consensus_state::ConsensusState as TmConsensusState;
use ::ibc::core::client::types::Height;
use ::ibc::core::host::types::identifiers::{ChainId, ChannelId, ClientId, ConnectionId, PortId, Sequence};
use ::ibc::core::host::types::path::{
    AckPath, ChannelEndPath, ClientConnectionPath, ClientConsensusStatePath, ClientStatePath, CommitmentPath,
    ConnectionPath, ReceiptPath, SeqRecvPath, SeqSendPath,
};
use ibc_proto::cosmos::base::query::v1beta1::PageResponse;
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::applications::interchain_accounts::host::v1 as ica_host_v1;
use ibc_proto::ibc::applications::transfer::v1 as transfer_v1;
use ibc_proto::ibc::core::channel::v1 as channel_v1;
use ibc_proto::ibc::core::client::v1 as client_v1;
use ibc_proto::ibc::core::connection::v1 as connection_v1;
use prost::Message;
use tonic::Status;

use super::context::MAX_EXPECTED_TIME_PER_BLOCK;
use super::{host, keys, transfer};
use crate::chain::bank;
use crate::chain::params::StateParams;
use crate::grpc::page::paginate;
use crate::grpc::read::{self, state_service, QueryCtx};
use crate::grpc::{QResult, QueryError};
use crate::state::Snapshot;

/// The one client type this chain hosts.
pub const ALLOWED_CLIENTS: [&str; 1] = ["07-tendermint"];

fn revision(q: &QueryCtx) -> u64 {
    ChainId::new(&q.chain_id).map_or(0, |c| c.revision_number())
}

/// The height read, as ibc-go's `GetSelfHeight`.
fn self_height(q: &QueryCtx, snap: &Snapshot) -> Option<client_v1::Height> {
    Some(client_v1::Height {
        revision_number: revision(q),
        revision_height: snap.version().unwrap_or(0),
    })
}

fn client_id(s: &str) -> QResult<ClientId> {
    s.parse()
        .map_err(|e| QueryError::invalid(format!("invalid client id {s:?}: {e}")))
}

fn connection_id(s: &str) -> QResult<ConnectionId> {
    s.parse()
        .map_err(|e| QueryError::invalid(format!("invalid connection id {s:?}: {e}")))
}

fn port_channel(port: &str, channel: &str) -> QResult<(PortId, ChannelId)> {
    let p = port
        .parse()
        .map_err(|e| QueryError::invalid(format!("invalid port id {port:?}: {e}")))?;
    let c = channel
        .parse()
        .map_err(|e| QueryError::invalid(format!("invalid channel id {channel:?}: {e}")))?;
    Ok((p, c))
}

fn sequence(n: u64) -> QResult<Sequence> {
    if n == 0 {
        return Err(QueryError::invalid("packet sequence cannot be 0"));
    }
    Ok(Sequence::from(n))
}

fn decode<T: Message + Default>(b: &[u8], what: &str) -> QResult<T> {
    T::decode(b).map_err(|e| QueryError::internal(format!("stored {what} does not decode: {e}")))
}

fn client_state_any(snap: &Snapshot, id: &ClientId) -> QResult<Any> {
    let b = snap
        .get(ClientStatePath::new(id.clone()).to_string().as_bytes())?
        .ok_or_else(|| QueryError::not_found(format!("{id}: light client not found")))?;
    decode(&b, "client state")
}

fn consensus_state_any(snap: &Snapshot, id: &ClientId, h: &Height) -> QResult<Any> {
    let path = ClientConsensusStatePath::new(id.clone(), h.revision_number(), h.revision_height());
    let b = snap.get(path.to_string().as_bytes())?.ok_or_else(|| {
        QueryError::not_found(format!("client-id: {id}, height: {h}: consensus state not found"))
    })?;
    decode(&b, "consensus state")
}

/// A client's state with its id, as the connection and channel queries
/// return it.
fn identified_client_state(snap: &Snapshot, id: &ClientId) -> QResult<client_v1::IdentifiedClientState> {
    Ok(client_v1::IdentifiedClientState {
        client_id: id.to_string(),
        client_state: Some(client_state_any(snap, id)?),
    })
}

/// A requested (revision, height) pair.
fn height(revision_number: u64, revision_height: u64) -> QResult<Height> {
    Height::new(revision_number, revision_height)
        .map_err(|e| QueryError::invalid(format!("invalid height: {e}")))
}

/// A channel's `nextSequenceRecv`.
fn next_sequence_recv(snap: &Snapshot, p: &PortId, c: &ChannelId) -> QResult<u64> {
    snap.get(SeqRecvPath::new(p, c).to_string().as_bytes())?
        .and_then(|b| keys::read_u64_be(&b))
        .ok_or_else(|| {
            QueryError::not_found(format!(
                "port-id: {p}, channel-id {c}: sequence receive not found"
            ))
        })
}

fn tm_client_state(snap: &Snapshot, id: &ClientId) -> QResult<TmClientState> {
    TmClientState::try_from(client_state_any(snap, id)?)
        .map_err(|e| QueryError::internal(format!("stored client state of {id}: {e}")))
}

fn connection_end(snap: &Snapshot, id: &str) -> QResult<connection_v1::ConnectionEnd> {
    let id = connection_id(id)?;
    let b = snap
        .get(ConnectionPath::new(&id).to_string().as_bytes())?
        .ok_or_else(|| QueryError::not_found(format!("{id}: connection not found")))?;
    decode(&b, "connection end")
}

fn channel_end(snap: &Snapshot, port: &PortId, channel: &ChannelId) -> QResult<channel_v1::Channel> {
    let b = snap
        .get(ChannelEndPath::new(port, channel).to_string().as_bytes())?
        .ok_or_else(|| {
            QueryError::not_found(format!(
                "port-id: {port}, channel-id: {channel}: channel not found"
            ))
        })?;
    decode(&b, "channel end")
}

/// The client under a channel: its connection's client.
fn channel_client(snap: &Snapshot, port: &str, channel: &str) -> QResult<ClientId> {
    let (p, c) = port_channel(port, channel)?;
    let ch = channel_end(snap, &p, &c)?;
    let hop = ch
        .connection_hops
        .first()
        .ok_or_else(|| QueryError::internal(format!("channel {c} has no connection hops")))?;
    client_id(&connection_end(snap, hop)?.client_id)
}

/// Heights of a client's consensus states, ascending, with their
/// iteration keys (the pagination keys).
fn consensus_heights(snap: &Snapshot, id: &ClientId) -> QResult<Vec<(Vec<u8>, Height)>> {
    let prefix = keys::iteration_prefix(id);
    Ok(snap
        .prefix(&prefix)?
        .into_iter()
        .filter_map(|(k, _)| {
            let h = keys::height_of_iteration_key(&prefix, &k)?;
            Some((k[prefix.len()..].to_vec(), h))
        })
        .collect())
}

fn raw_height(h: &Height) -> client_v1::Height {
    client_v1::Height {
        revision_number: h.revision_number(),
        revision_height: h.revision_height(),
    }
}

/// Every channel end at the latest version, keyed by `{port}/channels/{channel}`.
fn all_channels(snap: &Snapshot) -> QResult<Vec<(Vec<u8>, channel_v1::IdentifiedChannel)>> {
    let mut out = Vec::new();
    for (k, v) in snap.prefix(keys::CHANNEL_ENDS_PREFIX)? {
        let rel = k[keys::CHANNEL_ENDS_PREFIX.len()..].to_vec();
        let s = String::from_utf8_lossy(&rel).into_owned();
        let Some((port, channel)) = s.split_once("/channels/") else {
            continue;
        };
        let c: channel_v1::Channel = decode(&v, "channel end")?;
        out.push((
            rel,
            channel_v1::IdentifiedChannel {
                state: c.state,
                ordering: c.ordering,
                counterparty: c.counterparty,
                connection_hops: c.connection_hops,
                version: c.version,
                port_id: port.to_string(),
                channel_id: channel.to_string(),
                upgrade_sequence: c.upgrade_sequence,
            },
        ));
    }
    Ok(out)
}

/// Packet states under one channel's `commitments`/`acks`/`receipts`.
fn packet_states(
    snap: &Snapshot,
    kind: &str,
    port: &PortId,
    channel: &ChannelId,
) -> QResult<Vec<(Vec<u8>, channel_v1::PacketState)>> {
    let prefix = keys::packet_prefix(kind, port, channel);
    Ok(snap
        .prefix(&prefix)?
        .into_iter()
        .filter_map(|(k, v)| {
            let seq = keys::sequence_of(&prefix, &k)?;
            Some((
                k[prefix.len()..].to_vec(),
                channel_v1::PacketState {
                    port_id: port.to_string(),
                    channel_id: channel.to_string(),
                    sequence: seq.value(),
                    data: v,
                },
            ))
        })
        .collect())
}

// ---------------------------------------------------------------- client

/// `Query/ClientState`.
pub fn client_state(
    q: &QueryCtx,
    snap: &Snapshot,
    req: client_v1::QueryClientStateRequest,
) -> QResult<client_v1::QueryClientStateResponse> {
    let id = client_id(&req.client_id)?;
    Ok(client_v1::QueryClientStateResponse {
        client_state: Some(client_state_any(snap, &id)?),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/ClientStates`: every client, in store order of client ids.
pub fn client_states(
    _: &QueryCtx,
    snap: &Snapshot,
    req: client_v1::QueryClientStatesRequest,
) -> QResult<client_v1::QueryClientStatesResponse> {
    let n = snap
        .get(keys::NEXT_CLIENT_SEQUENCE)?
        .and_then(|b| keys::read_u64_be(&b))
        .unwrap_or(0);
    let mut items = Vec::new();
    for i in 0..n {
        let Ok(id) = ClientId::new(ALLOWED_CLIENTS[0], i) else {
            continue;
        };
        match client_state_any(snap, &id) {
            Ok(cs) => items.push((
                id.to_string().into_bytes(),
                client_v1::IdentifiedClientState {
                    client_id: id.to_string(),
                    client_state: Some(cs),
                },
            )),
            Err(e) if e.code() == tonic::Code::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (client_states, page) = paginate(items, req.pagination.as_ref())?;
    Ok(client_v1::QueryClientStatesResponse {
        client_states,
        pagination: Some(page),
    })
}

/// `Query/ConsensusState` (at a height, or the client's latest).
pub fn consensus_state(
    q: &QueryCtx,
    snap: &Snapshot,
    req: client_v1::QueryConsensusStateRequest,
) -> QResult<client_v1::QueryConsensusStateResponse> {
    let id = client_id(&req.client_id)?;
    let h = if req.latest_height {
        tm_client_state(snap, &id)?.inner().latest_height
    } else {
        height(req.revision_number, req.revision_height)?
    };
    Ok(client_v1::QueryConsensusStateResponse {
        consensus_state: Some(consensus_state_any(snap, &id, &h)?),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/ConsensusStates`, ascending by height.
pub fn consensus_states(
    _: &QueryCtx,
    snap: &Snapshot,
    req: client_v1::QueryConsensusStatesRequest,
) -> QResult<client_v1::QueryConsensusStatesResponse> {
    let id = client_id(&req.client_id)?;
    let mut items = Vec::new();
    for (k, h) in consensus_heights(snap, &id)? {
        items.push((
            k,
            client_v1::ConsensusStateWithHeight {
                height: Some(raw_height(&h)),
                consensus_state: Some(consensus_state_any(snap, &id, &h)?),
            },
        ));
    }
    let (consensus_states, page) = paginate(items, req.pagination.as_ref())?;
    Ok(client_v1::QueryConsensusStatesResponse {
        consensus_states,
        pagination: Some(page),
    })
}

/// `Query/ConsensusStateHeights`, ascending.
pub fn consensus_state_heights(
    _: &QueryCtx,
    snap: &Snapshot,
    req: client_v1::QueryConsensusStateHeightsRequest,
) -> QResult<client_v1::QueryConsensusStateHeightsResponse> {
    let id = client_id(&req.client_id)?;
    let items = consensus_heights(snap, &id)?
        .into_iter()
        .map(|(k, h)| (k, raw_height(&h)))
        .collect();
    let (consensus_state_heights, page) = paginate(items, req.pagination.as_ref())?;
    Ok(client_v1::QueryConsensusStateHeightsResponse {
        consensus_state_heights,
        pagination: Some(page),
    })
}

/// `Query/ClientStatus`: `Frozen`, `Expired` (the latest consensus state
/// is older than the trusting period at the last block's time) or `Active`,
/// as ibc-go's 07-tendermint `Status`.
pub fn client_status(
    _: &QueryCtx,
    snap: &Snapshot,
    req: client_v1::QueryClientStatusRequest,
) -> QResult<client_v1::QueryClientStatusResponse> {
    let id = client_id(&req.client_id)?;
    let cs = tm_client_state(snap, &id)?;
    let cs = cs.inner();
    let status = if cs.frozen_height.is_some() {
        "Frozen"
    } else {
        match consensus_state_any(snap, &id, &cs.latest_height) {
            Err(e) if e.code() == tonic::Code::NotFound => "Expired",
            Err(e) => return Err(e),
            Ok(any) => {
                let cons = TmConsensusState::try_from(any)
                    .map_err(|e| QueryError::internal(format!("stored consensus state of {id}: {e}")))?;
                let ts = u64::try_from(cons.inner().timestamp.unix_timestamp_nanos()).unwrap_or(0);
                let expiry =
                    ts.saturating_add(u64::try_from(cs.trusting_period.as_nanos()).unwrap_or(u64::MAX));
                match host::block_time_committed(snap)? {
                    Some(now) if now.nanoseconds() >= expiry => "Expired",
                    _ => "Active",
                }
            }
        }
    };
    Ok(client_v1::QueryClientStatusResponse {
        status: status.into(),
    })
}

/// `Query/ClientParams`: only 07-tendermint clients can be created.
pub fn client_params(
    _: &QueryCtx,
    _: &Snapshot,
    _: client_v1::QueryClientParamsRequest,
) -> QResult<client_v1::QueryClientParamsResponse> {
    Ok(client_v1::QueryClientParamsResponse {
        params: Some(client_v1::Params {
            allowed_clients: ALLOWED_CLIENTS.iter().map(|s| s.to_string()).collect(),
        }),
    })
}

// ------------------------------------------------------------ connection

/// `Query/Connection`.
pub fn connection(
    q: &QueryCtx,
    snap: &Snapshot,
    req: connection_v1::QueryConnectionRequest,
) -> QResult<connection_v1::QueryConnectionResponse> {
    Ok(connection_v1::QueryConnectionResponse {
        connection: Some(connection_end(snap, &req.connection_id)?),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/Connections`, in store order of connection ids.
pub fn connections(
    q: &QueryCtx,
    snap: &Snapshot,
    req: connection_v1::QueryConnectionsRequest,
) -> QResult<connection_v1::QueryConnectionsResponse> {
    let mut items = Vec::new();
    for (k, v) in snap.prefix(keys::CONNECTIONS_PREFIX)? {
        let rel = k[keys::CONNECTIONS_PREFIX.len()..].to_vec();
        let c: connection_v1::ConnectionEnd = decode(&v, "connection end")?;
        items.push((
            rel.clone(),
            connection_v1::IdentifiedConnection {
                id: String::from_utf8_lossy(&rel).into_owned(),
                client_id: c.client_id,
                versions: c.versions,
                state: c.state,
                counterparty: c.counterparty,
                delay_period: c.delay_period,
            },
        ));
    }
    let (connections, page) = paginate(items, req.pagination.as_ref())?;
    Ok(connection_v1::QueryConnectionsResponse {
        connections,
        pagination: Some(page),
        height: self_height(q, snap),
    })
}

/// `Query/ClientConnections`.
pub fn client_connections(
    q: &QueryCtx,
    snap: &Snapshot,
    req: connection_v1::QueryClientConnectionsRequest,
) -> QResult<connection_v1::QueryClientConnectionsResponse> {
    let id = client_id(&req.client_id)?;
    let b = snap
        .get(ClientConnectionPath::new(id.clone()).to_string().as_bytes())?
        .ok_or_else(|| QueryError::not_found(format!("{id}: light client connection paths not found")))?;
    let paths: connection_v1::ClientPaths = decode(&b, "client paths")?;
    Ok(connection_v1::QueryClientConnectionsResponse {
        connection_paths: paths.paths,
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/ConnectionClientState`.
pub fn connection_client_state(
    q: &QueryCtx,
    snap: &Snapshot,
    req: connection_v1::QueryConnectionClientStateRequest,
) -> QResult<connection_v1::QueryConnectionClientStateResponse> {
    let id = client_id(&connection_end(snap, &req.connection_id)?.client_id)?;
    Ok(connection_v1::QueryConnectionClientStateResponse {
        identified_client_state: Some(identified_client_state(snap, &id)?),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/ConnectionConsensusState`.
pub fn connection_consensus_state(
    q: &QueryCtx,
    snap: &Snapshot,
    req: connection_v1::QueryConnectionConsensusStateRequest,
) -> QResult<connection_v1::QueryConnectionConsensusStateResponse> {
    let id = client_id(&connection_end(snap, &req.connection_id)?.client_id)?;
    let h = height(req.revision_number, req.revision_height)?;
    Ok(connection_v1::QueryConnectionConsensusStateResponse {
        consensus_state: Some(consensus_state_any(snap, &id, &h)?),
        client_id: id.to_string(),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/ConnectionParams`: ibc-go's default 30 s expected block time.
pub fn connection_params(
    _: &QueryCtx,
    _: &Snapshot,
    _: connection_v1::QueryConnectionParamsRequest,
) -> QResult<connection_v1::QueryConnectionParamsResponse> {
    Ok(connection_v1::QueryConnectionParamsResponse {
        params: Some(connection_v1::Params {
            max_expected_time_per_block: MAX_EXPECTED_TIME_PER_BLOCK.as_nanos() as u64,
        }),
    })
}

// --------------------------------------------------------------- channel

/// `Query/Channel`.
pub fn channel(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryChannelRequest,
) -> QResult<channel_v1::QueryChannelResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    Ok(channel_v1::QueryChannelResponse {
        channel: Some(channel_end(snap, &p, &c)?),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/Channels`, in store order (port, then channel id).
pub fn channels(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryChannelsRequest,
) -> QResult<channel_v1::QueryChannelsResponse> {
    let (channels, page) = paginate(all_channels(snap)?, req.pagination.as_ref())?;
    Ok(channel_v1::QueryChannelsResponse {
        channels,
        pagination: Some(page),
        height: self_height(q, snap),
    })
}

/// `Query/ConnectionChannels`: channels whose first hop is the connection.
pub fn connection_channels(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryConnectionChannelsRequest,
) -> QResult<channel_v1::QueryConnectionChannelsResponse> {
    connection_id(&req.connection)?;
    let items = all_channels(snap)?
        .into_iter()
        .filter(|(_, c)| c.connection_hops.first() == Some(&req.connection))
        .collect();
    let (channels, page) = paginate(items, req.pagination.as_ref())?;
    Ok(channel_v1::QueryConnectionChannelsResponse {
        channels,
        pagination: Some(page),
        height: self_height(q, snap),
    })
}

/// `Query/ChannelClientState`.
pub fn channel_client_state(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryChannelClientStateRequest,
) -> QResult<channel_v1::QueryChannelClientStateResponse> {
    let id = channel_client(snap, &req.port_id, &req.channel_id)?;
    Ok(channel_v1::QueryChannelClientStateResponse {
        identified_client_state: Some(identified_client_state(snap, &id)?),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/ChannelConsensusState`.
pub fn channel_consensus_state(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryChannelConsensusStateRequest,
) -> QResult<channel_v1::QueryChannelConsensusStateResponse> {
    let id = channel_client(snap, &req.port_id, &req.channel_id)?;
    let h = height(req.revision_number, req.revision_height)?;
    Ok(channel_v1::QueryChannelConsensusStateResponse {
        consensus_state: Some(consensus_state_any(snap, &id, &h)?),
        client_id: id.to_string(),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/PacketCommitment`.
pub fn packet_commitment(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryPacketCommitmentRequest,
) -> QResult<channel_v1::QueryPacketCommitmentResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let path = CommitmentPath::new(&p, &c, sequence(req.sequence)?);
    let commitment = snap
        .get(path.to_string().as_bytes())?
        .ok_or_else(|| QueryError::not_found("packet commitment hash not found"))?;
    Ok(channel_v1::QueryPacketCommitmentResponse {
        commitment,
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/PacketCommitments`.
pub fn packet_commitments(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryPacketCommitmentsRequest,
) -> QResult<channel_v1::QueryPacketCommitmentsResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let (commitments, page) = paginate(
        packet_states(snap, "commitments", &p, &c)?,
        req.pagination.as_ref(),
    )?;
    Ok(channel_v1::QueryPacketCommitmentsResponse {
        commitments,
        pagination: Some(page),
        height: self_height(q, snap),
    })
}

/// `Query/PacketReceipt`.
pub fn packet_receipt(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryPacketReceiptRequest,
) -> QResult<channel_v1::QueryPacketReceiptResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let path = ReceiptPath::new(&p, &c, sequence(req.sequence)?);
    Ok(channel_v1::QueryPacketReceiptResponse {
        received: snap.get(path.to_string().as_bytes())?.is_some(),
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/PacketAcknowledgement`.
pub fn packet_acknowledgement(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryPacketAcknowledgementRequest,
) -> QResult<channel_v1::QueryPacketAcknowledgementResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let path = AckPath::new(&p, &c, sequence(req.sequence)?);
    let acknowledgement = snap
        .get(path.to_string().as_bytes())?
        .ok_or_else(|| QueryError::not_found("packet acknowledgement hash not found"))?;
    Ok(channel_v1::QueryPacketAcknowledgementResponse {
        acknowledgement,
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/PacketAcknowledgements`: all of a channel's, or those of the
/// given sequences that exist (unpaginated then, as ibc-go).
pub fn packet_acknowledgements(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryPacketAcknowledgementsRequest,
) -> QResult<channel_v1::QueryPacketAcknowledgementsResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    if !req.packet_commitment_sequences.is_empty() {
        let mut acknowledgements = Vec::new();
        for &n in &req.packet_commitment_sequences {
            let path = AckPath::new(&p, &c, sequence(n)?);
            if let Some(data) = snap.get(path.to_string().as_bytes())? {
                acknowledgements.push(channel_v1::PacketState {
                    port_id: p.to_string(),
                    channel_id: c.to_string(),
                    sequence: n,
                    data,
                });
            }
        }
        return Ok(channel_v1::QueryPacketAcknowledgementsResponse {
            acknowledgements,
            pagination: Some(PageResponse::default()),
            height: self_height(q, snap),
        });
    }
    let (acknowledgements, page) = paginate(packet_states(snap, "acks", &p, &c)?, req.pagination.as_ref())?;
    Ok(channel_v1::QueryPacketAcknowledgementsResponse {
        acknowledgements,
        pagination: Some(page),
        height: self_height(q, snap),
    })
}

/// `Query/UnreceivedPackets`: of the counterparty's commitment sequences,
/// those this chain has not received (no receipt on an unordered channel;
/// at or past `nextSequenceRecv` on an ordered one).
pub fn unreceived_packets(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryUnreceivedPacketsRequest,
) -> QResult<channel_v1::QueryUnreceivedPacketsResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let ch = channel_end(snap, &p, &c)?;
    let mut sequences = Vec::new();
    if ch.ordering == channel_v1::Order::Ordered as i32 {
        let next = next_sequence_recv(snap, &p, &c)?;
        for &n in &req.packet_commitment_sequences {
            sequence(n)?;
            if n >= next {
                sequences.push(n);
            }
        }
    } else {
        for &n in &req.packet_commitment_sequences {
            let path = ReceiptPath::new(&p, &c, sequence(n)?);
            if snap.get(path.to_string().as_bytes())?.is_none() {
                sequences.push(n);
            }
        }
    }
    Ok(channel_v1::QueryUnreceivedPacketsResponse {
        sequences,
        height: self_height(q, snap),
    })
}

/// `Query/UnreceivedAcks`: of the given sequences, those whose packet
/// commitment this chain still holds (their acks were not relayed here).
pub fn unreceived_acks(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryUnreceivedAcksRequest,
) -> QResult<channel_v1::QueryUnreceivedAcksResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let mut sequences = Vec::new();
    for &n in &req.packet_ack_sequences {
        let path = CommitmentPath::new(&p, &c, sequence(n)?);
        if snap.get(path.to_string().as_bytes())?.is_some() {
            sequences.push(n);
        }
    }
    Ok(channel_v1::QueryUnreceivedAcksResponse {
        sequences,
        height: self_height(q, snap),
    })
}

/// `Query/NextSequenceReceive`.
pub fn next_sequence_receive(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryNextSequenceReceiveRequest,
) -> QResult<channel_v1::QueryNextSequenceReceiveResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let next = next_sequence_recv(snap, &p, &c)?;
    Ok(channel_v1::QueryNextSequenceReceiveResponse {
        next_sequence_receive: next,
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

/// `Query/NextSequenceSend`.
pub fn next_sequence_send(
    q: &QueryCtx,
    snap: &Snapshot,
    req: channel_v1::QueryNextSequenceSendRequest,
) -> QResult<channel_v1::QueryNextSequenceSendResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    let next = snap
        .get(SeqSendPath::new(&p, &c).to_string().as_bytes())?
        .and_then(|b| keys::read_u64_be(&b))
        .ok_or_else(|| {
            QueryError::not_found(format!("port-id: {p}, channel-id {c}: sequence send not found"))
        })?;
    Ok(channel_v1::QueryNextSequenceSendResponse {
        next_sequence_send: next,
        proof: Vec::new(),
        proof_height: self_height(q, snap),
    })
}

// -------------------------------------------------------------- transfer

/// `Query/DenomTrace` (hash with or without `ibc/`).
pub fn denom_trace(
    _: &QueryCtx,
    snap: &Snapshot,
    req: transfer_v1::QueryDenomTraceRequest,
) -> QResult<transfer_v1::QueryDenomTraceResponse> {
    let hash = req.hash.strip_prefix("ibc/").unwrap_or(&req.hash);
    if hash.len() != 64 || !hash.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(QueryError::invalid(format!(
            "invalid denom trace hash: {}",
            req.hash
        )));
    }
    let t = transfer::denom_trace_committed(snap, hash)?
        .ok_or_else(|| QueryError::not_found(format!("{}: denomination trace not found", req.hash)))?;
    Ok(transfer_v1::QueryDenomTraceResponse { denom_trace: Some(t) })
}

/// `Query/DenomTraces`, by hash.
pub fn denom_traces(
    _: &QueryCtx,
    snap: &Snapshot,
    req: transfer_v1::QueryDenomTracesRequest,
) -> QResult<transfer_v1::QueryDenomTracesResponse> {
    let items = transfer::denom_traces_committed(snap)?
        .into_iter()
        .map(|(h, t)| (h.into_bytes(), t))
        .collect();
    let (denom_traces, page) = paginate(items, req.pagination.as_ref())?;
    Ok(transfer_v1::QueryDenomTracesResponse {
        denom_traces,
        pagination: Some(page),
    })
}

/// `Query/Params`: sending and receiving are both enabled.
pub fn transfer_params(
    _: &QueryCtx,
    _: &Snapshot,
    _: transfer_v1::QueryParamsRequest,
) -> QResult<transfer_v1::QueryParamsResponse> {
    Ok(transfer_v1::QueryParamsResponse {
        params: Some(transfer_v1::Params {
            send_enabled: true,
            receive_enabled: true,
        }),
    })
}

/// `ibc.applications.interchain_accounts.host.v1.Query/Params`: the ICS-27
/// host's `host_enabled` and allow-list, as genesis set them.
pub fn ica_host_params(
    _: &QueryCtx,
    snap: &Snapshot,
    _: ica_host_v1::QueryParamsRequest,
) -> QResult<ica_host_v1::QueryParamsResponse> {
    let p = crate::ica::IcaHostParams::load_committed(snap)?.unwrap_or_default();
    Ok(ica_host_v1::QueryParamsResponse {
        params: Some(ica_host_v1::Params {
            host_enabled: p.host_enabled,
            allow_messages: p.allow_messages,
        }),
    })
}

/// `Query/DenomHash` of a full trace (`transfer/channel-0/uluna`).
pub fn denom_hash(
    _: &QueryCtx,
    _: &Snapshot,
    req: transfer_v1::QueryDenomHashRequest,
) -> QResult<transfer_v1::QueryDenomHashResponse> {
    let d: ::ibc::apps::transfer::types::PrefixedDenom = req
        .trace
        .parse()
        .map_err(|e| QueryError::invalid(format!("invalid denom trace {:?}: {e}", req.trace)))?;
    Ok(transfer_v1::QueryDenomHashResponse {
        hash: transfer::trace_hash(&d.to_string()),
    })
}

/// `Query/EscrowAddress`.
pub fn escrow_address(
    _: &QueryCtx,
    _: &Snapshot,
    req: transfer_v1::QueryEscrowAddressRequest,
) -> QResult<transfer_v1::QueryEscrowAddressResponse> {
    let (p, c) = port_channel(&req.port_id, &req.channel_id)?;
    Ok(transfer_v1::QueryEscrowAddressResponse {
        escrow_address: transfer::escrow_address(p.as_str(), c.as_str()).to_string(),
    })
}

/// `Query/TotalEscrowForDenom`: the sum of the denom over the escrow
/// accounts of every `transfer` channel (what ibc-go's counter tracks).
pub fn total_escrow_for_denom(
    _: &QueryCtx,
    snap: &Snapshot,
    req: transfer_v1::QueryTotalEscrowForDenomRequest,
) -> QResult<transfer_v1::QueryTotalEscrowForDenomResponse> {
    bank::validate_denom(&req.denom)
        .map_err(|_| QueryError::invalid(format!("invalid denom: {}", req.denom)))?;
    let mut total: u128 = 0;
    for (_, c) in all_channels(snap)? {
        if c.port_id == transfer::PORT {
            let a = transfer::escrow_address(&c.port_id, &c.channel_id);
            total = total.saturating_add(bank::balance_committed(snap, &a, &req.denom)?);
        }
    }
    Ok(transfer_v1::QueryTotalEscrowForDenomResponse {
        amount: Some(Coin {
            denom: req.denom,
            amount: total.to_string(),
        }),
    })
}

// ------------------------------------------------------ gRPC-over-ABCI

/// Answers an IBC query arriving as `abci_query` with a gRPC method path
/// (cosmjs sends every query so): the protobuf response, or None for a
/// path that is not an IBC query.
pub fn abci_route(q: &QueryCtx, path: &str, data: &[u8], height: u64) -> Option<QResult<Vec<u8>>> {
    use read::abci;
    let path = path.strip_prefix('/').unwrap_or(path);
    Some(match path {
        "ibc.core.client.v1.Query/ClientState" => abci(q, data, height, client_state),
        "ibc.core.client.v1.Query/ClientStates" => abci(q, data, height, client_states),
        "ibc.core.client.v1.Query/ConsensusState" => abci(q, data, height, consensus_state),
        "ibc.core.client.v1.Query/ConsensusStates" => abci(q, data, height, consensus_states),
        "ibc.core.client.v1.Query/ConsensusStateHeights" => abci(q, data, height, consensus_state_heights),
        "ibc.core.client.v1.Query/ClientStatus" => abci(q, data, height, client_status),
        "ibc.core.client.v1.Query/ClientParams" => abci(q, data, height, client_params),
        "ibc.core.connection.v1.Query/Connection" => abci(q, data, height, connection),
        "ibc.core.connection.v1.Query/Connections" => abci(q, data, height, connections),
        "ibc.core.connection.v1.Query/ClientConnections" => abci(q, data, height, client_connections),
        "ibc.core.connection.v1.Query/ConnectionClientState" => {
            abci(q, data, height, connection_client_state)
        }
        "ibc.core.connection.v1.Query/ConnectionConsensusState" => {
            abci(q, data, height, connection_consensus_state)
        }
        "ibc.core.connection.v1.Query/ConnectionParams" => abci(q, data, height, connection_params),
        "ibc.core.channel.v1.Query/Channel" => abci(q, data, height, channel),
        "ibc.core.channel.v1.Query/Channels" => abci(q, data, height, channels),
        "ibc.core.channel.v1.Query/ConnectionChannels" => abci(q, data, height, connection_channels),
        "ibc.core.channel.v1.Query/ChannelClientState" => abci(q, data, height, channel_client_state),
        "ibc.core.channel.v1.Query/ChannelConsensusState" => abci(q, data, height, channel_consensus_state),
        "ibc.core.channel.v1.Query/PacketCommitment" => abci(q, data, height, packet_commitment),
        "ibc.core.channel.v1.Query/PacketCommitments" => abci(q, data, height, packet_commitments),
        "ibc.core.channel.v1.Query/PacketReceipt" => abci(q, data, height, packet_receipt),
        "ibc.core.channel.v1.Query/PacketAcknowledgement" => abci(q, data, height, packet_acknowledgement),
        "ibc.core.channel.v1.Query/PacketAcknowledgements" => abci(q, data, height, packet_acknowledgements),
        "ibc.core.channel.v1.Query/UnreceivedPackets" => abci(q, data, height, unreceived_packets),
        "ibc.core.channel.v1.Query/UnreceivedAcks" => abci(q, data, height, unreceived_acks),
        "ibc.core.channel.v1.Query/NextSequenceReceive" => abci(q, data, height, next_sequence_receive),
        "ibc.core.channel.v1.Query/NextSequenceSend" => abci(q, data, height, next_sequence_send),
        "ibc.applications.transfer.v1.Query/DenomTrace" => abci(q, data, height, denom_trace),
        "ibc.applications.transfer.v1.Query/DenomTraces" => abci(q, data, height, denom_traces),
        "ibc.applications.transfer.v1.Query/Params" => abci(q, data, height, transfer_params),
        "ibc.applications.transfer.v1.Query/DenomHash" => abci(q, data, height, denom_hash),
        "ibc.applications.transfer.v1.Query/EscrowAddress" => abci(q, data, height, escrow_address),
        "ibc.applications.transfer.v1.Query/TotalEscrowForDenom" => {
            abci(q, data, height, total_escrow_for_denom)
        }
        "ibc.applications.interchain_accounts.host.v1.Query/Params" => abci(q, data, height, ica_host_params),
        _ => return None,
    })
}

// ------------------------------------------------------------------ tonic

fn unimplemented(method: &str) -> Status {
    QueryError::unimplemented(method).into()
}

/// `ibc.core.client.v1.Query`.
#[derive(Clone)]
pub struct ClientQuery(pub QueryCtx);

/// `ibc.core.connection.v1.Query`.
#[derive(Clone)]
pub struct ConnectionQuery(pub QueryCtx);

/// `ibc.core.channel.v1.Query`.
#[derive(Clone)]
pub struct ChannelQuery(pub QueryCtx);

/// `ibc.applications.transfer.v1.Query`.
#[derive(Clone)]
pub struct TransferQuery(pub QueryCtx);

/// `ibc.applications.interchain_accounts.host.v1.Query`.
#[derive(Clone)]
pub struct IcaHostQuery(pub QueryCtx);

/// The IBC query services, ready for `tonic::transport::Server`.
pub struct IbcGrpc {
    pub client: client_v1::query_server::QueryServer<ClientQuery>,
    pub connection: connection_v1::query_server::QueryServer<ConnectionQuery>,
    pub channel: channel_v1::query_server::QueryServer<ChannelQuery>,
    pub transfer: transfer_v1::query_server::QueryServer<TransferQuery>,
    pub ica_host: ica_host_v1::query_server::QueryServer<IcaHostQuery>,
}

/// The IBC gRPC services over the node's store (`crate::grpc::serve` adds
/// them beside the Cosmos SDK ones).
pub fn grpc_services(q: &QueryCtx) -> IbcGrpc {
    IbcGrpc {
        client: client_v1::query_server::QueryServer::new(ClientQuery(q.clone())),
        connection: connection_v1::query_server::QueryServer::new(ConnectionQuery(q.clone())),
        channel: channel_v1::query_server::QueryServer::new(ChannelQuery(q.clone())),
        transfer: transfer_v1::query_server::QueryServer::new(TransferQuery(q.clone())),
        ica_host: ica_host_v1::query_server::QueryServer::new(IcaHostQuery(q.clone())),
    }
}

impl IbcGrpc {
    /// Adds the services to a server's router.
    pub fn add_to(self, router: tonic::transport::server::Router) -> tonic::transport::server::Router {
        router
            .add_service(self.client)
            .add_service(self.connection)
            .add_service(self.channel)
            .add_service(self.transfer)
            .add_service(self.ica_host)
    }
}

state_service! {
    impl client_v1::query_server::Query for ClientQuery {
        client_state(client_v1::QueryClientStateRequest) -> client_v1::QueryClientStateResponse = client_state;
        client_states(client_v1::QueryClientStatesRequest) -> client_v1::QueryClientStatesResponse = client_states;
        consensus_state(client_v1::QueryConsensusStateRequest) -> client_v1::QueryConsensusStateResponse =
            consensus_state;
        consensus_states(client_v1::QueryConsensusStatesRequest) -> client_v1::QueryConsensusStatesResponse =
            consensus_states;
        consensus_state_heights(client_v1::QueryConsensusStateHeightsRequest)
            -> client_v1::QueryConsensusStateHeightsResponse = consensus_state_heights;
        client_status(client_v1::QueryClientStatusRequest) -> client_v1::QueryClientStatusResponse = client_status;
        client_params(client_v1::QueryClientParamsRequest) -> client_v1::QueryClientParamsResponse = client_params;
    }
    unimplemented {
        upgraded_client_state(client_v1::QueryUpgradedClientStateRequest)
            -> client_v1::QueryUpgradedClientStateResponse =
            unimplemented("ibc.core.client.v1.Query/UpgradedClientState");
        upgraded_consensus_state(client_v1::QueryUpgradedConsensusStateRequest)
            -> client_v1::QueryUpgradedConsensusStateResponse =
            unimplemented("ibc.core.client.v1.Query/UpgradedConsensusState");
    }
}

state_service! {
    impl connection_v1::query_server::Query for ConnectionQuery {
        connection(connection_v1::QueryConnectionRequest) -> connection_v1::QueryConnectionResponse = connection;
        connections(connection_v1::QueryConnectionsRequest) -> connection_v1::QueryConnectionsResponse =
            connections;
        client_connections(connection_v1::QueryClientConnectionsRequest)
            -> connection_v1::QueryClientConnectionsResponse = client_connections;
        connection_client_state(connection_v1::QueryConnectionClientStateRequest)
            -> connection_v1::QueryConnectionClientStateResponse = connection_client_state;
        connection_consensus_state(connection_v1::QueryConnectionConsensusStateRequest)
            -> connection_v1::QueryConnectionConsensusStateResponse = connection_consensus_state;
        connection_params(connection_v1::QueryConnectionParamsRequest)
            -> connection_v1::QueryConnectionParamsResponse = connection_params;
    }
}

state_service! {
    impl channel_v1::query_server::Query for ChannelQuery {
        channel(channel_v1::QueryChannelRequest) -> channel_v1::QueryChannelResponse = channel;
        channels(channel_v1::QueryChannelsRequest) -> channel_v1::QueryChannelsResponse = channels;
        connection_channels(channel_v1::QueryConnectionChannelsRequest)
            -> channel_v1::QueryConnectionChannelsResponse = connection_channels;
        channel_client_state(channel_v1::QueryChannelClientStateRequest)
            -> channel_v1::QueryChannelClientStateResponse = channel_client_state;
        channel_consensus_state(channel_v1::QueryChannelConsensusStateRequest)
            -> channel_v1::QueryChannelConsensusStateResponse = channel_consensus_state;
        packet_commitment(channel_v1::QueryPacketCommitmentRequest)
            -> channel_v1::QueryPacketCommitmentResponse = packet_commitment;
        packet_commitments(channel_v1::QueryPacketCommitmentsRequest)
            -> channel_v1::QueryPacketCommitmentsResponse = packet_commitments;
        packet_receipt(channel_v1::QueryPacketReceiptRequest) -> channel_v1::QueryPacketReceiptResponse =
            packet_receipt;
        packet_acknowledgement(channel_v1::QueryPacketAcknowledgementRequest)
            -> channel_v1::QueryPacketAcknowledgementResponse = packet_acknowledgement;
        packet_acknowledgements(channel_v1::QueryPacketAcknowledgementsRequest)
            -> channel_v1::QueryPacketAcknowledgementsResponse = packet_acknowledgements;
        unreceived_packets(channel_v1::QueryUnreceivedPacketsRequest)
            -> channel_v1::QueryUnreceivedPacketsResponse = unreceived_packets;
        unreceived_acks(channel_v1::QueryUnreceivedAcksRequest) -> channel_v1::QueryUnreceivedAcksResponse =
            unreceived_acks;
        next_sequence_receive(channel_v1::QueryNextSequenceReceiveRequest)
            -> channel_v1::QueryNextSequenceReceiveResponse = next_sequence_receive;
        next_sequence_send(channel_v1::QueryNextSequenceSendRequest)
            -> channel_v1::QueryNextSequenceSendResponse = next_sequence_send;
    }
    unimplemented {
        upgrade_error(channel_v1::QueryUpgradeErrorRequest) -> channel_v1::QueryUpgradeErrorResponse =
            unimplemented("ibc.core.channel.v1.Query/UpgradeError");
        upgrade(channel_v1::QueryUpgradeRequest) -> channel_v1::QueryUpgradeResponse =
            unimplemented("ibc.core.channel.v1.Query/Upgrade");
        channel_params(channel_v1::QueryChannelParamsRequest) -> channel_v1::QueryChannelParamsResponse =
            unimplemented("ibc.core.channel.v1.Query/ChannelParams");
    }
}

state_service! {
    impl transfer_v1::query_server::Query for TransferQuery {
        denom_traces(transfer_v1::QueryDenomTracesRequest) -> transfer_v1::QueryDenomTracesResponse = denom_traces;
        denom_trace(transfer_v1::QueryDenomTraceRequest) -> transfer_v1::QueryDenomTraceResponse = denom_trace;
        params(transfer_v1::QueryParamsRequest) -> transfer_v1::QueryParamsResponse = transfer_params;
        denom_hash(transfer_v1::QueryDenomHashRequest) -> transfer_v1::QueryDenomHashResponse = denom_hash;
        escrow_address(transfer_v1::QueryEscrowAddressRequest) -> transfer_v1::QueryEscrowAddressResponse =
            escrow_address;
        total_escrow_for_denom(transfer_v1::QueryTotalEscrowForDenomRequest)
            -> transfer_v1::QueryTotalEscrowForDenomResponse = total_escrow_for_denom;
    }
}

state_service! {
    impl ica_host_v1::query_server::Query for IcaHostQuery {
        params(ica_host_v1::QueryParamsRequest) -> ica_host_v1::QueryParamsResponse = ica_host_params;
    }
}
