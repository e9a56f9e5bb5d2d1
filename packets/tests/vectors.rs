//! Golden test vectors: `packets/testdata/*.json` hold the exact bytes of
//! each message and acknowledgement, for later issues and for other chains'
//! implementations. This test rebuilds every vector from Rust values and
//! compares; `CHIMERA_BLESS=1 cargo test -p chimera-packets --test vectors`
//! rewrites them after a deliberate protocol change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chimera_packets::ica::{self, Encoding, Metadata};
use chimera_packets::limits::Limits;
use chimera_packets::proto;
use chimera_packets::sealed::{executor_keypair_from_seed, seal};
use chimera_packets::{
    AckError, Acknowledgement, BlobRef, DType, ErrorCode, InferencePacketData, InferenceResult, Input,
    InputEncoding, OutputCommitment, OutputEncoding, Params, Quorum,
};
use ibc_proto::cosmos::base::v1beta1::Coin;
use ibc_proto::google::protobuf::Any;
use prost::{Message, Name};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A deterministic RNG for vectors only: SHA-256 in counter mode over a
/// label. Never used outside tests; real sealing takes the OS RNG.
struct VectorRng {
    label: &'static [u8],
    counter: u64,
}

impl rand_core::RngCore for VectorRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(self.label)
                .chain_update(self.counter.to_be_bytes())
                .finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for VectorRng {}

const REQUESTER: &str = "terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v";
const ICA_ADDRESS: &str = "chimera1y5rpzk6gdsrrxqjcmlq5tdlsj3ffxxrhe7w9kfu8lp4tf8c4t5nq3c6z6n";

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn text_packet() -> InferencePacketData {
    InferencePacketData {
        model: "tiny-lm".into(),
        input: Input::Inline(b"Once upon a time".to_vec()),
        encoding: InputEncoding::Text,
        params: Params {
            seed: 42,
            extra: BTreeMap::from([
                ("max_tokens".into(), "32".into()),
                ("temperature".into(), "0.8".into()),
                ("top_k".into(), "40".into()),
            ]),
        },
        requester: REQUESTER.into(),
        receiver: None,
        memo: String::new(),
        sealed: None,
        output_key: None,
    }
}

fn ddpm_packet() -> InferencePacketData {
    InferencePacketData {
        model: "digits-ddpm".into(),
        input: Input::Inline(b"7".to_vec()),
        encoding: InputEncoding::Text,
        params: Params {
            seed: u64::MAX,
            extra: BTreeMap::from([("steps".into(), "50".into())]),
        },
        requester: REQUESTER.into(),
        receiver: Some("terra1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn4r3jms".into()),
        memo: "draw <7> & \"smile\"\n".into(),
        sealed: None,
        output_key: None,
    }
}

fn tensor_blob_packet() -> InferencePacketData {
    InferencePacketData {
        model: "digits-cnn".into(),
        input: Input::Blob(BlobRef {
            sha256: Sha256::digest([0u8; 256]).into(),
            size: 256,
        }),
        encoding: InputEncoding::Tensor {
            dtype: DType::F32,
            shape: vec![1, 8, 8],
        },
        params: Params::default(),
        requester: REQUESTER.into(),
        receiver: None,
        memo: String::new(),
        sealed: None,
        output_key: None,
    }
}

/// Executor keys of the sealed vector come from these public seeds, so that
/// other implementations can open it.
const EXECUTOR_SEEDS: [[u8; 32]; 2] = [[1u8; 32], [2u8; 32]];

fn sealed_packet() -> InferencePacketData {
    let recipients: Vec<[u8; 32]> = EXECUTOR_SEEDS
        .iter()
        .map(|s| executor_keypair_from_seed(*s).1)
        .collect();
    let mut rng = VectorRng {
        label: b"chimera sealed vector",
        counter: 0,
    };
    let (ciphertext, envelope) = seal(b"a secret prompt", "tiny-lm", &recipients, &mut rng).expect("seal");
    InferencePacketData {
        input: Input::Inline(ciphertext),
        sealed: Some(envelope),
        output_key: None,
        ..text_packet()
    }
}

fn result() -> InferenceResult {
    InferenceResult {
        job_id: 7,
        model_hash: Sha256::digest(b"digits-ddpm.pt").into(),
        output: OutputCommitment {
            sha256: Sha256::digest(b"png bytes").into(),
            size: 9,
            encoding: OutputEncoding::Png,
        },
        quorum: Quorum {
            height: 1234,
            agreeing_power: 30,
            total_power: 40,
        },
    }
}

fn json_vector(kind: &str, description: &str, bytes: &[u8]) -> Value {
    json!({
        "kind": kind,
        "description": description,
        "value": serde_json::from_slice::<Value>(bytes).expect("vector bytes are JSON"),
        "bytes": String::from_utf8(bytes.to_vec()).expect("vector bytes are UTF-8"),
        "sha256": sha256_hex(bytes),
    })
}

fn packet_vector(description: &str, p: &InferencePacketData) -> Value {
    p.validate(&Limits::default()).expect("vector packets are valid");
    json_vector("inference_packet_data", description, &p.to_bytes())
}

fn invalid_packet_vector(description: &str, bytes: &[u8], code: ErrorCode) -> Value {
    let err = InferencePacketData::decode_and_validate(bytes, &Limits::default()).expect_err("invalid");
    assert_eq!(err.code(), code, "{description}: {err}");
    let ack = Acknowledgement::Error(AckError::from(&err)).to_bytes();
    json!({
        "kind": "invalid_inference_packet_data",
        "description": description,
        "bytes": String::from_utf8(bytes.to_vec()).unwrap(),
        "error_code": code.code(),
        "ack": String::from_utf8(ack.clone()).unwrap(),
        "ack_sha256": sha256_hex(&ack),
    })
}

fn proto_vector<M: Message + Name>(description: &str, msg: &M) -> Value {
    let bytes = msg.encode_to_vec();
    json!({
        "kind": "protobuf",
        "type_url": M::type_url(),
        "description": description,
        "debug": format!("{msg:?}"),
        "bytes_hex": hex::encode(&bytes),
        "sha256": sha256_hex(&bytes),
    })
}

fn ica_packet_vector(description: &str, msgs: &[Any], encoding: Encoding) -> Value {
    let bytes = ica::packet_data(msgs, encoding, "").expect("vector ICA packet builds");
    let mut v = json_vector("ica_packet_data", description, &bytes);
    v["encoding"] = json!(encoding.as_str());
    v
}

fn with_packet(mut p: InferencePacketData, f: impl FnOnce(&mut InferencePacketData)) -> Vec<u8> {
    f(&mut p);
    serde_json::to_vec(&p).unwrap()
}

fn vectors() -> Vec<(&'static str, Value)> {
    let fee = vec![Coin {
        denom: "ibc/8F7F3E4E0A6C8A1A3F1C8D9E3F1E5C0A9B0D7F1A2B3C4D5E6F708192A3B4C5D6".into(),
        amount: "1000000".into(),
    }];
    let mut msg = text_packet().to_msg(fee);
    msg.signer = ICA_ADDRESS.into();
    let sealed = sealed_packet();
    let sealed_desc = format!(
        "text prompt sealed to two executors whose X25519 secrets are the seeds {} and {}; plaintext \"a secret prompt\", model \"tiny-lm\"",
        hex::encode(EXECUTOR_SEEDS[0]),
        hex::encode(EXECUTOR_SEEDS[1])
    );
    let run_any = Any {
        type_url: proto::MsgRunInference::type_url(),
        value: msg.encode_to_vec(),
    };
    let response_any = Any {
        type_url: proto::MsgRunInferenceResponse::type_url(),
        value: proto::MsgRunInferenceResponse::from(&result()).encode_to_vec(),
    };
    vec![
        (
            "ica_address",
            {
                let (conn, port) = ("connection-0", "icacontroller-terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v");
                let (app_hash, data_hash) = ([0xA1u8; 32], [0xD4u8; 32]);
                let addr = ica::interchain_account_address(conn, port, &app_hash, &data_hash);
                json!({
                    "kind": "ica_address",
                    "description": "the interchain account address a host creates for a channel: ibc-go v7 GenerateAddress(connection, port, header app hash and data hash)",
                    "bytes_hex": hex::encode(addr),
                    "value": {
                        "connection_id": conn,
                        "port_id": port,
                        "app_hash": hex::encode(app_hash),
                        "data_hash": hex::encode(data_hash),
                    },
                })
            },
        ),
        (
            "ica_metadata",
            json_vector(
                "ica_metadata",
                "ICS-27 channel version a controller proposes (ibc-go field order, not sorted)",
                &Metadata::new_controller("connection-0", "connection-0", Encoding::Proto3).to_json(),
            ),
        ),
        (
            "ica_packet_proto3",
            ica_packet_vector(
                "InterchainAccountPacketData carrying the MsgRunInference of msg_run_inference, CosmosTx in proto3",
                std::slice::from_ref(&run_any),
                Encoding::Proto3,
            ),
        ),
        (
            "ica_packet_proto3json",
            ica_packet_vector(
                "the same message with CosmosTx in proto3json (jsonpb: @type first, proto field order, defaults emitted)",
                std::slice::from_ref(&run_any),
                Encoding::Proto3Json,
            ),
        ),
        (
            "ica_ack_run_inference",
            json_vector(
                "ica_acknowledgement",
                "ICS-27 host success ack: TxMsgData with the MsgRunInferenceResponse of ack_result",
                &ica::success_ack(&[response_any]),
            ),
        ),
        (
            "packet_text_inline",
            packet_vector("text prompt inline with sampling parameters", &text_packet()),
        ),
        (
            "packet_ddpm_receiver_memo",
            packet_vector(
                "digit prompt with receiver, max seed and a memo that needs Go's HTML escaping",
                &ddpm_packet(),
            ),
        ),
        (
            "packet_tensor_blob",
            packet_vector(
                "8x8 f32 tensor by blob reference, default parameters",
                &tensor_blob_packet(),
            ),
        ),
        ("packet_sealed", packet_vector(&sealed_desc, &sealed)),
        (
            "ack_result",
            json_vector(
                "acknowledgement",
                "result acknowledgement",
                &Acknowledgement::Result(result()).to_bytes(),
            ),
        ),
        (
            "ack_result_inner",
            json_vector(
                "inference_result",
                "the JSON inside the result's base64",
                &result().to_bytes(),
            ),
        ),
        (
            "ack_error_no_quorum",
            json_vector(
                "acknowledgement",
                "error acknowledgement when validators do not agree by the deadline",
                &Acknowledgement::error(ErrorCode::NoQuorum, "no 2/3 agreement by height 1300").to_bytes(),
            ),
        ),
        (
            "invalid_not_json",
            invalid_packet_vector(
                "bytes that are not JSON",
                b"\x00not json",
                ErrorCode::InvalidPacket,
            ),
        ),
        (
            "invalid_unknown_field",
            invalid_packet_vector(
                "an unknown field",
                &with_packet(text_packet(), |_| {}).replacen(b"{", b"{\"fee\":\"1\",".as_slice()),
                ErrorCode::InvalidPacket,
            ),
        ),
        (
            "invalid_model_id",
            invalid_packet_vector(
                "model id with upper case",
                &with_packet(text_packet(), |p| p.model = "Tiny-LM".into()),
                ErrorCode::InvalidField,
            ),
        ),
        (
            "invalid_inline_too_large",
            invalid_packet_vector(
                "inline input of 64 KiB + 1",
                &with_packet(text_packet(), |p| {
                    p.input = Input::Inline(vec![b'a'; 64 * 1024 + 1])
                }),
                ErrorCode::InputTooLarge,
            ),
        ),
        (
            "invalid_tensor_shape",
            invalid_packet_vector(
                "tensor whose shape does not match the input size",
                &with_packet(tensor_blob_packet(), |p| {
                    p.encoding = InputEncoding::Tensor {
                        dtype: DType::F32,
                        shape: vec![1, 8, 9],
                    }
                }),
                ErrorCode::InvalidEncoding,
            ),
        ),
        (
            "invalid_sealed_scheme",
            invalid_packet_vector(
                "sealed envelope with an unknown scheme",
                &with_packet(sealed_packet(), |p| {
                    p.sealed.as_mut().unwrap().scheme = "rot13".into()
                }),
                ErrorCode::InvalidSealedEnvelope,
            ),
        ),
        (
            "msg_run_inference",
            proto_vector("MsgRunInference from an interchain account", &msg),
        ),
        (
            "msg_run_inference_response",
            proto_vector(
                "MsgRunInferenceResponse, the same fields as ack_result",
                &proto::MsgRunInferenceResponse::from(&result()),
            ),
        ),
        (
            "msg_register_executor_key",
            proto_vector(
                "MsgRegisterExecutorKey with the key of executor seed 01..01",
                &proto::MsgRegisterExecutorKey {
                    validator: "chimeravaloper1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnk5p2z9".into(),
                    x25519_public_key: executor_keypair_from_seed(EXECUTOR_SEEDS[0]).1.to_vec(),
                },
            ),
        ),
    ]
}

trait ReplaceN {
    fn replacen(self, from: &[u8], to: &[u8]) -> Vec<u8>;
}
impl ReplaceN for Vec<u8> {
    fn replacen(self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = self
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern present");
        [&self[..at], to, &self[at + from.len()..]].concat()
    }
}

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

#[test]
fn golden_vectors_match() {
    let bless = std::env::var_os("CHIMERA_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, vector) in vectors() {
        let path = testdata().join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&vector).unwrap() + "\n";
        if bless {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "vectors differ from packets/testdata: {stale:?}; if the protocol change is deliberate, rerun with CHIMERA_BLESS=1"
    );
}

/// The files decode back: what another implementation does with them.
#[test]
fn golden_vectors_decode() {
    for (name, _) in vectors() {
        let path = testdata().join(format!("{name}.json"));
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        match v["kind"].as_str().unwrap() {
            "inference_packet_data" => {
                let bytes = v["bytes"].as_str().unwrap().as_bytes();
                let p = InferencePacketData::decode_and_validate(bytes, &Limits::default()).unwrap();
                assert_eq!(p.to_bytes(), bytes, "{name} re-encodes to the same bytes");
                assert!(chimera_packets::encoding::is_canonical(bytes));
            }
            "ica_packet_data" => {
                let bytes = v["bytes"].as_str().unwrap().as_bytes();
                let encoding = match v["encoding"].as_str().unwrap() {
                    "proto3" => Encoding::Proto3,
                    _ => Encoding::Proto3Json,
                };
                let packet = ica::decode_packet_data(bytes, encoding).unwrap();
                assert_eq!(
                    ica::packet_data(&packet.messages, encoding, &packet.memo).unwrap(),
                    bytes,
                    "{name}"
                );
            }
            "acknowledgement" => {
                let bytes = v["bytes"].as_str().unwrap().as_bytes();
                assert_eq!(
                    Acknowledgement::from_bytes(bytes).unwrap().to_bytes(),
                    bytes,
                    "{name}"
                );
            }
            "invalid_inference_packet_data" => {
                let ack = Acknowledgement::from_bytes(v["ack"].as_str().unwrap().as_bytes()).unwrap();
                match ack {
                    Acknowledgement::Error(e) => {
                        assert_eq!(e.code.code() as u64, v["error_code"].as_u64().unwrap())
                    }
                    other => panic!("{name}: expected an error ack, got {other:?}"),
                }
            }
            _ => {}
        }
    }
}

/// Executors named in the sealed vector open it with their seeds.
#[test]
fn sealed_vector_opens_with_published_seeds() {
    let p = sealed_packet();
    let Input::Inline(ciphertext) = &p.input else {
        unreachable!()
    };
    for seed in EXECUTOR_SEEDS {
        let (secret, _) = executor_keypair_from_seed(seed);
        let plain = p
            .sealed
            .as_ref()
            .unwrap()
            .open(ciphertext, &p.model, &secret)
            .unwrap();
        assert_eq!(plain, b"a secret prompt");
    }
}

/// The MsgRunInference route yields the same request as the packet route.
#[test]
fn msg_and_packet_routes_agree() {
    for p in [
        text_packet(),
        ddpm_packet(),
        tensor_blob_packet(),
        sealed_packet(),
    ] {
        let back = InferencePacketData::from_msg(&p.to_msg(vec![])).unwrap();
        assert_eq!(back, p);
    }
    let r = result();
    assert_eq!(
        InferenceResult::try_from(&proto::MsgRunInferenceResponse::from(&r)).unwrap(),
        r
    );
}

#[test]
fn output_key_is_hex_only_with_a_sealed_input() {
    let limits = Limits::default();
    let mut p = sealed_packet();
    p.output_key = Some([0xab; 32]);
    let bytes = p.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(&format!("\"output_key\":\"{}\"", "ab".repeat(32))),
        "{text}"
    );
    assert_eq!(
        InferencePacketData::decode_and_validate(&bytes, &limits).unwrap(),
        p
    );
    // Absent, the field is not written: every existing vector keeps its bytes.
    assert!(!String::from_utf8(sealed_packet().to_bytes())
        .unwrap()
        .contains("output_key"));
    let clear = InferencePacketData {
        output_key: Some([0xab; 32]),
        ..text_packet()
    };
    let e = clear.validate(&limits).unwrap_err();
    assert!(e.to_string().contains("output_key"), "{e}");
}

#[test]
fn sealed_messages_open_only_in_their_context() {
    use chimera_packets::sealed::{output_context, sketch_context, SealedMessage};
    let (secret, public) = executor_keypair_from_seed(EXECUTOR_SEEDS[0]);
    let (other, _) = executor_keypair_from_seed(EXECUTOR_SEEDS[1]);
    let mut rng = VectorRng {
        label: b"sealed message test",
        counter: 0,
    };
    let m = SealedMessage::seal(
        b"sketch bytes",
        &sketch_context("digits-cnn", 7),
        &[public],
        &mut rng,
    )
    .unwrap();
    let back = SealedMessage::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(
        back.open(&sketch_context("digits-cnn", 7), &secret).unwrap(),
        b"sketch bytes"
    );
    assert!(back.open(&sketch_context("digits-cnn", 8), &secret).is_err());
    assert!(back.open(&output_context("digits-cnn"), &secret).is_err());
    assert!(back.open(&sketch_context("digits-cnn", 7), &other).is_err());
    assert!(SealedMessage::from_bytes(b"{}").is_err());
}
