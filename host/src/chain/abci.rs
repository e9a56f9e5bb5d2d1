//! The ABCI server: tower-abci's v0.38 protocol on a TCP socket, with the
//! app behind one mutex. Consensus requests run in CometBFT's order;
//! queries and CheckTx share the lock briefly.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tendermint::v0_38::abci::{Request, Response};
use tower::Service;
use tower_abci::BoxError;
use tracing::error;

use super::app::App;

/// Exit status of `chimerad start` after an app fault (storage error or a
/// consensus violation): distinct from usage errors (2) and ordinary failure (1).
pub const FAULT_EXIT_CODE: i32 = 70;

/// A cloneable tower service over the shared app.
#[derive(Clone)]
pub struct AbciService {
    app: Arc<Mutex<App>>,
}

impl AbciService {
    pub fn new(app: Arc<Mutex<App>>) -> AbciService {
        AbciService { app }
    }
}

impl Service<Request> for AbciService {
    type Response = Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    /// Runs the request now, inside `call`, so requests are handled in the
    /// order CometBFT sent them: tower-abci calls the service in arrival
    /// order but may drive several returned futures at once, and CheckTx of
    /// one sender's txs out of order refuses them (sequence mismatch).
    /// `block_in_place` lets the runtime move other tasks off this thread
    /// while the app works.
    fn call(&mut self, req: Request) -> Self::Future {
        let run = || {
            let mut app = self.app.lock().unwrap_or_else(|p| p.into_inner());
            match app.handle(req) {
                Ok(resp) => resp,
                Err(e) => {
                    // A fault (storage, a consensus violation) must stop the
                    // node, not hang it: tower-abci would only panic its
                    // connection task and leave CometBFT waiting. Exiting
                    // also ends the CometBFT child (its parent-death signal).
                    error!(error = %e, "ABCI request failed: stopping the node");
                    std::process::exit(FAULT_EXIT_CODE)
                }
            }
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .map(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
            .unwrap_or(false);
        let resp = if multi_thread {
            tokio::task::block_in_place(run)
        } else {
            run()
        };
        Box::pin(std::future::ready(Ok(resp)))
    }
}

/// Where the ABCI server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbciListen {
    /// A TCP address (CometBFT `proxy_app = "tcp://…"`).
    Tcp(SocketAddr),
    /// A Unix socket (`proxy_app = "unix://…"`): no Nagle delay per round trip.
    Unix(std::path::PathBuf),
}

impl std::fmt::Display for AbciListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbciListen::Tcp(a) => write!(f, "tcp://{a}"),
            AbciListen::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

/// Serves ABCI on `at` until the connection set ends or an app fault.
pub async fn serve(app: Arc<Mutex<App>>, at: AbciListen) -> anyhow::Result<()> {
    let service = AbciService::new(app);
    let (consensus, mempool, snapshot, info) = tower_abci::v038::split::service(service, 1);
    let server = tower_abci::v038::Server::builder()
        .consensus(consensus)
        .mempool(mempool)
        .snapshot(snapshot)
        .info(info)
        .finish()
        .expect("all four services are set");
    let r = match &at {
        AbciListen::Tcp(addr) => server.listen_tcp(*addr).await,
        AbciListen::Unix(path) => server.listen_unix(path).await,
    };
    r.map_err(|e| anyhow::anyhow!("ABCI server on {at}: {e}"))
}
