//! Acknowledgements of the `inference` application (`docs/protocol.md` §4).
//!
//! ICS-04 style so that generic Go code (ibc-go's `channeltypes.Acknowledgement`
//! JSON) parses them: `{"result":"<base64>"}` or `{"error":"<text>"}`. The
//! chain stores `sha256(ack bytes)`, so bytes are canonical JSON.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};

use crate::encoding::{self, hex32, u64_str};
use crate::error::{AckError, ErrorCode};

/// What the host answers for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acknowledgement {
    /// The validators agreed on a result (asynchronous ack, §4.2).
    Result(InferenceResult),
    /// The request was refused or failed (§4.1, §7).
    Error(AckError),
}

/// The result a quorum agreed on (§4.2). Base64 of its canonical JSON is the
/// ack's `result`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceResult {
    /// Host job id; the key for queries and the BlobService.
    #[serde(with = "u64_str")]
    pub job_id: u64,
    /// SHA-256 of the TorchScript file that ran.
    #[serde(with = "hex32")]
    pub model_hash: [u8; 32],
    /// The output the requester fetches and checks.
    pub output: OutputCommitment,
    /// The voting power that agreed.
    pub quorum: Quorum,
}

/// A commitment to the exact output bytes (§4.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputCommitment {
    /// SHA-256 of the canonical output encoding.
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// Its size in bytes.
    #[serde(with = "u64_str")]
    pub size: u64,
    /// How to read it.
    pub encoding: OutputEncoding,
}

/// Output encodings (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputEncoding {
    /// A PNG image.
    Png,
    /// UTF-8 text.
    Text,
    /// Canonical tensor encoding: little-endian, shape-prefixed.
    Tensor,
    /// A UTF-8 JSON document.
    Json,
}

impl OutputEncoding {
    /// The wire name, as in protobuf `OutputCommitment.encoding`.
    pub fn name(self) -> &'static str {
        match self {
            OutputEncoding::Png => "png",
            OutputEncoding::Text => "text",
            OutputEncoding::Tensor => "tensor",
            OutputEncoding::Json => "json",
        }
    }

    /// The encoding with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
    }
}

/// Who agreed, and when (§4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quorum {
    /// Host height whose `FinalizeBlock` tallied the votes.
    #[serde(with = "u64_str")]
    pub height: u64,
    /// Voting power of validators whose results agreed.
    #[serde(with = "u64_str")]
    pub agreeing_power: u64,
    /// Total voting power at that height.
    #[serde(with = "u64_str")]
    pub total_power: u64,
}

impl Quorum {
    /// More than two thirds of the power agreed, as CometBFT counts.
    pub fn is_supermajority(&self) -> bool {
        self.agreeing_power <= self.total_power
            && (self.agreeing_power as u128) * 3 > (self.total_power as u128) * 2
    }
}

/// Why acknowledgement bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AckDecodeError {
    /// Not `{"result": ...}` or `{"error": ...}` JSON.
    #[error("not an ICS-04 acknowledgement: {0}")]
    NotAnAck(String),
    /// `result` is not base64 of an `InferenceResult`.
    #[error("invalid result: {0}")]
    InvalidResult(String),
    /// `error` does not follow `chimera: code <n> (<name>): <detail>`.
    #[error("error acknowledgement from another application: {0:?}")]
    ForeignError(String),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Ics04 {
    Result(String),
    Error(String),
}

impl Acknowledgement {
    /// An error acknowledgement.
    pub fn error(code: ErrorCode, detail: impl Into<String>) -> Self {
        Acknowledgement::Error(AckError::new(code, detail))
    }

    /// True for a result.
    pub fn is_success(&self) -> bool {
        matches!(self, Acknowledgement::Result(_))
    }

    /// The canonical acknowledgement bytes written on the host.
    pub fn to_bytes(&self) -> Vec<u8> {
        let wire = match self {
            Acknowledgement::Result(r) => Ics04::Result(STANDARD.encode(r.to_bytes())),
            Acknowledgement::Error(e) => Ics04::Error(e.to_text()),
        };
        encoding::to_canonical_vec(&wire).expect("ack always serializes")
    }

    /// Reads acknowledgement bytes on the requester side. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AckDecodeError> {
        let wire: Ics04 =
            serde_json::from_slice(bytes).map_err(|e| AckDecodeError::NotAnAck(e.to_string()))?;
        match wire {
            Ics04::Result(b64) => {
                let raw = STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| AckDecodeError::InvalidResult(format!("base64: {e}")))?;
                InferenceResult::from_bytes(&raw).map(Acknowledgement::Result)
            }
            Ics04::Error(text) => AckError::parse(&text)
                .map(Acknowledgement::Error)
                .ok_or(AckDecodeError::ForeignError(text)),
        }
    }
}

impl InferenceResult {
    /// Canonical JSON of the result (the bytes inside the ack's base64).
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::to_canonical_vec(self).expect("result always serializes")
    }

    /// Parses and checks a result.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AckDecodeError> {
        let r: InferenceResult =
            serde_json::from_slice(bytes).map_err(|e| AckDecodeError::InvalidResult(e.to_string()))?;
        if r.quorum.total_power == 0 || r.quorum.agreeing_power > r.quorum.total_power {
            return Err(AckDecodeError::InvalidResult(format!(
                "quorum {}/{} is impossible",
                r.quorum.agreeing_power, r.quorum.total_power
            )));
        }
        Ok(r)
    }

    /// True when `output` is exactly the committed bytes: what a requester
    /// checks after fetching from any node's BlobService.
    pub fn verifies(&self, output: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        output.len() as u64 == self.output.size && Sha256::digest(output).as_slice() == self.output.sha256
    }
}
