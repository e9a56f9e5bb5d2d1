//! Free loopback ports for localnet nodes.
//!
//! Every node of every chain in a test listens on several ports (RPC, P2P,
//! gRPC, REST, ...). Fixed ports make tests collide with each other and with
//! whatever else runs on the machine, so the harness asks the kernel for a
//! free port instead. Two picks in the same test process could still return
//! the same port (the first one is released before its node binds it), so
//! every port handed out is remembered and never handed out twice.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};

/// The address every localnet service binds: loopback only, so a test never
/// exposes a node to the network and never needs firewall rules.
pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A port that was already taken when a node was about to start.
///
/// Checked before a node starts, because the node's own error for this (if it
/// gives one at all before timing out) rarely says which of its listeners
/// failed.
#[derive(Debug, thiserror::Error)]
#[error(
    "port {port} on 127.0.0.1, wanted for {service}, is already in use \
     (another node or process holds it): stop that process or choose another port"
)]
pub struct PortInUse {
    /// The port that could not be bound.
    pub port: u16,
    /// Which service of which node wanted it, e.g. "terrad CometBFT RPC".
    pub service: String,
}

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static SET: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Picks a free port on 127.0.0.1 that this process has not handed out
/// before.
///
/// Why: lets many nodes (and many tests in parallel threads) run side by side
/// without hard-coded ports. The port is released before returning, so
/// another process may still grab it before the node binds; the node's
/// readiness wait then fails with its log tail, which names the port.
pub fn free_port() -> io::Result<u16> {
    let mut set = handed_out().lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..64 {
        let port = TcpListener::bind((LOOPBACK, 0))?.local_addr()?.port();
        if set.insert(port) {
            return Ok(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        "the kernel kept returning ports this test process already handed out",
    ))
}

/// Checks that `port` can be bound on 127.0.0.1 right now, naming `service`
/// in the error otherwise.
///
/// Why: a node started on a taken port fails late and obscurely; checking
/// first turns that into one clear sentence. Any bind failure counts as
/// "in use": on loopback, for the unprivileged ports handed out here, that is
/// the only way binding fails.
pub fn ensure_free(port: u16, service: &str) -> Result<(), PortInUse> {
    match TcpListener::bind((LOOPBACK, port)) {
        Ok(listener) => {
            drop(listener);
            Ok(())
        }
        Err(_) => Err(PortInUse {
            port,
            service: service.to_string(),
        }),
    }
}

/// `127.0.0.1:port` as a socket address.
///
/// Why: every readiness wait and client in the harness dials loopback.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((LOOPBACK, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_distinct_and_bindable() {
        let ports: Vec<u16> = (0..32).map(|_| free_port().unwrap()).collect();
        let unique: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
        for p in ports {
            ensure_free(p, "test").unwrap();
        }
    }

    #[test]
    fn taken_port_is_named() {
        let l = TcpListener::bind((LOOPBACK, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let err = ensure_free(port, "unit-test RPC").unwrap_err();
        assert_eq!(err.port, port);
        let msg = err.to_string();
        assert!(
            msg.contains(&port.to_string()) && msg.contains("unit-test RPC"),
            "{msg}"
        );
    }
}
