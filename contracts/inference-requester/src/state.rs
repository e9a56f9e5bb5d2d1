//! What the contract stores. The stored types are also the query answers.

use cosmwasm_std::{Addr, Coin, Empty, Timestamp, Uint64};
use cw_storage_plus::{Item, Map};
use serde::{Deserialize, Serialize};

/// The contract's settings (query `config`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// May call `update_config`.
    pub admin: Addr,
    /// Receives the escrowed fee of every request that gets a result.
    pub payout_address: Addr,
    /// The only fee denom: `uluna`.
    pub denom: String,
    /// Largest inline input in bytes (at most the protocol's 64 KiB).
    pub max_input_bytes: u64,
    /// Packet timeout when a request names none.
    pub default_timeout_seconds: u64,
    /// Gas given to a requester contract's `inference_callback`; a callback
    /// that fails or runs out of it never fails the acknowledgement.
    pub callback_gas_limit: u64,
}

/// One channel to a Chimera host's `inference` port (query `channels`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Our end, e.g. `channel-3`.
    pub channel_id: String,
    /// The host's port: always `inference`.
    pub counterparty_port_id: String,
    /// The host's channel id.
    pub counterparty_channel_id: String,
    /// Our connection to the host.
    pub connection_id: String,
    /// `chimera-inference-1`.
    pub version: String,
    /// `open` or `closed`.
    pub state: ChannelState,
}

/// Whether a channel can carry new requests.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    Open,
    Closed,
}

/// Where a request stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Sent; no acknowledgement or timeout yet. The fee is in escrow.
    Pending,
    /// A result acknowledgement arrived; the fee went to the payout address.
    Succeeded,
    /// An error acknowledgement (or an unreadable one) arrived; refunded.
    Failed,
    /// The packet timed out (or its channel closed); refunded.
    TimedOut,
}

/// How a request ended; also the `outcome` of `inference_callback`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The host's validators agreed on a result (`docs/protocol.md` §4.2).
    Result(ResultRecord),
    /// The host refused or failed the request (§4.1, §4.3, §7), or the
    /// acknowledgement could not be read.
    Error(ErrorRecord),
    /// The packet was not received before its timeout, or its channel closed.
    Timeout {},
}

/// The commitment of a result acknowledgement, flattened.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ResultRecord {
    /// Host job id: the key for `chimera fetch` and the BlobService.
    pub job_id: Uint64,
    /// SHA-256 of the exact output bytes, lowercase hex.
    pub output_sha256: String,
    /// Output size in bytes.
    pub output_size: Uint64,
    /// `png`, `text`, `tensor` or `json`.
    pub output_encoding: String,
    /// SHA-256 of the model file that ran, lowercase hex.
    pub model_hash: String,
    /// The voting power that agreed.
    pub quorum: QuorumRecord,
}

/// Who agreed on a result, and when.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct QuorumRecord {
    /// Host height whose `FinalizeBlock` tallied the votes.
    pub height: Uint64,
    /// Voting power whose results agreed.
    pub agreeing_power: Uint64,
    /// Total voting power at that height.
    pub total_power: Uint64,
}

/// An error acknowledgement.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ErrorRecord {
    /// The protocol's stable error code (§7); absent when the
    /// acknowledgement was not a Chimera error (then `text` says why).
    pub code: Option<u32>,
    /// The code's name, e.g. `unknown_model`.
    pub name: Option<String>,
    /// The detail of a Chimera error, or why the acknowledgement was
    /// unreadable.
    pub text: String,
}

/// One request (query `request`, `requests_by_requester`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The contract's id, from 1; in the packet's memo as
    /// `chimera-requester:<id>`.
    pub id: u64,
    /// Who sent `request_inference`; the packet's `requester`; refunds go here.
    pub requester: Addr,
    /// Our channel the packet went out on.
    pub channel_id: String,
    /// The model id.
    pub model: String,
    /// The escrowed fee.
    pub fee: Coin,
    /// Terra height of the request.
    pub created_height: u64,
    /// The packet's timeout (Terra block time of the request plus the timeout).
    pub timeout: Timestamp,
    /// Whether the requester contract is called back with the outcome.
    pub callback: bool,
    /// Where it stands.
    pub status: RequestStatus,
    /// The packet sequence, known once the outcome arrives.
    pub sequence: Option<u64>,
    /// The outcome, once known.
    pub outcome: Option<Outcome>,
    /// Who received the escrowed fee: the payout address on a result, the
    /// requester on an error or timeout.
    pub fee_paid_to: Option<Addr>,
    /// Why the callback failed, if it did (the outcome stands anyway).
    pub callback_error: Option<String>,
}

pub const CONFIG: Item<Config> = Item::new("config");
/// The id the next request gets.
pub const NEXT_REQUEST_ID: Item<u64> = Item::new("next_request_id");
/// Channels by our channel id.
pub const CHANNELS: Map<&str, ChannelInfo> = Map::new("channels");
/// Requests by id.
pub const REQUESTS: Map<u64, Request> = Map::new("requests");
/// Index: (requester, id) for `requests_by_requester`.
pub const REQUESTS_BY_REQUESTER: Map<(&Addr, u64), Empty> = Map::new("requests_by_requester");
