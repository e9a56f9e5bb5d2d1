//! `InferencePacketData`: the packet of the `inference` IBC application
//! (`docs/protocol.md` §3).
//!
//! One request for one model run. The same value arrives by packet (port
//! `inference`) or inside `MsgRunInference` (local accounts and ICS-27
//! interchain accounts); both routes validate it here, once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::encoding::{self, b64, hex32, u64_str};
use crate::error::ValidationError;
use crate::limits::*;
use crate::sealed::SealedEnvelope;

/// The port the application binds on every chain that runs it (§3.1).
pub const PORT_ID: &str = "inference";
/// The only channel version the application negotiates (§3.1).
pub const CHANNEL_VERSION: &str = "chimera-inference-1";

/// One inference request (§3.2). JSON in canonical form on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferencePacketData {
    /// Registry id of the model, e.g. `digits-ddpm`.
    pub model: String,
    /// The payload: inline, or a blob the host holds. Ciphertext when
    /// `sealed` is present.
    pub input: Input,
    /// How the executor reads the (decrypted) payload.
    pub encoding: InputEncoding,
    /// Seed and model-specific sampling parameters.
    pub params: Params,
    /// Address of the requester on the sending chain (refunds go here).
    pub requester: String,
    /// Who the result is for, when not the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Free text for the requester's own bookkeeping.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub memo: String,
    /// Present when the input is encrypted to chosen executors (§6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedEnvelope>,
    /// With `sealed` only: the requester's X25519 key the output is sealed
    /// to, so the stored and served output is ciphertext too (§6.1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::encoding::hex32_opt"
    )]
    pub output_key: Option<[u8; 32]>,
}

/// Where the payload is (§3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    /// Bytes carried in the packet, base64 in JSON.
    Inline(#[serde(with = "b64")] Vec<u8>),
    /// Bytes stored in the host's blob store.
    Blob(BlobRef),
}

/// Content-addressed bytes: SHA-256 and exact size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    /// SHA-256 of the bytes, lowercase hex in JSON.
    #[serde(with = "hex32")]
    pub sha256: [u8; 32],
    /// Exact length in bytes, a decimal string in JSON.
    #[serde(with = "u64_str")]
    pub size: u64,
}

/// How the executor reads the payload (§3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum InputEncoding {
    /// UTF-8 text, e.g. a prompt.
    Text,
    /// A UTF-8 JSON document.
    Json,
    /// A little-endian tensor.
    Tensor {
        /// Element type.
        dtype: DType,
        /// Dimensions, outermost first.
        shape: Vec<u32>,
    },
}

/// Tensor element types; names follow torch's short names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DType {
    Bool,
    U8,
    I8,
    I16,
    I32,
    I64,
    F16,
    Bf16,
    F32,
    F64,
}

impl DType {
    /// Every dtype, in wire-name order of `docs/protocol.md` §3.3.
    pub const ALL: [DType; 10] = [
        DType::Bool,
        DType::U8,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::Bf16,
        DType::F32,
        DType::F64,
    ];

    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::I16 | DType::F16 | DType::Bf16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// The name used on the wire and in protobuf `TensorSpec.dtype`.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// The dtype with this wire name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// Sampling parameters (§3.4): a seed, and string-valued model keys so that
/// no float enters consensus state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Seed of the executor's portable RNG; same seed, same output.
    #[serde(with = "u64_str")]
    pub seed: u64,
    /// Model-specific keys (e.g. `steps`, `temperature`), sorted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl InferencePacketData {
    /// The canonical packet bytes (§2): what the sender commits to.
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::to_canonical_vec(self).expect("packet data always serializes")
    }

    /// Decodes packet bytes, refusing oversized ones before parsing. Never
    /// panics; does not run `validate`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ValidationError> {
        if bytes.len() > MAX_PACKET_BYTES {
            return Err(ValidationError::PacketTooLarge {
                size: bytes.len(),
                max: MAX_PACKET_BYTES,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| ValidationError::Decode(e.to_string()))
    }

    /// Decodes and validates: what `on_recv_packet` calls.
    pub fn decode_and_validate(bytes: &[u8], limits: &Limits) -> Result<Self, ValidationError> {
        let data = Self::from_bytes(bytes)?;
        data.validate(limits)?;
        Ok(data)
    }

    /// Checks every rule of §3 and §10 that needs no chain state (whether the
    /// model is registered is the host's check).
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        validate_model_id(&self.model)?;
        validate_address("requester", &self.requester)?;
        if let Some(r) = &self.receiver {
            validate_address("receiver", r)?;
        }
        if self.memo.len() > MAX_MEMO_LEN {
            return Err(too_long("memo", self.memo.len(), MAX_MEMO_LEN));
        }
        self.params.validate()?;
        let payload_len = match &self.input {
            Input::Inline(bytes) => {
                if bytes.is_empty() {
                    return Err(ValidationError::field("input.inline", "is empty"));
                }
                if bytes.len() > limits.max_inline_input {
                    return Err(ValidationError::InputTooLarge {
                        field: "input.inline".into(),
                        size: bytes.len() as u64,
                        max: limits.max_inline_input as u64,
                    });
                }
                bytes.len() as u64
            }
            Input::Blob(blob) => {
                if blob.size == 0 {
                    return Err(ValidationError::field("input.blob.size", "is zero"));
                }
                if blob.size > limits.max_blob_input {
                    return Err(ValidationError::InputTooLarge {
                        field: "input.blob.size".into(),
                        size: blob.size,
                        max: limits.max_blob_input,
                    });
                }
                blob.size
            }
        };
        if self.output_key.is_some() && self.sealed.is_none() {
            return Err(ValidationError::field(
                "output_key",
                "is only allowed with a sealed input",
            ));
        }
        if self.output_key == Some([0; 32]) {
            return Err(ValidationError::field("output_key", "is all zeros"));
        }
        let plaintext_len = match &self.sealed {
            Some(envelope) => {
                envelope.validate()?;
                // The payload is ciphertext: plaintext plus a 16-byte tag.
                payload_len.checked_sub(16).ok_or_else(|| {
                    ValidationError::encoding("input", "sealed input is shorter than its 16-byte tag")
                })?
            }
            None => payload_len,
        };
        self.encoding.validate(plaintext_len)?;
        // Text and JSON carried in the clear can be checked now; sealed or
        // blob inputs are checked by the executor, which reads them.
        if let (Input::Inline(bytes), None) = (&self.input, &self.sealed) {
            self.encoding.check_payload(bytes)?;
        }
        Ok(())
    }
}

impl InputEncoding {
    /// Checks the encoding's own fields and that a tensor's byte length is
    /// `plaintext_len`.
    pub fn validate(&self, plaintext_len: u64) -> Result<(), ValidationError> {
        if let InputEncoding::Tensor { dtype, shape } = self {
            if shape.is_empty() || shape.len() > MAX_TENSOR_RANK {
                return Err(ValidationError::field(
                    "encoding.shape",
                    format!("rank must be 1..={MAX_TENSOR_RANK}, got {}", shape.len()),
                ));
            }
            let mut elements: u64 = 1;
            for (i, &d) in shape.iter().enumerate() {
                if d == 0 {
                    return Err(ValidationError::field(format!("encoding.shape[{i}]"), "is zero"));
                }
                elements = elements.saturating_mul(d as u64);
            }
            let expected = elements.saturating_mul(dtype.size());
            if expected != plaintext_len {
                return Err(ValidationError::encoding(
                    "input",
                    format!(
                        "tensor {} {:?} needs {expected} bytes, input has {plaintext_len}",
                        dtype.name(),
                        shape
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks plaintext bytes against the encoding (UTF-8 text, JSON).
    pub fn check_payload(&self, bytes: &[u8]) -> Result<(), ValidationError> {
        match self {
            InputEncoding::Text => std::str::from_utf8(bytes)
                .map(|_| ())
                .map_err(|e| ValidationError::encoding("input", format!("text is not UTF-8: {e}"))),
            InputEncoding::Json => serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
                .map(|_| ())
                .map_err(|e| ValidationError::encoding("input", format!("not JSON: {e}"))),
            InputEncoding::Tensor { .. } => Ok(()),
        }
    }
}

impl Params {
    /// Checks parameter count and key/value lengths.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.extra.len() > MAX_PARAMS {
            return Err(ValidationError::field(
                "params.extra",
                format!("has {} keys, more than {MAX_PARAMS}", self.extra.len()),
            ));
        }
        for (k, v) in &self.extra {
            let key_ok = !k.is_empty()
                && k.len() <= MAX_PARAM_KEY_LEN
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                return Err(ValidationError::field(
                    "params.extra",
                    format!("key {k:?} must be 1..={MAX_PARAM_KEY_LEN} of [a-z0-9_]"),
                ));
            }
            if v.len() > MAX_PARAM_VALUE_LEN {
                return Err(too_long(
                    &format!("params.extra.{k}"),
                    v.len(),
                    MAX_PARAM_VALUE_LEN,
                ));
            }
        }
        Ok(())
    }
}

/// Model ids: 1..=64 of `[a-z0-9._-]`, starting with a letter or digit.
pub fn validate_model_id(id: &str) -> Result<(), ValidationError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_MODEL_ID_LEN
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::field(
            "model",
            format!("{id:?} must be 1..={MAX_MODEL_ID_LEN} of [a-z0-9._-], starting with [a-z0-9]"),
        ))
    }
}

/// Addresses of any chain: 1..=128 ASCII letters and digits (bech32 and hex
/// both fit). The sending chain owns the real check; this bounds the field.
pub fn validate_address(field: &str, addr: &str) -> Result<(), ValidationError> {
    if addr.is_empty() || addr.len() > MAX_ADDRESS_LEN || !addr.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ValidationError::field(
            field,
            format!("must be 1..={MAX_ADDRESS_LEN} ASCII letters and digits"),
        ));
    }
    Ok(())
}

fn too_long(field: &str, len: usize, max: usize) -> ValidationError {
    ValidationError::field(field, format!("is {len} bytes, more than {max}"))
}
