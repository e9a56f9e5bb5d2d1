//! CometBFT RPC `/status`, the one RPC call readiness needs.
//!
//! "The chain is up" means the node answers `/status` with the expected
//! network and its latest block height grows. Every CometBFT-based localnet
//! (terrad, simd, chimerad) is waited on this way.

use std::net::SocketAddr;
use std::time::Duration;

use crate::http;

/// What `/status` says about a node.
///
/// Why: chain id and height are what tests wait on and print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// The chain id (`node_info.network`).
    pub network: String,
    /// `sync_info.latest_block_height`.
    pub latest_height: u64,
    /// `sync_info.catching_up`.
    pub catching_up: bool,
}

/// `/status` failed or answered something unexpected.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// No HTTP answer.
    #[error("RPC {addr}: {source}")]
    Io {
        /// The RPC address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An answer that is not a CometBFT status.
    #[error("RPC {addr}/status: unexpected answer (HTTP {status}): {body}")]
    Unexpected {
        /// The RPC address.
        addr: SocketAddr,
        /// The HTTP status.
        status: u16,
        /// The body (shortened).
        body: String,
    },
}

/// Asks the node at `addr` for `/status`.
///
/// Why: readiness and height checks for any CometBFT node.
pub fn status(addr: SocketAddr) -> Result<NodeStatus, RpcError> {
    let r =
        http::get(addr, "/status", Duration::from_secs(5)).map_err(|source| RpcError::Io { addr, source })?;
    parse_status(&r.body).ok_or_else(|| RpcError::Unexpected {
        addr,
        status: r.status,
        body: r.body.chars().take(500).collect(),
    })
}

fn parse_status(body: &str) -> Option<NodeStatus> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    // CometBFT 0.37/0.38 wrap the answer in JSON-RPC `result`.
    let r = v.get("result").unwrap_or(&v);
    Some(NodeStatus {
        network: r.pointer("/node_info/network")?.as_str()?.to_string(),
        latest_height: r
            .pointer("/sync_info/latest_block_height")?
            .as_str()?
            .parse()
            .ok()?,
        catching_up: r.pointer("/sync_info/catching_up")?.as_bool()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cometbft_status() {
        let body = r#"{"jsonrpc":"2.0","id":-1,"result":{"node_info":{"network":"localterra-1"},
            "sync_info":{"latest_block_height":"12","catching_up":false}}}"#;
        assert_eq!(
            parse_status(body),
            Some(NodeStatus {
                network: "localterra-1".into(),
                latest_height: 12,
                catching_up: false
            })
        );
        assert_eq!(parse_status(r#"{"error":"x"}"#), None);
    }
}
