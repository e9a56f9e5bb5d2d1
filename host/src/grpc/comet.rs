//! The node's own CometBFT RPC, for the gRPC methods whose answers live in
//! CometBFT rather than in app state (node info, blocks, validators, tx
//! broadcast and lookup), as the SDK's gRPC server asks its local node.
//!
//! JSON-RPC 2.0 over plain HTTP/1.1 to a local endpoint: one short request
//! per call on a fresh connection (`Connection: close`), chunked or sized
//! bodies. It talks to 127.0.0.1 only, so a small client on tokio's
//! `TcpStream` suffices and keeps the crate free of an HTTP client stack.
//! CometBFT's JSON conventions: 64-bit integers are strings, `[]byte`
//! parameters and results are base64, `HexBytes` are hex.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;

use super::error::{QResult, QueryError};

/// How long one RPC call may take. `broadcast_tx_commit` waits for a block
/// (CometBFT's own `timeout_broadcast_tx_commit` is 10 s by default).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Bodies larger than this are refused (a full block of default CometBFT
/// limits is about 22 MB, and base64 and JSON grow it by a half).
const MAX_BODY: u64 = 64 << 20;

/// A CometBFT RPC endpoint.
#[derive(Clone, Debug)]
pub struct CometRpc {
    /// `host:port`, for the socket and the Host header.
    authority: String,
    /// The HTTP path JSON-RPC is posted to (`/` unless the URL has one).
    path: String,
    /// The URL as given, for messages.
    url: String,
}

/// Why an RPC call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// No JSON-RPC answer at all.
    #[error("CometBFT RPC {url}: {detail}")]
    Transport { url: String, detail: String },
    /// CometBFT answered with a JSON-RPC error (`data` holds the reason).
    #[error("{message}: {data}")]
    Rpc { message: String, data: String },
}

impl RpcError {
    /// Whether CometBFT said the thing asked for does not exist (a tx hash,
    /// a height).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RpcError::Rpc { data, .. } if data.contains("not found"))
    }
}

impl From<RpcError> for QueryError {
    /// Unreachable RPC: Unavailable. A height CometBFT does not have (yet,
    /// or any more): InvalidArgument, as the SDK answers it. Anything else:
    /// Unknown, the code Go gives errors that carry no status.
    fn from(e: RpcError) -> QueryError {
        match &e {
            RpcError::Transport { .. } => QueryError::new(Code::Unavailable, e.to_string()),
            RpcError::Rpc { data, .. }
                if data.contains("must be less than or equal to the current blockchain height")
                    || data.contains("is not available, lowest height is") =>
            {
                QueryError::invalid(data.clone())
            }
            RpcError::Rpc { .. } => QueryError::new(Code::Unknown, e.to_string()),
        }
    }
}

impl CometRpc {
    /// Parses `http://host:port[/path]` (or CometBFT's `tcp://host:port`).
    pub fn new(url: &str) -> anyhow::Result<CometRpc> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| {
                anyhow::anyhow!("CometBFT RPC URL {url:?}: only http:// (or tcp://) is supported")
            })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || !authority.contains(':') {
            anyhow::bail!("CometBFT RPC URL {url:?}: want http://HOST:PORT");
        }
        Ok(CometRpc {
            authority: authority.to_string(),
            path: path.to_string(),
            url: url.to_string(),
        })
    }

    /// The URL it was made from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with named `params` and returns its `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let transport = |detail: String| RpcError::Transport {
            url: self.url.clone(),
            detail,
        };
        let (status, body) = tokio::time::timeout(CALL_TIMEOUT, self.post(body.as_bytes()))
            .await
            .map_err(|_| transport(format!("{method}: no answer in {CALL_TIMEOUT:?}")))?
            .map_err(|e| transport(format!("{method}: {e}")))?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            transport(format!("{method}: HTTP {status}, not JSON-RPC ({e}): {text}"))
        })?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(RpcError::Rpc {
                message: string(err, "message"),
                data: string(err, "data"),
            });
        }
        v.get("result").cloned().ok_or_else(|| {
            transport(format!(
                "{method}: HTTP {status}, JSON-RPC answer without a result"
            ))
        })
    }

    async fn post(&self, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let mut stream = TcpStream::connect(&self.authority).await?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.authority,
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut raw = Vec::new();
        stream.take(MAX_BODY).read_to_end(&mut raw).await?;
        parse_http_response(&raw).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// Splits an HTTP/1.1 response (read to EOF) into status and body,
/// undoing chunked transfer encoding.
fn parse_http_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("HTTP response without a header end")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "HTTP header is not UTF-8")?;
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad HTTP status line in {head:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = value.parse::<usize>().ok();
        }
    }
    if chunked {
        return dechunk(body).map(|b| (status, b));
    }
    match length {
        Some(n) if n <= body.len() => Ok((status, body[..n].to_vec())),
        Some(n) => Err(format!("HTTP body cut short: {} of {n} bytes", body.len())),
        None => Ok((status, body.to_vec())),
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line without an end")?;
        let size_line = std::str::from_utf8(&body[..eol]).map_err(|_| "chunk size is not UTF-8")?;
        let size_hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("HTTP chunk cut short".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

// JSON field access that accepts CometBFT's strings-for-integers.

/// A string field (numbers and booleans as their text), empty if absent.
pub fn string(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// An integer field given as a number or a decimal string, 0 if absent.
pub fn int(v: &Value, key: &str) -> QResult<i64> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(key, v)),
        Some(Value::String(s)) if s.is_empty() => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(|_| bad(key, v)),
        Some(_) => Err(bad(key, v)),
    }
}

/// A base64 field, empty if absent.
pub fn base64_field(v: &Value, key: &str) -> QResult<Vec<u8>> {
    let s = string(v, key);
    base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .map_err(|_| bad(key, v))
}

fn bad(key: &str, v: &Value) -> QueryError {
    let text: String = v.to_string().chars().take(200).collect();
    QueryError::internal(format!("unexpected CometBFT RPC answer: field {key:?} in {text}"))
}

/// ABCI events as CometBFT 0.38 prints them (attributes as plain strings).
pub fn events(v: &Value) -> Vec<tendermint_proto::abci::Event> {
    let Some(list) = v.get("events").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|e| tendermint_proto::abci::Event {
            r#type: string(e, "type"),
            attributes: e
                .get("attributes")
                .and_then(Value::as_array)
                .map(|attrs| {
                    attrs
                        .iter()
                        .map(|a| tendermint_proto::abci::EventAttribute {
                            key: string(a, "key"),
                            value: string(a, "value"),
                            index: a.get("index").and_then(Value::as_bool).unwrap_or(false),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The result of executing (or checking) one tx, as `/tx`,
/// `/broadcast_tx_*` and `/tx_search` print it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecResult {
    pub code: u32,
    pub data: Vec<u8>,
    pub log: String,
    pub info: String,
    pub gas_wanted: i64,
    pub gas_used: i64,
    pub events: Vec<tendermint_proto::abci::Event>,
    pub codespace: String,
}

impl ExecResult {
    /// Reads `tx_result` / `check_tx` / a `broadcast_tx_*` result
    /// leniently: missing fields are the protobuf defaults, as CometBFT
    /// omits empty ones.
    pub fn from_json(v: &Value) -> QResult<ExecResult> {
        Ok(ExecResult {
            code: u32::try_from(int(v, "code")?).map_err(|_| bad("code", v))?,
            data: base64_field(v, "data")?,
            log: string(v, "log"),
            info: string(v, "info"),
            gas_wanted: int(v, "gas_wanted")?,
            gas_used: int(v, "gas_used")?,
            events: events(v),
            codespace: string(v, "codespace"),
        })
    }
}

/// A block as `/block` returns it, in the protobuf types the SDK's
/// tendermint and tx services answer with.
pub struct FetchedBlock {
    /// The block's hash and part-set header.
    pub id: tendermint_proto::types::BlockId,
    /// The block (a genesis-height block has no last commit).
    pub block: tendermint_proto::types::Block,
}

impl FetchedBlock {
    /// The block time, as the SDK's `TxResponse.timestamp` prints it (RFC
    /// 3339 to the second, UTC).
    pub fn time_rfc3339(&self) -> String {
        let Some(t) = self.block.header.as_ref().and_then(|h| h.time.as_ref()) else {
            return String::new();
        };
        tendermint::Time::from_unix_timestamp(t.seconds, 0)
            .map(|t| {
                let s = t.to_rfc3339();
                // Whole seconds print as "YYYY-MM-DDTHH:MM:SSZ" already.
                s.split_once('.').map(|(secs, _)| format!("{secs}Z")).unwrap_or(s)
            })
            .unwrap_or_default()
    }
}

impl CometRpc {
    /// `/block` at `height` (None: the latest).
    pub async fn block(&self, height: Option<i64>) -> QResult<FetchedBlock> {
        let params = match height {
            Some(h) => json!({ "height": h.to_string() }),
            None => json!({}),
        };
        let r = self.call("block", params).await?;
        let id: tendermint::block::Id =
            serde_json::from_value(r.get("block_id").cloned().unwrap_or(Value::Null))
                .map_err(|e| QueryError::internal(format!("CometBFT /block: block_id: {e}")))?;
        let block: tendermint::Block = serde_json::from_value(r.get("block").cloned().unwrap_or(Value::Null))
            .map_err(|e| QueryError::internal(format!("CometBFT /block: block: {e}")))?;
        Ok(FetchedBlock {
            id: id.into(),
            block: block.into(),
        })
    }

    /// `/status`.
    pub async fn status(&self) -> QResult<Value> {
        Ok(self.call("status", json!({})).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = CometRpc::new("http://127.0.0.1:26657").unwrap();
        assert_eq!((c.authority.as_str(), c.path.as_str()), ("127.0.0.1:26657", "/"));
        let c = CometRpc::new("tcp://localhost:1/rpc").unwrap();
        assert_eq!((c.authority.as_str(), c.path.as_str()), ("localhost:1", "/rpc"));
        assert!(CometRpc::new("https://x:1").is_err());
        assert!(CometRpc::new("http://nohost").is_err());
    }

    #[test]
    fn rpc_errors_map_to_sdk_codes() {
        let rpc = |data: &str| RpcError::Rpc {
            message: "Internal error".into(),
            data: data.into(),
        };
        let e = QueryError::from(rpc(
            "height 9 must be less than or equal to the current blockchain height 5",
        ));
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(rpc("tx (AB) not found").is_not_found());
        assert_eq!(QueryError::from(rpc("tx (AB) not found")).code(), Code::Unknown);
        let t = RpcError::Transport {
            url: "http://x:1".into(),
            detail: "refused".into(),
        };
        assert_eq!(QueryError::from(t).code(), Code::Unavailable);
    }

    #[test]
    fn http_bodies() {
        let sized = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing";
        assert_eq!(parse_http_response(sized).unwrap(), (200, b"{}".to_vec()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_http_response(chunked).unwrap(),
            (200, b"{\"a\":1}".to_vec())
        );
        let eof = b"HTTP/1.0 500 Internal\r\n\r\nbody";
        assert_eq!(parse_http_response(eof).unwrap(), (500, b"body".to_vec()));
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab").is_err());
    }

    #[test]
    fn exec_results_from_cometbft_json() {
        let v = json!({
            "code": 32, "data": "AQI=", "log": "account sequence mismatch", "info": "",
            "gas_wanted": "200000", "gas_used": "51234", "codespace": "sdk",
            "events": [{"type": "tx", "attributes": [{"key": "fee", "value": "5000uchim", "index": true}]}]
        });
        let r = ExecResult::from_json(&v).unwrap();
        assert_eq!(
            (r.code, r.data.as_slice(), r.gas_wanted, r.gas_used),
            (32, &[1u8, 2][..], 200_000, 51_234)
        );
        assert_eq!(r.events[0].attributes[0].value, "5000uchim");
        assert!(r.events[0].attributes[0].index);
        assert_eq!(ExecResult::from_json(&json!({})).unwrap(), ExecResult::default());
    }
}
