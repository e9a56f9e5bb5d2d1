//! `chimera fees ...`: argument mistakes (exit 2, one line naming the
//! argument), a node that does not answer (exit 1, one line), and the three
//! queries against a real chimerad gRPC server over a fresh genesis state
//! (defaults: no prices, nothing paid, no validators), as text and JSON.

mod support;

use std::process::Output;

use chimera_host::chain::genesis::AppGenesis;
use chimera_host::state::{Delta, Storage, StorageOptions};
use support::{chimera, closed_url, expect_exit, fails_in_one_line, text};

fn fees(args: &[&str]) -> Output {
    let mut all = vec!["fees"];
    all.extend_from_slice(args);
    chimera(&all, "")
}

#[test]
fn argument_mistakes_are_usage_errors() {
    let closed = closed_url();
    for (args, needles) in [
        (vec!["totals"], vec!["--node"]),
        (
            vec!["params", "--node", "127.0.0.1:9090"],
            vec!["--node", "http://HOST:PORT"],
        ),
        (
            vec!["executors", "--node", "http://"],
            vec!["--node", "not a URL"],
        ),
        (
            vec!["totals", "--node", &closed, "--height", "0"],
            vec!["--height", "at least 1"],
        ),
        (
            vec!["totals", "--node", &closed, "--height", "tall"],
            vec!["--height", "not a block height"],
        ),
        (vec!["params", "--node", &closed, "--bogus"], vec!["--bogus"]),
        (vec!["refunds", "--node", &closed], vec!["refunds"]),
    ] {
        let context = args.join(" ");
        fails_in_one_line(&fees(&args), 2, &needles, &context);
    }
}

#[test]
fn a_node_that_does_not_answer_is_a_failure() {
    let node = closed_url();
    for sub in ["params", "totals", "executors"] {
        fails_in_one_line(&fees(&[sub, "--node", &node]), 1, &["cannot reach", &node], sub);
    }
}

#[test]
fn help_names_every_subcommand() {
    let out = fees(&["--help"]);
    let stdout = text(&out.stdout);
    expect_exit(&out, 0, "fees --help");
    for sub in ["params", "totals", "executors"] {
        assert!(stdout.contains(sub), "{sub} not in:\n{stdout}");
    }
}

/// A chimerad gRPC server over a store holding only a fresh genesis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_queries_on_a_fresh_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(
        dir.path(),
        StorageOptions {
            keep_versions: 0,
            sync: false,
        },
    )
    .unwrap();
    let mut state = Delta::new(storage.latest_snapshot());
    AppGenesis::parse(b"{}").unwrap().apply(&mut state).unwrap();
    storage.commit(1, state.into_changes()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chimera_host::grpc::serve_on(
        listener,
        storage,
        None,
        None,
        "chimera-fees-cli".into(),
        closed_url(),
        async move {
            let _ = stopped.await;
        },
    ));

    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || fees(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let args = |sub: &str, json: bool| {
        let mut a = vec![sub.to_string(), "--node".into(), node.clone()];
        if json {
            a.push("--json".into());
        }
        a
    };
    let out = run(args("params", true)).await.unwrap();
    expect_exit(&out, 0, "params --json");
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &p["executor_bps"],
            &p["burn_bps"],
            &p["community_bps"],
            &p["fault_limit"]
        ),
        (&7000.into(), &2000.into(), &1000.into(), &3.into())
    );
    assert_eq!(p["height"], 1);
    let out = run(args("params", false)).await.unwrap();
    expect_exit(&out, 0, "params");
    assert!(text(&out.stdout).contains("executors 70.00%, burn 20.00%, community 10.00%"));

    let out = run(args("totals", false)).await.unwrap();
    expect_exit(&out, 0, "totals");
    assert!(text(&out.stdout).contains("no fees yet"), "{}", text(&out.stdout));
    let out = run(args("totals", true)).await.unwrap();
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["totals"], serde_json::json!([]));

    let out = run(args("executors", true)).await.unwrap();
    expect_exit(&out, 0, "executors --json");
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["executors"], serde_json::json!([]));
    // A height the store does not hold: the node refuses, exit 1.
    let mut past = args("executors", false);
    past.extend(["--height".into(), "99".into()]);
    let out = run(past).await.unwrap();
    fails_in_one_line(&out, 1, &["Executors", "99"], "executors --height 99");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
