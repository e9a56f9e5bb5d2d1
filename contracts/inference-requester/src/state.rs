//! What the contract stores. `Config` and `ChannelInfo` are stored as they
//! are answered; a request is stored compactly as a [`Record`] (one-letter
//! keys, nothing that can be derived, absent rather than `null`) and
//! answered as a [`Request`].
//!
//! Why compact: every stored byte costs 30 gas to write (and 3 to read) on
//! Terra, keys included, and each request is written twice (request,
//! outcome); `docs/benchmarks.md`, "The Terra Classic requester contract".

use chimera_packets::ErrorCode;
use cosmwasm_std::{Addr, Binary, Coin, Empty, Timestamp, Uint128, Uint64};
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
    /// How a result's fee is divided (`docs/tokenomics.md`, "The contract
    /// route"); absent: all of it goes to `payout_address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_split: Option<FeeSplit>,
    /// The least fee per model, in `uluna`; model `*` prices every model
    /// without its own entry. Empty: any fee above zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prices: Vec<Price>,
}

/// The division of a result's fee: the burn and community parts are sent on
/// Terra, the executor part goes over ICS-20 to the host's fees pool, which
/// shares it among the job's agreeing executors (`fees::settle::pay_remote`
/// on the host).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FeeSplit {
    /// The number of this split, from 1: a new one on every change, so that
    /// a request's record names the split it was settled with (1 byte
    /// instead of its addresses).
    pub id: u32,
    /// Terra's end of an ICS-20 (`transfer`) channel to the host.
    pub transfer_channel: String,
    /// The host's `fees/pool` module account (`chimera1...`).
    pub host_pool: String,
    /// Receives the burn part (Terra Classic's burn module account, whose
    /// balance x/treasury burns every block).
    pub burn_address: Addr,
    /// Receives the community part.
    pub community_address: Addr,
    pub executor_bps: u32,
    pub burn_bps: u32,
    pub community_bps: u32,
}

/// Basis points in one whole.
pub const BPS: u32 = 10_000;

/// `amount × bps / 10000`, rounded down, without overflow (as the host's
/// `fees::split`).
fn part(amount: u128, bps: u32) -> u128 {
    let (bps, whole) = (bps as u128, BPS as u128);
    (amount / whole) * bps + (amount % whole) * bps / whole
}

impl FeeSplit {
    /// One fee, divided: (executor, burn, community). The executor and
    /// burn parts are rounded down; the community part is the rest, so the
    /// parts always add up to `amount`.
    pub fn parts(&self, amount: u128) -> (u128, u128, u128) {
        let executor = part(amount, self.executor_bps);
        let burn = part(amount, self.burn_bps);
        (executor, burn, amount - executor - burn)
    }

    /// Where each part of `fee` went, as answered in a [`Request`].
    pub fn paid(&self, fee: u128) -> SplitPaid {
        let (executor, burn, community) = self.parts(fee);
        SplitPaid {
            split_id: self.id,
            executor: Uint128::new(executor),
            host_pool: self.host_pool.clone(),
            transfer_channel: self.transfer_channel.clone(),
            burn: Uint128::new(burn),
            burn_address: self.burn_address.clone(),
            community: Uint128::new(community),
            community_address: self.community_address.clone(),
        }
    }
}

/// The least fee of a model.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Price {
    /// A model id, or `*` for every model without its own entry.
    pub model: String,
    /// In `uluna`.
    pub amount: Uint128,
}

/// How a succeeded request's fee was divided (a part of zero was not sent).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SplitPaid {
    /// The [`FeeSplit::id`] it was settled with.
    pub split_id: u32,
    /// Sent over ICS-20 to `host_pool` on `transfer_channel`.
    pub executor: Uint128,
    pub host_pool: String,
    pub transfer_channel: String,
    /// Sent to `burn_address`.
    pub burn: Uint128,
    pub burn_address: Addr,
    /// Sent to `community_address` (Terra Classic's tax on a contract's
    /// bank send is taken out of what arrives).
    pub community: Uint128,
    pub community_address: Addr,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    /// The code's name, e.g. `unknown_model`; absent with `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The packet sequence, known once the outcome arrives (absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// The outcome, once known (absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Who received the escrowed fee: the payout address on a result, the
    /// requester on an error or timeout (absent while pending, and when the
    /// fee was split).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_paid_to: Option<Addr>,
    /// Where the parts of a result's fee went, when the contract splits
    /// fees (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_split: Option<SplitPaid>,
    /// Why the callback failed, if it did (the outcome stands anyway;
    /// absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_error: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One request as stored under its id: a [`Request`] less what can be
/// derived (the id is the key; the fee's denom is always `uluna`; the status
/// follows from the outcome; `fee_paid_to` is kept only when it is not the
/// requester; a split fee is kept as the number of its [`FeeSplit`], whose
/// parts follow from the fee), with one-letter keys, numbers as JSON numbers, the two
/// SHA-256s as 32 bytes (base64) and nothing written while absent.
/// [`Record::to_request`] gives back the [`Request`] in full.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Record {
    #[serde(rename = "r")]
    pub requester: Addr,
    #[serde(rename = "c")]
    pub channel_id: String,
    #[serde(rename = "m")]
    pub model: String,
    /// The escrowed fee in `uluna`.
    #[serde(rename = "f")]
    pub fee: Uint128,
    #[serde(rename = "h")]
    pub created_height: u64,
    /// The packet timeout in Unix nanoseconds.
    #[serde(rename = "t")]
    pub timeout: u64,
    #[serde(rename = "b", default, skip_serializing_if = "is_false")]
    pub callback: bool,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// `None` while pending.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<StoredOutcome>,
    /// Who received the fee, when not the requester (a result's payout
    /// address, unless that is the requester).
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub fee_paid_to: Option<Addr>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub callback_error: Option<String>,
    /// The [`FeeSplit::id`] a result's fee was divided with (then
    /// `fee_paid_to` is absent); the split is in [`FEE_SPLITS`].
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub split: Option<u32>,
}

/// An [`Outcome`] as stored in a [`Record`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum StoredOutcome {
    /// A [`ResultRecord`]; the hashes as bytes.
    #[serde(rename = "r")]
    Result {
        #[serde(rename = "j")]
        job_id: u64,
        #[serde(rename = "o")]
        output_sha256: Binary,
        #[serde(rename = "z")]
        output_size: u64,
        #[serde(rename = "n")]
        output_encoding: String,
        #[serde(rename = "k")]
        model_hash: Binary,
        #[serde(rename = "h")]
        height: u64,
        #[serde(rename = "a")]
        agreeing_power: u64,
        #[serde(rename = "w")]
        total_power: u64,
    },
    /// An [`ErrorRecord`]; its name follows from its code.
    #[serde(rename = "e")]
    Error {
        #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
        code: Option<u32>,
        #[serde(rename = "t")]
        text: String,
    },
    #[serde(rename = "t")]
    Timeout {},
}

impl StoredOutcome {
    /// The outcome as answered and as sent to callbacks.
    pub fn to_outcome(&self) -> Outcome {
        match self {
            StoredOutcome::Result {
                job_id,
                output_sha256,
                output_size,
                output_encoding,
                model_hash,
                height,
                agreeing_power,
                total_power,
            } => Outcome::Result(ResultRecord {
                job_id: Uint64::new(*job_id),
                output_sha256: hex::encode(output_sha256),
                output_size: Uint64::new(*output_size),
                output_encoding: output_encoding.clone(),
                model_hash: hex::encode(model_hash),
                quorum: QuorumRecord {
                    height: Uint64::new(*height),
                    agreeing_power: Uint64::new(*agreeing_power),
                    total_power: Uint64::new(*total_power),
                },
            }),
            StoredOutcome::Error { code, text } => Outcome::Error(ErrorRecord {
                code: *code,
                name: code.and_then(ErrorCode::from_code).map(|c| c.name().to_string()),
                text: text.clone(),
            }),
            StoredOutcome::Timeout {} => Outcome::Timeout {},
        }
    }

    /// The status a request with this outcome has.
    pub fn status(&self) -> RequestStatus {
        match self {
            StoredOutcome::Result { .. } => RequestStatus::Succeeded,
            StoredOutcome::Error { .. } => RequestStatus::Failed,
            StoredOutcome::Timeout {} => RequestStatus::TimedOut,
        }
    }
}

impl Record {
    /// Where the request stands.
    pub fn status(&self) -> RequestStatus {
        self.outcome
            .as_ref()
            .map_or(RequestStatus::Pending, StoredOutcome::status)
    }

    /// The request `id` as the queries answer it; `split` is the
    /// [`FeeSplit`] numbered [`Record::split`] (from [`FEE_SPLITS`]).
    pub fn to_request(&self, id: u64, denom: &str, split: Option<&FeeSplit>) -> Request {
        Request {
            id,
            requester: self.requester.clone(),
            channel_id: self.channel_id.clone(),
            model: self.model.clone(),
            fee: Coin {
                denom: denom.to_string(),
                amount: self.fee,
            },
            created_height: self.created_height,
            timeout: Timestamp::from_nanos(self.timeout),
            callback: self.callback,
            status: self.status(),
            sequence: self.sequence,
            outcome: self.outcome.as_ref().map(StoredOutcome::to_outcome),
            fee_paid_to: self
                .outcome
                .as_ref()
                .filter(|_| self.split.is_none())
                .map(|_| self.fee_paid_to.clone().unwrap_or_else(|| self.requester.clone())),
            fee_split: split.map(|s| s.paid(self.fee.u128())),
            callback_error: self.callback_error.clone(),
        }
    }
}

// Keys: the ones written on every request are one letter (each key byte
// costs 30 gas per write); the ones only read there keep their names.
pub const CONFIG: Item<Config> = Item::new("config");
/// Every fee split the config has had, by id (written only when the config
/// changes; read to answer a request settled with it).
pub const FEE_SPLITS: Map<u32, FeeSplit> = Map::new("splits");
/// Channels by our channel id.
pub const CHANNELS: Map<&str, ChannelInfo> = Map::new("channels");
/// The id the next request gets.
pub const NEXT_REQUEST_ID: Item<u64> = Item::new("n");
/// Requests by id.
pub const REQUESTS: Map<u64, Record> = Map::new("r");
/// Index for `requests_by_requester`: (the requester's canonical address,
/// 20 or 32 bytes rather than its 44- or 64-character bech32, id).
pub const REQUESTS_BY_REQUESTER: Map<(&[u8], u64), Empty> = Map::new("q");
