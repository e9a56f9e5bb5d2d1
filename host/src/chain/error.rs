//! Transaction errors, with the Cosmos SDK's codespace and codes so that
//! wallets and relayers (Hermes retries on code 32, "account sequence
//! mismatch") read them as they read any SDK chain's.

/// The codespace of every error below, as the SDK's `sdkerrors`.
pub const CODESPACE: &str = "sdk";

/// Why a transaction was refused (CheckTx) or failed (FinalizeBlock).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("tx parse error: {0}")]
    Decode(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("insufficient funds: {0}")]
    InsufficientFunds(String),
    #[error("unknown request: {0}")]
    UnknownRequest(String),
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    #[error("invalid pubkey: {0}")]
    InvalidPubKey(String),
    #[error("unknown address: {0}")]
    UnknownAddress(String),
    #[error("invalid coins: {0}")]
    InvalidCoins(String),
    #[error("out of gas: {0}")]
    OutOfGas(String),
    #[error("insufficient fee: {0}")]
    InsufficientFee(String),
    #[error("no signatures supplied")]
    NoSignatures,
    #[error("wrong number of signers: {0}")]
    TooManySignatures(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("tx too large: {0}")]
    TxTooLarge(String),
    #[error("invalid chain-id: {0}")]
    InvalidChainId(String),
    #[error("account sequence mismatch, expected {expected}, got {got}: incorrect account sequence")]
    WrongSequence { expected: u64, got: u64 },
    #[error("invalid gas limit: {0}")]
    InvalidGasLimit(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl TxError {
    /// The SDK's ABCI code for this error (types/errors/errors.go).
    pub fn code(&self) -> u32 {
        match self {
            TxError::Decode(_) => 2,
            TxError::Unauthorized(_) => 4,
            TxError::InsufficientFunds(_) => 5,
            TxError::UnknownRequest(_) => 6,
            TxError::InvalidAddress(_) => 7,
            TxError::InvalidPubKey(_) => 8,
            TxError::UnknownAddress(_) => 9,
            TxError::InvalidCoins(_) => 10,
            TxError::OutOfGas(_) => 11,
            TxError::InsufficientFee(_) => 13,
            TxError::NoSignatures => 15,
            TxError::TooManySignatures(_) => 16,
            TxError::InvalidRequest(_) => 18,
            TxError::TxTooLarge(_) => 21,
            TxError::InvalidChainId(_) => 28,
            TxError::WrongSequence { .. } => 32,
            TxError::InvalidGasLimit(_) => 41,
            TxError::Internal(_) => 1,
        }
    }
}

impl From<crate::state::StateError> for TxError {
    fn from(e: crate::state::StateError) -> Self {
        TxError::Internal(e.to_string())
    }
}
