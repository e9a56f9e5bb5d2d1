//! `chimera-e2e bench-inference` in its smallest configuration, so the
//! benchmark itself keeps working: one validator, two sequential digits-cnn
//! requests (after one warm-up) and five throughput requests from five
//! accounts, no IBC, no Python peer. It checks counts (every request ends in
//! exactly one result, every run's `job executed` line was found), never
//! timings. Needs `cometbft` from `scripts/setup` and a built chimerad
//! (`cargo build -p chimera-host --bin chimerad`).

use std::time::Duration;

use chimera_e2e::bench_inference::{run, InferenceBenchConfig};

#[test]
fn bench_inference_runs_and_every_request_ends_once() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera_e2e::chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let report = run(&InferenceBenchConfig {
        validators: vec![1],
        models: vec!["digits-cnn".into()],
        latency: 2,
        warmup: 1,
        requests: 5,
        senders: 5,
        threads: 5,
        ibc: 0,
        ibc_stagger: Duration::ZERO,
        timeout_commit: Duration::from_millis(500),
        python: None,
        chimerad: None,
        wait: Duration::from_secs(120),
    })
    .expect("bench-inference");
    println!("{}\n{}", report.details(), report.markdown());

    assert_eq!(report.latency.len(), 1, "one row: 1 validator, digits-cnn");
    let row = &report.latency[0];
    assert_eq!((row.validators, row.model.as_str()), (1, "digits-cnn"));
    assert_eq!(row.samples.len(), 2, "{row:?}");
    for s in &row.samples {
        assert_eq!(s.status, "completed", "{s:?}");
        assert!(s.result_height > s.tx_height, "{s:?}");
        assert_eq!(s.executed.len(), 1, "the validator logged the run: {s:?}");
        assert!(s.executed[0].vote_height >= s.tx_height, "{s:?}");
        assert!(s.executed[0].vote_height < s.result_height, "{s:?}");
    }
    assert_eq!(row.report_to_result().len(), 2, "{row:?}");

    assert_eq!(report.throughput.len(), 1);
    let t = &report.throughput[0];
    assert_eq!(
        (t.requests, t.senders, t.accepted, t.committed, t.tx_failed),
        (5, 5, 5, 5, 0),
        "{t:?}"
    );
    assert_eq!(t.completed + t.failed, 5, "every request ended: {t:?}");
    assert_eq!(
        (t.no_result, t.duplicates),
        (0, 0),
        "exactly one result each: {t:?}"
    );
    assert_eq!(t.request_blocks.len(), 5, "{t:?}");
    assert!(t.refused.is_empty(), "{t:?}");
    assert!(report.ibc.is_none() && report.peer.is_empty());
    assert!(report.all_good());
}
