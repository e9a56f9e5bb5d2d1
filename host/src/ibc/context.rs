//! ibc-rs's host contexts over our state: [`IbcCtx`] implements
//! `ValidationContext`/`ExecutionContext` and the 07-tendermint client
//! contexts, storing everything under the ICS-24 paths in ibc-go's bytes
//! ([`super::keys`]).
//!
//! ibc-rs reads through `&self` and hands the router's modules no context,
//! so the state a message runs against lives in one [`Shared`] behind
//! `Rc<RefCell<…>>` that the core context and the transfer module both
//! hold. Every read and write goes through the metered [`Ctx`], so IBC
//! messages pay the SDK's KV gas like every other message. A gas overrun or
//! a storage fault inside ibc-rs is remembered in [`Shared::fault`] and wins
//! over whatever error ibc-rs makes of it, so it still ends the tx as out of
//! gas (code 11) or halts the node (internal), never as an IBC error.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ::ibc::clients::tendermint::client_state::ClientState as TmClientState;
use ::ibc::clients::tendermint::consensus_state::ConsensusState as TmConsensusState;
use ::ibc::core::channel::types::channel::ChannelEnd;
use ::ibc::core::channel::types::commitment::{AcknowledgementCommitment, PacketCommitment};
use ::ibc::core::channel::types::packet::Receipt;
use ::ibc::core::client::context::{
    ClientExecutionContext, ClientValidationContext, ExtClientValidationContext,
};
use ::ibc::core::client::types::Height;
use ::ibc::core::commitment_types::commitment::CommitmentPrefix;
use ::ibc::core::commitment_types::specs::ProofSpecs;
use ::ibc::core::connection::types::ConnectionEnd;
use ::ibc::core::handler::types::events::IbcEvent;
use ::ibc::core::host::types::error::HostError;
use ::ibc::core::host::types::identifiers::{ChainId, ClientId, ConnectionId, Sequence};
use ::ibc::core::host::types::path::{
    AckPath, ChannelEndPath, ClientConnectionPath, ClientConsensusStatePath, ClientStatePath,
    ClientUpdateHeightPath, ClientUpdateTimePath, CommitmentPath, ConnectionPath, ReceiptPath, SeqAckPath,
    SeqRecvPath, SeqSendPath,
};
use ::ibc::core::host::{ExecutionContext, ValidationContext};
use ::ibc::cosmos_host::ValidateSelfClientContext;
use ::ibc::primitives::proto::Protobuf;
use ::ibc::primitives::{Signer, Timestamp};
use ibc_proto::google::protobuf::Any;
use ibc_proto::ibc::core::connection::v1::ClientPaths;
use prost::Message;
use tendermint::abci::Event;
use tracing::debug;

use super::host;
use super::keys;
use crate::chain::address::Address;
use crate::chain::error::TxError;
use crate::chain::gas::{cost, Ctx, GasMeter};
use crate::state::{Delta, KeyValues};

/// ibc-go's default `max_expected_time_per_block` (connection params):
/// the block delay of a connection is its time delay over this.
pub const MAX_EXPECTED_TIME_PER_BLOCK: Duration = Duration::from_secs(30);

/// The upgrade path counterparties' clients of us may name: the SDK's
/// default (`upgrade`/`upgradedIBCState`), which Hermes puts in every
/// client it creates. Chimera does not schedule IBC upgrades yet.
pub const UPGRADE_PATH: [&str; 2] = ["upgrade", "upgradedIBCState"];

/// The state one IBC message runs against, shared by the core context and
/// the router's modules.
pub struct Shared {
    /// The message's buffer (a fork of the tx's).
    pub state: Delta,
    /// The tx's gas meter, moved in for the message and back out after.
    pub gas: GasMeter,
    /// The height being executed.
    pub height: u64,
    /// The chain's id (for apps that execute messages, e.g. the ICA host).
    pub chain_id: String,
    /// ABCI events in emission order: bank events and converted IBC events.
    pub events: Vec<Event>,
    /// The first out-of-gas or internal error hit inside ibc-rs.
    pub fault: Option<TxError>,
    /// Outer buffers while an app callback runs in a nested fork.
    stash: Vec<Delta>,
}

/// The handle both contexts hold.
pub type SharedRef = Rc<RefCell<Shared>>;

impl Shared {
    /// A shared state over `state` charging `gas`.
    pub fn new(state: Delta, gas: GasMeter, height: u64, chain_id: &str) -> SharedRef {
        Rc::new(RefCell::new(Shared {
            state,
            gas,
            height,
            chain_id: chain_id.to_string(),
            events: Vec::new(),
            fault: None,
            stash: Vec::new(),
        }))
    }

    /// Runs `f` with a metered [`Ctx`]; remembers gas and storage faults.
    pub fn with_ctx<T>(&mut self, f: impl FnOnce(&mut Ctx) -> Result<T, TxError>) -> Result<T, TxError> {
        let mut ctx = Ctx {
            state: &mut self.state,
            gas: &mut self.gas,
            height: self.height,
        };
        let r = f(&mut ctx);
        if let Err(e @ (TxError::OutOfGas(_) | TxError::Internal(_))) = &r {
            if self.fault.is_none() {
                self.fault = Some(e.clone());
            }
        }
        r
    }

    /// Runs the following writes in a nested fork (an app callback whose
    /// writes an error acknowledgement must discard, as ibc-go's cached
    /// context does).
    pub fn begin_nested(&mut self) {
        let child = self.state.fork();
        let outer = std::mem::replace(&mut self.state, child);
        self.stash.push(outer);
    }

    /// Ends [`Shared::begin_nested`], keeping the writes if `keep`.
    pub fn end_nested(&mut self, keep: bool) {
        let outer = self.stash.pop().expect("end_nested without begin_nested");
        let child = std::mem::replace(&mut self.state, outer);
        if keep {
            self.state.absorb(child);
        }
    }
}

/// Maps a storage or gas failure to ibc-rs's error (the fault itself is
/// remembered in [`Shared::fault`]).
fn host_err(e: TxError) -> HostError {
    HostError::failed_to_retrieve(e.to_string())
}

/// Reads one key through the metered context.
pub fn get(shared: &SharedRef, key: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
    shared.borrow_mut().with_ctx(|c| c.get(key)).map_err(host_err)
}

/// Writes one key through the metered context.
pub fn put(shared: &SharedRef, key: Vec<u8>, value: Vec<u8>) -> Result<(), HostError> {
    shared
        .borrow_mut()
        .with_ctx(|c| c.put(key, value))
        .map_err(|e| HostError::failed_to_store(e.to_string()))
}

/// Deletes one key through the metered context.
pub fn delete(shared: &SharedRef, key: Vec<u8>) -> Result<(), HostError> {
    shared
        .borrow_mut()
        .with_ctx(|c| c.delete(key))
        .map_err(|e| HostError::failed_to_store(e.to_string()))
}

/// Writes the value at an IBC store path (the key is the path's string).
fn put_path(shared: &SharedRef, path: &impl std::fmt::Display, value: Vec<u8>) -> Result<(), HostError> {
    put(shared, path.to_string().into_bytes(), value)
}

/// Deletes the value at an IBC store path.
fn delete_path(shared: &SharedRef, path: &impl std::fmt::Display) -> Result<(), HostError> {
    delete(shared, path.to_string().into_bytes())
}

/// A stored value that does not decode: the store is corrupt, which halts
/// the node rather than let it answer differently from its peers.
fn corrupt(shared: &SharedRef, what: &str, e: impl std::fmt::Display) -> HostError {
    let msg = format!("stored {what} does not decode: {e}");
    let mut s = shared.borrow_mut();
    if s.fault.is_none() {
        s.fault = Some(TxError::Internal(msg.clone()));
    }
    HostError::failed_to_retrieve(msg)
}

/// The key-ordered entries under `prefix` that `pick` selects, charging
/// the SDK's iterator gas for at most the first `charged` of them: an SDK
/// iterator seeks to its start and pays for what it walks, not for the
/// whole range.
fn scan(
    shared: &SharedRef,
    prefix: &[u8],
    charged: usize,
    pick: impl FnOnce(KeyValues) -> KeyValues,
) -> Result<KeyValues, HostError> {
    let mut s = shared.borrow_mut();
    let items = match s.state.prefix(prefix) {
        Ok(items) => items,
        Err(e) => {
            let e = TxError::from(e);
            if s.fault.is_none() {
                s.fault = Some(e.clone());
            }
            return Err(host_err(e));
        }
    };
    let picked = pick(items);
    for (k, v) in picked.iter().take(charged) {
        let n = (k.len() + v.len()) as u64;
        s.with_ctx(|c| {
            c.gas.consume(cost::ITER_NEXT_FLAT, "IterNextFlat")?;
            c.gas.consume(cost::READ_PER_BYTE * n, "ReadPerByte")
        })
        .map_err(host_err)?;
    }
    Ok(picked)
}

/// ibc-rs's host context for one message.
pub struct IbcCtx {
    shared: SharedRef,
    chain_id: ChainId,
    host_height: Height,
    host_time: Option<Timestamp>,
    unbonding_period: Duration,
    proof_specs: ProofSpecs,
    upgrade_path: Vec<String>,
}

impl IbcCtx {
    /// The context of a message at `shared`'s height on chain `chain_id`,
    /// whose staking unbonding period (what counterparties' clients of us
    /// must hold) is `unbonding_period`.
    pub fn new(shared: SharedRef, chain_id: &str, unbonding_period: Duration) -> Result<IbcCtx, TxError> {
        // A chain id IBC cannot name refuses IBC messages; it must not halt
        // the chain (anyone can send one).
        let chain_id = ChainId::new(chain_id).map_err(|e| {
            TxError::InvalidRequest(format!("chain id {chain_id:?} is not an IBC chain id: {e}"))
        })?;
        let (height, host_time) = {
            let s = shared.borrow();
            (s.height, host::host_time(&s.state, s.height)?)
        };
        let host_height = Height::new(chain_id.revision_number(), height)
            .map_err(|e| TxError::InvalidRequest(format!("host height {height}: {e}")))?;
        Ok(IbcCtx {
            shared,
            chain_id,
            host_height,
            host_time,
            unbonding_period,
            proof_specs: host::proof_specs(),
            upgrade_path: UPGRADE_PATH.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The shared state (for the transfer entrypoint's token context).
    pub fn shared(&self) -> &SharedRef {
        &self.shared
    }

    fn counter(&self, key: &[u8]) -> Result<u64, HostError> {
        match get(&self.shared, key)? {
            None => Ok(0),
            Some(b) => keys::read_u64_be(&b).ok_or_else(|| corrupt(&self.shared, "counter", "not 8 bytes")),
        }
    }

    fn increase(&mut self, key: &[u8]) -> Result<(), HostError> {
        let n = self.counter(key)?;
        put(&self.shared, key.to_vec(), keys::u64_be(n + 1))
    }

    fn sequence(&self, key: String, what: &str) -> Result<Sequence, HostError> {
        match get(&self.shared, key.as_bytes())? {
            None => Err(HostError::missing_state(format!("{what} not found at {key}"))),
            Some(b) => keys::read_u64_be(&b)
                .map(Sequence::from)
                .ok_or_else(|| corrupt(&self.shared, what, "not 8 bytes")),
        }
    }

    fn decode_any_at<T>(&self, key: &[u8], what: &str) -> Result<Option<T>, HostError>
    where
        T: TryFrom<Any>,
        T::Error: std::fmt::Display,
    {
        let Some(b) = get(&self.shared, key)? else {
            return Ok(None);
        };
        let any = Any::decode(b.as_slice()).map_err(|e| corrupt(&self.shared, what, e))?;
        T::try_from(any)
            .map(Some)
            .map_err(|e| corrupt(&self.shared, what, e))
    }

    /// All consensus-state heights of a client, ascending. Its one caller in
    /// ibc-rs (07-tendermint pruning on update) walks them from the oldest
    /// and stops at the first unexpired one, reading each state it walks
    /// (metered reads); so, as ibc-go's ascending iterator, this charges
    /// one iterator step, not one per stored state, which would make every
    /// update cost more as the client ages.
    fn heights(&self, client_id: &ClientId) -> Result<Vec<Height>, HostError> {
        let prefix = keys::iteration_prefix(client_id);
        Ok(scan(&self.shared, &prefix, 1, |all| all)?
            .iter()
            .filter_map(|(k, _)| keys::height_of_iteration_key(&prefix, k))
            .collect())
    }

    fn consensus_state_at(&self, client_id: &ClientId, h: &Height) -> Result<TmConsensusState, HostError> {
        self.consensus_state(&ClientConsensusStatePath::new(
            client_id.clone(),
            h.revision_number(),
            h.revision_height(),
        ))
    }
}

impl ValidateSelfClientContext for IbcCtx {
    fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    fn host_current_height(&self) -> Height {
        self.host_height
    }

    fn proof_specs(&self) -> &ProofSpecs {
        &self.proof_specs
    }

    fn unbonding_period(&self) -> Duration {
        self.unbonding_period
    }

    fn upgrade_path(&self) -> &[String] {
        &self.upgrade_path
    }
}

impl ClientValidationContext for IbcCtx {
    type ClientStateRef = TmClientState;
    type ConsensusStateRef = TmConsensusState;

    fn client_state(&self, client_id: &ClientId) -> Result<TmClientState, HostError> {
        let path = ClientStatePath::new(client_id.clone()).to_string();
        self.decode_any_at(path.as_bytes(), "client state")?
            .ok_or_else(|| HostError::missing_state(format!("client {client_id} not found")))
    }

    fn consensus_state(&self, path: &ClientConsensusStatePath) -> Result<TmConsensusState, HostError> {
        self.decode_any_at(path.to_string().as_bytes(), "consensus state")?
            .ok_or_else(|| {
                HostError::missing_state(format!(
                    "consensus state of client {} at height {}-{} not found",
                    path.client_id, path.revision_number, path.revision_height
                ))
            })
    }

    fn client_update_meta(
        &self,
        client_id: &ClientId,
        height: &Height,
    ) -> Result<(Timestamp, Height), HostError> {
        let (rev, h) = (height.revision_number(), height.revision_height());
        let time_key = ClientUpdateTimePath::new(client_id.clone(), rev, h).to_string();
        let height_key = ClientUpdateHeightPath::new(client_id.clone(), rev, h).to_string();
        let missing = || {
            HostError::missing_state(format!(
                "processed time/height of client {client_id} at {height} not found"
            ))
        };
        let time = get(&self.shared, time_key.as_bytes())?.ok_or_else(missing)?;
        let time =
            keys::read_u64_be(&time).ok_or_else(|| corrupt(&self.shared, "processed time", "not 8 bytes"))?;
        let processed = get(&self.shared, height_key.as_bytes())?.ok_or_else(missing)?;
        let processed = std::str::from_utf8(&processed)
            .ok()
            .and_then(|s| s.parse::<Height>().ok())
            .ok_or_else(|| corrupt(&self.shared, "processed height", "not rev-height"))?;
        Ok((Timestamp::from_nanoseconds(time), processed))
    }
}

impl ClientExecutionContext for IbcCtx {
    type ClientStateMut = TmClientState;

    fn store_client_state(&mut self, path: ClientStatePath, cs: TmClientState) -> Result<(), HostError> {
        put_path(&self.shared, &path, Any::from(cs).encode_to_vec())
    }

    fn store_consensus_state(
        &mut self,
        path: ClientConsensusStatePath,
        cs: TmConsensusState,
    ) -> Result<(), HostError> {
        let h = Height::new(path.revision_number, path.revision_height)
            .map_err(|e| HostError::invalid_state(e.to_string()))?;
        let key = path.to_string();
        put(
            &self.shared,
            keys::iteration_key(&path.client_id, &h),
            format!("consensusStates/{h}").into_bytes(),
        )?;
        put(&self.shared, key.into_bytes(), Any::from(cs).encode_to_vec())
    }

    fn delete_consensus_state(&mut self, path: ClientConsensusStatePath) -> Result<(), HostError> {
        let h = Height::new(path.revision_number, path.revision_height)
            .map_err(|e| HostError::invalid_state(e.to_string()))?;
        delete(&self.shared, keys::iteration_key(&path.client_id, &h))?;
        delete_path(&self.shared, &path)
    }

    fn store_update_meta(
        &mut self,
        client_id: ClientId,
        height: Height,
        host_timestamp: Timestamp,
        host_height: Height,
    ) -> Result<(), HostError> {
        let (rev, h) = (height.revision_number(), height.revision_height());
        put(
            &self.shared,
            ClientUpdateTimePath::new(client_id.clone(), rev, h)
                .to_string()
                .into_bytes(),
            keys::u64_be(host_timestamp.nanoseconds()),
        )?;
        put(
            &self.shared,
            ClientUpdateHeightPath::new(client_id, rev, h)
                .to_string()
                .into_bytes(),
            host_height.to_string().into_bytes(),
        )
    }

    fn delete_update_meta(&mut self, client_id: ClientId, height: Height) -> Result<(), HostError> {
        let (rev, h) = (height.revision_number(), height.revision_height());
        delete(
            &self.shared,
            ClientUpdateTimePath::new(client_id.clone(), rev, h)
                .to_string()
                .into_bytes(),
        )?;
        delete(
            &self.shared,
            ClientUpdateHeightPath::new(client_id, rev, h)
                .to_string()
                .into_bytes(),
        )
    }
}

impl ExtClientValidationContext for IbcCtx {
    fn host_timestamp(&self) -> Result<Timestamp, HostError> {
        self.host_time
            .ok_or_else(|| HostError::missing_state("no block time recorded for the host yet"))
    }

    fn host_height(&self) -> Result<Height, HostError> {
        Ok(self.host_height)
    }

    fn consensus_state_heights(&self, client_id: &ClientId) -> Result<Vec<Height>, HostError> {
        self.heights(client_id)
    }

    fn next_consensus_state(
        &self,
        client_id: &ClientId,
        height: &Height,
    ) -> Result<Option<TmConsensusState>, HostError> {
        let prefix = keys::iteration_prefix(client_id);
        let target = keys::iteration_key(client_id, height);
        let found = scan(&self.shared, &prefix, 1, |all| {
            all.into_iter()
                .filter(|(k, _)| k.as_slice() > target.as_slice())
                .take(1)
                .collect()
        })?
        .pop()
        .and_then(|(k, _)| keys::height_of_iteration_key(&prefix, &k));
        found.map(|h| self.consensus_state_at(client_id, &h)).transpose()
    }

    fn prev_consensus_state(
        &self,
        client_id: &ClientId,
        height: &Height,
    ) -> Result<Option<TmConsensusState>, HostError> {
        let prefix = keys::iteration_prefix(client_id);
        let target = keys::iteration_key(client_id, height);
        let found = scan(&self.shared, &prefix, 1, |all| {
            all.into_iter()
                .rev()
                .filter(|(k, _)| k.as_slice() < target.as_slice())
                .take(1)
                .collect()
        })?
        .pop()
        .and_then(|(k, _)| keys::height_of_iteration_key(&prefix, &k));
        found.map(|h| self.consensus_state_at(client_id, &h)).transpose()
    }
}

impl ValidationContext for IbcCtx {
    type V = Self;
    type HostClientState = TmClientState;
    type HostConsensusState = TmConsensusState;

    fn get_client_validation_context(&self) -> &Self {
        self
    }

    fn host_height(&self) -> Result<Height, HostError> {
        Ok(self.host_height)
    }

    fn host_timestamp(&self) -> Result<Timestamp, HostError> {
        ExtClientValidationContext::host_timestamp(self)
    }

    fn host_consensus_state(&self, height: &Height) -> Result<TmConsensusState, HostError> {
        if height.revision_number() != self.chain_id.revision_number() {
            return Err(HostError::invalid_state(format!(
                "height {height} is not of this chain's revision {}",
                self.chain_id.revision_number()
            )));
        }
        let key = keys::host_consensus_state(height.revision_height());
        self.decode_any_at(&key, "host consensus state")?.ok_or_else(|| {
            HostError::missing_state(format!(
                "no host consensus state at height {height} (not reached yet, or pruned)"
            ))
        })
    }

    fn client_counter(&self) -> Result<u64, HostError> {
        self.counter(keys::NEXT_CLIENT_SEQUENCE)
    }

    fn connection_end(&self, conn_id: &ConnectionId) -> Result<ConnectionEnd, HostError> {
        let key = ConnectionPath::new(conn_id).to_string();
        let b = get(&self.shared, key.as_bytes())?
            .ok_or_else(|| HostError::missing_state(format!("connection {conn_id} not found")))?;
        ConnectionEnd::decode_vec(&b).map_err(|e| corrupt(&self.shared, "connection end", e))
    }

    fn validate_self_client(
        &self,
        client_state_of_host_on_counterparty: TmClientState,
    ) -> Result<(), HostError> {
        self.validate_self_tendermint_client(client_state_of_host_on_counterparty.inner().clone())
    }

    fn commitment_prefix(&self) -> CommitmentPrefix {
        CommitmentPrefix::from_bytes(crate::state::IBC_STORE_PREFIX)
    }

    fn connection_counter(&self) -> Result<u64, HostError> {
        self.counter(keys::NEXT_CONNECTION_SEQUENCE)
    }

    fn channel_end(&self, path: &ChannelEndPath) -> Result<ChannelEnd, HostError> {
        let b = get(&self.shared, path.to_string().as_bytes())?.ok_or_else(|| {
            HostError::missing_state(format!("channel {} on port {} not found", path.1, path.0))
        })?;
        ChannelEnd::decode_vec(&b).map_err(|e| corrupt(&self.shared, "channel end", e))
    }

    fn get_next_sequence_send(&self, path: &SeqSendPath) -> Result<Sequence, HostError> {
        self.sequence(path.to_string(), "next sequence send")
    }

    fn get_next_sequence_recv(&self, path: &SeqRecvPath) -> Result<Sequence, HostError> {
        self.sequence(path.to_string(), "next sequence receive")
    }

    fn get_next_sequence_ack(&self, path: &SeqAckPath) -> Result<Sequence, HostError> {
        self.sequence(path.to_string(), "next sequence ack")
    }

    fn get_packet_commitment(&self, path: &CommitmentPath) -> Result<PacketCommitment, HostError> {
        get(&self.shared, path.to_string().as_bytes())?
            .map(PacketCommitment::from)
            .ok_or_else(|| HostError::missing_state(format!("packet commitment {path} not found")))
    }

    fn get_packet_receipt(&self, path: &ReceiptPath) -> Result<Receipt, HostError> {
        Ok(match get(&self.shared, path.to_string().as_bytes())? {
            Some(_) => Receipt::Ok,
            None => Receipt::None,
        })
    }

    fn get_packet_acknowledgement(&self, path: &AckPath) -> Result<AcknowledgementCommitment, HostError> {
        get(&self.shared, path.to_string().as_bytes())?
            .map(AcknowledgementCommitment::from)
            .ok_or_else(|| HostError::missing_state(format!("packet acknowledgement {path} not found")))
    }

    fn channel_counter(&self) -> Result<u64, HostError> {
        self.counter(keys::NEXT_CHANNEL_SEQUENCE)
    }

    fn max_expected_time_per_block(&self) -> Duration {
        MAX_EXPECTED_TIME_PER_BLOCK
    }

    fn validate_message_signer(&self, signer: &Signer) -> Result<(), HostError> {
        Address::parse(signer.as_ref())
            .map(|_| ())
            .map_err(|e| HostError::invalid_state(format!("invalid signer: {e}")))
    }
}

impl ExecutionContext for IbcCtx {
    type E = Self;

    fn get_client_execution_context(&mut self) -> &mut Self {
        self
    }

    fn increase_client_counter(&mut self) -> Result<(), HostError> {
        self.increase(keys::NEXT_CLIENT_SEQUENCE)
    }

    fn store_connection(&mut self, path: &ConnectionPath, end: ConnectionEnd) -> Result<(), HostError> {
        put_path(&self.shared, &path, end.encode_vec())
    }

    fn store_connection_to_client(
        &mut self,
        path: &ClientConnectionPath,
        conn_id: ConnectionId,
    ) -> Result<(), HostError> {
        let key = path.to_string().into_bytes();
        let mut paths = match get(&self.shared, &key)? {
            None => ClientPaths::default(),
            Some(b) => {
                ClientPaths::decode(b.as_slice()).map_err(|e| corrupt(&self.shared, "client paths", e))?
            }
        };
        paths.paths.push(conn_id.to_string());
        put(&self.shared, key, paths.encode_to_vec())
    }

    fn increase_connection_counter(&mut self) -> Result<(), HostError> {
        self.increase(keys::NEXT_CONNECTION_SEQUENCE)
    }

    fn store_packet_commitment(
        &mut self,
        path: &CommitmentPath,
        commitment: PacketCommitment,
    ) -> Result<(), HostError> {
        put_path(&self.shared, &path, commitment.into_vec())
    }

    fn delete_packet_commitment(&mut self, path: &CommitmentPath) -> Result<(), HostError> {
        delete_path(&self.shared, &path)
    }

    fn store_packet_receipt(&mut self, path: &ReceiptPath, _receipt: Receipt) -> Result<(), HostError> {
        put_path(&self.shared, &path, keys::RECEIPT_OK.to_vec())
    }

    fn store_packet_acknowledgement(
        &mut self,
        path: &AckPath,
        ack: AcknowledgementCommitment,
    ) -> Result<(), HostError> {
        put_path(&self.shared, &path, ack.into_vec())
    }

    fn delete_packet_acknowledgement(&mut self, path: &AckPath) -> Result<(), HostError> {
        delete_path(&self.shared, &path)
    }

    fn store_channel(&mut self, path: &ChannelEndPath, end: ChannelEnd) -> Result<(), HostError> {
        put_path(&self.shared, &path, end.encode_vec())
    }

    fn store_next_sequence_send(&mut self, path: &SeqSendPath, seq: Sequence) -> Result<(), HostError> {
        put_path(&self.shared, &path, keys::u64_be(seq.value()))
    }

    fn store_next_sequence_recv(&mut self, path: &SeqRecvPath, seq: Sequence) -> Result<(), HostError> {
        put_path(&self.shared, &path, keys::u64_be(seq.value()))
    }

    fn store_next_sequence_ack(&mut self, path: &SeqAckPath, seq: Sequence) -> Result<(), HostError> {
        put_path(&self.shared, &path, keys::u64_be(seq.value()))
    }

    fn increase_channel_counter(&mut self) -> Result<(), HostError> {
        self.increase(keys::NEXT_CHANNEL_SEQUENCE)
    }

    fn emit_ibc_event(&mut self, event: IbcEvent) -> Result<(), HostError> {
        let kind = event.event_type().to_string();
        match Event::try_from(event) {
            Ok(mut e) => {
                // The SDK indexes every attribute; Hermes finds packets in
                // CometBFT's tx index by them (`send_packet.packet_sequence`).
                for a in &mut e.attributes {
                    a.set_index(true);
                }
                self.shared.borrow_mut().events.push(e);
                Ok(())
            }
            Err(e) => Err(HostError::invalid_state(format!(
                "event {kind} cannot be an ABCI event: {e}"
            ))),
        }
    }

    fn log_message(&mut self, message: String) -> Result<(), HostError> {
        debug!(target: "ibc", "{message}");
        Ok(())
    }
}
