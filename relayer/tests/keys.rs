//! `chimera --config <file> keys ...` as operators run it: the key store
//! beside the config, coin type and prefix from the config, the mnemonic
//! kept off stdout, one-line errors with exit code 1.
//!
//! These need `keys` and the global `--config` wired into `main.rs`; until
//! then they fail with clap's usage error (exit 2).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use chimera_relayer::keys::derive_address;
use support::{text, two_chains, Setup};

const TERRA_MNEMONIC: &str = "satisfy adjust timber high purchase tuition stool faith fine install that you unaware feed domain license impose boss human eager hat rent enjoy dawn";
const TERRA_ADDRESS: &str = "terra1dcegyrekltswvyy0xy69ydgxn9x8x32zdtapd8";

/// A valid config: Terra Classic with coin type 330 and a Chimera chain
/// with the default 118 (`keys` connects to neither); keys go to `keys/`
/// beside it.
fn setup() -> Setup {
    Setup::with(&two_chains(
        ("http://127.0.0.1:26657", "http://127.0.0.1:9090"),
        ("http://127.0.0.1:36657", "http://127.0.0.1:39090"),
        "relayer",
    ))
}

impl Setup {
    fn key_file(&self, chain: &str, name: &str) -> PathBuf {
        self.dir
            .path()
            .join("keys")
            .join(chain)
            .join(format!("{name}.json"))
    }
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn add_uses_the_configs_coin_type_and_keeps_the_mnemonic_off_stdout() {
    let s = setup();
    let out = s.keys(&["add", "--chain", "columbus-5", "--name", "relayer"], "");
    let stdout = ok(&out);
    let address = stdout.trim();
    assert!(address.starts_with("terra1"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    // The mnemonic is on stderr, once, and derives the printed address under
    // coin type 330 (the config's), not 118.
    let stderr = text(&out.stderr);
    let mnemonic = stderr
        .lines()
        .find(|l| l.split_whitespace().count() == 24)
        .unwrap_or_else(|| panic!("no 24-word line on stderr: {stderr}"))
        .trim()
        .to_string();
    assert_eq!(stderr.matches(&mnemonic).count(), 1, "{stderr}");
    assert_eq!(derive_address(&mnemonic, 330, "terra").unwrap(), address);
    assert_ne!(derive_address(&mnemonic, 118, "terra").unwrap(), address);
    for word in mnemonic.split(' ') {
        assert!(
            !stdout.contains(word) || address.contains(word),
            "{word} in {stdout}"
        );
    }

    let file = s.key_file("columbus-5", "relayer");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);

    // A second add without --overwrite fails, in one line, and keeps the key.
    let again = s.keys(&["add", "--chain", "columbus-5", "--name", "relayer"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("--overwrite"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(
        ok(&s.keys(&["show", "--chain", "columbus-5"], "")).trim(),
        address
    );
}

#[test]
fn import_list_delete() {
    let s = setup();
    let out = s.keys(
        &[
            "import",
            "--chain",
            "columbus-5",
            "--name",
            "relayer",
            "--mnemonic-file",
            "-",
        ],
        &format!("{TERRA_MNEMONIC}\n"),
    );
    assert_eq!(ok(&out).trim(), TERRA_ADDRESS);
    assert!(!text(&out.stderr).contains("satisfy"), "{}", text(&out.stderr));
    assert_eq!(mode(&s.key_file("columbus-5", "relayer")), 0o600);

    // From a file too, for the Chimera chain (coin type 118 by default).
    let phrase_file = s.dir.path().join("phrase.txt");
    std::fs::write(&phrase_file, TERRA_MNEMONIC).unwrap();
    let out = s.keys(
        &[
            "import",
            "--chain",
            "chimera-1",
            "--name",
            "relayer",
            "--mnemonic-file",
            phrase_file.to_str().unwrap(),
        ],
        "",
    );
    let chimera_address = derive_address(TERRA_MNEMONIC, 118, "chimera").unwrap();
    assert_eq!(ok(&out).trim(), chimera_address);

    let listed = ok(&s.keys(&["list"], ""));
    let lines: Vec<Vec<&str>> = listed.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        lines,
        vec![
            vec!["chimera-1", "relayer", chimera_address.as_str(), "118"],
            vec!["columbus-5", "relayer", TERRA_ADDRESS, "330"],
        ],
        "{listed}"
    );
    assert_eq!(
        ok(&s.keys(&["list", "--chain", "columbus-5"], ""))
            .lines()
            .count(),
        1
    );

    ok(&s.keys(&["delete", "--chain", "columbus-5", "--name", "relayer"], ""));
    assert!(!s.key_file("columbus-5", "relayer").exists());
    let listed = ok(&s.keys(&["list"], ""));
    assert!(!listed.contains(TERRA_ADDRESS), "{listed}");
    assert_eq!(listed.lines().count(), 1, "{listed}");
}

#[test]
fn a_missing_key_is_one_line_and_exit_1() {
    let s = setup();
    for args in [
        &["show", "--chain", "columbus-5", "--name", "relayer"][..],
        &["delete", "--chain", "columbus-5", "--name", "relayer"][..],
    ] {
        let out = s.keys(args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty());
        let stderr = text(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("chimera keys add"), "{stderr}");
    }
}

#[test]
fn a_bad_mnemonic_is_refused_without_echo() {
    let s = setup();
    let bad = TERRA_MNEMONIC.replace("dawn", "satisfy");
    let out = s.keys(&["import", "--chain", "columbus-5", "--mnemonic-file", "-"], &bad);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("adjust timber"), "{all}");
    assert!(all.contains("mnemonic"), "{all}");
    assert!(!s.key_file("columbus-5", "relayer").exists());
}

#[test]
fn an_unknown_chain_needs_coin_type_and_prefix() {
    let s = setup();
    let out = s.keys(&["add", "--chain", "phoenix-1"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--coin-type") && stderr.contains("--prefix"),
        "{stderr}"
    );

    let out = s.keys(
        &[
            "add",
            "--chain",
            "phoenix-1",
            "--coin-type",
            "330",
            "--prefix",
            "terra",
        ],
        "",
    );
    assert!(ok(&out).trim().starts_with("terra1"));
}
