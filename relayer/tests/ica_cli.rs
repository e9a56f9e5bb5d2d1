//! `chimera ica ...` fed mistakes, as a LUNC user would make them: malformed
//! coins and durations (exit 2, one line naming the argument), a chain id
//! that is not in the config or a missing config (exit 1 and 3, as every
//! other command), a missing key, a node that does not answer (exit 1).
//!
//! No chain is needed: every case fails before (or at) the first
//! connection. The message building and ack decoding are unit-tested in
//! `relayer/src/ica.rs`; real-chain runs belong to the e2e suite.

mod support;

use std::process::Output;

use support::{chimera, closed_url, fails_in_one_line, missing_config, text, two_chains, Setup};

/// The chains of the config as `ica` arguments.
const ROUTE: [&str; 4] = ["--controller", "columbus-5", "--host", "chimera-1"];

/// A host and a Terra controller at `rpc` (RPC and gRPC of both chains);
/// the Terra user's key is `user`.
fn setup(rpc: &str) -> Setup {
    Setup::with(&two_chains((rpc, rpc), (rpc, rpc), "user"))
}

impl Setup {
    /// `chimera --config <config> ica <sub> --controller <controller> --host
    /// <host> <args>`.
    fn ica_between(&self, sub: &str, controller: &str, host: &str, args: &[&str]) -> Output {
        let mut all = vec!["ica", sub, "--controller", controller, "--host", host];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// `chimera --config <config> ica <sub> <ROUTE> <args>`.
    fn ica(&self, sub: &str, args: &[&str]) -> Output {
        self.ica_between(sub, "columbus-5", "chimera-1", args)
    }

    /// `ica infer` of digits-ddpm on prompt 7, with `flag value`.
    fn infer_with(&self, flag: &str, value: &str) -> Output {
        self.ica("infer", &["--model", "digits-ddpm", "--prompt", "7", flag, value])
    }
}

#[test]
fn a_malformed_amount_is_a_usage_error() {
    let s = setup(&closed_url());
    for (amount, why) in [
        ("1000000", "no denom"),
        ("uluna", "the amount then the denom"),
        ("0uluna", "positive"),
        ("1e6uluna", "no exponent"),
        ("10 uluna", "not a denom"),
        ("10u", "not a denom"),
    ] {
        let out = s.ica("fund", &["--amount", amount]);
        fails_in_one_line(&out, 2, &["--amount", amount, why], &format!("--amount {amount}"));
    }
}

/// `ica infer` with each `(value, why)` of `flag`: a usage error naming
/// `flag` and `why`.
fn infer_refuses(s: &Setup, flag: &str, cases: &[(&str, &str)]) {
    for (value, why) in cases {
        let out = s.infer_with(flag, value);
        fails_in_one_line(&out, 2, &[flag, why], &format!("{flag} {value}"));
    }
}

#[test]
fn a_malformed_fee_is_a_usage_error() {
    let s = setup(&closed_url());
    infer_refuses(
        &s,
        "--fee",
        &[
            ("100", "no denom"),
            ("100ibc/AB!", "not a denom"),
            ("5uluna,6uluna", "listed twice"),
            ("5uluna,", "the amount then the denom"),
        ],
    );
}

#[test]
fn a_malformed_timeout_is_a_usage_error() {
    let s = setup(&closed_url());
    infer_refuses(
        &s,
        "--timeout",
        &[
            ("0s", "must be positive"),
            ("10", "unknown unit"),
            ("ten minutes", "expected a number"),
            ("5x", "unknown unit"),
        ],
    );
    let out = s.ica("register", &["--wait", "soon"]);
    fails_in_one_line(&out, 2, &["--wait"], "register --wait soon");
}

#[test]
fn other_usage_mistakes_are_one_line() {
    let s = setup(&closed_url());
    let out = s.run(&["ica", "address", "--host", "chimera-1"]);
    fails_in_one_line(&out, 2, &["--controller"], "no --controller");
    let out = s.ica("infer", &["--model", "digits-ddpm"]);
    fails_in_one_line(&out, 2, &["--prompt"], "no prompt");
    let out = s.ica("infer", &["--model", "m", "--prompt", "7", "--out", "x.png"]);
    fails_in_one_line(&out, 2, &["--wait"], "--out without --wait");
    let out = s.ica("infer", &["--model", "m", "--prompt", "7", "--param", "seed"]);
    fails_in_one_line(&out, 2, &["--param", "KEY=VALUE"], "--param without =");
    let out = s.ica("infer", &["--model", "m", "--input", "x", "--tensor", "f33:1x8"]);
    fails_in_one_line(&out, 2, &["--tensor", "unknown dtype"], "bad --tensor");
    let out = s.ica("register", &["--ordering", "sideways"]);
    fails_in_one_line(&out, 2, &["--ordering", "sideways"], "bad --ordering");
    let out = s.ica_between("address", "columbus-5", "columbus-5", &[]);
    fails_in_one_line(
        &out,
        2,
        &["--controller and --host", "columbus-5"],
        "same chain twice",
    );
}

#[test]
fn an_unknown_chain_id_lists_the_configured_ones() {
    let s = setup(&closed_url());
    let out = s.ica_between("address", "phoenix-1", "chimera-1", &[]);
    fails_in_one_line(
        &out,
        1,
        &["phoenix-1", "--controller", "chimera-1, columbus-5"],
        "unknown controller",
    );
    let out = s.ica_between("status", "columbus-5", "chimera-9", &["--sequence", "1"]);
    fails_in_one_line(
        &out,
        1,
        &["chimera-9", "--host", "chimera-1, columbus-5"],
        "unknown host",
    );
}

#[test]
fn a_missing_config_is_named() {
    let (_dir, missing) = missing_config();
    let path = missing.to_str().unwrap();
    for sub in [
        &["address"][..],
        &["fund", "--amount", "1uluna"][..],
        &["status", "--sequence", "1"][..],
    ] {
        let mut args = vec!["--config", path, "ica"];
        args.extend_from_slice(sub);
        args.extend_from_slice(&ROUTE);
        let out = chimera(&args, "");
        fails_in_one_line(
            &out,
            3,
            &[path, "cannot read"],
            &format!("missing config, {sub:?}"),
        );
    }
}

#[test]
fn a_missing_key_says_how_to_import_one() {
    let s = setup(&closed_url());
    let out = s.ica("address", &[]);
    fails_in_one_line(
        &out,
        1,
        &["\"user\"", "columbus-5", "chimera keys add"],
        "no user key",
    );
    let out = s.ica("address", &["--key", "lunc"]);
    fails_in_one_line(&out, 1, &["\"lunc\"", "columbus-5"], "no --key lunc");
}

#[test]
fn an_unreachable_controller_is_one_line() {
    let url = closed_url();
    let s = setup(&url);
    s.import_key("columbus-5", "user");
    for sub in [&["register"][..], &["status", "--sequence", "3"][..]] {
        let mut args = vec!["ica", sub[0]];
        args.extend_from_slice(&ROUTE);
        args.extend_from_slice(&sub[1..]);
        let out = s.run(&args);
        fails_in_one_line(&out, 1, &["columbus-5", &url], &format!("closed port, {sub:?}"));
    }
}

#[test]
fn help_explains_each_command_for_a_lunc_user() {
    let out = chimera(&["ica", "--help"], "");
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for cmd in ["register", "address", "fund", "infer", "status", "fetch"] {
        assert!(help.contains(cmd), "{cmd} not in:\n{help}");
    }
    for (cmd, needles) in [
        (
            "register",
            &[
                "MsgRegisterInterchainAccount",
                "relayer",
                "--encoding",
                "--ordering",
            ][..],
        ),
        ("fund", &["MsgTransfer", "ibc/", "--amount"][..]),
        (
            "infer",
            &[
                "MsgSendTx",
                "MsgRunInference",
                "--encrypt",
                "--fee",
                "--timeout",
                "--wait",
            ][..],
        ),
        ("status", &["pending", "timed out", "--sequence"][..]),
        ("fetch", &["SHA-256", "--out", "--node"][..]),
    ] {
        let out = chimera(&["ica", cmd, "--help"], "");
        assert_eq!(out.status.code(), Some(0), "{cmd} --help");
        let help = text(&out.stdout);
        for n in needles {
            assert!(help.contains(n), "{n:?} not in `ica {cmd} --help`:\n{help}");
        }
    }
}
