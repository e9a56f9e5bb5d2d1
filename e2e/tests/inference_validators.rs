//! Validators that differ, on real 4-validator chimerad nets:
//! - heterogeneous hardware, imitated on one machine: each node's libtorch
//!   picks other CPU kernels (`ATEN_CPU_CAPABILITY` = default, avx2,
//!   avx512, avx2); every zoo model's result must still be agreed by all
//!   four (agreement is on sketches, not exact float hashes);
//! - a validator that is down while a job runs: the other three finish it,
//!   and once restarted it replays the blocks, fetches the agreed output
//!   from a peer (`blob_peers`) and serves it from its own BlobService.
//!
//! Needs `cometbft` from `scripts/setup` and a built chimerad.

use std::time::{Duration, Instant};

use chimera_e2e::chimera::{self, ChimeraNet, ChimeraNetConfig};
use chimera_e2e::inference::{blob_get_blocking, sha256, submit_job, wait_job, Job, GOLDEN_SEVEN};

const RESULT_WAIT: Duration = Duration::from_secs(180);
const GAS: u64 = 600_000;

fn require_binaries() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
}

fn kernels(i: usize) -> Vec<(&'static str, &'static str)> {
    vec![(
        "ATEN_CPU_CAPABILITY",
        ["default", "avx2", "avx512", "avx2"][i % 4],
    )]
}

fn grpc(net: &ChimeraNet, i: usize) -> String {
    format!("http://127.0.0.1:{}", net.ports(i).unwrap().grpc)
}

#[test]
fn validators_on_different_cpu_kernels_agree_on_every_zoo_model() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        validators: 4,
        chain_id: "chimera-kernels-4".into(),
        node_env: Some(kernels),
        ..ChimeraNetConfig::default()
    })
    .expect("start 4-validator localnet");
    eprintln!(
        "4 validators (ATEN_CPU_CAPABILITY default/avx2/avx512/avx2) up after {:?}",
        started.elapsed()
    );
    let jobs = [
        Job::digits_cnn(&GOLDEN_SEVEN),
        Job::digits_ddpm('3', 7),
        Job::text("tiny-lm", "Once upon a time", 42),
        Job::text("minilm-l6", "validators agree on sketches", 0),
    ];
    for job in &jobs {
        let (height, id) = submit_job(&net, 0, job, GAS).unwrap_or_else(|e| panic!("{}: {e}", job.model));
        let found =
            wait_job(&net, 0, height, id, RESULT_WAIT).unwrap_or_else(|e| panic!("{}: {e}", job.model));
        let ev = &found.event;
        eprintln!(
            "{}: job {id} {} in {} blocks, {}/{} power, output {}",
            job.model,
            ev.get("status"),
            found.height - height,
            ev.get("agreeing_power"),
            ev.get("total_power"),
            ev.get("output_sha256")
        );
        assert_eq!(ev.get("status"), "completed", "{}: {ev:?}", job.model);
        assert_eq!(
            ev.get("agreeing_power"),
            ev.get("total_power"),
            "{}: not every kernel agreed: {ev:?}",
            job.model
        );
    }
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    eprintln!("kernel test took {:?}", started.elapsed());
}

#[test]
fn a_validator_down_during_a_job_catches_up_and_serves_the_output() {
    require_binaries();
    let started = Instant::now();
    let mut net = ChimeraNet::start(ChimeraNetConfig {
        validators: 4,
        chain_id: "chimera-catchup-4".into(),
        ..ChimeraNetConfig::default()
    })
    .expect("start 4-validator localnet");
    let status = net.kill9(3).expect("kill node3");
    eprintln!("node3 killed ({status}) after {:?}", started.elapsed());

    let (height, id) = submit_job(&net, 0, &Job::digits_ddpm('7', 42), GAS).expect("submit");
    let found = wait_job(&net, 0, height, id, RESULT_WAIT).expect("result with three validators");
    let ev = found.event.clone();
    assert_eq!(ev.get("status"), "completed", "{ev:?}");
    assert_eq!(ev.get("agreeing_power"), "30", "three of four agree: {ev:?}");
    let want = hex::decode(ev.get("output_sha256")).unwrap();
    eprintln!("job {id} completed at height {} without node3", found.height);

    net.restart(3).expect("restart node3");
    net.wait_for_node_height(3, found.height + 2, Duration::from_secs(60))
        .expect("node3 catches up");
    // The fetch runs in the background after the finishing block commits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let blob = loop {
        match blob_get_blocking(&grpc(&net, 3), &want) {
            Ok(b) => break b,
            Err(e) if Instant::now() < deadline => {
                eprintln!("node3 has no output yet: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("node3 never served the agreed output: {e}"),
        }
    };
    assert_eq!(sha256(&blob.data).as_slice(), want.as_slice());
    assert!(blob.info_pins >= 1, "the agreed output is pinned on node3");
    eprintln!(
        "node3 serves job {id}'s {} bytes after catching up ({:?})",
        blob.data.len(),
        started.elapsed()
    );
    let statuses = net.stop().expect("stop");
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
}
