//! The `chimera` binary as users run it: exit codes, one-line usage errors,
//! and packet/ack tools checked against the golden vectors.

mod support;

use serde_json::Value;
use support::{chimera, text};

fn vector(name: &str) -> Value {
    let path = format!("{}/../packets/testdata/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn packet_check_accepts_a_valid_packet_and_prints_canonical_bytes() {
    let v = vector("packet_ddpm_receiver_memo");
    // Pretty-printed input: same value, not canonical.
    let pretty = serde_json::to_vec_pretty(&v["value"]).unwrap();
    let out = chimera(&["packet", "check", "-"], &pretty);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim_end(), v["bytes"].as_str().unwrap());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(v["sha256"].as_str().unwrap()), "{stderr}");
    assert!(stderr.contains("input was not canonical"), "{stderr}");
}

#[test]
fn packet_check_reports_the_hosts_error_ack() {
    let v = vector("invalid_tensor_shape");
    let out = chimera(&["packet", "check", "-"], v["bytes"].as_str().unwrap().as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let ack: Value = serde_json::from_str(v["ack"].as_str().unwrap()).unwrap();
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!("invalid: {}", ack["error"].as_str().unwrap())
    );
}

#[test]
fn ack_decode_shows_result_and_error() {
    let v = vector("ack_result");
    let out = chimera(&["ack", "decode", "-"], v["bytes"].as_str().unwrap().as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim_end(),
        vector("ack_result_inner")["bytes"].as_str().unwrap()
    );
    assert!(text(&out.stderr).contains("agreed by 30/40 voting power at height 1234"));

    let v = vector("ack_error_no_quorum");
    let out = chimera(&["ack", "decode", "-"], v["bytes"].as_str().unwrap().as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("chimera: code 12 (no_quorum): "));
}

#[test]
fn bad_input_gets_one_line_and_a_meaningful_exit_code() {
    let out = chimera(&["ack", "decode", "-"], b"not an ack");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("error: cannot decode acknowledgement"));

    let out = chimera(&["packet", "check", "/nonexistent/packet.json"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/packet.json"));

    let out = chimera(&["packet", "chek"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr).lines().count(), 1, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unrecognized subcommand 'chek'"));
}

#[test]
fn help_and_version_are_real() {
    let out = chimera(&["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("interchain-account client"));
    let out = chimera(&["version"], b"");
    assert_eq!(
        text(&out.stdout).trim(),
        format!("chimera {}", env!("CARGO_PKG_VERSION"))
    );
}
