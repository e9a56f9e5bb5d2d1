//! A minimal HTTP/1.0 GET over loopback.
//!
//! Readiness checks need to ask "does this endpoint answer yet?" of CometBFT
//! RPC and the Cosmos REST API. A full HTTP client would add an async stack
//! to every synchronous wait; HTTP/1.0 with `Connection: close` keeps the
//! answer un-chunked (Go's server never chunks for 1.0 clients), so reading
//! to end of stream is the whole response.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Status and body of one HTTP response.
///
/// Why: callers decide themselves whether a non-2xx answer means "not ready
/// yet" or a real failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The numeric status code, e.g. 200.
    pub status: u16,
    /// The body, decoded as UTF-8 (lossily: RPC and REST answer JSON).
    pub body: String,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    ///
    /// Why: the usual readiness criterion.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends `GET path` to `addr` and returns the response, giving up after
/// `timeout` for connecting and again for each read or write.
///
/// Why: the one HTTP call the harness needs, without an HTTP client crate.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> io::Result<HttpResponse> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("HTTP response without end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("bad HTTP status line {status_line:?}")))?;
    Ok(HttpResponse {
        status,
        body: String::from_utf8_lossy(&raw[split + 4..]).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let r = parse(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "{\"a\":1}");
        assert!(r.is_success());
        assert!(parse(b"garbage").is_err());
    }

    #[test]
    fn talks_to_a_real_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "client closed before finishing its request");
                req.extend_from_slice(&buf[..n]);
            }
            assert!(req.starts_with(b"GET /status HTTP/1.0\r\n"));
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\nnot yet")
                .unwrap();
        });
        let r = get(addr, "/status", Duration::from_secs(5)).unwrap();
        server.join().unwrap();
        assert_eq!((r.status, r.body.as_str()), (503, "not yet"));
        assert!(!r.is_success());
    }
}
