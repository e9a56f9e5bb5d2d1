//! `chimera-e2e bench-inference` in its smallest configuration: one
//! validator, two sequential requests per model and a burst of ten
//! digits-cnn requests, so the benchmark itself stays working. It checks
//! counts (every request ends in exactly one result), never timings.

use chimera_e2e::bench_inference::{run, InferenceBenchConfig};

#[test]
fn bench_inference_runs_and_every_request_ends_once() {
    chimera_e2e::bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera_e2e::chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let report = run(&InferenceBenchConfig {
        validators: vec![1],
        latency: 2,
        throughput: 10,
        per_tx: 5,
        chimerad: None,
    })
    .expect("bench-inference");
    assert_eq!(report.latency.len(), 2, "one row per model");
    for row in &report.latency {
        assert_eq!(row.blocks.len(), 2, "{row:?}");
        assert!(row.blocks.iter().all(|b| *b >= 1), "{row:?}");
        assert_eq!(row.ran_ms.len(), 2, "every job's execution was logged: {row:?}");
    }
    let t = &report.throughput[0];
    assert_eq!(
        (t.requests, t.completed, t.failed, t.duplicates),
        (10, 10, 0, 0),
        "{t:?}"
    );
    println!("{}", report.markdown());
}
