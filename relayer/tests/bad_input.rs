//! The `chimera` binary fed bad input, as an operator would feed it: broken
//! or wrong configs, missing keys, endpoints that are closed, silent, speak
//! garbage or run another chain, and usage mistakes.
//!
//! Every case checks the exit code (0 ok, 1 runtime failure, 2 usage, 3
//! invalid config), that the error is short and names what is wrong (the
//! key, the file, the chain, the URL), and that nothing panics. An operator
//! reading the error should know what to fix without reading a backtrace or
//! running the relayer once per mistake.
//!
//! No real chain is needed: endpoints are closed loopback ports or tiny HTTP
//! servers in the test. Each run of the binary is killed (and the test
//! failed) after 30 s.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{
    assert_no_panic, chimera, clip, closed_url, expect_exit, missing_config, one_line_error, text,
    two_chains, Setup,
};

/// A valid config for two chains with these RPC URLs (gRPC on fixed
/// loopback ports), key `relayer` on both.
fn config(rpc_a: &str, rpc_b: &str) -> String {
    two_chains(
        (rpc_a, "http://127.0.0.1:9090"),
        (rpc_b, "http://127.0.0.1:39090"),
        "relayer",
    )
}

impl Setup {
    /// Imports the test mnemonic as key `relayer` for both chains.
    fn import_keys(&self) {
        for chain in ["chimera-1", "columbus-5"] {
            self.import_key(chain, "relayer");
        }
    }
}

/// How a fake node answers.
#[derive(Clone, Copy)]
enum Answer {
    /// `200 OK` with this body, whatever the request.
    Body(&'static [u8]),
    /// Close the connection after reading the request, no answer.
    Hangup,
    /// Read the request and never answer (keep the socket open).
    Silent,
    /// Answer the first request with this body, hang up on the others.
    FirstThenHangup(&'static [u8]),
}

/// Starts a fake CometBFT RPC on a loopback port answering every request
/// with `answer`; returns its URL. The thread lives until the test process
/// ends.
fn fake_node(answer: Answer) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut silent = Vec::new();
        let mut served = 0;
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            if read_request(&mut conn).is_none() {
                continue;
            }
            served += 1;
            let answer = match answer {
                Answer::FirstThenHangup(body) if served == 1 => Answer::Body(body),
                Answer::FirstThenHangup(_) => Answer::Hangup,
                a => a,
            };
            match answer {
                Answer::Body(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes());
                    let _ = conn.write_all(body);
                    let _ = conn.flush();
                }
                Answer::Hangup | Answer::FirstThenHangup(_) => {}
                Answer::Silent => silent.push(conn),
            }
        }
    });
    url
}

/// Reads one HTTP request (headers, then `Content-Length` bytes of body).
fn read_request(conn: &mut TcpStream) -> Option<()> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(())
}

/// A CometBFT 0.38 `/status` answer (tendermint-rpc 0.40's own fixture,
/// `tests/kvstore_fixtures/v0_38/incoming/status.json`) whose node reports
/// network `other-chain`.
const STATUS_OTHER_CHAIN: &[u8] = br#"{
  "id": "eaef4f0c-184a-4d50-96fa-1268410ddb04",
  "jsonrpc": "2.0",
  "result": {
    "node_info": {
      "channels": "40202122233038606100",
      "id": "cf4a66aa29e5123abfdfbdf485da6788bb8e46d1",
      "listen_addr": "tcp://0.0.0.0:26656",
      "moniker": "dockernode",
      "network": "other-chain",
      "other": { "rpc_address": "tcp://0.0.0.0:26657", "tx_index": "on" },
      "protocol_version": { "app": "1", "block": "11", "p2p": "8" },
      "version": "0.38.0-alpha.1"
    },
    "sync_info": {
      "catching_up": false,
      "earliest_app_hash": "0000000000000000",
      "earliest_block_hash": "6CD5CF4E23A49D9BC073D6F305D29D1B8B5193B534C237696D42FEA5AFBCD520",
      "earliest_block_height": "1",
      "earliest_block_time": "2023-05-17T14:12:48.347696215Z",
      "latest_app_hash": "0600000000000000",
      "latest_block_hash": "B647CF507155BADAC86FADD00E38B065C63A84953A847AA9FA99DB1CEE6C4DA9",
      "latest_block_height": "232",
      "latest_block_time": "2023-05-17T14:14:48.530153458Z"
    },
    "validator_info": {
      "address": "2DD9F44FD9067555C322243C3C913BA7B51D2BE0",
      "pub_key": {
        "type": "tendermint/PubKeyEd25519",
        "value": "bNNlGls5R25wC3Sd8720F/3+7IZBhXcD22MNFtPk/v0="
      },
      "voting_power": "10"
    }
  }
}"#;

/// [`STATUS_OTHER_CHAIN`] from a node of `chain`.
fn status_of(chain: &str) -> &'static [u8] {
    let s = String::from_utf8_lossy(STATUS_OTHER_CHAIN).replace("other-chain", chain);
    Box::leak(s.into_bytes().into_boxed_slice())
}

/// `chimera status`'s JSON: the entry for `chain`.
fn status_entry(stdout: &[u8], chain: &str) -> Value {
    let v: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("status did not print JSON ({e}): {}", text(stdout)));
    v["chains"]
        .as_array()
        .unwrap_or_else(|| panic!("no \"chains\" array: {v}"))
        .iter()
        .find(|c| c["chain"] == chain)
        .unwrap_or_else(|| panic!("no entry for {chain}: {v}"))
        .clone()
}

/// The `error` of `chain` in `chimera status`'s JSON: one line, no panic,
/// holding every one of `needles`.
fn status_error(stdout: &[u8], chain: &str, needles: &[&str], context: &str) -> String {
    let entry = status_entry(stdout, chain);
    let error = entry["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: no \"error\" for {chain}: {entry}"))
        .to_string();
    assert_no_panic(&error, context);
    assert!(
        !error.trim_end().contains('\n'),
        "{context}: {chain}'s error should be one line, got {} lines:\n{}",
        error.trim_end().lines().count(),
        clip(&error)
    );
    for n in needles {
        assert!(
            error.contains(n),
            "{context}: {n:?} not in {chain}'s error: {error}"
        );
    }
    error
}

// 1. ------------------------------------------------------------------------

#[test]
fn malformed_toml_names_the_file_and_line() {
    let good = config("http://127.0.0.1:26657", "http://127.0.0.1:36657");
    // Line 5 of the file (the leading newline is line 1): `[[chains]` unclosed.
    let bad = good.replacen("[[chains]]", "[[chains]", 1);
    assert_eq!(bad.lines().position(|l| l == "[[chains]").map(|i| i + 1), Some(5));
    let s = Setup::with(&bad);
    let out = s.run(&["config", "validate"]);
    let stderr = expect_exit(&out, 3, "malformed TOML");
    let first = stderr.lines().next().unwrap_or_default();
    let path = s.config().display().to_string();
    assert!(first.starts_with("error: "), "{stderr}");
    assert!(first.contains(&path), "the file is not named first: {stderr}");
    assert!(first.contains("line 5"), "the line is not named first: {stderr}");
    // toml's message quotes the offending line under a caret: a few lines,
    // never a wall of text.
    assert!(stderr.lines().count() <= 8, "too long:\n{stderr}");

    // The same for every subcommand that reads the config.
    for args in [&["relay"][..], &["status"][..], &["keys", "list"][..]] {
        let out = s.run(args);
        let stderr = expect_exit(&out, 3, &format!("malformed TOML, {args:?}"));
        assert!(
            stderr.contains(&path) && stderr.contains("line 5"),
            "{args:?}: {stderr}"
        );
    }
}

// 2. ------------------------------------------------------------------------

#[test]
fn an_unknown_key_is_named() {
    let good = config("http://127.0.0.1:26657", "http://127.0.0.1:36657");
    let bad = good.replacen("key = \"relayer\"", "key_name = \"relayer\"", 1);
    let s = Setup::with(&bad);
    let out = s.run(&["config", "validate"]);
    let stderr = expect_exit(&out, 3, "unknown key");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("key_name"), "{stderr}");
    assert!(stderr.contains(&s.config().display().to_string()), "{stderr}");
    assert!(stderr.contains("line "), "{stderr}");
    assert!(stderr.lines().count() <= 8, "too long:\n{stderr}");

    // A misplaced section is an unknown key too.
    let s = Setup::with(&good.replace("[telemetry]", "[telemetri]"));
    let stderr = expect_exit(&s.run(&["config", "validate"]), 3, "unknown table");
    assert!(stderr.contains("telemetri"), "{stderr}");
}

// 3. ------------------------------------------------------------------------

#[test]
fn every_semantic_mistake_is_listed_one_per_line() {
    let good = config("http://127.0.0.1:26657", "http://127.0.0.1:36657");
    let bad = good
        .replace("enabled = false", "enabled = true\nlisten = \"127.0.0.1:99999\"")
        .replace("\"http://127.0.0.1:9090\"", "\"127.0.0.1:9090\"")
        .replacen(
            "gas_price = { price = 0.025, denom = \"uchim\" }",
            "gas_price = { price = 0.025, denom = \"uchim\" }\ngas_adjustment = 0.5",
            1,
        )
        .replace(
            "coin_type = 330",
            "coin_type = 330\ntrusting_period = \"30days\"\nunbonding_period = \"21days\"",
        );
    let s = Setup::with(&bad);
    let out = s.run(&["config", "validate"]);
    let stderr = expect_exit(&out, 3, "semantic mistakes");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(&s.config().display().to_string()),
        "{stderr}"
    );
    assert!(lines[0].contains("4 problem"), "{stderr}");
    let problems: Vec<&str> = lines[1..].to_vec();
    assert_eq!(problems.len(), 4, "one line per mistake:\n{stderr}");
    let find = |needles: &[&str]| {
        problems
            .iter()
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("no line with {needles:?}:\n{stderr}"))
            .to_string()
    };
    find(&["chimera-1", "grpc", "127.0.0.1:9090", "http://"]);
    find(&["chimera-1", "gas_adjustment", "0.5"]);
    find(&["columbus-5", "trusting_period", "unbonding_period"]);
    find(&["telemetry.listen", "127.0.0.1:99999"]);
}

// 4. ------------------------------------------------------------------------

#[test]
fn a_missing_config_file_is_named() {
    let (_dir, missing) = missing_config();
    let path = missing.to_str().unwrap();
    for args in [
        &["--config", path, "relay"][..],
        &["--config", path, "status"][..],
        &["--config", path, "config", "validate"][..],
        &[
            "--config",
            path,
            "create",
            "client",
            "--host",
            "chimera-1",
            "--reference",
            "columbus-5",
        ][..],
    ] {
        let out = chimera(args, "");
        let stderr = expect_exit(&out, 3, &format!("missing config, {args:?}"));
        one_line_error(&stderr, &[path], &format!("missing config, {args:?}"));
    }
}

// 5. ------------------------------------------------------------------------

#[test]
fn a_missing_key_says_to_add_one() {
    let s = Setup::with(&config(&closed_url(), &closed_url()));

    let out = s.run(&["config", "validate"]);
    let stderr = expect_exit(&out, 3, "validate without keys");
    let stdout = text(&out.stdout);
    for chain in ["chimera-1", "columbus-5"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(chain))
            .unwrap_or_else(|| panic!("no line for {chain}:\n{stdout}"));
        assert!(
            line.contains(&format!("chimera keys add --chain {chain} --name relayer")),
            "{line}"
        );
    }
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("2 chain(s) have no usable key"), "{stderr}");

    // relay stops at the first chain's key, before connecting anywhere.
    let out = s.run(&["relay"]);
    let stderr = expect_exit(&out, 1, "relay without keys");
    one_line_error(
        &stderr,
        &["\"relayer\"", "chimera-1", "chimera keys add"],
        "relay without keys",
    );
}

// 6. ------------------------------------------------------------------------

#[test]
fn unreachable_endpoints_fail_fast_with_the_chain_and_url() {
    let (rpc_a, rpc_b) = (closed_url(), closed_url());
    let s = Setup::with(&config(&rpc_a, &rpc_b));
    s.import_keys();
    // The config itself is fine.
    expect_exit(&s.run(&["config", "validate"]), 0, "validate with keys");

    let started = Instant::now();
    let out = s.run(&["relay"]);
    let stderr = expect_exit(&out, 1, "relay, closed port");
    one_line_error(
        &stderr,
        &["chimera-1", &rpc_a, "unreachable"],
        "relay, closed port",
    );

    let out = s.run(&[
        "create",
        "client",
        "--host",
        "chimera-1",
        "--reference",
        "columbus-5",
    ]);
    let stderr = expect_exit(&out, 1, "create client, closed port");
    one_line_error(
        &stderr,
        &["chimera-1", &rpc_a, "unreachable"],
        "create client, closed port",
    );

    let out = s.run(&["status"]);
    expect_exit(&out, 1, "status, closed port");
    status_error(
        &out.stdout,
        "chimera-1",
        &["chimera-1", &rpc_a, "unreachable"],
        "status, closed port",
    );
    status_error(
        &out.stdout,
        "columbus-5",
        &["columbus-5", &rpc_b, "unreachable"],
        "status, closed port",
    );
    // A refused connection is known at once: no waiting for rpc_timeout.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_silent_node_times_out_within_rpc_timeout() {
    let silent = fake_node(Answer::Silent);
    let s = Setup::with(&config(&silent, &closed_url()));
    s.import_keys();
    let started = Instant::now();
    let out = s.run(&["relay"]);
    let stderr = expect_exit(&out, 1, "relay, silent node");
    one_line_error(
        &stderr,
        &["chimera-1", &silent, "did not answer within 2s"],
        "relay, silent node",
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

// 7. ------------------------------------------------------------------------

/// The node was reached and answered: the error names the chain and URL and
/// must not claim it is unreachable.
fn check_garbage(answer: Answer, what: &str) {
    let node = fake_node(answer);
    let s = Setup::with(&config(&node, &node));
    s.import_keys();

    let out = s.run(&["relay"]);
    let stderr = expect_exit(&out, 1, &format!("relay, {what}"));
    let line = one_line_error(&stderr, &["chimera-1", &node], &format!("relay, {what}"));
    if !matches!(answer, Answer::Hangup) {
        assert!(
            !line.contains("unreachable"),
            "relay, {what}: the node answered; \"unreachable\" misleads: {line}"
        );
    }

    let out = s.run(&["status"]);
    expect_exit(&out, 1, &format!("status, {what}"));
    for chain in ["chimera-1", "columbus-5"] {
        let error = status_error(&out.stdout, chain, &[chain, &node], &format!("status, {what}"));
        if !matches!(answer, Answer::Hangup) {
            assert!(
                !error.contains("unreachable"),
                "status, {what}: the node answered; \"unreachable\" misleads: {error}"
            );
        }
    }
}

#[test]
fn a_node_answering_json_garbage_is_an_error_not_a_panic() {
    check_garbage(
        Answer::Body(br#"{"jsonrpc":"2.0","id":1,"result":{"garbage":true}}"#),
        "JSON garbage",
    );
}

#[test]
fn a_node_answering_non_json_is_an_error_not_a_panic() {
    check_garbage(
        Answer::Body(b"\x00\xff<html>this is not JSON-RPC</html>\r\n\x7f"),
        "non-JSON bytes",
    );
}

#[test]
fn a_node_hanging_up_is_an_error_not_a_panic() {
    check_garbage(Answer::Hangup, "hang-up");
}

// 8. ------------------------------------------------------------------------

#[test]
fn a_node_of_another_chain_is_refused() {
    let node = fake_node(Answer::Body(STATUS_OTHER_CHAIN));
    let s = Setup::with(&config(&node, &node));
    s.import_keys();

    let out = s.run(&["relay"]);
    let stderr = expect_exit(&out, 1, "relay, wrong chain");
    one_line_error(
        &stderr,
        &[
            &node,
            "reports chain id \"other-chain\", the config says \"chimera-1\"",
        ],
        "relay, wrong chain",
    );

    let out = s.run(&[
        "create",
        "client",
        "--host",
        "columbus-5",
        "--reference",
        "chimera-1",
    ]);
    let stderr = expect_exit(&out, 1, "create client, wrong chain");
    one_line_error(
        &stderr,
        &["reports chain id \"other-chain\", the config says \"columbus-5\""],
        "create client, wrong chain",
    );

    let out = s.run(&["status"]);
    expect_exit(&out, 1, "status, wrong chain");
    for chain in ["chimera-1", "columbus-5"] {
        status_error(
            &out.stdout,
            chain,
            &[
                &node,
                &format!("reports chain id \"other-chain\", the config says \"{chain}\""),
            ],
            "status, wrong chain",
        );
    }
}

/// A node that passes the connect check and then fails: `status` still
/// reports the failure in one line, and exits 1 like for any other chain
/// it could not read.
#[test]
fn a_node_failing_after_connect_is_reported_by_status() {
    let a = fake_node(Answer::FirstThenHangup(status_of("chimera-1")));
    let b = fake_node(Answer::FirstThenHangup(status_of("columbus-5")));
    let s = Setup::with(&config(&a, &b));
    s.import_keys();
    let out = s.run(&["status"]);
    let context = "status, node failing after connect";
    // Check the JSON first: it says what failed, whatever the exit code.
    assert_no_panic(&text(&out.stdout), context);
    assert_no_panic(&text(&out.stderr), context);
    for chain in ["chimera-1", "columbus-5"] {
        status_error(&out.stdout, chain, &[chain], context);
    }
    expect_exit(&out, 1, context);
}

// 9, 10. --------------------------------------------------------------------

#[test]
fn a_missing_required_argument_is_one_line_naming_it() {
    let s = Setup::with(&config(&closed_url(), &closed_url()));
    let out = s.run(&[
        "create",
        "channel",
        "--a",
        "chimera-1",
        "--b",
        "columbus-5",
        "--port-a",
        "transfer",
        "--channel-version",
        "ics20-1",
    ]);
    let stderr = expect_exit(&out, 2, "create channel without --port-b");
    one_line_error(&stderr, &["--port-b"], "create channel without --port-b");
}

#[test]
fn relay_needs_two_chains() {
    let s = Setup::with(&config(&closed_url(), &closed_url()));
    let out = s.run(&["relay", "--chains", "chimera-1"]);
    let stderr = expect_exit(&out, 2, "relay --chains with one chain");
    one_line_error(&stderr, &["--chains"], "relay --chains with one chain");

    // A config with one chain: the same exit code, from the relayer.
    let one_chain = config(&closed_url(), &closed_url());
    let one_chain = &one_chain[..one_chain.rfind("[[chains]]").unwrap()];
    let s = Setup::with(one_chain);
    let out = s.run(&["relay"]);
    let stderr = expect_exit(&out, 2, "relay with a one-chain config");
    one_line_error(
        &stderr,
        &["two chains", "chimera-1"],
        "relay with a one-chain config",
    );
}

#[test]
fn an_unknown_chain_id_lists_the_configured_ones() {
    let s = Setup::with(&config(&closed_url(), &closed_url()));
    s.import_keys();
    let out = s.run(&["relay", "--chains", "phoenix-1", "chimera-1"]);
    let stderr = expect_exit(&out, 1, "relay --chains phoenix-1");
    one_line_error(
        &stderr,
        &["phoenix-1", "chimera-1, columbus-5"],
        "relay --chains phoenix-1",
    );

    let out = s.run(&[
        "create",
        "client",
        "--host",
        "phoenix-1",
        "--reference",
        "chimera-1",
    ]);
    let stderr = expect_exit(&out, 1, "create client --host phoenix-1");
    one_line_error(
        &stderr,
        &["phoenix-1", "chimera-1, columbus-5"],
        "create client --host phoenix-1",
    );
}
