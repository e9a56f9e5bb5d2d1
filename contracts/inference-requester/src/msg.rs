//! The contract's JSON interface (documented with examples in
//! `docs/users.md`, "The requester contract on Terra Classic").

use chimera_packets::{DType, InputEncoding, Params, SealedEnvelope};
use cosmwasm_std::Binary;
use serde::{Deserialize, Serialize};

use crate::state::{ChannelInfo, Outcome, Price, Request};

/// `instantiate`: every field is optional.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct InstantiateMsg {
    /// Default: the instantiating account.
    pub admin: Option<String>,
    /// Default: the admin.
    pub payout_address: Option<String>,
    /// Default and maximum: 65536 (the protocol's inline input limit).
    pub max_input_bytes: Option<u64>,
    /// Default: 600.
    pub default_timeout_seconds: Option<u64>,
    /// Default: 300000.
    pub callback_gas_limit: Option<u64>,
    /// Default: none (a result's whole fee goes to `payout_address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_split: Option<FeeSplitMsg>,
    /// Default: none (any fee above zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<Price>>,
}

/// A fee split as set by `instantiate` or `update_config` (answered by
/// `config` as [`crate::state::FeeSplit`], numbered).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeeSplitMsg {
    /// Terra's end of an ICS-20 channel to the host, `channel-N`.
    pub transfer_channel: String,
    /// The host's `fees/pool` account, bech32 (`chimera1...`): only its
    /// bech32 form is checked, it is not a Terra address.
    pub host_pool: String,
    /// A Terra address: Terra Classic's burn module account
    /// `terra1sk06e3dyexuq4shw77y3dsv480xv42mq73anxu` burns what it holds.
    pub burn_address: String,
    /// A Terra address.
    pub community_address: String,
    /// The three shares in basis points; they add up to 10000.
    pub executor_bps: u32,
    pub burn_bps: u32,
    pub community_bps: u32,
}

/// `Some(x)` for a present field, `null` included (then `Some(None)`);
/// with `#[serde(default)]` an absent field stays `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `execute`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExecuteMsg {
    /// Escrows the attached `uluna` fee and sends one `inference` packet.
    RequestInference {
        /// Our channel to the host, e.g. `channel-0` (query `channels`).
        channel: String,
        /// Registry id of the model, e.g. `digits-ddpm`.
        model: String,
        /// The input bytes (base64 in JSON); ciphertext when `sealed` is set.
        input: Binary,
        /// `"text"`, `"json"` or `{"tensor":{"dtype":"f32","shape":[1,64]}}`.
        encoding: Encoding,
        /// `{"seed":"42","extra":{"steps":"20"}}` as in the packet (§3.4).
        params: Params,
        /// The sealed envelope (`docs/protocol.md` §6) the user made
        /// client-side with `chimera_packets::sealed::seal`; `input` is then
        /// the ciphertext. The contract checks its shape, never decrypts.
        #[serde(default)]
        sealed: Option<SealedEnvelope>,
        /// With `sealed` only: 64 hex digits of the X25519 key the output is
        /// sealed to.
        #[serde(default)]
        output_key: Option<String>,
        /// Packet timeout from now; default `default_timeout_seconds`.
        #[serde(default)]
        timeout_seconds: Option<u64>,
        /// Call the sender (a contract) back with the outcome.
        #[serde(default)]
        callback: bool,
    },
    /// Admin only: changes the given settings.
    UpdateConfig {
        #[serde(default)]
        admin: Option<String>,
        #[serde(default)]
        payout_address: Option<String>,
        #[serde(default)]
        max_input_bytes: Option<u64>,
        #[serde(default)]
        default_timeout_seconds: Option<u64>,
        #[serde(default)]
        callback_gas_limit: Option<u64>,
        /// A new split; `null` removes it (all to `payout_address` again).
        #[serde(
            default,
            deserialize_with = "present",
            skip_serializing_if = "Option::is_none"
        )]
        fee_split: Option<Option<FeeSplitMsg>>,
        /// The new price list, replacing the old; `[]` removes every price.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prices: Option<Vec<Price>>,
    },
}

/// How the host reads the input. The packet's form is
/// `{"kind":"text"}`; the contract's is the CosmWasm-style enum.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Encoding {
    /// UTF-8 text.
    Text,
    /// A JSON document.
    Json,
    /// Little-endian elements; `dtype` one of `bool u8 i8 i16 i32 i64 f16
    /// bf16 f32 f64`, rank 1..=8.
    Tensor { dtype: DType, shape: Vec<u32> },
}

impl From<Encoding> for InputEncoding {
    fn from(e: Encoding) -> Self {
        match e {
            Encoding::Text => InputEncoding::Text,
            Encoding::Json => InputEncoding::Json,
            Encoding::Tensor { dtype, shape } => InputEncoding::Tensor { dtype, shape },
        }
    }
}

/// `query`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum QueryMsg {
    /// One request: answers [`Request`].
    Request { id: u64 },
    /// A requester's requests, newest first: answers [`RequestsResponse`].
    /// `start_after` is an id from the previous page (exclusive); `limit`
    /// defaults to 10, at most 30.
    RequestsByRequester {
        requester: String,
        #[serde(default)]
        start_after: Option<u64>,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Answers [`crate::state::Config`].
    Config {},
    /// Every channel ever opened, open or closed: answers [`ChannelsResponse`].
    Channels {},
}

/// Answer to `requests_by_requester`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RequestsResponse {
    pub requests: Vec<Request>,
}

/// Answer to `channels`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChannelsResponse {
    pub channels: Vec<ChannelInfo>,
}

/// The `data` of a `request_inference` response, for calling contracts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RequestInferenceResponse {
    pub request_id: u64,
}

/// What a requester contract that asked for `callback: true` receives:
/// `{"inference_callback":{"request_id":1,"outcome":{...}}}`. Implement it
/// in your contract's `ExecuteMsg`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallbackMsg {
    InferenceCallback { request_id: u64, outcome: Outcome },
}
