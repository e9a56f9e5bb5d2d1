//! The `bench-relayer` code path with tiny numbers: a 20-packet burst on
//! each path (ICS-20 Terra → chimerad, inference chimerad → chimerad),
//! relayed by Hermes and then by `chimera relay`. Every packet of every
//! burst must be acknowledged (the benchmark errors otherwise), each run
//! must report 20 latencies, both relayers must have sent txs on both chains
//! and paid fees there, and the report must compare them. No wall-clock
//! thresholds: the figures are only checked for sense. Needs `terrad`,
//! `cometbft` and `hermes` from `scripts/setup`, a built chimerad and the
//! `chimera` binary (`cargo build -p chimera-relayer`).

use chimera_e2e::bench_relayer::{self, RelayerBenchConfig};
use chimera_e2e::{bins, chimera};

#[test]
fn a_small_burst_on_both_paths_is_acknowledged_through_both_relayers() {
    for b in ["terrad", "cometbft", "hermes"] {
        bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let config = RelayerBenchConfig {
        packets: 20,
        per_tx: 10,
        ..RelayerBenchConfig::default()
    };
    let report = bench_relayer::run(&config).expect("bench run");
    let md = report.markdown();
    eprintln!("{md}");
    let runs: Vec<(&str, &str)> = report.runs.iter().map(|r| (r.path, r.relayer)).collect();
    assert_eq!(
        runs,
        [
            ("ics20", "hermes"),
            ("ics20", "chimera relay"),
            ("inference", "hermes"),
            ("inference", "chimera relay")
        ]
    );
    for r in &report.runs {
        assert_eq!(r.packets, 20, "{r:?}");
        assert_eq!(r.latencies.len(), 20, "{r:?}");
        assert!(
            r.txs.0 >= 1 && r.txs.1 >= 1,
            "{} sent no tx on a chain: {r:?}",
            r.relayer
        );
        assert!(
            r.fees.0 > 0 && r.fees.1 > 0,
            "{} paid no fee on a chain: {r:?}",
            r.relayer
        );
        assert!(r.peak_rss_kib > 0, "{r:?}");
        assert!(r.quantile(0.5) <= r.quantile(0.99));
    }
    assert!(md.contains("ics20: chimera relay / Hermes: throughput"), "{md}");
    assert!(
        md.contains("inference: chimera relay / Hermes: throughput"),
        "{md}"
    );
}
