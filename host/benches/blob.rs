//! Blob store throughput against plain files (a bench command, not a timed
//! test; results go to docs/benchmarks.md by hand).
//!
//! ```text
//! cargo bench -p chimera-host --bench blob -- [--quick] [--repeat N] [--case 1MiB|64MiB|1KiB]
//!     [--fsync commit|never|both] [--dir DIR]
//! ```
//!
//! For each case (1 MiB × 256, 64 MiB × 8, 1 KiB × 100,000) and fsync
//! policy, two child processes (so each has its own peak RSS) write the
//! blobs then read them all back: one through `BlobStore` (put hashes and
//! chunks; get verifies every chunk), one as plain files, one per blob,
//! `sync_data` per file under `commit`. Reads are from a warm page cache
//! for both. A third child, `files+sha256`, also hashes each file when
//! writing and reading it: what a plain-file store must do to offer the
//! same integrity check. Runs interleave, each figure is the median of
//! `--repeat` (default 3) runs, peak RSS the largest. Prints a Markdown table
//! with the ratios.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chimera_host::blob::{BlobStore, FsyncPolicy, StoreConfig};
use sha2::Digest;

struct Case {
    name: &'static str,
    size: usize,
    count: usize,
    quick_count: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "1MiB",
        size: 1 << 20,
        count: 256,
        quick_count: 32,
    },
    Case {
        name: "64MiB",
        size: 64 << 20,
        count: 8,
        quick_count: 2,
    },
    Case {
        name: "1KiB",
        size: 1 << 10,
        count: 100_000,
        quick_count: 5_000,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(case) = value("--child") {
        let backend = value("--backend").unwrap();
        let fsync: FsyncPolicy = value("--fsync").unwrap().parse().unwrap();
        let dir = PathBuf::from(value("--dir").unwrap());
        let count: usize = value("--count").unwrap().parse().unwrap();
        child(&case, &backend, fsync, &dir, count);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let repeat: usize = value("--repeat").map_or(3, |r| r.parse().expect("--repeat N"));
    let policies: Vec<&str> = match value("--fsync").as_deref() {
        None | Some("both") => vec!["commit", "never"],
        Some("commit") => vec!["commit"],
        Some("never") => vec!["never"],
        Some(other) => panic!("--fsync {other}: expected commit, never or both"),
    };
    let only = value("--case");
    let root = value("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let exe = std::env::current_exe().unwrap();

    println!("sha256 alone: {:.0} MB/s (one core)", sha256_mbps());
    println!();
    println!(
        "| case | fsync | put: store | files | store/files | files+sha256 | store/that | get: store | files | store/files | files+sha256 | store/that | peak RSS store / files |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in CASES
        .iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
    {
        let count = if quick { case.quick_count } else { case.count };
        for fsync in &policies {
            // Runs interleave (store, files, files+sha256, store, ...) so
            // that load from other processes hits all three alike; each
            // figure is the median of `repeat` runs.
            let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new(), Vec::new()];
            for _ in 0..repeat {
                for (b, backend) in ["store", "files", "files+sha256"].into_iter().enumerate() {
                    let dir = tempdir_in(&root, &format!("chimera-blob-bench-{}-{backend}", case.name));
                    let out = Command::new(&exe)
                        .args(["--child", case.name, "--backend", backend, "--fsync", fsync])
                        .args(["--dir", dir.to_str().unwrap(), "--count", &count.to_string()])
                        .output()
                        .unwrap();
                    let _ = std::fs::remove_dir_all(&dir);
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                    runs[b].push(Run::parse(&String::from_utf8_lossy(&out.stdout)));
                }
            }
            let res: Vec<Run> = runs.into_iter().map(Run::median).collect();
            let bytes = (case.size * count) as f64;
            let small = case.size <= 4096;
            let unit = if small { "ops/s" } else { "MB/s" };
            // (put, get) as ops/s for small blobs, MB/s otherwise.
            let rate = |r: &Run| {
                if small {
                    (count as f64 / r.put, count as f64 / r.get)
                } else {
                    (bytes / r.put / 1e6, bytes / r.get / 1e6)
                }
            };
            let ((ps, gs), (pf, gf), (ph, gh)) = (rate(&res[0]), rate(&res[1]), rate(&res[2]));
            println!(
                "| {} × {count} | {fsync} | {ps:.0} {unit} | {pf:.0} | {:.0}% | {ph:.0} | {:.0}% | {gs:.0} {unit} | {gf:.0} | {:.0}% | {gh:.0} | {:.0}% | {} / {} MiB |",
                case.name,
                100.0 * ps / pf,
                100.0 * ps / ph,
                100.0 * gs / gf,
                100.0 * gs / gh,
                res[0].rss_kib / 1024,
                res[1].rss_kib / 1024,
            );
        }
    }
}

struct Run {
    put: f64,
    get: f64,
    rss_kib: u64,
}

impl Run {
    fn median(mut runs: Vec<Run>) -> Run {
        let mid = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let mut put: Vec<f64> = runs.iter().map(|r| r.put).collect();
        let mut get: Vec<f64> = runs.iter().map(|r| r.get).collect();
        let rss_kib = runs.iter().map(|r| r.rss_kib).max().unwrap_or(0);
        runs.clear();
        Run {
            put: mid(&mut put),
            get: mid(&mut get),
            rss_kib,
        }
    }

    fn parse(out: &str) -> Self {
        let line = out
            .lines()
            .find(|l| l.starts_with("RESULT"))
            .expect("child result");
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        Run {
            put: field("put"),
            get: field("get"),
            rss_kib: field("rss_kib") as u64,
        }
    }
}

fn tempdir_in(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn random(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Bytes this process caused to be read from storage (not the page cache).
fn disk_read_kib() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("read_bytes:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(0, |b| b / 1024)
}

fn sha256_mbps() -> f64 {
    let data = random(64 << 20, 5);
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_millis(500) {
        std::hint::black_box(sha2::Sha256::digest(&data));
        n += data.len();
    }
    n as f64 / t.elapsed().as_secs_f64() / 1e6
}

fn child(case: &str, backend: &str, fsync: FsyncPolicy, dir: &Path, count: usize) {
    let size = CASES.iter().find(|c| c.name == case).unwrap().size;
    let mut data = random(size, 0xC0FFEE);
    // Blob i differs from the others in its first 8 bytes.
    let stamp = |data: &mut Vec<u8>, i: usize| {
        let k = data.len().min(8);
        data[..k].copy_from_slice(&(i as u64).to_le_bytes()[..k]);
    };
    let (put, get) = match backend {
        "store" => {
            let store = BlobStore::open(
                dir.join("db"),
                StoreConfig {
                    fsync,
                    ..StoreConfig::default()
                },
            )
            .unwrap();
            let mut hashes = Vec::with_capacity(count);
            let t = Instant::now();
            for i in 0..count {
                stamp(&mut data, i);
                hashes.push(store.put(&data, "raw", 0).unwrap().hash);
            }
            let put = t.elapsed();
            let t = Instant::now();
            let mut sink = std::io::sink();
            for h in &hashes {
                assert_eq!(store.read_to(h, 0, None, &mut sink).unwrap(), size as u64);
            }
            (put, t.elapsed())
        }
        "files" | "files+sha256" => {
            // `files+sha256`: what a plain-file content-addressed store must
            // also do: hash each blob to name it, re-hash it on read.
            let hashed = backend == "files+sha256";
            for d in 0..256 {
                std::fs::create_dir_all(dir.join(format!("{d:02x}"))).unwrap();
            }
            let path = |i: usize| dir.join(format!("{:02x}", i % 256)).join(i.to_string());
            let t = Instant::now();
            for i in 0..count {
                stamp(&mut data, i);
                if hashed {
                    std::hint::black_box(sha2::Sha256::digest(&data));
                }
                let mut f = std::fs::File::create(path(i)).unwrap();
                f.write_all(&data).unwrap();
                if fsync == FsyncPolicy::Commit {
                    f.sync_data().unwrap();
                }
            }
            let put = t.elapsed();
            let t = Instant::now();
            let mut chunk = vec![0u8; 1 << 20];
            for i in 0..count {
                let mut f = std::fs::File::open(path(i)).unwrap();
                let mut n = 0;
                let mut h = sha2::Sha256::new();
                // Read in 1 MiB pieces, as the store does.
                loop {
                    let k = f.read(&mut chunk).unwrap();
                    if k == 0 {
                        break;
                    }
                    if hashed {
                        h.update(&chunk[..k]);
                    } else {
                        std::hint::black_box(&chunk[..k]);
                    }
                    n += k;
                }
                assert_eq!(n, size);
                std::hint::black_box(h.finalize());
            }
            (put, t.elapsed())
        }
        other => panic!("backend {other}"),
    };
    println!(
        "RESULT put={} get={} rss_kib={} disk_read_kib={}",
        put.as_secs_f64(),
        get.as_secs_f64(),
        peak_rss_kib(),
        disk_read_kib()
    );
}
