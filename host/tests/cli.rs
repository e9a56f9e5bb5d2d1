//! The `chimerad` binary as operators run it.

use std::process::Command;

fn chimerad(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chimerad"))
        .args(args)
        .output()
        .expect("spawn chimerad")
}

#[test]
fn version_long_reports_the_protocol() {
    let out = chimerad(&["version", "--long"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inference_port"], "inference");
    assert_eq!(v["inference_channel_version"], "chimera-inference-1");
    assert_eq!(v["ica_host_port"], "icahost");
    assert_eq!(v["max_packet_bytes"], 262144);
}

#[test]
fn usage_errors_are_one_line_with_exit_code_2() {
    let out = chimerad(&["versoin"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unrecognized subcommand 'versoin'"), "{stderr}");
}
