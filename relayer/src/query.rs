//! Typed IBC queries over a chain's gRPC (ibc-go's `Query` services, which
//! chimerad serves too): client states, connections, channels, and the
//! ICS-04 packet queries that clearing relies on.

use std::future::Future;

use ibc_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};
use ibc_proto::ibc::core::channel::v1 as ch;
use ibc_proto::ibc::core::client::v1 as cl;
use ibc_proto::ibc::core::connection::v1 as co;
use ibc_proto::ibc::lightclients::tendermint::v1 as tm;
use prost::Message;

use crate::chain::{Chain, ChainResult};

/// What the relayer needs of a 07-tendermint client.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The chain the client tracks.
    pub chain_id: String,
    /// Its latest height (revision height).
    pub latest: u64,
    /// Trusting period, seconds.
    pub trusting_period_secs: u64,
    /// Whether it is frozen (misbehaviour).
    pub frozen: bool,
}

impl Chain {
    /// The 07-tendermint client `client_id` on this chain.
    pub async fn client(&self, client_id: &str) -> ChainResult<ClientInfo> {
        let mut q = cl::query_client::QueryClient::new(self.grpc());
        let r = q
            .client_state(cl::QueryClientStateRequest {
                client_id: client_id.into(),
            })
            .await
            .map_err(|e| self.grpc_err(format!("ClientState({client_id})"), e.message()))?
            .into_inner();
        let any = r
            .client_state
            .ok_or_else(|| self.garbage("ClientState", "empty"))?;
        client_info(&any).map_err(|e| self.garbage(format!("ClientState({client_id})"), e))
    }

    /// Every 07-tendermint client on this chain (all pages), by id; other
    /// client types (`09-localhost`) are left out.
    pub async fn clients(&self) -> ChainResult<Vec<(String, ClientInfo)>> {
        all_pages(|page| async move {
            let r = cl::query_client::QueryClient::new(self.grpc())
                .client_states(cl::QueryClientStatesRequest {
                    pagination: Some(page),
                })
                .await
                .map_err(|e| self.grpc_err("ClientStates", e.message()))?
                .into_inner();
            let tendermint = r.client_states.into_iter().filter_map(|c| {
                let any = c
                    .client_state
                    .filter(|a| a.type_url.ends_with(".tendermint.v1.ClientState"))?;
                Some((c.client_id, client_info(&any).ok()?))
            });
            Ok((tendermint.collect(), r.pagination))
        })
        .await
    }

    /// Block time (unix seconds) of the consensus state of `client_id` at
    /// `height`, if the client has one there.
    pub async fn consensus_time(
        &self,
        client_id: &str,
        revision: u64,
        height: u64,
    ) -> ChainResult<Option<i64>> {
        let mut q = cl::query_client::QueryClient::new(self.grpc());
        match q
            .consensus_state(cl::QueryConsensusStateRequest {
                client_id: client_id.into(),
                revision_number: revision,
                revision_height: height,
                latest_height: false,
            })
            .await
        {
            Ok(r) => {
                let any = r.into_inner().consensus_state.unwrap_or_default();
                let cs = tm::ConsensusState::decode(any.value.as_slice())
                    .map_err(|e| self.garbage("ConsensusState", e))?;
                Ok(Some(cs.timestamp.map(|t| t.seconds).unwrap_or(0)))
            }
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(self.grpc_err(format!("ConsensusState({client_id}, {height})"), s.message())),
        }
    }

    /// Connection `id`.
    pub async fn connection(&self, id: &str) -> ChainResult<co::ConnectionEnd> {
        let mut q = co::query_client::QueryClient::new(self.grpc());
        let r = q
            .connection(co::QueryConnectionRequest {
                connection_id: id.into(),
            })
            .await
            .map_err(|e| self.grpc_err(format!("Connection({id})"), e.message()))?;
        r.into_inner()
            .connection
            .ok_or_else(|| self.garbage(format!("Connection({id})"), "empty"))
    }

    /// Channel `port`/`channel`.
    pub async fn channel(&self, port: &str, channel: &str) -> ChainResult<ch::Channel> {
        let mut q = ch::query_client::QueryClient::new(self.grpc());
        let r = q
            .channel(ch::QueryChannelRequest {
                port_id: port.into(),
                channel_id: channel.into(),
            })
            .await
            .map_err(|e| self.grpc_err(format!("Channel({port}/{channel})"), e.message()))?;
        r.into_inner()
            .channel
            .ok_or_else(|| self.garbage(format!("Channel({port}/{channel})"), "empty"))
    }

    /// Every connection of this chain (all pages).
    pub async fn connections(&self) -> ChainResult<Vec<co::IdentifiedConnection>> {
        all_pages(|page| async move {
            let r = co::query_client::QueryClient::new(self.grpc())
                .connections(co::QueryConnectionsRequest {
                    pagination: Some(page),
                })
                .await
                .map_err(|e| self.grpc_err("Connections", e.message()))?
                .into_inner();
            Ok((r.connections, r.pagination))
        })
        .await
    }

    /// Every channel of this chain (all pages).
    pub async fn channels(&self) -> ChainResult<Vec<ch::IdentifiedChannel>> {
        all_pages(|page| async move {
            let r = ch::query_client::QueryClient::new(self.grpc())
                .channels(ch::QueryChannelsRequest {
                    pagination: Some(page),
                })
                .await
                .map_err(|e| self.grpc_err("Channels", e.message()))?
                .into_inner();
            Ok((r.channels, r.pagination))
        })
        .await
    }

    /// Sequences with a packet commitment on `port`/`channel` (sent and not
    /// yet acknowledged or timed out).
    pub async fn packet_commitments(&self, port: &str, channel: &str) -> ChainResult<Vec<u64>> {
        all_pages(|page| async move {
            let r = ch::query_client::QueryClient::new(self.grpc())
                .packet_commitments(ch::QueryPacketCommitmentsRequest {
                    port_id: port.into(),
                    channel_id: channel.into(),
                    pagination: Some(page),
                })
                .await
                .map_err(|e| self.grpc_err("PacketCommitments", e.message()))?
                .into_inner();
            let sequences = r.commitments.iter().map(|c| c.sequence).collect();
            Ok((sequences, r.pagination))
        })
        .await
    }

    /// Of `seqs` sent to this chain's `port`/`channel`, those not received.
    pub async fn unreceived_packets(
        &self,
        port: &str,
        channel: &str,
        seqs: Vec<u64>,
    ) -> ChainResult<Vec<u64>> {
        if seqs.is_empty() {
            return Ok(seqs);
        }
        let mut q = ch::query_client::QueryClient::new(self.grpc());
        let r = q
            .unreceived_packets(ch::QueryUnreceivedPacketsRequest {
                port_id: port.into(),
                channel_id: channel.into(),
                packet_commitment_sequences: seqs,
            })
            .await
            .map_err(|e| self.grpc_err("UnreceivedPackets", e.message()))?;
        Ok(r.into_inner().sequences)
    }

    /// Of `seqs` sent from this chain's `port`/`channel`, those whose
    /// acknowledgement has not arrived (commitment still stored).
    pub async fn unreceived_acks(&self, port: &str, channel: &str, seqs: Vec<u64>) -> ChainResult<Vec<u64>> {
        if seqs.is_empty() {
            return Ok(seqs);
        }
        let mut q = ch::query_client::QueryClient::new(self.grpc());
        let r = q
            .unreceived_acks(ch::QueryUnreceivedAcksRequest {
                port_id: port.into(),
                channel_id: channel.into(),
                packet_ack_sequences: seqs,
            })
            .await
            .map_err(|e| self.grpc_err("UnreceivedAcks", e.message()))?;
        Ok(r.into_inner().sequences)
    }

    /// Sequences with an acknowledgement stored on `port`/`channel`.
    pub async fn packet_acknowledgements(&self, port: &str, channel: &str) -> ChainResult<Vec<u64>> {
        all_pages(|page| async move {
            let r = ch::query_client::QueryClient::new(self.grpc())
                .packet_acknowledgements(ch::QueryPacketAcknowledgementsRequest {
                    port_id: port.into(),
                    channel_id: channel.into(),
                    pagination: Some(page),
                    packet_commitment_sequences: vec![],
                })
                .await
                .map_err(|e| self.grpc_err("PacketAcknowledgements", e.message()))?
                .into_inner();
            let sequences = r.acknowledgements.iter().map(|c| c.sequence).collect();
            Ok((sequences, r.pagination))
        })
        .await
    }
}

/// What the relayer reads of a 07-tendermint client state.
fn client_info(any: &cosmrs::Any) -> Result<ClientInfo, prost::DecodeError> {
    let cs = tm::ClientState::decode(any.value.as_slice())?;
    Ok(ClientInfo {
        chain_id: cs.chain_id,
        latest: cs.latest_height.map(|h| h.revision_height).unwrap_or(0),
        trusting_period_secs: cs.trusting_period.map(|d| d.seconds.max(0) as u64).unwrap_or(0),
        frozen: cs.frozen_height.is_some_and(|h| h.revision_height != 0),
    })
}

/// Every item of a paginated gRPC query, page after page (1000 items each)
/// until a response's `next_key` is empty. `call` asks for the page it is
/// given and answers that page's items and the response's `pagination`.
pub(crate) async fn all_pages<T, F, Fut>(mut call: F) -> ChainResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = ChainResult<(Vec<T>, Option<PageResponse>)>>,
{
    let mut out = Vec::new();
    let mut key = Vec::new();
    loop {
        let (items, pagination) = call(page(key)).await?;
        out.extend(items);
        match pagination.map(|p| p.next_key).filter(|k| !k.is_empty()) {
            Some(k) => key = k,
            None => return Ok(out),
        }
    }
}

fn page(key: Vec<u8>) -> PageRequest {
    PageRequest {
        key,
        offset: 0,
        limit: 1000,
        count_total: false,
        reverse: false,
    }
}
