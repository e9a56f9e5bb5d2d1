//! The Cosmos SDK gRPC query surface of `chimerad`, so that Hermes, cosmjs
//! and Cosmos wallets talk to the host chain as to any SDK 0.47/0.50 chain.
//!
//! Services (tonic servers generated in `ibc_proto::cosmos`):
//! - `cosmos.auth.v1beta1.Query` ([`auth`](crate::grpc::auth)): accounts,
//!   params, bech32 prefix;
//! - `cosmos.bank.v1beta1.Query` ([`bank`](crate::grpc::bank)): balances,
//!   supply, metadata;
//! - `cosmos.staking.v1beta1.Query/Params` ([`staking`](crate::grpc::staking)):
//!   unbonding time;
//! - `cosmos.base.node.v1beta1.Service` ([`node`](crate::grpc::node)): the
//!   minimum gas price;
//! - `cosmos.tx.v1beta1.Service` ([`tx`](crate::grpc::tx)): simulate,
//!   broadcast, look up;
//! - `cosmos.base.tendermint.v1beta1.Service`
//!   ([`tendermint`](crate::grpc::tendermint)): node info, blocks, validators;
//! - `chimera.inference.v1.Query` ([`inference`](crate::grpc::inference)):
//!   jobs, models, executor keys, requests sent (its tonic server generated
//!   by host/build.rs over `chimera_packets::proto`);
//! - `chimera.fees.v1.Query` ([`fees`](crate::grpc::fees)): fee parameters,
//!   totals per denom, executors' earnings and faults (its tonic service in
//!   [`crate::services::fees`], so clients build without the node).
//!
//! Queries read committed snapshots of [`Storage`](crate::state::Storage)
//! only, never the app and its mutex, so they cannot stall consensus; what
//! lives in CometBFT (blocks, the tx index, the mempool) is asked of its RPC
//! ([`comet`](crate::grpc::comet)).
//!
//! The same handlers also answer gRPC-over-ABCI
//! ([`abci_route`](crate::grpc::abci_route)): cosmjs sends every query as
//! `abci_query` with the method path, and Hermes 1.11 reads staking params,
//! the node config and the node info that way.

pub mod auth;
pub mod bank;
pub mod comet;
pub mod error;
pub mod fees;
pub mod inference;
pub mod node;
pub mod page;
pub mod read;
pub mod staking;
pub mod tendermint;
pub mod tx;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use ibc_proto::cosmos::auth::v1beta1::query_server::QueryServer as AuthServer;
use ibc_proto::cosmos::bank::v1beta1::query_server::QueryServer as BankServer;
use ibc_proto::cosmos::base::node::v1beta1::service_server::ServiceServer as NodeServer;
use ibc_proto::cosmos::base::tendermint::v1beta1::service_server::ServiceServer as TendermintServer;
use ibc_proto::cosmos::staking::v1beta1::query_server::QueryServer as StakingServer;
use ibc_proto::cosmos::tx::v1beta1::service_server::ServiceServer as TxServer;
use tracing::info;

pub use error::{QResult, QueryError};
pub use read::QueryCtx;

use crate::state::Storage;

/// Binds `addr` and serves every service until `shutdown` resolves.
/// `cometbft_rpc` is the node's own RPC (`http://127.0.0.1:26657`), asked
/// for blocks, validators, broadcasts and tx lookups; `mempool` is the
/// app's CheckTx state for `Simulate` ([`read::MempoolState`]).
pub async fn serve(
    storage: Storage,
    mempool: Option<read::MempoolState>,
    blobs: Option<crate::blob::BlobStore>,
    chain_id: String,
    cometbft_rpc: String,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("gRPC: cannot listen on {addr}"))?;
    serve_on(
        listener,
        storage,
        mempool,
        blobs,
        chain_id,
        cometbft_rpc,
        shutdown,
    )
    .await
}

/// [`serve`] on a listener the caller bound, so that tests and launchers can
/// take a free port (`127.0.0.1:0`) and learn it before serving.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    storage: Storage,
    mempool: Option<read::MempoolState>,
    blobs: Option<crate::blob::BlobStore>,
    chain_id: String,
    cometbft_rpc: String,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let rpc = comet::CometRpc::new(&cometbft_rpc)?;
    let q = QueryCtx::new(storage, &chain_id).with_mempool(mempool);
    // IBC (issue #5): ibc.core.{client,connection,channel}.v1 and
    // ibc.applications.transfer.v1 queries.
    let ibc = crate::ibc::query::grpc_services(&q);
    let local = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
        .map_err(|e| anyhow::anyhow!("gRPC listener: {e}"))?;
    info!(addr = %local, %chain_id, cometbft_rpc = %rpc.url(), "serving Cosmos SDK gRPC queries");
    let router = tonic::transport::Server::builder()
        .add_service(AuthServer::new(auth::AuthQuery(q.clone())))
        .add_service(BankServer::new(bank::BankQuery(q.clone())))
        .add_service(StakingServer::new(staking::StakingQuery(q.clone())))
        .add_service(NodeServer::new(node::NodeService(q.clone())))
        .add_service(inference::QueryServer::new(inference::InferenceQuery(q.clone())))
        .add_service(fees::QueryServer::new(fees::FeesQuery(q.clone())))
        .add_service(TxServer::new(tx::TxService { q, rpc: rpc.clone() }))
        .add_service(TendermintServer::new(tendermint::TendermintService { rpc }))
        // The node's outputs, next to the queries that name them.
        .add_optional_service(
            blobs.map(|b| crate::blob::server::BlobGrpc::new(b, Default::default()).into_service()),
        );
    ibc.add_to(router)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .context("gRPC server")
}

/// Answers a gRPC-over-ABCI query: `path` is a gRPC method
/// (`/cosmos.bank.v1beta1.Query/AllBalances`), `data` its protobuf request,
/// `height` the state to read (0: latest). Returns the protobuf response,
/// or the SDK's ABCI code and log for the failure (e.g. 38 and
/// `rpc error: code = NotFound desc = account … not found: key not found`,
/// which cosmjs recognises as a missing account); None for a path this
/// surface does not serve, which the caller reports as an unknown path.
///
/// Served: the auth, bank, staking-params and node queries, `Simulate` and
/// `TxDecode`/`TxEncode`, `GetNodeInfo` (application version only), and
/// all of `chimera.inference.v1.Query` and `chimera.fees.v1.Query`.
/// Methods that need CometBFT's RPC are not: the ABCI handler runs inside
/// CometBFT's call and must not call back into it.
pub fn abci_route(
    storage: &Storage,
    chain_id: &str,
    path: &str,
    data: &[u8],
    height: u64,
) -> Option<Result<Vec<u8>, (u32, String)>> {
    use read::{abci, abci_call};
    let q = QueryCtx::new(storage.clone(), chain_id);
    let path = path.strip_prefix('/').unwrap_or(path);
    let r = match path {
        "cosmos.auth.v1beta1.Query/Account" => abci(&q, data, height, auth::account),
        "cosmos.auth.v1beta1.Query/AccountInfo" => abci(&q, data, height, auth::account_info),
        "cosmos.auth.v1beta1.Query/Params" => abci(&q, data, height, auth::query_params),
        "cosmos.auth.v1beta1.Query/Bech32Prefix" => abci(&q, data, height, auth::bech32_prefix),
        "cosmos.auth.v1beta1.Query/AddressBytesToString" => {
            abci(&q, data, height, auth::address_bytes_to_string)
        }
        "cosmos.auth.v1beta1.Query/AddressStringToBytes" => {
            abci(&q, data, height, auth::address_string_to_bytes)
        }
        "cosmos.bank.v1beta1.Query/Balance" => abci(&q, data, height, bank::balance),
        "cosmos.bank.v1beta1.Query/AllBalances" => abci(&q, data, height, bank::all_balances),
        "cosmos.bank.v1beta1.Query/SpendableBalances" => abci(&q, data, height, bank::spendable_balances),
        "cosmos.bank.v1beta1.Query/SpendableBalanceByDenom" => {
            abci(&q, data, height, bank::spendable_balance_by_denom)
        }
        "cosmos.bank.v1beta1.Query/TotalSupply" => abci(&q, data, height, bank::total_supply),
        "cosmos.bank.v1beta1.Query/SupplyOf" => abci(&q, data, height, bank::supply_of),
        "cosmos.bank.v1beta1.Query/Params" => abci(&q, data, height, bank::query_params),
        "cosmos.bank.v1beta1.Query/DenomMetadata" => abci(&q, data, height, bank::denom_metadata),
        "cosmos.bank.v1beta1.Query/DenomMetadataByQueryString" => {
            abci(&q, data, height, bank::denom_metadata_by_query_string)
        }
        "cosmos.bank.v1beta1.Query/DenomsMetadata" => abci(&q, data, height, bank::denoms_metadata),
        "cosmos.bank.v1beta1.Query/SendEnabled" => abci(&q, data, height, bank::send_enabled),
        "cosmos.staking.v1beta1.Query/Params" => abci(&q, data, height, staking::query_params),
        "cosmos.base.node.v1beta1.Service/Config" => abci(&q, data, height, node::config),
        "cosmos.base.node.v1beta1.Service/Status" => abci(&q, data, height, node::status),
        "cosmos.tx.v1beta1.Service/Simulate" => abci_call(data, |r| tx::simulate(&q, r)),
        "cosmos.tx.v1beta1.Service/TxDecode" => abci_call(data, tx::tx_decode),
        "cosmos.tx.v1beta1.Service/TxEncode" => abci_call(data, tx::tx_encode),
        "cosmos.base.tendermint.v1beta1.Service/GetNodeInfo" => {
            abci_call(data, tendermint::node_info_app_only)
        }
        _ if path.starts_with("chimera.inference.v1.Query/") => {
            inference::abci_route(&q, path, data, height)?
        }
        _ if path.starts_with("chimera.fees.v1.Query/") => fees::abci_route(&q, path, data, height)?,
        // IBC (issue #5): the ibc.core and transfer query services.
        _ => crate::ibc::query::abci_route(&q, path, data, height)?,
    };
    Some(r.map_err(|e| e.to_abci()))
}
