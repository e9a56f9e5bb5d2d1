//! Size and length limits of the protocol (`docs/protocol.md` §10).
//!
//! Limits keep every validator's work bounded before a model runs: a packet
//! that breaks one gets an error acknowledgement at once. The host may lower
//! them by parameter, never raise them past what relayers and the packet
//! commitment path can carry.

/// Largest encoded `InferencePacketData` accepted (256 KiB).
pub const MAX_PACKET_BYTES: usize = 256 * 1024;
/// Default largest inline input (64 KiB); bigger inputs go by blob reference.
pub const DEFAULT_MAX_INLINE_INPUT: usize = 64 * 1024;
/// Default largest input referenced by blob (64 MiB).
pub const DEFAULT_MAX_BLOB_INPUT: u64 = 64 * 1024 * 1024;
/// Longest model id.
pub const MAX_MODEL_ID_LEN: usize = 64;
/// Longest requester or receiver address.
pub const MAX_ADDRESS_LEN: usize = 128;
/// Longest memo in bytes.
pub const MAX_MEMO_LEN: usize = 1024;
/// Most model-specific parameters.
pub const MAX_PARAMS: usize = 32;
/// Longest parameter key.
pub const MAX_PARAM_KEY_LEN: usize = 64;
/// Longest parameter value in bytes.
pub const MAX_PARAM_VALUE_LEN: usize = 256;
/// Most tensor dimensions.
pub const MAX_TENSOR_RANK: usize = 8;
/// Longest error text in an error acknowledgement.
pub const MAX_ERROR_TEXT_LEN: usize = 512;

/// The limits one chain applies to incoming requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest inline input in bytes.
    pub max_inline_input: usize,
    /// Largest blob-referenced input in bytes.
    pub max_blob_input: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inline_input: DEFAULT_MAX_INLINE_INPUT,
            max_blob_input: DEFAULT_MAX_BLOB_INPUT,
        }
    }
}
