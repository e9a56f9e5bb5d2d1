//! The kill -9 harness of the crash tests: the test binary re-runs its own
//! ignored `crash_child` test as a child process, which announces
//! `child-ready` on stdout once it is working; the parent then SIGKILLs it
//! at a moment of its choosing and checks what the child left on disk.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What the child prints once it is working (see [`child_ready`]).
const READY: &str = "child-ready";

/// Called by the child when it is about to work: tells the parent to start
/// its kill timer.
pub fn child_ready() {
    println!("\n{READY}");
    std::io::stdout().flush().unwrap();
}

/// Runs this test binary's `crash_child` test with `env` set, waits until
/// it is ready, lets it work for `work`, SIGKILLs it and asserts that it
/// died by the signal (`label` names the round in the failure message).
pub fn run_child_and_kill(env: &[(&str, String)], work: Duration, label: &str) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "crash_child",
            "--exact",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.trim() == READY => break,
            Some(Ok(_)) => continue,
            other => panic!("child ended before it was ready: {other:?}"),
        }
    }
    std::thread::sleep(work);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "{label}: the child must die by SIGKILL, not exit: {status:?}"
    );
}
