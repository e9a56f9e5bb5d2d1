//! kill -9 during commits: a child process (this test binary, re-run with
//! `CHIMERA_STATE_CRASH_DIR` set) commits deterministic versions in a loop
//! (small blocks, empty blocks, bulk writes and deletes, pruning) until it
//! is SIGKILLed at a random moment. After each kill the parent reopens the
//! store and checks: the latest version V is the last one the child saw
//! committed or the one after; every key reads its value as of V (the
//! child's writes are a function of key and version, replayed here); every
//! key's proof verifies against app_hash(V); app_hash(V) is the hash of the
//! same contents committed into a fresh store (so no node is missing or
//! stale); retained older versions read and prove their own contents.
//!
//! `CHIMERA_STATE_CRASH_ROUNDS` (default 10) sets how many kills.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use chimera_host::state::{Changes, Storage, StorageOptions};

mod crash_support;
mod state_support;
use crash_support::{child_ready, run_child_and_kill};
use state_support::{assert_proof, Rng};

const DIR_ENV: &str = "CHIMERA_STATE_CRASH_DIR";
const KEEP_ENV: &str = "CHIMERA_STATE_CRASH_KEEP";
const SYNC_ENV: &str = "CHIMERA_STATE_CRASH_SYNC";

const SMALL_KEYS: u64 = 64;
const BULK_GROUPS: u64 = 7;
const BULK_KEYS: u64 = 400;
const BULK_EVERY: u64 = 40;

fn mix(a: u64, b: u64) -> u64 {
    // splitmix64 of a combination: a deterministic f(key, version).
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn small_key(i: u64) -> Vec<u8> {
    format!("k/{i:02}").into_bytes()
}

fn bulk_key(group: u64, j: u64) -> Vec<u8> {
    format!("bulk/{group}/{j:04}").into_bytes()
}

fn value(i: u64, v: u64) -> Vec<u8> {
    let h = mix(i, v);
    let mut out = format!("{i}@{v}:").into_bytes();
    out.extend((0..h % 200).map(|n| (h >> (n % 56)) as u8));
    out
}

/// The writes of version `v`: a function of `v` only.
fn changes_for(v: u64) -> Changes {
    let mut ch = Changes::new();
    if v.is_multiple_of(13) {
        return ch; // an empty block
    }
    for i in 0..SMALL_KEYS {
        match mix(i, v) % 8 {
            0 | 1 => {
                ch.insert(small_key(i), Some(value(i, v)));
            }
            2 => {
                ch.insert(small_key(i), None);
            }
            _ => {}
        }
    }
    let group = (v / BULK_EVERY) % BULK_GROUPS;
    if v.is_multiple_of(BULK_EVERY) {
        for j in 0..BULK_KEYS {
            ch.insert(bulk_key(group, j), Some(value(1000 + j, v)));
        }
    } else if v % BULK_EVERY == BULK_EVERY / 2 {
        for j in 0..BULK_KEYS {
            ch.insert(bulk_key((group + 3) % BULK_GROUPS, j), None);
        }
    }
    ch
}

fn options(keep: u64, sync: bool) -> StorageOptions {
    StorageOptions {
        keep_versions: keep,
        sync,
    }
}

/// The child's work loop; run only by the test below (as a child process).
#[test]
#[ignore = "the child process of kill_9_during_commits_leaves_a_whole_version"]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else { return };
    let dir = Path::new(&dir);
    let keep: u64 = std::env::var(KEEP_ENV).unwrap().parse().unwrap();
    let sync = std::env::var(SYNC_ENV).unwrap() == "1";
    let store = Storage::open(&dir.join("db"), options(keep, sync)).unwrap();
    let mut journal = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("journal"))
        .unwrap();
    let start = store.latest_version().map_or(1, |v| v + 1);
    child_ready();
    for v in start.. {
        if v % 2 == 0 {
            store.commit(v, changes_for(v)).unwrap();
        } else {
            let p = store.prepare_commit(v, changes_for(v)).unwrap();
            store.apply(p).unwrap();
        }
        journal.write_all(format!("{v}\n").as_bytes()).unwrap();
    }
}

/// The contents at each version in `wanted`, replayed from version 1.
fn replay(upto: u64, wanted: &[u64]) -> BTreeMap<u64, BTreeMap<Vec<u8>, Vec<u8>>> {
    let mut state = BTreeMap::new();
    let mut out = BTreeMap::new();
    for v in 1..=upto {
        for (k, val) in changes_for(v) {
            match val {
                Some(val) => state.insert(k, val),
                None => state.remove(&k),
            };
        }
        if wanted.contains(&v) {
            out.insert(v, state.clone());
        }
    }
    out
}

fn last_journaled(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("journal")).unwrap_or_default();
    // Only complete lines: the kill may cut the last one.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    complete.lines().filter_map(|l| l.parse().ok()).next_back()
}

#[test]
fn kill_9_during_commits_leaves_a_whole_version() {
    let rounds: u64 = std::env::var("CHIMERA_STATE_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let root = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(std::process::id() as u64 * 7919 + 1);
    let mut prev_latest = 0u64;
    for round in 0..rounds {
        // Alternate pruning windows and durability; the kill keeps what the
        // OS was handed either way.
        let keep = [5u64, 0, 3][(round % 3) as usize];
        let sync = round % 2 == 0;
        run_child_and_kill(
            &[
                (DIR_ENV, root.path().display().to_string()),
                (KEEP_ENV, keep.to_string()),
                (SYNC_ENV, if sync { "1" } else { "0" }.to_string()),
            ],
            Duration::from_millis(100 + rng.below(600)),
            &format!("round {round}"),
        );

        let store = Storage::open(&root.path().join("db"), options(keep, true)).unwrap();
        let latest = store.latest_version().expect("the child committed something");
        let journaled = last_journaled(root.path()).unwrap_or(0);
        assert!(
            latest == journaled || latest == journaled + 1,
            "round {round}: latest {latest}, last acknowledged {journaled}"
        );
        assert!(
            latest >= prev_latest,
            "round {round}: went back from {prev_latest} to {latest}"
        );

        let oldest = store.oldest_version().unwrap();
        let mut older: Vec<u64> = (oldest.max(latest.saturating_sub(4))..latest).collect();
        older.push(oldest);
        older.push((oldest + latest) / 2);
        older.retain(|&u| u >= 1 && u < latest);
        older.sort();
        older.dedup();
        let mut wanted = older.clone();
        wanted.push(latest);
        let states = replay(latest, &wanted);

        // The latest version: reads, full iteration, proofs, canonical root.
        let expected = &states[&latest];
        let snap = store.latest_snapshot();
        assert_eq!(snap.app_hash(), store.app_hash(latest).unwrap());
        let all: BTreeMap<Vec<u8>, Vec<u8>> = snap.prefix(b"").unwrap().into_iter().collect();
        assert!(
            all == *expected,
            "round {round}: contents at {latest} differ from the replay"
        );
        for i in 0..SMALL_KEYS {
            let k = small_key(i);
            assert_eq!(
                snap.get(&k).unwrap().as_ref(),
                expected.get(&k),
                "round {round}: {k:?}"
            );
            assert_proof(&snap, &k, expected.get(&k).map(Vec::as_slice));
        }
        for g in 0..BULK_GROUPS {
            let k = bulk_key(g, rng.below(BULK_KEYS));
            assert_proof(&snap, &k, expected.get(&k).map(Vec::as_slice));
        }
        let fresh_dir = tempfile::tempdir().unwrap();
        let fresh = Storage::open(fresh_dir.path(), options(0, false)).unwrap();
        let fresh_hash = fresh
            .commit(
                1,
                expected
                    .iter()
                    .map(|(k, v)| (k.clone(), Some(v.clone())))
                    .collect(),
            )
            .unwrap();
        assert_eq!(
            store.app_hash(latest).unwrap(),
            fresh_hash,
            "round {round}: root of {latest}"
        );

        // Retained older versions read and prove their own contents.
        for u in &older {
            let snap = store.snapshot(*u).unwrap();
            let state = &states[u];
            for i in (0..SMALL_KEYS).step_by(5) {
                let k = small_key(i);
                assert_eq!(
                    snap.get(&k).unwrap().as_ref(),
                    state.get(&k),
                    "round {round}: v{u} {k:?}"
                );
                assert_proof(&snap, &k, state.get(&k).map(Vec::as_slice));
            }
        }
        let counts = store.entry_counts().unwrap();
        eprintln!(
            "round {round} (keep {keep}, sync {sync}): latest {latest} (acknowledged {journaled}), oldest {oldest}, {} keys, entries {counts:?}",
            expected.len()
        );
        prev_latest = latest;
    }
}
