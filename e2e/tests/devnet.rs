//! The README's main job, `chimera-e2e devnet`, as a user runs it, in a
//! temporary directory: the first `up` starts Terra, chimerad and `chimera
//! relay`, opens the paths, registers, funds and runs a "7" through the
//! interchain account, then stores and instantiates the requester contract
//! with `terrad`, opens its channel and runs a "7" through it, starts the
//! web app (`chimera ui`), which must serve the page and see that request
//! settled, and exits leaving them running; `status` sees them; a second `up` (after `kill -9`
//! of the relayer) reuses the chains, paths, account, funds, contract and
//! its channel, starts the relayer again from its recorded command line and
//! makes a new request on each route; `down` stops every recorded group and
//! removes the directory. Needs `terrad` and `cometbft` from
//! `scripts/setup`, and chimerad and chimera built beside chimera-e2e.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chimera_e2e::process::{group_members, DetachedProcess};
use serde_json::Value;

/// `chimera-e2e devnet <args> --dir <dir>`.
fn devnet(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_chimera-e2e"))
        .arg("devnet")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("CHIMERA_DEVNET_DIR")
        .output()
        .expect("run chimera-e2e");
    eprintln!(
        "$ chimera-e2e devnet {} --dir {}\n{}{}[{}]",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout),
        out.status
    );
    out
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap()
}

/// Runs `devnet down` when the test ends, however it ends: the devnet's
/// processes outlive `chimera-e2e` by design, not this test.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        if self.0.exists() {
            devnet(&self.0, &["down"]);
        }
    }
}

/// Where the devnet's `chimera ui` listens.
fn web_addr(state: &Value) -> SocketAddr {
    let url = state["web"]["url"].as_str().expect("web.url in devnet.json");
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

/// GET on the web app: the body of a 2xx answer.
fn get(addr: SocketAddr, path: &str) -> String {
    let r = chimera_e2e::http::get(addr, path, std::time::Duration::from_secs(30)).unwrap();
    assert!(r.is_success(), "GET {path}: {} {}", r.status, r.body);
    r.body
}

#[test]
fn up_twice_status_and_down() {
    for b in ["terrad", "cometbft"] {
        chimera_e2e::bins::find_binary(b).unwrap_or_else(|e| panic!("{e}"));
    }
    chimera_e2e::chimera::find_chimerad().unwrap_or_else(|e| panic!("{e}"));
    let parent = tempfile::Builder::new()
        .prefix("chimera-e2e-devnet-")
        .tempdir()
        .unwrap();
    let dir = parent.path().join("devnet");
    let _down = Down(dir.clone());

    // First run: everything started, one request.
    let out = devnet(&dir, &["up"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "first up failed");
    assert!(stdout.contains("Chimera devnet is up"), "{stdout}");
    assert!(stderr.contains("started  chimera relay"), "{stderr}");
    let first = state(&dir);
    let records: Vec<DetachedProcess> = first["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| DetachedProcess::from_json(r).unwrap())
        .collect();
    assert_eq!(records.len(), 4, "terrad, chimerad, chimera relay, chimera ui");
    for r in &records {
        assert!(
            !group_members(r.pgid).is_empty(),
            "{} runs after chimera-e2e exited",
            r.spec.name
        );
    }
    let account = first["user"]["interchain_account"].as_str().unwrap().to_string();
    assert!(account.starts_with("chimera1"), "{account}");
    let png = PathBuf::from(first["requests"][0]["out"].as_str().unwrap());
    assert!(png.ends_with("seven-1.png") && png.is_file(), "{}", png.display());
    // The contract route, with terrad alone: deployed, its channel opened,
    // a request answered and its output verified.
    let contract = &first["contract"];
    assert!(
        contract["address"].as_str().unwrap().starts_with("terra1"),
        "{contract}"
    );
    assert!(contract["code_id"].as_u64().is_some(), "{contract}");
    for k in ["channel_id", "counterparty_channel_id"] {
        assert!(
            contract[k].as_str().unwrap().starts_with("channel-"),
            "{contract}"
        );
    }
    let asked = &first["contract_requests"][0];
    assert_eq!(asked["status"], "succeeded", "{asked}");
    let png = PathBuf::from(asked["out"].as_str().unwrap());
    assert!(
        png.ends_with("seven-contract-1.png") && png.is_file(),
        "{}",
        png.display()
    );
    // Same model, prompt and seed on both routes: the same image.
    assert_eq!(asked["sha256"], first["requests"][0]["sha256"]);
    assert!(stdout.contains("terrad tx wasm execute"), "{stdout}");
    // The web app serves the page and sees the contract request settled,
    // with the validator's report and the ack on Terra.
    let web = web_addr(&first);
    assert!(stdout.contains(&format!("http://{web}/#/ask")), "{stdout}");
    let page = get(web, "/");
    assert!(page.contains("<div id=\"app\""), "{page}");
    let seen: Value = serde_json::from_str(&get(web, "/api/requests/1")).unwrap();
    assert_eq!(seen["record"]["status"], "succeeded", "{seen}");
    assert!(
        seen["reports"].as_array().is_some_and(|r| !r.is_empty()),
        "{seen}"
    );
    assert!(seen["terra"]["ack"]["height"].as_u64().is_some(), "{seen}");

    let status = devnet(&dir, &["status"]);
    assert_eq!(status.status.code(), Some(0), "status: all running");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("last contract request: id 1"),
        "status names the contract request"
    );

    // The relayer crashes; the next run starts it again and reuses the rest.
    let relay = records.iter().find(|r| r.spec.name == "chimera relay").unwrap();
    unsafe {
        libc::kill(-relay.pgid, libc::SIGKILL);
    }
    // SIGKILL is not instant: wait for the group to be gone, or `status`
    // may still see it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while chimera_e2e::process::process_group_alive(relay.pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = devnet(&dir, &["status"]);
    assert_eq!(status.status.code(), Some(1), "status: the relayer is down");
    let out = devnet(&dir, &["up"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "second up failed");
    for reused in [
        "reused   terrad",
        "reused   chimerad",
        "reused   connection",
        "reused   interchain account",
        "reused   key lunc-user",
    ] {
        assert!(stderr.contains(reused), "no {reused:?} in:\n{stderr}");
    }
    assert!(stderr.contains("started  chimera relay again"), "{stderr}");
    assert!(stderr.contains("reused   chimera ui"), "{stderr}");
    let seen: Value = serde_json::from_str(&get(web_addr(&state(&dir)), "/api/requests/2")).unwrap();
    assert_eq!(seen["record"]["status"], "succeeded", "{seen}");
    assert!(!stderr.contains("funded"), "the account had funds: {stderr}");
    let second = state(&dir);
    assert_eq!(
        second["user"]["interchain_account"].as_str(),
        Some(account.as_str())
    );
    assert_eq!(second["paths"], first["paths"]);
    assert_eq!(second["requests"].as_array().unwrap().len(), 2);
    assert!(stdout.contains("seven-2.png"), "{stdout}");
    // Same request, same seed: the same image, verified twice.
    assert_eq!(second["requests"][0]["sha256"], second["requests"][1]["sha256"]);
    // The contract and its channel reused, a new request through it.
    assert!(stderr.contains("reused   contract"), "{stderr}");
    assert!(!stderr.contains("chimera create channel"), "{stderr}");
    assert_eq!(second["contract"], first["contract"]);
    let asked = &second["contract_requests"][1];
    assert_eq!(
        (asked["id"].as_u64(), asked["status"].as_str()),
        (Some(2), Some("succeeded")),
        "{asked}"
    );
    assert!(stdout.contains("seven-contract-2.png"), "{stdout}");
    assert_eq!(asked["sha256"], first["contract_requests"][0]["sha256"]);

    // down: every group gone, the directory removed.
    let now: Vec<DetachedProcess> = second["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| DetachedProcess::from_json(r).unwrap())
        .collect();
    let out = devnet(&dir, &["down"]);
    assert_eq!(out.status.code(), Some(0), "down failed");
    for r in &now {
        assert!(group_members(r.pgid).is_empty(), "{} still runs", r.spec.name);
    }
    assert!(!dir.exists(), "{} removed", dir.display());
    let status = devnet(&dir, &["status"]);
    assert_eq!(status.status.code(), Some(1), "no devnet any more");
}
