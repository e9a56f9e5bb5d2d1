//! The `bench-ics20` code path with tiny numbers: one counted transfer per
//! direction and no warm-up, on both paths (chimerad ↔ terrad, then
//! terrad ↔ terrad), relayed by Hermes. Every packet must be received and
//! acknowledged in later blocks than its send, every receiver must hold
//! exactly the amount sent and every escrow must have grown by it, and every
//! chain must have run with the same `timeout_commit`. No wall-clock
//! thresholds: the figures are only checked for sense.
//! Needs `terrad`, `cometbft` and `hermes` from `scripts/setup` and a built
//! `chimerad` (`cargo build -p chimera-host --bin chimerad`); a missing one
//! fails with the command that installs it, as in `bench_bank_smoke.rs`.

use std::time::Duration;

use chimera_e2e::bench_ics20::{self, Ics20Config, Ics20Peer, TRANSFER_AMOUNT};
use chimera_e2e::bins;
use chimera_e2e::chimera;

#[test]
fn one_transfer_each_way_round_trips_on_both_paths_and_moves_balances() {
    for b in ["terrad", "cometbft", "hermes"] {
        bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let config = Ics20Config {
        transfers: 1,
        warmup: 0,
        peer: Ics20Peer::Terrad,
        ..Ics20Config::default()
    };
    let report = bench_ics20::run(&config).expect("bench run");
    eprintln!("{}\n{}", report.details(), report.markdown());
    let peer = report.peer.as_ref().expect("the terrad path ran");

    let denoms: Vec<&str> = report
        .chimera
        .directions
        .iter()
        .map(|d| d.denom.as_str())
        .collect();
    assert_eq!(denoms, ["uluna", "uchim"], "Terra → chimerad, then back");
    for path in [&report.chimera, peer] {
        assert_eq!(path.chains.len(), 2, "{}", path.name);
        for c in &path.chains {
            assert_eq!(c.timeout_commit, "1000ms", "{c:?}");
            assert!(c.block_interval > Duration::ZERO, "{c:?}");
        }
        assert_eq!(path.directions.len(), 2, "{}", path.name);
        for d in &path.directions {
            assert!(d.warmup.is_empty());
            assert_eq!(d.samples.len(), 1, "{d:?}");
            let s = &d.samples[0];
            assert!(s.send_height > 0 && s.recv_height > 0, "{s:?}");
            assert!(
                s.blocks_to_ack() > 0,
                "acknowledged after the send's block: {s:?}"
            );
            assert!(s.send_to_recv > Duration::ZERO, "{s:?}");
            assert!(s.send_to_ack > s.send_to_recv, "{s:?}");
            let (blocks, max_blocks) = d.blocks_to_ack();
            assert!(blocks > 0.0 && blocks == max_blocks, "{d:?}");
            assert_eq!(d.receiver.rise(), TRANSFER_AMOUNT, "{:?}", d.receiver);
            assert_eq!(d.receiver.before, 0, "a fresh receiver: {:?}", d.receiver);
            assert_eq!(d.escrow.rise(), TRANSFER_AMOUNT, "{:?}", d.escrow);
        }
    }
    let table = report.markdown();
    assert!(
        table.contains("| chimerad ↔ terrad | uluna localterra-1 → chimera-localnet-1 | 1 |"),
        "{table}"
    );
    assert!(
        table.contains("| chimerad ↔ terrad / terrad ↔ terrad |"),
        "{table}"
    );
}
