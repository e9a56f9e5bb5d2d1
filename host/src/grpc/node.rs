//! `cosmos.base.node.v1beta1.Service`: the node's fee floor (Hermes 1.11's
//! health check compares its configured `gas_price` with it) and its store
//! status. The floor is consensus state here (`chain::params`), not a
//! per-node setting as in the SDK's app.toml.

use ibc_proto::cosmos::base::node::v1beta1::service_server::Service;
use ibc_proto::cosmos::base::node::v1beta1::*;
use tonic::{Request, Response, Status};

use super::error::QResult;
use super::read::{self, QueryCtx};
use super::staking::chain_params;
use crate::state::Snapshot;

/// `Service/Config`: `minimum_gas_price` as the SDK's `DecCoins` string
/// (e.g. `0.025uchim`), and the store's retention as pruning settings.
pub fn config(q: &QueryCtx, snap: &Snapshot, _: ConfigRequest) -> QResult<ConfigResponse> {
    let p = chain_params(snap)?;
    Ok(ConfigResponse {
        minimum_gas_price: format!("{}{}", p.min_gas_price_decimal(), p.fee_denom),
        pruning_keep_recent: q.storage.options().keep_versions.to_string(),
        pruning_interval: "0".into(),
        halt_height: 0,
    })
}

/// `Service/Status`: the committed height and app hash, and the oldest
/// height queries (and proofs) can still read.
pub fn status(q: &QueryCtx, snap: &Snapshot, _: StatusRequest) -> QResult<StatusResponse> {
    Ok(StatusResponse {
        earliest_store_height: q.storage.oldest_version().unwrap_or(0),
        height: snap.version().unwrap_or(0),
        timestamp: None,
        app_hash: if snap.version().is_some() {
            snap.app_hash().0.to_vec()
        } else {
            Vec::new()
        },
        validator_hash: Vec::new(),
    })
}

/// The tonic service.
#[derive(Clone)]
pub struct NodeService(pub QueryCtx);

#[tonic::async_trait]
impl Service for NodeService {
    async fn config(&self, req: Request<ConfigRequest>) -> Result<Response<ConfigResponse>, Status> {
        read::grpc(&self.0, req, config).await
    }

    async fn status(&self, req: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        read::grpc(&self.0, req, status).await
    }
}
