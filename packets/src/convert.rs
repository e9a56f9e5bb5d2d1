//! Conversions between the JSON wire types and the protobuf messages
//! (`docs/protocol.md` §8), so that a request validates the same way whether
//! it came as a packet or as `MsgRunInference`.

use std::collections::BTreeMap;

use crate::ack::{InferenceResult, OutputCommitment, OutputEncoding, Quorum};
use crate::error::ValidationError;
use crate::packet::{BlobRef, DType, InferencePacketData, Input, InputEncoding, Params};
use crate::proto;
use crate::sealed::{SealedEnvelope, WrappedKey};

fn required<T>(field: &str, v: Option<T>) -> Result<T, ValidationError> {
    v.ok_or_else(|| ValidationError::field(field, "is missing"))
}

fn array<const N: usize>(field: &str, bytes: &[u8]) -> Result<[u8; N], ValidationError> {
    bytes
        .try_into()
        .map_err(|_| ValidationError::field(field, format!("must be {N} bytes, got {}", bytes.len())))
}

impl From<&Input> for proto::Input {
    fn from(i: &Input) -> Self {
        use proto::input::Source;
        let source = match i {
            Input::Inline(b) => Source::Inline(b.clone()),
            Input::Blob(b) => Source::Blob(proto::BlobRef {
                sha256: b.sha256.to_vec(),
                size: b.size,
            }),
        };
        proto::Input { source: Some(source) }
    }
}

impl TryFrom<&proto::Input> for Input {
    type Error = ValidationError;
    fn try_from(i: &proto::Input) -> Result<Self, ValidationError> {
        use proto::input::Source;
        Ok(match required("input", i.source.as_ref())? {
            Source::Inline(b) => Input::Inline(b.clone()),
            Source::Blob(b) => Input::Blob(BlobRef {
                sha256: array("input.blob.sha256", &b.sha256)?,
                size: b.size,
            }),
        })
    }
}

impl From<&InputEncoding> for proto::InputEncoding {
    fn from(e: &InputEncoding) -> Self {
        use proto::input_encoding::Kind;
        let kind = match e {
            InputEncoding::Text => Kind::Text(proto::TextEncoding {}),
            InputEncoding::Json => Kind::Json(proto::JsonEncoding {}),
            InputEncoding::Tensor { dtype, shape } => Kind::Tensor(proto::TensorSpec {
                dtype: dtype.name().to_string(),
                shape: shape.clone(),
            }),
        };
        proto::InputEncoding { kind: Some(kind) }
    }
}

impl TryFrom<&proto::InputEncoding> for InputEncoding {
    type Error = ValidationError;
    fn try_from(e: &proto::InputEncoding) -> Result<Self, ValidationError> {
        use proto::input_encoding::Kind;
        Ok(match required("encoding", e.kind.as_ref())? {
            Kind::Text(_) => InputEncoding::Text,
            Kind::Json(_) => InputEncoding::Json,
            Kind::Tensor(t) => InputEncoding::Tensor {
                dtype: DType::from_name(&t.dtype).ok_or_else(|| {
                    ValidationError::field("encoding.dtype", format!("unknown dtype {:?}", t.dtype))
                })?,
                shape: t.shape.clone(),
            },
        })
    }
}

impl From<&Params> for proto::Params {
    fn from(p: &Params) -> Self {
        proto::Params {
            seed: p.seed,
            extra: p
                .extra
                .iter()
                .map(|(k, v)| proto::Param {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        }
    }
}

impl TryFrom<&proto::Params> for Params {
    type Error = ValidationError;
    /// Keys must be strictly sorted (no duplicates): one value, one encoding.
    fn try_from(p: &proto::Params) -> Result<Self, ValidationError> {
        let mut extra = BTreeMap::new();
        for (i, kv) in p.extra.iter().enumerate() {
            if i > 0 && p.extra[i - 1].key >= kv.key {
                return Err(ValidationError::field(
                    "params.extra",
                    format!("keys must be sorted and unique at {:?}", kv.key),
                ));
            }
            extra.insert(kv.key.clone(), kv.value.clone());
        }
        Ok(Params { seed: p.seed, extra })
    }
}

impl From<&SealedEnvelope> for proto::SealedEnvelope {
    fn from(s: &SealedEnvelope) -> Self {
        proto::SealedEnvelope {
            scheme: s.scheme.clone(),
            nonce: s.nonce.to_vec(),
            recipients: s
                .recipients
                .iter()
                .map(|r| proto::WrappedKey {
                    executor: r.executor.to_vec(),
                    ephemeral: r.ephemeral.to_vec(),
                    wrapped_key: r.wrapped_key.clone(),
                })
                .collect(),
        }
    }
}

impl TryFrom<&proto::SealedEnvelope> for SealedEnvelope {
    type Error = ValidationError;
    fn try_from(s: &proto::SealedEnvelope) -> Result<Self, ValidationError> {
        Ok(SealedEnvelope {
            scheme: s.scheme.clone(),
            nonce: array("sealed.nonce", &s.nonce)?,
            recipients: s
                .recipients
                .iter()
                .map(|r| {
                    Ok(WrappedKey {
                        executor: array("sealed.recipients.executor", &r.executor)?,
                        ephemeral: array("sealed.recipients.ephemeral", &r.ephemeral)?,
                        wrapped_key: r.wrapped_key.clone(),
                    })
                })
                .collect::<Result<_, ValidationError>>()?,
        })
    }
}

impl InferencePacketData {
    /// The request a `MsgRunInference` makes: its signer is the requester.
    /// Run `validate` on the result as for a packet.
    pub fn from_msg(msg: &proto::MsgRunInference) -> Result<Self, ValidationError> {
        Ok(InferencePacketData {
            model: msg.model.clone(),
            input: required("input", msg.input.as_ref())?.try_into()?,
            encoding: required("encoding", msg.encoding.as_ref())?.try_into()?,
            params: msg
                .params
                .as_ref()
                .map(Params::try_from)
                .transpose()?
                .unwrap_or_default(),
            requester: msg.signer.clone(),
            receiver: (!msg.receiver.is_empty()).then(|| msg.receiver.clone()),
            memo: msg.memo.clone(),
            sealed: msg.sealed.as_ref().map(SealedEnvelope::try_from).transpose()?,
            // Not in the message yet: adding a field would change the
            // proto3json bytes ibc-go's ICA vectors pin (§5).
            output_key: None,
        })
    }

    /// The `MsgRunInference` an account (local or interchain) signs to make
    /// this request on the host, offering at most `fee`.
    pub fn to_msg(&self, fee: Vec<ibc_proto::cosmos::base::v1beta1::Coin>) -> proto::MsgRunInference {
        proto::MsgRunInference {
            signer: self.requester.clone(),
            model: self.model.clone(),
            input: Some((&self.input).into()),
            encoding: Some((&self.encoding).into()),
            params: Some((&self.params).into()),
            sealed: self.sealed.as_ref().map(Into::into),
            receiver: self.receiver.clone().unwrap_or_default(),
            memo: self.memo.clone(),
            fee,
        }
    }
}

impl From<&InferenceResult> for proto::MsgRunInferenceResponse {
    fn from(r: &InferenceResult) -> Self {
        proto::MsgRunInferenceResponse {
            job_id: r.job_id,
            model_hash: r.model_hash.to_vec(),
            output: Some(proto::OutputCommitment {
                sha256: r.output.sha256.to_vec(),
                size: r.output.size,
                encoding: r.output.encoding.name().to_string(),
            }),
            quorum: Some(proto::Quorum {
                height: r.quorum.height,
                agreeing_power: r.quorum.agreeing_power,
                total_power: r.quorum.total_power,
            }),
        }
    }
}

impl TryFrom<&proto::MsgRunInferenceResponse> for InferenceResult {
    type Error = ValidationError;
    fn try_from(r: &proto::MsgRunInferenceResponse) -> Result<Self, ValidationError> {
        let output = required("output", r.output.as_ref())?;
        let quorum = required("quorum", r.quorum.as_ref())?;
        Ok(InferenceResult {
            job_id: r.job_id,
            model_hash: array("model_hash", &r.model_hash)?,
            output: OutputCommitment {
                sha256: array("output.sha256", &output.sha256)?,
                size: output.size,
                encoding: OutputEncoding::from_name(&output.encoding).ok_or_else(|| {
                    ValidationError::field("output.encoding", format!("unknown {:?}", output.encoding))
                })?,
            },
            quorum: Quorum {
                height: quorum.height,
                agreeing_power: quorum.agreeing_power,
                total_power: quorum.total_power,
            },
        })
    }
}
