//! Property tests: every encoder round-trips through its decoder, canonical
//! bytes are stable, and decoders never panic on any input.

use std::collections::BTreeMap;

use chimera_packets::encoding::is_canonical;
use chimera_packets::proto;
use chimera_packets::sealed::{SealedEnvelope, WrappedKey, SCHEME};
use chimera_packets::{
    AckError, Acknowledgement, BlobRef, DType, ErrorCode, InferencePacketData, InferenceResult, Input,
    InputEncoding, Limits, OutputCommitment, OutputEncoding, Params, Quorum,
};
use proptest::prelude::*;
use prost::Message;

fn model_id() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._-]{0,63}"
}

fn address() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]{1,128}"
}

fn params() -> impl Strategy<Value = Params> {
    (
        any::<u64>(),
        prop::collection::btree_map(
            "[a-z0-9_]{1,64}",
            any::<String>().prop_filter("len", |s| s.len() <= 256),
            0..8,
        ),
    )
        .prop_map(|(seed, extra)| Params { seed, extra })
}

fn dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(DType::ALL.to_vec())
}

fn envelope() -> impl Strategy<Value = SealedEnvelope> {
    (
        any::<[u8; 12]>(),
        prop::collection::btree_map(
            any::<[u8; 32]>(),
            (any::<[u8; 32]>(), prop::collection::vec(any::<u8>(), 48)),
            1..4,
        ),
    )
        .prop_map(|(nonce, recipients)| SealedEnvelope {
            scheme: SCHEME.to_string(),
            nonce,
            recipients: recipients
                .into_iter()
                .map(|(executor, (ephemeral, wrapped_key))| WrappedKey {
                    executor,
                    ephemeral,
                    wrapped_key,
                })
                .collect(),
        })
}

/// Valid packets of every shape: text, JSON and tensor inputs, inline or by
/// blob, clear or sealed.
fn packet() -> impl Strategy<Value = InferencePacketData> {
    let text = any::<String>()
        .prop_filter("non-empty", |s| !s.is_empty() && s.len() <= 4096)
        .prop_map(|s| (Input::Inline(s.into_bytes()), InputEncoding::Text));
    let json = any::<u32>().prop_map(|n| {
        (
            Input::Inline(format!("{{\"n\":{n}}}").into_bytes()),
            InputEncoding::Json,
        )
    });
    let tensor = (dtype(), prop::collection::vec(1u32..5, 1..4)).prop_flat_map(|(dtype, shape)| {
        let len = shape.iter().map(|&d| d as usize).product::<usize>() * dtype.size() as usize;
        prop_oneof![
            prop::collection::vec(any::<u8>(), len).prop_map(Input::Inline),
            any::<[u8; 32]>().prop_map(move |sha256| Input::Blob(BlobRef {
                sha256,
                size: len as u64
            })),
        ]
        .prop_map(move |input| {
            (
                input,
                InputEncoding::Tensor {
                    dtype,
                    shape: shape.clone(),
                },
            )
        })
    });
    let clear = prop_oneof![text, json, tensor].prop_map(|(i, e)| (i, e, None));
    let sealed = (prop::collection::vec(any::<u8>(), 17..512), envelope())
        .prop_map(|(ct, env)| (Input::Inline(ct), InputEncoding::Text, Some(env)));
    (
        model_id(),
        prop_oneof![clear, sealed],
        params(),
        address(),
        prop::option::of(address()),
        any::<String>().prop_filter("memo", |m| m.len() <= 1024),
    )
        .prop_map(
            |(model, (input, encoding, sealed), params, requester, receiver, memo)| InferencePacketData {
                model,
                input,
                encoding,
                params,
                requester,
                receiver,
                memo,
                output_key: None,
                sealed,
            },
        )
}

fn result() -> impl Strategy<Value = InferenceResult> {
    (
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        prop::sample::select(vec![
            OutputEncoding::Png,
            OutputEncoding::Text,
            OutputEncoding::Tensor,
            OutputEncoding::Json,
        ]),
        any::<u64>(),
        1u64..,
    )
        .prop_flat_map(
            |(job_id, model_hash, sha256, size, encoding, height, total_power)| {
                (0..=total_power).prop_map(move |agreeing_power| InferenceResult {
                    job_id,
                    model_hash,
                    output: OutputCommitment {
                        sha256,
                        size,
                        encoding,
                    },
                    quorum: Quorum {
                        height,
                        agreeing_power,
                        total_power,
                    },
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn packet_round_trips_canonically(p in packet()) {
        p.validate(&Limits::default()).unwrap();
        let bytes = p.to_bytes();
        prop_assert!(is_canonical(&bytes));
        let back = InferencePacketData::decode_and_validate(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(back.to_bytes(), bytes);
        // Key order and whitespace do not change the value.
        let pretty = serde_json::to_vec_pretty(&p).unwrap();
        prop_assert_eq!(InferencePacketData::from_bytes(&pretty).unwrap(), p);
    }

    #[test]
    fn packet_round_trips_through_msg_run_inference(p in packet()) {
        let msg = p.to_msg(vec![]);
        let wire = msg.encode_to_vec();
        let decoded = proto::MsgRunInference::decode(wire.as_slice()).unwrap();
        prop_assert_eq!(InferencePacketData::from_msg(&decoded).unwrap(), p);
    }

    #[test]
    fn result_ack_round_trips(r in result()) {
        let ack = Acknowledgement::Result(r.clone());
        let bytes = ack.to_bytes();
        prop_assert!(is_canonical(&bytes));
        prop_assert_eq!(Acknowledgement::from_bytes(&bytes).unwrap(), ack);
        let msg = proto::MsgRunInferenceResponse::from(&r);
        prop_assert_eq!(InferenceResult::try_from(&msg).unwrap(), r);
    }

    #[test]
    fn error_ack_round_trips(code in prop::sample::select(ErrorCode::ALL.to_vec()), detail in any::<String>()) {
        let ack = Acknowledgement::Error(AckError::new(code, detail));
        let bytes = ack.to_bytes();
        prop_assert!(is_canonical(&bytes));
        prop_assert_eq!(Acknowledgement::from_bytes(&bytes).unwrap(), ack);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = InferencePacketData::decode_and_validate(&bytes, &Limits::default());
        let _ = Acknowledgement::from_bytes(&bytes);
        if let Ok(m) = proto::MsgRunInference::decode(bytes.as_slice()) {
            let _ = InferencePacketData::from_msg(&m).map(|p| p.validate(&Limits::default()));
        }
    }

    #[test]
    fn mutated_packets_never_panic(p in packet(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = p.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = InferencePacketData::decode_and_validate(&bytes, &Limits::default());
    }
}

#[test]
fn oversized_packets_are_refused_before_parsing() {
    let bytes = vec![b' '; chimera_packets::limits::MAX_PACKET_BYTES + 1];
    let err = InferencePacketData::from_bytes(&bytes).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PacketTooLarge);
}

#[test]
fn params_in_msgs_must_be_sorted() {
    let msg = proto::MsgRunInference {
        params: Some(proto::Params {
            seed: 1,
            extra: vec![
                proto::Param {
                    key: "b".into(),
                    value: "1".into(),
                },
                proto::Param {
                    key: "a".into(),
                    value: "2".into(),
                },
            ],
        }),
        ..InferencePacketData {
            model: "m".into(),
            input: Input::Inline(b"x".to_vec()),
            encoding: InputEncoding::Text,
            params: Params {
                seed: 1,
                extra: BTreeMap::new(),
            },
            requester: "a".into(),
            receiver: None,
            memo: String::new(),
            sealed: None,
            output_key: None,
        }
        .to_msg(vec![])
    };
    let err = InferencePacketData::from_msg(&msg).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidField);
    assert!(err.to_string().contains("params.extra"), "{err}");
}
