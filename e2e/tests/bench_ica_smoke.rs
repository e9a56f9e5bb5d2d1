//! `bench_ica` runs end to end on real chains (two requests per route) and
//! every stage it reports was measured: no timing is asserted, only that
//! each sample saw its blocks and a verified output.

#[test]
fn bench_ica_measures_every_stage() {
    let report = chimera_e2e::bench_ica::run(&chimera_e2e::bench_ica::IcaBenchConfig {
        requests: 2,
        ..Default::default()
    })
    .expect("bench-ica");
    assert_eq!(report.ica.len(), 2);
    assert_eq!(report.local.len(), 2);
    assert_eq!(report.ics20.len(), 2);
    for s in &report.ica {
        for (what, v) in [
            ("inclusion", s.inclusion),
            ("relay", s.relay),
            ("execution", s.execution),
            ("ack back", s.ack_back),
            ("fetch", s.fetch),
        ] {
            assert!(v.is_finite() && v >= 0.0, "{what}: {v}");
        }
        assert!(s.terra_blocks >= 1 && s.host_blocks >= 1, "{s:?}");
    }
    let md = report.markdown();
    println!("{md}");
    assert!(md.contains("sum of the stages") && md.contains("ICS-20 round trip"));
}
