//! Clients, connections and channels: `chimera create ...`, and answering
//! the handshake steps a counterparty starts (an ICA registration from
//! Terra Classic opens a channel the relayer must finish by itself).
//!
//! Every message that carries a proof from `src` goes to `dst` in one tx
//! with the update of `dst`'s client of `src` to the proof height
//! ([`with_update`]), so the proof and the consensus state it verifies
//! against always arrive together.

use cosmrs::Any;
use ibc_proto::ibc::core::channel::v1 as ch;
use ibc_proto::ibc::core::client::v1 as cl;
use ibc_proto::ibc::core::commitment::v1::MerklePrefix;
use ibc_proto::ibc::core::connection::v1 as co;
use ibc_proto::ibc::lightclients::tendermint::v1 as tm;
use prost::Message;
use tracing::info;

use crate::chain::{Chain, ChainResult, TxOutcome};
use crate::events::{ChannelStep, ChannelStepKind};
use crate::light::{any, height, initial_states, update_header};
use crate::paths;

/// A handshake could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// A chain call failed.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// The state on a chain does not allow the step.
    #[error("{0}")]
    State(String),
}

/// Result of handshake steps.
pub type HsResult<T> = Result<T, HandshakeError>;

/// The proof height for messages from `src` to `dst`, and the client update
/// that must precede them: `src`'s latest height `P` (proofs are queried at
/// `P - 1`, whose app hash is in header `P`), and `MsgUpdateClient` of
/// `client` on `dst` unless it already holds a consensus state at `P`.
/// Waits until `P > after`, so state written in block `after` is in the
/// proofs.
pub async fn prepare(src: &Chain, dst: &Chain, client: &str, after: u64) -> ChainResult<(u64, Option<Any>)> {
    loop {
        let (p, _) = src.latest().await?;
        if p <= after {
            // State written in block `after` is provable from height
            // `after + 1` on (its app hash is in that header).
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        let info = dst.client(client).await?;
        if info.latest > p {
            // Another relayer moved the client past what we just read.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        if dst.consensus_time(client, src.revision, p).await?.is_some() {
            return Ok((p, None));
        }
        let header = update_header(src, p, info.latest).await?;
        let msg = cl::MsgUpdateClient {
            client_id: client.into(),
            client_message: Some(header),
            signer: dst.address.clone(),
        };
        return Ok((p, Some(any(&msg))));
    }
}

/// Sends `msgs` to `dst` behind the client update from [`prepare`].
pub async fn with_update(dst: &Chain, update: Option<Any>, msgs: Vec<Any>) -> ChainResult<TxOutcome> {
    let all: Vec<Any> = update.into_iter().chain(msgs).collect();
    dst.send(all).await
}

fn event_attr(out: &TxOutcome, kind: &str, key: &str) -> Option<String> {
    out.events
        .iter()
        .filter(|e| e.kind == kind)
        .flat_map(|e| e.attributes.iter())
        .find(|a| a.key_bytes() == key.as_bytes())
        .and_then(|a| a.value_str().ok().map(str::to_string))
}

fn created(out: &TxOutcome, chain: &Chain, kind: &str, key: &str) -> HsResult<String> {
    event_attr(out, kind, key).ok_or_else(|| {
        HandshakeError::State(format!(
            "{}: tx {} has no {kind}.{key} event",
            chain.id(),
            out.hash
        ))
    })
}

/// Creates a 07-tendermint client of `src` on `host`; returns its id.
pub async fn create_client(host: &Chain, src: &Chain) -> anyhow::Result<String> {
    let (client_state, consensus_state, h) = initial_states(src, host.config.clock_drift).await?;
    let msg = cl::MsgCreateClient {
        client_state: Some(client_state),
        consensus_state: Some(consensus_state),
        signer: host.address.clone(),
    };
    let out = host.send(vec![any(&msg)]).await?;
    let id = created(&out, host, "create_client", "client_id")?;
    info!(host = %host.id(), of = %src.id(), client = %id, height = h, "client created");
    Ok(id)
}

fn version() -> co::Version {
    co::Version {
        identifier: "1".into(),
        features: vec!["ORDER_ORDERED".into(), "ORDER_UNORDERED".into()],
    }
}

fn prefix(chain: &Chain) -> Option<MerklePrefix> {
    Some(MerklePrefix {
        key_prefix: chain.config.store_prefix.as_bytes().to_vec(),
    })
}

/// Proofs of `src`'s client `client` (its state and its latest consensus
/// state) at query height `q`, for ConnOpenTry/Ack.
async fn client_proofs(src: &Chain, client: &str, q: u64) -> HsResult<(Any, Vec<u8>, Vec<u8>, cl::Height)> {
    let cs = src.prove_checked(&paths::client_state(client), q).await?;
    let any_cs = Any::decode(cs.value.as_slice()).map_err(|e| src.garbage("client state", e))?;
    let tm_cs =
        tm::ClientState::decode(any_cs.value.as_slice()).map_err(|e| src.garbage("client state", e))?;
    let ch = tm_cs.latest_height.ok_or_else(|| {
        HandshakeError::State(format!("{}: client {client} has no latest height", src.id()))
    })?;
    let cons = src
        .prove_checked(
            &paths::consensus_state(client, ch.revision_number, ch.revision_height),
            q,
        )
        .await?;
    Ok((any_cs, cs.proof, cons.proof, ch))
}

/// Opens a connection between `a` (client `client_a` of `b`) and `b`
/// (client `client_b` of `a`), all four steps; returns both ids.
pub async fn create_connection(
    a: &Chain,
    b: &Chain,
    client_a: &str,
    client_b: &str,
    delay_period_ns: u64,
) -> HsResult<(String, String)> {
    let init = co::MsgConnectionOpenInit {
        client_id: client_a.into(),
        counterparty: Some(co::Counterparty {
            client_id: client_b.into(),
            connection_id: String::new(),
            prefix: prefix(b),
        }),
        version: Some(version()),
        delay_period: delay_period_ns,
        signer: a.address.clone(),
    };
    let out = a.send(vec![any(&init)]).await?;
    let conn_a = created(&out, a, "connection_open_init", "connection_id")?;
    info!(chain = %a.id(), connection = %conn_a, "ConnOpenInit");

    // Try on b, proving a's INIT end and a's client of b.
    let (p, update) = prepare(a, b, client_b, out.height).await?;
    let q = p - 1;
    let proof_init = a.prove_checked(&paths::connection(&conn_a), q).await?;
    let (cs, proof_client, proof_consensus, consensus_height) = client_proofs(a, client_a, q).await?;
    #[allow(deprecated)]
    let try_msg = co::MsgConnectionOpenTry {
        client_id: client_b.into(),
        previous_connection_id: String::new(),
        client_state: Some(cs),
        counterparty: Some(co::Counterparty {
            client_id: client_a.into(),
            connection_id: conn_a.clone(),
            prefix: prefix(a),
        }),
        delay_period: delay_period_ns,
        counterparty_versions: vec![version()],
        proof_height: Some(height(a, p)),
        proof_init: proof_init.proof,
        proof_client,
        proof_consensus,
        consensus_height: Some(consensus_height),
        signer: b.address.clone(),
        host_consensus_state_proof: vec![],
    };
    let out = with_update(b, update, vec![any(&try_msg)]).await?;
    let conn_b = created(&out, b, "connection_open_try", "connection_id")?;
    info!(chain = %b.id(), connection = %conn_b, "ConnOpenTry");

    // Ack on a.
    let (p, update) = prepare(b, a, client_a, out.height).await?;
    let q = p - 1;
    let proof_try = b.prove_checked(&paths::connection(&conn_b), q).await?;
    let (cs, proof_client, proof_consensus, consensus_height) = client_proofs(b, client_b, q).await?;
    let ack = co::MsgConnectionOpenAck {
        connection_id: conn_a.clone(),
        counterparty_connection_id: conn_b.clone(),
        version: Some(version()),
        client_state: Some(cs),
        proof_height: Some(height(b, p)),
        proof_try: proof_try.proof,
        proof_client,
        proof_consensus,
        consensus_height: Some(consensus_height),
        signer: a.address.clone(),
        host_consensus_state_proof: vec![],
    };
    let out = with_update(a, update, vec![any(&ack)]).await?;
    info!(chain = %a.id(), connection = %conn_a, "ConnOpenAck");

    // Confirm on b.
    let (p, update) = prepare(a, b, client_b, out.height).await?;
    let proof_ack = a.prove_checked(&paths::connection(&conn_a), p - 1).await?;
    let confirm = co::MsgConnectionOpenConfirm {
        connection_id: conn_b.clone(),
        proof_ack: proof_ack.proof,
        proof_height: Some(height(a, p)),
        signer: b.address.clone(),
    };
    with_update(b, update, vec![any(&confirm)]).await?;
    info!(chain = %b.id(), connection = %conn_b, "ConnOpenConfirm: open");
    Ok((conn_a, conn_b))
}

/// Opens a channel from `a`'s `port_a` on connection `conn_a` to `b`'s
/// `port_b`: INIT on `a`, then the three answers; returns both channel ids.
pub async fn create_channel(
    a: &Chain,
    b: &Chain,
    conn_a: &str,
    port_a: &str,
    port_b: &str,
    version: &str,
    ordering: ch::Order,
) -> HsResult<(String, String)> {
    let init = ch::MsgChannelOpenInit {
        port_id: port_a.into(),
        channel: Some(ch::Channel {
            state: ch::State::Init as i32,
            ordering: ordering as i32,
            counterparty: Some(ch::Counterparty {
                port_id: port_b.into(),
                channel_id: String::new(),
            }),
            connection_hops: vec![conn_a.into()],
            version: version.into(),
            upgrade_sequence: 0,
        }),
        signer: a.address.clone(),
    };
    let out = a.send(vec![any(&init)]).await?;
    let chan_a = created(&out, a, "channel_open_init", "channel_id")?;
    info!(chain = %a.id(), port = %port_a, channel = %chan_a, "ChanOpenInit");
    let step = ChannelStep {
        kind: ChannelStepKind::OpenInit,
        port: port_a.into(),
        channel: chan_a.clone(),
        counterparty_port: port_b.into(),
        counterparty_channel: String::new(),
        connection: conn_a.into(),
    };
    let (chan_b, h) = answer_channel_step(a, b, &step, out.height).await?;
    let step = ChannelStep {
        kind: ChannelStepKind::OpenTry,
        port: port_b.into(),
        channel: chan_b.clone(),
        counterparty_port: port_a.into(),
        counterparty_channel: chan_a.clone(),
        connection: String::new(),
    };
    let (_, h) = answer_channel_step(b, a, &step, h).await?;
    let step = ChannelStep {
        kind: ChannelStepKind::OpenAck,
        port: port_a.into(),
        channel: chan_a.clone(),
        counterparty_port: port_b.into(),
        counterparty_channel: chan_b.clone(),
        connection: conn_a.into(),
    };
    answer_channel_step(a, b, &step, h).await?;
    Ok((chan_a, chan_b))
}

/// `dst`'s client of `src` and `dst`'s connection, for a connection id on
/// `src`.
pub async fn counterparty_client(src: &Chain, dst: &Chain, conn_src: &str) -> HsResult<(String, String)> {
    let conn = src.connection(conn_src).await?;
    let cp = conn
        .counterparty
        .ok_or_else(|| HandshakeError::State(format!("{}: {conn_src} has no counterparty", src.id())))?;
    if cp.connection_id.is_empty() {
        return Err(HandshakeError::State(format!(
            "{}: connection {conn_src} is not open on the counterparty yet",
            src.id()
        )));
    }
    let conn_dst = dst.connection(&cp.connection_id).await?;
    Ok((conn_dst.client_id, cp.connection_id))
}

/// Answers one channel handshake step that happened on `src` with the next
/// step on `dst`; returns the channel id on `dst`.
pub async fn answer_channel_step(
    src: &Chain,
    dst: &Chain,
    step: &ChannelStep,
    after: u64,
) -> HsResult<(String, u64)> {
    let src_end = src.channel(&step.port, &step.channel).await?;
    let conn_src = src_end.connection_hops.first().cloned().unwrap_or_default();
    let (client_dst, conn_dst) = counterparty_client(src, dst, &conn_src).await?;
    let (p, update) = prepare(src, dst, &client_dst, after).await?;
    let proof = src
        .prove_checked(&paths::channel_end(&step.port, &step.channel), p - 1)
        .await?;
    let proof_height = Some(height(src, p));
    let signer = dst.address.clone();
    let (msg, dst_channel) = match step.kind {
        ChannelStepKind::OpenInit => {
            #[allow(deprecated)]
            let m = ch::MsgChannelOpenTry {
                port_id: step.counterparty_port.clone(),
                previous_channel_id: String::new(),
                channel: Some(ch::Channel {
                    state: ch::State::Tryopen as i32,
                    ordering: src_end.ordering,
                    counterparty: Some(ch::Counterparty {
                        port_id: step.port.clone(),
                        channel_id: step.channel.clone(),
                    }),
                    connection_hops: vec![conn_dst],
                    version: src_end.version.clone(),
                    upgrade_sequence: 0,
                }),
                counterparty_version: src_end.version.clone(),
                proof_init: proof.proof,
                proof_height,
                signer,
            };
            (any(&m), None)
        }
        ChannelStepKind::OpenTry => {
            let cp = src_end.counterparty.clone().unwrap_or_default();
            let m = ch::MsgChannelOpenAck {
                port_id: cp.port_id,
                channel_id: cp.channel_id.clone(),
                counterparty_channel_id: step.channel.clone(),
                counterparty_version: src_end.version.clone(),
                proof_try: proof.proof,
                proof_height,
                signer,
            };
            (any(&m), Some(cp.channel_id))
        }
        ChannelStepKind::OpenAck => {
            let cp = src_end.counterparty.clone().unwrap_or_default();
            let m = ch::MsgChannelOpenConfirm {
                port_id: cp.port_id,
                channel_id: cp.channel_id.clone(),
                proof_ack: proof.proof,
                proof_height,
                signer,
            };
            (any(&m), Some(cp.channel_id))
        }
        ChannelStepKind::CloseInit => {
            let cp = src_end.counterparty.clone().unwrap_or_default();
            let m = ch::MsgChannelCloseConfirm {
                port_id: cp.port_id,
                channel_id: cp.channel_id.clone(),
                proof_init: proof.proof,
                proof_height,
                signer,
                counterparty_upgrade_sequence: 0,
            };
            (any(&m), Some(cp.channel_id))
        }
    };
    let out = with_update(dst, update, vec![msg]).await?;
    let id = match dst_channel {
        Some(id) => id,
        None => created(&out, dst, "channel_open_try", "channel_id")?,
    };
    info!(src = %src.id(), dst = %dst.id(), step = ?step.kind, channel = %id, "channel handshake step answered");
    Ok((id, out.height))
}
