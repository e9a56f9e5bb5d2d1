//! The `bench-bank` code path with tiny numbers: a single-validator chimerad
//! localnet, 4 senders with 10 pre-signed bank sends each, broadcast from 4
//! threads. Every tx must be accepted and committed with code 0, and every
//! sender and recipient balance must have moved by exactly the amounts and
//! fees. No wall-clock thresholds: the figures are only checked for sense.
//! The load starts just after a block (the idle timing ends on a height
//! change) and 40 txs are answered well within one block time, so no
//! mempool recheck runs mid-broadcast; the 2000-tx runs in
//! docs/benchmarks.md do straddle commits.
//! Needs `cometbft` from `scripts/setup` and a built `chimerad`
//! (`cargo build -p chimera-host --bin chimerad`).

use std::time::Duration;

use chimera_e2e::bench_bank::{self, BenchConfig, Peer, GAS_LIMIT, SEND_AMOUNT};
use chimera_e2e::bins;
use chimera_e2e::chimera::{self, required_fee};

#[test]
fn tiny_bench_commits_every_tx_and_moves_balances_exactly() {
    bins::find_binary("cometbft").unwrap_or_else(|e| panic!("{e}"));
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let config = BenchConfig {
        validators: 1,
        txs: 40,
        senders: 4,
        peer: Peer::None,
        idle_blocks: 1,
        ..BenchConfig::default()
    };
    let report = bench_bank::run(&config).expect("bench run");
    eprintln!("{}\n{}", report.details(), report.markdown());
    assert!(report.peer.is_none());
    let run = &report.chimerad;

    assert!(run.refused.is_empty(), "{:?}", run.refused);
    assert_eq!(run.accepted, 40);
    assert_eq!(run.committed(), 40, "{:?}", run.blocks);
    assert_eq!(run.committed_ok(), 40, "{:?}", run.blocks);
    let heights: Vec<u64> = run.blocks.iter().map(|b| b.height).collect();
    assert!(
        heights.windows(2).all(|w| w[1] == w[0] + 1),
        "blocks are consecutive: {heights:?}"
    );
    assert!(run.blocks.last().is_some_and(|b| b.txs > 0));

    // 4 senders and 4 recipients, each moved by exactly 10 sends.
    assert_eq!(run.balances.len(), 8);
    let per_sender = 10 * (SEND_AMOUNT + required_fee(GAS_LIMIT));
    for (i, b) in run.balances.iter().enumerate() {
        assert_eq!(b.after, b.expected, "{b:?}");
        if i % 2 == 0 {
            assert_eq!(b.before - b.after, per_sender, "sender {b:?}");
        } else {
            assert_eq!(b.after - b.before, 10 * SEND_AMOUNT, "recipient {b:?}");
        }
    }
    assert!(run.all_good());

    // The figures exist and are sane, without timing thresholds.
    assert!(run.broadcast > Duration::ZERO && run.commit >= run.broadcast);
    assert!(run.accepted_tps() > 0.0 && run.committed_tps() > 0.0);
    assert_eq!(run.processes.len(), 2, "{:?}", run.processes);
    assert!(
        run.processes.iter().all(|p| p.peak_rss_kib > 0),
        "{:?}",
        run.processes
    );
    assert!(report.markdown().contains("| chimerad | 1 | 40 / 40 / 40 |"));
}
