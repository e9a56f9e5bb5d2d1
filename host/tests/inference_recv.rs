//! The host side of the `inference` IBC app on bad and good packets,
//! driven through ibc-rs's `Module` callback over real state (genesis
//! applied to a RocksDB-backed store): every malformed or refused request
//! gets its error acknowledgement at once and writes nothing; a valid one
//! becomes a pending job with no acknowledgement (asynchronous).

mod chain_support;

use std::collections::BTreeMap;

use chain_support::open_storage;
use chimera_host::chain::gas::{Ctx, GasMeter};
use chimera_host::chain::genesis::AppGenesis;
use chimera_host::ibc::context::Shared;
use chimera_host::inference::module::InferenceModule;
use chimera_host::inference::store;
use chimera_host::state::Delta;
use chimera_packets::sealed::seal;
use chimera_packets::{Acknowledgement, DType, ErrorCode, InferencePacketData, Input, InputEncoding, Params};
use ibc::core::channel::types::packet::Packet;
use ibc::core::router::module::Module;
use ibc::primitives::Signer;
use ibc_proto::ibc::core::channel::v1::Packet as RawPacket;
use ibc_proto::ibc::core::client::v1::Height;

const MODEL_SHA: &str = "5d41402abc4b2a76b9719d911017c592a7b1c7e8f3e2a9d6c4b0f1e2d3c4b5a6";
const EXECUTOR_KEY: [u8; 32] = [9; 32];

/// Genesis state over a fresh store in `dir`.
fn genesis(dir: &tempfile::TempDir, max_pending: u64) -> Delta {
    let storage = open_storage(dir.path());
    let mut state = Delta::new(storage.latest_snapshot());
    let g = serde_json::json!({
        "inference": {
            "params": { "max_pending_jobs": max_pending },
            "models": [{
                "id": "digits-cnn", "sha256": MODEL_SHA, "task": "classify",
                "sketch": { "rule": "classify", "levels": 256, "tolerance": 2, "thumb": 8 }
            }],
            "executor_keys": [{ "validator": "ab".repeat(20), "key": hex::encode(EXECUTOR_KEY) }]
        }
    });
    AppGenesis::parse(g.to_string().as_bytes())
        .unwrap()
        .apply(&mut state)
        .unwrap();
    state
}

fn request() -> InferencePacketData {
    InferencePacketData {
        model: "digits-cnn".into(),
        input: Input::Inline(vec![0; 256]),
        encoding: InputEncoding::Tensor {
            dtype: DType::F32,
            shape: vec![1, 8, 8],
        },
        params: Params {
            seed: 1,
            extra: BTreeMap::new(),
        },
        requester: "terra1x46rqay4d3cssq8gxxvqz8xt6nwlz4td20k38v".into(),
        receiver: None,
        memo: String::new(),
        sealed: None,
        output_key: None,
    }
}

fn packet(seq: u64, data: Vec<u8>) -> Packet {
    Packet::try_from(RawPacket {
        sequence: seq,
        source_port: "inference".into(),
        source_channel: "channel-0".into(),
        destination_port: "inference".into(),
        destination_channel: "channel-3".into(),
        data,
        timeout_height: Some(Height {
            revision_number: 0,
            revision_height: 1000,
        }),
        timeout_timestamp: 0,
    })
    .unwrap()
}

/// Delivers `data` to the host side; returns the ack (if any) and the state.
fn receive(state: Delta, seq: u64, data: Vec<u8>) -> (Option<Acknowledgement>, Delta) {
    let shared = Shared::new(state, GasMeter::infinite(), 7, "chimera-test");
    let mut module = InferenceModule::new(shared.clone());
    let signer = Signer::from("relayer".to_string());
    let (_, ack) = module.on_recv_packet_execute(&packet(seq, data), &signer);
    drop(module);
    let shared = std::rc::Rc::try_unwrap(shared).ok().unwrap().into_inner();
    assert!(shared.fault.is_none(), "{:?}", shared.fault);
    let ack = ack.map(|a| Acknowledgement::from_bytes(a.as_ref()).expect("a Chimera ack"));
    (ack, shared.state)
}

fn error_code(ack: Option<Acknowledgement>) -> ErrorCode {
    match ack {
        Some(Acknowledgement::Error(e)) => e.code,
        other => panic!("expected an error ack, got {other:?}"),
    }
}

fn pending(state: &mut Delta) -> u64 {
    let mut gas = GasMeter::infinite();
    let mut ctx = Ctx {
        state,
        gas: &mut gas,
        height: 7,
    };
    store::pending_count(&mut ctx).unwrap()
}

#[test]
fn bad_requests_get_their_error_ack_and_write_nothing() {
    let mut too_long = request();
    too_long.memo = "m".repeat(300 * 1024);
    let mut unknown = request();
    unknown.model = "nope".into();
    let mut wrong_length = request();
    wrong_length.input = Input::Inline(vec![0; 255]);
    let mut stranger = request();
    let (ciphertext, envelope) = seal(&[0; 256], "digits-cnn", &[[4; 32]], &mut rand_core::OsRng).unwrap();
    stranger.input = Input::Inline(ciphertext);
    stranger.sealed = Some(envelope);
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        (
            "garbage bytes",
            b"\xff\x00 not json".to_vec(),
            ErrorCode::InvalidPacket,
        ),
        ("an empty object", b"{}".to_vec(), ErrorCode::InvalidPacket),
        (
            "a packet over 256 KiB",
            too_long.to_bytes(),
            ErrorCode::PacketTooLarge,
        ),
        ("an unknown model", unknown.to_bytes(), ErrorCode::UnknownModel),
        (
            "a tensor of the wrong length",
            wrong_length.to_bytes(),
            ErrorCode::InvalidEncoding,
        ),
        (
            "a seal to no registered executor",
            stranger.to_bytes(),
            ErrorCode::InvalidSealedEnvelope,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut state = genesis(&dir, 10);
    for (i, (what, data, code)) in cases.into_iter().enumerate() {
        let (ack, mut after) = receive(state, i as u64 + 1, data);
        assert_eq!(error_code(ack), code, "{what}");
        assert_eq!(pending(&mut after), 0, "{what} left a job");
        state = after;
    }
}

#[test]
fn a_valid_request_becomes_a_pending_job_without_an_ack_until_the_queue_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let state = genesis(&dir, 1);
    let (ack, mut state) = receive(state, 1, request().to_bytes());
    assert!(ack.is_none(), "asynchronous: no ack at receipt");
    assert_eq!(pending(&mut state), 1);
    let mut gas = GasMeter::infinite();
    let mut ctx = Ctx {
        state: &mut state,
        gas: &mut gas,
        height: 7,
    };
    let job = store::get_job(&mut ctx, 1).unwrap().expect("job 1");
    let rec = job.record();
    assert_eq!(
        (rec.channel_id.as_str(), rec.sequence, rec.created_height),
        ("channel-3", 1, 7)
    );
    assert_eq!(job.request, request().to_bytes());
    assert!(!job.packet.is_empty());
    // A sealed request to the registered executor key is accepted too, but
    // the queue holds one job: queue_full, and still one job.
    let mut sealed = request();
    let (ciphertext, envelope) =
        seal(&[0; 256], "digits-cnn", &[EXECUTOR_KEY], &mut rand_core::OsRng).unwrap();
    sealed.input = Input::Inline(ciphertext);
    sealed.sealed = Some(envelope);
    let (ack, mut state) = receive(state, 2, sealed.to_bytes());
    assert_eq!(error_code(ack), ErrorCode::QueueFull);
    assert_eq!(pending(&mut state), 1);
}
