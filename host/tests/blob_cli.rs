//! `chimerad blob …` as operators run it: serve, put, get, stat, and the
//! offline gc / pin / unpin / fsck; every error one line, exit 1.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};

use chimera_host::blob::BlobHash;

fn chimerad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chimerad"))
        .args(args)
        .output()
        .expect("spawn chimerad")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Expects a failure: exit 1 and exactly one line on stderr; returns it.
fn one_line_error(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.starts_with("error: "), "{e}");
    e
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `blob serve` on free ports; returns it with the gRPC endpoint and
/// the metrics address.
fn serve(home: &std::path::Path) -> (Server, String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_chimerad"))
        .args([
            "blob",
            "serve",
            "--home",
            home.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--metrics-listen", "127.0.0.1:0", "--max-blob-size", "3000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned by `Server` at once, so a failure below still kills and reaps it.
    let mut server = Server(child);
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut metrics = String::new();
    loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("metrics on http://") {
            metrics = rest.trim_end_matches("/metrics").to_string();
        }
        if let Some(addr) = line.strip_prefix("blob service listening on ") {
            return (server, format!("http://{addr}"), metrics);
        }
    }
}

#[test]
fn serve_put_get_stat_and_offline_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let (server, endpoint, metrics) = serve(&home);
    let ep = endpoint.as_str();

    let data: Vec<u8> = (0..2_700_000u32).map(|i| (i * 7 + i / 1000) as u8).collect();
    let input = tmp.path().join("in.bin");
    std::fs::write(&input, &data).unwrap();
    let hash = stdout(&chimerad(&[
        "blob",
        "put",
        input.to_str().unwrap(),
        "--endpoint",
        ep,
        "--encoding",
        "npy",
    ]));
    let hash = hash.trim();
    assert_eq!(hash, BlobHash::of(&data).to_hex());

    let out = tmp.path().join("out.bin");
    stdout(&chimerad(&[
        "blob",
        "get",
        hash,
        "--out",
        out.to_str().unwrap(),
        "--endpoint",
        ep,
    ]));
    assert_eq!(std::fs::read(&out).unwrap(), data);
    let part = tmp.path().join("part.bin");
    stdout(&chimerad(&[
        "blob",
        "get",
        hash,
        "--out",
        part.to_str().unwrap(),
        "--endpoint",
        ep,
        "--offset",
        "1048570",
        "--length",
        "20",
    ]));
    assert_eq!(std::fs::read(&part).unwrap(), &data[1_048_570..1_048_590]);

    let stat: serde_json::Value =
        serde_json::from_str(&stdout(&chimerad(&["blob", "stat", hash, "--endpoint", ep]))).unwrap();
    assert_eq!(stat["sha256"], hash);
    assert_eq!(stat["size"], 2_700_000);
    assert_eq!(stat["encoding"], "npy");
    assert_eq!(stat["chunk_count"], 3);

    // Errors: one line each.
    let missing = BlobHash::of(b"nope").to_hex();
    let e = one_line_error(&chimerad(&["blob", "stat", &missing, "--endpoint", ep]));
    assert!(e.contains(&format!("blob {missing} not found")), "{e}");
    let e = one_line_error(&chimerad(&[
        "blob",
        "get",
        &missing,
        "--out",
        out.to_str().unwrap(),
        "--endpoint",
        ep,
    ]));
    assert!(e.contains("not found"), "{e}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        data,
        "a failed get leaves --out alone"
    );
    let e = one_line_error(&chimerad(&["blob", "stat", "xyz", "--endpoint", ep]));
    assert!(e.contains("invalid blob hash"), "{e}");
    let big = tmp.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 3_000_001]).unwrap();
    let e = one_line_error(&chimerad(&[
        "blob",
        "put",
        big.to_str().unwrap(),
        "--endpoint",
        ep,
    ]));
    assert!(e.contains("larger than the limit of 3000000 bytes"), "{e}");
    let e = one_line_error(&chimerad(&["blob", "put", "/nonexistent/file", "--endpoint", ep]));
    assert!(e.contains("cannot read /nonexistent/file"), "{e}");
    let e = one_line_error(&chimerad(&[
        "blob",
        "get",
        hash,
        "--out",
        out.to_str().unwrap(),
        "--endpoint",
        ep,
        "--offset",
        "9999999",
    ]));
    assert!(e.contains("outside blob"), "{e}");
    // The store is held by the server: offline tools refuse clearly.
    let e = one_line_error(&chimerad(&[
        "blob",
        "gc",
        "--home",
        home.to_str().unwrap(),
        "--height",
        "1",
        "--retention",
        "0",
    ]));
    assert!(e.contains("is in use"), "{e}");

    // Metrics over HTTP.
    let mut sock = std::net::TcpStream::connect(&metrics).unwrap();
    sock.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    sock.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("chimera_blob_put_bytes_total 2700000"), "{text}");
    assert!(text.contains("chimera_blob_blobs 1"), "{text}");

    drop(server);
    let port = endpoint.rsplit(':').next().unwrap();
    let e = one_line_error(&chimerad(&[
        "blob",
        "stat",
        hash,
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert!(e.contains("cannot reach the blob service"), "{e}");

    // Offline: pin, gc keeps it, unpin, gc removes it, fsck is clean.
    let h = home.to_str().unwrap();
    assert_eq!(stdout(&chimerad(&["blob", "pin", hash, "--home", h])).trim(), "1");
    let gc_at_100 = || -> serde_json::Value {
        serde_json::from_str(&stdout(&chimerad(&[
            "blob",
            "gc",
            "--home",
            h,
            "--height",
            "100",
            "--retention",
            "10",
        ])))
        .unwrap()
    };
    let gc = gc_at_100();
    assert_eq!(
        (gc["removed"].as_u64(), gc["kept_pinned"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(
        stdout(&chimerad(&["blob", "unpin", hash, "--home", h])).trim(),
        "0"
    );
    let e = one_line_error(&chimerad(&["blob", "unpin", hash, "--home", h]));
    assert!(e.contains("is not pinned"), "{e}");
    let fsck: serde_json::Value =
        serde_json::from_str(&stdout(&chimerad(&["blob", "fsck", "--home", h]))).unwrap();
    assert_eq!(fsck["blobs"], 1);
    let gc = gc_at_100();
    assert_eq!(gc["removed"], 1);
    assert_eq!(gc["freed_bytes"], 2_700_000);
}
