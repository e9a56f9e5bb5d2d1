//! Sealed prompts on a real 4-validator chimerad net: a `digits-cnn`
//! request whose input is sealed to every validator's executor key (read
//! from genesis, where `chimerad testnet` put them) is opened inside each
//! executor, agreed in two rounds (sealed sketches, then agreement bits with
//! a fixed reference) and completes; no vote extension in any block carries
//! a plain sketch of it. A tampered ciphertext fails cleanly with
//! `invalid_sealed_envelope` and the chain goes on. Needs `cometbft` from
//! `scripts/setup` and a built chimerad.

use std::time::{Duration, Instant};

use base64::Engine;
use chimera_e2e::chimera::{self, chimera_address, rpc_result_at, ChimeraNet, ChimeraNetConfig};
use chimera_e2e::inference::{
    blob_get_blocking, commit_from_user, decode_tensor, sha256, wait_for_event, Event, Found, GOLDEN_SEVEN,
};
use chimera_e2e::keys;
use chimera_packets::proto::{job_report, VoteExtension};
use chimera_packets::sealed::seal;
use chimera_packets::{DType, InferencePacketData, Input, InputEncoding, Params};
use cosmrs::Any;
use prost::{Message, Name};
use tendermint_proto::v0_38::abci::ExtendedCommitInfo;

const RESULT_WAIT: Duration = Duration::from_secs(120);
const RUN_GAS: u64 = 600_000;
const VOTES_TX_PREFIX: &[u8] = b"\0chimera/votes\0";

fn require_binaries() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

/// The executor keys genesis registers (`app_state.inference.executor_keys`).
fn executor_keys(net: &ChimeraNet) -> Vec<[u8; 32]> {
    let path = net.home(0).unwrap().join("cometbft/config/genesis.json");
    let g: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    g["app_state"]["inference"]["executor_keys"]
        .as_array()
        .expect("executor_keys in genesis")
        .iter()
        .map(|k| {
            hex::decode(k["key"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// The golden "7" as digits-cnn's f32[1,8,8] input, sealed to `keys`.
fn sealed_seven(requester: &str, keys: &[[u8; 32]], tamper: bool) -> InferencePacketData {
    let plain: Vec<u8> = GOLDEN_SEVEN
        .iter()
        .flatten()
        .flat_map(|v| (f32::from(*v) / 255.0).to_le_bytes())
        .collect();
    let (mut ciphertext, envelope) = seal(&plain, "digits-cnn", keys, &mut rand_core::OsRng).unwrap();
    if tamper {
        ciphertext[10] ^= 1;
    }
    InferencePacketData {
        model: "digits-cnn".into(),
        input: Input::Inline(ciphertext),
        encoding: InputEncoding::Tensor {
            dtype: DType::F32,
            shape: vec![1, 8, 8],
        },
        params: Params::default(),
        requester: requester.into(),
        receiver: None,
        memo: String::new(),
        sealed: Some(envelope),
        output_key: None,
    }
}

/// Commits `MsgRunInference` of `data` from the user; returns (height, job id).
fn run(net: &ChimeraNet, data: &InferencePacketData) -> (u64, u64) {
    let any = Any {
        type_url: chimera_packets::proto::MsgRunInference::type_url(),
        value: data.to_msg(vec![]).encode_to_vec(),
    };
    let r = commit_from_user(net, 0, any, RUN_GAS).expect("MsgRunInference");
    let ev = r.event("inference_job").expect("inference_job event");
    assert_eq!(ev.get("sealed"), "true", "{ev:?}");
    (r.height, ev.get("job_id").parse().unwrap())
}

fn wait_result(net: &ChimeraNet, from: u64, id: u64) -> Found {
    let job = id.to_string();
    wait_for_event(net.rpc_addr(0).unwrap(), from, RESULT_WAIT, |e: &Event| {
        e.kind == "inference_result" && e.get("job_id") == job
    })
    .unwrap_or_else(|e| panic!("job {id}: {e}; homes under {}", net.root().display()))
}

/// Every report of `job` in the votes records of blocks `from..=to`.
fn reports_of(net: &ChimeraNet, from: u64, to: u64, job: u64) -> Vec<job_report::Outcome> {
    let mut out = Vec::new();
    for h in from..=to {
        let b = rpc_result_at(
            net.rpc_addr(0).unwrap(),
            &format!("/block?height={h}"),
            Duration::from_secs(10),
        )
        .expect("/block");
        let Some(first) = b["block"]["data"]["txs"].as_array().and_then(|t| t.first()) else {
            continue;
        };
        let tx = base64::engine::general_purpose::STANDARD
            .decode(first.as_str().unwrap())
            .unwrap();
        let Some(body) = tx.strip_prefix(VOTES_TX_PREFIX) else {
            continue;
        };
        let commit = ExtendedCommitInfo::decode(body).expect("a votes record decodes");
        for v in commit.votes {
            let ext = VoteExtension::decode(v.vote_extension.as_ref()).expect("an extension decodes");
            out.extend(
                ext.reports
                    .into_iter()
                    .filter(|r| r.job_id == job)
                    .filter_map(|r| r.outcome),
            );
        }
    }
    out
}

#[test]
fn sealed_prompts_agree_without_public_sketches_and_tampering_fails_cleanly() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        validators: 4,
        chain_id: "chimera-sealed-4".into(),
        ..ChimeraNetConfig::default()
    })
    .expect("start 4-validator localnet");
    let keys = executor_keys(&net);
    assert_eq!(keys.len(), 4, "every validator's executor key is in genesis");
    let user = chimera_address(keys::USER_MNEMONIC).unwrap().to_string();
    eprintln!("4 validators up after {:?}", started.elapsed());

    let (height, id) = run(&net, &sealed_seven(&user, &keys, false));
    let found = wait_result(&net, height, id);
    let ev = &found.event;
    eprintln!(
        "sealed job {id}: created in block {height}, result in block {} ({} blocks): {:?}",
        found.height,
        found.height - height,
        ev.attributes
    );
    assert_eq!(ev.get("status"), "completed", "{ev:?}");
    let agreeing: u64 = ev.get("agreeing_power").parse().unwrap();
    let total: u64 = ev.get("total_power").parse().unwrap();
    assert!(agreeing * 3 > total * 2, "{ev:?}");

    // The output (no output_key: stored in the clear) classifies the 7.
    let want = hex::decode(ev.get("output_sha256")).unwrap();
    let grpc = format!("http://127.0.0.1:{}", net.ports(0).unwrap().grpc);
    let blob = blob_get_blocking(&grpc, &want).expect("BlobService Get");
    assert_eq!(sha256(&blob.data).as_slice(), want.as_slice());
    let p = decode_tensor(&blob.data).unwrap().f32s().unwrap();
    let argmax = (0..p.len()).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
    assert_eq!(argmax, 7, "{p:?}");

    // What the chain saw of it: sealed sketches and agreement bits only.
    let reports = reports_of(&net, height, found.height, id);
    assert!(!reports.is_empty(), "no reports of job {id} in the votes records");
    let mut agreements = 0;
    for r in &reports {
        match r {
            job_report::Outcome::Result(x) => {
                assert!(x.sketch.is_empty(), "a plain sketch of a sealed job is on chain");
                assert!(!x.sealed_sketch.is_empty());
            }
            job_report::Outcome::Agreement(a) => {
                agreements += 1;
                assert!(a.agrees, "an honest validator disagreed: {a:?}");
            }
            job_report::Outcome::Failure(f) => panic!("a validator failed the sealed job: {f:?}"),
        }
    }
    assert!(agreements >= 2, "the quorum needs agreement bits: {reports:?}");
    eprintln!(
        "job {id}: {} reports on chain, {agreements} agreement bits, no plain sketch",
        reports.len()
    );

    // One flipped ciphertext byte: every executor fails to open it.
    let (height, id) = run(&net, &sealed_seven(&user, &keys, true));
    let found = wait_result(&net, height, id);
    let ev = &found.event;
    eprintln!("tampered job {id}: {:?}", ev.attributes);
    assert_eq!(ev.get("status"), "failed", "{ev:?}");
    assert!(
        ev.get("error").contains("code 7 (invalid_sealed_envelope)"),
        "{ev:?}"
    );
    net.wait_for_height(found.height + 2, Duration::from_secs(30))
        .expect("blocks after the failed job");
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    eprintln!("sealed test took {:?}", started.elapsed());
}
