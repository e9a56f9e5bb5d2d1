//! Inference jobs on real chimerad localnets, end to end: `MsgRunInference`
//! in a tx, every validator's executor runs the model after commit and
//! reports in its vote extension, the next proposer puts the votes first in
//! its block, FinalizeBlock tallies and emits `inference_result`; the output
//! is fetched from the node's BlobService and checked against the hash the
//! chain agreed on. One validator; four with one dishonest executor (`[executor]
//! fault = "wrong-results"`: completes with 3 of 4); four with two (results
//! split: `no_quorum`, and blocks go on). Needs `cometbft` from
//! `scripts/setup`, a built chimerad (`cargo build -p chimera-host --bin
//! chimerad`) and the models in `host/models`.

use std::time::{Duration, Instant};

use chimera_e2e::bins;
use chimera_e2e::chimera::{self, chimera_address, ChimeraNet, ChimeraNetConfig, PrepareNode};
use chimera_e2e::inference::{
    self, blob_get_blocking, decode_tensor, run_inference_msg, sha256, wait_for_event, Event, Found, Job,
    GOLDEN_SEVEN,
};
use chimera_e2e::keys;

/// How long a job may take from its tx to its `inference_result`.
const RESULT_WAIT: Duration = Duration::from_secs(120);

/// Gas for one `MsgRunInference` with a 256-byte input (storing a 3 KiB
/// input costs about 100k).
const RUN_GAS: u64 = 400_000;

fn require_binaries() {
    bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

/// Signs and commits `MsgRunInference` of `job` from the funded user
/// through node `i`; returns the tx's height and the job id of its
/// `inference_job` event.
fn run_job(net: &ChimeraNet, i: usize, job: &Job) -> (u64, u64) {
    let user = chimera_address(keys::USER_MNEMONIC).unwrap();
    let r = inference::commit_from_user(net, i, run_inference_msg(user.as_ref(), job), RUN_GAS)
        .unwrap_or_else(|e| panic!("MsgRunInference: {e}"));
    let ev = r
        .event("inference_job")
        .unwrap_or_else(|| panic!("no inference_job event: {:?}", r.events));
    let id = ev.get("job_id").parse().expect("job_id");
    eprintln!(
        "MsgRunInference {} in block {} (gas {} of {}): job {id}, deadline {}",
        job.model,
        r.height,
        r.gas_used,
        r.gas_wanted,
        ev.get("deadline_height")
    );
    (r.height, id)
}

/// Waits for the `inference_result` block event of job `id` on node `i`,
/// scanning from `from`; on a timeout, fails with what the nodes logged.
fn wait_result(net: &ChimeraNet, i: usize, from: u64, id: u64) -> Found {
    let job = id.to_string();
    wait_for_event(net.rpc_addr(i).unwrap(), from, RESULT_WAIT, |e: &Event| {
        e.kind == "inference_result" && e.get("job_id") == job
    })
    .unwrap_or_else(|e| {
        let mut report = format!("job {id}: no inference_result: {e}\n");
        for n in 0..net.len() {
            let home = net.home(n).unwrap();
            report.push_str(&format!("--- node{n} ({}) ---\n", home.display()));
            for needle in ["job", "ERROR", "WARN", "executor", "vote"] {
                for l in inference::log_lines(home, needle, 8) {
                    report.push_str(&l);
                    report.push('\n');
                }
            }
        }
        panic!("{report}")
    })
}

fn grpc_url(net: &ChimeraNet, i: usize) -> String {
    format!("http://127.0.0.1:{}", net.ports(i).unwrap().grpc)
}

/// Fetches the output named by a completed job's event from node `i`'s
/// BlobService, checks its hash, and returns the 10 probabilities.
fn fetch_probabilities(net: &ChimeraNet, i: usize, ev: &Event) -> Vec<f32> {
    let want = hex::decode(ev.get("output_sha256")).expect("output_sha256 is hex");
    assert_eq!(want.len(), 32, "{ev:?}");
    let blob = blob_get_blocking(&grpc_url(net, i), &want).expect("BlobService Get");
    assert_eq!(
        sha256(&blob.data).as_slice(),
        want.as_slice(),
        "served bytes hash elsewhere"
    );
    assert_eq!(blob.info_sha256, want);
    assert_eq!(blob.info_size, blob.data.len() as u64);
    assert_eq!(ev.get("output_size"), blob.data.len().to_string(), "{ev:?}");
    assert_eq!(blob.data.len(), 50, "f32[10] is 2 + 8 + 40 bytes");
    assert_eq!(&blob.data[..10], &[9, 1, 10, 0, 0, 0, 0, 0, 0, 0]);
    let t = decode_tensor(&blob.data).expect("canonical tensor");
    assert_eq!(t.dims, vec![10]);
    let p = t.f32s().unwrap();
    assert!(p.iter().all(|x| (0.0..=1.0).contains(x)), "{p:?}");
    let sum: f32 = p.iter().sum();
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}: {p:?}");
    eprintln!(
        "output {} ({} bytes, encoding {:?}, pins {}) from node{i}'s BlobService: {p:.4?}",
        ev.get("output_sha256"),
        blob.data.len(),
        blob.info_encoding,
        blob.info_pins
    );
    p
}

fn argmax(p: &[f32]) -> usize {
    p.iter()
        .enumerate()
        .fold(
            (0, f32::MIN),
            |best, (i, &x)| if x > best.1 { (i, x) } else { best },
        )
        .0
}

/// A 4-validator localnet whose homes `prepare` edits before start (the
/// fault knobs).
fn four_validators(chain_id: &str, prepare: PrepareNode) -> ChimeraNet {
    ChimeraNet::start(ChimeraNetConfig {
        validators: 4,
        chain_id: chain_id.into(),
        prepare_node: Some(prepare),
        ..ChimeraNetConfig::default()
    })
    .expect("start 4-validator localnet")
}

#[test]
fn single_validator_runs_digits_cnn_and_serves_the_output() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        chain_id: "chimera-infer-1".into(),
        ..ChimeraNetConfig::default()
    })
    .expect("start localnet");
    eprintln!("1 validator up after {:?}", started.elapsed());

    let sent = Instant::now();
    let (height, id) = run_job(&net, 0, &Job::digits_cnn(&GOLDEN_SEVEN));
    let found = wait_result(&net, 0, height, id);
    let ev = &found.event;
    eprintln!(
        "job {id}: inference_result in block {} ({} blocks, {:.2?} after the tx was sent): {:?}",
        found.height,
        found.height - height,
        found.seen - sent,
        ev.attributes
    );
    assert!(!found.in_tx, "inference_result must be a block event");
    assert_eq!(ev.get("status"), "completed", "{ev:?}");
    assert_eq!(ev.get("model"), "digits-cnn");
    assert_eq!(ev.get("agreeing_power"), "10", "{ev:?}");
    assert_eq!(ev.get("total_power"), "10", "{ev:?}");
    let p = fetch_probabilities(&net, 0, ev);
    assert_eq!(argmax(&p), 7, "the golden 7 classified as {}: {p:?}", argmax(&p));

    // Blocks go on after the job.
    net.wait_for_height(found.height + 2, Duration::from_secs(30))
        .expect("blocks after the job");
    let status = net.stop_node(0).expect("stop");
    assert!(status.success(), "{status}");
    eprintln!("single-validator inference test took {:?}", started.elapsed());
}

#[test]
fn one_wrong_executor_of_four_is_outvoted() {
    require_binaries();
    let started = Instant::now();
    let mut net = four_validators("chimera-infer-4a", |i, home| {
        if i == 3 {
            inference::set_executor_fault(home, "wrong-results")?;
        }
        Ok(())
    });
    eprintln!(
        "4 validators (node3 wrong-results) up after {:?}",
        started.elapsed()
    );
    let sent = Instant::now();
    let (height, id) = run_job(&net, 0, &Job::digits_cnn(&GOLDEN_SEVEN));
    let found = wait_result(&net, 0, height, id);
    let ev = &found.event;
    eprintln!(
        "job {id}: inference_result in block {} ({} blocks, {:.2?}): {:?}",
        found.height,
        found.height - height,
        found.seen - sent,
        ev.attributes
    );
    assert_eq!(ev.get("status"), "completed", "{ev:?}");
    assert_eq!(
        ev.get("agreeing_power"),
        "30",
        "3 of 4 validators (10 each): {ev:?}"
    );
    assert_eq!(ev.get("total_power"), "40", "{ev:?}");
    let p = fetch_probabilities(&net, 0, ev);
    assert_eq!(argmax(&p), 7, "{p:?}");
    net.wait_for_height(found.height + 2, Duration::from_secs(30))
        .expect("blocks after the job");
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    eprintln!("1-of-4 faulty test took {:?}", started.elapsed());
}

#[test]
fn two_wrong_executors_of_four_split_the_vote() {
    require_binaries();
    let started = Instant::now();
    let mut net = four_validators("chimera-infer-4b", |i, home| {
        if i >= 2 {
            inference::set_executor_fault(home, "wrong-results")?;
        }
        Ok(())
    });
    eprintln!(
        "4 validators (node2, node3 wrong-results) up after {:?}",
        started.elapsed()
    );
    let sent = Instant::now();
    let (height, id) = run_job(&net, 0, &Job::digits_cnn(&GOLDEN_SEVEN));
    let found = wait_result(&net, 0, height, id);
    let ev = &found.event;
    eprintln!(
        "job {id}: inference_result in block {} ({} blocks, {:.2?}): {:?}",
        found.height,
        found.height - height,
        found.seen - sent,
        ev.attributes
    );
    assert_eq!(ev.get("status"), "failed", "{ev:?}");
    let error = ev.get("error");
    assert!(error.contains("code 12 (no_quorum)"), "{ev:?}");
    assert!(
        error.contains("split"),
        "decided once all reported, not at the deadline: {ev:?}"
    );
    assert!(
        found.height < height + 50,
        "decided at {} (deadline {})",
        found.height,
        height + 50
    );
    // The chain keeps producing blocks, on every node.
    let after = net
        .wait_for_height(found.height + 3, Duration::from_secs(30))
        .expect("blocks after the split vote");
    eprintln!("all 4 nodes at height >= {after} after the split");
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    eprintln!("2-of-4 faulty test took {:?}", started.elapsed());
}
