//! `cosmos.base.tendermint.v1beta1.Service`: node info, sync status, blocks
//! and validator sets from the node's CometBFT RPC, in the SDK's shapes.
//!
//! `GetNodeInfo`'s `application_version` is also what Hermes 1.11 reads,
//! through `abci_query` rather than gRPC (`fetch_version_specs` in
//! crates/relayer/src/chain/cosmos/query.rs), to pick the CometBFT
//! compatibility mode and to run its SDK / ibc-go version check; see
//! [`version_info`] for what we declare there and why.

use ibc_proto::cosmos::base::tendermint::v1beta1::service_server::Service;
use ibc_proto::cosmos::base::tendermint::v1beta1::*;
use ibc_proto::google::protobuf::Any;
use prost::Message;
use serde_json::{json, Value};
use tendermint_proto::p2p::{DefaultNodeInfo, DefaultNodeInfoOther, ProtocolVersion};
use tonic::{Request, Response, Status};

use super::comet::{self, CometRpc, FetchedBlock};
use super::error::{QResult, QueryError};
use super::page::offset_page;
use crate::chain::address::{Address, ACCOUNT_PREFIX};
use crate::chain::app::APP_VERSION;

/// Go module path Hermes looks for in `build_deps` to tell the consensus
/// engine and its version (crates/relayer/src/chain/cosmos/version.rs,
/// `COMET_MODULE_NAME`).
pub const COMETBFT_MODULE: &str = "github.com/cometbft/cometbft";

/// The CometBFT release line the app is built for, as a semver version:
/// the app speaks ABCI 2.0, which only CometBFT 0.38 drives, and Hermes
/// takes only major.minor from it (to pick its 0.38 compatibility mode).
pub fn cometbft_version() -> String {
    format!("v{}0", crate::node::cometbft::SUPPORTED_VERSION_PREFIX)
}

/// The application's version report.
///
/// `build_deps` declares CometBFT only. Hermes 1.11 also looks there for
/// `github.com/cosmos/cosmos-sdk` (requires >=0.45, <0.51) and
/// `github.com/cosmos/ibc-go/vN` (>=4.1.1, <9)
/// (crates/relayer/src/chain/cosmos/compatibility.rs); without them its
/// health check reports the chain as unhealthy ("SDK module version not
/// found") and carries on relaying, so we do not claim Go modules the
/// binary does not contain. Without the CometBFT entry Hermes would fail to
/// parse the report at all (`ConsensusModuleNotFound`) and fall back to the
/// node's `/status` version for its compatibility mode.
pub fn version_info() -> VersionInfo {
    VersionInfo {
        name: "chimera".into(),
        app_name: "chimerad".into(),
        version: APP_VERSION.into(),
        git_commit: String::new(),
        build_tags: String::new(),
        go_version: String::new(),
        build_deps: vec![Module {
            path: COMETBFT_MODULE.into(),
            version: cometbft_version(),
            sum: String::new(),
        }],
        cosmos_sdk_version: String::new(),
    }
}

/// `GetNodeInfo` as gRPC-over-ABCI answers it: the application's version
/// only (the ABCI handler cannot ask CometBFT for its p2p info, and the
/// version is all Hermes reads from it).
pub fn node_info_app_only(_: GetNodeInfoRequest) -> QResult<GetNodeInfoResponse> {
    Ok(GetNodeInfoResponse {
        default_node_info: None,
        application_version: Some(version_info()),
    })
}

/// The bech32 prefix of consensus addresses, by the SDK's convention.
pub fn valcons_prefix() -> String {
    format!("{ACCOUNT_PREFIX}valcons")
}

/// `/status`'s `node_info` as the `tendermint.p2p` protobuf.
fn default_node_info(status: &Value) -> DefaultNodeInfo {
    let ni = status.get("node_info").cloned().unwrap_or(Value::Null);
    let pv = ni.get("protocol_version").cloned().unwrap_or(Value::Null);
    let uint = |v: &Value, k: &str| comet::int(v, k).unwrap_or(0).max(0) as u64;
    let other = ni.get("other").cloned().unwrap_or(Value::Null);
    DefaultNodeInfo {
        protocol_version: Some(ProtocolVersion {
            p2p: uint(&pv, "p2p"),
            block: uint(&pv, "block"),
            app: uint(&pv, "app"),
        }),
        default_node_id: comet::string(&ni, "id"),
        listen_addr: comet::string(&ni, "listen_addr"),
        network: comet::string(&ni, "network"),
        version: comet::string(&ni, "version"),
        channels: hex::decode(comet::string(&ni, "channels")).unwrap_or_default(),
        moniker: comet::string(&ni, "moniker"),
        other: Some(DefaultNodeInfoOther {
            tx_index: comet::string(&other, "tx_index"),
            rpc_address: comet::string(&other, "rpc_address"),
        }),
    }
}

/// The SDK's `Block`: the CometBFT block with the proposer as a bech32
/// consensus address.
fn sdk_block(b: &tendermint_proto::types::Block) -> Block {
    let h = b.header.clone().unwrap_or_default();
    let proposer = <[u8; 20]>::try_from(h.proposer_address.as_slice())
        .map(|a| Address::encode_with(&valcons_prefix(), &a))
        .unwrap_or_default();
    Block {
        header: Some(Header {
            version: h.version,
            chain_id: h.chain_id,
            height: h.height,
            time: h.time,
            last_block_id: h.last_block_id,
            last_commit_hash: h.last_commit_hash,
            data_hash: h.data_hash,
            validators_hash: h.validators_hash,
            next_validators_hash: h.next_validators_hash,
            consensus_hash: h.consensus_hash,
            app_hash: h.app_hash,
            last_results_hash: h.last_results_hash,
            evidence_hash: h.evidence_hash,
            proposer_address: proposer,
        }),
        data: b.data.clone(),
        evidence: b.evidence.clone(),
        last_commit: b.last_commit.clone(),
    }
}

/// One `/validators` entry in the SDK's shape.
fn validator(v: &Value) -> QResult<Validator> {
    let address = hex::decode(comet::string(v, "address"))
        .ok()
        .filter(|a| a.len() == 20)
        .map(|a| Address::encode_with(&valcons_prefix(), &a))
        .ok_or_else(|| QueryError::internal(format!("CometBFT /validators: bad address in {v}")))?;
    let pk = v.get("pub_key").cloned().unwrap_or(Value::Null);
    let key = comet::base64_field(&pk, "value")?;
    let pub_key = match comet::string(&pk, "type").as_str() {
        "tendermint/PubKeyEd25519" => Some(Any {
            type_url: "/cosmos.crypto.ed25519.PubKey".into(),
            value: ibc_proto::cosmos::crypto::ed25519::PubKey { key }.encode_to_vec(),
        }),
        "tendermint/PubKeySecp256k1" => Some(Any {
            type_url: "/cosmos.crypto.secp256k1.PubKey".into(),
            value: ibc_proto::cosmos::crypto::secp256k1::PubKey { key }.encode_to_vec(),
        }),
        _ => None,
    };
    Ok(Validator {
        address,
        pub_key,
        voting_power: comet::int(v, "voting_power")?,
        proposer_priority: comet::int(v, "proposer_priority")?,
    })
}

/// The tonic service.
#[derive(Clone)]
pub struct TendermintService {
    /// Everything this service answers comes from CometBFT.
    pub rpc: CometRpc,
}

impl TendermintService {
    /// The whole validator set at `height` (None: latest), all `/validators`
    /// pages, and the height CometBFT answered for.
    async fn validator_set(&self, height: Option<i64>) -> QResult<(i64, Vec<Validator>)> {
        let mut out = Vec::new();
        for page in 1.. {
            let mut params = json!({ "page": page.to_string(), "per_page": "100" });
            if let Some(h) = height {
                params["height"] = json!(h.to_string());
            }
            let r = self.rpc.call("validators", params).await?;
            let total = comet::int(&r, "total")?;
            let list = r
                .get("validators")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let done = list.is_empty();
            for v in &list {
                out.push(validator(v)?);
            }
            if done || out.len() as i64 >= total {
                return Ok((comet::int(&r, "block_height")?, out));
            }
        }
        unreachable!("the page loop returns")
    }

    fn block_response(
        b: FetchedBlock,
    ) -> (
        Option<tendermint_proto::types::BlockId>,
        Option<tendermint_proto::types::Block>,
        Option<Block>,
    ) {
        let sdk = sdk_block(&b.block);
        (Some(b.id), Some(b.block), Some(sdk))
    }
}

fn positive_height(h: i64) -> QResult<i64> {
    if h <= 0 {
        return Err(QueryError::invalid(format!("height must be positive, got {h}")));
    }
    Ok(h)
}

#[tonic::async_trait]
impl Service for TendermintService {
    async fn get_node_info(
        &self,
        _: Request<GetNodeInfoRequest>,
    ) -> Result<Response<GetNodeInfoResponse>, Status> {
        let status = self.rpc.status().await?;
        Ok(Response::new(GetNodeInfoResponse {
            default_node_info: Some(default_node_info(&status)),
            application_version: Some(version_info()),
        }))
    }

    async fn get_syncing(
        &self,
        _: Request<GetSyncingRequest>,
    ) -> Result<Response<GetSyncingResponse>, Status> {
        let status = self.rpc.status().await?;
        let syncing = status
            .get("sync_info")
            .and_then(|s| s.get("catching_up"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Response::new(GetSyncingResponse { syncing }))
    }

    async fn get_latest_block(
        &self,
        _: Request<GetLatestBlockRequest>,
    ) -> Result<Response<GetLatestBlockResponse>, Status> {
        let (block_id, block, sdk_block) = Self::block_response(self.rpc.block(None).await?);
        Ok(Response::new(GetLatestBlockResponse {
            block_id,
            block,
            sdk_block,
        }))
    }

    async fn get_block_by_height(
        &self,
        req: Request<GetBlockByHeightRequest>,
    ) -> Result<Response<GetBlockByHeightResponse>, Status> {
        let h = positive_height(req.into_inner().height)?;
        let (block_id, block, sdk_block) = Self::block_response(self.rpc.block(Some(h)).await?);
        Ok(Response::new(GetBlockByHeightResponse {
            block_id,
            block,
            sdk_block,
        }))
    }

    async fn get_latest_validator_set(
        &self,
        req: Request<GetLatestValidatorSetRequest>,
    ) -> Result<Response<GetLatestValidatorSetResponse>, Status> {
        let req = req.into_inner();
        let (block_height, all) = self.validator_set(None).await?;
        let (validators, page) = offset_page(all, req.pagination.as_ref())?;
        Ok(Response::new(GetLatestValidatorSetResponse {
            block_height,
            validators,
            pagination: Some(page),
        }))
    }

    async fn get_validator_set_by_height(
        &self,
        req: Request<GetValidatorSetByHeightRequest>,
    ) -> Result<Response<GetValidatorSetByHeightResponse>, Status> {
        let req = req.into_inner();
        let h = positive_height(req.height)?;
        let (block_height, all) = self.validator_set(Some(h)).await?;
        let (validators, page) = offset_page(all, req.pagination.as_ref())?;
        Ok(Response::new(GetValidatorSetByHeightResponse {
            block_height,
            validators,
            pagination: Some(page),
        }))
    }

    /// Forwards to the node's `abci_query`, as the SDK does.
    async fn abci_query(
        &self,
        req: Request<AbciQueryRequest>,
    ) -> Result<Response<AbciQueryResponse>, Status> {
        let req = req.into_inner();
        if req.height < 0 {
            return Err(QueryError::invalid("height must not be negative").into());
        }
        let r = self
            .rpc
            .call(
                "abci_query",
                json!({
                    "path": req.path,
                    "data": hex::encode(&req.data),
                    "height": req.height.to_string(),
                    "prove": req.prove,
                }),
            )
            .await
            .map_err(QueryError::from)?;
        let resp = r.get("response").cloned().unwrap_or(Value::Null);
        let proof = ["proofOps", "proof_ops", "proof"]
            .iter()
            .find_map(|k| resp.get(*k).filter(|p| !p.is_null()));
        let proof_ops = match proof {
            None => None,
            Some(p) => Some(ProofOps {
                ops: p
                    .get("ops")
                    .and_then(Value::as_array)
                    .map(|ops| {
                        ops.iter()
                            .map(|op| {
                                Ok(ProofOp {
                                    r#type: comet::string(op, "type"),
                                    key: comet::base64_field(op, "key")?,
                                    data: comet::base64_field(op, "data")?,
                                })
                            })
                            .collect::<QResult<Vec<_>>>()
                    })
                    .transpose()?
                    .unwrap_or_default(),
            }),
        };
        Ok(Response::new(AbciQueryResponse {
            code: u32::try_from(comet::int(&resp, "code")?).unwrap_or(u32::MAX),
            log: comet::string(&resp, "log"),
            info: comet::string(&resp, "info"),
            index: comet::int(&resp, "index")?,
            key: comet::base64_field(&resp, "key")?,
            value: comet::base64_field(&resp, "value")?,
            proof_ops,
            height: comet::int(&resp, "height")?,
            codespace: comet::string(&resp, "codespace"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_report_parses_as_hermes_parses_it() {
        let v = version_info();
        let comet = v.build_deps.iter().find(|m| m.path == COMETBFT_MODULE).unwrap();
        // Hermes: trim_start_matches('v'), then semver::Version::parse.
        let plain = comet.version.trim_start_matches('v');
        let parts: Vec<u64> = plain.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts, vec![0, 38, 0]);
        assert_eq!((v.name.as_str(), v.app_name.as_str()), ("chimera", "chimerad"));
        assert!(!v
            .build_deps
            .iter()
            .any(|m| m.path == "github.com/cosmos/cosmos-sdk"));
    }

    #[test]
    fn validators_from_cometbft_json() {
        let v = json!({
            "address": "0102030405060708090A0B0C0D0E0F1011121314",
            "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
            "voting_power": "10",
            "proposer_priority": "-5"
        });
        let val = validator(&v).unwrap();
        assert!(val.address.starts_with("chimeravalcons1"), "{}", val.address);
        assert_eq!((val.voting_power, val.proposer_priority), (10, -5));
        assert_eq!(val.pub_key.unwrap().type_url, "/cosmos.crypto.ed25519.PubKey");
    }

    #[test]
    fn node_info_from_status() {
        let st = json!({"node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "1"},
            "id": "abc", "listen_addr": "tcp://0.0.0.0:26656", "network": "chimera-1",
            "version": "0.38.26", "channels": "40202122", "moniker": "n0",
            "other": {"tx_index": "on", "rpc_address": "tcp://127.0.0.1:26657"}
        }});
        let ni = default_node_info(&st);
        assert_eq!(ni.protocol_version.unwrap().block, 11);
        assert_eq!(
            (ni.network.as_str(), ni.version.as_str()),
            ("chimera-1", "0.38.26")
        );
        assert_eq!(ni.channels, vec![0x40, 0x20, 0x21, 0x22]);
        assert_eq!(ni.other.unwrap().tx_index, "on");
    }
}
