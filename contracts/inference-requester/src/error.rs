//! Every way the contract refuses a message. Texts are what a `terrad` user
//! sees in the failed transaction's log, so each names the rule it breaks.

use cosmwasm_std::StdError;
use thiserror::Error;

/// Errors of the requester contract.
#[derive(Error, Debug, PartialEq)]
pub enum ContractError {
    /// A storage or serialization error from cosmwasm-std.
    #[error("{0}")]
    Std(#[from] StdError),

    /// Only the admin may change the configuration.
    #[error("unauthorized: only the admin may do this")]
    Unauthorized,

    /// No coins, or zero of the fee denom, were sent with the request.
    #[error("no funds: send exactly one coin of {denom} greater than zero as the fee")]
    NoFunds { denom: String },

    /// A coin of another denom was sent.
    #[error("wrong denom: only {expected} is accepted, got {got}")]
    WrongDenom { expected: String, got: String },

    /// The named channel was never opened with this contract.
    #[error("channel {0} not found: it was never opened to this contract")]
    ChannelNotFound(String),

    /// The named channel was closed.
    #[error("channel {0} is not open")]
    ChannelNotOpen(String),

    /// The input is over the contract's `max_input_bytes`.
    #[error("input is {size} bytes, more than the limit of {max}")]
    InputTooLarge { size: u64, max: u64 },

    /// The model id breaks `[a-z0-9][a-z0-9._-]{0,63}`.
    #[error("invalid model id: {0}")]
    InvalidModelId(String),

    /// The sealed envelope is malformed (scheme, recipients, key lengths).
    #[error("invalid sealed envelope: {0}")]
    InvalidSealedEnvelope(String),

    /// Any other rule of the packet (encoding, params, output key).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The encoded packet is over the protocol's packet limit.
    #[error("packet is {size} bytes, more than the limit of {max}")]
    PacketTooLarge { size: u64, max: u64 },

    /// `timeout_seconds` is zero or too long.
    #[error("invalid timeout: {seconds} seconds, must be 1..={max}")]
    InvalidTimeout { seconds: u64, max: u64 },

    /// `callback: true` from an account that is not a contract.
    #[error("callback requested but the sender {0} is not a contract")]
    CallbackNotContract(String),

    /// A configuration value is out of range.
    #[error("invalid config: {0}")]
    InvalidConfig(String),

    /// The channel handshake proposed another version.
    #[error("invalid channel version: expected {expected:?}, got {got:?}")]
    InvalidChannelVersion { expected: String, got: String },

    /// The channel handshake proposed an ORDERED channel.
    #[error("invalid channel ordering: expected UNORDERED, got {0}")]
    InvalidChannelOrder(String),

    /// The counterparty port is not Chimera's `inference` port.
    #[error("invalid counterparty port: expected {expected:?}, got {got:?}")]
    InvalidCounterpartyPort { expected: String, got: String },

    /// Closing a channel from this side is refused (as the host refuses it):
    /// anyone can send `MsgChannelCloseInit`, and a closed channel stops all
    /// requests.
    #[error("closing channel {0} from this side is not allowed")]
    ChannelCloseRefused(String),

    /// The fee is below the model's price (`config.prices`).
    #[error("fee too low: model {model} costs at least {price}uluna, got {got}uluna")]
    FeeTooLow { model: String, price: u128, got: u128 },

    /// The fee split's shares do not add up to one whole.
    #[error(
        "invalid fee split: executor_bps {executor_bps} + burn_bps {burn_bps} + community_bps {community_bps} = {sum}, must be 10000"
    )]
    FeeSplitNotWhole {
        executor_bps: u32,
        burn_bps: u32,
        community_bps: u32,
        sum: u64,
    },

    /// Another rule of the fee split or the prices is broken.
    #[error("invalid fee split: {0}")]
    InvalidFeeSplit(String),

    /// A price entry is malformed (model id, duplicate).
    #[error("invalid prices: {0}")]
    InvalidPrices(String),

    /// No request with this id.
    #[error("request {0} not found")]
    RequestNotFound(u64),
}
