//! Inference under faults and differences, on real 4-validator chimerad
//! nets:
//! - a sealed `digits-cnn` request (sealed to the executor keys that
//!   `Query/ExecutorKeys` lists) completes, and no votes record between its
//!   creation and its result carries a plain sketch of it (only sealed
//!   sketches and agreement bits, docs/protocol.md §13);
//! - a tampered sealed request fails with `invalid_sealed_envelope` while a
//!   good request from another account in the same block completes;
//! - validators whose libtorch picks other CPU kernels (`ATEN_CPU_CAPABILITY`
//!   default/avx2/avx512/avx2) all agree on every zoo model;
//! - a validator stopped while a job runs catches up after a restart and
//!   serves the agreed output, fetched from its `blob_peers`.
//!
//! Needs `cometbft` from `scripts/setup`, a built chimerad (`cargo build -p
//! chimera-host --bin chimerad`) and the models (`scripts/setup models`).
//! Each test starts its own net; run them one at a time on a small machine
//! (`--test-threads=1`).

use std::time::{Duration, Instant};

use chimera_e2e::chimera::{self, chimera_address, rpc_result_at, ChimeraNet, ChimeraNetConfig, NodeEnv};
use chimera_e2e::inference::{
    self, blob_get_blocking, commit_from_user, decode_tensor, executor_keys_blocking, job_reports,
    run_inference_msg, sha256, sign_from, wait_blob, wait_for_event, Blob, Event, Found, Job, GOLDEN_SEVEN,
};
use chimera_e2e::keys;
use chimera_packets::proto::job_report::Outcome;
use chimera_packets::sealed::seal;
use chimera_packets::{DType, InferencePacketData, Input, InputEncoding, Params};
use cosmrs::Any;
use prost::{Message, Name};

/// How long a job may take from its tx to its `inference_result` (4 nodes
/// on a shared 2-core machine).
const RESULT_WAIT: Duration = Duration::from_secs(240);

/// Gas for one `MsgRunInference` (storing a 256-byte input and a sealed
/// envelope of four recipients costs well under this).
const GAS: u64 = 600_000;

fn require_binaries() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

fn grpc(net: &ChimeraNet, i: usize) -> String {
    format!("http://127.0.0.1:{}", net.ports(i).unwrap().grpc)
}

fn rpc(net: &ChimeraNet, i: usize) -> std::net::SocketAddr {
    net.rpc_addr(i).unwrap()
}

/// A 4-validator localnet with `env` per node (none when `None`).
fn four_validators(chain_id: &str, accounts: Vec<(String, String)>, env: Option<NodeEnv>) -> ChimeraNet {
    let mut config = ChimeraNetConfig {
        validators: 4,
        chain_id: chain_id.into(),
        node_env: env,
        ..ChimeraNetConfig::default()
    };
    config.accounts.extend(accounts);
    ChimeraNet::start(config).expect("start 4-validator localnet")
}

/// What the nodes logged about jobs, for a failure message.
fn logs(net: &ChimeraNet) -> String {
    let mut report = String::new();
    for n in 0..net.len() {
        let home = net.home(n).unwrap();
        report.push_str(&format!("--- node{n} ({}) ---\n", home.display()));
        for needle in ["job", "ERROR", "WARN"] {
            for l in inference::log_lines(home, needle, 8) {
                report.push_str(&l);
                report.push('\n');
            }
        }
    }
    report
}

/// Waits on node `i` for the `inference_result` of job `id` from block
/// `from`; on a timeout fails with what the nodes logged.
fn wait_result(net: &ChimeraNet, i: usize, from: u64, id: u64) -> Found {
    inference::wait_job(net, i, from, id, RESULT_WAIT)
        .unwrap_or_else(|e| panic!("job {id}: no inference_result: {e}\n{}", logs(net)))
}

/// The golden "7" as digits-cnn's `f32[1,8,8]` input bytes.
fn seven_tensor() -> Vec<u8> {
    Job::digits_cnn(&GOLDEN_SEVEN).input
}

/// `MsgRunInference` of the golden "7" for `digits-cnn` from `requester`,
/// sealed to `recipients`; with one ciphertext byte flipped if `tamper`.
fn sealed_seven_msg(requester: &str, recipients: &[[u8; 32]], tamper: bool) -> Any {
    let (mut ciphertext, envelope) =
        seal(&seven_tensor(), "digits-cnn", recipients, &mut rand_core::OsRng).expect("seal");
    if tamper {
        ciphertext[10] ^= 1;
    }
    let data = InferencePacketData {
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
    };
    Any {
        type_url: chimera_packets::proto::MsgRunInference::type_url(),
        value: data.to_msg(vec![]).encode_to_vec(),
    }
}

/// Fetches a completed job's output from node `i` and checks its hash and
/// size against the event.
fn fetch_output(net: &ChimeraNet, i: usize, ev: &Event) -> Blob {
    let want = hex::decode(ev.get("output_sha256")).expect("output_sha256 is hex");
    assert_eq!(want.len(), 32, "{ev:?}");
    let blob = blob_get_blocking(&grpc(net, i), &want).expect("BlobService Get");
    assert_eq!(
        sha256(&blob.data).as_slice(),
        want.as_slice(),
        "served bytes hash elsewhere"
    );
    assert_eq!(ev.get("output_size"), blob.data.len().to_string(), "{ev:?}");
    blob
}

/// The index of the largest of digits-cnn's 10 probabilities.
fn argmax_of(blob: &Blob) -> usize {
    let t = decode_tensor(&blob.data).expect("canonical tensor");
    assert_eq!(t.dims, vec![10]);
    let p = t.f32s().unwrap();
    (0..p.len()).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap()
}

/// `completed` with more than 2/3 of the power agreeing.
fn assert_completed_by_quorum(ev: &Event) {
    assert_eq!(ev.get("status"), "completed", "{ev:?}");
    let agreeing: u64 = ev.get("agreeing_power").parse().expect("agreeing_power");
    let total: u64 = ev.get("total_power").parse().expect("total_power");
    assert!(agreeing * 3 > total * 2, "no 2/3 quorum: {ev:?}");
}

/// Node `i`'s validator consensus address (upper-case hex).
fn validator_address(net: &ChimeraNet, i: usize) -> String {
    let s = rpc_result_at(rpc(net, i), "/status", Duration::from_secs(5)).expect("/status");
    s["validator_info"]["address"]
        .as_str()
        .unwrap_or_default()
        .to_uppercase()
}

#[test]
fn sealed_job_agrees_without_public_sketches() {
    require_binaries();
    let started = Instant::now();
    let mut net = four_validators("chimera-faults-sealed", vec![], None);
    eprintln!("4 validators up after {:?}", started.elapsed());

    // The keys a wallet reads from the chain, and the ones genesis wrote.
    let listed = executor_keys_blocking(&grpc(&net, 0)).expect("Query/ExecutorKeys");
    assert_eq!(listed.len(), 4, "one executor key per validator: {listed:?}");
    let genesis: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(net.home(0).unwrap().join("cometbft/config/genesis.json")).unwrap(),
    )
    .unwrap();
    let mut in_genesis: Vec<String> = genesis["app_state"]["inference"]["executor_keys"]
        .as_array()
        .expect("app_state.inference.executor_keys")
        .iter()
        .map(|k| k["key"].as_str().unwrap().to_lowercase())
        .collect();
    let mut from_query: Vec<String> = listed.iter().map(|(_, k)| hex::encode(k)).collect();
    in_genesis.sort();
    from_query.sort();
    assert_eq!(from_query, in_genesis, "Query/ExecutorKeys lists genesis's keys");
    let mut addresses: Vec<String> = (0..4).map(|i| validator_address(&net, i)).collect();
    addresses.sort();
    let mut key_owners: Vec<String> = listed.iter().map(|(v, _)| v.clone()).collect();
    key_owners.sort();
    assert_eq!(key_owners, addresses, "each validator has its key listed");
    let recipients: Vec<[u8; 32]> = listed.iter().map(|(_, k)| *k).collect();

    let user = chimera_address(keys::USER_MNEMONIC).unwrap().to_string();
    let sent = Instant::now();
    let r = commit_from_user(&net, 0, sealed_seven_msg(&user, &recipients, false), GAS)
        .unwrap_or_else(|e| panic!("sealed MsgRunInference: {e}"));
    let job = r.event("inference_job").expect("inference_job event");
    assert_eq!(job.get("sealed"), "true", "{job:?}");
    let (height, id): (u64, u64) = (r.height, job.get("job_id").parse().unwrap());
    let found = wait_result(&net, 0, height, id);
    let ev = &found.event;
    eprintln!(
        "sealed job {id}: created in block {height}, {} in block {} ({} blocks, {:.2?} after the tx was sent): {:?}",
        ev.get("status"),
        found.height,
        found.height - height,
        found.seen - sent,
        ev.attributes
    );
    assert!(!found.in_tx, "inference_result is a block event");
    assert_completed_by_quorum(ev);

    // No output_key: the output is stored in the clear, served by hash.
    let blob = fetch_output(&net, 0, ev);
    assert_eq!(argmax_of(&blob), 7, "the sealed golden 7 classified otherwise");

    // What the chain saw of it. Extensions made while the result block was
    // voted on land in the next block's record: scan two past the result.
    net.wait_for_height(found.height + 2, Duration::from_secs(60))
        .expect("blocks after the job");
    let reports = job_reports(rpc(&net, 0), height, found.height + 2, id).expect("votes records");
    assert!(
        !reports.is_empty(),
        "no reports of job {id} in blocks {height}..={}",
        found.height + 2
    );
    let (mut results, mut agreements) = (0, 0);
    for r in &reports {
        match &r.report.outcome {
            Some(Outcome::Result(x)) => {
                results += 1;
                assert!(
                    x.sketch.is_empty(),
                    "a plain sketch of sealed job {id} is on chain (block {}, validator {}): {} bytes",
                    r.height,
                    r.validator,
                    x.sketch.len()
                );
                assert!(
                    !x.sealed_sketch.is_empty(),
                    "a sealed job's result without a sealed sketch: {r:?}"
                );
            }
            Some(Outcome::Agreement(a)) => {
                agreements += 1;
                assert!(a.agrees, "an honest validator disagreed: {r:?}");
                assert!(!a.reference.is_empty(), "{r:?}");
            }
            Some(Outcome::Failure(f)) => panic!("validator {} failed the sealed job: {f:?}", r.validator),
            None => panic!("a report without an outcome: {r:?}"),
        }
    }
    // A report repeats in every extension until it is in committed state:
    // count validators, not reports.
    let distinct = |agreement: bool| {
        let mut v: Vec<&str> = reports
            .iter()
            .filter(|r| matches!(r.report.outcome, Some(Outcome::Agreement(_))) == agreement)
            .map(|r| r.validator.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let (sealed_by, agreed_by) = (distinct(false), distinct(true));
    assert!(
        sealed_by >= 1 && results >= 1,
        "the reference's sealed result is on chain: {reports:?}"
    );
    assert!(
        agreed_by >= 2,
        "a quorum of 4 needs the reference and >= 2 agreement bits: {reports:?}"
    );
    eprintln!(
        "job {id}: {} reports in the votes records ({results} sealed results from {sealed_by} validators, \
         {agreements} agreement bits from {agreed_by}), no plain sketch; test took {:?}",
        reports.len(),
        started.elapsed()
    );
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
}

#[test]
fn tampered_envelope_fails_cleanly() {
    require_binaries();
    let started = Instant::now();
    let other = chimera_address(keys::VALIDATOR_MNEMONIC).unwrap().to_string();
    let mut net = four_validators(
        "chimera-faults-tamper",
        vec![(other.clone(), format!("1000000000000{}", chimera::DENOM))],
        None,
    );
    eprintln!("4 validators up after {:?}", started.elapsed());
    let user = chimera_address(keys::USER_MNEMONIC).unwrap().to_string();
    let recipients: Vec<[u8; 32]> = executor_keys_blocking(&grpc(&net, 0))
        .expect("Query/ExecutorKeys")
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(recipients.len(), 4);

    // Two accounts, two txs, sent together right after a block so that the
    // next proposer takes both; retried (fresh signatures) if a block cut
    // between them.
    let tampered_tx = |net: &ChimeraNet| {
        sign_from(
            net,
            0,
            keys::USER_MNEMONIC,
            vec![sealed_seven_msg(&user, &recipients, true)],
            GAS,
        )
        .expect("sign the tampered request")
    };
    let good_tx = |net: &ChimeraNet| {
        sign_from(
            net,
            0,
            keys::VALIDATOR_MNEMONIC,
            vec![run_inference_msg(&other, &Job::digits_cnn(&GOLDEN_SEVEN))],
            GAS,
        )
        .expect("sign the good request")
    };
    let find_job = |net: &ChimeraNet, from: u64, requester: &str| -> Found {
        wait_for_event(rpc(net, 0), from, Duration::from_secs(60), |e: &Event| {
            e.kind == "inference_job" && e.get("requester") == requester
        })
        .unwrap_or_else(|e| panic!("no inference_job of {requester}: {e}"))
    };
    let mut attempt = 0;
    let (bad, good) = loop {
        attempt += 1;
        let (t, g) = (tampered_tx(&net), good_tx(&net));
        let h0 = inference::height(rpc(&net, 0));
        net.wait_for_node_height(0, h0 + 1, Duration::from_secs(30))
            .expect("a new block");
        let from = inference::height(rpc(&net, 0));
        for (name, tx) in [("tampered", &t), ("good", &g)] {
            let (code, log) = net.broadcast_tx_sync(0, tx).expect("broadcast_tx_sync");
            assert_eq!(code, 0, "{name} request refused by CheckTx: {log}");
        }
        let bad = find_job(&net, from, &user);
        let good = find_job(&net, from, &other);
        if bad.height == good.height {
            break (bad, good);
        }
        eprintln!(
            "attempt {attempt}: the two requests landed in blocks {} and {}; again",
            bad.height, good.height
        );
        assert!(attempt < 3, "the two requests never shared a block");
    };
    assert_eq!(bad.event.get("sealed"), "true", "{:?}", bad.event);
    assert_eq!(good.event.get("sealed"), "false", "{:?}", good.event);
    let bad_id: u64 = bad.event.get("job_id").parse().unwrap();
    let good_id: u64 = good.event.get("job_id").parse().unwrap();
    eprintln!(
        "block {}: tampered job {bad_id} (from {user}) and good job {good_id} (from {other})",
        bad.height
    );

    let bad_result = wait_result(&net, 0, bad.height, bad_id);
    let good_result = wait_result(&net, 0, good.height, good_id);
    let (b, g) = (&bad_result.event, &good_result.event);
    eprintln!(
        "tampered job {bad_id}: {} in block {}: {:?}",
        b.get("status"),
        bad_result.height,
        b.attributes
    );
    eprintln!(
        "good job {good_id}: {} in block {}: {:?}",
        g.get("status"),
        good_result.height,
        g.attributes
    );
    assert_eq!(b.get("status"), "failed", "{b:?}");
    assert!(
        b.get("error").contains("code 7 (invalid_sealed_envelope)"),
        "{b:?}"
    );
    assert!(
        b.get("output_sha256").is_empty(),
        "a failed job has no output: {b:?}"
    );
    assert_completed_by_quorum(g);
    assert_eq!(argmax_of(&fetch_output(&net, 0, g)), 7);

    // Every executor reported the failure; none ran the model on garbage.
    let last = bad_result.height.max(good_result.height);
    let reports = job_reports(rpc(&net, 0), bad.height, bad_result.height, bad_id).expect("votes records");
    assert!(!reports.is_empty());
    for r in &reports {
        match &r.report.outcome {
            Some(Outcome::Failure(f)) => assert_eq!(f.code, 7, "{r:?}"),
            other => panic!(
                "validator {} reported {other:?} for the tampered job",
                r.validator
            ),
        }
    }
    // The chain goes on, on every node.
    let after = net
        .wait_for_height(last + 3, Duration::from_secs(60))
        .expect("blocks after the failed job");
    eprintln!(
        "all 4 nodes at height >= {after}; tampered test took {:?}",
        started.elapsed()
    );
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
}

/// Node `i`'s libtorch CPU kernels: default, avx2, avx512, avx2.
fn kernels(i: usize) -> Vec<(&'static str, &'static str)> {
    vec![(
        "ATEN_CPU_CAPABILITY",
        ["default", "avx2", "avx512", "avx2"][i % 4],
    )]
}

#[test]
fn heterogeneous_cpu_kernels_agree() {
    require_binaries();
    let started = Instant::now();
    let mut net = four_validators("chimera-faults-kernels", vec![], Some(kernels));
    eprintln!(
        "4 validators (ATEN_CPU_CAPABILITY default/avx2/avx512/avx2) up after {:?}",
        started.elapsed()
    );
    let names: Vec<(String, usize)> = (0..4).map(|i| (validator_address(&net, i), i)).collect();
    let node_of = |v: &str| {
        names.iter().find(|(a, _)| a == v).map_or_else(
            || format!("? ({v})"),
            |(_, i)| format!("node{i}/{}", kernels(*i)[0].1),
        )
    };

    let mut tiny = Job::text("tiny-lm", "Once upon a time", 42);
    tiny.extra = vec![
        ("max_tokens".into(), "64".into()),
        ("temperature".into(), "0.8".into()),
        ("top_k".into(), "40".into()),
    ];
    let jobs = [
        Job::digits_cnn(&GOLDEN_SEVEN),
        Job::digits_ddpm('3', 7),
        tiny,
        Job::text("minilm-l6", "validators agree on sketches", 0),
    ];
    // All four in flight at once: one tx each, then wait for every result.
    let mut sent = Vec::new();
    for job in &jobs {
        let t = Instant::now();
        let (height, id) =
            inference::submit_job(&net, 0, job, GAS).unwrap_or_else(|e| panic!("{}: {e}", job.model));
        sent.push((job.model.clone(), height, id, t));
    }
    let mut disagreements = Vec::new();
    for (model, height, id, t) in &sent {
        let found = wait_result(&net, 0, *height, *id);
        let ev = &found.event;
        eprintln!(
            "{model}: job {id} {} in {} blocks ({:.2?}), {}/{} power, output {} {}",
            ev.get("status"),
            found.height - height,
            found.seen - *t,
            ev.get("agreeing_power"),
            ev.get("total_power"),
            ev.get("output_sha256"),
            ev.get("error")
        );
        if ev.get("status") != "completed" || ev.get("agreeing_power") != ev.get("total_power") {
            let reports = job_reports(rpc(&net, 0), *height, found.height + 1, *id).unwrap_or_default();
            let per: Vec<String> = reports
                .iter()
                .map(|r| match &r.report.outcome {
                    Some(Outcome::Result(x)) => format!(
                        "{}: output {} sketch {}",
                        node_of(&r.validator),
                        r.output_sha256(),
                        hex::encode(&x.sketch)
                    ),
                    other => format!("{}: {other:?}", node_of(&r.validator)),
                })
                .collect();
            disagreements.push(format!(
                "{model} (job {id}): {:?}\n  {}",
                ev.attributes,
                per.join("\n  ")
            ));
        } else {
            // Which exact outputs the kernels produced (they need not be equal).
            let reports = job_reports(rpc(&net, 0), *height, found.height, *id).unwrap_or_default();
            let mut hashes: Vec<String> = reports
                .iter()
                .map(|r| {
                    format!(
                        "{}={}",
                        node_of(&r.validator),
                        &r.output_sha256()[..16.min(r.output_sha256().len())]
                    )
                })
                .collect();
            hashes.sort();
            eprintln!("  per-validator outputs: {}", hashes.join(", "));
        }
    }
    assert!(
        disagreements.is_empty(),
        "not every kernel agreed:\n{}",
        disagreements.join("\n")
    );
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    eprintln!("kernel test took {:?}", started.elapsed());
}

#[test]
fn restarted_validator_catches_up_and_serves_the_blob() {
    require_binaries();
    let started = Instant::now();
    let mut net = four_validators("chimera-faults-restart", vec![], None);
    let status = net.stop_node(3).expect("stop node3");
    let stopped_at = inference::height(rpc(&net, 0));
    eprintln!(
        "node3 stopped ({status}) at height ~{stopped_at}, {:?} after start",
        started.elapsed()
    );

    let sent = Instant::now();
    let (height, id) =
        inference::submit_job(&net, 0, &Job::digits_ddpm('7', 42), GAS).expect("digits-ddpm request");
    let found = wait_result(&net, 0, height, id);
    let ev = found.event.clone();
    eprintln!(
        "job {id}: created in block {height}, {} in block {} ({:.2?}) without node3: {:?}",
        ev.get("status"),
        found.height,
        found.seen - sent,
        ev.attributes
    );
    assert_eq!(ev.get("status"), "completed", "{ev:?}");
    assert_eq!(
        ev.get("agreeing_power"),
        "30",
        "the three running validators agree: {ev:?}"
    );
    assert_eq!(ev.get("total_power"), "40", "{ev:?}");
    let want = hex::decode(ev.get("output_sha256")).unwrap();
    let from_node0 = fetch_output(&net, 0, &ev);

    let restarted = Instant::now();
    net.restart(3).expect("restart node3");
    let h = net
        .wait_for_node_height(3, found.height + 1, Duration::from_secs(180))
        .expect("node3 catches up past the result");
    eprintln!(
        "node3 restarted and at height {h} (result at {}) after {:.2?}",
        found.height,
        restarted.elapsed()
    );
    let blob = wait_blob(&grpc(&net, 3), &want, Duration::from_secs(60)).unwrap_or_else(|e| {
        panic!(
            "node3 never served job {id}'s output {}: {e}\n{}",
            ev.get("output_sha256"),
            inference::log_lines(net.home(3).unwrap(), "agreed output", 10).join("\n")
        )
    });
    assert_eq!(
        sha256(&blob.data).as_slice(),
        want.as_slice(),
        "node3 serves other bytes"
    );
    assert_eq!(blob.data, from_node0.data);
    assert_eq!(blob.info_encoding, "png", "{:?}", blob.info_encoding);
    let fetched = inference::log_lines(net.home(3).unwrap(), "fetched the agreed output", 4);
    eprintln!(
        "node3 serves job {id}'s {} bytes (pins {}) {:.2?} after its restart; its log: {fetched:?}; test took {:?}",
        blob.data.len(),
        blob.info_pins,
        restarted.elapsed(),
        started.elapsed()
    );
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
}
