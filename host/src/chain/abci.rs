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

    fn call(&mut self, req: Request) -> Self::Future {
        let app = self.app.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut app = app.lock().unwrap_or_else(|p| p.into_inner());
                match app.handle(req) {
                    Ok(resp) => Ok(resp),
                    Err(e) => {
                        // A fault (storage, a consensus violation) must stop the
                        // node, not hang it: tower-abci would only panic its
                        // connection task and leave CometBFT waiting. Exiting
                        // also ends the CometBFT child (its parent-death signal).
                        error!(error = %e, "ABCI request failed: stopping the node");
                        std::process::exit(FAULT_EXIT_CODE)
                    }
                }
            })
            .await?
        })
    }
}

/// Serves ABCI on `addr` until the connection set ends or an app fault.
pub async fn serve(app: Arc<Mutex<App>>, addr: SocketAddr) -> anyhow::Result<()> {
    let service = AbciService::new(app);
    let (consensus, mempool, snapshot, info) = tower_abci::v038::split::service(service, 1);
    let server = tower_abci::v038::Server::builder()
        .consensus(consensus)
        .mempool(mempool)
        .snapshot(snapshot)
        .info(info)
        .finish()
        .expect("all four services are set");
    server
        .listen_tcp(addr)
        .await
        .map_err(|e| anyhow::anyhow!("ABCI server on {addr}: {e}"))
}
