//! Stable error codes and validation errors (`docs/protocol.md` §7).
//!
//! An error acknowledgement feeds the ack commitment, so its text must be
//! byte-identical on every validator: codes are stable numbers, and texts
//! hold only values taken from the packet or the code, never addresses of
//! memory, timestamps or map iteration order.

use std::fmt;

use crate::limits::MAX_ERROR_TEXT_LEN;

/// Stable numeric codes of error acknowledgements. Numbers are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum ErrorCode {
    /// The packet bytes are not valid `InferencePacketData` JSON.
    InvalidPacket = 1,
    /// A field is out of range, malformed or too long.
    InvalidField = 2,
    /// The encoded packet exceeds the packet size limit.
    PacketTooLarge = 3,
    /// The input exceeds the inline or blob size limit.
    InputTooLarge = 4,
    /// The model id is not in the host's registry.
    UnknownModel = 5,
    /// The input does not match its declared encoding.
    InvalidEncoding = 6,
    /// The sealed envelope is malformed or names no known executor.
    InvalidSealedEnvelope = 7,
    /// The fee is missing, too small or in a denom the host does not accept.
    InsufficientFee = 8,
    /// The referenced input blob is not available on the host.
    BlobNotFound = 9,
    /// The host's job queue is full; retry later.
    QueueFull = 10,
    /// The model failed to run on the input.
    ExecutionFailed = 11,
    /// Validators did not reach a quorum on one result before the deadline.
    NoQuorum = 12,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidPacket,
        ErrorCode::InvalidField,
        ErrorCode::PacketTooLarge,
        ErrorCode::InputTooLarge,
        ErrorCode::UnknownModel,
        ErrorCode::InvalidEncoding,
        ErrorCode::InvalidSealedEnvelope,
        ErrorCode::InsufficientFee,
        ErrorCode::BlobNotFound,
        ErrorCode::QueueFull,
        ErrorCode::ExecutionFailed,
        ErrorCode::NoQuorum,
    ];

    /// The stable number.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The stable snake_case name written in error texts.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidPacket => "invalid_packet",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::PacketTooLarge => "packet_too_large",
            ErrorCode::InputTooLarge => "input_too_large",
            ErrorCode::UnknownModel => "unknown_model",
            ErrorCode::InvalidEncoding => "invalid_encoding",
            ErrorCode::InvalidSealedEnvelope => "invalid_sealed_envelope",
            ErrorCode::InsufficientFee => "insufficient_fee",
            ErrorCode::BlobNotFound => "blob_not_found",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::ExecutionFailed => "execution_failed",
            ErrorCode::NoQuorum => "no_quorum",
        }
    }

    /// The code with this number, if any.
    pub fn from_code(code: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

/// Why a request was refused before it ran; each names the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The bytes do not decode.
    #[error("cannot decode packet: {0}")]
    Decode(String),
    /// The encoded packet is over the limit.
    #[error("packet is {size} bytes, more than the limit of {max}")]
    PacketTooLarge { size: usize, max: usize },
    /// A field breaks its rule.
    #[error("field {field}: {reason}")]
    Field { field: String, reason: String },
    /// The input is over its limit.
    #[error("field {field}: input is {size} bytes, more than the limit of {max}")]
    InputTooLarge { field: String, size: u64, max: u64 },
    /// The input does not match its declared encoding.
    #[error("field {field}: {reason}")]
    Encoding { field: String, reason: String },
    /// The sealed envelope is malformed.
    #[error("field sealed: {0}")]
    Sealed(#[from] crate::sealed::SealError),
}

impl ValidationError {
    /// The acknowledgement error code for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::Decode(_) => ErrorCode::InvalidPacket,
            ValidationError::PacketTooLarge { .. } => ErrorCode::PacketTooLarge,
            ValidationError::Field { .. } => ErrorCode::InvalidField,
            ValidationError::InputTooLarge { .. } => ErrorCode::InputTooLarge,
            ValidationError::Encoding { .. } => ErrorCode::InvalidEncoding,
            ValidationError::Sealed(_) => ErrorCode::InvalidSealedEnvelope,
        }
    }

    pub(crate) fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError::Field {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn encoding(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError::Encoding {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The error carried by an error acknowledgement: a stable code and a
/// deterministic detail. Its text form is
/// `chimera: code <n> (<name>): <detail>` (§7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, deterministic for the same request and state.
    pub detail: String,
}

const ERROR_PREFIX: &str = "chimera: code ";

impl AckError {
    /// An error with `detail`, cut to fit `MAX_ERROR_TEXT_LEN` once rendered.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        let mut detail = detail.into();
        let overhead = ERROR_PREFIX.len() + 16 + code.name().len();
        let budget = MAX_ERROR_TEXT_LEN.saturating_sub(overhead);
        if detail.len() > budget {
            let mut cut = budget;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
        }
        AckError { code, detail }
    }

    /// The error text written into `{"error": ...}`.
    pub fn to_text(&self) -> String {
        format!("{ERROR_PREFIX}{}: {}", self.code, self.detail)
    }

    /// Parses an error text written by `to_text`. Texts from other
    /// applications (e.g. ibc-go's `ABCI code: ...`) give `None`.
    pub fn parse(text: &str) -> Option<AckError> {
        let rest = text.strip_prefix(ERROR_PREFIX)?;
        let (number, rest) = rest.split_once(" (")?;
        let (name, detail) = rest.split_once("): ")?;
        let code = ErrorCode::from_code(number.parse().ok()?)?;
        (code.name() == name).then(|| AckError {
            code,
            detail: detail.to_string(),
        })
    }
}

impl From<&ValidationError> for AckError {
    fn from(e: &ValidationError) -> Self {
        AckError::new(e.code(), e.to_string())
    }
}

impl fmt::Display for AckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl std::error::Error for AckError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_round_trip() {
        for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
            assert_eq!(code.code(), i as u32 + 1);
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            let e = AckError::new(code, "detail: with colon");
            assert_eq!(AckError::parse(&e.to_text()), Some(e));
        }
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(
            AckError::parse("ABCI code: 5: error handling packet: see events for details"),
            None
        );
        assert_eq!(AckError::parse("chimera: code 5 (no_quorum): x"), None);
    }

    #[test]
    fn long_details_are_cut_on_a_char_boundary() {
        let e = AckError::new(ErrorCode::InvalidField, "é".repeat(1000));
        assert!(e.to_text().len() <= MAX_ERROR_TEXT_LEN);
        assert_eq!(AckError::parse(&e.to_text()), Some(e));
    }
}
